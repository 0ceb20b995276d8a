/* text.c - the default human summary, in the spirit of `ss -s`. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>

#include "output.h"

static const char *pct(uint32_t bp, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%02u%%", bp / 100, bp % 100);
	return buf;
}

static void states_line(FILE *f, enum eph_proto p, const char *label,
			const uint64_t *counts)
{
	const enum eph_tcp_state *st = eph_proto_states(p);
	int n = 0;

	fprintf(f, "     %s:", label);
	for (int i = 0; st[i] != EPH_ST_UNKNOWN; i++) {
		if (!counts[st[i]])
			continue;
		fprintf(f, "%s %s %" PRIu64, n++ ? "," : "",
			eph_state_name(st[i]), counts[st[i]]);
	}
	fputs(n ? "\n" : " none\n", f);
}

static void proto_text(FILE *f, enum eph_proto p,
		       const struct eph_proto_stats *s, unsigned top_n)
{
	char a[64], b[64], c[16], d[16], e[16];

	fprintf(f, "%s  range %u-%u (%u ports, %u reserved, %u usable)%s\n",
		p == EPH_TCP ? "TCP" : "UDP", s->low, s->high, s->size,
		s->reserved, s->usable,
		s->all_reserved ? "  ** every port reserved: nothing usable **"
				: "");
	fprintf(f, "     exhaustion %s (host %s, worst destination %s)\n",
		pct(s->exhaustion_bp, c, sizeof(c)),
		pct(s->host_exhaustion_bp, d, sizeof(d)),
		pct(s->worst_dest_exhaustion_bp, e, sizeof(e)));
	fprintf(f,
		"     ports in use %u, free %u; sockets in range %" PRIu64
		" of %" PRIu64 "%s\n",
		s->ports_in_use, s->ports_free, s->sockets_in_range,
		s->sockets_total,
		s->totals_exact ? "" : " (totals: pool only)");
	if (p == EPH_TCP)
		fprintf(f,
			"     TIME-WAIT %" PRIu64 " in range, %" PRIu64
			" total\n",
			s->time_wait, s->time_wait_total);
	states_line(f, p, "in range", s->state_in_range);
	states_line(f, p, "all ports", s->state_total);
	fprintf(f, "     listeners in range: %u", s->listeners_in_range);
	for (uint32_t i = 0; i < s->n_listeners; i++)
		fprintf(f, "%s%s%s%s:%u", i ? ", " : " (",
			s->listeners[i].addr.family == AF_INET6 ? "[" : "",
			eph_addr_format(&s->listeners[i].addr, a, sizeof(a)),
			s->listeners[i].addr.family == AF_INET6 ? "]" : "",
			s->listeners[i].port);
	fputs(s->n_listeners ? ")\n" : "\n", f);
	fprintf(f, "     destinations: %" PRIu64 "%s\n", s->destinations,
		s->dest_overflow ? " (table full: lower bound)" : "");
	if (s->n_top && top_n) {
		fprintf(f, "     %8s %8s %9s  %s\n", "sockets", "tw", "exhaust",
			"local -> remote:port");
		for (uint32_t i = 0; i < s->n_top; i++) {
			const struct eph_dest *t = &s->top[i];

			fprintf(f, "     %8u %8u %9s  %s -> %s%s%s:%u\n",
				t->sockets, t->time_wait,
				pct(t->exhaustion_bp, c, sizeof(c)),
				eph_addr_format(&t->laddr, a, sizeof(a)),
				t->raddr.family == AF_INET6 ? "[" : "",
				eph_addr_format(&t->raddr, b, sizeof(b)),
				t->raddr.family == AF_INET6 ? "]" : "",
				t->rport);
		}
	}
}

void eph_print_text(FILE *f, const struct eph_report *r)
{
	const struct eph_snapshot *s = r->snap;

	fprintf(f, "ephport %s", PACKAGE_VERSION);
	if (r->host)
		fprintf(f, " on %s (%s %s)", r->host->hostname,
			r->host->os_name, r->host->os_release);
	fprintf(f, ": source %s, collected in %u.%03u ms\n\n",
		eph_source_name(s->source), s->duration_us / 1000,
		s->duration_us % 1000);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		if (!s->proto[p].collected)
			continue;
		proto_text(f, (enum eph_proto)p, &s->proto[p], r->top_n);
		if (p + 1 < EPH_PROTO_COUNT && s->proto[p + 1].collected)
			fputc('\n', f);
	}
}
