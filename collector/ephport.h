/*
 * ephport.h - public API of libephport, the collector shared by the
 * ephport command, the ephportd AgentX subagent and the collectd plugin.
 *
 * Conventions (as in libmnl): functions return 0 on success or a negative
 * errno value; they never log and never exit.  Parsers work on plain
 * buffers so they can be tested from fixtures.  A snapshot is a plain
 * value: it owns no pointers and may be copied with memcpy.
 *
 * Accounting model (see DESIGN.md): the ephemeral *pool* of a protocol is
 * [low, high] minus the reserved ports.  "In range" everywhere below means
 * "local port in the pool"; reserved ports inside [low, high] are outside
 * the pool (they are what an operator reserves for services).
 */
#ifndef EPHPORT_H
#define EPHPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EPH_PORTS	 65536
#define EPH_BITMAP_BYTES (EPH_PORTS / 8)
/* Hundredths of a percent: 10000 is 100 %. */
#define EPH_BP_FULL 10000u
/* Bounds of the fixed-size lists carried in a snapshot. */
#define EPH_TOP_MAX	  32
#define EPH_LISTENERS_MAX 64
/* Default number of destinations tracked exactly per protocol. */
#define EPH_DEST_CAP_DEFAULT 32768u

enum eph_proto { EPH_TCP = 0, EPH_UDP = 1, EPH_PROTO_COUNT };

/* Where the socket records came from. */
enum eph_source {
	EPH_SOURCE_NONE = 0,
	EPH_SOURCE_NETLINK = 1, /* NETLINK_SOCK_DIAG */
	EPH_SOURCE_PROCFS = 2,	/* /proc/net/{tcp,udp}{,6} */
};

/* Which socket source to use. */
enum eph_source_pref {
	EPH_PREFER_AUTO = 0, /* netlink, else procfs when diag is unavailable */
	EPH_PREFER_NETLINK,
	EPH_PREFER_PROCFS,
};

/*
 * TCP states, numbered as the kernel does (include/net/tcp_states.h).
 * UDP sockets use ESTABLISHED (connected) and CLOSE (unconnected).
 * BOUND is the kernel's TCP_BOUND_INACTIVE (bound, neither listening nor
 * connected; dumped by Linux >= 6.8 only).
 */
enum eph_tcp_state {
	EPH_ST_UNKNOWN = 0,
	EPH_ST_ESTABLISHED = 1,
	EPH_ST_SYN_SENT,
	EPH_ST_SYN_RECV,
	EPH_ST_FIN_WAIT1,
	EPH_ST_FIN_WAIT2,
	EPH_ST_TIME_WAIT,
	EPH_ST_CLOSE,
	EPH_ST_CLOSE_WAIT,
	EPH_ST_LAST_ACK,
	EPH_ST_LISTEN,
	EPH_ST_CLOSING,
	EPH_ST_NEW_SYN_RECV, /* counted as SYN_RECV */
	EPH_ST_BOUND,
	EPH_ST_COUNT
};

/* One socket as read from netlink or /proc.  Addresses in network order;
 * an IPv4 address (or an IPv4-mapped IPv6 one) is stored as family AF_INET
 * in the first 4 bytes. */
struct eph_sock {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t state;	/* enum eph_tcp_state */
	uint16_t lport; /* host order */
	uint16_t rport; /* host order */
	uint8_t laddr[16];
	uint8_t raddr[16];
};

/* An address as carried in snapshots. */
struct eph_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

/* Destination D = (local address, remote address, remote port): the
 * sockets connect() placed there.  Sockets accepted by a listener on a
 * pool port are not counted (connect() never takes a listener's port). */
struct eph_dest {
	struct eph_addr laddr;
	struct eph_addr raddr;
	uint16_t rport;
	uint32_t sockets;	/* sockets with a local port in the pool */
	uint32_t time_wait;	/* of which in TIME_WAIT */
	uint32_t exhaustion_bp; /* sockets / usable, hundredths of a percent */
};

struct eph_listener {
	struct eph_addr addr;
	uint16_t port;
};

/* Every number of the accounting model for one protocol. */
struct eph_proto_stats {
	bool collected;		/* this protocol was asked for and read */
	enum eph_source source; /* where its sockets came from */
	uint16_t low, high;	/* configured range, inclusive */
	uint32_t size;		/* high - low + 1 */
	uint32_t reserved;	/* reserved ports inside [low, high] */
	uint32_t usable;	/* size - reserved */
	bool all_reserved;	/* usable == 0: reported as 100 % exhausted */

	uint32_t ports_in_use;	   /* distinct pool ports held by >= 1 socket */
	uint32_t ports_free;	   /* usable - ports_in_use */
	uint64_t sockets_in_range; /* sockets whose local port is in the pool */
	uint64_t sockets_total;	   /* all sockets of the protocol seen */

	/* Per state (index enum eph_tcp_state); NEW_SYN_RECV folded into
	 * SYN_RECV.  For UDP only ESTABLISHED and CLOSE are used. */
	uint64_t state_in_range[EPH_ST_COUNT];
	uint64_t state_total[EPH_ST_COUNT];
	uint64_t time_wait;	  /* TIME_WAIT in the pool */
	uint64_t time_wait_total; /* TIME_WAIT on any port */
	/* false when the collector was told not to read sockets outside the
	 * range (eph_config.state_totals): state_total[] and sockets_total
	 * then cover sockets with a local port in [low, high] only (reserved
	 * ones included), and time_wait_total comes from /proc/net/sockstat. */
	bool totals_exact;

	/* TCP LISTEN / unconnected UDP sockets on a pool port: a hazard. */
	uint32_t listeners_in_range;
	uint32_t
	    n_listeners; /* entries in listeners[] (<= EPH_LISTENERS_MAX) */
	struct eph_listener listeners[EPH_LISTENERS_MAX];

	/* Destinations; exact unless dest_overflow. */
	uint64_t destinations;	 /* distinct destinations tracked */
	bool dest_overflow;	 /* the table filled: counts are lower bounds */
	uint64_t dest_untracked; /* sockets of destinations not tracked */
	uint32_t n_top;		 /* entries in top[] */
	struct eph_dest top[EPH_TOP_MAX]; /* by sockets, descending */
	bool has_worst;
	struct eph_dest worst; /* == top[0] when n_top > 0 */

	/* Hundredths of a percent, rounded down (10000 only when full). */
	uint32_t host_exhaustion_bp;	   /* ports_in_use / usable */
	uint32_t worst_dest_exhaustion_bp; /* worst.sockets / usable */
	uint32_t exhaustion_bp;		   /* max of the two: the headline */
};

struct eph_snapshot {
	int64_t taken_us;	/* CLOCK_REALTIME, microseconds */
	uint32_t duration_us;	/* how long the collection took */
	enum eph_source source; /* procfs if any protocol fell back to it */
	uint8_t
	    protocols; /* bit (1 << enum eph_proto) per protocol collected */
	struct eph_proto_stats proto[EPH_PROTO_COUNT];
};

struct eph_config {
	const char *proc_root; /* NULL: "/proc" (or $EPHPORT_PROC_ROOT) */
	uint8_t protocols;     /* bitmask of (1 << enum eph_proto); 0: both */
	unsigned top_n;	       /* destinations kept in top[]; <= EPH_TOP_MAX */
	unsigned dest_cap;     /* destinations tracked exactly; 0: default */
	enum eph_source_pref source;
	/* false: only pool sockets cross from the kernel (bytecode filter),
	 * which is cheaper on hosts with many sockets outside the range;
	 * see eph_proto_stats.totals_exact. */
	bool state_totals;
};

/* Fill *cfg with the defaults (both protocols, top 5, totals on). */
void eph_config_init(struct eph_config *cfg);

struct eph_collector;

/*
 * eph_collector_new - allocate a collector (all memory it will ever use).
 * Returns NULL and sets errno: EINVAL (bad config), ENOMEM.
 */
struct eph_collector *eph_collector_new(const struct eph_config *cfg);
void eph_collector_free(struct eph_collector *c);

/*
 * eph_collect - read the range and the socket tables and fill *snap.
 * Returns 0, or a negative errno; *snap is then left untouched:
 *   -ENOENT   a range file is missing (see eph_collector_error()),
 *   -EINVAL   a range file is malformed or high < low,
 *   -EPROTONOSUPPORT / -EOPNOTSUPP  netlink asked for but unavailable,
 *   other     I/O errors from the socket source.
 */
int eph_collect(struct eph_collector *c, struct eph_snapshot *snap);

/* A human-readable reason for the last failed eph_collect(), naming the
 * file or request involved; "" when the last collection succeeded. */
const char *eph_collector_error(const struct eph_collector *c);

/* Why the last collection fell back from netlink to /proc ("" if it did
 * not): for a verbose log line. */
const char *eph_collector_note(const struct eph_collector *c);

/* Names ("tcp", "udp", "netlink", "procfs", "ESTABLISHED", ...). */
const char *eph_proto_name(enum eph_proto p);
const char *eph_source_name(enum eph_source s);
const char *eph_state_name(enum eph_tcp_state s);
/* Lower-case, "time_wait" style, for JSON keys and metric labels. */
const char *eph_state_key(enum eph_tcp_state s);
/* -1 when unknown. */
int eph_proto_from_name(const char *name);

/* The states every front end reports for p, in display order, ending with
 * EPH_ST_UNKNOWN: TCP's by kernel number (NEW_SYN_RECV is folded into
 * SYN_RECV), UDP's ESTABLISHED (connected) and CLOSE (unconnected). */
const enum eph_tcp_state *eph_proto_states(enum eph_proto p);

/*
 * Numbers given by people (options, config files).  eph_parse_uint: decimal
 * digits only, min <= value <= max.  eph_parse_percent: "80", "80.5" or
 * "80.25" (0 to 100) into hundredths of a percent.  Both return 0 or
 * -EINVAL, leaving *out untouched on error.
 */
int eph_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);
int eph_parse_percent(const char *s, uint32_t *bp);

/* Format an address ("192.0.2.1", "2001:db8::1"); buf >= 46 bytes. */
const char *eph_addr_format(const struct eph_addr *a, char *buf, size_t len);

/* num / den in hundredths of a percent, rounded down, capped at 10000;
 * den == 0 gives 10000 (nothing usable is full). */
uint32_t eph_ratio_bp(uint64_t num, uint64_t den);

/*
 * Exhaustion alarm with hysteresis, in the RMON style: it is raised once
 * when the value rises to or above rising_bp, and cleared once when it
 * falls to or below falling_bp; nothing in between, so no flapping.
 */
struct eph_alarm {
	uint32_t rising_bp, falling_bp;
	bool high;
};

enum eph_alarm_event {
	EPH_ALARM_NONE = 0,
	EPH_ALARM_RAISED,
	EPH_ALARM_CLEARED
};

/* Returns 0, or -EINVAL unless falling_bp < rising_bp <= 10000. */
int eph_alarm_init(struct eph_alarm *a, uint32_t rising_bp,
		   uint32_t falling_bp);
/* The value an alarm watches: the headline exhaustion (host or worst
 * destination) with destinations, else the host's only. */
uint32_t eph_alarm_value(const struct eph_proto_stats *s, bool destinations);
/* Feed one value; says whether the alarm was raised or cleared by it. */
enum eph_alarm_event eph_alarm_update(struct eph_alarm *a, uint32_t value_bp);

/* Host facts via libstatgrab. */
struct eph_host {
	char hostname[256];
	char os_name[64];
	char os_release[128];
};
int eph_host_read(struct eph_host *h);

#ifdef __cplusplus
}
#endif
#endif
