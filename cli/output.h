/* output.h - the ephport command's output formats. */
#ifndef EPH_CLI_OUTPUT_H
#define EPH_CLI_OUTPUT_H

#include <stdio.h>

#include "ephport.h"

struct eph_report {
	const struct eph_snapshot *snap;
	const struct eph_host *host; /* NULL when libstatgrab failed */
	unsigned top_n;
	/* Extra top-level JSON members after "protocols", each printed as
	 * ",\n  \"key\": value" (captured.h); NULL: none. */
	void (*json_extra)(FILE *f, const void *ctx);
	const void *json_extra_ctx;
	/* --netns, --all-namespaces (cli/netns.c): n_ns snapshots (snap is
	 * ns_snaps[0]) and the namespaces they are of.  n_ns 0: the default
	 * mode (no "netns" in any output).  all: --all-namespaces. */
	size_t n_ns;
	const struct eph_snapshot *ns_snaps;
	const struct eph_netns *ns;
	bool all;
};

/* "self", "named", "container", "pid". */
const char *eph_ns_kind_name(int kind);
/* The name shown for a namespace: its name, or "(this namespace)". */
const char *eph_ns_display_name(const struct eph_netns *ns);

void eph_print_text(FILE *f, const struct eph_report *r);
void eph_print_json(FILE *f, const struct eph_report *r);
/* s as a JSON string, quotes, backslashes and control characters escaped. */
void eph_json_string(FILE *f, const char *s);
void eph_print_prometheus(FILE *f, const struct eph_report *r);
/* `ephport check` thresholds, hundredths of a percent.  warn/crit are the
 * headline ones (--warning, --critical) and the defaults of the others. */
struct eph_check_thresholds {
	uint32_t warn_bp, crit_bp;
	uint32_t bind_warn_bp, bind_crit_bp;
	uint32_t connect_warn_bp, connect_crit_bp;
};

/* `ephport check`: prints the status line, returns 0, 1 or 2: the worst of
 * the bind and connect levels of every protocol. */
int eph_print_check(FILE *f, const struct eph_snapshot *s,
		    const struct eph_check_thresholds *t);
/* The same over n namespaces: the worst state of all; the status line
 * names the namespace it is in (and how many others are not OK); with
 * n > 1 each perfdata label is prefixed by its namespace's name ("self"
 * for the caller's own when it has none). */
int eph_print_check_ns(FILE *f, const struct eph_snapshot *snaps,
		       const struct eph_netns *ns, size_t n,
		       const struct eph_check_thresholds *t);

/* `ephport --watch [SECONDS]`, `ephport top [SECONDS]` (cli/watch.c).
 * eph_watch_parse_interval: "2", "0.5" (0.1 to 86400 seconds) into
 * milliseconds; 0, or -1 leaving *ms untouched.  eph_watch_run: refresh
 * every interval_ms until SIGINT, SIGTERM or SIGHUP; o: --netns,
 * --all-namespaces (cli/netns.h).  Returns the exit status: 0 stopped by
 * a signal, 1 the first collection or the output failed, 2 SPEC names no
 * namespace. */
struct eph_cli_ns;
int eph_watch_parse_interval(const char *s, unsigned *ms);
int eph_watch_run(const struct eph_config *cfg, const struct eph_cli_ns *o,
		  unsigned interval_ms);

#endif
