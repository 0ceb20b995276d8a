/*
 * check.c - `ephport check`: a Nagios/Icinga plugin (one status line,
 * perfdata with units and thresholds; exit 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN).  Each protocol's bind pressure is compared with the bind
 * thresholds and TCP's connect pressure (the worst destination's) with
 * the connect thresholds; both default to --warning/--critical, which
 * then apply to the headline pressure, the value the SNMP and collectd
 * alarms watch.  The status is the worst level; the status line leads
 * each protocol with the kind of call that fails first.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "output.h"

static const char *const status_names[] = {"OK", "WARNING", "CRITICAL",
					   "UNKNOWN"};

static int level(uint32_t bp, uint32_t warn_bp, uint32_t crit_bp)
{
	return bp >= crit_bp ? 2 : bp >= warn_bp ? 1 : 0;
}

static void pct(FILE *f, uint32_t bp)
{
	fprintf(f, "%u.%02u", bp / 100, bp % 100);
}

static int bind_level(const struct eph_proto_stats *ps,
		      const struct eph_check_thresholds *t)
{
	return level(ps->bind_bp, t->bind_warn_bp, t->bind_crit_bp);
}

static int connect_level(enum eph_proto p, const struct eph_proto_stats *ps,
			 const struct eph_check_thresholds *t)
{
	if (p != EPH_TCP)
		return 0;
	return level(ps->connect_bp, t->connect_warn_bp, t->connect_crit_bp);
}

/* "connect 60.00% to 127.0.0.1:8080 from 127.0.0.1, a lower bound" */
static void connect_part(FILE *f, const struct eph_proto_stats *ps)
{
	char a[64], b[64];

	pct(f, ps->connect_bp);
	fputc('%', f);
	if (ps->has_worst) {
		const struct eph_dest *d = &ps->worst;
		int v6 = d->raddr.family == AF_INET6;

		fprintf(f, " to %s%s%s:%u from %s", v6 ? "[" : "",
			eph_addr_format(&d->raddr, b, sizeof(b)), v6 ? "]" : "",
			d->rport, eph_addr_format(&d->laddr, a, sizeof(a)));
	} else {
		fputs(" to a new destination", f);
	}
	if (!ps->owners_exact)
		fputs(", a lower bound", f);
}

static void bind_part(FILE *f, const struct eph_proto_stats *ps)
{
	pct(f, ps->bind_bp);
	fprintf(f, "%%%s, %u of %u ports in use",
		ps->bind_exact ? "" : " (an upper bound)", ps->ports_in_use,
		ps->usable);
}

static void perf_pct(FILE *f, const char *pre, const char *pn,
		     const char *label, uint32_t bp, const uint32_t *warn_bp,
		     const uint32_t *crit_bp)
{
	fprintf(f, " %s%s_%s=", pre, pn, label);
	pct(f, bp);
	fputs("%;", f);
	if (warn_bp)
		pct(f, *warn_bp);
	fputc(';', f);
	if (crit_bp)
		pct(f, *crit_bp);
	fputs(";0;100", f);
}

/* The worst level of every protocol of s. */
static int snap_status(const struct eph_snapshot *s,
		       const struct eph_check_thresholds *t)
{
	int status = 0;

	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];
		int lb, lc;

		if (!ps->collected)
			continue;
		lb = bind_level(ps, t);
		lc = connect_level((enum eph_proto)p, ps, t);
		status = lb > status ? lb : status;
		status = lc > status ? lc : status;
	}
	return status;
}

/* The highest headline pressure of s: breaks ties between namespaces. */
static uint32_t snap_pressure(const struct eph_snapshot *s)
{
	uint32_t bp = 0;

	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (s->proto[p].collected && s->proto[p].pressure_bp > bp)
			bp = s->proto[p].pressure_bp;
	return bp;
}

/* The status text of s after "EPHPORT STATUS - ": each protocol. */
static void status_text(FILE *f, const struct eph_snapshot *s,
			const struct eph_check_thresholds *t)
{
	int n = 0;

	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];
		int lb, lc, lead_connect;

		if (!ps->collected)
			continue;
		lb = bind_level(ps, t);
		lc = connect_level((enum eph_proto)p, ps, t);
		/* The kind at the worse level; on a tie, the headline's. */
		lead_connect = p == EPH_TCP &&
			       (lc > lb || (lc == lb && ps->pressure_kind ==
							    EPH_KIND_CONNECT));
		fprintf(f, "%s%s ", n++ ? ", " : "",
			eph_proto_name((enum eph_proto)p));
		if (lead_connect) {
			fputs("connect pressure ", f);
			connect_part(f, ps);
			fputs(" (bind ", f);
			bind_part(f, ps);
		} else {
			fputs("bind pressure ", f);
			bind_part(f, ps);
			if (p == EPH_TCP) {
				fputs(" (connect ", f);
				connect_part(f, ps);
			} else if (ps->all_reserved) {
				fputs(" (every port reserved)", f);
				continue;
			} else {
				continue;
			}
		}
		fputs(ps->all_reserved ? "; every port reserved)" : ")", f);
	}
}

/* The perfdata of s, each label prefixed by pre. */
static void perfdata(FILE *f, const struct eph_snapshot *s,
		     const struct eph_check_thresholds *t, const char *pre)
{
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];
		const char *pn = eph_proto_name((enum eph_proto)p);

		if (!ps->collected)
			continue;
		/* The first model's labels first, as they always were. */
		perf_pct(f, pre, pn, "exhaustion", ps->exhaustion_bp,
			 &t->warn_bp, &t->crit_bp);
		perf_pct(f, pre, pn, "host_exhaustion", ps->host_exhaustion_bp,
			 NULL, NULL);
		perf_pct(f, pre, pn, "worst_destination_exhaustion",
			 ps->worst_dest_exhaustion_bp, NULL, NULL);
		fprintf(f, " %s%s_ports_in_use=%u;;;0;%u", pre, pn,
			ps->ports_in_use, ps->usable);
		if (p == EPH_TCP)
			fprintf(f, " %s%s_time_wait=%llu;;;0", pre, pn,
				(unsigned long long)ps->time_wait);
		fprintf(f, " %s%s_listeners_in_range=%u;;;0", pre, pn,
			ps->listeners_in_range);
		perf_pct(f, pre, pn, "pressure", ps->pressure_bp, &t->warn_bp,
			 &t->crit_bp);
		perf_pct(f, pre, pn, "bind_pressure", ps->bind_bp,
			 &t->bind_warn_bp, &t->bind_crit_bp);
		if (p != EPH_TCP)
			continue;
		perf_pct(f, pre, pn, "connect_pressure", ps->connect_bp,
			 &t->connect_warn_bp, &t->connect_crit_bp);
		perf_pct(f, pre, pn, "connect_new_destination_pressure",
			 ps->connect_new_bp, NULL, NULL);
		fprintf(f, " %s%s_bind_owned_ports=%u;;;0;%u", pre, pn,
			ps->bind_owned, ps->usable);
		fprintf(f, " %s%s_time_wait_reusable=%llu;;;0", pre, pn,
			(unsigned long long)ps->time_wait_reusable);
	}
	eph_failures_perfdata(f, s, pre);
}

int eph_print_check(FILE *f, const struct eph_snapshot *s,
		    const struct eph_check_thresholds *t)
{
	int status = snap_status(s, t);

	fprintf(f, "EPHPORT %s - ", status_names[status]);
	status_text(f, s, t);
	fputs(" |", f);
	perfdata(f, s, t, "");
	fputc('\n', f);
	return status;
}

/* A perfdata label prefix from a namespace name: "self_" for the
 * caller's own without one; characters other than letters, digits and
 * "_:.-" (spaces, quotes, '=') become '_'. */
static void ns_prefix(const struct eph_netns *ns, char *buf, size_t len)
{
	const char *name = ns->name[0] ? ns->name : "self";
	size_t i = 0;

	for (; name[i] && i + 2 < len; i++) {
		char ch = name[i];

		buf[i] =
		    ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || strchr("_:.-", ch))
			? ch
			: '_';
	}
	buf[i++] = '_';
	buf[i] = '\0';
}

int eph_print_check_ns(FILE *f, const struct eph_snapshot *snaps,
		       const struct eph_netns *ns, size_t n,
		       const struct eph_check_thresholds *t)
{
	size_t worst = 0, others = 0;
	int status = -1;
	char pre[160];

	for (size_t i = 0; i < n; i++) {
		int st = snap_status(&snaps[i], t);

		if (st > status ||
		    (st == status &&
		     snap_pressure(&snaps[i]) > snap_pressure(&snaps[worst]))) {
			status = st;
			worst = i;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (i != worst && snap_status(&snaps[i], t) > 0)
			others++;
	if (status < 0)
		status = 0;
	fprintf(f, "EPHPORT %s - ", status_names[status]);
	if (n) {
		fprintf(f, "netns %s: ", eph_ns_display_name(&ns[worst]));
		status_text(f, &snaps[worst], t);
	}
	if (n > 1 && others)
		fprintf(f, "; %zu namespaces, %zu other%s not OK", n, others,
			others == 1 ? "" : "s");
	else if (n > 1)
		fprintf(f, "; %zu namespaces, the others OK", n);
	fputs(" |", f);
	for (size_t i = 0; i < n; i++) {
		if (n > 1)
			ns_prefix(&ns[i], pre, sizeof(pre));
		else
			pre[0] = '\0';
		perfdata(f, &snaps[i], t, pre);
	}
	fputc('\n', f);
	return status;
}

/* The level of the shortest predicted time to exhaustion. */
static int rate_level(const struct eph_check_rate *cr, bool have, double secs)
{
	if (!have)
		return 0;
	if (cr->crit_set && secs <= cr->crit_s)
		return 2;
	if (cr->warn_set && secs <= cr->warn_s)
		return 1;
	return 0;
}

static void rate_perfdata(FILE *f, const struct eph_check_rate *cr)
{
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_rate_proto *o = &cr->rate->proto[p];
		const char *pn = eph_proto_name((enum eph_proto)p);

		if (!o->collected)
			continue;
		if (o->open_status == EPH_RATE_OK)
			fprintf(f, " %s_open_rate=%.2f;;;0", pn, o->open_rate);
		if (o->tw_bound)
			fprintf(f, " %s_sustainable_rate=%.2f;;;0", pn,
				o->sustainable_rate);
		if (o->pressure.status == EPH_TREND_APPROACHING ||
		    o->pressure.status == EPH_TREND_EXHAUSTED) {
			fprintf(f, " %s_seconds_to_exhaustion=%.1fs;", pn,
				o->pressure.seconds);
			/* Low is bad: alert below the threshold ("N:"). */
			if (cr->warn_set)
				fprintf(f, "%u:", cr->warn_s);
			fputc(';', f);
			if (cr->crit_set)
				fprintf(f, "%u:", cr->crit_s);
			fputs(";0", f);
		}
	}
}

int eph_print_check_rate(FILE *f, const struct eph_snapshot *s,
			 const struct eph_check_thresholds *t,
			 const struct eph_check_rate *cr)
{
	int status, lr;
	double secs = 0;
	enum eph_proto pp = EPH_TCP;
	bool have;
	const struct eph_rate_proto *tcp;

	if (!cr || !cr->rate)
		return eph_print_check(f, s, t);
	status = snap_status(s, t);
	have = eph_rate_min_seconds(cr->rate, &secs, &pp) != 0;
	lr = rate_level(cr, have, secs);
	status = lr > status ? lr : status;
	fprintf(f, "EPHPORT %s - ", status_names[status]);
	status_text(f, s, t);
	tcp = &cr->rate->proto[EPH_TCP];
	if (tcp->collected && tcp->open_status == EPH_RATE_OK) {
		fprintf(f, "; tcp opens %.2f/s", tcp->open_rate);
		if (tcp->tw_bound)
			fprintf(f, " (sustainable %.2f/s)",
				tcp->sustainable_rate);
	}
	if (have)
		fprintf(f, "; %s exhaustion in %.0f s", eph_proto_name(pp),
			secs);
	else
		fputs("; exhaustion not predicted", f);
	fputs(" |", f);
	perfdata(f, s, t, "");
	rate_perfdata(f, cr);
	fputc('\n', f);
	return status;
}
