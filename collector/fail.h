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
/* One map entry of the namespace read (the caller skips other cookies).
 * Unknown kinds, records and empty counts are ignored; the top tables
 * keep the EPH_FAIL_TOP biggest. */
EPH_HIDDEN void eph_failures_add(struct eph_failures *out,
				 const struct eph_fail_clock *clk,
				 const struct eph_bpf_fail_key *k,
				 const struct eph_bpf_fail_val *v);
/* Sort the top tables and compute the "other" buckets. */
EPH_HIDDEN void eph_failures_end(struct eph_failures *out);

/*
 * eph_failures_read - read PIN_DIR/fail_counts and fail_meta for the
 * network namespace of the calling thread.  Always fills *out: when the
 * counters cannot be read, observable is false and why says so.
 * proc_root is where /proc/PID/cgroup of the processes is read.
 */
EPH_HIDDEN void eph_failures_read(const char *pin_dir, const char *proc_root,
				  struct eph_failures *out);

#endif
