/*
 * failures.h - the maps of the failure counters (failures.bpf.c), pinned
 * by ephport-bpf as DIR/fail_counts, DIR/fail_detail and DIR/fail_meta and
 * read, read-only, by collector/failures_bpf.c.  Shared by the BPF
 * programs (vmlinux.h types) and user space: fixed-size fields only.
 *
 * Layout versions (fail_meta.version):
 *   1  one BPF_MAP_TYPE_HASH fail_counts of 16384 entries held the totals
 *      and, up to 12288 of them, the destination and process entries,
 *      which never expired: once full, no new destination or process was
 *      named until `ephport-bpf unload`.  fail_meta had no magic.
 *   2  totals alone in fail_counts (a HASH: never evicted); destinations
 *      and processes in the BPF_MAP_TYPE_LRU_HASH fail_detail, where the
 *      kernel forgets the least recently failing entry to make room for a
 *      new one; each detail entry says when it was made (first_boot_ns).
 *
 * The sizes of fail_meta's and fail_counts' values are those of version 1
 * on purpose: a reader of version 1 (a collectd that was not restarted
 * after an upgrade) reads them into buffers of those sizes without asking
 * the map first, so a bigger value would overrun its buffers.  Such a
 * reader sees the totals and puts every failure in "other".  A later
 * layout must keep them, or pin under other names.  Readers of version 2
 * check the magic, the version and every map's key and value sizes.
 */
#ifndef EPH_BPF_FAILURES_H
#define EPH_BPF_FAILURES_H

#ifndef __VMLINUX_H__
#include <stdint.h>
typedef uint8_t eph_fu8;
typedef uint16_t eph_fu16;
typedef uint32_t eph_fu32;
typedef uint64_t eph_fu64;
#else
typedef __u8 eph_fu8;
typedef __u16 eph_fu16;
typedef __u32 eph_fu32;
typedef __u64 eph_fu64;
#endif

#define EPH_BPF_FAIL_MAGIC   0x31465045u /* "EPF1", little-endian */
#define EPH_BPF_FAIL_VERSION 2u

/* kinds: enum eph_fail_kind (ephport.h) */
#define EPH_BPF_FAIL_CONNECT  0
#define EPH_BPF_FAIL_BIND     1
#define EPH_BPF_FAIL_AUTOBIND 2
#define EPH_BPF_FAIL_KINDS    3

/* key.what */
#define EPH_BPF_FAIL_TOTAL 0 /* fail_counts: one per kind and namespace */
#define EPH_BPF_FAIL_DEST  1 /* fail_detail: per destination */
#define EPH_BPF_FAIL_PROC  2 /* fail_detail: per process */

/*
 * fail_counts holds the totals, the three of a namespace made together at
 * its first failure, for EPH_BPF_FAIL_NS_DEFAULT namespaces (`ephport-bpf
 * load -n` changes it; not preallocated: about 130 bytes of kernel memory
 * per entry made).  A namespace that finds it full is counted in
 * fail_meta.lost and its readers say they cannot count.  fail_detail's
 * default size, which `ephport-bpf load -e` changes: about 2.5 MB of
 * kernel memory (memlock, as bpftool map show says).
 */
#define EPH_BPF_FAIL_NS_DEFAULT 21845
#define EPH_BPF_FAIL_NS_LIMIT	349525 /* 3 x this < 1 << 20 */
/* fail_counts' entries by default: the totals of every kind. */
#define EPH_BPF_FAIL_TOTALS_DEFAULT                                            \
	(EPH_BPF_FAIL_KINDS * EPH_BPF_FAIL_NS_DEFAULT)
#define EPH_BPF_FAIL_DETAIL_DEFAULT 16384
#define EPH_BPF_FAIL_DETAIL_MIN	    128
#define EPH_BPF_FAIL_DETAIL_LIMIT   (1u << 20)

struct eph_bpf_fail_key {
	eph_fu64 netns_cookie; /* struct net.net_cookie: never reused */
	eph_fu8 what, kind, family, pad;
	eph_fu16 rport, pad2;
	eph_fu32 tgid;
	eph_fu8 raddr[16];
	eph_fu32 pad3; /* named, so that every key's initializer zeroes it */
};
_Static_assert(sizeof(struct eph_bpf_fail_key) == 40,
	       "a key has no unnamed padding (it is hashed byte by byte)");

/* fail_counts' value (40 bytes, as in version 1). */
struct eph_bpf_fail_val {
	eph_fu64 count;
	eph_fu64 last_boot_ns; /* bpf_ktime_get_boot_ns() of the latest */
	eph_fu64 cgroup_id;    /* of the caller that made the entry */
	char comm[16];	       /* likewise */
};

/* fail_detail's value: count and last since the entry was made, at
 * first_boot_ns (bpf_ktime_get_boot_ns()); an entry the LRU forgot and
 * a later failure made again counts from that later time. */
struct eph_bpf_fail_dval {
	struct eph_bpf_fail_val v;
	eph_fu64 first_boot_ns;
};

/* fail_meta's one value (24 bytes, as in version 1): survives reloads
 * with the other two maps.  Version 1's third field counted detail
 * entries (at most 12288), so it never equals the magic. */
struct eph_bpf_fail_meta {
	eph_fu64 loaded_real_ns; /* CLOCK_REALTIME of the first load */
	eph_fu64 lost;	  /* failures whose totals found fail_counts full */
	eph_fu32 magic;	  /* EPH_BPF_FAIL_MAGIC, set by the loader */
	eph_fu32 version; /* EPH_BPF_FAIL_VERSION, likewise */
};

#endif
