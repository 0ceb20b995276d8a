/*
 * sockets_procfs.c - the /proc/net/{tcp,udp}{,6} fallback, used when
 * NETLINK_SOCK_DIAG is unavailable.  Slow on big tables (the kernel
 * formats every socket as text, and /proc/net/udp is quadratic), but it
 * needs nothing from the kernel beyond procfs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockets.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff};

void eph_sock_unmap(struct eph_sock *s)
{
	if (s->family != AF_INET6)
		return;
	if (memcmp(s->laddr, v4mapped_prefix, 12) != 0)
		return;
	/* A v4-mapped peer is always v4-mapped too (or unspecified). */
	if (memcmp(s->raddr, v4mapped_prefix, 12) != 0 &&
	    memcmp(s->raddr, (const uint8_t[16]){0}, 16) != 0)
		return;
	s->family = AF_INET;
	memmove(s->laddr, s->laddr + 12, 4);
	memset(s->laddr + 4, 0, 12);
	memmove(s->raddr, s->raddr + 12, 4);
	memset(s->raddr + 4, 0, 12);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly n hex digits at *pp into *out. */
static int hex_fixed(const char **pp, const char *end, int n, uint32_t *out)
{
	const char *p = *pp;
	uint32_t v = 0;

	if (end - p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		int d = hexval(p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*pp = p + n;
	*out = v;
	return 0;
}

/* "ADDR:PORT": the address is 32-bit words printed in host order. */
static int parse_endpoint(const char **pp, const char *end, int words,
			  uint8_t addr[16], uint16_t *port)
{
	uint32_t w, prt;

	memset(addr, 0, 16);
	for (int i = 0; i < words; i++) {
		if (hex_fixed(pp, end, 8, &w) < 0)
			return -1;
		memcpy(addr + 4 * i, &w, 4);
	}
	if (*pp >= end || **pp != ':')
		return -1;
	(*pp)++;
	if (hex_fixed(pp, end, 4, &prt) < 0)
		return -1;
	*port = (uint16_t)prt;
	return 0;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * What is left of a TIME_WAIT, from " tx_queue:rx_queue tr:tm->when ..."
 * (get_timewait4_sock(): tr 3, when in USER_HZ ticks, 100 per second).
 * 0 when the fields are absent or not as expected: age unknown.
 */
static uint32_t time_wait_left(const char *p, const char *end)
{
	uint32_t q, tr, when;

	if (hex_fixed(&p, end, 8, &q) < 0 || p == end || *p++ != ':' ||
	    hex_fixed(&p, end, 8, &q) < 0 || p == end || *p != ' ')
		return 0;
	p = skip_blanks(p, end);
	if (hex_fixed(&p, end, 2, &tr) < 0 || tr != 3 || p == end ||
	    *p++ != ':' || hex_fixed(&p, end, 8, &when) < 0)
		return 0;
	return when > EPH_TIME_WAIT_MS / 10 ? EPH_TIME_WAIT_MS : when * 10;
}

/*
 * The inode column, from " tx_queue:rx_queue tr:tm->when retrnsmt uid
 * timeout inode ..." (the same six columns in tcp and udp): what
 * /proc/PID/fd links name.  0 when absent or not a number.
 */
static uint64_t inode_column(const char *p, const char *end)
{
	uint64_t v = 0;

	for (int i = 0; i < 5; i++) {
		p = skip_blanks(p, end);
		while (p < end && *p != ' ' && *p != '\t')
			p++;
	}
	p = skip_blanks(p, end);
	if (p == end || *p < '0' || *p > '9')
		return 0;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return p == end || *p == ' ' || *p == '\t' ? v : 0;
}

static int parse_line(const char *p, const char *end, int family,
		      struct eph_sock *s)
{
	int words = family == AF_INET6 ? 4 : 1;
	uint32_t st;

	/* "  sl:" slot number */
	p = skip_blanks(p, end);
	if (p == end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == end || *p++ != ':')
		return -1;
	memset(s, 0, sizeof(*s));
	s->family = (uint8_t)family;
	p = skip_blanks(p, end);
	if (parse_endpoint(&p, end, words, s->laddr, &s->lport) < 0)
		return -1;
	if (p == end || *p != ' ')
		return -1;
	p = skip_blanks(p, end);
	if (parse_endpoint(&p, end, words, s->raddr, &s->rport) < 0)
		return -1;
	if (p == end || *p != ' ')
		return -1;
	p = skip_blanks(p, end);
	if (hex_fixed(&p, end, 2, &st) < 0)
		return -1;
	if (p != end && *p != ' ')
		return -1;
	s->state = st == EPH_ST_NEW_SYN_RECV ? EPH_ST_SYN_RECV : (uint8_t)st;
	if (s->state >= EPH_ST_COUNT)
		s->state = EPH_ST_UNKNOWN;
	if (s->state == EPH_ST_TIME_WAIT)
		s->expires_ms = time_wait_left(skip_blanks(p, end), end);
	s->inode = inode_column(p, end);
	eph_sock_unmap(s);
	return 0;
}

long eph_proc_parse(const char *buf, size_t len, int family, int skip_header,
		    size_t *consumed, eph_sock_cb cb, void *ctx, long *bad_line)
{
	const char *p = buf, *end = buf + len;
	long count = 0, line = 0;

	if (consumed)
		*consumed = 0;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct eph_sock s;

		if (!nl)
			break;
		line++;
		if (!(skip_header && line == 1)) {
			if (parse_line(p, nl, family, &s) < 0) {
				if (bad_line)
					*bad_line = line;
				return -EBADMSG;
			}
			cb(ctx, &s);
			count++;
		}
		p = nl + 1;
		if (consumed)
			*consumed = (size_t)(p - buf);
	}
	return count;
}

/* Read one /proc/net file in chunks; memory does not grow with its size. */
static int read_one(const char *path, int family, eph_sock_cb cb, void *ctx,
		    char *why, size_t why_len)
{
	char buf[65536];
	size_t have = 0;
	long lines_done = 0; /* whole lines parsed in earlier chunks */
	int first = 1, fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		snprintf(why, why_len, "%s: %s", path, strerror(-err));
		return err;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		size_t used;
		long bad = 0, r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			snprintf(why, why_len, "%s: %s", path, strerror(-err));
			close(fd);
			return err;
		}
		if (n == 0 && have > 0) {
			/* A last line without its newline. */
			buf[have++] = '\n';
		}
		have += (size_t)(n > 0 ? n : 0);
		r = eph_proc_parse(buf, have, family, first, &used, cb, ctx,
				   &bad);
		if (r < 0) {
			snprintf(why, why_len, "%s:%ld: malformed line", path,
				 lines_done + bad);
			close(fd);
			return -EBADMSG;
		}
		lines_done += r + (first && used > 0);
		if (used > 0)
			first = 0;
		memmove(buf, buf + used, have - used);
		have -= used;
		if (n == 0)
			break;
		if (have == sizeof(buf)) {
			snprintf(why, why_len, "%s: line too long", path);
			close(fd);
			return -EBADMSG;
		}
	}
	close(fd);
	return 0;
}

int eph_proc_read(const char *proc_root, enum eph_proto proto, int family,
		  eph_sock_cb cb, void *ctx, char *why, size_t why_len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/net/%s%s", proc_root,
		 proto == EPH_TCP ? "tcp" : "udp",
		 family == AF_INET6 ? "6" : "");
	return read_one(path, family, cb, ctx, why, why_len);
}
