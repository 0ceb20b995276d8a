/*
 * rate.c - rates and time to exhaustion from a history of collections
 * (ephport.h, doc/ephport-model.7 "Rates").  Pure and fixed memory: the
 * history is a ring of EPH_RATE_HISTORY samples inside struct eph_rate;
 * nothing here reads a file or a clock.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>

#include "model.h"

/* A counter delta modulo 2^64 this large means it went backwards. */
#define BACKWARDS (UINT64_C(1) << 63)

int eph_rate_init(struct eph_rate *r, uint32_t window_ms)
{
	if (window_ms > EPH_RATE_WINDOW_MS_MAX)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->window_ms = window_ms ? window_ms : EPH_RATE_WINDOW_MS_DEFAULT;
	return 0;
}

/* The i-th newest sample (0: the newest); i < r->count. */
static const struct eph_rate_sample *nth(const struct eph_rate *r, uint32_t i)
{
	return &r->s[(r->head + EPH_RATE_HISTORY - i) % EPH_RATE_HISTORY];
}

static void sample_of(struct eph_rate_sample *x, const struct eph_snapshot *s,
		      int64_t t_us)
{
	memset(x, 0, sizeof(*x));
	x->t_us = t_us;
	x->counters_read = s->counters.read;
	x->tcp_active_opens = s->counters.tcp_active_opens;
	x->knobs = s->knobs;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];

		if (!(s->protocols & (1u << p)) || !ps->collected)
			continue;
		x->proto[p].collected = true;
		x->proto[p].usable = ps->usable;
		x->proto[p].ports_in_use = ps->ports_in_use;
		x->proto[p].bind_owned = ps->bind_owned;
		x->proto[p].pressure_bp = ps->pressure_bp;
		if (ps->has_worst) {
			x->proto[p].has_worst = true;
			x->proto[p].laddr = ps->worst.laddr;
			x->proto[p].raddr = ps->worst.raddr;
			x->proto[p].rport = ps->worst.rport;
			x->proto[p].worst_blocked = ps->worst.blocked;
			x->proto[p].worst_time_wait = ps->worst.time_wait;
			x->proto[p].worst_tw_reusable = ps->worst.tw_reusable;
		}
	}
}

int eph_rate_add(struct eph_rate *r, const struct eph_snapshot *s, int64_t t_us)
{
	bool reset = false;

	if (r->count > 0) {
		const struct eph_rate_sample *last = nth(r, 0);

		if (t_us <= last->t_us)
			return -EINVAL;
		if (s->netns_inode != r->netns_inode)
			reset = true;
		else if (last->counters_read && s->counters.read &&
			 s->counters.tcp_active_opens -
				 last->tcp_active_opens >=
			     BACKWARDS)
			reset = true;
	}
	if (reset)
		r->count = 0;
	r->head = r->count == 0 ? 0 : (r->head + 1) % EPH_RATE_HISTORY;
	if (r->count < EPH_RATE_HISTORY)
		r->count++;
	sample_of(&r->s[r->head], s, t_us);
	r->netns_inode = s->netns_inode;
	r->restarted = reset;
	return reset ? 1 : 0;
}

/* Samples of the trend window: the newest ones no older than window_ms. */
static uint32_t in_window(const struct eph_rate *r)
{
	int64_t newest = nth(r, 0)->t_us;
	uint32_t n = 0;

	while (n < r->count &&
	       newest - nth(r, n)->t_us <= (int64_t)r->window_ms * 1000)
		n++;
	return n;
}

/*
 * Least squares over n points (x seconds, y value) towards full, the
 * newest point last: the trend's status, slope and prediction.
 */
static void trend(const double *x, const double *y, uint32_t n, double full,
		  struct eph_trend *t)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, sse = 0, a, b;

	memset(t, 0, sizeof(*t));
	t->samples = n;
	if (n == 0)
		return;
	t->span_s = x[n - 1] - x[0];
	t->status = y[n - 1] >= full ? EPH_TREND_EXHAUSTED : EPH_TREND_UNKNOWN;
	if (n < 3 || t->span_s < 1.0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (uint32_t i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	b = sxy / sxx;
	a = my - b * mx;
	for (uint32_t i = 0; i < n; i++) {
		double e = y[i] - (a + b * x[i]);

		sse += e * e;
	}
	t->slope = b;
	t->slope_se = sqrt(sse / (n - 2) / sxx);
	if (t->status == EPH_TREND_EXHAUSTED)
		return; /* seconds 0 */
	/* Significantly rising: t = slope / se > 2 (about 95 %). */
	if (!(b > 0) || b <= 2 * t->slope_se) {
		t->status = EPH_TREND_NOT_APPROACHING;
		return;
	}
	t->status = EPH_TREND_APPROACHING;
	t->seconds = (full - (a + b * x[n - 1])) / b;
	if (t->seconds < 0)
		t->seconds = 0;
}

static bool same_dest(const struct eph_rate_sample *a,
		      const struct eph_rate_sample *b, int p)
{
	return a->proto[p].has_worst && b->proto[p].has_worst &&
	       a->proto[p].rport == b->proto[p].rport &&
	       memcmp(&a->proto[p].laddr, &b->proto[p].laddr,
		      sizeof(a->proto[p].laddr)) == 0 &&
	       memcmp(&a->proto[p].raddr, &b->proto[p].raddr,
		      sizeof(a->proto[p].raddr)) == 0;
}

static void open_rate(const struct eph_rate *r, uint32_t n,
		      struct eph_rate_proto *o)
{
	const struct eph_rate_sample *last = nth(r, 0), *first = last;
	uint64_t opens = 0;

	if (!last->counters_read) {
		o->open_status = EPH_RATE_NO_COUNTER;
		return;
	}
	/* The run of samples with counters ending at the newest. */
	for (uint32_t i = 1; i < n && nth(r, i)->counters_read; i++) {
		opens += nth(r, i - 1)->tcp_active_opens -
			 nth(r, i)->tcp_active_opens; /* modulo 2^64 */
		first = nth(r, i);
	}
	if (first == last) {
		o->open_status =
		    r->restarted ? EPH_RATE_RESTART : EPH_RATE_FIRST;
		return;
	}
	o->open_status = EPH_RATE_OK;
	o->open_rate =
	    (double)opens / ((double)(last->t_us - first->t_us) / 1e6);
}

static void sustainable(const struct eph_rate_sample *x, int p,
			struct eph_rate_proto *o)
{
	const struct eph_knobs *k = &x->knobs;
	uint32_t usable = x->proto[p].usable, held;

	if (p != EPH_TCP)
		return; /* UDP: no TIME_WAIT */
	if (x->proto[p].has_worst) {
		struct eph_sock sk = {.family = x->proto[p].laddr.family,
				      .state = EPH_ST_TIME_WAIT,
				      .rport = x->proto[p].rport,
				      .expires_ms = 1 /* an old one */};
		uint32_t tw =
		    x->proto[p].worst_time_wait - x->proto[p].worst_tw_reusable;

		memcpy(sk.laddr, x->proto[p].laddr.bytes, 16);
		memcpy(sk.raddr, x->proto[p].raddr.bytes, 16);
		if (eph_tw_reusable(k, &sk))
			return;
		held = x->proto[p].worst_blocked > tw
			   ? x->proto[p].worst_blocked - tw
			   : 0;
	} else {
		/* A new destination: tw_reuse 2 would take over loopback
		 * only, and which one it will be is not known. */
		if (k->tw_reuse == 1 && k->timestamps != 0 &&
		    k->tw_reuse_delay_ms < EPH_TIME_WAIT_MS)
			return;
		held = x->proto[p].bind_owned;
	}
	o->tw_bound = true;
	o->sustainable_ports = usable > held ? usable - held : 0;
	o->sustainable_rate =
	    (double)o->sustainable_ports / (EPH_TIME_WAIT_MS / 1000.0);
}

int eph_rate_compute(const struct eph_rate *r, struct eph_rate_result *out)
{
	double x[EPH_RATE_HISTORY], y[EPH_RATE_HISTORY];
	const struct eph_rate_sample *last;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (r->count == 0)
		return -ENODATA;
	last = nth(r, 0);
	n = in_window(r);
	out->samples = n;
	out->window_s = r->window_ms / 1000.0;
	out->measured_s = (double)(last->t_us - nth(r, n - 1)->t_us) / 1e6;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		struct eph_rate_proto *o = &out->proto[p];
		uint32_t m = 0;

		if (!last->proto[p].collected)
			continue;
		o->collected = true;
		if (p == EPH_TCP)
			open_rate(r, n, o);
		else
			o->open_status = EPH_RATE_NO_COUNTER;
		sustainable(last, p, o);
		if (o->tw_bound && o->open_status == EPH_RATE_OK &&
		    o->open_rate > 0) {
			o->has_headroom = true;
			o->headroom = o->sustainable_rate / o->open_rate;
		}
		/* Oldest first, seconds before the newest (<= 0). */
		for (uint32_t i = n; i-- > 0;) {
			const struct eph_rate_sample *s = nth(r, i);

			if (!s->proto[p].collected)
				continue;
			x[m] = (double)(s->t_us - last->t_us) / 1e6;
			y[m++] = s->proto[p].pressure_bp;
		}
		trend(x, y, m, EPH_BP_FULL, &o->pressure);
		if (!last->proto[p].has_worst)
			continue;
		o->has_worst = true;
		o->laddr = last->proto[p].laddr;
		o->raddr = last->proto[p].raddr;
		o->rport = last->proto[p].rport;
		m = 0;
		while (m < n && same_dest(nth(r, m), last, p))
			m++;
		for (uint32_t i = m, j = 0; i-- > 0; j++) {
			const struct eph_rate_sample *s = nth(r, i);

			x[j] = (double)(s->t_us - last->t_us) / 1e6;
			y[j] = s->proto[p].worst_blocked;
		}
		trend(x, y, m, last->proto[p].usable, &o->worst_blocked);
	}
	return 0;
}

const char *eph_rate_status_name(enum eph_rate_status s)
{
	switch (s) {
	case EPH_RATE_OK:
		return "ok";
	case EPH_RATE_FIRST:
		return "first sample";
	case EPH_RATE_RESTART:
		return "restart";
	case EPH_RATE_NO_COUNTER:
		return "no counter";
	}
	return "unknown";
}

const char *eph_trend_status_name(enum eph_trend_status s)
{
	switch (s) {
	case EPH_TREND_UNKNOWN:
		break;
	case EPH_TREND_NOT_APPROACHING:
		return "not approaching";
	case EPH_TREND_APPROACHING:
		return "approaching";
	case EPH_TREND_EXHAUSTED:
		return "exhausted";
	}
	return "unknown";
}
