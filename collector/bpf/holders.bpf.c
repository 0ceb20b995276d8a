// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * holders.bpf.c - who holds the pool ports, counted in the kernel: an
 * iter/task_file program (pinned as DIR/holders by ephport-bpf) that
 * walks every open file of every process, keeps the sockets of the
 * READER's network namespace whose local port is in that namespace's pool,
 * and writes one struct eph_bpf_holder (holders.h) per process holding
 * any, then a struct eph_bpf_holders_tail.  A pinned iterator runs in the
 * reader's read(), so "the reader" is bpf_get_current_task_btf().
 *
 * Pids are the reader's: pid_nr_ns() in its pid namespace, as its /proc
 * shows them (the walk visits only the tasks visible there).
 *
 * Privacy, as /proc/PID/fd: a reader whose effective uid is 0 sees every
 * process; any other sees only the processes whose effective uid is its
 * own (the rest are counted in tail.hidden, their sockets unattributed).
 * /proc/PID/fd also refuses a process of the same euid whose real or
 * saved uid differs (a setuid program): this iterator shows it.
 *
 * task_file visits the files of one thread group together (threads that
 * share the fd table are skipped), so a process is done when the next
 * file belongs to another tgid: its record is written then, at most one
 * bpf_seq_write per call, and the state moves on only once it succeeded.
 * That matters: when a write does not fit the seq buffer, the kernel
 * throws the call's output away and calls it again on the same file at
 * the next read().
 *
 * Per process: distinct ports by a generation stamp per port (nothing to
 * clear between processes), its commonest TCP destination by a running
 * maximum over a hash of (session, tgid, destination) counts, and a
 * socket held under two fds or by two processes (a file with more
 * references than the walk's own) is looked up in a hash of such sockets,
 * so it counts once per process and once in sockets_attributed (and in
 * its protocol's attributed[]).  Both hashes are emptied of the session's
 * entries when its walk ends.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "holders.h"

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_LISTEN  10
#define DEST_MAX    262144
#define SHARED_MAX  65536

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct slot {
	__u64 session;	  /* owner; 0: free */
	__u64 claimed_ns; /* a reader that went away leaves it */
	struct net *net;  /* the reader's namespace */
	__u32 reader_euid;
	__u32
	    reader_level; /* of its pid namespace: pids as its /proc has them */
	__u32 gen;	  /* the current process's stamp; never reset */
	__u32 cur_tgid;	  /* the global tgid of cur: a process change */
	bool visible;
	bool started; /* cur is a process */
	bool has_reserved;
	__u16 low, high;
	struct eph_bpf_holder cur;
	struct eph_bpf_holders_tail tail;
	/* The last record and the tail, written in one piece at the end. */
	struct {
		struct eph_bpf_holder rec;
		struct eph_bpf_holders_tail tail;
	} last;
	__u8 reserved[EPH_BPF_PORT_BYTES];
	__u32 port_gen[2][65536];
};

/* last is written whole: a hole between its members would be output. */
_Static_assert(sizeof(((struct slot *)0)->last) ==
		   sizeof(struct eph_bpf_holder) +
		       sizeof(struct eph_bpf_holders_tail),
	       "no padding between the last record and the tail");

struct dest_key {
	__u64 session;
	__u32 tgid;
	__u8 family;
	__u8 pad;
	__u16 rport;
	__u8 raddr[16];
};

struct shared_key {
	__u64 session;
	__u64 sk;
};

/* sweep() reads the session of either key at its start. */
_Static_assert(__builtin_offsetof(struct dest_key, session) == 0 &&
		   __builtin_offsetof(struct shared_key, session) == 0,
	       "the session begins every per-session key");

#define SESSION_SLOTS 4
#define SLOT_STALE_NS (30ull * 1000000000)
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SESSION_SLOTS);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DEST_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dest_key);
	__type(value, __u32);
} hdests SEC(".maps");

/* A shared socket's last holder (tgid). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARED_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct shared_key);
	__type(value, __u32);
} shared SEC(".maps");

static const struct eph_bpf_holders_tail partial_tail = {
    .magic = EPH_BPF_HOLDERS_MAGIC,
    .version = EPH_BPF_HOLDERS_VERSION,
    .flags = EPH_BPF_HOLDERS_PARTIAL};

/* file_ref_t (6.13+) counts from 0 for one reference; f_count from 1. */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

static __always_inline long file_refs(struct file *f)
{
	if (bpf_core_field_exists(f->f_ref))
		return BPF_CORE_READ(f, f_ref.refcnt.counter) + 1;
	return BPF_CORE_READ((struct file___old *)f, f_count.counter);
}

static __always_inline int bit_test(const __u8 *bm, __u16 port)
{
	return bm[(port >> 3) & (EPH_BPF_PORT_BYTES - 1)] & (1u << (port & 7));
}

static struct slot *slot_of(__u64 sid)
{
	__u32 i = (__u32)(sid % SESSION_SLOTS);

	return bpf_map_lookup_elem(&slots, &i);
}

/* This session's slot, claimed on its first object; NULL when another
 * live session has it (or this one was refused once). */
static struct slot *session(struct bpf_iter_meta *meta)
{
	__u64 sid = meta->session_id;
	struct task_struct *me;
	struct slot *s = slot_of(sid);
	unsigned long *reserved;
	struct net *net;
	__u32 range;

	if (!s)
		return NULL;
	if (s->session == sid)
		return s;
	if (meta->seq_num != 0)
		return NULL;
	if (s->session != 0 &&
	    bpf_ktime_get_ns() - s->claimed_ns < SLOT_STALE_NS)
		return NULL;
	me = bpf_get_current_task_btf();
	net = me->nsproxy->net_ns;
	s->session = sid;
	s->claimed_ns = bpf_ktime_get_ns();
	s->net = net;
	s->reader_euid = me->cred->euid.val;
	s->reader_level = me->thread_pid->level;
	s->started = false;
	s->visible = false;
	/* The namespace's range ("low | high << 16" since 6.3). */
	range = net->ipv4.ip_local_ports.range;
	s->low = range & 0xffff;
	s->high = range >> 16;
	__builtin_memset(&s->tail, 0, sizeof(s->tail));
	s->tail.magic = EPH_BPF_HOLDERS_MAGIC;
	s->tail.version = EPH_BPF_HOLDERS_VERSION;
	s->tail.low = s->low;
	s->tail.high = s->high;
	/* Allocated with the namespace; a failed read reserves nothing. */
	reserved = net->ipv4.sysctl_local_reserved_ports;
	s->has_reserved =
	    reserved && bpf_probe_read_kernel(s->reserved, sizeof(s->reserved),
					      reserved) == 0;
	return s;
}

/* The process's pid in the reader's pid namespace (the walk only visits
 * tasks visible there): pid_nr_ns() of the leader's struct pid. */
static __u32 reader_pid(struct slot *s, struct task_struct *leader)
{
	struct pid *pid = leader->thread_pid;
	__u32 level = s->reader_level;
	struct upid up = {};
	__u32 nr;
	__u64 at;

	/* barrier_var(): each load stays in its branch (clang would merge
	 * the two into one load of two kinds of pointer, which the verifier
	 * refuses). */
	if (level == 0) {
		nr = leader->tgid;
		barrier_var(nr);
		return nr;
	}
	if (level > 32 || level > pid->level)
		return 0;
	/* numbers[level]: a variable index, so a plain address and a
	 * checked read. */
	at = (__u64)pid + bpf_core_field_offset(struct pid, numbers) +
	     (__u64)level * sizeof(struct upid);
	if (bpf_probe_read_kernel(&up, sizeof(up), (void *)at))
		return 0;
	nr = (__u32)up.nr;
	barrier_var(nr);
	return nr;
}

/* A new process: what /proc/PID shows of it is its leader's (comm,
 * credentials), whichever of its threads the fd table came with. */
static void begin_process(struct slot *s, struct task_struct *task)
{
	struct task_struct *leader = task->group_leader;
	__u32 euid = leader->cred->euid.val;

	s->gen++;
	s->started = true;
	s->cur_tgid = task->tgid;
	s->visible = s->reader_euid == 0 || s->reader_euid == euid;
	__builtin_memset(&s->cur, 0, sizeof(s->cur));
	s->cur.tgid = reader_pid(s, leader);
	s->cur.euid = euid;
	if (!s->cur.tgid)
		s->visible = false; /* no pid in the reader's namespace */
	if (!s->visible)
		s->tail.hidden++;
	else
		bpf_probe_read_kernel_str(s->cur.comm, sizeof(s->cur.comm),
					  leader->comm);
}

static __always_inline bool holds_any(const struct slot *s)
{
	return s->started && s->visible &&
	       (s->cur.sockets[0] | s->cur.sockets[1]);
}

static __always_inline bool in_pool(const struct slot *s, __u16 port)
{
	return port >= s->low && port <= s->high &&
	       !(s->has_reserved && bit_test(s->reserved, port));
}

/* One pool socket of the current process; false: counted already (the
 * same socket under another fd of it). */
static __always_inline bool count(struct slot *s, __u64 sid, struct sock *sk,
				  struct file *f, int p, __u16 lport)
{
	__u32 tgid = s->cur_tgid;
	bool distinct = true;

	if (file_refs(f) > 2) {
		/* Beyond the walk's own reference: maybe under another fd
		 * or another process. */
		struct shared_key k = {.session = sid, .sk = (__u64)sk};
		__u32 *last = bpf_map_lookup_elem(&shared, &k);

		if (last) {
			if (*last == tgid)
				return false; /* a dup() of a counted one */
			*last = tgid;
			distinct = false;
		} else if (bpf_map_update_elem(&shared, &k, &tgid,
					       BPF_NOEXIST)) {
			s->tail.flags |= EPH_BPF_HOLDERS_SHARED_OVERFLOW;
		}
	}
	if (distinct) {
		s->tail.sockets_attributed++;
		s->tail.attributed[p & 1]++;
	}
	s->cur.sockets[p & 1]++;
	if (s->port_gen[p & 1][lport] != s->gen) {
		s->port_gen[p & 1][lport] = s->gen;
		s->cur.ports[p & 1]++;
	}
	return true;
}

/* A TCP pool socket's destination: counted, the running maximum kept. */
static void count_dest(struct slot *s, __u64 sid, struct sock *sk)
{
	struct sock_common *skc = &sk->__sk_common;
	struct dest_key k = {.session = sid, .tgid = s->cur_tgid};
	__u32 one = 1, *v, n;

	if (skc->skc_state == TCP_LISTEN || skc->skc_dport == 0)
		return;
	k.family = skc->skc_family;
	k.rport = bpf_ntohs(skc->skc_dport);
	if (k.family == AF_INET6) {
		__builtin_memcpy(k.raddr, &skc->skc_v6_daddr, 16);
		/* ::ffff:a.b.c.d as eph_sock_unmap() does. */
		if (k.raddr[10] == 0xff && k.raddr[11] == 0xff &&
		    !(k.raddr[0] | k.raddr[1] | k.raddr[2] | k.raddr[3] |
		      k.raddr[4] | k.raddr[5] | k.raddr[6] | k.raddr[7] |
		      k.raddr[8] | k.raddr[9])) {
			k.family = AF_INET;
			__builtin_memcpy(k.raddr, k.raddr + 12, 4);
			__builtin_memset(k.raddr + 4, 0, 12);
		}
	} else {
		__be32 r = skc->skc_daddr;

		__builtin_memcpy(k.raddr, &r, 4);
	}
	v = bpf_map_lookup_elem(&hdests, &k);
	if (v) {
		n = ++*v;
	} else {
		if (bpf_map_update_elem(&hdests, &k, &one, BPF_NOEXIST)) {
			s->tail.flags |= EPH_BPF_HOLDERS_DEST_OVERFLOW;
			return;
		}
		n = 1;
	}
	if (n > s->cur.worst_sockets) {
		s->cur.worst_sockets = n;
		s->cur.worst_rport = k.rport;
		s->cur.worst_raddr.family = k.family;
		__builtin_memcpy(s->cur.worst_raddr.bytes, k.raddr, 16);
	}
}

struct sweep_ctx {
	__u64 sid;
};

/* Drop this session's entries, and those of sessions that never ended.
 * One callback for hdests and shared: both keys begin with the session
 * (the verifier checks it once per map, with that map's key size). */
static long sweep(struct bpf_map *map, __u64 *key_session, __u32 *val,
		  struct sweep_ctx *c)
{
	__u64 session = *key_session;
	struct slot *o;

	if (session == c->sid) {
		bpf_map_delete_elem(map, key_session);
		return 0;
	}
	o = slot_of(session);
	if (o && o->session != session)
		bpf_map_delete_elem(map, key_session);
	return 0;
}

/* The walk's end: the last process's record and the tail, in one write
 * (called again when it did not fit). */
static int finish(struct bpf_iter_meta *meta)
{
	__u64 sid = meta->session_id;
	struct sweep_ctx c = {.sid = sid};
	struct slot *s = slot_of(sid);
	long err;

	if (!s || s->session != sid) {
		/* No slot: the reader reads again. */
		bpf_seq_write(meta->seq, &partial_tail, sizeof(partial_tail));
		return 0;
	}
	if (holds_any(s)) {
		s->last.rec = s->cur;
		s->last.tail = s->tail;
		s->last.tail.records++;
		err = bpf_seq_write(meta->seq, &s->last, sizeof(s->last));
	} else {
		err = bpf_seq_write(meta->seq, &s->tail, sizeof(s->tail));
	}
	if (err)
		return 0;
	bpf_for_each_map_elem(&hdests, sweep, &c, 0);
	bpf_for_each_map_elem(&shared, sweep, &c, 0);
	s->session = 0;
	return 0;
}

SEC("iter/task_file")
int ephport_holders(struct bpf_iter__task_file *ctx)
{
	struct bpf_iter_meta *meta = ctx->meta;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct socket *sock;
	struct sock *sk;
	struct slot *s;
	__u16 lport, proto;
	int p;

	if (!task || !file)
		return finish(meta);
	s = session(meta);
	if (!s)
		return 0;
	if (!s->started || task->tgid != s->cur_tgid) {
		/* The last process is done: its record first. */
		if (holds_any(s)) {
			if (bpf_seq_write(meta->seq, &s->cur, sizeof(s->cur)))
				return 0; /* shown again at the next read */
			s->tail.records++;
		}
		begin_process(s, task);
	}
	if (!s->visible)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = sock->sk;
	if (!sk || sk->__sk_common.skc_net.net != s->net)
		return 0;
	proto = sk->sk_protocol;
	if (proto == IPPROTO_TCP)
		p = 0;
	else if (proto == IPPROTO_UDP)
		p = 1;
	else
		return 0;
	if (sk->__sk_common.skc_family != AF_INET &&
	    sk->__sk_common.skc_family != AF_INET6)
		return 0;
	lport = sk->__sk_common.skc_num;
	if (!in_pool(s, lport))
		return 0;
	if (count(s, meta->session_id, sk, file, p, lport) && p == 0)
		count_dest(s, meta->session_id, sk);
	return 0;
}
