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

static void perf_pct(FILE *f, const char *pn, const char *label, uint32_t bp,
		     const uint32_t *warn_bp, const uint32_t *crit_bp)
{
	fprintf(f, " %s_%s=", pn, label);
	pct(f, bp);
	fputs("%;", f);
	if (warn_bp)
		pct(f, *warn_bp);
	fputc(';', f);
	if (crit_bp)
		pct(f, *crit_bp);
	fputs(";0;100", f);
}

int eph_print_check(FILE *f, const struct eph_snapshot *s,
		    const struct eph_check_thresholds *t)
{
	int status = 0, n = 0;

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
	fprintf(f, "EPHPORT %s - ", status_names[status]);
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
	fputs(" |", f);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];
		const char *pn = eph_proto_name((enum eph_proto)p);

		if (!ps->collected)
			continue;
		/* The first model's labels first, as they always were. */
		perf_pct(f, pn, "exhaustion", ps->exhaustion_bp, &t->warn_bp,
			 &t->crit_bp);
		perf_pct(f, pn, "host_exhaustion", ps->host_exhaustion_bp, NULL,
			 NULL);
		perf_pct(f, pn, "worst_destination_exhaustion",
			 ps->worst_dest_exhaustion_bp, NULL, NULL);
		fprintf(f, " %s_ports_in_use=%u;;;0;%u", pn, ps->ports_in_use,
			ps->usable);
		if (p == EPH_TCP)
			fprintf(f, " %s_time_wait=%llu;;;0", pn,
				(unsigned long long)ps->time_wait);
		fprintf(f, " %s_listeners_in_range=%u;;;0", pn,
			ps->listeners_in_range);
		perf_pct(f, pn, "pressure", ps->pressure_bp, &t->warn_bp,
			 &t->crit_bp);
		perf_pct(f, pn, "bind_pressure", ps->bind_bp, &t->bind_warn_bp,
			 &t->bind_crit_bp);
		if (p != EPH_TCP)
			continue;
		perf_pct(f, pn, "connect_pressure", ps->connect_bp,
			 &t->connect_warn_bp, &t->connect_crit_bp);
		perf_pct(f, pn, "connect_new_destination_pressure",
			 ps->connect_new_bp, NULL, NULL);
		fprintf(f, " %s_bind_owned_ports=%u;;;0;%u", pn, ps->bind_owned,
			ps->usable);
		fprintf(f, " %s_time_wait_reusable=%llu;;;0", pn,
			(unsigned long long)ps->time_wait_reusable);
	}
	fputc('\n', f);
	return status;
}
