/*
 * tally.c - the accounting model (DESIGN.md), pure: records in, numbers
 * out.  Memory is fixed when the tally is made: a port bitmap, counters,
 * and an open-addressing table of destinations that is never cleared but
 * aged by a generation number, so a collection touches only the slots it
 * uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tally.h"

struct dest_slot {
	uint32_t gen; /* slot in use in this collection iff == tally gen */
	uint32_t sockets;
	uint32_t time_wait;
	uint16_t rport;
	uint8_t family;
	uint8_t pad;
	uint8_t laddr[16];
	uint8_t raddr[16];
};

struct eph_tally {
	enum eph_proto proto;
	struct eph_range range;
	uint8_t in_use[EPH_BITMAP_BYTES];
	/* Pool ports with a listener: their accepted sockets took no port
	 * from connect(), so they are nobody's destination. */
	uint8_t listening[EPH_BITMAP_BYTES];
	uint32_t ports_in_use;
	uint64_t sockets_in_range, sockets_total;
	uint64_t state_in_range[EPH_ST_COUNT];
	uint64_t state_total[EPH_ST_COUNT];
	uint32_t listeners_in_range, n_listeners;
	struct eph_listener listeners[EPH_LISTENERS_MAX];

	uint32_t gen;
	uint32_t mask;	 /* slots - 1 */
	uint32_t cap;	 /* destinations tracked at most */
	uint32_t n_used; /* entries of used[] */
	bool overflow;
	uint64_t untracked;
	struct dest_slot *slots;
	uint32_t *used; /* slot index of each destination, for the top-N */
};

struct eph_tally *eph_tally_new(unsigned dest_cap)
{
	struct eph_tally *t;
	uint32_t slots = 16;

	if (dest_cap == 0 || dest_cap > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	/* Load factor <= 1/2 keeps linear probing short. */
	while (slots < 2 * dest_cap)
		slots <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* calloc: untouched pages stay unmapped until a destination lands. */
	t->slots = calloc(slots, sizeof(*t->slots));
	t->used = calloc(dest_cap, sizeof(*t->used));
	if (!t->slots || !t->used) {
		eph_tally_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->mask = slots - 1;
	t->cap = dest_cap;
	return t;
}

void eph_tally_free(struct eph_tally *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->used);
	free(t);
}

void eph_tally_begin(struct eph_tally *t, enum eph_proto proto,
		     const struct eph_range *r)
{
	t->proto = proto;
	t->range = *r;
	memset(t->in_use, 0, sizeof(t->in_use));
	memset(t->listening, 0, sizeof(t->listening));
	t->ports_in_use = 0;
	t->sockets_in_range = t->sockets_total = 0;
	memset(t->state_in_range, 0, sizeof(t->state_in_range));
	memset(t->state_total, 0, sizeof(t->state_total));
	t->listeners_in_range = t->n_listeners = 0;
	t->n_used = 0;
	t->overflow = false;
	t->untracked = 0;
	if (++t->gen == 0) {
		/* Wrapped after 2^32 collections: start clean. */
		memset(t->slots, 0, (size_t)(t->mask + 1) * sizeof(*t->slots));
		t->gen = 1;
	}
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint32_t dest_hash(const struct eph_sock *s)
{
	uint64_t h = (uint64_t)s->rport << 8 | s->family;

	if (s->family == AF_INET6) {
		uint64_t a[4];

		memcpy(a, s->laddr, 16);
		memcpy(a + 2, s->raddr, 16);
		h = mix64(h ^ a[0]);
		h = mix64(h ^ a[1] ^ mix64(a[2]) ^ (a[3] << 1));
	} else {
		/* Only the 4 bytes dest_equal() compares. */
		uint32_t l, r;

		memcpy(&l, s->laddr, 4);
		memcpy(&r, s->raddr, 4);
		h = mix64(h ^ ((uint64_t)l << 32 | r));
	}
	return (uint32_t)h;
}

static bool dest_equal(const struct dest_slot *d, const struct eph_sock *s)
{
	uint64_t a[4], b[4];

	if (d->rport != s->rport || d->family != s->family)
		return false;
	if (s->family != AF_INET6) {
		uint32_t x[2], y[2];

		memcpy(&x[0], d->laddr, 4);
		memcpy(&x[1], d->raddr, 4);
		memcpy(&y[0], s->laddr, 4);
		memcpy(&y[1], s->raddr, 4);
		return x[0] == y[0] && x[1] == y[1];
	}
	/* Fixed-size copies compile to plain loads, unlike memcmp(). */
	memcpy(a, d->laddr, 16);
	memcpy(a + 2, d->raddr, 16);
	memcpy(b, s->laddr, 16);
	memcpy(b + 2, s->raddr, 16);
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static void dest_account(struct eph_tally *t, const struct eph_sock *s,
			 bool time_wait)
{
	uint32_t i = dest_hash(s) & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct dest_slot *d = &t->slots[i];

		if (d->gen != t->gen) {
			if (t->n_used == t->cap) {
				t->overflow = true;
				t->untracked++;
				return;
			}
			d->gen = t->gen;
			d->sockets = 0;
			d->time_wait = 0;
			d->rport = s->rport;
			d->family = s->family;
			memcpy(d->laddr, s->laddr, 16);
			memcpy(d->raddr, s->raddr, 16);
			t->used[t->n_used++] = i;
		} else if (!dest_equal(d, s)) {
			continue;
		}
		d->sockets++;
		d->time_wait += time_wait;
		return;
	}
}

static void add_listener(struct eph_tally *t, const struct eph_sock *s)
{
	t->listeners_in_range++;
	if (t->n_listeners < EPH_LISTENERS_MAX) {
		struct eph_listener *l = &t->listeners[t->n_listeners++];

		l->addr.family = s->family;
		memcpy(l->addr.bytes, s->laddr, 16);
		l->port = s->lport;
	}
}

void eph_tally_add(void *tally, const struct eph_sock *s)
{
	struct eph_tally *t = tally;
	unsigned st = s->state, port = s->lport;

	if (st == EPH_ST_NEW_SYN_RECV)
		st = EPH_ST_SYN_RECV;
	else if (st >= EPH_ST_COUNT)
		st = EPH_ST_UNKNOWN;
	t->sockets_total++;
	t->state_total[st]++;
	if (port < t->range.low || port > t->range.high ||
	    eph_bit_test(t->range.reserved, port))
		return;

	t->sockets_in_range++;
	t->state_in_range[st]++;
	if (!eph_bit_test(t->in_use, port)) {
		eph_bit_set(t->in_use, port);
		t->ports_in_use++;
	}
	if (t->proto == EPH_TCP) {
		if (st == EPH_ST_LISTEN) {
			add_listener(t, s);
			eph_bit_set(t->listening, port);
			return;
		}
		if (st == EPH_ST_BOUND || st == EPH_ST_CLOSE)
			return; /* bound, no peer */
		/* Accepted by a listener on this port: both the kernel's dump
		 * and /proc/net/tcp list listeners before the other sockets
		 * of their family, so the bit is set by now. */
		if (eph_bit_test(t->listening, port))
			return;
	} else if (s->rport == 0) {
		/* Unconnected UDP: receives from anyone on this port. */
		add_listener(t, s);
		return;
	}
	dest_account(t, s, st == EPH_ST_TIME_WAIT);
}

static void dest_export(const struct dest_slot *d, uint32_t usable,
			struct eph_dest *out)
{
	memset(out, 0, sizeof(*out));
	out->laddr.family = out->raddr.family = d->family;
	memcpy(out->laddr.bytes, d->laddr, 16);
	memcpy(out->raddr.bytes, d->raddr, 16);
	out->rport = d->rport;
	out->sockets = d->sockets;
	out->time_wait = d->time_wait;
	out->exhaustion_bp = eph_ratio_bp(d->sockets, usable);
}

static const struct dest_slot *busiest(const struct eph_tally *t)
{
	const struct dest_slot *w = &t->slots[t->used[0]];

	for (uint32_t i = 1; i < t->n_used; i++)
		if (t->slots[t->used[i]].sockets > w->sockets)
			w = &t->slots[t->used[i]];
	return w;
}

void eph_tally_end(struct eph_tally *t, unsigned top_n,
		   struct eph_proto_stats *out)
{
	const struct dest_slot *top[EPH_TOP_MAX + 1];
	uint32_t n_top = 0;

	memset(out, 0, sizeof(*out));
	out->collected = true;
	out->low = t->range.low;
	out->high = t->range.high;
	out->size = (uint32_t)t->range.high - t->range.low + 1;
	out->reserved =
	    eph_reserved_count(t->range.reserved, t->range.low, t->range.high);
	out->usable = out->size - out->reserved;
	out->all_reserved = out->usable == 0;
	out->ports_in_use = t->ports_in_use;
	out->ports_free = out->usable - t->ports_in_use;
	out->sockets_in_range = t->sockets_in_range;
	out->sockets_total = t->sockets_total;
	memcpy(out->state_in_range, t->state_in_range,
	       sizeof(t->state_in_range));
	memcpy(out->state_total, t->state_total, sizeof(t->state_total));
	out->time_wait = t->state_in_range[EPH_ST_TIME_WAIT];
	out->time_wait_total = t->state_total[EPH_ST_TIME_WAIT];
	out->totals_exact = true;
	out->listeners_in_range = t->listeners_in_range;
	out->n_listeners = t->n_listeners;
	memcpy(out->listeners, t->listeners,
	       t->n_listeners * sizeof(t->listeners[0]));
	out->destinations = t->n_used;
	out->dest_overflow = t->overflow;
	out->dest_untracked = t->untracked;

	/* Top-N by insertion into a short sorted array. */
	if (top_n > EPH_TOP_MAX)
		top_n = EPH_TOP_MAX;
	for (uint32_t i = 0; i < t->n_used; i++) {
		const struct dest_slot *d = &t->slots[t->used[i]];
		uint32_t j;

		if (n_top == top_n &&
		    (n_top == 0 || d->sockets <= top[n_top - 1]->sockets))
			continue;
		j = n_top < top_n ? n_top++ : n_top - 1;
		while (j > 0 && top[j - 1]->sockets < d->sockets) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = d;
	}
	out->n_top = n_top;
	for (uint32_t i = 0; i < n_top; i++)
		dest_export(top[i], out->usable, &out->top[i]);

	/* The worst destination is wanted even when top_n is 0. */
	if (t->n_used > 0) {
		out->has_worst = true;
		dest_export(n_top ? top[0] : busiest(t), out->usable,
			    &out->worst);
	}

	out->host_exhaustion_bp = eph_ratio_bp(out->ports_in_use, out->usable);
	out->worst_dest_exhaustion_bp =
	    out->has_worst ? out->worst.exhaustion_bp : 0;
	out->exhaustion_bp =
	    out->host_exhaustion_bp > out->worst_dest_exhaustion_bp
		? out->host_exhaustion_bp
		: out->worst_dest_exhaustion_bp;
}
