/*
 * holders_bpf.c - who holds the ports, from the pinned task_file iterator
 * (collector/bpf/holders.bpf.c, pinned by ephport-bpf as DIR/holders):
 * open() and read() only, no capability.  The kernel walked every fd
 * table and wrote one fixed record per process holding a pool socket of
 * the reader's namespace that the reader may see (bpf/holders.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/holders.h"
#include "holders.h"
#include "sockets.h"

_Static_assert(sizeof(struct eph_bpf_holders_tail) == 48, "tail layout");
_Static_assert(sizeof(struct eph_bpf_holder) == 72, "record layout");

static int cmp_pid(const void *pa, const void *pb)
{
	const struct eph_holder *a = pa, *b = pb;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/*
 * task_file walks tasks by tid and skips only the threads that share the
 * leader's fd table: a thread with a table of its own (unshare(CLONE_FILES))
 * comes as a second record of its tgid, after other processes.  Merged:
 * sockets add up; ports too, capped by sockets (their overlap is not
 * known: an upper bound, for that rare process only); the larger worst.
 */
static void merge_tgids(struct eph_holders *out, uint32_t from)
{
	struct eph_holder *v = out->v + from;
	uint32_t n = out->n - from, k = 0;

	if (n == 0)
		return; /* out->v may be NULL: no qsort() of it */
	qsort(v, n, sizeof(*v), cmp_pid);
	for (uint32_t i = 0; i < n; i++) {
		struct eph_holder *h = k ? &v[k - 1] : NULL;

		if (h && h->pid == v[i].pid) {
			for (int p = 0; p < EPH_PROTO_COUNT; p++) {
				h->sockets[p] += v[i].sockets[p];
				h->ports[p] += v[i].ports[p];
				if (h->ports[p] > h->sockets[p])
					h->ports[p] = h->sockets[p];
			}
			if (v[i].worst_sockets > h->worst_sockets) {
				h->has_worst = true;
				h->worst_raddr = v[i].worst_raddr;
				h->worst_rport = v[i].worst_rport;
				h->worst_sockets = v[i].worst_sockets;
			}
			continue;
		}
		v[k++] = v[i];
	}
	out->n = from + k;
}

/* What pool_sockets[p] has and attributed[p] has not, for the protocols
 * asked for.  A socket created or closed between the two walks can make a
 * difference negative: none of that protocol is then unattributed. */
static uint64_t unattributed(const struct eph_bpf_holders_tail *t,
			     const uint64_t pool_sockets[EPH_PROTO_COUNT],
			     uint8_t protocols)
{
	uint64_t n = 0;

	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if ((protocols & (1u << p)) &&
		    pool_sockets[p] > t->attributed[p])
			n += pool_sockets[p] - t->attributed[p];
	return n;
}

int eph_holders_bpf_parse(const void *buf, size_t len,
			  const struct eph_range *range,
			  const uint64_t pool_sockets[EPH_PROTO_COUNT],
			  uint8_t protocols, struct eph_holders *out)
{
	struct eph_bpf_holders_tail t;
	uint64_t held[EPH_PROTO_COUNT] = {0, 0};
	const char *p = buf;
	size_t cap = out->n;
	uint32_t from = out->n;

	if (len < sizeof(t))
		return -EBADMSG;
	memcpy(&t, p + len - sizeof(t), sizeof(t));
	if (t.magic != EPH_BPF_HOLDERS_MAGIC ||
	    t.version != EPH_BPF_HOLDERS_VERSION)
		return -EPROTO;
	if (t.flags & EPH_BPF_HOLDERS_PARTIAL)
		return len == sizeof(t) ? -EAGAIN : -EBADMSG;
	if ((len - sizeof(t)) % sizeof(struct eph_bpf_holder) != 0 ||
	    (len - sizeof(t)) / sizeof(struct eph_bpf_holder) != t.records)
		return -EBADMSG;
	if (t.sockets_attributed != t.attributed[0] + t.attributed[1])
		return -EBADMSG;
	if (t.low != range->low || t.high != range->high)
		return -ESTALE;
	for (uint32_t i = 0; i < t.records; i++) {
		struct eph_bpf_holder r;
		struct eph_holder h;
		bool any = false;

		memcpy(&r, p + (size_t)i * sizeof(r), sizeof(r));
		if (r.tgid == 0 || r.ports[0] > r.sockets[0] ||
		    r.ports[1] > r.sockets[1] || r.worst_sockets > r.sockets[0])
			return -EBADMSG;
		memset(&h, 0, sizeof(h));
		h.pid = r.tgid;
		memcpy(h.comm, r.comm, sizeof(h.comm) - 1);
		/* The iterator counts both protocols: the others than those
		 * asked for are left out, as the /proc source never sees
		 * them (its dumps are of those asked for). */
		for (int k = 0; k < EPH_PROTO_COUNT; k++) {
			held[k] += r.sockets[k];
			if (!(protocols & (1u << k)))
				continue;
			h.ports[k] = r.ports[k];
			h.sockets[k] = r.sockets[k];
			any |= r.sockets[k] != 0;
		}
		if (r.worst_sockets && r.worst_raddr.family != AF_INET &&
		    r.worst_raddr.family != AF_INET6)
			return -EBADMSG;
		/* A destination is a TCP one. */
		if (r.worst_sockets && (protocols & (1u << EPH_TCP))) {
			h.has_worst = true;
			h.worst_raddr.family = r.worst_raddr.family;
			memcpy(h.worst_raddr.bytes, r.worst_raddr.bytes, 16);
			h.worst_rport = r.worst_rport;
			h.worst_sockets = r.worst_sockets;
		}
		if (any && eph_holders_push(out, &cap, &h) < 0)
			return -ENOMEM;
	}
	/* Every socket counted distinct is in some record's count. */
	if (t.attributed[0] > held[0] || t.attributed[1] > held[1]) {
		out->n = from;
		return -EBADMSG;
	}
	merge_tgids(out, from);
	out->source = EPH_HOLDERS_BPF;
	out->processes = out->n - from;
	out->processes_denied = t.hidden;
	out->sockets_unattributed = unattributed(&t, pool_sockets, protocols);
	return 0;
}

bool eph_holders_bpf_available(const char *pin_dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/holders", pin_dir);
	return access(path, R_OK) == 0;
}

static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 64 * 1024, got = 0;
	char *b = malloc(cap);
	int again = 0;

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (got == cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		n = read(fd, b + got, cap - got);
		/* EAGAIN: the kernel stops a read after 1M objects with no
		 * output (kernel/bpf/bpf_iter.c); the walk goes on. */
		if (n < 0 &&
		    (errno == EINTR || (errno == EAGAIN && ++again < 64)))
			continue;
		if (n < 0) {
			int err = -errno;

			free(b);
			return err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	return 0;
}

static int read_once(const char *path, const struct eph_range *range,
		     const uint64_t pool_sockets[EPH_PROTO_COUNT],
		     uint8_t protocols, struct eph_holders *out, char *why,
		     size_t why_len)
{
	size_t len = 0;
	char *buf = NULL;
	int fd, err;

	fd = eph_pin_open(path, why, why_len);
	if (fd < 0)
		return fd;
	err = read_all(fd, &buf, &len);
	close(fd);
	if (err < 0) {
		snprintf(why, why_len, "%s: read: %s", path, strerror(-err));
		return err;
	}
	err = eph_holders_bpf_parse(buf, len, range, pool_sockets, protocols,
				    out);
	free(buf);
	if (err < 0)
		snprintf(why, why_len, "%s: %s", path,
			 err == -EAGAIN	  ? "busy: other readers held its slots"
			 : err == -EPROTO ? "written by another ephport-bpf "
					    "version (run ephport-bpf load)"
			 : err == -ESTALE ? "the range changed during the read"
			 : err == -ENOMEM ? strerror(ENOMEM)
					  : "malformed iterator output");
	return err;
}

int eph_holders_bpf_read(const char *pin_dir, const struct eph_range *range,
			 const uint64_t pool_sockets[EPH_PROTO_COUNT],
			 uint8_t protocols, struct eph_holders *out, char *why,
			 size_t why_len)
{
	char path[4096];
	int err = -EAGAIN;

	snprintf(path, sizeof(path), "%s/holders", pin_dir);
	/* A refused walk appended nothing: reading again is safe. */
	for (int i = 0; i < 4 && err == -EAGAIN; i++)
		err = read_once(path, range, pool_sockets, protocols, out, why,
				why_len);
	return err;
}
