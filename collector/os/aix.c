/*
 * aix.c - AIX: `no -a` (tcp_ephemeral_low/high, udp_ephemeral_low/high:
 * separate TCP and UDP ranges, 32768-65535 by default) and the BSD
 * `netstat -an`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "os/os.h"

static int no_parse(const char *buf, size_t len, struct eph_os_range *out,
		    char *why, size_t why_len)
{
	enum { TLOW, THIGH, ULOW, UHIGH, N };
	struct eph_kv kv[N] = {
	    [TLOW] = {.key = "tcp_ephemeral_low", .optional = true},
	    [THIGH] = {.key = "tcp_ephemeral_high", .optional = true},
	    [ULOW] = {.key = "udp_ephemeral_low", .optional = true},
	    [UHIGH] = {.key = "udp_ephemeral_high", .optional = true},
	};
	int err;

	memset(out, 0, sizeof(*out));
	err = eph_kv_parse(buf, len, kv, N, 1, why, why_len);
	if (err < 0)
		return err;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		struct eph_kv *lo = &kv[2 * p], *hi = &kv[2 * p + 1];

		if (!lo->found && !hi->found)
			continue;
		if (lo->found != hi->found) {
			snprintf(why, why_len, "%s missing",
				 lo->found ? hi->key : lo->key);
			return -EINVAL;
		}
		err = eph_os_set_range(out, (uint8_t)(1u << p), lo->value,
				       hi->value,
				       p == EPH_TCP ? "tcp_ephemeral_low/high"
						    : "udp_ephemeral_low/high",
				       why, why_len);
		if (err < 0)
			return err;
	}
	if (!out->protocols) {
		snprintf(why, why_len,
			 "tcp_ephemeral_low and tcp_ephemeral_high missing");
		return -EINVAL;
	}
	return 0;
}

const struct eph_os eph_os_aix = {
    .name = "aix",
    .label = "AIX",
    .range_cmd = "no -a",
    .sockets_cmd = "netstat -an",
    .parse_range = no_parse,
    .parse_sockets = eph_netstat_bsd_parse,
    .per_protocol = true,
    .default_low = 32768,
    .default_high = 65535,
    .min_low = 1024,
    .default_note = "TCP takes tcp_ephemeral_low-high and UDP "
		    "udp_ephemeral_low-high; there is no second range",
    .cmd_now = "/usr/sbin/no -o tcp_ephemeral_low={L} -o "
	       "tcp_ephemeral_high={H} -o udp_ephemeral_low={L} -o "
	       "udp_ephemeral_high={H}\n",
    .cmd_persist = "/usr/sbin/no -p -o tcp_ephemeral_low={L} -o "
		   "tcp_ephemeral_high={H} -o udp_ephemeral_low={L} -o "
		   "udp_ephemeral_high={H}\n",
    .persist_note = "-p applies the values now and records them in "
		    "/etc/tunables/nextboot; releases before AIX 5.2 have no "
		    "-p: put the first command in /etc/rc.tcpip, before the "
		    "daemons start",
};
