/*
 * conf.h - ephportd.conf: one "token value" per line, '#' comments.
 * Parsed from a buffer so every error path is testable.
 */
#ifndef EPHD_CONFIG_H
#define EPHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ephport.h"

struct ephd_config {
	unsigned interval; /* seconds between collections */
	unsigned top_n;	   /* rows of the destination table */
	unsigned dest_cap; /* destinations tracked exactly */
	uint8_t protocols; /* bitmask of (1 << enum eph_proto) */
	bool state_totals;
	enum eph_source_pref source;
	uint32_t rising_bp; /* alarm thresholds, hundredths of a percent */
	uint32_t falling_bp;
	bool dest_alarm;
	unsigned ping_interval;	 /* AgentX ping / reconnect, seconds */
	char agentx_socket[256]; /* "" : Net-SNMP's default */
	char proc_root[256];	 /* "" : /proc */
};

void ephd_config_defaults(struct ephd_config *c);

/*
 * ephd_config_parse - apply the "token value" lines of buf to *c.
 * name is used in messages.  Returns 0, or -EINVAL with err (>= 256
 * bytes) holding "NAME:LINE: reason".  On error *c may be partly
 * updated: callers parse into a copy and keep it only on success.
 */
int ephd_config_parse(const char *buf, size_t len, const char *name,
		      struct ephd_config *c, char *err, size_t err_len);

/* Cross-field checks after every source was applied (falling < rising). */
int ephd_config_check(const struct ephd_config *c, char *err, size_t err_len);

/* Read and parse a file: -ENOENT when it does not exist (err says so). */
int ephd_config_load(const char *path, struct ephd_config *c, char *err,
		     size_t err_len);

#endif
