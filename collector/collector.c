/*
 * collector.c - one collection: the range, then every socket of each
 * protocol through the model, from netlink or, when sock_diag is not
 * available, from /proc.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counters.h"
#include "fail.h"
#include "holders.h"
#include "netns.h"
#include "sockets.h"
#include "model.h"

#define ALL_STATES ((1u << EPH_ST_COUNT) - 2) /* every state but 0 */

struct eph_collector {
	struct eph_config cfg;
	char proc_root[1024];
	/* Where net/{tcp,udp,sockstat}... are read: proc_root, or
	 * /proc/thread-self inside another namespace (/proc/net is the
	 * process's, not the thread's). */
	const char *net_root;
	/* eph_collect_in() names the namespace itself: no /run/netns scan. */
	bool ns_named;
	char bpf_pin_dir[1024];
	struct eph_model *model[EPH_PROTO_COUNT];
	struct eph_range range[EPH_PROTO_COUNT];
	struct eph_knobs knobs;
	int fd; /* NETLINK_SOCK_DIAG, opened on first use */
	uint32_t seq;
	bool legacy_broken; /* TCPDIAG_GETSOCK refused once: use v2 */
	/* Filled during a collection and copied out only when it succeeds,
	 * so a failure leaves the caller's snapshot untouched. */
	struct eph_snapshot scratch;
	char error[512];
	char note[600];
	char rbuf[EPH_DIAG_RECV_BUF] __attribute__((aligned(8)));
	/* What one read of a pinned iterator writes at most: the result
	 * and its top destinations (collector/bpf/iter.h), with room. */
	char bpf_buf[64 * 1024];
};

void eph_config_init(struct eph_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->protocols = (1u << EPH_TCP) | (1u << EPH_UDP);
	cfg->top_n = 5;
	cfg->dest_cap = EPH_DEST_CAP_DEFAULT;
	cfg->source = EPH_PREFER_AUTO;
	cfg->state_totals = true;
	cfg->bpf_bound_dump = true;
}

struct eph_collector *eph_collector_new(const struct eph_config *cfg)
{
	struct eph_collector *c;
	const char *root = cfg->proc_root ? cfg->proc_root : "/proc";

	const char *pins =
	    cfg->bpf_pin_dir ? cfg->bpf_pin_dir : getenv("EPHPORT_BPF_PIN");

	if (!pins || !*pins)
		pins = EPH_BPF_PIN_DIR;
	if (cfg->top_n > EPH_TOP_MAX || strlen(root) >= sizeof(c->proc_root) ||
	    strlen(pins) >= sizeof(c->bpf_pin_dir) ||
	    cfg->protocols >= (1u << EPH_PROTO_COUNT) ||
	    cfg->source > EPH_PREFER_BPF) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	if (!c->cfg.protocols)
		c->cfg.protocols = (1u << EPH_TCP) | (1u << EPH_UDP);
	if (!c->cfg.dest_cap)
		c->cfg.dest_cap = EPH_DEST_CAP_DEFAULT;
	strcpy(c->proc_root, root);
	c->cfg.proc_root = c->proc_root;
	c->net_root = c->proc_root;
	strcpy(c->bpf_pin_dir, pins);
	c->cfg.bpf_pin_dir = c->bpf_pin_dir;
	c->fd = -1;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		c->model[p] = eph_model_new(c->cfg.dest_cap);
		if (!c->model[p]) {
			int err = errno;

			eph_collector_free(c);
			errno = err;
			return NULL;
		}
	}
	return c;
}

void eph_collector_free(struct eph_collector *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		eph_model_free(c->model[p]);
	free(c);
}

void eph_collector_view(struct eph_collector *c, struct eph_collector_view *v,
			bool in_thread)
{
	v->proc_root = c->proc_root;
	v->net_root = in_thread && strcmp(c->proc_root, "/proc") == 0
			  ? "/proc/thread-self"
			  : c->proc_root;
	v->bpf_pin_dir = c->bpf_pin_dir;
	v->source = c->cfg.source;
	v->protocols = c->cfg.protocols;
	v->error = c->error;
	v->error_len = sizeof(c->error);
}

const char *eph_collector_error(const struct eph_collector *c)
{
	return c->error;
}

const char *eph_collector_note(const struct eph_collector *c)
{
	return c->note;
}

/* Errors meaning "this kernel cannot answer that request". */
static bool diag_unavailable(int err)
{
	switch (-err) {
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case ENOENT:
	case EOPNOTSUPP:
	case EINVAL:
	case EPERM:
	case EACCES:
		return true;
	default:
		return false;
	}
}

static int dump(struct eph_collector *c, int legacy, int family, int protocol,
		bool filtered, struct eph_model *t)
{
	const struct eph_range *r =
	    &c->range[protocol == IPPROTO_TCP ? EPH_TCP : EPH_UDP];
	char req[256];
	int len;

	c->seq++;
	/* low > high means no filter. */
	len = eph_diag_build_request(req, sizeof(req), legacy, family, protocol,
				     ALL_STATES, filtered ? r->low : 1,
				     filtered ? r->high : 0, c->seq);
	if (len < 0)
		return len;
	return eph_diag_dump(c->fd, req, (size_t)len, c->seq, c->rbuf,
			     sizeof(c->rbuf), eph_model_add, t);
}

static int netlink_proto(struct eph_collector *c, enum eph_proto p)
{
	int proto = p == EPH_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	bool filtered = !c->cfg.state_totals;
	struct eph_model *t = c->model[p];
	int err;

	if (c->fd < 0) {
		c->fd = eph_diag_open();
		if (c->fd < 0) {
			err = c->fd;
			c->fd = -1;
			snprintf(c->error, sizeof(c->error),
				 "netlink socket (NETLINK_SOCK_DIAG): %s",
				 strerror(-err));
			return err;
		}
	}
	if (p == EPH_TCP && !c->legacy_broken) {
		err = dump(c, 1, AF_INET, proto, filtered, t);
		if (err == 0 || !diag_unavailable(err))
			goto out;
		/* Fall back to one v2 request per family. */
		c->legacy_broken = true;
		eph_model_begin(t, p, &c->range[p], &c->knobs);
	}
	err = dump(c, 0, AF_INET, proto, filtered, t);
	if (err == 0) {
		err = dump(c, 0, AF_INET6, proto, filtered, t);
		/* No IPv6 in this kernel: IPv4 is the whole table. */
		if (err == -EAFNOSUPPORT || err == -ENOENT)
			err = 0;
	}
out:
	if (err < 0) {
		snprintf(c->error, sizeof(c->error),
			 "netlink sock_diag dump of %s sockets: %s",
			 eph_proto_name(p), strerror(-err));
		/* The socket may hold half a dump: start afresh next time. */
		close(c->fd);
		c->fd = -1;
	}
	return err;
}

static int procfs_proto(struct eph_collector *c, enum eph_proto p)
{
	int err = eph_proc_read(c->net_root, p, AF_INET, eph_model_add,
				c->model[p], c->error, sizeof(c->error));

	if (err < 0)
		return err;
	err = eph_proc_read(c->net_root, p, AF_INET6, eph_model_add,
			    c->model[p], c->error, sizeof(c->error));
	/* No /proc/net/tcp6 when IPv6 is disabled. */
	return err == -ENOENT ? 0 : err;
}

/*
 * The BPF source: the iterator's tally, plus (TCP) the bound-only sockets
 * it cannot see (TCP_BOUND_INACTIVE lives in the bind hash only), from a
 * sock_diag dump of that one state (Linux 6.8+; older kernels do not dump
 * them to anyone).  That dump walks the bind hash and then the whole
 * established hash: about one more kernel walk, which bpf_bound_dump =
 * false saves at the price of not seeing those (rare) sockets.
 */
static int bpf_proto(struct eph_collector *c, enum eph_proto p)
{
	struct eph_range *r = &c->range[p];
	char req[256];
	int err, len;

	err = eph_bpf_read(c->bpf_pin_dir, p, r, c->model[p], c->bpf_buf,
			   sizeof(c->bpf_buf), c->error, sizeof(c->error));
	if (err < 0 || p != EPH_TCP || !c->cfg.bpf_bound_dump)
		return err;
	if (c->fd < 0 && (c->fd = eph_diag_open()) < 0) {
		c->fd = -1;
		return 0;
	}
	/* One legacy request: both families in one walk. */
	c->seq++;
	len =
	    eph_diag_build_request(req, sizeof(req), 1, AF_INET, IPPROTO_TCP,
				   1u << EPH_ST_BOUND, r->low, r->high, c->seq);
	if (len > 0)
		eph_diag_dump(c->fd, req, (size_t)len, c->seq, c->rbuf,
			      sizeof(c->rbuf), eph_model_add, c->model[p]);
	return 0;
}

/* The BPF errors that mean "not loaded here": auto moves on. */
static bool bpf_unavailable(int err)
{
	return err == -ENOENT || err == -EACCES || err == -EPERM ||
	       err == -EPROTO || err == -EINVAL || err == -EAGAIN;
}

static int collect_proto(struct eph_collector *c, enum eph_proto p,
			 enum eph_source *used)
{
	int err;

	eph_model_begin(c->model[p], p, &c->range[p], &c->knobs);
	if (c->cfg.source == EPH_PREFER_BPF ||
	    (c->cfg.source == EPH_PREFER_AUTO &&
	     eph_bpf_available(c->bpf_pin_dir))) {
		err = bpf_proto(c, p);
		if (err == 0) {
			*used = EPH_SOURCE_BPF;
			return 0;
		}
		if (c->cfg.source == EPH_PREFER_BPF || !bpf_unavailable(err))
			return err;
		snprintf(c->note, sizeof(c->note), "%s; read netlink instead",
			 c->error);
		eph_model_begin(c->model[p], p, &c->range[p], &c->knobs);
	}
	if (c->cfg.source != EPH_PREFER_PROCFS) {
		err = netlink_proto(c, p);
		if (err == 0) {
			*used = EPH_SOURCE_NETLINK;
			return 0;
		}
		if (c->cfg.source == EPH_PREFER_NETLINK ||
		    !diag_unavailable(err))
			return err;
		snprintf(c->note, sizeof(c->note), "%s; read /proc/net instead",
			 c->error);
		eph_model_begin(c->model[p], p, &c->range[p], &c->knobs);
	}
	*used = EPH_SOURCE_PROCFS;
	return procfs_proto(c, p);
}

/* TIME_WAIT on every port, from /proc/net/sockstat ("TCP: ... tw N"). */
static int sockstat_time_wait(const char *proc_root, uint64_t *tw)
{
	char path[1100], buf[2048];
	const char *p;
	long n;

	snprintf(path, sizeof(path), "%s/net/sockstat", proc_root);
	n = eph_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nTCP: ");
	if (!p)
		p = strncmp(buf, "TCP: ", 5) == 0 ? buf : NULL;
	if (!p || !(p = strstr(p, " tw ")))
		return -EBADMSG;
	*tw = strtoull(p + 4, NULL, 10);
	return 0;
}

/* The collecting thread's namespace, and its ip netns name if it has one. */
static void netns_identity(struct eph_snapshot *s)
{
	struct stat self, st;
	struct dirent *de;
	DIR *d;

	if (stat("/proc/thread-self/ns/net", &self) < 0)
		return;
	s->netns_inode = self.st_ino;
	d = opendir("/run/netns");
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (stat(path, &st) == 0 && st.st_ino == self.st_ino &&
		    st.st_dev == self.st_dev) {
			snprintf(s->netns_name, sizeof(s->netns_name), "%.*s",
				 (int)sizeof(s->netns_name) - 1, de->d_name);
			break;
		}
	}
	closedir(d);
}

int eph_collect(struct eph_collector *c, struct eph_snapshot *snap)
{
	struct eph_snapshot *s = &c->scratch;
	int64_t start = eph_mono_us();
	int err;

	memset(s, 0, sizeof(*s));
	c->error[0] = c->note[0] = '\0';
	err =
	    eph_range_read(c->proc_root, c->range, c->error, sizeof(c->error));
	if (err < 0)
		return err;
	err =
	    eph_knobs_read(c->proc_root, &c->knobs, c->error, sizeof(c->error));
	if (err < 0)
		return err;
	s->knobs = c->knobs;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		struct eph_proto_stats *ps = &s->proto[p];
		enum eph_source used = EPH_SOURCE_NONE;

		if (!(c->cfg.protocols & (1u << p)))
			continue;
		err = collect_proto(c, (enum eph_proto)p, &used);
		if (err < 0)
			return err;
		eph_model_end(c->model[p], c->cfg.top_n, ps);
		ps->source = used;
		if (used == EPH_SOURCE_NETLINK && !c->cfg.state_totals) {
			ps->totals_exact = false;
			if (p == EPH_TCP)
				sockstat_time_wait(c->net_root,
						   &ps->time_wait_total);
		}
		if (s->source != EPH_SOURCE_PROCFS)
			s->source = used;
		s->protocols |= (uint8_t)(1u << p);
	}
	/* The open rate's counters (rate.c); none is no error. */
	if (eph_counters_read(c->net_root, &s->counters) < 0)
		memset(&s->counters, 0, sizeof(s->counters));
	/* Failures are measured only where ephport-bpf loaded the counters;
	 * otherwise failures.why says so (never a zero not measured). */
	eph_failures_read(c->bpf_pin_dir, c->proc_root, &s->failures);
	if (!c->ns_named)
		netns_identity(s);
	s->duration_us = (uint32_t)(eph_mono_us() - start);
	s->taken_us = eph_real_us();
	*snap = *s;
	return 0;
}

struct in_ns_job {
	struct eph_collector *c;
	struct eph_snapshot *snap;
};

static int collect_job(void *ctx)
{
	struct in_ns_job *job = ctx;
	struct eph_collector *c = job->c;
	int saved_fd = c->fd, err;

	/* A netlink socket is bound to the namespace it was made in: this
	 * collection makes and drops its own. */
	c->fd = -1;
	if (strcmp(c->proc_root, "/proc") == 0)
		c->net_root = "/proc/thread-self";
	err = eph_collect(c, job->snap);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = saved_fd;
	c->net_root = c->proc_root;
	return err;
}

int eph_collect_in(struct eph_collector *c, const struct eph_netns *ns,
		   struct eph_snapshot *snap)
{
	struct in_ns_job job = {.c = c, .snap = snap};
	int err;

	/* A failure to enter must not leave an earlier namespace's reason. */
	c->error[0] = c->note[0] = '\0';
	c->ns_named = true;
	/* eph_collect() writes *snap only when it succeeds. */
	if (ns->kind == EPH_NS_SELF) {
		err = eph_collect(c, snap);
	} else {
		err = eph_netns_run(ns->path, collect_job, &job);
		if (err < 0 && !c->error[0])
			snprintf(c->error, sizeof(c->error),
				 "network namespace %s (%s): %s",
				 ns->name[0] ? ns->name : "(own)", ns->path,
				 strerror(-err));
	}
	c->ns_named = false;
	if (err == 0) {
		snap->netns_inode = ns->inode;
		snprintf(snap->netns_name, sizeof(snap->netns_name), "%s",
			 ns->name);
	}
	return err;
}
