/*
 * holders.h - what the holders iterator (holders.bpf.c, pinned as
 * DIR/holders) writes to its reader: one struct eph_bpf_holder per process
 * that holds a pool socket of the reader's network namespace and that the
 * reader may see, then one struct eph_bpf_holders_tail.  Read by the BPF
 * program (vmlinux.h types) and by user space (collector/holders_bpf.c):
 * fixed-size fields only, as iter.h.
 */
#ifndef EPH_BPF_HOLDERS_H
#define EPH_BPF_HOLDERS_H

#include "iter.h"

/* Version 2: the record padded to 72 bytes, the tail's attributed[]. */
#define EPH_BPF_HOLDERS_MAGIC	0x32485045u /* "EPH2", little-endian */
#define EPH_BPF_HOLDERS_VERSION 2u

/* tail.flags */
#define EPH_BPF_HOLDERS_PARTIAL 1u /* no session slot: read again */
/* The destination table filled: some worst destinations are missing. */
#define EPH_BPF_HOLDERS_DEST_OVERFLOW 2u
/* The shared-socket table filled: sockets_attributed is an upper bound. */
#define EPH_BPF_HOLDERS_SHARED_OVERFLOW 4u

struct eph_bpf_holder {
	eph_u32 tgid; /* in the reader's pid namespace */
	eph_u32 euid;
	eph_u8 comm[16];
	eph_u32 ports[2];   /* distinct pool ports: [0] TCP, [1] UDP */
	eph_u32 sockets[2]; /* pool sockets */
	/* TCP: the (remote address, port) most of its pool sockets go to;
	 * worst_sockets 0: none. */
	struct eph_bpf_addr worst_raddr;
	eph_u16 worst_rport;
	eph_u16 pad;
	eph_u32 worst_sockets;
	/* A multiple of 8 bytes (the tail's alignment): the last record and
	 * the tail are written as one struct, with no padding between. */
	eph_u32 pad2;
};

struct eph_bpf_holders_tail {
	eph_u32 magic, version;
	eph_u32 flags;
	eph_u16 low, high; /* the namespace's range */
	eph_u32 records;   /* struct eph_bpf_holder before this */
	eph_u32 hidden;	   /* processes with files the reader may not see */
	eph_u64 sockets_attributed; /* distinct pool sockets of the records */
	/* Of those, [0] TCP, [1] UDP: a reader that asked for one protocol
	 * (its pool count is of that one) takes that one's only. */
	eph_u64 attributed[2];
};

#endif
