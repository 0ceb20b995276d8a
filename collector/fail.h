/*
 * fail.h - the failure counters' reader (private).  failures_bpf.c reads
 * the maps ephport-bpf pinned and hands every entry to eph_failures_add(),
 * which works on plain records so that it can be tested and fuzzed.
 */
#ifndef EPH_FAIL_H
#define EPH_FAIL_H

#include "bpf/failures.h"
#include "range.h"

/* The clocks at the read: entries carry CLOCK_BOOTTIME nanoseconds. */
struct eph_fail_clock {
	int64_t real_us;  /* CLOCK_REALTIME */
	uint64_t boot_ns; /* CLOCK_BOOTTIME */
};

/* Start *out (observable, counting since the meta's first load). */
EPH_HIDDEN void eph_failures_begin(struct eph_failures *out,
				   const struct eph_bpf_fail_meta *meta);
/*
 * One map entry of the namespace read (the caller skips other cookies):
 * a total of fail_counts, or a destination or process of fail_detail
 * with the time its entry was made (first_boot_ns, CLOCK_BOOTTIME
 * nanoseconds, 0 when unknown: since_us 0), which becomes since_us on
 * CLOCK_REALTIME as last_us does.  Unknown kinds, records and empty
 * counts are ignored; the top tables keep the EPH_FAIL_TOP biggest.
 */
EPH_HIDDEN void eph_failures_add(struct eph_failures *out,
				 const struct eph_fail_clock *clk,
				 const struct eph_bpf_fail_key *k,
				 const struct eph_bpf_fail_val *v,
				 uint64_t first_boot_ns);
/* Sort the top tables and compute the "other" buckets: per kind, the
 * total less what is listed, never below 0 (the entries not listed, and
 * those fail_detail forgot, are in it). */
EPH_HIDDEN void eph_failures_end(struct eph_failures *out);

/*
 * eph_failures_read - read PIN_DIR/fail_meta, fail_detail and fail_counts
 * for the network namespace of the calling thread.  Always fills *out:
 * when the counters cannot be read (none pinned, no permission, pins of
 * another layout version: failures.h), observable is false and why says
 * so.  proc_root is where /proc/PID/cgroup of the processes is read.
 */
EPH_HIDDEN void eph_failures_read(const char *pin_dir, const char *proc_root,
				  struct eph_failures *out);

#endif
