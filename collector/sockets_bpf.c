/*
 * sockets_bpf.c - the BPF socket source, the unprivileged half: open a
 * pinned iterator (made by ephport-bpf), read the few KiB it writes for
 * the reader's own network namespace, check them, and merge them into the
 * model.  No bpf() call and no capability: open() and read() of a pin
 * whose mode allows it.  The layout is collector/bpf/iter.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/iter.h"
#include "model.h"
#include "sockets.h"

_Static_assert(EPH_BPF_STATES >= EPH_ST_COUNT, "states fit");
_Static_assert(EPH_BPF_PORT_BYTES == EPH_BITMAP_BYTES, "bitmaps match");

static int copy_addr(const struct eph_bpf_addr *a, uint8_t *family,
		     uint8_t bytes[16])
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return -1;
	*family = a->family;
	memcpy(bytes, a->bytes, 16);
	if (a->family == AF_INET)
		memset(bytes + 4, 0, 12);
	return 0;
}

int eph_bpf_parse(const void *buf, size_t len, enum eph_proto proto,
		  const struct eph_range *range, struct eph_model *m)
{
	struct eph_bpf_result r; /* 18 KiB, copied: buf may be unaligned */
	struct eph_listener listeners[EPH_BPF_LISTENERS];
	uint64_t state_total[EPH_BPF_STATES], state_in_range[EPH_BPF_STATES];
	struct eph_model_tally t;
	const char *p = buf;

	if (len < sizeof(r))
		return -EBADMSG;
	memcpy(&r, p, sizeof(r));
	if (r.magic != EPH_BPF_MAGIC || r.version != EPH_BPF_VERSION)
		return -EPROTO;
	/* Another reader held this session's slot: read again. */
	if (r.flags & EPH_BPF_PARTIAL)
		return len == sizeof(r) ? -EAGAIN : -EBADMSG;
	if (r.protocol != (proto == EPH_TCP ? 6u : 17u) ||
	    r.n_top > EPH_BPF_TOP || r.n_listeners > EPH_BPF_LISTENERS ||
	    len != sizeof(r) + (size_t)r.n_top * sizeof(struct eph_bpf_dest))
		return -EBADMSG;
	/* The kernel's range and the one read from /proc must agree (an
	 * empty namespace writes no range: nothing was counted). */
	if (r.sockets_total && (r.low != range->low || r.high != range->high))
		return -ESTALE;

	for (uint32_t i = 0; i < r.n_listeners; i++) {
		memset(&listeners[i], 0, sizeof(listeners[i]));
		if (copy_addr(&r.listeners[i].addr, &listeners[i].addr.family,
			      listeners[i].addr.bytes) < 0)
			return -EBADMSG;
		listeners[i].port = r.listeners[i].port;
	}
	memcpy(state_total, r.state_total, sizeof(state_total));
	memcpy(state_in_range, r.state_in_range, sizeof(state_in_range));
	memset(&t, 0, sizeof(t));
	t.sockets_total = r.sockets_total;
	t.sockets_in_range = r.sockets_in_range;
	t.state_total = state_total;
	t.state_in_range = state_in_range;
	t.tw_reusable = r.tw_reusable;
	t.in_use = r.in_use;
	t.bind_owned = r.bind_owned;
	t.owners_exact = true;
	t.listeners_in_range = r.listeners_in_range;
	t.n_listeners = r.n_listeners;
	t.listeners = listeners;
	t.destinations = r.destinations;
	t.dest_untracked = r.dest_untracked;
	t.dest_overflow = (r.flags & EPH_BPF_DEST_OVERFLOW) != 0;
	eph_model_add_tally(m, &t);

	p += sizeof(r);
	for (uint32_t i = 0; i < r.n_top; i++) {
		struct eph_bpf_dest d;
		struct eph_sock key;
		uint8_t rfam;

		memcpy(&d, p + (size_t)i * sizeof(d), sizeof(d));
		memset(&key, 0, sizeof(key));
		if (copy_addr(&d.laddr, &key.family, key.laddr) < 0 ||
		    copy_addr(&d.raddr, &rfam, key.raddr) < 0 ||
		    rfam != key.family || d.time_wait > d.sockets ||
		    d.tw_reusable > d.time_wait || d.blocking > d.sockets)
			return -EBADMSG;
		key.rport = d.rport;
		eph_model_add_dest(m, &key, d.sockets, d.time_wait,
				   d.tw_reusable, d.blocking);
	}
	return 0;
}

int eph_bpf_available(const char *pin_dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/tcp", pin_dir);
	return access(path, R_OK) == 0;
}

int eph_pin_open(const char *path, char *why, size_t why_len)
{
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: a FIFO put there must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "%s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, why_len, "%s: not a pinned BPF iterator", path);
		return -EINVAL;
	}
	return fd;
}

static int read_once(const char *pin_dir, enum eph_proto proto,
		     const struct eph_range *range, struct eph_model *m,
		     char *buf, size_t buf_len, char *why, size_t why_len)
{
	char path[4096];
	size_t got = 0;
	int fd, err, again = 0;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, eph_proto_name(proto));
	fd = eph_pin_open(path, why, why_len);
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = read(fd, buf + got, buf_len - got);

		/* EAGAIN: the kernel stops a read after 1M objects with no
		 * output yet (MAX_ITER_OBJECTS in kernel/bpf/bpf_iter.c);
		 * the walk goes on with the next read.  Bounded: 64M. */
		if (n < 0 &&
		    (errno == EINTR || (errno == EAGAIN && ++again < 64)))
			continue;
		if (n < 0) {
			err = -errno;
			close(fd);
			snprintf(why, why_len, "%s: read: %s", path,
				 strerror(-err));
			return err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == buf_len) {
			close(fd);
			snprintf(why, why_len, "%s: more than %zu bytes", path,
				 buf_len);
			return -EMSGSIZE;
		}
	}
	close(fd);
	err = eph_bpf_parse(buf, got, proto, range, m);
	if (err < 0)
		snprintf(why, why_len, "%s: %s", path,
			 err == -EAGAIN	  ? "busy: other readers held its slot"
			 : err == -EPROTO ? "written by another ephport-bpf "
					    "version (run ephport-bpf load)"
			 : err == -ESTALE ? "the range changed during the read"
					  : "malformed iterator output");
	return err;
}

int eph_bpf_read(const char *pin_dir, enum eph_proto proto,
		 const struct eph_range *range, struct eph_model *m, char *buf,
		 size_t buf_len, char *why, size_t why_len)
{
	int err = -EAGAIN;

	/* A partial walk merged nothing into m: reading again is safe. */
	for (int i = 0; i < 4 && err == -EAGAIN; i++)
		err = read_once(pin_dir, proto, range, m, buf, buf_len, why,
				why_len);
	return err;
}
