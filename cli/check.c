/*
 * check.c - `ephport check`: a Nagios/Icinga plugin (one status line,
 * perfdata with units and thresholds; exit 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN).  It compares the headline exhaustion of each protocol, the
 * same value the SNMP and collectd alarms watch.
 */
#include <stdio.h>
#include <string.h>

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

int eph_print_check(FILE *f, const struct eph_snapshot *s, uint32_t warn_bp,
		    uint32_t crit_bp)
{
	int status = 0, n = 0;

	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (s->proto[p].collected) {
			int l =
			    level(s->proto[p].exhaustion_bp, warn_bp, crit_bp);

			status = l > status ? l : status;
		}
	fprintf(f, "EPHPORT %s - ", status_names[status]);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];
		char a[64], b[64];

		if (!ps->collected)
			continue;
		fprintf(f, "%s%s ", n++ ? ", " : "",
			eph_proto_name((enum eph_proto)p));
		pct(f, ps->exhaustion_bp);
		fprintf(f, "%% exhausted (%u of %u ports in use",
			ps->ports_in_use, ps->usable);
		if (ps->has_worst) {
			fprintf(f, "; worst destination %s -> %s:%u ",
				eph_addr_format(&ps->worst.laddr, a, sizeof(a)),
				eph_addr_format(&ps->worst.raddr, b, sizeof(b)),
				ps->worst.rport);
			pct(f, ps->worst.exhaustion_bp);
			fputc('%', f);
		}
		fputs(ps->all_reserved ? "; every port reserved)" : ")", f);
	}
	fputs(" |", f);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];
		const char *pn = eph_proto_name((enum eph_proto)p);

		if (!ps->collected)
			continue;
		fprintf(f, " %s_exhaustion=", pn);
		pct(f, ps->exhaustion_bp);
		fputs("%;", f);
		pct(f, warn_bp);
		fputc(';', f);
		pct(f, crit_bp);
		fputs(";0;100", f);
		fprintf(f, " %s_host_exhaustion=", pn);
		pct(f, ps->host_exhaustion_bp);
		fputs("%;;;0;100", f);
		fprintf(f, " %s_worst_destination_exhaustion=", pn);
		pct(f, ps->worst_dest_exhaustion_bp);
		fputs("%;;;0;100", f);
		fprintf(f, " %s_ports_in_use=%u;;;0;%u", pn, ps->ports_in_use,
			ps->usable);
		if (p == EPH_TCP)
			fprintf(f, " %s_time_wait=%llu;;;0", pn,
				(unsigned long long)ps->time_wait);
		fprintf(f, " %s_listeners_in_range=%u;;;0", pn,
			ps->listeners_in_range);
	}
	fputc('\n', f);
	return status;
}
