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
