// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * ephport.bpf.c - socket iterators (iter/tcp, iter/udp) that tally, inside
 * the kernel, what the model needs for the reader's network namespace, and
 * write one struct eph_bpf_result (iter.h) plus the top destinations when
 * the walk ends: a few KiB, not a record per socket.
 *
 * The per-socket rules are model.c's eph_model_add(), with what only the
 * kernel can see: whether a socket's bind bucket is bind-owned
 * (fastreuse >= 0 || fastreuseport >= 0, as __inet_hash_connect() tests
 * it), and the exact tcp_twsk_unique() decision for TIME_WAIT (timestamps
 * seen, tw_entry_stamp against tcp_tw_reuse_delay).
 *
 * Concurrent readers: every read of the pinned iterator is its own seq
 * session (bpf_iter_meta.session_id); all state is keyed by it: a slot of
 * `sessions` (an array, so that the per-socket lookup costs no hashing;
 * the slot records whose it is) and the destinations in `dests`, removed
 * when the session's walk ends.  A session that finds its slot taken by
 * another live one writes a result flagged EPH_BPF_PARTIAL, and the
 * reader reads again.
 *
 * Kernel pointers are read with plain CO-RE loads (the verifier makes
 * them fault-safe), not bpf_probe_read_kernel(): the per-socket path is
 * the cost.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "iter.h"

#define AF_INET		 2
#define AF_INET6	 10
#define TCP_ESTABLISHED	 1
#define TCP_SYN_RECV	 3
#define TCP_FIN_WAIT2	 5
#define TCP_TIME_WAIT	 6
#define TCP_CLOSE	 7
#define TCP_LISTEN	 10
#define TCP_NEW_SYN_RECV 12
#define LOOPBACK_IFINDEX 1
#define DEST_MAX	 262144

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct scratch {
	__u64 session;	  /* owner of the slot; 0: free */
	__u64 claimed_ns; /* when: a reader that went away leaves it */
	struct eph_bpf_result r;
	__u8 reserved[EPH_BPF_PORT_BYTES];
	__u8 listening[EPH_BPF_PORT_BYTES];
	/* Pool ports whose bind bucket was read already: one bucket per
	 * port, so the other sockets there skip two cache misses. */
	__u8 checked[EPH_BPF_PORT_BYTES];
	struct eph_bpf_dest top[EPH_BPF_TOP];
	__u32 n_top;
	__u32 pad;
};

struct dest_key {
	__u64 session;
	__u8 family;
	__u8 pad;
	__u16 rport;
	__u8 laddr[16];
	__u8 raddr[16];
};

struct dest_val {
	__u32 sockets, time_wait, tw_reusable, blocking;
};

#define SESSION_SLOTS 16
#define SLOT_STALE_NS (30ull * 1000000000)
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SESSION_SLOTS);
	__type(key, __u32);
	__type(value, struct scratch);
} sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DEST_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dest_key);
	__type(value, struct dest_val);
} dests SEC(".maps");

/* A zeroed slot; what an empty walk writes, and one that could not get a slot.
 */
static const struct scratch zero_scratch;
static const struct eph_bpf_result empty_tcp = {
    .magic = EPH_BPF_MAGIC, .version = EPH_BPF_VERSION, .protocol = 6};
static const struct eph_bpf_result empty_udp = {
    .magic = EPH_BPF_MAGIC, .version = EPH_BPF_VERSION, .protocol = 17};
static const struct eph_bpf_result partial_tcp = {.magic = EPH_BPF_MAGIC,
						  .version = EPH_BPF_VERSION,
						  .protocol = 6,
						  .flags = EPH_BPF_PARTIAL};
static const struct eph_bpf_result partial_udp = {.magic = EPH_BPF_MAGIC,
						  .version = EPH_BPF_VERSION,
						  .protocol = 17,
						  .flags = EPH_BPF_PARTIAL};

/* One socket, normalised as collector/sockets.h does. */
struct rec {
	__u8 family, state, owner_bind, tw_reusable;
	__u16 lport, rport;
	__u8 laddr[16], raddr[16];
};

static __always_inline int bit_test(const __u8 *bm, __u16 port)
{
	return bm[(port >> 3) & (EPH_BPF_PORT_BYTES - 1)] & (1u << (port & 7));
}

static __always_inline void bit_set(__u8 *bm, __u16 port)
{
	bm[(port >> 3) & (EPH_BPF_PORT_BYTES - 1)] |= (__u8)(1u << (port & 7));
}

static struct scratch *slot_of(__u64 sid)
{
	__u32 i = (__u32)(sid % SESSION_SLOTS);

	return bpf_map_lookup_elem(&sessions, &i);
}

/* This session's scratch: claimed on its first socket.  NULL when the slot
 * belongs to another session still walking (or this one gave up). */
static struct scratch *session(struct bpf_iter_meta *meta, struct net *net,
			       __u32 protocol)
{
	__u64 sid = meta->session_id;
	__u32 i = (__u32)(sid % SESSION_SLOTS);
	struct scratch *s = bpf_map_lookup_elem(&sessions, &i);
	unsigned long *reserved;
	__u64 claimed;
	__u32 range;

	if (!s)
		return NULL;
	if (s->session == sid)
		return s->r.magic ? s : NULL;
	/* Only a walk's first socket may claim a slot: one refused once
	 * stays refused, rather than counting half its sockets. */
	if (meta->seq_num != 0)
		return NULL;
	/* Busy: the walk ends as partial, unless its owner is long gone
	 * (a reader closed the iterator before the end). */
	if (s->session != 0 &&
	    bpf_ktime_get_ns() - s->claimed_ns < SLOT_STALE_NS)
		return NULL;
	claimed = bpf_ktime_get_ns();
	/* Zero the slot (36 KiB: too big for an inline memset). */
	if (bpf_map_update_elem(&sessions, &i, &zero_scratch, BPF_ANY))
		return NULL;
	s = bpf_map_lookup_elem(&sessions, &i);
	if (!s)
		return NULL;
	s->session = sid;
	s->claimed_ns = claimed;
	s->r.magic = EPH_BPF_MAGIC;
	s->r.version = EPH_BPF_VERSION;
	s->r.protocol = protocol;
	/* The namespace's range ("low | high << 16" since 6.3). */
	range = net->ipv4.ip_local_ports.range;
	s->r.low = range & 0xffff;
	s->r.high = range >> 16;
	s->r.tw_reuse = net->ipv4.sysctl_tcp_tw_reuse;
	s->r.timestamps = net->ipv4.sysctl_tcp_timestamps;
	s->r.autobind_reuse = net->ipv4.sysctl_ip_autobind_reuse;
	if (bpf_core_field_exists(net->ipv4.sysctl_tcp_tw_reuse_delay))
		s->r.tw_reuse_delay_ms = net->ipv4.sysctl_tcp_tw_reuse_delay;
	else
		s->r.tw_reuse_delay_ms = 1000;
	reserved = net->ipv4.sysctl_local_reserved_ports;
	if (reserved)
		bpf_probe_read_kernel(s->reserved, sizeof(s->reserved),
				      reserved);
	return s;
}

static __always_inline bool in_pool(const struct scratch *s, __u16 port)
{
	return port >= s->r.low && port <= s->r.high &&
	       !bit_test(s->reserved, port);
}

static void add_listener(struct scratch *s, const struct rec *k)
{
	__u32 n = s->r.n_listeners;

	s->r.listeners_in_range++;
	if (n < EPH_BPF_LISTENERS) {
		struct eph_bpf_listener *l = &s->r.listeners[n];

		l->addr.family = k->family;
		__builtin_memcpy(l->addr.bytes, k->laddr, 16);
		l->port = k->lport;
		s->r.n_listeners = n + 1;
	}
}

static void add_dest(struct scratch *s, __u64 sid, const struct rec *k, bool tw,
		     bool blocking)
{
	struct dest_key key = {
	    .session = sid, .family = k->family, .rport = k->rport};
	struct dest_val *v, nv = {};

	__builtin_memcpy(key.laddr, k->laddr, 16);
	__builtin_memcpy(key.raddr, k->raddr, 16);
	v = bpf_map_lookup_elem(&dests, &key);
	if (!v) {
		if (bpf_map_update_elem(&dests, &key, &nv, BPF_NOEXIST)) {
			s->r.flags |= EPH_BPF_DEST_OVERFLOW;
			s->r.dest_untracked++;
			return;
		}
		v = bpf_map_lookup_elem(&dests, &key);
		if (!v)
			return;
		s->r.destinations++;
	}
	v->sockets++;
	v->time_wait += tw;
	v->tw_reusable += k->tw_reusable;
	v->blocking += blocking;
}

/* model.c's eph_model_add(), on one record. */
static void account(struct scratch *s, __u64 sid, bool tcp, struct rec *k)
{
	__u8 st = k->state;

	if (st == TCP_NEW_SYN_RECV)
		st = TCP_SYN_RECV;
	else if (st >= EPH_BPF_STATES)
		st = 0;
	s->r.sockets_total++;
	s->r.state_total[st & (EPH_BPF_STATES - 1)]++;
	if (!in_pool(s, k->lport))
		return;
	s->r.sockets_in_range++;
	s->r.state_in_range[st & (EPH_BPF_STATES - 1)]++;
	if (!bit_test(s->r.in_use, k->lport)) {
		bit_set(s->r.in_use, k->lport);
		s->r.ports_in_use++;
	}
	if (!tcp) {
		if (k->rport == 0)
			add_listener(s, k);
		else
			add_dest(s, sid, k, false, false);
		return;
	}
	if (st == TCP_LISTEN) {
		add_listener(s, k);
		bit_set(s->listening, k->lport);
		if (!bit_test(s->r.bind_owned, k->lport)) {
			bit_set(s->r.bind_owned, k->lport);
			s->r.bind_owned_ports++;
		}
		return;
	}
	if (bit_test(s->listening, k->lport))
		return; /* accepted: the listener's port, nobody's destination
			 */
	if (k->owner_bind && !bit_test(s->r.bind_owned, k->lport)) {
		bit_set(s->r.bind_owned, k->lport);
		s->r.bind_owned_ports++;
	}
	if (k->tw_reusable)
		s->r.tw_reusable++;
	add_dest(s, sid, k, st == TCP_TIME_WAIT,
		 !k->tw_reusable && !bit_test(s->r.bind_owned, k->lport));
}

static void addresses(struct sock_common *skc, struct rec *k)
{
	k->family = skc->skc_family;
	if (k->family == AF_INET6) {
		__builtin_memcpy(k->laddr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(k->raddr, &skc->skc_v6_daddr, 16);
		/* ::ffff:a.b.c.d (eph_sock_unmap()). */
		if (k->laddr[10] == 0xff && k->laddr[11] == 0xff &&
		    !(k->laddr[0] | k->laddr[1] | k->laddr[2] | k->laddr[3] |
		      k->laddr[4] | k->laddr[5] | k->laddr[6] | k->laddr[7] |
		      k->laddr[8] | k->laddr[9])) {
			k->family = AF_INET;
			__builtin_memcpy(k->laddr, k->laddr + 12, 4);
			__builtin_memset(k->laddr + 4, 0, 12);
			__builtin_memcpy(k->raddr, k->raddr + 12, 4);
			__builtin_memset(k->raddr + 4, 0, 12);
		}
	} else {
		__be32 l = skc->skc_rcv_saddr;
		__be32 r = skc->skc_daddr;

		k->family = AF_INET;
		__builtin_memcpy(k->laddr, &l, 4);
		__builtin_memcpy(k->raddr, &r, 4);
	}
	k->lport = skc->skc_num;
	k->rport = bpf_ntohs(skc->skc_dport);
}

static bool bucket_bind_owned(struct inet_bind_bucket *tb)
{
	if (!tb)
		return false;
	return tb->fastreuse >= 0 || tb->fastreuseport >= 0;
}

static bool is_loopback(const struct rec *k)
{
	if (k->family == AF_INET)
		return k->laddr[0] == 127 || k->raddr[0] == 127;
	return (k->laddr[15] == 1 &&
		!(k->laddr[0] | k->laddr[10] | k->laddr[11])) ||
	       (k->raddr[15] == 1 &&
		!(k->raddr[0] | k->raddr[10] | k->raddr[11]));
}

/* tcp_twsk_unique(), for a connect() now. */
static bool tw_reusable(struct scratch *s, struct tcp_timewait_sock *tw,
			const struct rec *k)
{
	__u8 reuse = s->r.tw_reuse;
	__u32 now_ms, thresh;

	if (BPF_CORE_READ(tw, tw_sk.tw_substate) == TCP_FIN_WAIT2)
		return false;
	if (reuse == 2 && !is_loopback(k) &&
	    BPF_CORE_READ(tw, tw_sk.__tw_common.skc_bound_dev_if) !=
		LOOPBACK_IFINDEX)
		reuse = 0;
	if (!reuse || !BPF_CORE_READ(tw, tw_ts_recent_stamp))
		return false;
	if (!bpf_core_field_exists(tw->tw_sk.tw_entry_stamp))
		return true;
	now_ms = (__u32)(bpf_ktime_get_ns() / 1000000);
	thresh =
	    BPF_CORE_READ(tw, tw_sk.tw_entry_stamp) + s->r.tw_reuse_delay_ms;
	return (__s32)(now_ms - thresh) > 0;
}

struct finish_ctx {
	__u64 sid;
	struct scratch *s;
};

static bool worse(const struct dest_val *a, const struct eph_bpf_dest *b)
{
	if (a->blocking != b->blocking)
		return a->blocking > b->blocking;
	return a->sockets > b->sockets;
}

/* For each destination of this session: keep the top EPH_BPF_TOP, then
 * drop it from the map. */
static long pick_top(struct bpf_map *map, struct dest_key *key,
		     struct dest_val *val, struct finish_ctx *c)
{
	struct scratch *s;
	struct eph_bpf_dest d = {};
	__u32 n, i;

	if (key->session != c->sid) {
		struct scratch *o = slot_of(key->session);

		/* Left by a session that never finished: drop it. */
		if (o && o->session != key->session)
			bpf_map_delete_elem(map, key);
		return 0;
	}
	s = slot_of(c->sid);
	if (!s || s->session != c->sid)
		return 1;
	d.laddr.family = d.raddr.family = key->family;
	__builtin_memcpy(d.laddr.bytes, key->laddr, 16);
	__builtin_memcpy(d.raddr.bytes, key->raddr, 16);
	d.rport = key->rport;
	d.sockets = val->sockets;
	d.time_wait = val->time_wait;
	d.tw_reusable = val->tw_reusable;
	d.blocking = val->blocking;
	bpf_map_delete_elem(map, key);

	n = s->n_top;
	if (n > EPH_BPF_TOP)
		return 1;
	if (n == EPH_BPF_TOP) {
		if (!worse(val, &s->top[EPH_BPF_TOP - 1]))
			return 0;
		i = EPH_BPF_TOP - 1;
	} else {
		i = n;
		s->n_top = n + 1;
	}
	/* Insertion: shift the better-ranked ones down.  The masks keep
	 * every index provably inside top[] for the verifier. */
	for (int j = 0; j < EPH_BPF_TOP; j++) {
		__u32 cur = i & (EPH_BPF_TOP - 1), prev;

		if (cur == 0)
			break;
		prev = (cur - 1) & (EPH_BPF_TOP - 1);
		if (!worse(val, &s->top[prev]))
			break;
		s->top[cur] = s->top[prev];
		i = prev;
	}
	s->top[i & (EPH_BPF_TOP - 1)] = d;
	return 0;
}

static int finish(struct bpf_iter_meta *meta, bool tcp)
{
	__u64 sid = meta->session_id;
	struct finish_ctx c = {.sid = sid};
	struct scratch *s = slot_of(sid);
	__u32 n;

	if (!s)
		return 0;
	if (s->session != sid) {
		/* No socket at all in this namespace, or no slot. */
		if (s->session == 0)
			bpf_seq_write(meta->seq, tcp ? &empty_tcp : &empty_udp,
				      sizeof(empty_tcp));
		else
			bpf_seq_write(meta->seq,
				      tcp ? &partial_tcp : &partial_udp,
				      sizeof(partial_tcp));
		return 0;
	}
	bpf_for_each_map_elem(&dests, pick_top, &c, 0);
	n = s->n_top;
	if (n > EPH_BPF_TOP)
		n = EPH_BPF_TOP;
	s->r.n_top = n;
	bpf_seq_write(meta->seq, &s->r, sizeof(s->r));
	if (n)
		bpf_seq_write(meta->seq, s->top,
			      n * sizeof(struct eph_bpf_dest));
	s->session = 0; /* the slot is free again */
	return 0;
}

/* Outside the pool only the totals count (model.c does the same). */
static void count_outside(struct scratch *s, __u8 st)
{
	if (st == TCP_NEW_SYN_RECV)
		st = TCP_SYN_RECV;
	else if (st >= EPH_BPF_STATES)
		st = 0;
	s->r.sockets_total++;
	s->r.state_total[st & (EPH_BPF_STATES - 1)]++;
}

SEC("iter/tcp")
int ephport_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct bpf_iter_meta *meta = ctx->meta;
	struct tcp_timewait_sock *tw = NULL;
	struct inet_bind_bucket *tb = NULL;
	struct rec k = {};
	struct scratch *s;
	bool fresh;

	if (!skc)
		return finish(meta, true);
	s = session(meta, skc->skc_net.net, 6);
	if (!s)
		return 0;
	k.lport = skc->skc_num;
	k.state = skc->skc_state;
	if (k.state == TCP_TIME_WAIT) {
		tw = bpf_skc_to_tcp_timewait_sock(skc);
		if (!tw)
			return 0;
		/* inet_twsk_diag_fill() reports the substate. */
		k.state = tw->tw_sk.tw_substate;
	}
	if (!in_pool(s, k.lport)) {
		count_outside(s, k.state);
		return 0;
	}
	addresses(skc, &k);
	fresh = !bit_test(s->checked, k.lport);
	if (tw) {
		if (fresh)
			tb = tw->tw_sk.tw_tb;
		k.tw_reusable =
		    k.state == TCP_TIME_WAIT && tw_reusable(s, tw, &k);
	} else if (k.state != TCP_NEW_SYN_RECV && fresh) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);

		if (!tp)
			return 0;
		tb = tp->inet_conn.icsk_bind_hash;
	}
	if (tb) {
		bit_set(s->checked, k.lport);
		k.owner_bind = bucket_bind_owned(tb);
	}
	account(s, meta->session_id, true, &k);
	return 0;
}

SEC("iter/udp")
int ephport_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *udp = ctx->udp_sk;
	struct bpf_iter_meta *meta = ctx->meta;
	struct sock_common *skc;
	struct rec k = {};
	struct scratch *s;

	if (!udp)
		return finish(meta, false);
	skc = &udp->inet.sk.__sk_common;
	s = session(meta, skc->skc_net.net, 17);
	if (!s)
		return 0;
	addresses(skc, &k);
	/* UDP: ESTABLISHED when connected, else CLOSE, as sock_diag says. */
	k.state = skc->skc_state;
	account(s, meta->session_id, false, &k);
	return 0;
}
