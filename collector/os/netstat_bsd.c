/*
 * netstat_bsd.c - `netstat -an` as the BSD-derived systems print it
 * (FreeBSD, macOS, OpenBSD, AIX, HP-UX, Tru64, IRIX, BSD/OS):
 *
 *   Proto Recv-Q Send-Q  Local Address      Foreign Address    (state)
 *   tcp4       0      0  10.0.0.1.22        10.0.0.2.50000     ESTABLISHED
 *   tcp6       0      0  *.22               *.*                LISTEN
 *   udp4       0      0  *.514              *.*
 *
 * An endpoint is the address and the port joined by the last '.'; "*" is
 * the wildcard.  Only lines whose first field starts with "tcp" or "udp"
 * are sockets; everything else (headers, UNIX domain sections) is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "os/os.h"

/* "10.0.0.1.22", "*.*", "fe80::1%em0.123", "::1.25" */
static int endpoint(const char *s, size_t len, int family_hint, uint8_t *family,
		    uint8_t addr[16], uint16_t *port)
{
	const char *dot = NULL;

	for (size_t i = len; i > 0; i--) {
		if (s[i - 1] == '.') {
			dot = s + i - 1;
			break;
		}
	}
	if (!dot)
		return -EINVAL;
	if (eph_os_port_parse(dot + 1, len - (size_t)(dot - s) - 1, port) < 0)
		return -EINVAL;
	return eph_os_addr_parse(s, (size_t)(dot - s), family_hint, family,
				 addr);
}

/* The protocol and address family a first field names: "tcp", "tcp4",
 * "tcp6", "tcp46", "udp", ...; -1 for anything else. */
static int proto_field(const char *f, size_t len, int *family)
{
	int p;

	if (len < 3)
		return -1;
	if (memcmp(f, "tcp", 3) == 0)
		p = EPH_TCP;
	else if (memcmp(f, "udp", 3) == 0)
		p = EPH_UDP;
	else
		return -1;
	if (len == 3 || (len == 4 && f[3] == '4'))
		*family = AF_INET;
	else if ((len == 4 && f[3] == '6') ||
		 (len == 5 && f[3] == '4' && f[4] == '6'))
		*family = AF_INET6;
	else
		return -1;
	return p;
}

static long bad(char *why, size_t why_len, long lineno, const char *what,
		const char *line, size_t llen)
{
	snprintf(why, why_len, "line %ld: %s: \"%.*s\"", lineno, what,
		 (int)(llen > 80 ? 80 : llen), line);
	return -EBADMSG;
}

long eph_netstat_bsd_parse(const char *buf, size_t len, enum eph_proto proto,
			   eph_sock_cb cb, void *ctx, char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0, n = 0;

	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[7];
		size_t fl[7], nf;
		struct eph_sock s;
		int family, pr;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 7);
		if (nf == 0)
			continue;
		pr = proto_field(f[0], fl[0], &family);
		if (pr < 0)
			continue;
		if (nf < 5 || nf > 6 || (pr == EPH_TCP && nf != 6))
			return bad(why, why_len, lineno,
				   pr == EPH_TCP
				       ? "expected \"tcp RECV-Q SEND-Q LOCAL "
					 "FOREIGN STATE\""
				       : "expected \"udp RECV-Q SEND-Q LOCAL "
					 "FOREIGN\"",
				   line, llen);
		if (pr != (int)proto)
			continue;
		memset(&s, 0, sizeof(s));
		if (endpoint(f[3], fl[3], family, &s.family, s.laddr,
			     &s.lport) < 0 ||
		    endpoint(f[4], fl[4], s.family, &s.family, s.raddr,
			     &s.rport) < 0)
			return bad(why, why_len, lineno,
				   "expected ADDRESS.PORT endpoints", line,
				   llen);
		if (pr == EPH_TCP) {
			s.state = (uint8_t)eph_os_state_parse(f[5], fl[5]);
			if (s.state == EPH_ST_UNKNOWN)
				return bad(why, why_len, lineno,
					   "unknown TCP state", line, llen);
		} else {
			/* Some systems print a UDP state; the peer says it. */
			s.state = s.rport ? EPH_ST_ESTABLISHED : EPH_ST_CLOSE;
		}
		s.owner = EPH_OWNER_UNKNOWN;
		cb(ctx, &s);
		n++;
	}
	return n;
}
