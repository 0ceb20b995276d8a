/*
 * model.h - the accounting model, pure: socket records in, pressures out.
 * No I/O and no allocation after eph_model_new().  The rules, with the
 * kernel functions that define them, are in doc/ephport-model.7.
 */
#ifndef EPH_MODEL_H
#define EPH_MODEL_H

#include "range.h"

struct eph_model;

/* Allocate a model able to track dest_cap destinations exactly.
 * Returns NULL (errno ENOMEM/EINVAL). */
EPH_HIDDEN struct eph_model *eph_model_new(unsigned dest_cap);
EPH_HIDDEN void eph_model_free(struct eph_model *m);

/* Start a collection for one protocol over range r with the namespace's
 * settings k (both copied; k NULL: the kernel's defaults). */
EPH_HIDDEN void eph_model_begin(struct eph_model *m, enum eph_proto proto,
				const struct eph_range *r,
				const struct eph_knobs *k);

/* Account one socket (an eph_sock_cb: ctx is the model).  Sources hand
 * LISTEN and bound-only sockets before the connected ones, as the kernel's
 * dumps and /proc/net do. */
EPH_HIDDEN void eph_model_add(void *model, const struct eph_sock *s);

/*
 * A tally made elsewhere (the BPF iterator counts in the kernel): merged
 * as if its sockets had been added one by one.  Bitmaps have EPH_BITMAP_
 * BYTES; states are indexed by enum eph_tcp_state.  destinations counts
 * every distinct destination the tally saw; the few it details are added
 * with eph_model_add_dest() afterwards.
 */
struct eph_model_tally {
	uint64_t sockets_total, sockets_in_range;
	const uint64_t *state_total, *state_in_range; /* [EPH_ST_COUNT] */
	uint64_t tw_reusable;
	const uint8_t *in_use, *bind_owned;
	bool owners_exact; /* bind ownership was seen for every socket */
	uint32_t listeners_in_range, n_listeners;
	const struct eph_listener *listeners;
	uint64_t destinations, dest_untracked;
	bool dest_overflow;
};
EPH_HIDDEN void eph_model_add_tally(struct eph_model *m,
				    const struct eph_model_tally *a);

/* One destination of such a tally (key: family, addresses, rport), with
 * its counts; blocking = sockets a connect() there cannot reuse on ports
 * that are not bind-owned. */
EPH_HIDDEN void eph_model_add_dest(struct eph_model *m,
				   const struct eph_sock *key, uint32_t sockets,
				   uint32_t time_wait, uint32_t tw_reusable,
				   uint32_t blocking);

/* Compute the pressures into *out, keeping the top_n destinations by
 * connect pressure (top_n <= EPH_TOP_MAX). */
EPH_HIDDEN void eph_model_end(struct eph_model *m, unsigned top_n,
			      struct eph_proto_stats *out);

/* Whether connect() may take over this TIME_WAIT socket now
 * (tcp_twsk_unique()): tw_reuse 1, or 2 with a loopback address;
 * timestamps on; older than tw_reuse_delay. */
EPH_HIDDEN bool eph_tw_reusable(const struct eph_knobs *k,
				const struct eph_sock *s);

#endif
