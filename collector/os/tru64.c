/*
 * tru64.c - Tru64 UNIX (Digital UNIX, OSF/1): `sysconfig -q inet`
 * (ipport_userreserved_min .. ipport_userreserved, 1024-5000 by default,
 * shared by TCP and UDP) and the BSD `netstat -an`.
 */
#include <string.h>

#include "os/os.h"

static int sysconfig_parse(const char *buf, size_t len,
			   struct eph_os_range *out, char *why, size_t why_len)
{
	enum { MIN, MAX, N };
	struct eph_kv kv[N] = {
	    [MIN] = {.key = "ipport_userreserved_min"},
	    [MAX] = {.key = "ipport_userreserved"},
	};
	int err;

	memset(out, 0, sizeof(*out));
	err = eph_kv_parse(buf, len, kv, N, 1, why, why_len);
	if (err < 0)
		return err;
	return eph_os_set_range(out, (1u << EPH_TCP) | (1u << EPH_UDP),
				kv[MIN].value, kv[MAX].value,
				"ipport_userreserved_min/ipport_userreserved",
				why, why_len);
}

const struct eph_os eph_os_tru64 = {
    .name = "tru64",
    .label = "Tru64 UNIX",
    .range_cmd = "sysconfig -q inet",
    .sockets_cmd = "netstat -an",
    .parse_range = sysconfig_parse,
    .parse_sockets = eph_netstat_bsd_parse,
    .default_low = 1024,
    .default_high = 5000,
    .min_low = 1024,
    .default_note = "TCP and UDP share ipport_userreserved_min-"
		    "ipport_userreserved; there is no second range",
    .cmd_now = "/sbin/sysconfig -r inet ipport_userreserved={H} "
	       "ipport_userreserved_min={L}\n",
    .cmd_persist = "printf 'inet:\\n\\tipport_userreserved = {H}\\n\\t"
		   "ipport_userreserved_min = {L}\\n' > /tmp/inet.stanza\n"
		   "/sbin/sysconfigdb -m -f /tmp/inet.stanza inet\n",
    .persist_note = "sysconfigdb records the stanza in /etc/sysconfigtab, "
		    "read at boot (-a instead of -m when there is no inet "
		    "entry yet); the stanza's lines under \"inet:\" start with "
		    "one tab",
};
