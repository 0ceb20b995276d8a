// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * failures.bpf.c - count the port allocations that failed, which Linux
 * itself never counts (__inet_hash_connect() returns -EADDRNOTAVAIL,
 * inet_csk_get_port() and udp_lib_get_port() return 1, and nothing is
 * incremented), per network namespace, kind, destination and process.
 *
 * Attach points.  The natural ones are fexit on __inet_hash_connect(),
 * inet_csk_get_port() and udp_lib_get_port(); fentry/fexit and kprobes
 * are refused on the kernels we run on (EPERM, no kprobe PMU), so the
 * programs sit on the exit tracepoints of the system calls that end in
 * those functions, and look at the socket behind the file descriptor:
 *
 *   connect()   -EADDRNOTAVAIL on TCP: no port for that destination
 *               (__inet_hash_connect(): port search, or the 4-tuple of a
 *               bound socket taken, __inet_check_established());
 *               -EAGAIN on UDP whose socket still has no port:
 *               inet_autobind() -> udp_lib_get_port() failed.
 *   bind()      -EADDRINUSE for a request of port 0 (AF_INET, AF_INET6):
 *               inet_csk_get_port() / udp_lib_get_port() found no port.
 *   listen()    -EADDRINUSE on a TCP socket still without a port: the
 *               autobind of inet_csk_listen_start().
 *   sendto(), sendmsg(), sendmmsg()
 *               -EAGAIN on UDP still without a port: inet_send_prepare()
 *               -> inet_autobind() failed (a full send buffer returns
 *               -EAGAIN too, but then the socket has its port).
 *
 *   io_uring    IORING_OP_CONNECT completing -EADDRNOTAVAIL on TCP (the
 *               io_uring_complete tracepoint, end of this file).
 *
 * Missed (doc/ephport-bpf.8): io_uring's IORING_OP_BIND/LISTEN/SEND*, and
 * in-kernel callers (kernel_connect() of NFS, SMB, iSCSI...).  A connect()
 * EADDRNOTAVAIL for a reason other than ports (IPv6 with no usable source
 * address) is counted: the kernel gives no way to tell it apart.
 *
 * Readers: ephport-bpf pins fail_counts (the totals), fail_detail (the
 * destinations and processes, an LRU) and fail_meta; a reader opens them
 * read-only (BPF_OBJ_GET with BPF_F_RDONLY, which needs no capability
 * when the pin's mode lets it open the file) and keeps the entries of its
 * own namespace (SO_NETNS_COOKIE).  A pinned iterator would have been the
 * socket source's way, but iter/bpf_map_elem is refused (EPERM) where the
 * socket iterators load.
 *
 * Only the failing path does work: a successful call costs one compare.
 * The arguments are read back from the caller's saved user registers
 * (bpf_task_pt_regs()), so there is no enter program and no per-call map.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "failures.h"

#define AF_INET	      2
#define AF_INET6      10
#define IPPROTO_TCP   6
#define IPPROTO_UDP   17
#define EAGAIN	      11
#define EEXIST	      17
#define EADDRINUSE    98
#define EADDRNOTAVAIL 99
#define S_IFMT	      00170000
#define S_IFSOCK      0140000

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Totals: never evicted, so that they stay exact (failures.h); the
 * loader sets the size (ephport-bpf load -n). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EPH_BPF_FAIL_TOTALS_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct eph_bpf_fail_key);
	__type(value, struct eph_bpf_fail_val);
} fail_counts SEC(".maps");

/*
 * Destinations and processes: when it is full, the kernel forgets the
 * least recently failing entry, so that a new offender is always named
 * (its failures, and the forgotten ones', stay in the totals: the reader
 * calls what is not listed "other").  Its size is the loader's
 * (ephport-bpf load -e); lookups from user space do not refresh an entry,
 * only failures do.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EPH_BPF_FAIL_DETAIL_DEFAULT);
	__type(key, struct eph_bpf_fail_key);
	__type(value, struct eph_bpf_fail_dval);
} fail_detail SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct eph_bpf_fail_meta);
} fail_meta SEC(".maps");

/* The socket of file f, or NULL when it is not a socket. */
static struct sock *sock_of_file(struct file *f)
{
	struct socket *so;

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : NULL;
}

/* The socket behind descriptor fd of the current task, or NULL. */
static struct sock *sock_of_fd(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **files, *f = NULL;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	files = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &files[fd]))
		return NULL;
	return sock_of_file(f);
}

/* A destination from a user sockaddr: 0 when there is none. */
struct dest {
	__u8 family;
	__u16 rport; /* network order */
	__u8 raddr[16];
};

/* From the caller's memory (user) or the kernel's (a copy io_uring made). */
static long read_mem(void *dst, __u32 len, const void *src, bool user)
{
	return user ? bpf_probe_read_user(dst, len, src)
		    : bpf_probe_read_kernel(dst, len, src);
}

static void read_sockaddr(const void *addr, bool user, struct dest *d)
{
	__u16 family = 0;

	if (!addr || read_mem(&family, sizeof(family), addr, user))
		return;
	if (family == AF_INET) {
		struct sockaddr_in sin;

		if (read_mem(&sin, sizeof(sin), addr, user))
			return;
		d->family = AF_INET;
		d->rport = sin.sin_port;
		__builtin_memcpy(d->raddr, &sin.sin_addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sin6;
		const __u32 *w;

		if (read_mem(&sin6, sizeof(sin6), addr, user))
			return;
		d->rport = sin6.sin6_port;
		w = sin6.sin6_addr.in6_u.u6_addr32;
		/* ::ffff:a.b.c.d is the IPv4 destination a.b.c.d: one key
		 * for it, whichever family the caller's socket has. */
		if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff)) {
			d->family = AF_INET;
			__builtin_memcpy(d->raddr, &w[3], 4);
		} else {
			d->family = AF_INET6;
			__builtin_memcpy(d->raddr, &sin6.sin6_addr, 16);
		}
	}
}

static void read_dest(const void *uaddr, struct dest *d)
{
	read_sockaddr(uaddr, true, d);
}

/* Fill a new entry's value with the caller that made it: the process's
 * name (its leader's comm, what /proc/PID/comm says and readers check
 * the pid against), not the thread's (a JVM's, an io-wq worker's). */
static void made_by(struct eph_bpf_fail_val *z)
{
	struct task_struct *task = bpf_get_current_task_btf();

	z->cgroup_id = bpf_get_current_cgroup_id();
	BPF_CORE_READ_STR_INTO(&z->comm, task, group_leader, comm);
}

/* Count a total that could not be made (fail_counts full). */
static void lost_total(void)
{
	__u32 zero = 0;
	struct eph_bpf_fail_meta *m = bpf_map_lookup_elem(&fail_meta, &zero);

	if (m)
		__sync_fetch_and_add(&m->lost, 1);
}

/*
 * One more failure in the namespace's total for the kind.  A namespace's
 * first failure makes its three totals together, so that a namespace has
 * all of them or none: none, while fail_meta.lost is 0, is an exact zero;
 * once lost is not, a namespace without its totals cannot tell its zero
 * from a loss, and its readers say so (failures_bpf.c).
 */
static void bump_total(struct eph_bpf_fail_key *k, __u64 now)
{
	struct eph_bpf_fail_val *v = bpf_map_lookup_elem(&fail_counts, k);

	if (!v) {
		struct eph_bpf_fail_val z = {};
		struct eph_bpf_fail_key t = *k;

		made_by(&z);
		for (__u8 kind = 0; kind < EPH_BPF_FAIL_KINDS; kind++) {
			long err;

			t.kind = kind;
			err = bpf_map_update_elem(&fail_counts, &t, &z,
						  BPF_NOEXIST);
			/* -EEXIST: another CPU made it first. */
			if (err && err != -EEXIST) {
				lost_total();
				return;
			}
		}
		v = bpf_map_lookup_elem(&fail_counts, k);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->count, 1);
	v->last_boot_ns = now;
}

/* One more failure of a destination or a process.  A new entry may push
 * out the least recently failing one; one that cannot be made is left to
 * "other" (the total has it). */
static void bump_detail(struct eph_bpf_fail_key *k, __u64 now)
{
	struct eph_bpf_fail_dval *d = bpf_map_lookup_elem(&fail_detail, k);

	if (!d) {
		struct eph_bpf_fail_dval z = {};
		long err;

		made_by(&z.v);
		z.first_boot_ns = now;
		err = bpf_map_update_elem(&fail_detail, k, &z, BPF_NOEXIST);
		if (err && err != -EEXIST)
			return;
		d = bpf_map_lookup_elem(&fail_detail, k);
		/* NULL: forgotten already by failures on other CPUs. */
		if (!d)
			return;
	}
	__sync_fetch_and_add(&d->v.count, 1);
	d->v.last_boot_ns = now;
}

static void count(struct sock *sk, __u8 kind, const struct dest *d)
{
	__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
	__u64 now = bpf_ktime_get_boot_ns();
	struct eph_bpf_fail_key total = {
	    .netns_cookie = cookie, .what = EPH_BPF_FAIL_TOTAL, .kind = kind};
	struct eph_bpf_fail_key proc = {.netns_cookie = cookie,
					.what = EPH_BPF_FAIL_PROC,
					.kind = kind,
					.tgid =
					    bpf_get_current_pid_tgid() >> 32};

	bump_total(&total, now);
	if (d && d->family) {
		struct eph_bpf_fail_key dest = {.netns_cookie = cookie,
						.what = EPH_BPF_FAIL_DEST,
						.kind = kind,
						.family = d->family,
						.rport = d->rport};

		__builtin_memcpy(dest.raddr, d->raddr, 16);
		bump_detail(&dest, now);
	}
	bump_detail(&proc, now);
}

/* The inet socket behind the call's first argument, with what we need of
 * it; NULL when it is not TCP or UDP over IPv4/IPv6. */
struct call {
	struct pt_regs *regs;
	struct sock *sk;
	__u16 protocol;
	__u16 num; /* local port, 0: none yet */
};

static const void *arg2(struct pt_regs *regs)
{
	return (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
}

static const void *arg5(struct pt_regs *regs)
{
	return (const void *)PT_REGS_PARM5_CORE_SYSCALL(regs);
}

static bool call_sock(struct call *c)
{
	struct task_struct *task = bpf_get_current_task_btf();
	/* A local: the CO-RE macros must see a plain pointer. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u16 family;
	struct sock *sk;

	c->regs = regs;
	sk = sock_of_fd(task, (long)(int)PT_REGS_PARM1_CORE_SYSCALL(regs));
	c->sk = sk;
	if (!sk)
		return false;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return false;
	c->protocol = BPF_CORE_READ(sk, sk_protocol);
	c->num = BPF_CORE_READ(sk, __sk_common.skc_num);
	return c->protocol == IPPROTO_TCP || c->protocol == IPPROTO_UDP;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int eph_fail_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct dest d = {};
	struct call c;
	__u8 kind;

	if (ctx->ret != -EADDRNOTAVAIL && ctx->ret != -EAGAIN)
		return 0;
	if (!call_sock(&c))
		return 0;
	if (ctx->ret == -EADDRNOTAVAIL && c.protocol == IPPROTO_TCP)
		kind = EPH_BPF_FAIL_CONNECT;
	else if (ctx->ret == -EAGAIN && c.protocol == IPPROTO_UDP && !c.num)
		kind = EPH_BPF_FAIL_AUTOBIND;
	else
		return 0;
	read_dest(arg2(c.regs), &d);
	count(c.sk, kind, &d);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int eph_fail_bind(struct trace_event_raw_sys_exit *ctx)
{
	struct dest d = {};
	struct call c;

	if (ctx->ret != -EADDRINUSE || !call_sock(&c))
		return 0;
	/* Only bind() to port 0 asks the kernel to pick one. */
	read_dest(arg2(c.regs), &d);
	if (!d.family || d.rport != 0)
		return 0;
	count(c.sk, EPH_BPF_FAIL_BIND, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int eph_fail_listen(struct trace_event_raw_sys_exit *ctx)
{
	struct call c;

	if (ctx->ret != -EADDRINUSE || !call_sock(&c))
		return 0;
	if (c.protocol == IPPROTO_TCP && !c.num)
		count(c.sk, EPH_BPF_FAIL_BIND, NULL);
	return 0;
}

/* sendto(fd, buf, len, flags, addr, addrlen) */
SEC("tracepoint/syscalls/sys_exit_sendto")
int eph_fail_sendto(struct trace_event_raw_sys_exit *ctx)
{
	struct dest d = {};
	struct call c;

	if (ctx->ret != -EAGAIN || !call_sock(&c))
		return 0;
	if (c.protocol != IPPROTO_UDP || c.num)
		return 0;
	read_dest(arg5(c.regs), &d);
	count(c.sk, EPH_BPF_FAIL_AUTOBIND, &d);
	return 0;
}

/* sendmsg(fd, msg, flags) and sendmmsg(fd, mmsg, vlen, flags): the first
 * message's msg_name (struct mmsghdr begins with its struct msghdr). */
static int sendmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct user_msghdr *msg;
	struct dest d = {};
	void *name = NULL;
	struct call c;

	if (ctx->ret != -EAGAIN || !call_sock(&c))
		return 0;
	if (c.protocol != IPPROTO_UDP || c.num)
		return 0;
	msg = (struct user_msghdr *)arg2(c.regs);
	if (msg && !bpf_probe_read_user(&name, sizeof(name), &msg->msg_name))
		read_dest(name, &d);
	count(c.sk, EPH_BPF_FAIL_AUTOBIND, &d);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int eph_fail_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	return sendmsg_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int eph_fail_sendmmsg(struct trace_event_raw_sys_exit *ctx)
{
	return sendmsg_exit(ctx);
}

/*
 * io_uring's IORING_OP_CONNECT does not pass the connect() system call:
 * its completion is seen instead (io_uring_complete fires for every CQE;
 * all but a -EADDRNOTAVAIL return at the first compare).  The destination
 * is the copy io_connect_prep() made in the request's async data, or, when
 * that is gone by the completion, the caller's sockaddr it points to.
 */
#define IORING_OP_CONNECT 16
SEC("tracepoint/io_uring/io_uring_complete")
int eph_fail_uring(struct trace_event_raw_io_uring_complete *ctx)
{
	struct io_kiocb *req = ctx->req;
	struct io_async_msghdr *io;
	struct dest d = {};
	struct sock *sk;

	if (ctx->res != -EADDRNOTAVAIL || !req ||
	    BPF_CORE_READ(req, opcode) != IORING_OP_CONNECT)
		return 0;
	sk = sock_of_file(BPF_CORE_READ(req, file));
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	io = BPF_CORE_READ(req, async_data);
	if (io)
		read_sockaddr(&io->addr, false, &d);
	if (!d.family) {
		struct io_connect *conn = (struct io_connect *)&req->cmd;

		read_sockaddr(BPF_CORE_READ(conn, addr), true, &d);
	}
	count(sk, EPH_BPF_FAIL_CONNECT, &d);
	return 0;
}
