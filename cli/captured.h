/*
 * captured.h - the ephport command's --os mode (captured outputs of
 * another host, collector/os/) and `ephport advise`.  Kept apart from
 * main.c, which only routes the options here.
 */
#ifndef EPH_CLI_CAPTURED_H
#define EPH_CLI_CAPTURED_H

#include <stdbool.h>
#include <stdio.h>

#include "output.h"

struct eph_cli_extra {
	/* --os NAME --range-file FILE [--sockets-file FILE] */
	const char *os;
	const char *range_file;
	const char *sockets_file;
	/* ephport advise [--firewall LOW-HIGH] */
	bool advise;
	bool have_firewall;
	unsigned fw_low, fw_high;
	/* Filled by eph_cli_captured(). */
	bool captured;
	struct eph_captured info;
	struct eph_host host;  /* stands for the captured host */
	const char *proc_root; /* live: where ip_local_reserved_ports is */
	const struct eph_snapshot *snap;
	bool json_advice; /* "advice" in --json */
};

/* Option numbers main.c gives the options handled here. */
enum {
	EPH_OPT_OS = 1000,
	EPH_OPT_RANGE_FILE,
	EPH_OPT_SOCKETS_FILE,
	EPH_OPT_FIREWALL,
};

/* Take one of the options above: 0, or -1 with a message on stderr. */
int eph_cli_extra_option(struct eph_cli_extra *x, int opt, const char *arg);

/* After all options: check they fit together (check: `ephport check`;
 * json, prometheus: the output format).  0, or -1 with a message. */
int eph_cli_extra_check(struct eph_cli_extra *x, const struct eph_config *cfg,
			bool check, bool json, bool prometheus);

/* --os: read the files and analyse them into *snap.  0, or -1 with the
 * reason on stderr (as "EPHPORT UNKNOWN - ..." on stdout for check). */
int eph_cli_captured(struct eph_cli_extra *x, const struct eph_config *cfg,
		     struct eph_snapshot *snap, bool check);

/* Point the report at the captured host and hook the extra JSON members
 * ("captured", "advice") in. */
void eph_cli_extra_report(struct eph_cli_extra *x, struct eph_report *rep);

/* Text output: the lines --os adds after the numbers. */
void eph_cli_extra_text(FILE *f, const struct eph_cli_extra *x);

/* JSON members after "protocols": ctx is the struct eph_cli_extra. */
void eph_cli_extra_json(FILE *f, const void *ctx);

/* `ephport advise` in text. */
void eph_print_advice(FILE *f, const struct eph_snapshot *s,
		      const struct eph_cli_extra *x);

/* The "advice" JSON object (the value only). */
void eph_print_advice_json(FILE *f, const struct eph_snapshot *s,
			   const struct eph_cli_extra *x);

#endif
