/*
 * solaris.c - Solaris and illumos: the anonymous port range of TCP and of
 * UDP (tcp_smallest_anon_port .. tcp_largest_anon_port and the udp_
 * ones, 32768-65535 by default) from `ndd` or from Solaris 11's
 * `ipadm show-prop`, and the sectioned `netstat -an`:
 *
 *   TCP: IPv4
 *      Local Address        Remote Address    Swind Send-Q Rwind Recv-Q State
 *   -------------------- -------------------- ----- ------ ----- ------ ------
 *   10.0.0.1.22          10.0.0.2.50000       64128      0 128872      0
 * ESTABLISHED
 *
 *   UDP: IPv4
 *      Local Address        Remote Address      State
 *         *.123                                 Idle
 *
 * The ndd parser is shared with HP-UX (hpux.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "os/os.h"

int eph_ndd_parse_range(const char *buf, size_t len, struct eph_os_range *out,
			char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	unsigned v[4];
	long lineno = 0;
	int n = 0, err;

	memset(out, 0, sizeof(*out));
	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[2];
		size_t fl[2], nf;
		uint16_t port;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 2);
		if (nf == 0)
			continue;
		if (nf > 1 || n == 4 || eph_os_port_parse(f[0], fl[0], &port) ||
		    port == 0 || f[0][0] == '*') {
			snprintf(why, why_len,
				 "line %ld: expected ndd's values alone (the "
				 "smallest then the largest anon port, for tcp "
				 "then udp; a port from 1 to 65535), got "
				 "\"%.*s\"",
				 lineno, (int)(llen > 40 ? 40 : llen), line);
			return -EINVAL;
		}
		v[n++] = port;
	}
	if (n != 2 && n != 4) {
		snprintf(
		    why, why_len,
		    "expected 2 values (tcp_smallest_anon_port, "
		    "tcp_largest_anon_port) or 4 (then the udp_ ones), got "
		    "%d",
		    n);
		return -EINVAL;
	}
	err = eph_os_set_range(out, 1u << EPH_TCP, v[0], v[1],
			       "tcp_smallest_anon_port/tcp_largest_anon_port",
			       why, why_len);
	if (err == 0 && n == 4)
		err = eph_os_set_range(
		    out, 1u << EPH_UDP, v[2], v[3],
		    "udp_smallest_anon_port/udp_largest_anon_port", why,
		    why_len);
	return err;
}

/*
 * ipadm show-prop -p smallest_anon_port,largest_anon_port [tcp|udp]:
 *   PROTO PROPERTY              PERM CURRENT      PERSISTENT   DEFAULT ...
 *   tcp   smallest_anon_port    rw   32768        --           32768 ...
 */
static int ipadm_parse(const char *buf, size_t len, struct eph_os_range *out,
		       char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0;
	unsigned v[EPH_PROTO_COUNT][2];
	bool got[EPH_PROTO_COUNT][2] = {{false}};

	memset(out, 0, sizeof(*out));
	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[4];
		size_t fl[4], nf;
		uint16_t port;
		int pr, which;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 4);
		if (nf == 0 || (fl[0] == 5 && memcmp(f[0], "PROTO", 5) == 0))
			continue;
		if (nf < 4)
			goto bad;
		if (fl[0] == 3 && memcmp(f[0], "tcp", 3) == 0)
			pr = EPH_TCP;
		else if (fl[0] == 3 && memcmp(f[0], "udp", 3) == 0)
			pr = EPH_UDP;
		else if (fl[0] == 4 && memcmp(f[0], "sctp", 4) == 0)
			continue;
		else
			goto bad;
		if (fl[1] == 18 && memcmp(f[1], "smallest_anon_port", 18) == 0)
			which = 0;
		else if (fl[1] == 17 &&
			 memcmp(f[1], "largest_anon_port", 17) == 0)
			which = 1;
		else
			continue; /* another property */
		if (eph_os_port_parse(f[3], fl[3], &port) < 0 || port == 0 ||
		    f[3][0] == '*') {
			snprintf(why, why_len,
				 "line %ld: %s %.*s: CURRENT is not a port "
				 "from 1 to 65535: \"%.*s\"",
				 lineno, pr == EPH_TCP ? "tcp" : "udp",
				 (int)fl[1], f[1],
				 (int)(fl[3] > 20 ? 20 : fl[3]), f[3]);
			return -EINVAL;
		}
		v[pr][which] = port;
		got[pr][which] = true;
		continue;
	bad:
		snprintf(why, why_len,
			 "line %ld: expected \"PROTO PROPERTY PERM CURRENT "
			 "...\", got \"%.*s\"",
			 lineno, (int)(llen > 40 ? 40 : llen), line);
		return -EINVAL;
	}
	for (int pr = 0; pr < EPH_PROTO_COUNT; pr++) {
		const char *name = pr == EPH_TCP ? "tcp" : "udp";
		char what[64];
		int err;

		if (!got[pr][0] && !got[pr][1])
			continue;
		if (got[pr][0] != got[pr][1]) {
			snprintf(why, why_len, "%s %s missing", name,
				 got[pr][0] ? "largest_anon_port"
					    : "smallest_anon_port");
			return -EINVAL;
		}
		snprintf(what, sizeof(what),
			 "%s smallest_anon_port/largest_anon_port", name);
		err = eph_os_set_range(out, (uint8_t)(1u << pr), v[pr][0],
				       v[pr][1], what, why, why_len);
		if (err < 0)
			return err;
	}
	if (!out->protocols) {
		snprintf(why, why_len,
			 "smallest_anon_port and largest_anon_port missing");
		return -EINVAL;
	}
	return 0;
}

static int range_parse(const char *buf, size_t len, struct eph_os_range *out,
		       char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;

	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[1];
		size_t fl[1];

		if (eph_os_fields(line, llen, f, fl, 1) == 0)
			continue;
		if (fl[0] == 5 && memcmp(f[0], "PROTO", 5) == 0)
			return ipadm_parse(buf, len, out, why, why_len);
		break;
	}
	return eph_ndd_parse_range(buf, len, out, why, why_len);
}

/* "10.0.0.1.22", "*.*", "::1.22" */
static int endpoint(const char *s, size_t len, int family_hint, uint8_t *family,
		    uint8_t addr[16], uint16_t *port)
{
	size_t i = len;

	while (i > 0 && s[i - 1] != '.')
		i--;
	if (i == 0)
		return -EINVAL;
	if (eph_os_port_parse(s + i, len - i, port) < 0)
		return -EINVAL;
	return eph_os_addr_parse(s, i - 1, family_hint, family, addr);
}

static bool field_is(const char *f, size_t fl, const char *s)
{
	return fl == strlen(s) && memcmp(f, s, fl) == 0;
}

long eph_netstat_solaris_parse(const char *buf, size_t len,
			       enum eph_proto proto, eph_sock_cb cb, void *ctx,
			       char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0, n = 0;
	int section = -1, family = AF_INET; /* -1: not a TCP/UDP section */

	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[9];
		size_t fl[9], nf;
		struct eph_sock s;
		const char *what;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 9);
		if (nf == 0)
			continue;
		/* "TCP: IPv4", "UDP: IPv6", "SCTP:", "Active UNIX ..." */
		if (line[0] != ' ' && line[0] != '\t' && fl[0] >= 4 &&
		    f[0][fl[0] - 1] == ':') {
			section = -1;
			if (field_is(f[0], fl[0], "TCP:"))
				section = EPH_TCP;
			else if (field_is(f[0], fl[0], "UDP:"))
				section = EPH_UDP;
			family = nf > 1 && field_is(f[1], fl[1], "IPv6")
				     ? AF_INET6
				     : AF_INET;
			continue;
		}
		if (field_is(f[0], fl[0], "Active") && nf > 1) {
			section = -1;
			continue;
		}
		if (section < 0 || field_is(f[0], fl[0], "Local") ||
		    f[0][0] == '-')
			continue;
		memset(&s, 0, sizeof(s));
		if (section == EPH_TCP) {
			/* LOCAL REMOTE SWIND SEND-Q RWIND RECV-Q STATE [IF] */
			what = "expected \"LOCAL REMOTE SWIND SEND-Q RWIND "
			       "RECV-Q STATE\"";
			if (nf < 7 || nf > 8)
				goto bad;
			if (endpoint(f[0], fl[0], family, &s.family, s.laddr,
				     &s.lport) < 0 ||
			    endpoint(f[1], fl[1], s.family, &s.family, s.raddr,
				     &s.rport) < 0)
				goto bad;
			s.state = (uint8_t)eph_os_state_parse(f[6], fl[6]);
			what = "unknown TCP state";
			if (s.state == EPH_ST_UNKNOWN)
				goto bad;
		} else {
			/* LOCAL [REMOTE] STATE [IF]; state Idle, Unbound,
			 * Connected */
			size_t st = nf >= 3 ? 2 : 1;

			what = "expected \"LOCAL [REMOTE] STATE\"";
			if (nf < 2 || nf > 4)
				goto bad;
			if (nf >= 3 && !field_is(f[2], fl[2], "Idle") &&
			    !field_is(f[2], fl[2], "Unbound") &&
			    !field_is(f[2], fl[2], "Connected"))
				st = 1; /* LOCAL STATE IF */
			if (!field_is(f[st], fl[st], "Idle") &&
			    !field_is(f[st], fl[st], "Unbound") &&
			    !field_is(f[st], fl[st], "Connected"))
				goto bad;
			if (endpoint(f[0], fl[0], family, &s.family, s.laddr,
				     &s.lport) < 0)
				goto bad;
			if (st == 2 &&
			    endpoint(f[1], fl[1], s.family, &s.family, s.raddr,
				     &s.rport) < 0)
				goto bad;
			s.state = s.rport ? EPH_ST_ESTABLISHED : EPH_ST_CLOSE;
		}
		if (section != (int)proto)
			continue;
		s.owner = EPH_OWNER_UNKNOWN;
		cb(ctx, &s);
		n++;
		continue;
	bad:
		snprintf(why, why_len, "line %ld: %s: \"%.*s\"", lineno, what,
			 (int)(llen > 80 ? 80 : llen), line);
		return -EBADMSG;
	}
	return n;
}

const struct eph_os eph_os_solaris = {
    .name = "solaris",
    .label = "Solaris/illumos",
    .range_cmd = "ndd /dev/tcp tcp_smallest_anon_port tcp_largest_anon_port "
		 "(then /dev/udp udp_...), or ipadm show-prop -p "
		 "smallest_anon_port,largest_anon_port",
    .sockets_cmd = "netstat -an",
    .parse_range = range_parse,
    .parse_sockets = eph_netstat_solaris_parse,
    .per_protocol = true,
    .default_low = 32768,
    .default_high = 65535,
    .min_low = 1024,
    .default_note = "TCP takes tcp_smallest_anon_port-tcp_largest_anon_port "
		    "and UDP the udp_ pair; there is no second range",
    .cmd_now = "ndd -set /dev/tcp tcp_largest_anon_port {H}\n"
	       "ndd -set /dev/tcp tcp_smallest_anon_port {L}\n"
	       "ndd -set /dev/udp udp_largest_anon_port {H}\n"
	       "ndd -set /dev/udp udp_smallest_anon_port {L}\n",
    .cmd_persist = "ipadm set-prop -p largest_anon_port={H} tcp\n"
		   "ipadm set-prop -p smallest_anon_port={L} tcp\n"
		   "ipadm set-prop -p largest_anon_port={H} udp\n"
		   "ipadm set-prop -p smallest_anon_port={L} udp\n",
    .persist_note = "ipadm (Solaris 11, illumos) keeps the values across "
		    "reboots; Solaris 10 has no ipadm: run the ndd commands "
		    "from a boot script (/etc/rc2.d/S70ephemports).  When "
		    "moving the range down, set smallest before largest",
};
