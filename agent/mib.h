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
	ephd_oid sub[4]; /* below the root, 0-terminated */
};

/* Every object, in MIB order; ends with a NULL name. */
extern const struct ephd_object ephd_objects[];

enum ephd_status { EPHD_OK = 1, EPHD_STALE = 2, EPHD_FAILED = 3 };

struct ephd_state {
	const struct eph_snapshot *snap; /* NULL before the first success */
	enum ephd_status status;
	uint64_t collections, failures;
	unsigned interval, rising_bp, falling_bp;
	bool dest_alarm;
	uint8_t alarm_high[EPH_PROTO_COUNT]; /* 1 while the alarm is raised */
	char ns_name[64];
	uint32_t ns_inode;
};

/* One alarm crossing, with the numbers of the collection that made it. */
struct ephd_event {
	enum eph_alarm_event kind; /* RAISED: ephExhaustionHigh */
	enum eph_proto proto;
	char ns_name[64];
	struct eph_proto_stats stats;
};

/*
 * The varbinds of the notification for e, after snmpTrapOID.0 (whose value,
 * the notification's OID, goes to trap_oid): the MIB's OBJECTS, then, when
 * there is a worst destination, its ephDestSockets and ephDestExhaustion
 * (their instance names the destination).  Returns the number of rows.
 */
size_t ephd_mib_notification(const struct ephd_event *e, ephd_oid *trap_oid,
			     size_t *trap_oid_len, struct ephd_row *rows,
			     size_t max);

/* Build the view for st; NULL on ENOMEM. */
struct ephd_view *ephd_mib_build(const struct ephd_state *st);

/* Full OID of ephd_objects[i] into out (>= EPHD_OID_MAX); returns length. */
size_t ephd_object_oid(size_t i, ephd_oid *out);

#endif
