/*
 * openbsd.c - OpenBSD: `sysctl net.inet.ip.portfirst net.inet.ip.portlast
 * net.inet.ip.porthifirst net.inet.ip.porthilast` (two ranges shared by
 * TCP and UDP: the default one and the "high" one a program asks for)
 * and the BSD `netstat -an`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "os/os.h"

static int ranges_parse(const char *buf, size_t len, struct eph_os_range *out,
			char *why, size_t why_len)
{
	enum { FIRST, LAST, HIFIRST, HILAST, N };
	struct eph_kv kv[N] = {
	    [FIRST] = {.key = "net.inet.ip.portfirst"},
	    [LAST] = {.key = "net.inet.ip.portlast"},
	    [HIFIRST] = {.key = "net.inet.ip.porthifirst", .optional = true},
	    [HILAST] = {.key = "net.inet.ip.porthilast", .optional = true},
	};
	int err;

	memset(out, 0, sizeof(*out));
	err = eph_kv_parse(buf, len, kv, N, 1, why, why_len);
	if (err < 0)
		return err;
	err = eph_os_set_range(out, (1u << EPH_TCP) | (1u << EPH_UDP),
			       kv[FIRST].value, kv[LAST].value,
			       "net.inet.ip.portfirst/portlast", why, why_len);
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
				 "net.inet.ip.porthifirst/porthilast: low %u "
				 "is above high %u",
				 kv[HIFIRST].value, kv[HILAST].value);
			return -EINVAL;
		}
		out->has_alt = true;
		out->alt_low = (uint16_t)kv[HIFIRST].value;
		out->alt_high = (uint16_t)kv[HILAST].value;
	}
	return 0;
}

const struct eph_os eph_os_openbsd = {
    .name = "openbsd",
    .label = "OpenBSD",
    .range_cmd = "sysctl net.inet.ip.portfirst net.inet.ip.portlast "
		 "net.inet.ip.porthifirst net.inet.ip.porthilast",
    .sockets_cmd = "netstat -an",
    .parse_range = ranges_parse,
    .parse_sockets = eph_netstat_bsd_parse,
    .default_low = 1024,
    .default_high = 49151,
    .min_low = 1,
    .default_note = "bind(0) and connect() take portfirst-portlast; "
		    "porthifirst-porthilast only for a program that sets "
		    "IP_PORTRANGE_HIGH",
    .cmd_now = "sysctl net.inet.ip.portfirst={L}\n"
	       "sysctl net.inet.ip.portlast={H}\n",
    .cmd_persist = "echo 'net.inet.ip.portfirst={L}' >> /etc/sysctl.conf\n"
		   "echo 'net.inet.ip.portlast={H}' >> /etc/sysctl.conf\n",
    .persist_note = "/etc/sysctl.conf is applied at boot; remove older lines "
		    "for the same names first.  The high range (porthifirst, "
		    "porthilast) keeps its own values",
};
