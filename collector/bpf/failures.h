/*
 * failures.h - the maps of the failure counters (failures.bpf.c), pinned
 * by ephport-bpf as DIR/fail_counts and DIR/fail_meta and read, read-only,
 * by collector/failures_bpf.c.  Shared by the BPF programs (vmlinux.h
 * types) and user space: fixed-size fields only.
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
#define EPH_BPF_FAIL_VERSION 1u

/* kinds: enum eph_fail_kind (ephport.h) */
#define EPH_BPF_FAIL_CONNECT  0
#define EPH_BPF_FAIL_BIND     1
#define EPH_BPF_FAIL_AUTOBIND 2
#define EPH_BPF_FAIL_KINDS    3

/* rec.what */
#define EPH_BPF_FAIL_TOTAL 0 /* one per kind and namespace: never dropped */
#define EPH_BPF_FAIL_DEST  1 /* per destination, while the table has room */
#define EPH_BPF_FAIL_PROC  2 /* per process, while the table has room */

/* The map: totals always get a place (DETAIL_MAX leaves them
 * FAIL_MAP_MAX - DETAIL_MAX entries, three per namespace). */
#define EPH_BPF_FAIL_MAP_MAX	16384
#define EPH_BPF_FAIL_DETAIL_MAX 12288

struct eph_bpf_fail_key {
	eph_fu64 netns_cookie; /* struct net.net_cookie: never reused */
	eph_fu8 what, kind, family, pad;
	eph_fu16 rport, pad2;
	eph_fu32 tgid;
	eph_fu8 raddr[16];
};

struct eph_bpf_fail_val {
	eph_fu64 count;
	eph_fu64 last_boot_ns; /* bpf_ktime_get_boot_ns() of the latest */
	eph_fu64 cgroup_id;
	char comm[16];
};

/* fail_meta's one value: survives reloads with fail_counts. */
struct eph_bpf_fail_meta {
	eph_fu64 loaded_real_ns; /* CLOCK_REALTIME of the first load */
	eph_fu64 lost;		 /* totals that found fail_counts full */
	eph_fu64 detail_entries; /* destination and process entries made */
};

#endif
