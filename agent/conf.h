/*
 * conf.h - ephportd.conf: one "token value" per line, '#' comments.
 * Parsed from a buffer so every error path is testable.
 */
#ifndef EPHD_CONFIG_H
#define EPHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ephport.h"

enum ephd_ns_mode {
	EPHD_NS_SELF = 0, /* namespaces self (the default) */
	EPHD_NS_ALL,	  /* namespaces all */
	EPHD_NS_PATTERNS, /* namespaces PATTERN... */
};
#define EPHD_PATTERNS_MAX 16
#define EPHD_PATTERN_LEN  128 /* sizeof(struct eph_netns.name) */

struct ephd_config {
	unsigned interval; /* seconds between collections */
	unsigned top_n;	   /* rows of the destination table */
	unsigned dest_cap; /* destinations tracked exactly */
	uint8_t protocols; /* bitmask of (1 << enum eph_proto) */
	bool state_totals;
	bool bpf_bound_dump; /* eph_config.bpf_bound_dump */
	enum eph_source_pref source;
	/* Alarm thresholds, hundredths of a percent: risingThreshold and
	 * fallingThreshold, the defaults of both kinds, ... */
	uint32_t rising_bp;
	uint32_t falling_bp;
	/* ... and per kind (index enum eph_kind, [0] unused): bind... and
	 * connect...Threshold, EPHD_UNSET when not given. */
	uint32_t kind_rising_bp[3], kind_falling_bp[3];
	bool dest_alarm; /* destinationAlarm: TCP rows run a connect alarm */
	/* exhaustionSeconds: ephExhaustionSoon when the predicted time to
	 * exhaustion is at most this many seconds; 0: off. */
	unsigned exhaustion_s;
	/* processes, processesTop: who holds the ports (ephProcessTable),
	 * off by default (one readdir of /proc/PID/fd per process on the
	 * host with every collection); at most processes_top rows per
	 * namespace. */
	bool processes;
	unsigned processes_top;
	unsigned ping_interval;	 /* AgentX ping / reconnect, seconds */
	char agentx_socket[256]; /* "" : Net-SNMP's default */
	char proc_root[256];	 /* "" : /proc */
	/* Which network namespaces (namespaces, namespaceExclude;
	 * ephportd.conf(5)): the own only (eph_collect(), no privilege),
	 * every one eph_netns_list() finds, or those whose name matches an
	 * include pattern; none matching an exclude pattern. */
	enum ephd_ns_mode ns_mode;
	unsigned n_include, n_exclude;
	char include[EPHD_PATTERNS_MAX][EPHD_PATTERN_LEN];
	char exclude[EPHD_PATTERNS_MAX][EPHD_PATTERN_LEN];
	char exclude_at[300]; /* "FILE:LINE" of namespaceExclude */
};

#define EPHD_UNSET	       UINT32_MAX
#define EPHD_EXHAUSTION_S_MAX  604800 /* a week */
#define EPHD_PROCESSES_TOP_MAX 100    /* ephProcessRank (1..100) */

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

/* Is namespace ns (from eph_netns_list()) read under c?  A pattern is
 * matched with fnmatch(3) against the namespace's name; the agent's own
 * also answers to "self". */
bool ephd_config_ns_selected(const struct ephd_config *c,
			     const struct eph_netns *ns);

/* Read and parse a file: -ENOENT when it does not exist (err says so). */
int ephd_config_load(const char *path, struct ephd_config *c, char *err,
		     size_t err_len);

/* What changes from a to b, as "token old -> new" joined by ", " in out
 * (cut to out_len); returns how many settings differ. */
int ephd_config_diff(const struct ephd_config *a, const struct ephd_config *b,
		     char *out, size_t out_len);

#endif
