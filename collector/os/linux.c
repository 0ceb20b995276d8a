/*
 * linux.c - Linux captured on another host: `sysctl
 * net.ipv4.ip_local_port_range net.ipv4.ip_local_reserved_ports` (or the
 * bare contents of /proc/sys/net/ipv4/ip_local_port_range; other
 * "name = value" lines, as in `sysctl -a`, are skipped) and `ss -tuan`.  The
 * live reader stays in range_linux.c; this file only parses what an operator
 * brought along.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "os/os.h"

#define KEY_RANGE    "net.ipv4.ip_local_port_range"
#define KEY_RESERVED "net.ipv4.ip_local_reserved_ports"

static int range_parse(const char *buf, size_t len, struct eph_os_range *out,
		       char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0;
	bool got_range = false, got_reserved = false;
	uint16_t lo = 0, hi = 0;

	memset(out, 0, sizeof(*out));
	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *eq = memchr(line, '=', llen), *val = line;
		size_t vlen = llen, klen = 0;
		const char *f[1];
		size_t fl[1];

		lineno++;
		if (eph_os_fields(line, llen, f, fl, 1) == 0)
			continue;
		if (eq) {
			klen = (size_t)(eq - f[0]);
			while (klen && (f[0][klen - 1] == ' ' ||
					f[0][klen - 1] == '\t'))
				klen--;
			val = eq + 1;
			vlen = llen - (size_t)(val - line);
		}
		if (eq && klen == strlen(KEY_RESERVED) &&
		    memcmp(f[0], KEY_RESERVED, klen) == 0) {
			while (vlen && (*val == ' ' || *val == '\t')) {
				val++;
				vlen--;
			}
			while (vlen &&
			       (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
				vlen--;
			if (got_reserved ||
			    eph_reserved_parse(
				val, vlen, out->proto[EPH_TCP].reserved) < 0) {
				snprintf(why, why_len,
					 "line %ld: " KEY_RESERVED
					 ": expected \"PORT,LOW-HIGH,...\" "
					 "once, got \"%.*s\"",
					 lineno, (int)(vlen > 40 ? 40 : vlen),
					 val);
				return -EINVAL;
			}
			got_reserved = true;
			continue;
		}
		/* Other sysctls (`sysctl -a`) are not ours. */
		if (eq && !(klen == strlen(KEY_RANGE) &&
			    memcmp(f[0], KEY_RANGE, klen) == 0))
			continue;
		if (got_range ||
		    eph_range_parse_pair(val, vlen, &lo, &hi) < 0) {
			snprintf(why, why_len,
				 "line %ld: expected \"" KEY_RANGE
				 " = LOW HIGH\" with 1 <= LOW <= HIGH <= "
				 "65535, once, got \"%.*s\"",
				 lineno, (int)(llen > 40 ? 40 : llen), line);
			return -EINVAL;
		}
		got_range = true;
	}
	if (!got_range) {
		snprintf(why, why_len, KEY_RANGE " missing");
		return -EINVAL;
	}
	/* One range and one reserved list for TCP and UDP. */
	memcpy(out->proto[EPH_UDP].reserved, out->proto[EPH_TCP].reserved,
	       EPH_BITMAP_BYTES);
	return eph_os_set_range(out, (1u << EPH_TCP) | (1u << EPH_UDP), lo, hi,
				KEY_RANGE, why, why_len);
}

long eph_ss_parse(const char *buf, size_t len, enum eph_proto proto,
		  eph_sock_cb cb, void *ctx, char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0, n = 0;

	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[8];
		size_t fl[8], nf, i = 0;
		struct eph_sock s;
		int pr = EPH_TCP, st;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 8);
		if (nf == 0 || (fl[0] == 5 && memcmp(f[0], "Netid", 5) == 0) ||
		    (fl[0] == 5 && memcmp(f[0], "State", 5) == 0))
			continue;
		if (fl[0] == 3 && memcmp(f[0], "tcp", 3) == 0) {
			i = 1;
		} else if (fl[0] == 3 && memcmp(f[0], "udp", 3) == 0) {
			pr = EPH_UDP;
			i = 1;
		} else if (eph_os_state_parse(f[0], fl[0]) == EPH_ST_UNKNOWN) {
			/* raw, u_str, p_raw, ... */
			if (nf >= 6)
				continue;
			goto bad;
		}
		/* [NETID] STATE RECV-Q SEND-Q LOCAL PEER [PROCESS] */
		if (nf < i + 5)
			goto bad;
		memset(&s, 0, sizeof(s));
		st = eph_os_state_parse(f[i], fl[i]);
		if (st == EPH_ST_UNKNOWN)
			goto bad;
		if (eph_os_colon_endpoint(f[i + 3], fl[i + 3], AF_INET,
					  &s.family, s.laddr, &s.lport) < 0 ||
		    eph_os_colon_endpoint(f[i + 4], fl[i + 4], s.family,
					  &s.family, s.raddr, &s.rport) < 0)
			goto bad;
		if (pr != (int)proto)
			continue;
		if (pr == EPH_UDP)
			st = s.rport ? EPH_ST_ESTABLISHED : EPH_ST_CLOSE;
		s.state = (uint8_t)st;
		s.owner = EPH_OWNER_UNKNOWN;
		cb(ctx, &s);
		n++;
		continue;
	bad:
		snprintf(why, why_len,
			 "line %ld: expected \"NETID STATE RECV-Q SEND-Q "
			 "LOCAL:PORT PEER:PORT\": \"%.*s\"",
			 lineno, (int)(llen > 80 ? 80 : llen), line);
		return -EBADMSG;
	}
	return n;
}

const struct eph_os eph_os_linux = {
    .name = "linux",
    .label = "Linux",
    .range_cmd = "sysctl net.ipv4.ip_local_port_range "
		 "net.ipv4.ip_local_reserved_ports",
    .sockets_cmd = "ss -tuan",
    .parse_range = range_parse,
    .parse_sockets = eph_ss_parse,
    .live = true,
    .tw_reuse = true,
    .default_low = 32768,
    .default_high = 60999,
    .min_low = 1,
    .default_note = "TCP and UDP, IPv4 and IPv6 share ip_local_port_range "
		    "less ip_local_reserved_ports; there is no second range",
    .cmd_now = "sysctl -w net.ipv4.ip_local_port_range=\"{L} {H}\"\n",
    .cmd_persist = "echo 'net.ipv4.ip_local_port_range = {L} {H}' > "
		   "/etc/sysctl.d/60-ephemeral-ports.conf\n"
		   "sysctl -p /etc/sysctl.d/60-ephemeral-ports.conf\n",
    .persist_note = "files in /etc/sysctl.d are applied at boot; the "
		    "setting is per network namespace (containers have their "
		    "own)",
    .reserved_name = "ip_local_reserved_ports",
    .cmd_reserve = "sysctl -w net.ipv4.ip_local_reserved_ports={P}\n"
		   "echo 'net.ipv4.ip_local_reserved_ports = {P}' > "
		   "/etc/sysctl.d/61-reserved-ports.conf\n",
};
