/*
 * netns.h - `ephport --netns SPEC` and `ephport --all-namespaces`: collect
 * in one or every network namespace of the host (collector/netns.c) and
 * print them in every format.  Kept apart from main.c, which only routes
 * the options here.
 */
#ifndef EPH_CLI_NETNS_H
#define EPH_CLI_NETNS_H

#include <stdbool.h>

#include "output.h"

enum eph_ns_format { EPH_NS_TEXT, EPH_NS_JSON, EPH_NS_PROMETHEUS };

struct eph_cli_ns {
	const char *spec; /* --netns SPEC; NULL: none */
	bool all;	  /* --all-namespaces */
	bool verbose;	  /* -v: say which namespaces were skipped */
	/* --processes[=N] (processes_top N), --all-processes (0): who holds
	 * the ports in each namespace too. */
	bool processes;
	unsigned processes_top;
};

/* Whether --netns or --all-namespaces was given. */
static inline bool eph_cli_ns_wanted(const struct eph_cli_ns *o)
{
	return o->spec || o->all;
}

/*
 * Collect and print; returns the exit status: 0, 1 (a collection failed,
 * or CAP_SYS_ADMIN is missing), 2 (SPEC names no namespace); check: its
 * Nagios status, 3 UNKNOWN for the failures.  Messages go to stderr
 * (check: the status line on stdout).
 */
int eph_cli_ns_run(const struct eph_cli_ns *o, const struct eph_config *cfg,
		   enum eph_ns_format fmt, bool check,
		   const struct eph_check_thresholds *th);

#endif
