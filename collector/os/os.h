/*
 * os.h - the ephemeral range and socket table of every operating system
 * ephport knows, read from the verbatim output of that system's own
 * commands (sysctl, no, ndd, ipadm, sysconfig, netsh, netstat, sockstat,
 * ss).  One file per system in collector/os/; all of them are pure
 * parsers, built on every host, so that `ephport --os NAME` can analyse
 * what an operator captured on another machine.
 *
 * Conventions as in ephport.h: functions return 0 or a negative errno and
 * never log; "why" buffers (>= 256 bytes is plenty) receive a sentence
 * naming the line or key at fault.  Buffers need not be NUL-terminated.
 */
#ifndef EPH_OS_H
#define EPH_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "range.h"
#include "sockets.h"

/* What a range parser found.  proto[] is the range applications get by
 * default (bind(0), connect() without a bind); the model uses it. */
struct eph_os_range {
	struct eph_range proto[EPH_PROTO_COUNT];
	uint8_t protocols; /* bit (1 << enum eph_proto) per range found */
	/* A second range a program must ask for (FreeBSD, macOS, OpenBSD:
	 * setsockopt(IP_PORTRANGE, IP_PORTRANGE_HIGH)); shared by TCP and
	 * UDP. */
	bool has_alt;
	uint16_t alt_low, alt_high;
	/* FreeBSD/macOS IP_PORTRANGE_LOW (rresvport()), searched downwards
	 * from lowfirst to lowlast: kept as low <= high here. */
	bool has_reserved_range;
	uint16_t resv_low, resv_high;
};

/*
 * eph_os_range_fn - parse the verbatim output of the system's range
 * command (eph_os.range_cmd) into *out, which is cleared first.
 * Returns 0, or -EINVAL: a key missing, a value not a number in
 * 1..65535, low > high, or a line the command never prints; why says
 * which.
 */
typedef int (*eph_os_range_fn)(const char *buf, size_t len,
			       struct eph_os_range *out, char *why,
			       size_t why_len);

/*
 * eph_os_sockets_fn - parse the verbatim output of the system's socket
 * table command (eph_os.sockets_cmd) and hand every TCP and UDP socket
 * of protocol proto to cb (owner unknown, expires_ms 0; IPv4-mapped IPv6
 * addresses as AF_INET).  Headers, other protocols and other sections
 * (UNIX sockets) are skipped.  Returns the number of sockets handed over,
 * or -EBADMSG for a malformed line (why names it, 1-based).
 */
typedef long (*eph_os_sockets_fn)(const char *buf, size_t len,
				  enum eph_proto proto, eph_sock_cb cb,
				  void *ctx, char *why, size_t why_len);

/* One operating system. */
struct eph_os {
	const char *name;  /* for --os: "freebsd" */
	const char *label; /* for people: "FreeBSD" */
	/* The commands whose verbatim output --range-file and
	 * --sockets-file take (the man page lists them). */
	const char *range_cmd;
	const char *sockets_cmd;
	eph_os_range_fn parse_range;
	eph_os_sockets_fn parse_sockets;
	/* The range parser accepts an empty buffer (static ranges). */
	bool range_optional;
	/* TCP and UDP have separate settings. */
	bool per_protocol;
	/* ephport reads this system live (not only captured output). */
	bool live;
	/* connect() may take over a TIME_WAIT port (Linux tcp_tw_reuse);
	 * elsewhere TIME_WAIT is taken to block its port. */
	bool tw_reuse;
	uint16_t default_low, default_high; /* the system's own defaults */
	/* Lowest start the system accepts (Windows: 1025). */
	uint16_t min_low;
	/* Which range applications get by default, one sentence. */
	const char *default_note;
	/* How to change the range, with {L} and {H} standing for the new
	 * bounds and {N} for their count (eph_os_expand()); one command or
	 * file line per '\n'-terminated line.  NULL: it cannot be changed
	 * (persist_note says why). */
	const char *cmd_now;
	const char *cmd_persist;
	const char *persist_note;
	/* What the system calls the ports it keeps out of the range
	 * (reported as reserved); NULL: no such setting. */
	const char *reserved_name;
	/* How to reserve ports {P} ("8080,9000-9010") inside the range;
	 * NULL: the system has no such setting. */
	const char *cmd_reserve;
};

/* Every system, ending with NULL. */
EPH_HIDDEN extern const struct eph_os *const eph_os_list[];

/* The system called name (case-insensitive; "macos" also "darwin"), or
 * NULL. */
EPH_HIDDEN const struct eph_os *eph_os_find(const char *name);

/*
 * eph_os_expand - copy template into buf replacing {L}, {H} and {N} by
 * low, high and high - low + 1, and {P} by ports (NULL: "").  Always
 * NUL-terminates (when len > 0); returns the length it needed, like snprintf.
 */
EPH_HIDDEN size_t eph_os_expand(const char *template, unsigned low,
				unsigned high, const char *ports, char *buf,
				size_t len);

/* --- helpers shared by the parsers (os.c) ------------------------------ */

/* A wanted key of a "key<sep>value" listing, and where its value goes. */
struct eph_kv {
	const char *key;
	bool optional;	/* its absence is no error */
	unsigned value; /* out */
	bool found;	/* out */
};

/*
 * eph_kv_parse - scan "key = value" / "key: value" / "key=value" lines
 * (spaces, tabs, CRLF; blank lines, '#' comments and lines ending in ':'
 * with no value, section headers, are skipped).  For the n wanted keys the
 * value must be a decimal number in min..65535 and appear once.  Keys not
 * wanted are ignored whatever their value.  Returns 0, or -EINVAL: a line with
 * no separator, a bad value or a repeated key (why names the line), or a
 * key not optional missing (why names it).
 */
EPH_HIDDEN int eph_kv_parse(const char *buf, size_t len, struct eph_kv *kv,
			    size_t n, unsigned min, char *why, size_t why_len);

/* Set out->proto[p] to [low, high] for every p in protocols, checking
 * low <= high: 0 or -EINVAL (why names what). */
EPH_HIDDEN int eph_os_set_range(struct eph_os_range *out, uint8_t protocols,
				unsigned low, unsigned high, const char *what,
				char *why, size_t why_len);

/*
 * eph_os_addr_parse - an address as netstat tools print it: dotted IPv4,
 * IPv6 (an optional %zone dropped), "*" (the wildcard) or, for
 * family_hint AF_INET6, "*" is "::".  Fills family and 16 bytes
 * (IPv4-mapped IPv6 normalised to AF_INET).  Returns 0 or -EINVAL.
 */
EPH_HIDDEN int eph_os_addr_parse(const char *s, size_t len, int family_hint,
				 uint8_t *family, uint8_t bytes[16]);

/*
 * eph_os_colon_endpoint - "ADDRESS:PORT" as sockstat, ss and Windows
 * print it: "*:22", "10.0.0.1:80", "[::1]:22", "[fe80::1%4]:139",
 * "::1:22" (the last ':' splits), "*:*".  0 or -EINVAL.
 */
EPH_HIDDEN int eph_os_colon_endpoint(const char *s, size_t len, int family_hint,
				     uint8_t *family, uint8_t addr[16],
				     uint16_t *port);

/* A port as netstat prints it: decimal 0..65535, "*" is 0.  0 or -EINVAL. */
EPH_HIDDEN int eph_os_port_parse(const char *s, size_t len, uint16_t *port);

/*
 * eph_os_state_parse - a TCP state name as any of the systems print it
 * (ESTABLISHED, ESTAB, LISTEN, LISTENING, TIME_WAIT, TIME-WAIT, SYN_RCVD,
 * SYN_RECEIVED, FIN_WAIT_1, FIN_WAIT1, CLOSED, BOUND, IDLE, ...), case
 * insensitive.  Returns the enum eph_tcp_state, or EPH_ST_UNKNOWN.
 */
EPH_HIDDEN int eph_os_state_parse(const char *s, size_t len);

/*
 * eph_defines_parse - "#define NAME VALUE" lines of a C header excerpt
 * (other lines are skipped) into the n wanted names, values in
 * min..65535.  Returns 0, or -EINVAL (a bad value, a name missing).
 */
EPH_HIDDEN int eph_defines_parse(const char *buf, size_t len, struct eph_kv *kv,
				 size_t n, unsigned min, char *why,
				 size_t why_len);

/* Whether buf holds nothing but whitespace. */
EPH_HIDDEN bool eph_os_blank(const char *buf, size_t len);

/* The next line of [*p, end): sets *line and *llen (no '\n', no trailing
 * '\r') and advances *p; false at the end. */
EPH_HIDDEN bool eph_os_next_line(const char **p, const char *end,
				 const char **line, size_t *llen);

/* Split a line into at most max whitespace-separated fields (pointers
 * into the line and lengths); returns how many there are (may exceed max:
 * only max are stored). */
EPH_HIDDEN size_t eph_os_fields(const char *line, size_t len, const char **f,
				size_t *flen, size_t max);

/* --- the systems (one file each) --------------------------------------- */

EPH_HIDDEN extern const struct eph_os eph_os_linux, eph_os_freebsd,
    eph_os_macos, eph_os_openbsd, eph_os_aix, eph_os_solaris, eph_os_hpux,
    eph_os_tru64, eph_os_irix, eph_os_bsdos, eph_os_windows;

/* --- socket table formats shared by several systems ---------------------- */

/*
 * ndd output: the values alone, one per line, blank lines between
 * (`ndd /dev/tcp tcp_smallest_anon_port tcp_largest_anon_port`,
 * optionally followed by the same for /dev/udp): 2 numbers (TCP only)
 * or 4 (TCP, then UDP).  Shared by Solaris and HP-UX.  0 or -EINVAL.
 */
EPH_HIDDEN int eph_ndd_parse_range(const char *buf, size_t len,
				   struct eph_os_range *out, char *why,
				   size_t why_len);

/*
 * BSD netstat -an (FreeBSD, macOS, OpenBSD, AIX, HP-UX, Tru64, IRIX,
 * BSD/OS): "tcp4 0 0 10.0.0.1.22 10.0.0.2.50000 ESTABLISHED", address
 * and port joined by the last '.'.
 */
EPH_HIDDEN long eph_netstat_bsd_parse(const char *buf, size_t len,
				      enum eph_proto proto, eph_sock_cb cb,
				      void *ctx, char *why, size_t why_len);
/* FreeBSD sockstat -46 (optionally -s): "USER COMMAND PID FD PROTO LOCAL
 * FOREIGN [STATE]".  A socket listed once per process holding it is
 * handed over once; -ENOMEM when the set of those seen cannot be had. */
EPH_HIDDEN long eph_sockstat_parse(const char *buf, size_t len,
				   enum eph_proto proto, eph_sock_cb cb,
				   void *ctx, char *why, size_t why_len);
/* Solaris/illumos netstat -an: "TCP: IPv4" sections, state last. */
EPH_HIDDEN long eph_netstat_solaris_parse(const char *buf, size_t len,
					  enum eph_proto proto, eph_sock_cb cb,
					  void *ctx, char *why, size_t why_len);
/* Windows netstat -an / -ano: "TCP 10.0.0.1:50000 10.0.0.2:443
 * ESTABLISHED [PID]", CRLF. */
EPH_HIDDEN long eph_netstat_windows_parse(const char *buf, size_t len,
					  enum eph_proto proto, eph_sock_cb cb,
					  void *ctx, char *why, size_t why_len);
/* Linux ss -tuan (Netid column; ss -tan without it is TCP only). */
EPH_HIDDEN long eph_ss_parse(const char *buf, size_t len, enum eph_proto proto,
			     eph_sock_cb cb, void *ctx, char *why,
			     size_t why_len);

#endif
