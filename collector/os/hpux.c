/*
 * hpux.c - HP-UX: `ndd` (tcp_smallest_anon_port .. tcp_largest_anon_port,
 * then the udp_ pair; 49152-65535 by default) and the BSD `netstat -an`.
 */
#include "os/os.h"

const struct eph_os eph_os_hpux = {
    .name = "hpux",
    .label = "HP-UX",
    .range_cmd = "ndd /dev/tcp tcp_smallest_anon_port tcp_largest_anon_port "
		 "(then /dev/udp udp_...)",
    .sockets_cmd = "netstat -an",
    .parse_range = eph_ndd_parse_range,
    .parse_sockets = eph_netstat_bsd_parse,
    .per_protocol = true,
    .default_low = 49152,
    .default_high = 65535,
    .min_low = 1024,
    .default_note = "TCP takes tcp_smallest_anon_port-tcp_largest_anon_port "
		    "and UDP the udp_ pair; there is no second range",
    .cmd_now = "/usr/bin/ndd -set /dev/tcp tcp_largest_anon_port {H}\n"
	       "/usr/bin/ndd -set /dev/tcp tcp_smallest_anon_port {L}\n"
	       "/usr/bin/ndd -set /dev/udp udp_largest_anon_port {H}\n"
	       "/usr/bin/ndd -set /dev/udp udp_smallest_anon_port {L}\n",
    .cmd_persist = "TRANSPORT_NAME[0]=tcp\nNDD_NAME[0]=tcp_largest_anon_port\n"
		   "NDD_VALUE[0]={H}\n"
		   "TRANSPORT_NAME[1]=tcp\nNDD_NAME[1]=tcp_smallest_anon_port\n"
		   "NDD_VALUE[1]={L}\n"
		   "TRANSPORT_NAME[2]=udp\nNDD_NAME[2]=udp_largest_anon_port\n"
		   "NDD_VALUE[2]={H}\n"
		   "TRANSPORT_NAME[3]=udp\nNDD_NAME[3]=udp_smallest_anon_port\n"
		   "NDD_VALUE[3]={L}\n",
    .persist_note = "append these lines to /etc/rc.config.d/nddconf, read at "
		    "boot, numbering them after the entries already there "
		    "(with 4 entries present, start at [4])",
};
