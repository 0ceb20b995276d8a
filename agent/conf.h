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
	/* Alarm thresholds, hundredths of a percent: risingThreshold and
	 * fallingThreshold, the defaults of both kinds, ... */
	uint32_t rising_bp;
	uint32_t falling_bp;
	/* ... and per kind (index enum eph_kind, [0] unused): bind... and
	 * connect...Threshold, EPHD_UNSET when not given. */
	uint32_t kind_rising_bp[3], kind_falling_bp[3];
	bool dest_alarm; /* destinationAlarm: TCP rows run a connect alarm */
	unsigned ping_interval;	 /* AgentX ping / reconnect, seconds */
	char agentx_socket[256]; /* "" : Net-SNMP's default */
	char proc_root[256];	 /* "" : /proc */
};

#define EPHD_UNSET UINT32_MAX

void ephd_config_defaults(struct ephd_config *c);

/* The thresholds of the alarms of kind k (enum eph_kind): the kind's own
 * when given, else risingThreshold / fallingThreshold. */
void ephd_config_thresholds(const struct ephd_config *c, int k,
			    uint32_t *rising_bp, uint32_t *falling_bp);

/*
 * ephd_config_parse - apply the "token value" lines of buf to *c.
 * name is used in messages.  Returns 0, or -EINVAL with err (>= 256
 * bytes) holding "NAME:LINE: reason".  On error *c may be partly
 * updated: callers parse into a copy and keep it only on success.
 */
int ephd_config_parse(const char *buf, size_t len, const char *name,
		      struct ephd_config *c, char *err, size_t err_len);

/* Cross-field checks after every source was applied: for each kind, the
 * falling threshold in effect is below the rising one.  The message names
 * the tokens the values came from. */
int ephd_config_check(const struct ephd_config *c, char *err, size_t err_len);

/* Read and parse a file: -ENOENT when it does not exist (err says so). */
int ephd_config_load(const char *path, struct ephd_config *c, char *err,
		     size_t err_len);

/* What changes from a to b, as "token old -> new" joined by ", " in out
 * (cut to out_len); returns how many settings differ. */
int ephd_config_diff(const struct ephd_config *a, const struct ephd_config *b,
		     char *out, size_t out_len);

#endif
