/*
 * model.c - the accounting model (doc/ephport-model.7), pure: records in,
 * pressures out.  Each pressure is what the kernel's own port search would
 * find:
 *
 *   bind pressure     inet_csk_find_open_port() (bind(0)) and
 *                     udp_lib_get_port() (UDP autobind) refuse a port held
 *                     by any socket whose address overlaps theirs; for the
 *                     wildcard, every socket, TIME_WAIT included.
 *   connect pressure  __inet_hash_connect() skips every bind-owned bucket
 *                     (fastreuse >= 0 || fastreuseport >= 0) and, for the
 *                     others, takes the port unless
 *                     __inet_check_established() finds a socket with the
 *                     same 4-tuple that tcp_twsk_unique() cannot take over.
 *
 * Memory is fixed when the model is made: port bitmaps, counters, and an
 * open-addressing table of destinations that is never cleared but aged by
 * a generation number, so a collection touches only the slots it uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model.h"

struct dest_slot {
	uint32_t gen; /* slot in use in this collection iff == tally gen */
	uint32_t sockets;
	uint32_t time_wait;
	uint32_t tw_reusable;
	uint32_t blocking; /* sockets on ports not (yet) bind-owned that a
			    * connect() to this destination cannot reuse */
	uint16_t rport;
	uint8_t family;
	uint8_t pad;
	uint8_t laddr[16];
	uint8_t raddr[16];
};

struct eph_model {
	enum eph_proto proto;
	struct eph_range range;
	struct eph_knobs knobs;
	uint8_t in_use[EPH_BITMAP_BYTES];
	/* Pool ports with a listener: their accepted sockets took no port
	 * from connect(), so they are nobody's destination. */
	uint8_t listening[EPH_BITMAP_BYTES];
	/* Pool ports whose bind bucket connect() skips. */
	uint8_t bind_owned[EPH_BITMAP_BYTES];
	uint32_t ports_in_use, bind_owned_ports;
	bool owners_unknown; /* a connected socket's ownership was not seen */
	uint64_t more_destinations; /* tallied elsewhere, beyond those added */
	uint64_t tw_reusable;
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

struct eph_model *eph_model_new(unsigned dest_cap)
{
	struct eph_model *t;
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
		eph_model_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->mask = slots - 1;
	t->cap = dest_cap;
	return t;
}

void eph_model_free(struct eph_model *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->used);
	free(t);
}

void eph_knobs_default(struct eph_knobs *k)
{
	memset(k, 0, sizeof(*k));
	k->tw_reuse = 2;
	k->tw_reuse_delay_ms = 1000;
	k->timestamps = 1;
}

void eph_model_begin(struct eph_model *t, enum eph_proto proto,
		     const struct eph_range *r, const struct eph_knobs *k)
{
	t->proto = proto;
	t->range = *r;
	if (k)
		t->knobs = *k;
	else
		eph_knobs_default(&t->knobs);
	memset(t->in_use, 0, sizeof(t->in_use));
	memset(t->listening, 0, sizeof(t->listening));
	memset(t->bind_owned, 0, sizeof(t->bind_owned));
	t->ports_in_use = t->bind_owned_ports = 0;
	t->owners_unknown = false;
	t->more_destinations = 0;
	t->tw_reusable = 0;
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

/* The slot of s's destination, made empty on first sight; NULL when the
 * table is full (the socket is counted as untracked). */
static struct dest_slot *dest_slot_of(struct eph_model *t,
				      const struct eph_sock *s)
{
	uint32_t i = dest_hash(s) & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct dest_slot *d = &t->slots[i];

		if (d->gen != t->gen) {
			if (t->n_used == t->cap) {
				t->overflow = true;
				t->untracked++;
				return NULL;
			}
			d->gen = t->gen;
			d->sockets = 0;
			d->time_wait = 0;
			d->tw_reusable = 0;
			d->blocking = 0;
			d->rport = s->rport;
			d->family = s->family;
			memcpy(d->laddr, s->laddr, 16);
			memcpy(d->raddr, s->raddr, 16);
			t->used[t->n_used++] = i;
		} else if (!dest_equal(d, s)) {
			continue;
		}
		return d;
	}
}

static void dest_account(struct eph_model *t, const struct eph_sock *s,
			 bool time_wait, bool reusable, bool blocking)
{
	struct dest_slot *d = dest_slot_of(t, s);

	if (!d)
		return;
	d->sockets++;
	d->time_wait += time_wait;
	d->tw_reusable += reusable;
	d->blocking += blocking;
}

static void add_listener(struct eph_model *t, const struct eph_sock *s)
{
	t->listeners_in_range++;
	if (t->n_listeners < EPH_LISTENERS_MAX) {
		struct eph_listener *l = &t->listeners[t->n_listeners++];

		l->addr.family = s->family;
		memcpy(l->addr.bytes, s->laddr, 16);
		l->port = s->lport;
	}
}

static bool is_loopback(const struct eph_sock *s)
{
	static const uint8_t lo6[16] = {[15] = 1};

	if (s->family == AF_INET6)
		return memcmp(s->laddr, lo6, 16) == 0 ||
		       memcmp(s->raddr, lo6, 16) == 0;
	/* 127.0.0.0/8, either end (ipv4_is_loopback()). */
	return s->laddr[0] == 127 || s->raddr[0] == 127;
}

bool eph_tw_reusable(const struct eph_knobs *k, const struct eph_sock *s)
{
	/* tcp_twsk_unique(): reuse needs the peer's timestamps
	 * (tw_ts_recent_stamp), which tcp_timestamps 0 never asks for. */
	if (k->tw_reuse == 0 || k->timestamps == 0)
		return false;
	if (k->tw_reuse == 2 && !is_loopback(s))
		return false;
	/* Older than tw_reuse_delay: its age is TCP_TIMEWAIT_LEN less what
	 * is left of it (0: not known, taken as old). */
	if (k->tw_reuse_delay_ms >= EPH_TIME_WAIT_MS)
		return false;
	return s->expires_ms == 0 ||
	       s->expires_ms < EPH_TIME_WAIT_MS - k->tw_reuse_delay_ms;
}

static void mark_bind_owned(struct eph_model *t, unsigned port)
{
	if (!eph_bit_test(t->bind_owned, port)) {
		eph_bit_set(t->bind_owned, port);
		t->bind_owned_ports++;
	}
}

void eph_model_add(void *model, const struct eph_sock *s)
{
	struct eph_model *t = model;
	unsigned st = s->state, port = s->lport;
	bool tw, reusable = false;

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
	if (t->proto == EPH_UDP) {
		/* Autobind never shares a port (udp_lib_lport_inuse()): only
		 * bind pressure applies.  Unconnected: a listener. */
		if (s->rport == 0)
			add_listener(t, s);
		else
			dest_account(t, s, false, false, false);
		return;
	}
	if (st == EPH_ST_LISTEN) {
		/* listen() took its port through inet_csk_get_port(). */
		add_listener(t, s);
		eph_bit_set(t->listening, port);
		mark_bind_owned(t, port);
		return;
	}
	if (st == EPH_ST_BOUND || st == EPH_ST_CLOSE) {
		/* Bound, no peer: bind() owns the port. */
		mark_bind_owned(t, port);
		return;
	}
	/* Accepted by a listener on this port: inherited the listener's
	 * bucket (__inet_inherit_port()), and is nobody's destination.  Both
	 * the kernel's dump and /proc/net/tcp list listeners first. */
	if (eph_bit_test(t->listening, port))
		return;
	if (s->owner == EPH_OWNER_BIND)
		mark_bind_owned(t, port);
	else if (s->owner == EPH_OWNER_UNKNOWN)
		t->owners_unknown = true;
	tw = st == EPH_ST_TIME_WAIT;
	if (tw && eph_tw_reusable(&t->knobs, s)) {
		reusable = true;
		t->tw_reusable++;
	}
	dest_account(t, s, tw, reusable,
		     !reusable && !eph_bit_test(t->bind_owned, port));
}

static uint32_t pool_popcount(const struct eph_model *t, const uint8_t *bm)
{
	uint32_t n = 0;

	for (unsigned p = t->range.low; p <= t->range.high; p++)
		n += eph_bit_test(bm, p) && !eph_bit_test(t->range.reserved, p);
	return n;
}

void eph_model_add_tally(struct eph_model *t, const struct eph_model_tally *a)
{
	t->sockets_total += a->sockets_total;
	t->sockets_in_range += a->sockets_in_range;
	for (unsigned st = 0; st < EPH_ST_COUNT; st++) {
		unsigned to = st == EPH_ST_NEW_SYN_RECV ? EPH_ST_SYN_RECV : st;

		t->state_total[to] += a->state_total[st];
		t->state_in_range[to] += a->state_in_range[st];
	}
	t->tw_reusable += a->tw_reusable;
	/* Only pool ports count, whatever the tally's range was. */
	for (unsigned i = 0; i < EPH_BITMAP_BYTES; i++) {
		t->in_use[i] |= a->in_use[i];
		if (t->proto == EPH_TCP)
			t->bind_owned[i] |= a->bind_owned[i];
	}
	t->ports_in_use = pool_popcount(t, t->in_use);
	t->bind_owned_ports = pool_popcount(t, t->bind_owned);
	if (!a->owners_exact)
		t->owners_unknown = true;
	t->listeners_in_range += a->listeners_in_range;
	for (uint32_t i = 0; i < a->n_listeners; i++)
		if (t->n_listeners < EPH_LISTENERS_MAX)
			t->listeners[t->n_listeners++] = a->listeners[i];
	/* Listener ports: their accepted sockets are nobody's
	 * destination, also for sockets added after this tally. */
	for (uint32_t i = 0; i < a->n_listeners; i++)
		eph_bit_set(t->listening, a->listeners[i].port);
	t->more_destinations += a->destinations;
	t->untracked += a->dest_untracked;
	if (a->dest_overflow)
		t->overflow = true;
}

void eph_model_add_dest(struct eph_model *t, const struct eph_sock *key,
			uint32_t sockets, uint32_t time_wait,
			uint32_t tw_reusable, uint32_t blocking)
{
	uint32_t before = t->n_used;
	struct dest_slot *d;

	if (sockets == 0)
		return;
	d = dest_slot_of(t, key);
	if (d) {
		d->sockets += sockets;
		d->time_wait += time_wait;
		d->tw_reusable += tw_reusable;
		d->blocking += blocking;
	}
	/* It was counted among the tally's destinations already. */
	if (t->n_used > before && t->more_destinations > 0)
		t->more_destinations--;
}

static void dest_export(const struct eph_model *t, const struct dest_slot *d,
			uint32_t usable, struct eph_dest *out)
{
	memset(out, 0, sizeof(*out));
	out->laddr.family = out->raddr.family = d->family;
	memcpy(out->laddr.bytes, d->laddr, 16);
	memcpy(out->raddr.bytes, d->raddr, 16);
	out->rport = d->rport;
	out->sockets = d->sockets;
	out->time_wait = d->time_wait;
	out->tw_reusable = d->tw_reusable;
	if (t->proto == EPH_TCP) {
		uint64_t blocked = (uint64_t)t->bind_owned_ports + d->blocking;

		out->blocked = (uint32_t)(blocked < usable ? blocked : usable);
		out->connect_bp = eph_ratio_bp(blocked, usable);
	}
	out->exhaustion_bp = eph_ratio_bp(d->sockets, usable);
}

/* Ranking: what blocks the next connect() first, then the socket count. */
static bool worse(const struct dest_slot *a, const struct dest_slot *b)
{
	if (a->blocking != b->blocking)
		return a->blocking > b->blocking;
	return a->sockets > b->sockets;
}

static const struct dest_slot *busiest(const struct eph_model *t)
{
	const struct dest_slot *w = &t->slots[t->used[0]];

	for (uint32_t i = 1; i < t->n_used; i++)
		if (worse(&t->slots[t->used[i]], w))
			w = &t->slots[t->used[i]];
	return w;
}

void eph_model_end(struct eph_model *t, unsigned top_n,
		   struct eph_proto_stats *out)
{
	const struct dest_slot *top[EPH_TOP_MAX + 1];
	uint32_t n_top = 0, most_sockets = 0;

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
	out->destinations = t->n_used + t->more_destinations;
	out->dest_overflow = t->overflow;
	out->dest_untracked = t->untracked;

	/* Top-N by insertion into a short sorted array. */
	if (top_n > EPH_TOP_MAX)
		top_n = EPH_TOP_MAX;
	for (uint32_t i = 0; i < t->n_used; i++) {
		const struct dest_slot *d = &t->slots[t->used[i]];
		uint32_t j;

		if (d->sockets > most_sockets)
			most_sockets = d->sockets;
		if (n_top == top_n && (n_top == 0 || !worse(d, top[n_top - 1])))
			continue;
		j = n_top < top_n ? n_top++ : n_top - 1;
		while (j > 0 && worse(d, top[j - 1])) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = d;
	}
	out->n_top = n_top;
	for (uint32_t i = 0; i < n_top; i++)
		dest_export(t, top[i], out->usable, &out->top[i]);

	/* The worst destination is wanted even when top_n is 0. */
	if (t->n_used > 0) {
		out->has_worst = true;
		dest_export(t, n_top ? top[0] : busiest(t), out->usable,
			    &out->worst);
	}

	/* Bind: every held pool port refuses a wildcard bind(0) and a UDP
	 * autobind (relax is false on the first pass of
	 * inet_csk_find_open_port(), so SO_REUSEADDR does not help). */
	out->bind_bp = eph_ratio_bp(out->ports_in_use, out->usable);
	out->bind_exact = !(t->proto == EPH_TCP && t->knobs.autobind_reuse);
	out->time_wait_reusable = t->tw_reusable;
	if (t->proto == EPH_TCP) {
		out->bind_owned = t->bind_owned_ports;
		out->owners_exact = !t->owners_unknown;
		out->connect_new_bp =
		    eph_ratio_bp(t->bind_owned_ports, out->usable);
		out->connect_bp = out->has_worst ? out->worst.connect_bp
						 : out->connect_new_bp;
	} else {
		out->owners_exact = true;
	}
	/* The headline; a tie names connect, which says where. */
	if (t->proto == EPH_TCP && out->connect_bp >= out->bind_bp &&
	    (out->connect_bp > 0 || out->has_worst)) {
		out->pressure_bp = out->connect_bp;
		out->pressure_kind = EPH_KIND_CONNECT;
	} else {
		out->pressure_bp = out->bind_bp;
		out->pressure_kind = EPH_KIND_BIND;
	}

	/* The first model's numbers, for deprecated objects. */
	out->host_exhaustion_bp = out->bind_bp;
	out->worst_dest_exhaustion_bp = eph_ratio_bp(most_sockets, out->usable);
	if (!t->n_used)
		out->worst_dest_exhaustion_bp = 0;
	out->exhaustion_bp =
	    out->host_exhaustion_bp > out->worst_dest_exhaustion_bp
		? out->host_exhaustion_bp
		: out->worst_dest_exhaustion_bp;
}
