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
	/* --rate SECONDS (cli/rate.c): the rates and trends as of snap,
	 * measured over rate_seconds_asked; NULL: no rate in any output. */
	const struct eph_rate_result *rate;
	double rate_seconds_asked, rate_interval_s;
	/* --processes, --all-processes (cli/processes.c): who holds the
	 * ports, one per snapshot (n_ns of them, else one); NULL: not asked
	 * (no "processes" in any output). */
	const struct eph_holders *holders;
};

/* "self", "named", "container", "pid". */
const char *eph_ns_kind_name(int kind);
/* The name shown for a namespace: its name, or "(this namespace)". */
const char *eph_ns_display_name(const struct eph_netns *ns);

void eph_print_text(FILE *f, const struct eph_report *r);
void eph_print_json(FILE *f, const struct eph_report *r);
/* s as a JSON string, quotes, backslashes and control characters escaped,
 * always valid UTF-8: an ill-formed byte sequence becomes \ufffd. */
void eph_json_string(FILE *f, const char *s);
/* The length (1 to 4) of the well-formed UTF-8 sequence s begins with, or
 * 0 when it begins none: *bad is then the length of the maximal ill-formed
 * subpart (Unicode 3.9), what one U+FFFD replaces. */
size_t eph_utf8_len(const char *s, size_t *bad);
void eph_print_prometheus(FILE *f, const struct eph_report *r);
/* A Prometheus label value: backslash, double quote, newline escaped. */
void eph_prom_label_value(FILE *f, const char *v);
/* A comm as a label value: Prometheus wants UTF-8, a comm is any bytes
 * (control and non-ASCII ones become '?'; cli/processes.c). */
void eph_prom_comm_label(FILE *f, const char *s);
/* s in a text column of width: bytes a terminal would interpret become
 * '?', a longer value keeps its end after "..." (cli/processes.c). */
void eph_text_cell(FILE *f, const char *s, int width);
/* "10.0.0.5:443", "[2001:db8::1]:443" (cli/text.c). */
const char *eph_endpoint(const struct eph_addr *a, unsigned port, char *buf,
			 size_t len);

/* cli/processes.c: the holders of snapshot i (0 without namespaces) in
 * each format; nothing when r->holders is NULL.  JSON: ",\n  \"processes\":
 * {...}" as a member of that snapshot's document. */
void eph_processes_text(FILE *f, const struct eph_report *r, size_t i);
void eph_processes_json(FILE *f, const struct eph_report *r, size_t i);
void eph_processes_prometheus(FILE *f, const struct eph_report *r);
/* --processes, --all-processes: collect the holders of snapshot snaps'
 * namespace with c (ns NULL: the collector's own).  Says why on stderr
 * and returns -1 when it fails. */
int eph_processes_collect(struct eph_collector *c, const struct eph_netns *ns,
			  unsigned top, struct eph_holders *out);
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

/* --exhaustion-warning/--exhaustion-critical SECONDS (with --rate): the
 * level of the shortest predicted time to exhaustion of every protocol
 * and worst destination; set false: not asked. */
struct eph_check_rate {
	const struct eph_rate_result *rate;
	bool warn_set, crit_set;
	unsigned warn_s, crit_s;
};
/* eph_print_check() with the rate in the status line and perfdata
 * (rate NULL: eph_print_check()). */
int eph_print_check_rate(FILE *f, const struct eph_snapshot *s,
			 const struct eph_check_thresholds *t,
			 const struct eph_check_rate *rate);

/* cli/failures.c: failed allocations and TWRecycled in each format
 * ("not observable" with the reason when the counters are not loaded).
 * eph_failures_json writes ",\n  \"tw_recycled\": ..., \"failures\": {...}"
 * at the top level; eph_failures_perfdata " [pre]connect_failures=Nc"... */
void eph_failures_text(FILE *f, const struct eph_snapshot *s);
void eph_failures_json(FILE *f, const struct eph_snapshot *s);
void eph_failures_perfdata(FILE *f, const struct eph_snapshot *s,
			   const char *pre);

/* cli/rate.c: the rate section of each format (r->rate set). */
void eph_rate_text(FILE *f, const struct eph_report *r);
/* ",\n      \"rate\": {...}" inside protocol p's object. */
void eph_rate_json_proto(FILE *f, const struct eph_report *r, enum eph_proto p);
/* ",\n  \"counters\": ..., \"rate_measurement\": ..." at the top. */
void eph_rate_json_top(FILE *f, const struct eph_report *r);
void eph_rate_prometheus(FILE *f, const struct eph_report *r);
/* The shortest predicted time to exhaustion in r (protocols and worst
 * destinations): 0 none predicted, else 1 and *s (0 when exhausted). */
int eph_rate_min_seconds(const struct eph_rate_result *r, double *s,
			 enum eph_proto *p);
/* `ephport --rate SECONDS`: "5", "0.5" (0.5 to 3600 seconds) into ms;
 * 0 or -1.  eph_rate_measure: collect every interval until ms have
 * passed, feeding *hist; *snap is the last snapshot.  Returns 0 or the
 * eph_collect() error. */
int eph_rate_parse_seconds(const char *s, unsigned *ms);
unsigned eph_rate_interval_ms(unsigned ms);
int eph_rate_measure(struct eph_collector *c, unsigned ms,
		     struct eph_rate *hist, struct eph_snapshot *snap);

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
