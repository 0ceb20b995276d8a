/*
 * rate.c - `ephport --rate SECONDS`: collect every interval over SECONDS,
 * feed the history (collector/rate.c), and print the rates in every
 * format (ephport(1) RATES; definitions in ephport-model(7), Rates).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "output.h"

#define RATE_MIN_MS	 500
#define RATE_MAX_MS	 3600000u
#define RATE_INTERVAL_MS 500
/* Samples per measurement at most (fits EPH_RATE_HISTORY with room). */
#define RATE_SAMPLES 60

int eph_rate_parse_seconds(const char *s, unsigned *ms)
{
	unsigned v;

	if (eph_watch_parse_interval(s, &v) < 0 || v < RATE_MIN_MS ||
	    v > RATE_MAX_MS)
		return -1;
	*ms = v;
	return 0;
}

unsigned eph_rate_interval_ms(unsigned ms)
{
	unsigned i = ms / RATE_SAMPLES;

	return i < RATE_INTERVAL_MS ? RATE_INTERVAL_MS : i;
}

int eph_rate_measure(struct eph_collector *c, unsigned ms,
		     struct eph_rate *hist, struct eph_snapshot *snap)
{
	unsigned interval = eph_rate_interval_ms(ms);
	int64_t t0 = eph_mono_us();
	int err;

	/* The trend window: 30 s, or the whole measurement if longer. */
	err = eph_rate_init(hist, ms > EPH_RATE_WINDOW_MS_DEFAULT ? ms + 1 : 0);
	if (err < 0)
		return err;
	for (unsigned k = 0;; k++) {
		int64_t next = t0 + (int64_t)(k + 1) * interval * 1000;
		struct timespec ts;

		err = eph_collect(c, snap);
		if (err < 0)
			return err;
		eph_rate_add(hist, snap, eph_mono_us());
		if ((uint64_t)k * interval >= ms)
			return 0;
		ts.tv_sec = (time_t)(next / 1000000);
		ts.tv_nsec = (long)(next % 1000000) * 1000;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				       NULL) == EINTR)
			;
	}
}

static void consider(const struct eph_trend *t, enum eph_proto p, double *best,
		     enum eph_proto *bp, int *found)
{
	if (t->status != EPH_TREND_APPROACHING &&
	    t->status != EPH_TREND_EXHAUSTED)
		return;
	if (!*found || t->seconds < *best) {
		*best = t->seconds;
		*bp = p;
		*found = 1;
	}
}

int eph_rate_min_seconds(const struct eph_rate_result *r, double *s,
			 enum eph_proto *p)
{
	int found = 0;
	enum eph_proto bp = EPH_TCP;
	double best = 0;

	for (int i = 0; i < EPH_PROTO_COUNT; i++) {
		const struct eph_rate_proto *o = &r->proto[i];

		if (!o->collected)
			continue;
		consider(&o->pressure, (enum eph_proto)i, &best, &bp, &found);
		if (o->has_worst)
			consider(&o->worst_blocked, (enum eph_proto)i, &best,
				 &bp, &found);
	}
	if (found) {
		*s = best;
		if (p)
			*p = bp;
	}
	return found;
}

/* --- text ------------------------------------------------------------ */

static void trend_text(FILE *f, const struct eph_trend *t, const char *unit,
		       double scale)
{
	switch (t->status) {
	case EPH_TREND_APPROACHING:
		fprintf(f, "in %.1f s (%+.2f %s/s)", t->seconds,
			t->slope * scale, unit);
		break;
	case EPH_TREND_EXHAUSTED:
		fputs("now (exhausted)", f);
		break;
	case EPH_TREND_NOT_APPROACHING:
		fprintf(f, "not approaching (%+.2f %s/s)", t->slope * scale,
			unit);
		break;
	default:
		fputs("unknown (too few samples)", f);
	}
}

void eph_rate_text(FILE *f, const struct eph_report *r)
{
	const struct eph_rate_result *rr = r->rate;
	char a[64], b[64];

	fprintf(f,
		"\nrate over %.1f s (%u samples every %.1f s; trend window "
		"%.0f s; TIME-WAIT 60 s):\n",
		rr->measured_s, rr->samples, r->rate_interval_s, rr->window_s);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_rate_proto *o = &rr->proto[p];

		if (!o->collected)
			continue;
		fprintf(f, "%s  opens ", p == EPH_TCP ? "TCP" : "UDP");
		if (o->open_status == EPH_RATE_OK)
			fprintf(f, "%.2f/s", o->open_rate);
		else if (p == EPH_UDP)
			fputs("not counted (no autobind counter)", f);
		else
			fprintf(f, "unknown (%s)",
				eph_rate_status_name(o->open_status));
		if (o->tw_bound)
			fprintf(f, ", sustainable %.2f/s (%u ports / 60 s)",
				o->sustainable_rate, o->sustainable_ports);
		else
			fputs(", sustainable: not TIME-WAIT bound", f);
		if (o->has_headroom)
			fprintf(f, ", headroom %.2f", o->headroom);
		fputs(", exhaustion ", f);
		trend_text(f, &o->pressure, "%", 0.01);
		fputc('\n', f);
		if (o->has_worst && p == EPH_TCP) {
			int v6 = o->raddr.family == AF_INET6;

			fprintf(f, "     worst destination %s%s%s:%u from %s: ",
				v6 ? "[" : "",
				eph_addr_format(&o->raddr, b, sizeof(b)),
				v6 ? "]" : "", o->rport,
				eph_addr_format(&o->laddr, a, sizeof(a)));
			trend_text(f, &o->worst_blocked, "blocked ports", 1);
			fputc('\n', f);
		}
	}
}

/* --- JSON ------------------------------------------------------------ */

static const char *open_key(enum eph_rate_status s)
{
	switch (s) {
	case EPH_RATE_OK:
		return "ok";
	case EPH_RATE_FIRST:
		return "first_sample";
	case EPH_RATE_RESTART:
		return "restart";
	default:
		return "no_counter";
	}
}

static const char *trend_key(enum eph_trend_status s)
{
	switch (s) {
	case EPH_TREND_NOT_APPROACHING:
		return "not_approaching";
	case EPH_TREND_APPROACHING:
		return "approaching";
	case EPH_TREND_EXHAUSTED:
		return "exhausted";
	default:
		return "unknown";
	}
}

static void json_num(FILE *f, bool have, double v)
{
	if (have && isfinite(v))
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

static void json_trend(FILE *f, const struct eph_trend *t, const char *slope,
		       double scale)
{
	fprintf(f, "{\"status\": \"%s\", \"seconds\": ", trend_key(t->status));
	json_num(f,
		 t->status == EPH_TREND_APPROACHING ||
		     t->status == EPH_TREND_EXHAUSTED,
		 t->seconds);
	fprintf(f, ", \"%s\": ", slope);
	json_num(f, t->samples >= 3 && t->span_s >= 1.0, t->slope * scale);
	fprintf(f, ", \"samples\": %u}", t->samples);
}

void eph_rate_json_proto(FILE *f, const struct eph_report *r, enum eph_proto p)
{
	const struct eph_rate_proto *o;
	char a[64];

	if (!r->rate || r->n_ns || !r->rate->proto[p].collected)
		return;
	o = &r->rate->proto[p];
	fprintf(f,
		",\n      \"rate\": {\"open_rate_status\": \"%s\", "
		"\"open_rate_per_second\": ",
		open_key(o->open_status));
	json_num(f, o->open_status == EPH_RATE_OK, o->open_rate);
	fprintf(f, ", \"time_wait_bound\": %s, \"sustainable_ports\": ",
		o->tw_bound ? "true" : "false");
	if (o->tw_bound)
		fprintf(f, "%u", o->sustainable_ports);
	else
		fputs("null", f);
	fputs(", \"sustainable_rate_per_second\": ", f);
	json_num(f, o->tw_bound, o->sustainable_rate);
	fputs(", \"headroom_ratio\": ", f);
	json_num(f, o->has_headroom, o->headroom);
	fputs(",\n        \"exhaustion\": ", f);
	json_trend(f, &o->pressure, "pressure_percent_per_second", 0.01);
	fputs(",\n        \"worst_destination\": ", f);
	if (o->has_worst) {
		fputs("{\"local_address\": ", f);
		eph_json_string(f, eph_addr_format(&o->laddr, a, sizeof(a)));
		fputs(", \"remote_address\": ", f);
		eph_json_string(f, eph_addr_format(&o->raddr, a, sizeof(a)));
		fprintf(f, ", \"remote_port\": %u, \"exhaustion\": ", o->rport);
		json_trend(f, &o->worst_blocked, "blocked_ports_per_second", 1);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	fputc('}', f);
}

void eph_rate_json_top(FILE *f, const struct eph_report *r)
{
	const struct eph_counters *c = &r->snap->counters;
	const struct eph_rate_result *rr = r->rate;

	if (!rr || r->n_ns)
		return;
	fprintf(f,
		",\n  \"counters\": {\"read\": %s, \"tcp_active_opens\": "
		"%" PRIu64 ", \"tcp_passive_opens\": %" PRIu64
		", \"tcp_attempt_fails\": %" PRIu64
		", \"tcp_estab_resets\": %" PRIu64
		", \"tcp_curr_estab\": %" PRIu64 "}",
		c->read ? "true" : "false", c->tcp_active_opens,
		c->tcp_passive_opens, c->tcp_attempt_fails, c->tcp_estab_resets,
		c->tcp_curr_estab);
	fprintf(f,
		",\n  \"rate_measurement\": {\"seconds\": %.3f, "
		"\"interval_seconds\": %.3f, \"measured_seconds\": %.3f, "
		"\"samples\": %u, \"trend_window_seconds\": %.3f, "
		"\"time_wait_seconds\": %u}",
		r->rate_seconds_asked, r->rate_interval_s, rr->measured_s,
		rr->samples, rr->window_s, EPH_TIME_WAIT_MS / 1000);
}

/* --- Prometheus ---------------------------------------------------------- */

static void head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP ephport_%s %s\n# TYPE ephport_%s gauge\n", name,
		help, name);
}

static void prom_value(FILE *f, double v)
{
	if (isinf(v))
		fputs(v > 0 ? "+Inf\n" : "-Inf\n", f);
	else
		fprintf(f, "%.6g\n", v);
}

/* Seconds to exhaustion: +Inf when not approaching; false: unknown. */
static bool trend_seconds(const struct eph_trend *t, double *v)
{
	switch (t->status) {
	case EPH_TREND_APPROACHING:
	case EPH_TREND_EXHAUSTED:
		*v = t->seconds;
		return true;
	case EPH_TREND_NOT_APPROACHING:
		*v = INFINITY;
		return true;
	default:
		return false;
	}
}

void eph_rate_prometheus(FILE *f, const struct eph_report *r)
{
	const struct eph_rate_result *rr = r->rate;
	char a[64], b[64];
	double v;

	if (!rr || r->n_ns)
		return;
	head(f, "rate_measured_seconds",
	     "Time between the first and last collections the rates are "
	     "computed from (ephport --rate).");
	fprintf(f, "ephport_rate_measured_seconds %.3f\n", rr->measured_s);
	head(f, "open_rate_per_second",
	     "TCP connections opened (Tcp ActiveOpens) per second over the "
	     "measurement; absent when unknown (UDP has no counter).");
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (rr->proto[p].collected &&
		    rr->proto[p].open_status == EPH_RATE_OK) {
			fprintf(
			    f, "ephport_open_rate_per_second{protocol=\"%s\"} ",
			    eph_proto_name((enum eph_proto)p));
			prom_value(f, rr->proto[p].open_rate);
		}
	head(f, "time_wait_bound",
	     "1 when TIME-WAIT (60 s, not reusable under tcp_tw_reuse) bounds "
	     "the sustainable open rate of the worst destination.");
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (rr->proto[p].collected)
			fprintf(f,
				"ephport_time_wait_bound{protocol=\"%s\"} %d\n",
				eph_proto_name((enum eph_proto)p),
				rr->proto[p].tw_bound ? 1 : 0);
	head(f, "sustainable_rate_per_second",
	     "Connections per second the worst destination sustains: ports "
	     "not held by long-lived sockets over the 60 s TIME-WAIT; absent "
	     "when not TIME-WAIT bound.");
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (rr->proto[p].collected && rr->proto[p].tw_bound) {
			fprintf(f,
				"ephport_sustainable_rate_per_second{protocol="
				"\"%s\"} ",
				eph_proto_name((enum eph_proto)p));
			prom_value(f, rr->proto[p].sustainable_rate);
		}
	head(f, "headroom_ratio",
	     "Sustainable rate over the current open rate (below 1: the pool "
	     "runs out at this pace); +Inf when nothing is opened, absent "
	     "when unknown.");
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_rate_proto *o = &rr->proto[p];

		if (!o->collected || !o->tw_bound ||
		    o->open_status != EPH_RATE_OK)
			continue;
		fprintf(f, "ephport_headroom_ratio{protocol=\"%s\"} ",
			eph_proto_name((enum eph_proto)p));
		prom_value(f, o->has_headroom ? o->headroom : INFINITY);
	}
	head(f, "seconds_to_exhaustion",
	     "Predicted seconds until the headline pressure reaches 1, from "
	     "its least-squares trend; +Inf when not approaching, absent "
	     "when unknown.");
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (rr->proto[p].collected &&
		    trend_seconds(&rr->proto[p].pressure, &v)) {
			fprintf(f,
				"ephport_seconds_to_exhaustion{protocol="
				"\"%s\"} ",
				eph_proto_name((enum eph_proto)p));
			prom_value(f, v);
		}
	head(f, "destination_seconds_to_exhaustion",
	     "Predicted seconds until the worst destination's next connect() "
	     "fails (blocked ports trend); +Inf when not approaching.");
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_rate_proto *o = &rr->proto[p];

		if (!o->collected || !o->has_worst || p != EPH_TCP ||
		    !trend_seconds(&o->worst_blocked, &v))
			continue;
		fprintf(f,
			"ephport_destination_seconds_to_exhaustion{protocol="
			"\"%s\",local_address=\"%s\",remote_address=\"%s\","
			"remote_port=\"%u\"} ",
			eph_proto_name((enum eph_proto)p),
			eph_addr_format(&o->laddr, a, sizeof(a)),
			eph_addr_format(&o->raddr, b, sizeof(b)), o->rport);
		prom_value(f, v);
	}
	if (r->snap->counters.read) {
		fputs(
		    "# HELP ephport_tcp_active_opens_total Tcp ActiveOpens of "
		    "the namespace (/proc/net/snmp).\n"
		    "# TYPE ephport_tcp_active_opens_total counter\n",
		    f);
		fprintf(f, "ephport_tcp_active_opens_total %" PRIu64 "\n",
			r->snap->counters.tcp_active_opens);
	}
}
