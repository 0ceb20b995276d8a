/*
 * processes.c - `ephport --processes` / `--all-processes`: who holds the
 * pool ports (eph_holders_collect()), after the normal output of each
 * format: a table in text, a "processes" member in JSON, and in
 * Prometheus ephport_process_ports for the processes listed only (top 10
 * by default: pid and comm are unbounded label values, so the series are
 * bounded by N, not by the host) and ephport_processes_holding.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "output.h"

/* The holders of snapshot i of the report (0 without namespaces). */
static const struct eph_holders *holders_of(const struct eph_report *r,
					    size_t i)
{
	return r->holders ? &r->holders[i] : NULL;
}

/* A comm or cgroup path in a column: bytes a terminal would interpret
 * become '?' (C0 controls, DEL, and C1 controls both raw and as UTF-8,
 * which some terminals obey too), as does each byte of an ill-formed UTF-8
 * sequence; and a longer value keeps its end (the leaf of a cgroup path
 * says most), after "...". */
void eph_text_cell(FILE *f, const char *s, int width)
{
	char buf[300];
	size_t n = 0, len = strlen(s);

	if (len > (size_t)width) {
		memcpy(buf, "...", 3);
		n = 3;
		s += len - (size_t)(width - 3);
	}
	while (*s && n < sizeof(buf) - 1) {
		unsigned char c = (unsigned char)*s;
		size_t bad, k = eph_utf8_len(s, &bad);

		if (k > 1) {
			if (n + k >= sizeof(buf))
				break;
			/* U+0080-U+009F: one '?' for the character. */
			if (c == 0xc2 && (unsigned char)s[1] < 0xa0) {
				buf[n++] = '?';
			} else {
				memcpy(buf + n, s, k);
				n += k;
			}
			s += k;
			continue;
		}
		buf[n++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
		s++;
	}
	buf[n] = '\0';
	fprintf(f, "%-*s", width, buf);
}

void eph_processes_text(FILE *f, const struct eph_report *r, size_t i)
{
	const struct eph_holders *h = holders_of(r, i);
	char ep[80];

	if (!h)
		return;
	fprintf(f,
		"\nprocesses holding pool ports (%s): %u%s, %u not readable, "
		"%" PRIu64 " pool sockets unattributed\n",
		eph_holder_source_name(h->source), h->processes,
		h->n < h->processes ? " (the top ones listed)" : "",
		h->processes_denied, h->sockets_unattributed);
	if (!h->n)
		return;
	fprintf(f, "  %7s %-15s %-32s %6s %6s  %s\n", "PID", "COMM",
		"CONTAINER/CGROUP", "TCP", "UDP", "WORST DESTINATION");
	for (uint32_t k = 0; k < h->n; k++) {
		const struct eph_holder *p = &h->v[k];
		const char *where = p->container[0] ? p->container : p->cgroup;

		fprintf(f, "  %7u ", p->pid);
		eph_text_cell(f, p->comm, 15);
		fputc(' ', f);
		eph_text_cell(f, where[0] ? where : "-", 32);
		fprintf(f, " %6u %6u  ", p->ports[EPH_TCP], p->ports[EPH_UDP]);
		if (p->has_worst)
			fprintf(f, "%s (%u sockets)\n",
				eph_endpoint(&p->worst_raddr, p->worst_rport,
					     ep, sizeof(ep)),
				p->worst_sockets);
		else
			fputs("-\n", f);
	}
}

void eph_processes_json(FILE *f, const struct eph_report *r, size_t i)
{
	const struct eph_holders *h = holders_of(r, i);
	char a[64];

	if (!h)
		return;
	fprintf(f,
		",\n  \"processes\": {\"source\": \"%s\", \"processes\": %u, "
		"\"denied\": %u, \"unattributed\": %" PRIu64 ", \"top\": [",
		eph_holder_source_name(h->source), h->processes,
		h->processes_denied, h->sockets_unattributed);
	for (uint32_t k = 0; k < h->n; k++) {
		const struct eph_holder *p = &h->v[k];

		fprintf(f, "%s\n    {\"pid\": %u, \"comm\": ", k ? "," : "",
			p->pid);
		eph_json_string(f, p->comm);
		fputs(", \"cgroup\": ", f);
		eph_json_string(f, p->cgroup);
		fputs(", \"container\": ", f);
		eph_json_string(f, p->container);
		fprintf(f,
			", \"tcp_ports\": %u, \"udp_ports\": %u, "
			"\"tcp_sockets\": %u, \"udp_sockets\": %u, "
			"\"worst_destination\": ",
			p->ports[EPH_TCP], p->ports[EPH_UDP],
			p->sockets[EPH_TCP], p->sockets[EPH_UDP]);
		if (p->has_worst) {
			fputs("{\"address\": ", f);
			eph_json_string(
			    f, eph_addr_format(&p->worst_raddr, a, sizeof(a)));
			fprintf(f, ", \"port\": %u, \"sockets\": %u}",
				p->worst_rport, p->worst_sockets);
		} else {
			fputs("null", f);
		}
		fputc('}', f);
	}
	fputs(h->n ? "\n  ]}" : "]}", f);
}

/* A comm as a label value: Prometheus wants UTF-8, a comm is any bytes
 * (control and non-ASCII ones become '?'). */
void eph_prom_comm_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c == '"')
			fprintf(f, "\\%c", c);
		else
			fputc(c < 0x20 || c >= 0x7f ? '?' : c, f);
	}
}

/* `netns="...",` when the report has namespaces. */
static void ns_label(FILE *f, const struct eph_report *r, size_t i)
{
	if (!r->n_ns)
		return;
	fputs("netns=\"", f);
	eph_prom_label_value(f, r->ns[i].name);
	fputs("\",", f);
}

void eph_processes_prometheus(FILE *f, const struct eph_report *r)
{
	size_t n = r->n_ns ? r->n_ns : 1;
	static const struct {
		const char *name, *help;
	} fam[] = {
	    {"processes_holding",
	     "Processes seen holding at least one pool socket."},
	    {"processes_denied",
	     "Processes whose fds could not be read (another user's)."},
	    {"sockets_unattributed",
	     "Pool sockets no process was seen to hold (TIME-WAIT, denied)."},
	};

	if (!r->holders)
		return;
	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		fprintf(f, "# HELP ephport_%s %s\n# TYPE ephport_%s gauge\n",
			fam[k].name, fam[k].help, fam[k].name);
		for (size_t i = 0; i < n; i++) {
			const struct eph_holders *h = &r->holders[i];
			uint64_t v = k == 0   ? h->processes
				     : k == 1 ? h->processes_denied
					      : h->sockets_unattributed;

			fprintf(f, "ephport_%s{", fam[k].name);
			ns_label(f, r, i);
			fprintf(f, "source=\"%s\"} %" PRIu64 "\n",
				eph_holder_source_name(h->source), v);
		}
	}
	fputs("# HELP ephport_process_ports Distinct pool ports a process "
	      "holds; the processes listed (--processes N) only.\n"
	      "# TYPE ephport_process_ports gauge\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const struct eph_holders *h = &r->holders[i];

		for (uint32_t k = 0; k < h->n; k++)
			for (int p = 0; p < EPH_PROTO_COUNT; p++) {
				fputs("ephport_process_ports{", f);
				ns_label(f, r, i);
				fprintf(f, "pid=\"%u\",comm=\"", h->v[k].pid);
				eph_prom_comm_label(f, h->v[k].comm);
				fprintf(f, "\",protocol=\"%s\"} %u\n",
					eph_proto_name((enum eph_proto)p),
					h->v[k].ports[p]);
			}
	}
}

int eph_processes_collect(struct eph_collector *c, const struct eph_netns *ns,
			  unsigned top, struct eph_holders *out)
{
	int err = ns ? eph_holders_collect_in(c, ns, top, out)
		     : eph_holders_collect(c, top, out);

	if (err == 0)
		return 0;
	fprintf(stderr, "ephport: --processes%s%s: %s\n",
		ns ? " in netns " : "", ns ? eph_ns_display_name(ns) : "",
		*eph_collector_error(c) ? eph_collector_error(c)
					: strerror(-err));
	return -1;
}
