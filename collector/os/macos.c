/*
 * macos.c - macOS (Darwin): the FreeBSD sysctls (`sysctl
 * net.inet.ip.portrange`, first/last and hifirst/hilast, both 49152-65535
 * out of the box) and the BSD `netstat -an`.
 */
#include "os/os.h"

static int portrange_parse(const char *buf, size_t len,
			   struct eph_os_range *out, char *why, size_t why_len)
{
	return eph_os_freebsd.parse_range(buf, len, out, why, why_len);
}

const struct eph_os eph_os_macos = {
    .name = "macos",
    .label = "macOS",
    .range_cmd = "sysctl net.inet.ip.portrange",
    .sockets_cmd = "netstat -an",
    .parse_range = portrange_parse,
    .parse_sockets = eph_netstat_bsd_parse,
    .default_low = 49152,
    .default_high = 65535,
    .min_low = 1,
    .default_note =
	"bind(0) and connect() take first-last; hifirst-hilast only for a "
	"program that sets IP_PORTRANGE_HIGH",
    .cmd_now = "sudo sysctl -w net.inet.ip.portrange.first={L} "
	       "net.inet.ip.portrange.last={H}\n",
    .cmd_persist = "echo 'net.inet.ip.portrange.first={L}' | sudo tee -a "
		   "/etc/sysctl.conf\n"
		   "echo 'net.inet.ip.portrange.last={H}' | sudo tee -a "
		   "/etc/sysctl.conf\n",
    .persist_note = "macOS reads /etc/sysctl.conf at boot; where a release "
		    "ignores it, run the same sysctl from a LaunchDaemon",
};
