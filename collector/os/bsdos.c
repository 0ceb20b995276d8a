/*
 * bsdos.c - BSD/OS (BSDi): the range is compiled in, IPPORT_DYNAMIC ..
 * IPPORT_DYNAMIC_LAST (49152-65535) in <netinet/in.h>, with no sysctl.
 * The range "file" is optional: empty, or the header's #define lines.
 * Sockets: BSD `netstat -an`.
 */
#include <string.h>

#include "os/os.h"

static int header_parse(const char *buf, size_t len, struct eph_os_range *out,
			char *why, size_t why_len)
{
	enum { LOW, HIGH, N };
	struct eph_kv kv[N] = {
	    [LOW] = {.key = "IPPORT_DYNAMIC"},
	    [HIGH] = {.key = "IPPORT_DYNAMIC_LAST"},
	};
	int err;

	memset(out, 0, sizeof(*out));
	if (eph_os_blank(buf, len))
		return eph_os_set_range(out, (1u << EPH_TCP) | (1u << EPH_UDP),
					49152, 65535, "BSD/OS", why, why_len);
	err = eph_defines_parse(buf, len, kv, N, 1, why, why_len);
	if (err < 0)
		return err;
	return eph_os_set_range(
	    out, (1u << EPH_TCP) | (1u << EPH_UDP), kv[LOW].value,
	    kv[HIGH].value, "IPPORT_DYNAMIC/IPPORT_DYNAMIC_LAST", why, why_len);
}

const struct eph_os eph_os_bsdos = {
    .name = "bsdos",
    .label = "BSD/OS",
    .range_cmd = "grep IPPORT_ /usr/include/netinet/in.h (optional)",
    .sockets_cmd = "netstat -an",
    .parse_range = header_parse,
    .parse_sockets = eph_netstat_bsd_parse,
    .range_optional = true,
    .default_low = 49152,
    .default_high = 65535,
    .min_low = 1024,
    .default_note = "TCP and UDP share the compiled-in IPPORT_DYNAMIC-"
		    "IPPORT_DYNAMIC_LAST; there is no second range",
    .persist_note = "BSD/OS has no run-time setting: changing the range "
		    "means editing IPPORT_DYNAMIC and IPPORT_DYNAMIC_LAST in "
		    "<netinet/in.h> and rebuilding the kernel; the default "
		    "already is 49152-65535",
};
