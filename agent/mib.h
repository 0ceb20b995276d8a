/*
 * mib.h - EPHEMERAL-PORT-MIB in C: every object's OID (defined here
 * once, checked against the MIB file by tests/agent-oids.sh), and the
 * builder that turns a snapshot into a view.
 */
#ifndef EPHD_MIB_H
#define EPHD_MIB_H

#include "ephport.h"
#include "view.h"

/* netSnmpPlaypen.7: the module root, until the project has its own
 * enterprise number. */
#define EPHD_ROOT     1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 7
#define EPHD_ROOT_LEN 10

struct ephd_object {
	const char *name;
	ephd_oid sub[4];  /* below the root, 0-terminated */
	bool notify_only; /* accessible-for-notify: never in a view */
};

/* Every object, in MIB order; ends with a NULL name. */
extern const struct ephd_object ephd_objects[];

enum ephd_status { EPHD_OK = 1, EPHD_STALE = 2, EPHD_FAILED = 3 };

/* Alarms per (protocol, kind): index [enum eph_proto][enum eph_kind]. */
#define EPHD_KINDS 3

/* EphAlarmState */
enum ephd_alarm_state {
	EPHD_ALARM_NORMAL = 1,
	EPHD_ALARM_HIGH = 2,
	EPHD_ALARM_OFF = 3,
};

/* One row of ephNamespaceTable and the rows indexed by it. */
struct ephd_ns {
	uint32_t index;			 /* ephNsIndex */
	uint32_t inode;			 /* ephNsInode */
	char name[EPHD_OCTETS_MAX];	 /* ephNsName */
	const struct eph_snapshot *snap; /* NULL: not collected yet */
	/* enum ephd_alarm_state; 0 is taken as normal(1). */
	uint8_t alarm[EPH_PROTO_COUNT][EPHD_KINDS];
	/* Rates and trends (issue 14); NULL: none yet, the rate columns
	 * are left out. */
	const struct eph_rate_result *rate;
	/* The exhaustion alarm per protocol: enum ephd_alarm_state, 0 is
	 * normal(1); off(3) whenever st->exhaustion_s is 0. */
	uint8_t exh_alarm[EPH_PROTO_COUNT];
	/* The failure counters (issue 18): ephFailureDiscontinuityTime as a
	 * CLOCK_MONOTONIC time (0: served as 0), and the alarm per kind
	 * (enum ephd_alarm_state, 0 is normal(1); off(3) whenever the
	 * snapshot's failures are not observable). */
	int64_t fail_disc_mono_us;
	/* CLOCK_REALTIME less CLOCK_MONOTONIC at that collection: a row's
	 * since_us on the monotonic clock (ephFail...DiscontinuityTime). */
	int64_t fail_real_minus_mono_us;
	uint8_t fail_alarm[EPH_FAIL_KINDS];
	/* Who holds the ports (issue 18): ephProcessTable and the
	 * ephNsProcesses... columns.  NULL: not collected (off, not yet, or
	 * failed), and holders_why (NULL: "") says why for
	 * ephNsProcessesReason. */
	const struct eph_holders *holders;
	const char *holders_why;
};

struct ephd_state {
	enum ephd_status status;
	uint64_t collections, failures;
	unsigned interval;
	/* risingThreshold / fallingThreshold: the deprecated objects */
	uint32_t rising_bp, falling_bp;
	/* In effect per kind (index enum eph_kind; [0] unused). */
	uint32_t kind_rising_bp[EPHD_KINDS], kind_falling_bp[EPHD_KINDS];
	bool connect_alarm; /* TCP rows run a connect alarm */
	/* ephLastCollectionDuration: the whole pass over every namespace;
	 * 0: the snapshot's own (one namespace). */
	uint32_t duration_us;
	/* The namespaces, n_ns of them, in any order.  When n_ns is 0 the
	 * fields below describe the only one, index 1. */
	const struct ephd_ns *ns;
	size_t n_ns;
	const struct eph_snapshot *snap; /* NULL before the first success */
	uint8_t alarm[EPH_PROTO_COUNT][EPHD_KINDS];
	char ns_name[EPHD_OCTETS_MAX];
	uint32_t ns_inode;
	const struct eph_rate_result *rate;
	uint8_t exh_alarm[EPH_PROTO_COUNT];
	/* exhaustionSeconds: the exhaustion alarm's threshold; 0: off. */
	uint32_t exhaustion_s;
	/* processes: ephNsProcessesEnabled of every row; when false no
	 * row has processes, whatever its holders. */
	bool processes;
	const struct eph_holders *holders; /* the only one's (n_ns 0) */
	const char *holders_why;
};

/* One alarm crossing, with the numbers of the collection that made it. */
struct ephd_event {
	enum eph_alarm_event kind; /* RAISED: ephPressureHigh */
	enum eph_kind alarm;	   /* which alarm of the row crossed */
	enum eph_proto proto;
	uint32_t rising_bp, falling_bp; /* that alarm's thresholds */
	uint32_t ns_index;		/* ephNsIndex of the row (0 is 1) */
	bool ns_own;			/* the agent's own namespace */
	char ns_name[EPHD_OCTETS_MAX];
	struct eph_proto_stats stats;
	/* The exhaustion alarm (ephExhaustionSoon / ephExhaustionSoonCleared)
	 * rather than a pressure alarm: alarm is then unused, threshold_s
	 * is exhaustionSeconds and rate the row's rates and trends. */
	bool exhaustion;
	uint32_t threshold_s;
	struct eph_rate_proto rate;
	/* ephPortAllocationFailed rather than an alarm crossing: the kind,
	 * its count, the failures since the previous notification of that
	 * namespace and kind, and the worst destination and process of the
	 * kind (when there is one).  alarm, proto and stats are unused. */
	bool failure;
	enum eph_fail_kind fail_kind;
	uint64_t fail_count, fail_new;
	bool has_dest;
	struct eph_addr dest_addr;
	uint16_t dest_port;
	uint32_t pid; /* 0: no process known */
	char comm[16];
};

/*
 * The namespaces the agent reads, with what each keeps between
 * collections: its ephNsIndex, its last numbers and its alarms.  The
 * agent's own namespace is 1; every other one found gets the next number
 * of a counter (next_index, from 2), never one in use, so the index of a
 * namespace that went is not given to another until the counter wraps.
 * Entries are matched by nsfs inode and device; a namespace no longer
 * found is dropped (ephd_nsreg_drop_unseen), its rows and alarms with it.
 */
struct ephd_ns_entry {
	uint64_t inode, dev;
	uint32_t index;
	bool own;      /* the agent's own namespace */
	bool seen;     /* found by this collection */
	bool has_snap; /* snap holds numbers */
	bool logged;   /* last_error was logged */
	char name[EPHD_OCTETS_MAX];
	struct eph_snapshot *snap;
	struct eph_alarm alarm[EPH_PROTO_COUNT][EPHD_KINDS];
	uint8_t state[EPH_PROTO_COUNT][EPHD_KINDS]; /* enum ephd_alarm_state */
	char last_error[512];
	/* The history of its successful collections (fixed memory, its own
	 * allocation) and what follows from it as of the newest. */
	struct eph_rate *rate;
	bool has_rate; /* rate_res holds a result */
	struct eph_rate_result rate_res;
	bool exh_high[EPH_PROTO_COUNT]; /* the exhaustion alarm is raised */
	/* The failure counters as last seen (ephd_ns_update_failures): kept
	 * across reloads, unlike the alarms, so that a reload neither sends
	 * old failures again nor loses the rate limit. */
	bool fail_watching;		    /* a collection has been seen */
	int64_t fail_watch_real_us;	    /* CLOCK_REALTIME of the first */
	bool fail_observable;		    /* at the last collection */
	int64_t fail_since_us;		    /* their since_us then */
	int64_t fail_disc_mono_us;	    /* ephFailureDiscontinuityTime */
	int64_t fail_real_minus_mono_us;    /* at the last collection */
	uint64_t fail_prev[EPH_FAIL_KINDS]; /* count at the last collection */
	uint64_t fail_notified[EPH_FAIL_KINDS];	   /* count at the last trap */
	int64_t fail_sent_mono_us[EPH_FAIL_KINDS]; /* 0: none sent yet */
	uint8_t fail_alarm[EPH_FAIL_KINDS];	   /* enum ephd_alarm_state */
	/* Who holds its ports, as of the last collection of them
	 * (has_holders), else why not: holders_error (the collector's
	 * error, said once per problem). */
	bool has_holders;
	struct eph_holders holders;
	char holders_error[256];
};

struct ephd_nsreg {
	struct ephd_ns_entry *v;
	size_t n, cap;
	uint32_t next_index; /* start it at 2 */
};

/* The entry of a namespace (the own one: own, whatever its inode): the one
 * kept from earlier collections, else a new one with a new index and its
 * alarms normal (st's thresholds).  name (NULL: keep) becomes its name.
 * NULL: out of memory. */
struct ephd_ns_entry *ephd_nsreg_get(struct ephd_nsreg *r, bool own,
				     uint64_t inode, uint64_t dev,
				     const char *name,
				     const struct ephd_state *st);
/* e's holders emptied (has_holders false), with why (NULL: ""). */
void ephd_ns_clear_holders(struct ephd_ns_entry *e, const char *why);
/* Drop the entries whose seen is false. */
void ephd_nsreg_drop_unseen(struct ephd_nsreg *r);
void ephd_nsreg_free(struct ephd_nsreg *r);
/* Every entry as a view row (rows: room for r->n); returns r->n. */
size_t ephd_nsreg_rows(const struct ephd_nsreg *r, struct ephd_ns *rows);
/* Alarms back to normal with st's thresholds (the exhaustion alarm
 * too). */
void ephd_ns_reset_alarms(struct ephd_ns_entry *e, const struct ephd_state *st);

/* Feed e's history with its new snapshot, taken at t_us (CLOCK_MONOTONIC,
 * microseconds), and compute its rates.  A t_us not after the newest
 * sample's is ignored (the result stays). */
void ephd_ns_rate_add(struct ephd_ns_entry *e, int64_t t_us);
/* Every history of r emptied (the namespace set changed). */
void ephd_nsreg_reset_rates(struct ephd_nsreg *r);

/*
 * The exhaustion alarm of one row, with hysteresis: raised (*high set,
 * RAISED) when the trend t is approaching with seconds <= threshold_s,
 * or exhausted; cleared (CLEARED) when t is not approaching, or
 * approaching with seconds > 2 * threshold_s.  An unknown trend (too few
 * samples, a restart) changes nothing.  threshold_s 0: off, never
 * raised (a raised one is cleared).
 */
enum eph_alarm_event ephd_exh_alarm_update(bool *high, uint32_t threshold_s,
					   const struct eph_trend *t);

/* The alarm crossings of a collection, growing as needed. */
struct ephd_events {
	struct ephd_event *ev;
	unsigned n, cap;
};
/* Feed e's alarms (bind; for TCP, connect unless st disables it) with the
 * pressures of e->snap, and its exhaustion alarms (st->exhaustion_s) with
 * e->rate_res; the crossings go to out, naming e. */
void ephd_ns_update_alarms(const struct ephd_state *st, struct ephd_ns_entry *e,
			   struct ephd_events *out);

/*
 * The failure counters of e->snap (issue 18), taken at mono_us
 * (CLOCK_MONOTONIC) and real_us (CLOCK_REALTIME), microseconds.  Keeps
 * ephFailureDiscontinuityTime: the counters (re)start when they become
 * observable or their since_us changes (ephport-bpf loaded with fresh
 * maps).  Counters that started while the agent was reading the namespace
 * count from 0 for ephPortAllocationFailed; older ones are a baseline (what
 * failed before the agent watched is not news).  A kind whose count rose
 * past the last notified one gets an event at once if none was sent for
 * it yet, else when st->interval seconds have passed since the last one;
 * until then the rise is carried.  The alarm of a kind is high(2) when
 * this collection counted new failures, normal(1) when not, off(3) when
 * the failures are not observable.
 */
void ephd_ns_update_failures(const struct ephd_state *st,
			     struct ephd_ns_entry *e, int64_t mono_us,
			     int64_t real_us, struct ephd_events *out);

/* ephProcessTable rows per namespace, at most (ephProcessRank 1..100;
 * processesTop is bounded by it). */
#define EPHD_PROCESSES_ROWS 100

/* Varbinds of a notification, after snmpTrapOID.0, at most. */
#define EPHD_NOTIFY_ROWS 12

/*
 * The varbinds of the notification for e (ephPressureHigh or
 * ephPressureCleared; for e->exhaustion ephExhaustionSoon or
 * ephExhaustionSoonCleared with their OBJECTS only), after snmpTrapOID.0 (whose
 * value, the notification's OID, goes to trap_oid): the MIB's OBJECTS, then,
 * for a connect alarm with a worst destination, its ephDestConnectPressure,
 * ephDestBlocked and ephDestSockets (their instance names the
 * destination); for e->failure, ephPortAllocationFailed.  Returns the
 * number of rows (0 if max is too small).
 */
size_t ephd_mib_notification(const struct ephd_event *e, ephd_oid *trap_oid,
			     size_t *trap_oid_len, struct ephd_row *rows,
			     size_t max);

/* Build the view for st; NULL on ENOMEM. */
struct ephd_view *ephd_mib_build(const struct ephd_state *st);

/* n bytes of s into dst as a DisplayString (NVT ASCII): each byte outside
 * 0x20-0x7e becomes '?'.  For values served and for log lines alike. */
void ephd_display_copy(char *dst, const char *s, size_t n);

/* Full OID of ephd_objects[i] into out (>= EPHD_OID_MAX); returns length. */
size_t ephd_object_oid(size_t i, ephd_oid *out);

#endif
