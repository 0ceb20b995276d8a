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

const char *eph_endpoint(const struct eph_addr *a, unsigned port, char *buf,
			 size_t len)
{
	char h[64];
	int v6 = a->family == AF_INET6;

	snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "",
		 eph_addr_format(a, h, sizeof(h)), v6 ? "]" : "", port);
	return buf;
}

/* The headline, saying what fails at 100 %. */
static void headline(FILE *f, enum eph_proto p, const struct eph_proto_stats *s)
{
	char a[64], b[80], c[16];

	fprintf(f, "pressure %s ", pct(s->pressure_bp, c, sizeof(c)));
	if (s->pressure_kind != EPH_KIND_CONNECT) {
		fprintf(f, "bind (next %s fails at 100%%)\n",
			p == EPH_TCP ? "bind(0)" : "bind(0) or autobind");
		return;
	}
	if (s->has_worst)
		fprintf(
		    f, "connect to %s from %s\n",
		    eph_endpoint(&s->worst.raddr, s->worst.rport, b, sizeof(b)),
		    eph_addr_format(&s->worst.laddr, a, sizeof(a)));
	else
		fputs("connect to a new destination\n", f);
}

static void proto_text(FILE *f, enum eph_proto p,
		       const struct eph_proto_stats *s, unsigned top_n)
{
	char a[64], b[80], c[16], d[16];

	fprintf(f, "%s  ", p == EPH_TCP ? "TCP" : "UDP");
	headline(f, p, s);
	fprintf(f, "     range %u-%u (%u ports, %u reserved, %u usable)%s\n",
		s->low, s->high, s->size, s->reserved, s->usable,
		s->all_reserved ? "  ** every port reserved: nothing usable **"
				: "");
	fprintf(f, "     bind pressure %s (%u of %u ports in use)%s\n",
		pct(s->bind_bp, c, sizeof(c)), s->ports_in_use, s->usable,
		s->bind_exact ? "" : ", an upper bound (ip_autobind_reuse=1)");
	if (p == EPH_TCP) {
		fprintf(f, "     connect pressure %s",
			pct(s->connect_bp, c, sizeof(c)));
		if (s->has_worst)
			fprintf(f, " to %s from %s",
				eph_endpoint(&s->worst.raddr, s->worst.rport, b,
					     sizeof(b)),
				eph_addr_format(&s->worst.laddr, a, sizeof(a)));
		fprintf(f, ", new destination %s; bind-owned ports %u\n",
			pct(s->connect_new_bp, d, sizeof(d)), s->bind_owned);
		if (!s->owners_exact)
			fprintf(f,
				"     note: connect pressure is a lower bound: "
				"%s cannot see bind-before-connect\n",
				s->source == EPH_SOURCE_PROCFS ? "/proc"
							       : "netlink");
	}
	fprintf(f,
		"     ports in use %u, free %u; sockets in range %" PRIu64
		" of %" PRIu64 "%s\n",
		s->ports_in_use, s->ports_free, s->sockets_in_range,
		s->sockets_total,
		s->totals_exact ? "" : " (totals: pool only)");
	if (p == EPH_TCP)
		fprintf(f,
			"     TIME-WAIT %" PRIu64 " in range (%" PRIu64
			" reusable by connect), %" PRIu64 " total\n",
			s->time_wait, s->time_wait_reusable,
			s->time_wait_total);
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
		if (p == EPH_TCP)
			fprintf(f, "     %8s %8s %8s %8s %9s  %s\n", "sockets",
				"tw", "tw-reuse", "blocked", "connect",
				"local -> remote:port");
		else
			fprintf(f, "     %8s  %s\n", "sockets",
				"local -> remote:port");
		for (uint32_t i = 0; i < s->n_top; i++) {
			const struct eph_dest *t = &s->top[i];

			if (p == EPH_TCP)
				fprintf(f, "     %8u %8u %8u %8u %9s",
					t->sockets, t->time_wait,
					t->tw_reusable, t->blocked,
					pct(t->connect_bp, c, sizeof(c)));
			else
				fprintf(f, "     %8u", t->sockets);
			fprintf(
			    f, "  %s -> %s\n",
			    eph_addr_format(&t->laddr, a, sizeof(a)),
			    eph_endpoint(&t->raddr, t->rport, b, sizeof(b)));
		}
	}
}

/* The kernel settings line and each protocol's block. */
static void snap_text(FILE *f, const struct eph_snapshot *s, unsigned top_n)
{
	fprintf(f,
		"kernel: tcp_tw_reuse %u (delay %u ms), tcp_timestamps %u, "
		"ip_autobind_reuse %u%s\n\n",
		s->knobs.tw_reuse, s->knobs.tw_reuse_delay_ms,
		s->knobs.timestamps, s->knobs.autobind_reuse,
		s->knobs.read ? ""
			      : " (not readable: kernel defaults assumed)");
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		if (!s->proto[p].collected)
			continue;
		proto_text(f, (enum eph_proto)p, &s->proto[p], top_n);
		if (p + 1 < EPH_PROTO_COUNT && s->proto[p + 1].collected)
			fputc('\n', f);
	}
}

void eph_print_text(FILE *f, const struct eph_report *r)
{
	const struct eph_snapshot *s = r->snap;

	fprintf(f, "ephport %s", PACKAGE_VERSION);
	if (r->host)
		fprintf(f, " on %s (%s %s)", r->host->hostname,
			r->host->os_name, r->host->os_release);
	if (r->n_ns) {
		/* --netns, --all-namespaces: one block per namespace. */
		fprintf(f, ": %zu network namespace%s\n", r->n_ns,
			r->n_ns == 1 ? "" : "s");
		for (size_t i = 0; i < r->n_ns; i++) {
			const struct eph_netns *ns = &r->ns[i];

			s = &r->ns_snaps[i];
			fprintf(f,
				"\n=== netns %s (inode %llu, %s) ===\n"
				"source %s, collected in %u.%03u ms\n",
				eph_ns_display_name(ns),
				(unsigned long long)ns->inode,
				eph_ns_kind_name(ns->kind),
				eph_source_name(s->source),
				s->duration_us / 1000, s->duration_us % 1000);
			snap_text(f, s, r->top_n);
			eph_failures_text(f, s);
			eph_processes_text(f, r, i);
		}
		return;
	}
	fprintf(f, ": source %s, collected in %u.%03u ms\n",
		eph_source_name(s->source), s->duration_us / 1000,
		s->duration_us % 1000);
	snap_text(f, s, r->top_n);
	eph_failures_text(f, s);
	if (r->rate)
		eph_rate_text(f, r);
	eph_processes_text(f, r, 0);
}
