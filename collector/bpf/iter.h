/*
 * iter.h - what the BPF socket iterators (ephport.bpf.c) write to their
 * reader: one struct eph_bpf_result, then n_top struct eph_bpf_dest.  The
 * same header is read by the BPF program (with vmlinux.h types) and by
 * user space (collector/sockets_bpf.c), so it uses fixed-size fields
 * only and no kernel types.
 */
#ifndef EPH_BPF_ITER_H
#define EPH_BPF_ITER_H

#ifndef __VMLINUX_H__
#include <stdint.h>
typedef uint8_t eph_u8;
typedef uint16_t eph_u16;
typedef uint32_t eph_u32;
typedef uint64_t eph_u64;
#else
typedef __u8 eph_u8;
typedef __u16 eph_u16;
typedef __u32 eph_u32;
typedef __u64 eph_u64;
#endif

#define EPH_BPF_MAGIC	   0x31485045u /* "EPH1", little-endian */
#define EPH_BPF_VERSION	   1u
#define EPH_BPF_STATES	   16
#define EPH_BPF_LISTENERS  64
#define EPH_BPF_TOP	   32
#define EPH_BPF_PORT_BYTES (65536 / 8)

/* result.flags */
#define EPH_BPF_DEST_OVERFLOW 1u /* the destination map filled */
#define EPH_BPF_PARTIAL	      2u /* the session's scratch could not be made */

struct eph_bpf_addr {
	eph_u8 family; /* AF_INET 2, AF_INET6 10 */
	eph_u8 pad[3];
	eph_u8 bytes[16];
};

struct eph_bpf_listener {
	struct eph_bpf_addr addr;
	eph_u16 port;
	eph_u16 pad;
};

/* One destination: (local address, remote address, remote port). */
struct eph_bpf_dest {
	struct eph_bpf_addr laddr;
	struct eph_bpf_addr raddr;
	eph_u16 rport;
	eph_u16 pad;
	eph_u32 sockets;     /* pool sockets to it */
	eph_u32 time_wait;   /* of which TIME_WAIT */
	eph_u32 tw_reusable; /* of those, what tcp_twsk_unique() would take */
	eph_u32 blocking;    /* on ports not bind-owned, not reusable */
};

struct eph_bpf_result {
	eph_u32 magic, version;
	eph_u32 protocol; /* 6 TCP, 17 UDP */
	eph_u32 flags;
	/* The namespace's own settings, read from struct net. */
	eph_u16 low, high;
	eph_u8 tw_reuse, timestamps, autobind_reuse, pad;
	eph_u32 tw_reuse_delay_ms;

	eph_u64 sockets_total, sockets_in_range;
	eph_u64 state_total[EPH_BPF_STATES];
	eph_u64 state_in_range[EPH_BPF_STATES];
	eph_u64 tw_reusable;
	eph_u32 ports_in_use, bind_owned_ports;
	eph_u32 listeners_in_range, n_listeners;
	eph_u64 destinations; /* distinct destinations seen */
	eph_u64 dest_untracked;
	eph_u32 n_top, pad2; /* entries that follow, by blocking, sockets */
	struct eph_bpf_listener listeners[EPH_BPF_LISTENERS];
	eph_u8 in_use[EPH_BPF_PORT_BYTES];
	eph_u8 bind_owned[EPH_BPF_PORT_BYTES];
};

#endif
