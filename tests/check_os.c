/*
 * check_os - every system's captured-output parsers (collector/os/os.h):
 * the range commands (sysctl, no, ndd, ipadm, sysconfig, netsh, the
 * IRIX and BSD/OS headers) and the socket tables (BSD, Solaris and
 * Windows netstat, sockstat, ss), on fixtures reproducing the real
 * formats (tests/fixtures/os/<name>/) and on inline variants: spacing,
 * tabs, CRLF, missing keys, garbage, values out of 1-65535, low > high.
 * Then eph_captured_collect() end to end, and the helpers.
 *
 * Every parser input is copied into a buffer of exactly its length (no
 * terminating NUL), so a parser that reads past len is caught by ASan.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "os/os.h"
#include "check_util.h"

/* ---- helpers ------------------------------------------------------------ */

static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, len);
	return p;
}

/* tests/fixtures/os/NAME into an exact-size buffer. */
static char *fixture(const char *name, size_t *len)
{
	char path[1024], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/os/%s", eph_fixtures_dir(), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n ? (size_t)n : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const struct eph_os *os(const char *name)
{
	const struct eph_os *o = eph_os_find(name);

	ck_assert_msg(o != NULL, "no system %s", name);
	return o;
}

static struct eph_os_range R;
static char why[512];

static int range_buf(const char *name, const char *buf, size_t len)
{
	char *p = exact(buf, len);
	int rc;

	memset(&R, 0xA5, sizeof(R));
	why[0] = '\0';
	rc = os(name)->parse_range(p, len, &R, why, sizeof(why));
	free(p);
	return rc;
}

static int range_str(const char *name, const char *s)
{
	return range_buf(name, s, strlen(s));
}

static int range_fixture(const char *name, const char *file)
{
	size_t len;
	char *buf = fixture(file, &len);
	int rc = range_buf(name, buf, len);

	free(buf);
	return rc;
}

#define MAXS 64
static struct eph_sock socks[MAXS];
static int nsocks;

static void collect(void *ctx, const struct eph_sock *s)
{
	(void)ctx;
	ck_assert_int_lt(nsocks, MAXS);
	socks[nsocks++] = *s;
}

static long sockets_buf(const char *name, enum eph_proto p, const char *buf,
			size_t len)
{
	char *c = exact(buf, len);
	long n;

	nsocks = 0;
	why[0] = '\0';
	n = os(name)->parse_sockets(c, len, p, collect, NULL, why, sizeof(why));
	free(c);
	if (n >= 0)
		ck_assert_int_eq(n, nsocks);
	return n;
}

static long sockets_fixture(const char *name, enum eph_proto p,
			    const char *file)
{
	size_t len;
	char *buf = fixture(file, &len);
	long n = sockets_buf(name, p, buf, len);

	free(buf);
	return n;
}

static long sockets_str(const char *name, enum eph_proto p, const char *s)
{
	return sockets_buf(name, p, s, strlen(s));
}

static const struct eph_sock *find(unsigned lport, unsigned rport)
{
	for (int i = 0; i < nsocks; i++)
		if (socks[i].lport == lport && socks[i].rport == rport)
			return &socks[i];
	return NULL;
}

static void assert_v4(const uint8_t *b, const char *want)
{
	uint8_t w[4];

	ck_assert_int_eq(inet_pton(AF_INET, want, w), 1);
	ck_assert_mem_eq(b, w, 4);
}

static void assert_v6(const uint8_t *b, const char *want)
{
	uint8_t w[16];

	ck_assert_int_eq(inet_pton(AF_INET6, want, w), 1);
	ck_assert_mem_eq(b, w, 16);
}

#define T (1u << EPH_TCP)
#define U (1u << EPH_UDP)

static void assert_range(uint8_t protocols, unsigned tl, unsigned th,
			 unsigned ul, unsigned uh)
{
	ck_assert_uint_eq(R.protocols, protocols);
	if (protocols & T) {
		ck_assert_uint_eq(R.proto[EPH_TCP].low, tl);
		ck_assert_uint_eq(R.proto[EPH_TCP].high, th);
	}
	if (protocols & U) {
		ck_assert_uint_eq(R.proto[EPH_UDP].low, ul);
		ck_assert_uint_eq(R.proto[EPH_UDP].high, uh);
	}
}

/* ---- ranges: good ----------------------------------------------------- */

START_TEST(freebsd_portrange)
{
	ck_assert_int_eq(range_fixture("freebsd", "freebsd/portrange.txt"), 0);
	assert_range(T | U, 10000, 65535, 10000, 65535);
	ck_assert(R.has_alt);
	ck_assert_uint_eq(R.alt_low, 49152);
	ck_assert_uint_eq(R.alt_high, 65535);
	ck_assert(R.has_reserved_range);
	ck_assert_uint_eq(R.resv_low, 600);
	ck_assert_uint_eq(R.resv_high, 1023);
	/* No reserved ports: the bitmap was cleared. */
	ck_assert_uint_eq(
	    eph_reserved_count(R.proto[EPH_TCP].reserved, 1, 65535), 0);
}
END_TEST

START_TEST(freebsd_legacy_and_minimal)
{
	ck_assert_int_eq(
	    range_fixture("freebsd", "freebsd/portrange-legacy.txt"), 0);
	assert_range(T | U, 1024, 5000, 1024, 5000);
	/* first/last alone: no second range. */
	ck_assert_int_eq(range_str("freebsd", "net.inet.ip.portrange.first: "
					      "49152\r\n"
					      "net.inet.ip.portrange.last:\t"
					      "65535\r\n"),
			 0);
	assert_range(T | U, 49152, 65535, 49152, 65535);
	ck_assert(!R.has_alt);
	ck_assert(!R.has_reserved_range);
}
END_TEST

START_TEST(macos_portrange)
{
	ck_assert_int_eq(range_fixture("macos", "macos/portrange.txt"), 0);
	assert_range(T | U, 49152, 65535, 49152, 65535);
	ck_assert(R.has_alt);
	ck_assert_ptr_eq(eph_os_find("Darwin"), &eph_os_macos);
}
END_TEST

START_TEST(openbsd_sysctl)
{
	ck_assert_int_eq(range_fixture("openbsd", "openbsd/sysctl.txt"), 0);
	assert_range(T | U, 1024, 49151, 1024, 49151);
	ck_assert(R.has_alt);
	ck_assert_uint_eq(R.alt_low, 49152);
	ck_assert_uint_eq(R.alt_high, 65535);
	ck_assert_int_eq(range_fixture("openbsd", "openbsd/sysctl-spaced.txt"),
			 0);
	assert_range(T | U, 32768, 49151, 32768, 49151);
}
END_TEST

START_TEST(aix_no)
{
	ck_assert_int_eq(range_fixture("aix", "aix/no-a.txt"), 0);
	assert_range(T | U, 32768, 65535, 49152, 65535);
	ck_assert(!R.has_alt);
	/* `no -a | fgrep tcp_ephemeral`: TCP alone. */
	ck_assert_int_eq(range_fixture("aix", "aix/no-a-tcp-only.txt"), 0);
	assert_range(T, 32768, 65535, 0, 0);
	/* no -F: restricted tunables under a '#' header. */
	ck_assert_int_eq(range_str("aix", "tcp_ephemeral_low = 32768\n"
					  "##Restricted tunables\n"
					  "tcp_ephemeral_high = 65535\n"),
			 0);
	assert_range(T, 32768, 65535, 0, 0);
}
END_TEST

START_TEST(solaris_ndd_and_ipadm)
{
	ck_assert_int_eq(range_fixture("solaris", "solaris/ndd.txt"), 0);
	assert_range(T | U, 32768, 65535, 32768, 65535);
	ck_assert_int_eq(range_fixture("solaris", "solaris/ipadm.txt"), 0);
	assert_range(T | U, 32768, 65535, 40000, 65535);
	/* Two values: TCP only; CRLF and no blank line. */
	ck_assert_int_eq(range_str("solaris", "49152\r\n61000\r\n"), 0);
	assert_range(T, 49152, 61000, 0, 0);
	ck_assert_int_eq(range_str("solaris",
				   "PROTO PROPERTY PERM CURRENT PERSISTENT "
				   "DEFAULT POSSIBLE\n"
				   "tcp smallest_anon_port rw 50000 50000 "
				   "32768 1024-65535\n"
				   "tcp largest_anon_port rw 60000 60000 65535 "
				   "32768-65535\n"),
			 0);
	assert_range(T, 50000, 60000, 0, 0);
}
END_TEST

START_TEST(hpux_ndd)
{
	ck_assert_int_eq(range_fixture("hpux", "hpux/ndd.txt"), 0);
	assert_range(T | U, 49152, 65535, 49152, 65535);
}
END_TEST

START_TEST(tru64_sysconfig)
{
	ck_assert_int_eq(range_fixture("tru64", "tru64/sysconfig.txt"), 0);
	assert_range(T | U, 1024, 5000, 1024, 5000);
	/* A tab-indented stanza with other attributes. */
	ck_assert_int_eq(range_fixture("tru64", "tru64/sysconfig-iana.txt"), 0);
	assert_range(T | U, 49152, 65535, 49152, 65535);
}
END_TEST

START_TEST(static_headers)
{
	ck_assert_int_eq(range_fixture("irix", "irix/in.h.txt"), 0);
	assert_range(T | U, 1024, 65535, 1024, 65535);
	ck_assert_int_eq(range_str("irix", ""), 0);
	assert_range(T | U, 1024, 65535, 1024, 65535);
	ck_assert(os("irix")->range_optional);
	ck_assert_int_eq(range_fixture("bsdos", "bsdos/in.h.txt"), 0);
	assert_range(T | U, 49152, 65535, 49152, 65535);
	ck_assert_int_eq(range_str("bsdos", "\n \n"), 0);
	assert_range(T | U, 49152, 65535, 49152, 65535);
	ck_assert_int_eq(range_str("bsdos", "# define IPPORT_DYNAMIC 50000\n"
					    "#define IPPORT_DYNAMIC_LAST "
					    "60000 /* top */\n"),
			 0);
	assert_range(T | U, 50000, 60000, 50000, 60000);
}
END_TEST

START_TEST(windows_netsh)
{
	ck_assert_int_eq(range_fixture("windows", "windows/dynamicport.txt"),
			 0);
	assert_range(T | U, 49152, 65535, 49152, 65535);
	ck_assert_int_eq(
	    range_fixture("windows", "windows/dynamicport-xp-like.txt"), 0);
	assert_range(T, 1025, 5000, 0, 0);
	/* excludedportrange appended: the protocol's reserved ports. */
	ck_assert_int_eq(
	    range_fixture("windows", "windows/dynamicport-excluded.txt"), 0);
	assert_range(T, 49152, 65535, 0, 0);
	ck_assert_uint_eq(
	    eph_reserved_count(R.proto[EPH_TCP].reserved, 49152, 65535), 161);
	ck_assert(eph_bit_test(R.proto[EPH_TCP].reserved, 5357));
	/* LF only, ipv4 and ipv6 outputs concatenated, agreeing. */
	ck_assert_int_eq(range_str("windows",
				   "Protocol udp Dynamic Port Range\n"
				   "-----------------\n"
				   "Start Port      : 10000\n"
				   "Number of Ports : 1000\n\n"
				   "Protocol udp Dynamic Port Range\n"
				   "-----------------\n"
				   "Start Port      : 10000\n"
				   "Number of Ports : 1000\n"),
			 0);
	assert_range(U, 0, 0, 10000, 10999);
	/* The top of the port space exactly. */
	ck_assert_int_eq(range_str("windows",
				   "Protocol tcp Dynamic Port "
				   "Range\r\nStart Port : "
				   "65535\r\nNumber of Ports : 1\r\n"),
			 0);
	assert_range(T, 65535, 65535, 0, 0);
}
END_TEST

START_TEST(linux_sysctl)
{
	ck_assert_int_eq(range_fixture("linux", "linux/sysctl.txt"), 0);
	assert_range(T | U, 40000, 40099, 40000, 40099);
	ck_assert_uint_eq(
	    eph_reserved_count(R.proto[EPH_TCP].reserved, 40000, 40099), 6);
	ck_assert_uint_eq(
	    eph_reserved_count(R.proto[EPH_UDP].reserved, 40000, 40099), 6);
	ck_assert_int_eq(range_fixture("linux", "linux/proc-range.txt"), 0);
	assert_range(T | U, 32768, 60999, 32768, 60999);
	ck_assert_int_eq(
	    range_str("linux", "net.ipv4.ip_local_port_range = 1024 65535\r\n"
			       "net.ipv4.ip_local_reserved_ports = \r\n"),
	    0);
	assert_range(T | U, 1024, 65535, 1024, 65535);
	/* Within `sysctl -a`. */
	ck_assert_int_eq(range_str("linux",
				   "net.ipv4.ip_forward = 0\n"
				   "net.ipv4.ip_local_port_range = 2000\t3000\n"
				   "net.ipv4.ip_no_pmtu_disc = 0\n"),
			 0);
	assert_range(T | U, 2000, 3000, 2000, 3000);
}
END_TEST

/* ---- ranges: bad -------------------------------------------------------- */

static const struct {
	const char *os, *in, *why;
} bad_ranges[] = {
    /* missing keys */
    {"freebsd", "net.inet.ip.portrange.first: 1024\n",
     "net.inet.ip.portrange.last missing"},
    {"freebsd",
     "net.inet.ip.portrange.first: 1024\nnet.inet.ip.portrange.last: "
     "5000\nnet.inet.ip.portrange.hifirst: 49152\n",
     "hilast missing"},
    {"freebsd", "", "net.inet.ip.portrange.first missing"},
    {"openbsd", "net.inet.ip.portlast=49151\n",
     "net.inet.ip.portfirst missing"},
    {"aix", "tcp_ephemeral_low = 32768\n", "tcp_ephemeral_high missing"},
    {"aix", "arpqsize = 12\n", "tcp_ephemeral_low and tcp_ephemeral_high"},
    {"tru64", "inet:\nipport_userreserved = 5000\n",
     "ipport_userreserved_min missing"},
    {"irix", "#define IPPORT_RESERVED 1024\n", "IPPORT_MAXPORT missing"},
    {"bsdos", "/* nothing */\n", "IPPORT_DYNAMIC missing"},
    {"windows", "Protocol tcp Dynamic Port Range\r\nStart Port : 49152\r\n",
     "\"Number of Ports\" missing"},
    {"windows", "\r\n\r\n", "no \"Protocol tcp Dynamic Port Range\""},
    {"solaris", "tcp smallest_anon_port rw 32768 -- 32768 x\n",
     "expected ndd's values"},
    {"solaris", "32768\n", "expected 2 values"},
    {"solaris",
     "PROTO PROPERTY PERM CURRENT\ntcp smallest_anon_port rw 32768\n",
     "tcp largest_anon_port missing"},
    {"hpux", "", "expected 2 values"},
    {"linux", "", "net.ipv4.ip_local_port_range missing"},
    /* garbage */
    {"freebsd", "hello world\n", "line 1: expected \"name = value\""},
    {"openbsd", "net.inet.ip.portfirst=abc\nnet.inet.ip.portlast=49151\n",
     "line 1: net.inet.ip.portfirst: expected a port number"},
    {"aix", "tcp_ephemeral_low = 32768x\ntcp_ephemeral_high = 65535\n",
     "expected a port number"},
    {"hpux", "49152\n\noperation failed\n", "line 3"},
    {"windows", "Protocolo tcp Intervalo\r\n", "not `netsh int ipv4"},
    {"windows", "Protocol sctp Dynamic Port Range\r\n", "line 1"},
    {"windows",
     "Protocol tcp Dynamic Port Range\r\nStart Port : x\r\nNumber of "
     "Ports : 1\r\n",
     "line 2: expected a number"},
    {"linux", "net.ipv4.ip_local_port_range = 1024\n", "LOW HIGH"},
    {"linux",
     "net.ipv4.ip_local_port_range = 1024 2000\n"
     "net.ipv4.ip_local_reserved_ports = 80,a\n",
     "ip_local_reserved_ports"},
    {"linux", "net.ipv4.tcp_fin_timeout = 60\n",
     "net.ipv4.ip_local_port_range missing"},
    {"linux", "net.ipv4.ip_local_port_range = 1 2\n1 2\n", "line 2"},
    {"freebsd",
     "net.inet.ip.portrange.first: 1024\nnet.inet.ip.portrange.first: "
     "1025\nnet.inet.ip.portrange.last: 5000\n",
     "line 2: net.inet.ip.portrange.first given twice"},
    /* values out of 1-65535 */
    {"freebsd",
     "net.inet.ip.portrange.first: 0\nnet.inet.ip.portrange.last: 5000\n",
     "from 1 to 65535, got \"0\""},
    {"freebsd",
     "net.inet.ip.portrange.first: 1024\nnet.inet.ip.portrange.last: "
     "65536\n",
     "got \"65536\""},
    {"tru64", "ipport_userreserved = 99999999\nipport_userreserved_min = 1\n",
     "got \"99999999\""},
    {"solaris", "0\n\n65535\n", "line 1"},
    {"hpux", "49152\n\n70000\n", "line 3"},
    {"irix", "#define IPPORT_RESERVED 1024\n#define IPPORT_MAXPORT 65536\n",
     "IPPORT_MAXPORT: expected a port number"},
    {"windows",
     "Protocol tcp Dynamic Port Range\r\nStart Port : 60000\r\nNumber of "
     "Ports : 16384\r\n",
     "ends at 76383, above 65535"},
    {"windows",
     "Protocol tcp Dynamic Port Range\r\nStart Port : 0\r\nNumber of "
     "Ports : 16384\r\n",
     "line 2"},
    {"linux", "0 60999\n", "LOW HIGH"},
    {"windows",
     "Protocol tcp Dynamic Port Range\nStart Port : 49152\nNumber of "
     "Ports : 16384\nProtocol tcp Port Exclusion Ranges\nStart Port End "
     "Port\n 50000 49000\n",
     "line 6: expected an excluded range"},
    {"windows", "Protocol tcp Port Exclusion Ranges\n 80 x\n",
     "line 2: expected an excluded range"},
    /* low > high */
    {"freebsd",
     "net.inet.ip.portrange.first: 5000\nnet.inet.ip.portrange.last: "
     "1024\n",
     "low 5000 is above high 1024"},
    {"freebsd",
     "net.inet.ip.portrange.first: 1024\nnet.inet.ip.portrange.last: "
     "5000\nnet.inet.ip.portrange.hifirst: 65535\n"
     "net.inet.ip.portrange.hilast: 49152\n",
     "hifirst/hilast: low 65535 is above high 49152"},
    {"openbsd", "net.inet.ip.portfirst=49151\nnet.inet.ip.portlast=1024\n",
     "above high"},
    {"aix",
     "udp_ephemeral_low = 65535\nudp_ephemeral_high = 32768\n"
     "tcp_ephemeral_low = 1\ntcp_ephemeral_high = 2\n",
     "udp_ephemeral_low/high: low 65535"},
    {"solaris", "65535\n\n32768\n", "low 65535 is above high 32768"},
    {"solaris",
     "PROTO PROPERTY PERM CURRENT\nudp smallest_anon_port rw 60000\n"
     "udp largest_anon_port rw 50000\n",
     "udp smallest_anon_port/largest_anon_port: low 60000"},
    {"tru64", "ipport_userreserved = 1024\nipport_userreserved_min = 5000\n",
     "low 5000 is above high 1024"},
    {"bsdos", "#define IPPORT_DYNAMIC 65535\n#define IPPORT_DYNAMIC_LAST 1\n",
     "above high"},
    {"linux", "net.ipv4.ip_local_port_range = 60999 32768\n", "LOW HIGH"},
    {"windows",
     "Protocol tcp Dynamic Port Range\nStart Port : 49152\nNumber of "
     "Ports : 16384\n\nProtocol tcp Dynamic Port Range\nStart Port : "
     "1025\nNumber of Ports : 3976\n",
     "two different tcp ranges"},
};

START_TEST(range_invalid)
{
	int rc = range_str(bad_ranges[_i].os, bad_ranges[_i].in);

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(why, bad_ranges[_i].why) != NULL,
		      "%s on %s: why \"%s\" lacks \"%s\"", bad_ranges[_i].os,
		      bad_ranges[_i].in, why, bad_ranges[_i].why);
}
END_TEST

/* A range parser stops at len: what follows it is never read. */
START_TEST(range_respects_len)
{
	const char *s = "net.inet.ip.portrange.first: 1024\n"
			"net.inet.ip.portrange.last: 5000\n"
			"net.inet.ip.portrange.first: 9";

	ck_assert_int_eq(range_buf("freebsd", s, strlen(s) - 30), 0);
	assert_range(T | U, 1024, 5000, 1024, 5000);
}
END_TEST

/* ---- socket tables ------------------------------------------------------ */

START_TEST(freebsd_netstat)
{
	const struct eph_sock *s;

	ck_assert_int_eq(
	    sockets_fixture("freebsd", EPH_TCP, "freebsd/netstat.txt"), 10);
	s = find(10001, 443);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->family, AF_INET);
	ck_assert_uint_eq(s->state, EPH_ST_ESTABLISHED);
	ck_assert_uint_eq(s->owner, EPH_OWNER_UNKNOWN);
	assert_v4(s->laddr, "192.0.2.10");
	assert_v4(s->raddr, "203.0.113.5");
	ck_assert_uint_eq(find(10004, 443)->state, EPH_ST_TIME_WAIT);
	ck_assert_uint_eq(find(50000, 80)->state, EPH_ST_SYN_SENT);
	s = find(50123, 80); /* fe80::1%em0: the zone is dropped */
	ck_assert_uint_eq(s->family, AF_INET6);
	assert_v6(s->laddr, "fe80::1");
	s = find(22, 0); /* tcp46 *.22 */
	ck_assert_uint_eq(s->family, AF_INET6);
	ck_assert_uint_eq(s->state, EPH_ST_LISTEN);
	ck_assert_int_eq(
	    sockets_fixture("freebsd", EPH_UDP, "freebsd/netstat.txt"), 3);
	ck_assert_uint_eq(find(10010, 53)->state, EPH_ST_ESTABLISHED);
	ck_assert_uint_eq(find(514, 0)->state, EPH_ST_CLOSE);
	ck_assert_uint_eq(find(11000, 0)->family, AF_INET6);
}
END_TEST

START_TEST(freebsd_sockstat)
{
	const struct eph_sock *s;

	/* 9 TCP lines: the listener of three nginx workers and a socket
	 * passed to another count once. */
	ck_assert_int_eq(
	    sockets_fixture("freebsd", EPH_TCP, "freebsd/sockstat.txt"), 6);
	s = find(10001, 443);
	ck_assert_ptr_nonnull(s);
	assert_v4(s->laddr, "192.0.2.10");
	ck_assert_uint_eq(s->state, EPH_ST_ESTABLISHED);
	ck_assert_uint_eq(find(12000, 0)->state, EPH_ST_LISTEN);
	ck_assert_ptr_nonnull(find(10004, 443)); /* the "?" owner line */
	ck_assert_int_eq(
	    sockets_fixture("freebsd", EPH_UDP, "freebsd/sockstat.txt"), 2);
	/* -s adds the state; [::1]:22 bracketed. */
	ck_assert_int_eq(
	    sockets_str("freebsd", EPH_TCP,
			"USER COMMAND PID FD PROTO LOCAL ADDRESS FOREIGN "
			"ADDRESS PATH STATE\n"
			"root sshd 1 3 tcp6 [::1]:22 [::1]:50000 ESTABLISHED\n"
			"? ? ? ? tcp4 10.0.0.1:50001 10.0.0.2:80 TIME_WAIT\n"),
	    2);
	assert_v6(find(22, 50000)->laddr, "::1");
	ck_assert_uint_eq(find(50001, 80)->state, EPH_ST_TIME_WAIT);
}
END_TEST

START_TEST(bsd_netstat_others)
{
	ck_assert_int_eq(sockets_fixture("macos", EPH_TCP, "macos/netstat.txt"),
			 5);
	ck_assert_int_eq(sockets_fixture("macos", EPH_UDP, "macos/netstat.txt"),
			 2);
	ck_assert_int_eq(
	    sockets_fixture("openbsd", EPH_TCP, "openbsd/netstat.txt"), 7);
	ck_assert_uint_eq(find(25, 0)->family, AF_INET6);
	ck_assert_int_eq(
	    sockets_fixture("openbsd", EPH_UDP, "openbsd/netstat.txt"), 3);
	ck_assert_int_eq(sockets_fixture("aix", EPH_TCP, "aix/netstat.txt"), 7);
	ck_assert_uint_eq(find(33002, 1521)->state, EPH_ST_CLOSE_WAIT);
	ck_assert_int_eq(sockets_fixture("aix", EPH_UDP, "aix/netstat.txt"), 3);
	ck_assert_int_eq(sockets_fixture("hpux", EPH_TCP, "hpux/netstat.txt"),
			 5);
	ck_assert_int_eq(sockets_fixture("hpux", EPH_UDP, "hpux/netstat.txt"),
			 2);
	ck_assert_int_eq(sockets_fixture("tru64", EPH_TCP, "tru64/netstat.txt"),
			 5);
	ck_assert_int_eq(sockets_fixture("irix", EPH_TCP, "irix/netstat.txt"),
			 3);
	ck_assert_int_eq(sockets_fixture("bsdos", EPH_TCP, "bsdos/netstat.txt"),
			 2);
	ck_assert_int_eq(sockets_fixture("bsdos", EPH_UDP, "bsdos/netstat.txt"),
			 1);
	/* Tabs and CRLF. */
	ck_assert_int_eq(sockets_str("openbsd", EPH_TCP,
				     "tcp\t0\t0\t10.0.0.1.40000\t10.0.0.2.80"
				     "\tFIN_WAIT_1\r\n"),
			 1);
	ck_assert_uint_eq(socks[0].state, EPH_ST_FIN_WAIT1);
}
END_TEST

START_TEST(solaris_netstat)
{
	const struct eph_sock *s;

	ck_assert_int_eq(
	    sockets_fixture("solaris", EPH_TCP, "solaris/netstat.txt"), 9);
	s = find(34500, 8080);
	ck_assert_uint_eq(s->family, AF_INET6);
	assert_v6(s->laddr, "::1");
	ck_assert_uint_eq(find(34003, 443)->state, EPH_ST_FIN_WAIT2);
	ck_assert_uint_eq(find(35000, 0)->state, EPH_ST_LISTEN);
	ck_assert_uint_eq(find(0, 0)->state, EPH_ST_CLOSE); /* IDLE */
	ck_assert_int_eq(
	    sockets_fixture("solaris", EPH_UDP, "solaris/netstat.txt"), 5);
	s = find(33001, 53);
	ck_assert_uint_eq(s->state, EPH_ST_ESTABLISHED);
	assert_v4(s->raddr, "10.2.0.1");
	ck_assert_uint_eq(find(33000, 0)->state, EPH_ST_CLOSE);
}
END_TEST

START_TEST(windows_netstat)
{
	const struct eph_sock *s;

	ck_assert_int_eq(
	    sockets_fixture("windows", EPH_TCP, "windows/netstat-ano.txt"), 10);
	ck_assert_uint_eq(find(135, 0)->state, EPH_ST_LISTEN);
	ck_assert_uint_eq(find(50124, 443)->state, EPH_ST_TIME_WAIT);
	s = find(50200, 445);
	ck_assert_uint_eq(s->family, AF_INET6);
	assert_v6(s->laddr, "fe80::1c2b:3a4d:5e6f:7a8b");
	assert_v6(s->raddr, "fe80::1");
	ck_assert_uint_eq(find(49665, 0)->family, AF_INET6);
	ck_assert_int_eq(
	    sockets_fixture("windows", EPH_UDP, "windows/netstat-ano.txt"), 4);
	ck_assert_uint_eq(find(50300, 53)->state, EPH_ST_ESTABLISHED);
	ck_assert_uint_eq(find(53000, 0)->state, EPH_ST_CLOSE);
	ck_assert_int_eq(
	    sockets_fixture("windows", EPH_TCP, "windows/netstat-an.txt"), 2);
	ck_assert_int_eq(
	    sockets_fixture("windows", EPH_UDP, "windows/netstat-an.txt"), 1);
}
END_TEST

START_TEST(linux_ss)
{
	const struct eph_sock *s;

	ck_assert_int_eq(sockets_fixture("linux", EPH_TCP, "linux/ss.txt"), 9);
	s = find(8080, 40001); /* [::ffff:127.0.0.1]: mapped to IPv4 */
	ck_assert_uint_eq(s->family, AF_INET);
	assert_v4(s->laddr, "127.0.0.1");
	ck_assert_uint_eq(find(40003, 8080)->state, EPH_ST_TIME_WAIT);
	ck_assert_uint_eq(find(40004, 8080)->family, AF_INET6);
	assert_v4(find(40012, 80)->laddr, "10.0.0.1"); /* %eth0 dropped */
	ck_assert_int_eq(sockets_fixture("linux", EPH_UDP, "linux/ss.txt"), 3);
	ck_assert_uint_eq(find(40030, 0)->state, EPH_ST_CLOSE);
	/* ss -tan: no Netid column, TCP. */
	ck_assert_int_eq(
	    sockets_str("linux", EPH_TCP,
			"State Recv-Q Send-Q Local Address:Port Peer "
			"Address:Port Process\n"
			"SYN-SENT 0 1 10.0.0.1:40000 10.0.0.2:443\n"),
	    1);
	ck_assert_uint_eq(socks[0].state, EPH_ST_SYN_SENT);
}
END_TEST

static const struct {
	const char *os;
	int proto;
	const char *in, *why;
} bad_sockets[] = {
    {"freebsd", EPH_TCP, "tcp4 0 0 192.0.2.1.22 *.*\n",
     "line 1: expected \"tcp RECV-Q"},
    {"freebsd", EPH_TCP, "Proto\ntcp4 0 0 192.0.2.1 *.* LISTEN\n",
     "line 2: expected ADDRESS.PORT"},
    {"freebsd", EPH_TCP, "tcp4 0 0 300.0.0.1.22 *.* LISTEN\n", "ADDRESS.PORT"},
    {"freebsd", EPH_TCP, "tcp4 0 0 10.0.0.1.70000 *.* LISTEN\n",
     "ADDRESS.PORT"},
    {"aix", EPH_TCP, "tcp4 0 0 *.22 *.* WHATEVER\n", "unknown TCP state"},
    {"openbsd", EPH_UDP, "udp 0 0 *.514\n", "expected \"udp RECV-Q"},
    {"solaris", EPH_TCP, "TCP: IPv4\n10.0.0.1.22 10.0.0.2.5 1 2 3 4\n",
     "line 2: expected \"LOCAL REMOTE"},
    {"solaris", EPH_TCP, "TCP: IPv4\n10.0.0.1.22 10.0.0.2.5 1 2 3 4 SLEEPING\n",
     "unknown TCP state"},
    {"solaris", EPH_TCP, "UDP: IPv4\n*.123 Busy\n",
     "expected \"LOCAL [REMOTE] STATE\""},
    {"windows", EPH_TCP, "  TCP    0.0.0.0:135   0.0.0.0:0\r\n",
     "expected \"TCP LOCAL FOREIGN STATE"},
    {"windows", EPH_TCP, "  TCP 0.0.0.0:135 0.0.0.0:0 ABHOEREN 4\r\n",
     "unknown TCP state"},
    {"windows", EPH_UDP, "  UDP 0.0.0.0 *:* 4\r\n", "line 1"},
    {"freebsd", EPH_TCP,
     "USER COMMAND PID FD PROTO LOCAL ADDRESS FOREIGN ADDRESS\n"
     "root sshd 1 3 tcp4 *:22\n",
     "line 2: expected \"USER COMMAND"},
    {"linux", EPH_TCP, "tcp ESTAB 0 0 10.0.0.1\n", "line 1"},
    {"linux", EPH_TCP, "garbage\n", "line 1"},
    {"linux", EPH_TCP, "tcp NOPE 0 0 10.0.0.1:1 10.0.0.2:2\n", "line 1"},
};

START_TEST(sockets_invalid)
{
	long n = sockets_str(bad_sockets[_i].os,
			     (enum eph_proto)bad_sockets[_i].proto,
			     bad_sockets[_i].in);

	ck_assert_int_eq(n, -EBADMSG);
	ck_assert_msg(strstr(why, bad_sockets[_i].why) != NULL,
		      "%s on %s: why \"%s\" lacks \"%s\"", bad_sockets[_i].os,
		      bad_sockets[_i].in, why, bad_sockets[_i].why);
}
END_TEST

/* ---- eph_captured_collect ------------------------------------------------ */

static int captured(const char *name, const char *range_file,
		    const char *sockets_file, struct eph_snapshot *snap,
		    struct eph_captured *info)
{
	size_t rl = 0, sl = 0;
	char *r = range_file ? fixture(range_file, &rl) : NULL;
	char *s = sockets_file ? fixture(sockets_file, &sl) : NULL;
	int rc = eph_captured_collect(name, r, rl, s, sl, NULL, snap, info, why,
				      sizeof(why));

	free(r);
	free(s);
	return rc;
}

START_TEST(captured_freebsd)
{
	static struct eph_snapshot snap;
	static struct eph_captured info;
	const struct eph_proto_stats *t = &snap.proto[EPH_TCP],
				     *u = &snap.proto[EPH_UDP];

	ck_assert_int_eq(captured("FreeBSD", "freebsd/portrange.txt",
				  "freebsd/netstat.txt", &snap, &info),
			 0);
	ck_assert_str_eq(info.os, "freebsd");
	ck_assert(info.sockets && info.has_alt);
	ck_assert_uint_eq(info.alt_ports_in_use[EPH_TCP], 2);
	ck_assert(t->collected && u->collected);
	ck_assert_uint_eq(t->low, 10000);
	ck_assert_uint_eq(t->sockets_total, 10);
	ck_assert_uint_eq(t->sockets_in_range, 8);
	ck_assert_uint_eq(t->ports_in_use, 8);
	ck_assert_uint_eq(t->time_wait, 2);
	ck_assert_uint_eq(t->listeners_in_range, 1);
	ck_assert_uint_eq(t->listeners[0].port, 12000);
	/* TIME_WAIT holds its port outside Linux. */
	ck_assert_uint_eq(t->time_wait_reusable, 0);
	ck_assert_uint_eq(u->sockets_in_range, 2);
	ck_assert_uint_eq(u->listeners_in_range, 1);
	ck_assert(!t->owners_exact);
}
END_TEST

START_TEST(captured_windows_and_static)
{
	static struct eph_snapshot snap;
	static struct eph_captured info;

	ck_assert_int_eq(captured("windows", "windows/dynamicport-xp-like.txt",
				  "windows/netstat-ano.txt", &snap, &info),
			 0);
	/* Only TCP had a range. */
	ck_assert(snap.proto[EPH_TCP].collected);
	ck_assert(!snap.proto[EPH_UDP].collected);
	ck_assert_uint_eq(snap.protocols, T);
	ck_assert_uint_eq(snap.proto[EPH_TCP].sockets_total, 10);
	ck_assert_uint_eq(snap.proto[EPH_TCP].sockets_in_range, 0);
	/* IRIX: no range file at all; no socket table either. */
	ck_assert_int_eq(captured("irix", NULL, NULL, &snap, &info), 0);
	ck_assert_uint_eq(snap.proto[EPH_TCP].low, 1024);
	ck_assert_uint_eq(snap.proto[EPH_TCP].sockets_total, 0);
	ck_assert(!info.sockets);
}
END_TEST

START_TEST(captured_errors)
{
	static struct eph_snapshot snap;
	static struct eph_captured info;

	ck_assert_int_eq(captured("plan9", NULL, NULL, &snap, &info), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "known: linux, freebsd"));
	ck_assert_int_eq(captured("freebsd", NULL, NULL, &snap, &info),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "sysctl net.inet.ip.portrange"));
	ck_assert_int_eq(
	    captured("solaris", "hpux/netstat.txt", NULL, &snap, &info),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "Solaris/illumos range"));
	ck_assert_int_eq(captured("windows", "windows/dynamicport.txt",
				  "freebsd/netstat.txt", &snap, &info),
			 0); /* nothing Windows-like: no socket at all */
	ck_assert_uint_eq(snap.proto[EPH_TCP].sockets_total, 0);
	ck_assert_int_eq(captured("linux", "linux/sysctl.txt",
				  "solaris/netstat.txt", &snap, &info),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "Linux socket table (`ss -tuan`)"));
}
END_TEST

/* ---- helpers -------------------------------------------------------- */

START_TEST(expand_template)
{
	char buf[128];

	ck_assert_uint_eq(eph_os_expand("start={L} num={N} top={H} {P}.{X}",
					49152, 65535, "80,443", buf,
					sizeof(buf)),
			  strlen("start=49152 num=16384 top=65535 80,443.{X}"));
	ck_assert_str_eq(buf, "start=49152 num=16384 top=65535 80,443.{X}");
	/* Truncation still terminates and reports the length needed. */
	ck_assert_uint_eq(eph_os_expand("{L}-{H}", 1, 65535, NULL, buf, 4), 7);
	ck_assert_str_eq(buf, "1-6");
}
END_TEST

START_TEST(table_complete)
{
	for (int i = 0; eph_os_list[i]; i++) {
		const struct eph_os *o = eph_os_list[i];

		ck_assert_ptr_eq(eph_os_find(o->name), o);
		ck_assert_ptr_nonnull(o->parse_range);
		ck_assert_ptr_nonnull(o->parse_sockets);
		ck_assert_ptr_nonnull(o->default_note);
		ck_assert_ptr_nonnull(o->persist_note);
		ck_assert_uint_le(o->default_low, o->default_high);
		/* A system either has commands or says why not. */
		ck_assert((o->cmd_now != NULL) == (o->cmd_persist != NULL));
	}
	ck_assert_ptr_null(eph_os_find("beos"));
	ck_assert_ptr_eq(eph_os_find("illumos"), &eph_os_solaris);
	ck_assert_ptr_eq(eph_os_find("HP-UX"), &eph_os_hpux);
}
END_TEST

START_TEST(state_names)
{
	ck_assert_int_eq(eph_os_state_parse("TIME-WAIT", 9), EPH_ST_TIME_WAIT);
	ck_assert_int_eq(eph_os_state_parse("time_wait", 9), EPH_ST_TIME_WAIT);
	ck_assert_int_eq(eph_os_state_parse("SYN_RCVD", 8), EPH_ST_SYN_RECV);
	ck_assert_int_eq(eph_os_state_parse("SYN_RECEIVED", 12),
			 EPH_ST_SYN_RECV);
	ck_assert_int_eq(eph_os_state_parse("LISTENING", 9), EPH_ST_LISTEN);
	ck_assert_int_eq(eph_os_state_parse("FIN_WAIT1", 9), EPH_ST_FIN_WAIT1);
	ck_assert_int_eq(eph_os_state_parse("BOUND", 5), EPH_ST_BOUND);
	ck_assert_int_eq(eph_os_state_parse("ESTABLISHEDX", 12),
			 EPH_ST_UNKNOWN);
	ck_assert_int_eq(eph_os_state_parse("AVERYLONGSTATENAME", 18),
			 EPH_ST_UNKNOWN);
}
END_TEST

START_TEST(kv_forms)
{
	struct eph_kv kv[1] = {{.key = "a.b"}};
	const char *s = "  a.b\t=\t80 \r\nother: text value\r\n";
	char *p = exact(s, strlen(s));

	ck_assert_int_eq(eph_kv_parse(p, strlen(s), kv, 1, 1, why, sizeof(why)),
			 0);
	ck_assert(kv[0].found);
	ck_assert_uint_eq(kv[0].value, 80);
	free(p);
}
END_TEST

static Suite *os_suite(void)
{
	Suite *s = suite_create("os");
	TCase *tc;

	tc = tcase_create("ranges");
	tcase_add_test(tc, freebsd_portrange);
	tcase_add_test(tc, freebsd_legacy_and_minimal);
	tcase_add_test(tc, macos_portrange);
	tcase_add_test(tc, openbsd_sysctl);
	tcase_add_test(tc, aix_no);
	tcase_add_test(tc, solaris_ndd_and_ipadm);
	tcase_add_test(tc, hpux_ndd);
	tcase_add_test(tc, tru64_sysconfig);
	tcase_add_test(tc, static_headers);
	tcase_add_test(tc, windows_netsh);
	tcase_add_test(tc, linux_sysctl);
	tcase_add_loop_test(tc, range_invalid, 0,
			    (int)(sizeof(bad_ranges) / sizeof(bad_ranges[0])));
	tcase_add_test(tc, range_respects_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("sockets");
	tcase_add_test(tc, freebsd_netstat);
	tcase_add_test(tc, freebsd_sockstat);
	tcase_add_test(tc, bsd_netstat_others);
	tcase_add_test(tc, solaris_netstat);
	tcase_add_test(tc, windows_netstat);
	tcase_add_test(tc, linux_ss);
	tcase_add_loop_test(
	    tc, sockets_invalid, 0,
	    (int)(sizeof(bad_sockets) / sizeof(bad_sockets[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("captured");
	tcase_add_test(tc, captured_freebsd);
	tcase_add_test(tc, captured_windows_and_static);
	tcase_add_test(tc, captured_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, expand_template);
	tcase_add_test(tc, table_complete);
	tcase_add_test(tc, state_names);
	tcase_add_test(tc, kv_forms);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return eph_run_suite(os_suite());
}
