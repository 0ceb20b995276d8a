/*
 * freebsd.c - FreeBSD: `sysctl net.inet.ip.portrange` and the socket
 * tables of `netstat -an` or `sockstat -46`.
 *
 * FreeBSD keeps three ranges, shared by TCP and UDP:
 *   first..last       what bind(0) and connect() get (IP_PORTRANGE_DEFAULT),
 *   hifirst..hilast   what a socket gets after IP_PORTRANGE_HIGH,
 *   lowfirst..lowlast privileged ports for IP_PORTRANGE_LOW / rresvport(),
 *                     searched downwards (lowfirst > lowlast).
 * The same sysctls exist on macOS (macos.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "os/os.h"

#define ALL ((1u << EPH_TCP) | (1u << EPH_UDP))

/* Shared with macos.c through eph_os_freebsd.parse_range. */
static int portrange_parse(const char *buf, size_t len,
			   struct eph_os_range *out, char *why, size_t why_len)
{
	enum { FIRST, LAST, HIFIRST, HILAST, LOWFIRST, LOWLAST, N };
	struct eph_kv kv[N] = {
	    [FIRST] = {.key = "net.inet.ip.portrange.first"},
	    [LAST] = {.key = "net.inet.ip.portrange.last"},
	    [HIFIRST] = {.key = "net.inet.ip.portrange.hifirst",
			 .optional = true},
	    [HILAST] = {.key = "net.inet.ip.portrange.hilast",
			.optional = true},
	    [LOWFIRST] = {.key = "net.inet.ip.portrange.lowfirst",
			  .optional = true},
	    [LOWLAST] = {.key = "net.inet.ip.portrange.lowlast",
			 .optional = true},
	};
	int err;

	memset(out, 0, sizeof(*out));
	err = eph_kv_parse(buf, len, kv, N, 1, why, why_len);
	if (err < 0)
		return err;
	err =
	    eph_os_set_range(out, ALL, kv[FIRST].value, kv[LAST].value,
			     "net.inet.ip.portrange.first/last", why, why_len);
	if (err < 0)
		return err;
	if (kv[HIFIRST].found != kv[HILAST].found) {
		snprintf(why, why_len, "%s missing",
			 kv[HIFIRST].found ? kv[HILAST].key : kv[HIFIRST].key);
		return -EINVAL;
	}
	if (kv[HIFIRST].found) {
		if (kv[HIFIRST].value > kv[HILAST].value) {
			snprintf(why, why_len,
				 "net.inet.ip.portrange.hifirst/hilast: low "
				 "%u is above high %u",
				 kv[HIFIRST].value, kv[HILAST].value);
			return -EINVAL;
		}
		out->has_alt = true;
		out->alt_low = (uint16_t)kv[HIFIRST].value;
		out->alt_high = (uint16_t)kv[HILAST].value;
	}
	if (kv[LOWFIRST].found != kv[LOWLAST].found) {
		snprintf(why, why_len, "%s missing",
			 kv[LOWFIRST].found ? kv[LOWLAST].key
					    : kv[LOWFIRST].key);
		return -EINVAL;
	}
	if (kv[LOWFIRST].found) {
		unsigned a = kv[LOWLAST].value, b = kv[LOWFIRST].value;

		out->has_reserved_range = true;
		out->resv_low = (uint16_t)(a < b ? a : b);
		out->resv_high = (uint16_t)(a < b ? b : a);
	}
	return 0;
}

/*
 * sockstat lists a socket once per process and descriptor holding it (a
 * listener shared by forked workers, a descriptor passed on): a set of
 * the endpoints seen keeps one.  Two sockets with the same endpoints are
 * one socket when connected; for listeners only SO_REUSEPORT makes two,
 * and their port is one port either way.
 */
struct seen {
	uint64_t *slot; /* 0: free */
	size_t mask;
};

static uint64_t sock_hash(const struct eph_sock *s)
{
	uint8_t key[1 + 16 + 16 + 2 + 2 + 1];
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	key[0] = s->family;
	memcpy(key + 1, s->laddr, 16);
	memcpy(key + 17, s->raddr, 16);
	key[33] = (uint8_t)(s->lport >> 8);
	key[34] = (uint8_t)s->lport;
	key[35] = (uint8_t)(s->rport >> 8);
	key[36] = (uint8_t)s->rport;
	key[37] = s->state;
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return h ? h : 1;
}

/* True the first time s's endpoints are seen. */
static bool first_time(struct seen *t, const struct eph_sock *s)
{
	uint64_t h = sock_hash(s);

	for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		if (t->slot[i] == h)
			return false;
		if (t->slot[i] == 0) {
			t->slot[i] = h;
			return true;
		}
	}
}

long eph_sockstat_parse(const char *buf, size_t len, enum eph_proto proto,
			eph_sock_cb cb, void *ctx, char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen, lines = 1;
	long lineno = 0, n = 0;
	struct seen seen;

	/* At most one socket per line: the table stays under half full. */
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	for (seen.mask = 15; seen.mask < 2 * lines;
	     seen.mask = 2 * seen.mask + 1)
		;
	seen.slot = calloc(seen.mask + 1, sizeof(*seen.slot));
	if (!seen.slot) {
		snprintf(why, why_len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}

	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[9];
		size_t fl[9], nf;
		struct eph_sock s;
		int family, pr;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 9);
		if (nf == 0 || (fl[0] == 4 && memcmp(f[0], "USER", 4) == 0))
			continue;
		if (nf < 7 || fl[4] < 4)
			goto bad;
		if (memcmp(f[4], "tcp", 3) == 0)
			pr = EPH_TCP;
		else if (memcmp(f[4], "udp", 3) == 0)
			pr = EPH_UDP;
		else
			continue; /* sctp, UNIX sockets */
		family = f[4][3] == '4' && fl[4] == 4 ? AF_INET : AF_INET6;
		if (pr != (int)proto)
			continue;
		memset(&s, 0, sizeof(s));
		if (eph_os_colon_endpoint(f[5], fl[5], family, &s.family,
					  s.laddr, &s.lport) < 0 ||
		    eph_os_colon_endpoint(f[6], fl[6], s.family, &s.family,
					  s.raddr, &s.rport) < 0)
			goto bad;
		if (pr == EPH_UDP) {
			s.state = s.rport ? EPH_ST_ESTABLISHED : EPH_ST_CLOSE;
		} else if (nf >= 8 && fl[7] > 0 && f[7][0] != '?') {
			/* -s: the connection state. */
			s.state = (uint8_t)eph_os_state_parse(f[7], fl[7]);
			if (s.state == EPH_ST_UNKNOWN) {
				snprintf(why, why_len,
					 "line %ld: unknown TCP state \"%.*s\"",
					 lineno, (int)(fl[7] > 20 ? 20 : fl[7]),
					 f[7]);
				n = -EBADMSG;
				break;
			}
		} else {
			/* No state column: a peer means connected. */
			s.state = s.rport ? EPH_ST_ESTABLISHED : EPH_ST_LISTEN;
		}
		s.owner = EPH_OWNER_UNKNOWN;
		if (!first_time(&seen, &s))
			continue;
		cb(ctx, &s);
		n++;
		continue;
	bad:
		snprintf(why, why_len,
			 "line %ld: expected \"USER COMMAND PID FD PROTO "
			 "LOCAL FOREIGN\": \"%.*s\"",
			 lineno, (int)(llen > 80 ? 80 : llen), line);
		n = -EBADMSG;
		break;
	}
	free(seen.slot);
	return n;
}

/* netstat -an, or sockstat when its header comes first. */
static long sockets_parse(const char *buf, size_t len, enum eph_proto proto,
			  eph_sock_cb cb, void *ctx, char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;

	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[2];
		size_t fl[2];

		if (eph_os_fields(line, llen, f, fl, 2) == 0)
			continue;
		if (fl[0] == 4 && memcmp(f[0], "USER", 4) == 0)
			return eph_sockstat_parse(buf, len, proto, cb, ctx, why,
						  why_len);
		break;
	}
	return eph_netstat_bsd_parse(buf, len, proto, cb, ctx, why, why_len);
}

const struct eph_os eph_os_freebsd = {
    .name = "freebsd",
    .label = "FreeBSD",
    .range_cmd = "sysctl net.inet.ip.portrange",
    .sockets_cmd = "netstat -an (or sockstat -46)",
    .parse_range = portrange_parse,
    .parse_sockets = sockets_parse,
    .default_low = 10000,
    .default_high = 65535,
    .min_low = 1,
    .default_note =
	"bind(0) and connect() take first-last; a program gets hifirst-hilast "
	"only by asking (setsockopt IP_PORTRANGE_HIGH), lowfirst-lowlast with "
	"IP_PORTRANGE_LOW (privileged)",
    .cmd_now = "sysctl net.inet.ip.portrange.first={L} "
	       "net.inet.ip.portrange.last={H}\n",
    .cmd_persist =
	"echo 'net.inet.ip.portrange.first={L}' >> "
	"/etc/sysctl.conf\n"
	"echo 'net.inet.ip.portrange.last={H}' >> /etc/sysctl.conf\n",
    .persist_note = "/etc/sysctl.conf is applied at boot; remove older lines "
		    "for the same names first",
};
