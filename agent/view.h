/*
 * view.h - the MIB as a sorted, immutable list of (OID, value) rows built
 * from one snapshot.  GET is a binary search and GETNEXT an upper bound,
 * so request latency does not depend on the socket count.  Pure: no
 * Net-SNMP calls (the handler maps types), so it is unit-tested alone.
 */
#ifndef EPHD_VIEW_H
#define EPHD_VIEW_H

#include <stddef.h>
#include <stdint.h>

#define EPHD_OID_MAX 64
/* Longest DisplayString / InetAddress value: an eph_netns name. */
#define EPHD_OCTETS_MAX 128

typedef uint32_t ephd_oid;

enum ephd_type {
	EPHD_INTEGER = 1, /* INTEGER / enumerations / TruthValue */
	EPHD_UNSIGNED,	  /* Unsigned32 */
	EPHD_GAUGE,	  /* Gauge32 */
	EPHD_COUNTER64,
	EPHD_TIMETICKS, /* TimeStamp */
	EPHD_OCTETS,	/* DisplayString, InetAddress */
};

/* Values computed when asked, not when the view was built. */
enum ephd_dynamic {
	EPHD_STATIC = 0,
	EPHD_DATA_AGE, /* seconds since the snapshot was taken */
	/* v.u is a CLOCK_REALTIME time (us): served as the seconds since
	 * then, so that an age stays right between collections. */
	EPHD_AGE_OF,
	/* v.u is a CLOCK_MONOTONIC time (us), 0 for none: served as a
	 * TimeStamp, the sysUpTime of that moment (0 if it came before the
	 * agent started), which only the main thread knows. */
	EPHD_UPTIME_AT,
};

struct ephd_value {
	uint8_t type;	 /* enum ephd_type */
	uint8_t dynamic; /* enum ephd_dynamic */
	uint8_t len;	 /* bytes of s for EPHD_OCTETS */
	union {
		uint64_t u;
		int32_t i;
		char s[EPHD_OCTETS_MAX];
	} v;
};

struct ephd_row {
	ephd_oid name[EPHD_OID_MAX];
	uint8_t len;
	struct ephd_value value;
};

struct ephd_view {
	size_t n, cap;
	struct ephd_row *rows;
	int64_t taken_us; /* of the snapshot; for EPHD_DATA_AGE */
};

struct ephd_view *ephd_view_new(size_t cap_hint);
void ephd_view_free(struct ephd_view *v);

/* Append a row (any order); returns 0 or -ENOMEM / -E2BIG (OID too long). */
int ephd_view_add(struct ephd_view *v, const ephd_oid *name, size_t len,
		  const struct ephd_value *val);
/* Sort the rows and drop repeated OIDs; call once after the last add.
 * Returns the number of rows dropped. */
size_t ephd_view_seal(struct ephd_view *v);

/* The row named exactly name, or NULL. */
const struct ephd_row *ephd_view_get(const struct ephd_view *v,
				     const ephd_oid *name, size_t len);
/* The first row strictly after name, or NULL. */
const struct ephd_row *ephd_view_next(const struct ephd_view *v,
				      const ephd_oid *name, size_t len);

/* Lexicographic OID order (a proper prefix sorts first). */
int ephd_oid_compare(const ephd_oid *a, size_t alen, const ephd_oid *b,
		     size_t blen);

#endif
