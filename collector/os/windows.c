/*
 * windows.c - Windows (Vista / Server 2008 and later): the dynamic port
 * range of TCP and of UDP from `netsh int ipv4 show dynamicport tcp`
 * (and udp, and the ipv6 ones; 49152-65535 by default), CRLF line ends,
 *
 *   Protocol tcp Dynamic Port Range
 *   ---------------------------------
 *   Start Port      : 49152
 *   Number of Ports : 16384
 *
 * and the socket table of `netstat -an` or `netstat -ano`:
 *
 *     Proto  Local Address          Foreign Address        State           PID
 *     TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1044
 *     UDP    [::]:500               *:*                                    4012
 *
 * netsh prints the same text for ipv4 and ipv6: one file may hold both as
 * long as they agree.  `netsh int ipv4 show excludedportrange
 * protocol=tcp` (Hyper-V, WinNAT and administrators reserve ports so) may
 * follow: its ranges are the protocol's reserved ports,
 *
 *   Protocol tcp Port Exclusion Ranges
 *
 *   Start Port    End Port
 *   ----------    --------
 *        50000       50059     *
 *
 *   * - Administered port exclusions.  English output only (other languages
 * translate the labels and the state names).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "os/os.h"

/* Whether field s (len bytes) is the word w. */
static bool is_word(const char *s, size_t len, const char *w)
{
	return len == strlen(w) && memcmp(s, w, len) == 0;
}

/* "Label   : 123" -> 123 (1..65535) */
static int labelled(const char *line, size_t len, unsigned *v)
{
	const char *colon = memchr(line, ':', len);
	const char *f[2];
	size_t fl[2];
	uint16_t port;

	if (!colon)
		return -EINVAL;
	len -= (size_t)(colon + 1 - line);
	if (eph_os_fields(colon + 1, len, f, fl, 2) != 1 ||
	    eph_os_port_parse(f[0], fl[0], &port) < 0 || f[0][0] == '*' ||
	    port == 0)
		return -EINVAL;
	*v = port;
	return 0;
}

static int netsh_parse(const char *buf, size_t len, struct eph_os_range *out,
		       char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0;
	int cur = -1, excl = -1; /* the section's protocol */
	unsigned start[EPH_PROTO_COUNT], num[EPH_PROTO_COUNT];
	bool got_start[EPH_PROTO_COUNT] = {false};
	bool got_num[EPH_PROTO_COUNT] = {false};
	bool done[EPH_PROTO_COUNT] = {false};
	unsigned low[EPH_PROTO_COUNT], high[EPH_PROTO_COUNT];

	memset(out, 0, sizeof(*out));
	for (;;) {
		bool more = eph_os_next_line(&p, end, &line, &llen);
		const char *f[6];
		size_t fl[6], nf = 0;

		if (more) {
			lineno++;
			nf = eph_os_fields(line, llen, f, fl, 6);
		}
		/* A section ends at the next one or at the end. */
		if (cur >= 0 &&
		    (!more || (nf >= 2 && is_word(f[0], fl[0], "Protocol")))) {
			const char *name = cur == EPH_TCP ? "tcp" : "udp";
			unsigned lo, hi;

			if (!got_start[cur] || !got_num[cur]) {
				snprintf(why, why_len,
					 "protocol %s: \"%s\" missing", name,
					 got_start[cur] ? "Number of Ports"
							: "Start Port");
				return -EINVAL;
			}
			lo = start[cur];
			hi = start[cur] + num[cur] - 1;
			if (hi > 65535) {
				snprintf(why, why_len,
					 "protocol %s: Start Port %u with %u "
					 "ports ends at %u, above 65535",
					 name, lo, num[cur], hi);
				return -EINVAL;
			}
			if (done[cur] && (low[cur] != lo || high[cur] != hi)) {
				snprintf(why, why_len,
					 "two different %s ranges, %u-%u and "
					 "%u-%u (ipv4 and ipv6?): give each "
					 "its own --range-file",
					 name, low[cur], high[cur], lo, hi);
				return -EINVAL;
			}
			low[cur] = lo;
			high[cur] = hi;
			done[cur] = true;
			got_start[cur] = got_num[cur] = false;
			cur = -1;
		}
		if (!more)
			break;
		if (nf == 0 || f[0][0] == '-')
			continue;
		if (is_word(f[0], fl[0], "Protocol") && nf >= 2) {
			int pr;

			if (fl[1] == 3 && memcmp(f[1], "tcp", 3) == 0)
				pr = EPH_TCP;
			else if (fl[1] == 3 && memcmp(f[1], "udp", 3) == 0)
				pr = EPH_UDP;
			else
				goto bad;
			/* "Protocol tcp Port Exclusion Ranges" */
			if (nf >= 4 && is_word(f[3], fl[3], "Exclusion")) {
				excl = pr;
			} else {
				excl = -1;
				cur = pr;
			}
			continue;
		}
		if (excl >= 0) {
			uint16_t a, b;

			/* "Start Port    End Port", "* - Administered port
			 * exclusions.", "  50000   50059     *" */
			if (is_word(f[0], fl[0], "Start") || f[0][0] == '*')
				continue;
			if ((nf != 2 &&
			     !(nf == 3 && is_word(f[2], fl[2], "*"))) ||
			    eph_os_port_parse(f[0], fl[0], &a) < 0 ||
			    eph_os_port_parse(f[1], fl[1], &b) < 0 || a == 0 ||
			    b < a)
				goto exclusion;
			for (unsigned port = a; port <= b; port++)
				eph_bit_set(out->proto[excl].reserved, port);
			continue;
		}
		if (cur >= 0 && is_word(f[0], fl[0], "Start") && nf >= 3 &&
		    is_word(f[1], fl[1], "Port")) {
			if (got_start[cur] ||
			    labelled(line, llen, &start[cur]) < 0)
				goto value;
			got_start[cur] = true;
			continue;
		}
		if (cur >= 0 && is_word(f[0], fl[0], "Number") && nf >= 4) {
			if (got_num[cur] || labelled(line, llen, &num[cur]) < 0)
				goto value;
			got_num[cur] = true;
			continue;
		}
	bad:
		snprintf(why, why_len,
			 "line %ld: not `netsh int ipv4 show dynamicport` "
			 "output: \"%.*s\"",
			 lineno, (int)(llen > 40 ? 40 : llen), line);
		return -EINVAL;
	exclusion:
		snprintf(why, why_len,
			 "line %ld: expected an excluded range \"START END\" "
			 "with 1 <= START <= END <= 65535: \"%.*s\"",
			 lineno, (int)(llen > 40 ? 40 : llen), line);
		return -EINVAL;
	value:
		snprintf(why, why_len,
			 "line %ld: expected a number from 1 to 65535, once: "
			 "\"%.*s\"",
			 lineno, (int)(llen > 40 ? 40 : llen), line);
		return -EINVAL;
	}
	for (int pr = 0; pr < EPH_PROTO_COUNT; pr++) {
		int err;

		if (!done[pr])
			continue;
		err = eph_os_set_range(out, (uint8_t)(1u << pr), low[pr],
				       high[pr], pr == EPH_TCP ? "tcp" : "udp",
				       why, why_len);
		if (err < 0)
			return err;
	}
	if (!out->protocols) {
		snprintf(why, why_len,
			 "no \"Protocol tcp Dynamic Port Range\" section");
		return -EINVAL;
	}
	return 0;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

long eph_netstat_windows_parse(const char *buf, size_t len,
			       enum eph_proto proto, eph_sock_cb cb, void *ctx,
			       char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0, n = 0;

	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[6];
		size_t fl[6], nf;
		struct eph_sock s;
		int pr;
		const char *what;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 6);
		if (nf == 0)
			continue;
		if ((fl[0] == 3 || fl[0] == 5) && memcmp(f[0], "TCP", 3) == 0)
			pr = EPH_TCP;
		else if ((fl[0] == 3 || fl[0] == 5) &&
			 memcmp(f[0], "UDP", 3) == 0)
			pr = EPH_UDP;
		else
			continue; /* headers, -b's [program] lines */
		if (fl[0] == 5 && memcmp(f[0] + 3, "v6", 2) != 0)
			continue;
		memset(&s, 0, sizeof(s));
		what = pr == EPH_TCP ? "expected \"TCP LOCAL FOREIGN STATE "
				       "[PID]\""
				     : "expected \"UDP LOCAL FOREIGN [PID]\"";
		if (pr == EPH_TCP
			? nf != 4 && !(nf == 5 && all_digits(f[4], fl[4]))
			: nf != 3 && !(nf == 4 && all_digits(f[3], fl[3])))
			goto bad;
		if (eph_os_colon_endpoint(f[1], fl[1], AF_INET, &s.family,
					  s.laddr, &s.lport) < 0 ||
		    eph_os_colon_endpoint(f[2], fl[2], s.family, &s.family,
					  s.raddr, &s.rport) < 0)
			goto bad;
		if (pr == EPH_TCP) {
			s.state = (uint8_t)eph_os_state_parse(f[3], fl[3]);
			what = "unknown TCP state";
			if (s.state == EPH_ST_UNKNOWN)
				goto bad;
		} else {
			s.state = s.rport ? EPH_ST_ESTABLISHED : EPH_ST_CLOSE;
		}
		if (pr != (int)proto)
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

const struct eph_os eph_os_windows = {
    .name = "windows",
    .label = "Windows",
    .range_cmd = "netsh int ipv4 show dynamicport tcp (and udp; also "
		 "netsh int ipv6; and netsh int ipv4 show excludedportrange "
		 "protocol=tcp)",
    .reserved_name = "excluded port ranges (netsh int ipv4 show "
		     "excludedportrange)",
    .sockets_cmd = "netstat -ano (or netstat -an)",
    .parse_range = netsh_parse,
    .parse_sockets = eph_netstat_windows_parse,
    .per_protocol = true,
    .default_low = 49152,
    .default_high = 65535,
    .min_low = 1025,
    .default_note = "TCP and UDP each take their own dynamic port range; "
		    "there is no second range",
    .cmd_now = "netsh int ipv4 set dynamicport tcp start={L} num={N}\n"
	       "netsh int ipv4 set dynamicport udp start={L} num={N}\n"
	       "netsh int ipv6 set dynamicport tcp start={L} num={N}\n"
	       "netsh int ipv6 set dynamicport udp start={L} num={N}\n",
    .cmd_persist = "netsh int ipv4 set dynamicport tcp start={L} num={N} "
		   "store=persistent\n"
		   "netsh int ipv4 set dynamicport udp start={L} num={N} "
		   "store=persistent\n"
		   "netsh int ipv6 set dynamicport tcp start={L} num={N} "
		   "store=persistent\n"
		   "netsh int ipv6 set dynamicport udp start={L} num={N} "
		   "store=persistent\n",
    .persist_note = "store=persistent is netsh's default, so the first "
		    "commands already survive a reboot; Windows wants start "
		    ">= 1025 and at least 255 ports.  Windows XP and Server "
		    "2003 have no netsh dynamicport: only the top is settable "
		    "there (MaxUserPort under HKLM\\SYSTEM\\CurrentControlSet\\"
		    "Services\\Tcpip\\Parameters)",
};
