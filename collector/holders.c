/*
 * holders.c - eph_holders_collect(): who holds the pool ports of a
 * namespace.  The source is the pinned task_file iterator when ephport-bpf
 * loaded it (the kernel walks every fd table; holders_bpf.c), else the
 * namespace's pool sockets from sock_diag (/proc/net without it) matched
 * against /proc/PID/fd (holders_procfs.c).  Both end here: sorted, cut
 * to top N, and only then named (comm, cgroup, container), so naming
 * costs two small reads per process shown, not per process walked.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "holders.h"
#include "netns.h"
#include "sockets.h"

const char *eph_holder_source_name(enum eph_holder_source s)
{
	return s == EPH_HOLDERS_BPF ? "bpf" : "procfs";
}

void eph_holders_names(const char *proc_root, struct eph_holders *out,
		       bool keep_comm)
{
	for (uint32_t i = 0; i < out->n; i++) {
		struct eph_holder *h = &out->v[i];
		char path[1100], buf[4096];
		long n;

		if (!keep_comm || !h->comm[0]) {
			snprintf(path, sizeof(path), "%s/%u/comm", proc_root,
				 h->pid);
			n = eph_read_file(path, buf, sizeof(buf));
			if (n > 0 && buf[n - 1] == '\n')
				buf[--n] = '\0';
			snprintf(h->comm, sizeof(h->comm), "%.15s",
				 n > 0 ? buf : "");
		}
		/* The process may be gone by now: no name, no error. */
		snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, h->pid);
		n = eph_read_file(path, buf, sizeof(buf));
		if (n <= 0)
			continue;
		eph_cgroup_v2_path(buf, (size_t)n, h->cgroup,
				   sizeof(h->cgroup));
		eph_cgroup_name(buf, (size_t)n, h->container,
				sizeof(h->container));
	}
}

/* --- one collection, in the namespace of the calling thread ------------ */

struct job {
	struct eph_collector *c;
	struct eph_collector_view v;
	unsigned top_n;
	uint32_t seq;
	struct eph_holders *out;
};

static int diag_dump(struct job *j, int fd, enum eph_proto p, int family,
		     int legacy, const struct eph_range *r, void *rbuf,
		     struct eph_hindex_feed *f)
{
	char req[256];
	int len;

	/* Every state: a socket in any state may be held by a file. */
	len = eph_diag_build_request(req, sizeof(req), legacy, family,
				     p == EPH_TCP ? IPPROTO_TCP : IPPROTO_UDP,
				     ((1u << EPH_ST_COUNT) - 2), r->low,
				     r->high, ++j->seq);
	if (len < 0)
		return len;
	return eph_diag_dump(fd, req, (size_t)len, j->seq, rbuf,
			     EPH_DIAG_RECV_BUF, eph_hindex_feed_cb, f);
}

/* Errors meaning "this kernel cannot answer that request" (collector.c's
 * list): the next way is tried. */
static bool diag_unavailable(int err)
{
	return err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT ||
	       err == -ENOENT || err == -EOPNOTSUPP || err == -EINVAL ||
	       err == -EPERM || err == -EACCES;
}

/* Drop what a failed dump of p left in the index (p's entries are the
 * last ones: protocols are dumped in turn). */
static void forget(struct eph_hindex *x, enum eph_proto p)
{
	x->pool[p] = 0;
	while (x->n > 0 && x->v[x->n - 1].proto == p)
		x->n--;
}

/* The pool sockets of one protocol into the index: one legacy request for
 * TCP (both families in one walk of the kernel's tables), else one per
 * family, as collector.c; /proc/net when sock_diag cannot answer. */
static int dump_proto(struct job *j, int *fd, void *rbuf, struct eph_hindex *x,
		      enum eph_proto p)
{
	struct eph_hindex_feed f = {x, p};
	const struct eph_range *r = &x->range[p];
	int err = -ENOENT;

	if (*fd < 0)
		*fd = eph_diag_open();
	if (*fd >= 0 && p == EPH_TCP) {
		err = diag_dump(j, *fd, p, AF_INET, 1, r, rbuf, &f);
		if (err == 0)
			return 0;
		forget(x, p);
	}
	if (*fd >= 0 && (err == -ENOENT || diag_unavailable(err))) {
		err = diag_dump(j, *fd, p, AF_INET, 0, r, rbuf, &f);
		if (err == 0) {
			err = diag_dump(j, *fd, p, AF_INET6, 0, r, rbuf, &f);
			/* No IPv6 in this kernel: IPv4 is the whole table. */
			if (err == 0 || err == -EAFNOSUPPORT || err == -ENOENT)
				return 0;
		}
	}
	if (*fd >= 0) {
		/* The socket may hold half a dump: not used again. */
		close(*fd);
		*fd = -1;
		forget(x, p);
		if (!diag_unavailable(err)) {
			snprintf(j->v.error, j->v.error_len,
				 "netlink sock_diag dump of %s sockets: %s",
				 eph_proto_name(p), strerror(-err));
			return err;
		}
	}
	err = eph_proc_read(j->v.net_root, p, AF_INET, eph_hindex_feed_cb, &f,
			    j->v.error, j->v.error_len);
	if (err == 0) {
		err = eph_proc_read(j->v.net_root, p, AF_INET6,
				    eph_hindex_feed_cb, &f, j->v.error,
				    j->v.error_len);
		if (err == -ENOENT)
			err = 0;
	}
	return err;
}

static int index_namespace(struct job *j, struct eph_hindex *x)
{
	void *rbuf = malloc(EPH_DIAG_RECV_BUF);
	int fd = -1, err = 0;

	if (!rbuf)
		return -ENOMEM;
	for (int p = 0; p < EPH_PROTO_COUNT && err == 0; p++)
		if (j->v.protocols & (1u << p))
			err = dump_proto(j, &fd, rbuf, x, (enum eph_proto)p);
	if (fd >= 0)
		close(fd);
	free(rbuf);
	return err;
}

static int run_bpf(struct job *j, struct eph_hindex *x)
{
	int err;

	/* The iterator sees files, not sockets: the pool's sockets (for
	 * sockets_unattributed) come from a dump, counted, not indexed, of
	 * the protocols asked for only; the iterator's counts of the others
	 * are dropped with them. */
	x->count_only = true;
	err = index_namespace(j, x);
	if (err < 0)
		return err;
	j->out->source = EPH_HOLDERS_BPF;
	return eph_holders_bpf_read(j->v.bpf_pin_dir, &x->range[EPH_TCP],
				    x->pool, j->v.protocols, j->out, j->v.error,
				    j->v.error_len);
}

static int run_procfs(struct job *j, struct eph_hindex *x)
{
	int err = index_namespace(j, x);

	if (err < 0)
		return err;
	err = eph_hindex_build(x);
	if (err < 0) {
		snprintf(j->v.error, j->v.error_len,
			 "indexing %zu pool sockets: %s", x->n, strerror(-err));
		return err;
	}
	j->out->source = EPH_HOLDERS_PROCFS;
	err = eph_holders_procfs(j->v.proc_root, x, j->out);
	if (err < 0)
		snprintf(j->v.error, j->v.error_len, "%s: %s", j->v.proc_root,
			 strerror(-err));
	return err;
}

/* Errors meaning "no usable pin here": auto falls back to /proc. */
static bool bpf_unavailable(int err)
{
	return err == -ENOENT || err == -EACCES || err == -EPERM ||
	       err == -EPROTO || err == -EINVAL || err == -EAGAIN;
}

static int collect_job(void *ctx)
{
	struct job *j = ctx;
	struct eph_range range[EPH_PROTO_COUNT];
	struct eph_hindex x;
	int err;

	j->v.error[0] = '\0';
	err = eph_range_read(j->v.proc_root, range, j->v.error, j->v.error_len);
	if (err < 0)
		return err;
	eph_hindex_init(&x, range);
	err = -ENOENT;
	if (j->v.source == EPH_PREFER_BPF ||
	    (j->v.source == EPH_PREFER_AUTO &&
	     eph_holders_bpf_available(j->v.bpf_pin_dir))) {
		err = run_bpf(j, &x);
		if (err < 0 && j->v.source == EPH_PREFER_AUTO &&
		    bpf_unavailable(err)) {
			eph_holders_free(j->out);
			eph_hindex_free(&x);
			eph_hindex_init(&x, range);
			err = -ENOENT;
		}
	}
	if (err == -ENOENT && j->v.source != EPH_PREFER_BPF)
		err = run_procfs(j, &x);
	eph_hindex_free(&x);
	if (err < 0)
		return err;
	eph_holders_finish(j->out, j->top_n);
	eph_holders_names(j->v.proc_root, j->out,
			  j->out->source == EPH_HOLDERS_BPF);
	/* A pin that could not be read, then /proc: no failure to report. */
	j->v.error[0] = '\0';
	return 0;
}

int eph_holders_collect(struct eph_collector *c, unsigned top_n,
			struct eph_holders *out)
{
	struct job j = {.c = c, .top_n = top_n, .out = out};
	int err;

	memset(out, 0, sizeof(*out));
	eph_collector_view(c, &j.v, false);
	err = collect_job(&j);
	if (err < 0)
		eph_holders_free(out);
	return err;
}

int eph_holders_collect_in(struct eph_collector *c, const struct eph_netns *ns,
			   unsigned top_n, struct eph_holders *out)
{
	struct job j = {.c = c, .top_n = top_n, .out = out};
	int err;

	if (ns->kind == EPH_NS_SELF)
		return eph_holders_collect(c, top_n, out);
	memset(out, 0, sizeof(*out));
	/* /proc/net is the process's namespace; the entering thread's is
	 * /proc/thread-self/net.  /proc/PID is the same in every one. */
	eph_collector_view(c, &j.v, true);
	j.v.error[0] = '\0';
	err = eph_netns_run(ns->path, collect_job, &j);
	if (err < 0 && !j.v.error[0])
		snprintf(
		    j.v.error, j.v.error_len, "network namespace %s (%s): %s",
		    ns->name[0] ? ns->name : "(own)", ns->path, strerror(-err));
	if (err < 0)
		eph_holders_free(out);
	return err;
}
