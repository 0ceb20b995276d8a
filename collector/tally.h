/*
 * tally.h - the accounting model, pure: socket records in, numbers out.
 * No I/O and no allocation after eph_tally_new().
 */
#ifndef EPH_TALLY_H
#define EPH_TALLY_H

#include "range.h"

struct eph_tally;

/* Allocate a tally able to track dest_cap destinations exactly.
 * Returns NULL (errno ENOMEM/EINVAL). */
EPH_HIDDEN struct eph_tally *eph_tally_new(unsigned dest_cap);
EPH_HIDDEN void eph_tally_free(struct eph_tally *t);

/* Start a collection for one protocol over range r (copied). */
EPH_HIDDEN void eph_tally_begin(struct eph_tally *t, enum eph_proto proto,
				const struct eph_range *r);

/* Account one socket (an eph_sock_cb: ctx is the tally). */
EPH_HIDDEN void eph_tally_add(void *tally, const struct eph_sock *s);

/* Compute the derived numbers into *out, keeping the top_n busiest
 * destinations (top_n <= EPH_TOP_MAX). */
EPH_HIDDEN void eph_tally_end(struct eph_tally *t, unsigned top_n,
			      struct eph_proto_stats *out);

#endif
