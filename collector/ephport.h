/*
 * ephport.h - public API of libephport, the collector shared by the
 * ephport command, the ephportd AgentX subagent and the collectd plugin.
 *
 * Conventions (as in libmnl): functions return 0 on success or a negative
 * errno value; they never log and never exit.  Parsers work on plain
 * buffers so they can be tested from fixtures.  A snapshot is a plain
 * value: it owns no pointers and may be copied with memcpy.
 *
 * Accounting model (doc/ephport-model.7, the reference; computed in
 * model.c): the ephemeral *pool* of a protocol is [low, high] minus the
 * reserved ports.  "In range" everywhere below means "local port in the
 * pool"; reserved ports inside [low, high] are outside the pool (they are
 * what an operator reserves for services).  Each pressure is defined by
 * what fails: 100 % means the next call of that kind fails.
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
	EPH_SOURCE_BPF = 3,	/* pinned socket iterators (ephport-bpf) */
};

/* Which socket source to use. */
enum eph_source_pref {
	/* the BPF iterators when pinned, else netlink, else procfs when
	 * diag is unavailable */
	EPH_PREFER_AUTO = 0,
	EPH_PREFER_NETLINK,
	EPH_PREFER_PROCFS,
	EPH_PREFER_BPF,
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

/* Who owns a socket's local port, as far as its source can tell.  A port
 * taken by bind() (explicit, bind(0), listen() autobind, or inherited by
 * accepted sockets) is never shared by connect(): __inet_hash_connect()
 * skips bind buckets with fastreuse >= 0 || fastreuseport >= 0. */
enum eph_owner {
	EPH_OWNER_UNKNOWN = 0, /* netlink, /proc: only the state tells */
	EPH_OWNER_CONNECT = 1, /* bucket made by connect()'s port search */
	EPH_OWNER_BIND = 2,    /* bucket taken by bind() */
};

/* What a pressure predicts will fail. */
enum eph_kind {
	EPH_KIND_BIND = 1,    /* bind(0) EADDRINUSE, UDP autobind EAGAIN */
	EPH_KIND_CONNECT = 2, /* TCP connect() EADDRNOTAVAIL */
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
	uint8_t owner;	     /* enum eph_owner */
	uint32_t expires_ms; /* TIME_WAIT: ms until the kernel drops it (its
			      * age is 60000 - expires_ms); 0 if unknown */
	/* The socket's inode, as /proc/PID/fd links name it ("socket:[N]"):
	 * sock_diag idiag_inode, the inode column of /proc/net; 0 for
	 * sockets no file holds (TIME_WAIT, SYN_RECV) or when unknown. */
	uint64_t inode;
};

/* The kernel settings the model depends on (per network namespace). */
struct eph_knobs {
	bool read;		    /* false: defaults (files missing) */
	uint8_t tw_reuse;	    /* net.ipv4.tcp_tw_reuse: 0, 1, 2 */
	uint32_t tw_reuse_delay_ms; /* net.ipv4.tcp_tw_reuse_delay (6.14+) */
	uint8_t timestamps;	    /* net.ipv4.tcp_timestamps: 0, 1, 2 */
	uint8_t autobind_reuse;	    /* net.ipv4.ip_autobind_reuse: 0, 1 */
};
/* TCP_TIMEWAIT_LEN (include/net/tcp.h): a TIME_WAIT lives 60 s, whatever
 * tcp_fin_timeout says. */
#define EPH_TIME_WAIT_MS 60000u

/* Fill *k with the kernel's defaults (tw_reuse 2, delay 1000 ms,
 * timestamps 1, autobind_reuse 0). */
void eph_knobs_default(struct eph_knobs *k);

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
	uint32_t sockets;     /* sockets with a local port in the pool */
	uint32_t time_wait;   /* of which in TIME_WAIT */
	uint32_t tw_reusable; /* of those, TIME_WAIT connect() may take over */
	/* TCP: pool ports the next connect() to D cannot use: every
	 * bind-owned port plus D's own sockets on other ports, less the
	 * reusable TIME_WAIT.  0 for UDP (autobind is a bind). */
	uint32_t blocked;
	uint32_t connect_bp;	/* blocked / usable: connect pressure */
	uint32_t exhaustion_bp; /* deprecated: sockets / usable */
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

	/*
	 * The model.  Pressures in hundredths of a percent, rounded down
	 * (10000 only when full); 100 % means the next call of that kind
	 * fails (doc/ephport-model.7).
	 */
	/* Pool ports no connect() can use for any destination: LISTEN and
	 * bound-only sockets, and (when the source can see it) connected
	 * sockets whose port came from bind(). */
	uint32_t bind_owned;
	/* false: some connected sockets' ownership was not visible
	 * (netlink, /proc), so bind_owned and every connect pressure are
	 * lower bounds. */
	bool owners_exact;
	/* bind(0) on the wildcard, UDP autobind: ports_in_use / usable
	 * (any socket on a port, TIME_WAIT included, conflicts). */
	uint32_t bind_bp;
	/* false when ip_autobind_reuse lets a SO_REUSEADDR bind(0) share
	 * ports once the range is full: bind_bp is then an upper bound. */
	bool bind_exact;
	/* TCP: connect() to a destination with no socket yet:
	 * bind_owned / usable. */
	uint32_t connect_new_bp;
	/* TCP: the worst destination's connect pressure (worst.connect_bp),
	 * or connect_new_bp when there is no destination. */
	uint32_t connect_bp;
	uint64_t time_wait_reusable; /* pool TIME_WAIT connect() can take */
	/* The headline: the highest pressure, and what it predicts will
	 * fail (connect when it ties with bind: it names the destination). */
	uint32_t pressure_bp;
	enum eph_kind pressure_kind;

	/* Deprecated (the first model; kept for EPHEMERAL-PORT-MIB's
	 * deprecated objects and old JSON keys). */
	uint32_t host_exhaustion_bp;	   /* ports_in_use / usable */
	uint32_t worst_dest_exhaustion_bp; /* worst.sockets / usable */
	uint32_t exhaustion_bp;		   /* max of the two */
};

/*
 * The kernel's TCP counters of the namespace collected (PROC/net/snmp,
 * "Tcp:" lines; RFC 4022 tcpActiveOpens...), cumulative since the
 * namespace was made.  They count IPv4 and IPv6 alike.  UDP has no
 * counter of autobinds (UDP's InDatagrams/OutDatagrams count packets, not
 * ports taken): no UDP open rate is published (doc/ephport-model.7, Rates).
 */
struct eph_counters {
	bool read;		    /* false: net/snmp missing or without Tcp: */
	uint64_t tcp_active_opens;  /* ActiveOpens: connect()s that sent SYN */
	uint64_t tcp_passive_opens; /* PassiveOpens: connections accepted */
	uint64_t tcp_attempt_fails; /* AttemptFails */
	uint64_t tcp_estab_resets;  /* EstabResets */
	uint64_t tcp_curr_estab;    /* CurrEstab: a gauge, not a counter */
	/* TcpExt: TWRecycled (PROC/net/netstat): connect()s that took over
	 * a TIME_WAIT socket's 4-tuple (__inet_check_established()), i.e.
	 * how often TIME_WAIT reuse saved a connect.  Read in every mode. */
	bool tw_recycled_read;
	uint64_t tw_recycled;
};

/*
 * Evidence (issue 18): allocation failures the kernel does not count.
 * They are counted by the BPF programs ephport-bpf loads (syscall exit
 * tracepoints; doc/ephport-bpf.8 says which calls are seen and which are
 * missed) and read from the pin DIR/failures, per network namespace.
 */
enum eph_fail_kind {
	EPH_FAIL_CONNECT = 0,  /* TCP connect() EADDRNOTAVAIL */
	EPH_FAIL_BIND = 1,     /* bind() to port 0, listen() autobind: EADDRINUSE */
	EPH_FAIL_AUTOBIND = 2, /* UDP autobind (connect/sendto/sendmsg): EAGAIN */
	EPH_FAIL_KINDS
};
#define EPH_FAIL_TOP 16

/* Failures towards one destination (connect, UDP autobind). */
struct eph_fail_dest {
	enum eph_fail_kind kind;
	struct eph_addr raddr;
	uint16_t rport;
	uint64_t count;
	/* CLOCK_REALTIME microseconds when the kernel made this entry, which
	 * count counts from (0: unknown).  The table is an LRU: an entry
	 * forgotten for want of room and made again by a later failure
	 * starts again, with a later since_us. */
	int64_t since_us;
};

/* Failures of one process (the thread group that made the calls). */
struct eph_fail_proc {
	enum eph_fail_kind kind;
	uint32_t pid;
	char comm[16];
	uint64_t cgroup_id; /* cgroup v2 id of the caller, 0 if unknown */
	/* Its cgroup v2 path and container (eph_holder's naming), read from
	 * /proc/PID/cgroup when the process still runs; "" otherwise. */
	char cgroup[256];
	char container[80];
	uint64_t count;
	int64_t since_us; /* when count began, as eph_fail_dest.since_us */
};

struct eph_failures {
	/* false: no failure counter could be read, none of the numbers below
	 * was measured (why says so: "not observable without the BPF
	 * source"); front ends must print that, never a zero. */
	bool observable;
	char why[160];
	/* The counters count from here (CLOCK_REALTIME, microseconds: when
	 * ephport-bpf loaded them); a later value means they restarted. */
	int64_t since_us;
	uint64_t total[EPH_FAIL_KINDS];
	int64_t last_us[EPH_FAIL_KINDS]; /* the latest failure, 0: none */
	/* Top destinations and processes over all kinds, by count; what is
	 * not listed (including what the kernel-side tables could not hold)
	 * is in *_other[kind] = total[kind] - listed. */
	uint32_t n_dests;
	struct eph_fail_dest dests[EPH_FAIL_TOP];
	uint64_t dest_other[EPH_FAIL_KINDS];
	uint32_t n_procs;
	struct eph_fail_proc procs[EPH_FAIL_TOP];
	uint64_t proc_other[EPH_FAIL_KINDS];
};

const char *eph_fail_kind_name(enum eph_fail_kind k); /* connect bind autobind */

struct eph_snapshot {
	int64_t taken_us;	/* CLOCK_REALTIME, microseconds */
	uint32_t duration_us;	/* how long the collection took */
	enum eph_source source; /* procfs if any protocol fell back to it */
	uint8_t
	    protocols; /* bit (1 << enum eph_proto) per protocol collected */
	struct eph_knobs knobs; /* the settings the model used */
	/* The namespace collected: its inode (0 if unknown) and ip netns
	 * name ("" when it has none), or eph_netns.name for eph_collect_in. */
	uint64_t netns_inode;
	char netns_name[128];
	struct eph_proto_stats proto[EPH_PROTO_COUNT];
	/* Kernel counters (issue 14), read with every collection; a missing
	 * net/snmp is no error (counters.read false). */
	struct eph_counters counters;
	/* Allocation failures in this namespace (issue 18). */
	struct eph_failures failures;
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
	/* Where ephport-bpf pinned the iterators; NULL: $EPHPORT_BPF_PIN,
	 * else /sys/fs/bpf/ephport. */
	const char *bpf_pin_dir;
	/* The BPF source also asks sock_diag for the bound-only sockets the
	 * iterator cannot see (default true; false saves one kernel walk). */
	bool bpf_bound_dump;
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

/* Microseconds of CLOCK_MONOTONIC (intervals, rate histories) and of
 * CLOCK_REALTIME (timestamps such as taken_us); never fail. */
int64_t eph_mono_us(void);
int64_t eph_real_us(void);

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
/* The value an alarm watches: the headline pressure (kind 0), or the
 * pressure of one kind (enum eph_kind). */
uint32_t eph_alarm_value(const struct eph_proto_stats *s, int kind);
/* "bind", "connect". */
const char *eph_kind_name(enum eph_kind k);
/* Feed one value; says whether the alarm was raised or cleared by it. */
enum eph_alarm_event eph_alarm_update(struct eph_alarm *a, uint32_t value_bp);

/*
 * Network namespaces (netns.c).  Each has its own range, reserved ports,
 * sysctls and sockets.  Listing other processes' namespaces needs
 * CAP_SYS_PTRACE, collecting in one CAP_SYS_ADMIN (setns()).
 */
#define EPH_NETNS_MAX 1024
enum eph_ns_kind {
	EPH_NS_SELF = 0,      /* the caller's own */
	EPH_NS_NAMED = 1,     /* /run/netns/NAME (ip netns) */
	EPH_NS_CONTAINER = 2, /* held by a process whose cgroup names it */
	EPH_NS_PID = 3,	      /* held by a process, nothing else known */
};
struct eph_netns {
	uint64_t inode, dev; /* identity: the nsfs inode */
	int kind;	     /* enum eph_ns_kind */
	int pid;	     /* a process in it; 0 if none was seen */
	/* The best name: the ip netns name, else "docker:<id>",
	 * "containerd:<id>", "crio:<id>", "pod:<uid>", else "pid:N";
	 * "" for the caller's own when it has no ip netns name. */
	char name[128];
	char path[256]; /* what to open to enter it */
};

/*
 * eph_netns_list - every network namespace this process can see, each
 * once (by inode): its own first, then /run/netns (netns_dir; NULL:
 * "/run/netns"), then those held by processes under proc_root (NULL:
 * "/proc").  *n entries are filled, at most cap.  Returns 0, -ENOSPC
 * (more than cap; the first cap are filled), or -errno when proc_root
 * cannot be read.  Namespaces come and go: one listed may be gone when it
 * is used.
 */
int eph_netns_list(const char *proc_root, const char *netns_dir,
		   struct eph_netns *out, size_t cap, size_t *n);

/*
 * eph_netns_resolve - one namespace from what a person typed: an ip netns
 * name, a PID, a path to a namespace file, or a name eph_netns_list()
 * gives ("docker:0123456789ab").  Returns 0, -ENOENT (no such namespace),
 * -EINVAL (empty or malformed), -ENOMEM.
 */
int eph_netns_resolve(const char *proc_root, const char *netns_dir,
		      const char *spec, struct eph_netns *out);

/*
 * eph_collect_in - eph_collect() inside namespace ns: the range, sysctls
 * and sockets are that namespace's (its netlink socket, BPF pin and
 * /proc/sys files are opened from a thread that setns()es there).
 * snap->netns_* name it.  Errors as eph_collect(), plus -EPERM (no
 * CAP_SYS_ADMIN), -ENOENT (the namespace is gone).
 */
int eph_collect_in(struct eph_collector *c, const struct eph_netns *ns,
		   struct eph_snapshot *snap);

/* Host facts via libstatgrab. */
struct eph_host {
	char hostname[256];
	char os_name[64];
	char os_release[128];
};
int eph_host_read(struct eph_host *h);

/*
 * Captured outputs of another host (`ephport --os NAME`): the range and
 * socket table commands of that system (listed in ephport(1)), analysed
 * with the same model.  The parsers are in collector/os/, one file per
 * system, built everywhere.
 */
struct eph_captured {
	const char *os;		  /* table name, "freebsd" */
	const char *label;	  /* "FreeBSD" */
	const char *default_note; /* which range applications get */
	bool per_protocol;	  /* TCP and UDP have separate settings */
	bool sockets;		  /* a socket table was analysed */
	/* A second range applications must ask for (FreeBSD, macOS,
	 * OpenBSD: IP_PORTRANGE_HIGH), and its ports held by sockets. */
	bool has_alt;
	uint16_t alt_low, alt_high;
	uint32_t alt_ports_in_use[EPH_PROTO_COUNT];
	/* FreeBSD/macOS IP_PORTRANGE_LOW ports (lowlast..lowfirst). */
	bool has_reserved_range;
	uint16_t resv_low, resv_high;
	/* The reserved ports the range output listed (Linux), bit p set:
	 * port p reserved. */
	uint8_t reserved[EPH_BITMAP_BYTES];
};

/*
 * eph_captured_collect - analyse captured outputs into *snap and *info.
 * os: a name from eph_captured_os_names() (case-insensitive).  range_buf:
 * the verbatim output of the system's range command (NULL or empty only
 * for systems whose range is compiled in: IRIX, BSD/OS).  sockets_buf:
 * its socket table command's output, or NULL (the range alone; every
 * count is then 0).  cfg: protocols, top_n, dest_cap as for a live
 * collection (NULL: defaults); protocols the range output does not give
 * are left out.  Returns 0, or a negative errno with why (>= 256 bytes)
 * saying what and where; *snap and *info are then unspecified:
 *   -ENOENT   no such system,
 *   -EINVAL   the range output is malformed or gives no asked protocol,
 *   -EBADMSG  the socket table has a malformed line,
 *   -ENOMEM.
 */
int eph_captured_collect(const char *os, const char *range_buf,
			 size_t range_len, const char *sockets_buf,
			 size_t sockets_len, const struct eph_config *cfg,
			 struct eph_snapshot *snap, struct eph_captured *info,
			 char *why, size_t why_len);

/* The systems eph_captured_collect() knows, "linux, freebsd, ...". */
const char *eph_captured_os_names(void);

/*
 * eph_snmp_parse - the Tcp: counters of a PROC/net/snmp buffer (the header
 * line of names, then the line of values; fields found by name, so added
 * or reordered columns are fine) into *out (out->read set).  Returns 0,
 * or -EBADMSG (no Tcp: pair, a value that is not a number, ActiveOpens
 * missing); *out is then left untouched.
 */
int eph_snmp_parse(const char *buf, size_t len, struct eph_counters *out);

/*
 * Rates and time to exhaustion (rate.c; doc/ephport-model.7, Rates): a
 * history of recent collections of one namespace, in fixed memory, and
 * what follows from it.  Pure: no I/O, no allocation, no clock.
 *
 *   open rate        TCP: Tcp ActiveOpens delta / time over the trend
 *                    window (the samples of the last window_ms since the
 *                    last reset).  UDP: none (no counter of autobinds).
 *   TIME_WAIT length 60 s (EPH_TIME_WAIT_MS, TCP_TIMEWAIT_LEN), not
 *                    tcp_fin_timeout (that is FIN_WAIT2's).
 *   sustainable      TCP, when tcp_tw_reuse forbids the destination's
 *                    TIME_WAIT to be taken over (eph_tw_reusable()):
 *                    (usable - ports held by sockets not in TIME_WAIT,
 *                    i.e. blocked - non-reusable TIME_WAIT) / 60 s, for
 *                    the worst destination (a new one when none).  Else
 *                    "not TIME_WAIT bound" (tw_bound false).
 *   headroom         sustainable / open rate (open rate > 0).
 *   exhaustion       least-squares slope of the headline pressure (and of
 *                    the worst destination's blocked ports) over the trend
 *                    window; approaching when n >= 3 samples spanning
 *                    >= 1 s and slope > 2 standard errors (t > 2); then
 *                    seconds = (full - fitted last value) / slope.
 *
 * Counter deltas are taken modulo 2^64 (a wrap is a small delta); a
 * counter that goes backwards by any amount (a delta >= 2^63: the
 * namespace was made anew, or a 32-bit kernel wrapped) is a restart: the
 * history is reset to that sample and no open rate is given this time.
 * So is a change of namespace (netns_inode).
 */
#define EPH_RATE_HISTORY	   64	 /* samples kept */
#define EPH_RATE_WINDOW_MS_DEFAULT 30000 /* trend window */
#define EPH_RATE_WINDOW_MS_MAX	   3600000

/* One collection as the history keeps it (filled by eph_rate_add()). */
struct eph_rate_sample {
	int64_t t_us; /* the caller's clock (monotonic) */
	bool counters_read;
	uint64_t tcp_active_opens;
	struct eph_knobs knobs;
	struct {
		bool collected;
		uint32_t usable, ports_in_use, bind_owned, pressure_bp;
		bool has_worst;
		struct eph_addr laddr, raddr; /* the worst destination's key */
		uint16_t rport;
		uint32_t worst_blocked, worst_time_wait, worst_tw_reusable;
	} proto[EPH_PROTO_COUNT];
};

/* The history: a plain value (memcpy-able); its fields are rate.c's. */
struct eph_rate {
	uint32_t window_ms;
	uint32_t head;	/* index of the newest sample */
	uint32_t count; /* samples held, <= EPH_RATE_HISTORY */
	uint64_t netns_inode;
	bool restarted; /* the newest sample reset the history */
	struct eph_rate_sample s[EPH_RATE_HISTORY];
};

/* Why a value is absent. */
enum eph_rate_status {
	EPH_RATE_OK = 0,
	EPH_RATE_FIRST = 1,	 /* one sample since the (re)start: no rate yet */
	EPH_RATE_RESTART = 2,	 /* a counter went backwards: history reset */
	EPH_RATE_NO_COUNTER = 3, /* none (UDP; net/snmp unreadable) */
};

enum eph_trend_status {
	EPH_TREND_UNKNOWN = 0,	      /* fewer than 3 samples, or < 1 s */
	EPH_TREND_NOT_APPROACHING = 1, /* slope <= 0 or not significant */
	EPH_TREND_APPROACHING = 2,     /* seconds is the prediction */
	EPH_TREND_EXHAUSTED = 3,       /* already full: seconds 0 */
};

/* A least-squares trend of one value towards its full value. */
struct eph_trend {
	enum eph_trend_status status;
	uint32_t samples; /* in the window */
	double span_s;	  /* first to last sample of the window */
	double slope;	  /* units per second (bp/s, ports/s) */
	double slope_se;  /* its standard error */
	double seconds;	  /* to exhaustion: APPROACHING, EXHAUSTED (0) */
};

struct eph_rate_proto {
	bool collected; /* in the newest sample */
	enum eph_rate_status open_status;
	double open_rate; /* opens per second (EPH_RATE_OK) */
	/* The sustainable rate is bounded by TIME_WAIT (TCP, reuse
	 * forbidden); false: "not TIME_WAIT bound" (UDP, tw_reuse). */
	bool tw_bound;
	uint32_t sustainable_ports; /* usable - ports held by non-TIME_WAIT */
	double sustainable_rate;    /* sustainable_ports / 60 s (tw_bound) */
	bool has_headroom;	    /* tw_bound, open rate OK and > 0 */
	double headroom;	    /* sustainable_rate / open_rate */
	struct eph_trend pressure;  /* the headline pressure, bp, full 10000 */
	bool has_worst;		    /* the newest sample has a destination */
	struct eph_addr laddr, raddr;
	uint16_t rport;
	/* Its blocked ports (full: usable), over the samples of the window
	 * with the same worst destination. */
	struct eph_trend worst_blocked;
};

struct eph_rate_result {
	uint32_t samples;  /* in the trend window */
	double window_s;   /* the window asked for */
	double measured_s; /* first to last sample used */
	struct eph_rate_proto proto[EPH_PROTO_COUNT];
};

/* Start an empty history; window_ms 0: EPH_RATE_WINDOW_MS_DEFAULT.
 * Returns 0, or -EINVAL (window_ms > EPH_RATE_WINDOW_MS_MAX). */
int eph_rate_init(struct eph_rate *r, uint32_t window_ms);

/*
 * eph_rate_add - append one snapshot taken at t_us (a clock that does not
 * jump: CLOCK_MONOTONIC; the same clock for every sample).  The oldest
 * sample is dropped when EPH_RATE_HISTORY are held.  Returns 0, 1 when
 * this sample reset the history (restart, other namespace), or -EINVAL
 * when t_us is not after the newest sample's (nothing changes).
 */
int eph_rate_add(struct eph_rate *r, const struct eph_snapshot *s,
		 int64_t t_us);

/* The rates and trends as of the newest sample.  Returns 0, or -ENODATA
 * (no sample yet; *out zeroed). */
int eph_rate_compute(const struct eph_rate *r, struct eph_rate_result *out);

/* "ok", "first sample", "restart", "no counter" / "unknown",
 * "not approaching", "approaching", "exhausted". */
const char *eph_rate_status_name(enum eph_rate_status s);
const char *eph_trend_status_name(enum eph_trend_status s);

/*
 * Who holds the ports (issue 18): per process, the pool ports its sockets
 * hold in the namespace collected.  A socket held by several processes
 * (inherited, passed) counts for each, as in `ss -p`.
 */
enum eph_holder_source {
	EPH_HOLDERS_PROCFS = 0, /* sock_diag inodes matched to /proc/PID/fd */
	EPH_HOLDERS_BPF = 1,	/* the pinned task_file iterator */
};

struct eph_holder {
	uint32_t pid;
	char comm[16];
	char cgroup[256];   /* the cgroup v2 path, "" if unknown */
	char container[80]; /* docker:<12 hex>, pod:<uid>, ... or "" */
	uint32_t ports[EPH_PROTO_COUNT];   /* distinct pool ports held */
	uint32_t sockets[EPH_PROTO_COUNT]; /* pool sockets */
	/* TCP: the destination most of its pool sockets go to. */
	bool has_worst;
	struct eph_addr worst_raddr;
	uint16_t worst_rport;
	uint32_t worst_sockets;
};

struct eph_holders {
	enum eph_holder_source source;
	uint32_t n;		   /* entries in v */
	uint32_t processes;	   /* processes holding any pool socket */
	uint32_t processes_denied; /* /proc/PID/fd not readable (not root) */
	uint64_t sockets_unattributed; /* pool sockets no process was seen
					* to hold (TIME_WAIT, denied, gone) */
	struct eph_holder *v;	   /* by ports, descending; malloc'd */
};

/*
 * eph_holders_collect - who holds the pool ports of the collector's own
 * namespace (eph_holders_collect_in: of ns, as eph_collect_in()).  top_n
 * 0 keeps every process; v is sorted by ports (both protocols), then
 * sockets descending, then pid; processes, processes_denied and
 * sockets_unattributed count them all, not only the top_n.  The source
 * follows eph_config.source: AUTO prefers the BPF pin DIR/holders when it
 * can be read (and falls back when it cannot), BPF requires it, NETLINK
 * and PROCFS scan /proc: the namespace's pool sockets from sock_diag
 * (/proc/net without it) matched to every /proc/PID/fd, one readdir per
 * process.  Either way an unprivileged caller sees only the processes of
 * its own (effective) uid.  Pids are those of the caller's /proc.
 * Returns 0, or -errno with *out empty and eph_collector_error() saying
 * why: -ENOENT (a range file is missing; BPF asked for and not pinned),
 * -EINVAL (a malformed range), -ENOMEM, -EBADMSG/-EPROTO (a malformed pin
 * output or dump), the socket dump's errors, and for _in -EPERM (no
 * CAP_SYS_ADMIN) or -ENOENT (the namespace is gone).  Free with
 * eph_holders_free() (also safe on an empty *out).
 */
int eph_holders_collect(struct eph_collector *c, unsigned top_n,
			struct eph_holders *out);
int eph_holders_collect_in(struct eph_collector *c, const struct eph_netns *ns,
			   unsigned top_n, struct eph_holders *out);
void eph_holders_free(struct eph_holders *h);
const char *eph_holder_source_name(enum eph_holder_source s); /* procfs bpf */
/* eph_holders.processes_denied: procfs: processes whose /proc/PID/fd said
 * EACCES (kernel threads too); bpf: processes with open files the
 * iterator hid from the reader. */

#ifdef __cplusplus
}
#endif
#endif
