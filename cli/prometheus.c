/*
 * prometheus.c - `ephport --prometheus`: the node_exporter textfile
 * format.  Ratios are 0..1 (Prometheus convention), not percents.  Every
 * family is written as one group: HELP, TYPE, then all its samples (the
 * exposition format requires it), so each loops over the namespaces
 * (--netns, --all-namespaces: every sample has a netns label, the
 * namespace's name, "" for the caller's own when it has none) and, inside,
 * the protocols.
 */
#include <inttypes.h>
#include <stdio.h>

#include "output.h"

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP ephport_%s %s\n# TYPE ephport_%s %s\n", name, help,
		name, type);
}

static void ratio(FILE *f, uint32_t bp)
{
	fprintf(f, "%u.%04u\n", bp / EPH_BP_FULL, bp % EPH_BP_FULL);
}

typedef uint64_t (*field_fn)(const struct eph_proto_stats *s);

#define FIELD(name, expr)                                                      \
	static uint64_t name(const struct eph_proto_stats *s)                  \
	{                                                                      \
		return expr;                                                   \
	}
FIELD(f_low, s->low)
FIELD(f_high, s->high)
FIELD(f_size, s->size)
FIELD(f_reserved, s->reserved)
FIELD(f_usable, s->usable)
FIELD(f_all_reserved, s->all_reserved)
FIELD(f_in_use, s->ports_in_use)
FIELD(f_free, s->ports_free)
FIELD(f_listeners, s->listeners_in_range)
FIELD(f_dests, s->destinations)
FIELD(f_overflow, s->dest_overflow)
FIELD(f_untracked, s->dest_untracked)
FIELD(f_host_bp, s->host_exhaustion_bp)
FIELD(f_worst_bp, s->worst_dest_exhaustion_bp)
FIELD(f_bp, s->exhaustion_bp)
FIELD(f_bind_bp, s->bind_bp)
FIELD(f_bind_exact, s->bind_exact)
FIELD(f_connect_bp, s->connect_bp)
FIELD(f_connect_new_bp, s->connect_new_bp)
FIELD(f_bind_owned, s->bind_owned)
FIELD(f_owners_exact, s->owners_exact)
FIELD(f_tw_reusable, s->time_wait_reusable)

static const struct {
	const char *name, *help;
	field_fn get;
	int is_ratio;
	int tcp_only;
} per_proto[] = {
    {"bind_pressure_ratio",
     "Bind pressure: pool ports a wildcard bind(0) or UDP autobind cannot "
     "take over usable ports; 1 means the next one fails.",
     f_bind_bp, 1, 0},
    {"bind_exact",
     "0 when ip_autobind_reuse makes the bind pressure an upper bound.",
     f_bind_exact, 0, 0},
    {"connect_pressure_ratio",
     "Connect pressure of the worst destination: pool ports its next "
     "connect() cannot use over usable ports; 1 means EADDRNOTAVAIL.",
     f_connect_bp, 1, 1},
    {"connect_new_destination_pressure_ratio",
     "Connect pressure towards a destination with no socket yet: "
     "bind-owned ports over usable ports.",
     f_connect_new_bp, 1, 1},
    {"bind_owned_ports",
     "Pool ports taken by bind() or listen(), which connect() never shares.",
     f_bind_owned, 0, 1},
    {"owners_exact",
     "0 when the socket source cannot see which connected sockets' ports "
     "came from bind(): connect pressures are then lower bounds.",
     f_owners_exact, 0, 1},
    {"time_wait_reusable_sockets",
     "TIME-WAIT pool sockets connect() may take over (tcp_tw_reuse).",
     f_tw_reusable, 0, 1},
    {"range_low", "Lowest port of the ephemeral range (inclusive).", f_low, 0,
     0},
    {"range_high", "Highest port of the ephemeral range (inclusive).", f_high,
     0, 0},
    {"range_size", "Ports in the ephemeral range.", f_size, 0, 0},
    {"reserved_ports", "Reserved ports inside the range.", f_reserved, 0, 0},
    {"usable_ports", "Range size minus reserved ports: the pool.", f_usable, 0,
     0},
    {"all_reserved", "1 when every port of the range is reserved.",
     f_all_reserved, 0, 0},
    {"ports_in_use", "Distinct pool ports held by at least one socket.",
     f_in_use, 0, 0},
    {"ports_free", "Pool ports held by no socket.", f_free, 0, 0},
    {"listeners_in_range", "Listening sockets on a pool port (a hazard).",
     f_listeners, 0, 0},
    {"destinations",
     "Distinct (local address, remote address, remote port) with pool sockets.",
     f_dests, 0, 0},
    {"destinations_overflow",
     "1 when more destinations exist than are tracked.", f_overflow, 0, 0},
    {"destinations_untracked_sockets", "Sockets of destinations not tracked.",
     f_untracked, 0, 0},
    {"host_exhaustion_ratio",
     "Deprecated (use ephport_bind_pressure_ratio): ports in use over "
     "usable ports.",
     f_host_bp, 1, 0},
    {"worst_destination_exhaustion_ratio",
     "Deprecated (use ephport_connect_pressure_ratio): sockets of the "
     "busiest destination over usable ports.",
     f_worst_bp, 1, 0},
    {"exhaustion_ratio",
     "Deprecated (use ephport_pressure_ratio): max of host and worst "
     "destination exhaustion.",
     f_bp, 1, 0},
};

static void dest_labels(FILE *f, enum eph_proto p, const struct eph_dest *d)
{
	char l[64], r[64];

	fprintf(f,
		"protocol=\"%s\",local_address=\"%s\",remote_address=\"%s\","
		"remote_port=\"%u\"} ",
		eph_proto_name(p), eph_addr_format(&d->laddr, l, sizeof(l)),
		eph_addr_format(&d->raddr, r, sizeof(r)), d->rport);
}

/* One family of per-destination samples, all protocols. */
typedef void (*dest_value_fn)(FILE *f, const struct eph_dest *d);

static void v_sockets(FILE *f, const struct eph_dest *d)
{
	fprintf(f, "%u\n", d->sockets);
}

static void v_time_wait(FILE *f, const struct eph_dest *d)
{
	fprintf(f, "%u\n", d->time_wait);
}

static void v_exhaustion(FILE *f, const struct eph_dest *d)
{
	ratio(f, d->exhaustion_bp);
}

static void v_connect(FILE *f, const struct eph_dest *d)
{
	ratio(f, d->connect_bp);
}

static const struct {
	const char *name, *help;
	dest_value_fn put;
	int tcp_only;
} per_dest[] = {
    {"destination_sockets", "Pool sockets per top destination.", v_sockets, 0},
    {"destination_time_wait_sockets",
     "TIME-WAIT pool sockets per top destination.", v_time_wait, 0},
    {"destination_connect_pressure_ratio",
     "Connect pressure per top destination: pool ports its next connect() "
     "cannot use over usable ports.",
     v_connect, 1},
    {"destination_exhaustion_ratio",
     "Deprecated (use ephport_destination_connect_pressure_ratio): sockets "
     "of a destination over usable ports.",
     v_exhaustion, 0},
};

/* The snapshots printed: one (no netns label) or several. */
struct prom {
	const struct eph_snapshot *snaps;
	const struct eph_netns *ns; /* NULL: no netns label */
	size_t n;
};

/* Label values escape backslash, double quote and newline. */
void eph_prom_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* "ephport_NAME{" and, with namespaces, `netns="...",`; the caller
 * writes the other labels and "} value". */
static void sample(FILE *f, const struct prom *c, size_t i, const char *name)
{
	fprintf(f, "ephport_%s{", name);
	if (c->ns) {
		fputs("netns=\"", f);
		eph_prom_label_value(f, c->ns[i].name);
		fputs("\",", f);
	}
}

/* "ephport_NAME" or `ephport_NAME{netns="..."}`, for a sample with no
 * other label: the caller writes " value". */
static void bare(FILE *f, const struct prom *c, size_t i, const char *name)
{
	fprintf(f, "ephport_%s", name);
	if (c->ns) {
		fputs("{netns=\"", f);
		eph_prom_label_value(f, c->ns[i].name);
		fputs("\"}", f);
	}
}

/* The evidence families (cli/failures.c has the other formats): only
 * measured counters; where the failure counters are not loaded,
 * failures_observable is 0 and an info sample carries the reason. */
static void failure_families(FILE *f, const struct prom *c)
{
	char a[64];

	head(f, "tcp_tw_recycled_total", "counter",
	     "connect()s that took over a TIME-WAIT socket's 4-tuple "
	     "(TcpExt TWRecycled): TIME-WAIT reuse that saved a connect.");
	for (size_t n = 0; n < c->n; n++)
		if (c->snaps[n].counters.tw_recycled_read) {
			bare(f, c, n, "tcp_tw_recycled_total");
			fprintf(f, " %" PRIu64 "\n",
				c->snaps[n].counters.tw_recycled);
		}
	head(f, "failures_observable", "gauge",
	     "1 when the BPF failure counters are loaded and read here; 0: "
	     "failed allocations are not observable (no _total sample).");
	for (size_t n = 0; n < c->n; n++) {
		bare(f, c, n, "failures_observable");
		fprintf(f, " %d\n", c->snaps[n].failures.observable);
	}
	head(f, "failures_not_observable_info", "gauge",
	     "Why the failure counters cannot be read.");
	for (size_t n = 0; n < c->n; n++)
		if (!c->snaps[n].failures.observable) {
			sample(f, c, n, "failures_not_observable_info");
			fputs("reason=\"", f);
			eph_prom_label_value(f, c->snaps[n].failures.why);
			fputs("\"} 1\n", f);
		}
	head(f, "allocation_failures_total", "counter",
	     "Port allocations that failed: kind=\"connect\" connect() "
	     "EADDRNOTAVAIL, \"bind\" bind(0)/listen() EADDRINUSE, "
	     "\"autobind\" UDP autobind EAGAIN.");
	for (size_t n = 0; n < c->n; n++)
		for (int k = 0;
		     c->snaps[n].failures.observable && k < EPH_FAIL_KINDS;
		     k++) {
			sample(f, c, n, "allocation_failures_total");
			fprintf(f, "kind=\"%s\"} %" PRIu64 "\n",
				eph_fail_kind_name((enum eph_fail_kind)k),
				c->snaps[n].failures.total[k]);
		}
	head(f, "allocation_failures_since_timestamp_seconds", "gauge",
	     "When the failure counters started counting (Unix time).");
	for (size_t n = 0; n < c->n; n++)
		if (c->snaps[n].failures.observable) {
			bare(f, c, n,
			     "allocation_failures_since_timestamp_seconds");
			fprintf(f, " %" PRId64 "\n",
				c->snaps[n].failures.since_us / 1000000);
		}
	head(f, "allocation_failures_by_destination_total", "counter",
	     "Failed allocations towards a destination (the top 16 of a "
	     "namespace; the rest in allocation_failures_other_total).");
	for (size_t n = 0; n < c->n; n++) {
		const struct eph_failures *fl = &c->snaps[n].failures;

		for (uint32_t i = 0; fl->observable && i < fl->n_dests; i++) {
			sample(f, c, n,
			       "allocation_failures_by_destination_total");
			fprintf(
			    f,
			    "kind=\"%s\",address=\"%s\",port=\"%u\"} "
			    "%" PRIu64 "\n",
			    eph_fail_kind_name(fl->dests[i].kind),
			    eph_addr_format(&fl->dests[i].raddr, a, sizeof(a)),
			    fl->dests[i].rport, fl->dests[i].count);
		}
	}
	head(f, "allocation_failures_by_process_total", "counter",
	     "Failed allocations by process (the top 16 of a namespace; the "
	     "rest in allocation_failures_other_total).");
	for (size_t n = 0; n < c->n; n++) {
		const struct eph_failures *fl = &c->snaps[n].failures;

		for (uint32_t i = 0; fl->observable && i < fl->n_procs; i++) {
			sample(f, c, n, "allocation_failures_by_process_total");
			fprintf(f, "kind=\"%s\",pid=\"%u\",comm=\"",
				eph_fail_kind_name(fl->procs[i].kind),
				fl->procs[i].pid);
			eph_prom_comm_label(f, fl->procs[i].comm);
			fprintf(f, "\"} %" PRIu64 "\n", fl->procs[i].count);
		}
	}
	head(f, "allocation_failures_other_total", "counter",
	     "Failed allocations not in the top destinations "
	     "(by=\"destination\", "
	     "bind failures included) or processes (by=\"process\").");
	for (size_t n = 0; n < c->n; n++) {
		const struct eph_failures *fl = &c->snaps[n].failures;

		for (int k = 0; fl->observable && k < EPH_FAIL_KINDS; k++) {
			const char *kn =
			    eph_fail_kind_name((enum eph_fail_kind)k);

			sample(f, c, n, "allocation_failures_other_total");
			fprintf(f,
				"kind=\"%s\",by=\"destination\"} %" PRIu64 "\n",
				kn, fl->dest_other[k]);
			sample(f, c, n, "allocation_failures_other_total");
			fprintf(f, "kind=\"%s\",by=\"process\"} %" PRIu64 "\n",
				kn, fl->proc_other[k]);
		}
	}
}

void eph_print_prometheus(FILE *f, const struct eph_report *r)
{
	struct prom c = {r->snap, NULL, 1};
	char buf[64];

	if (r->n_ns) {
		c.snaps = r->ns_snaps;
		c.ns = r->ns;
		c.n = r->n_ns;
	}
	/* Each family once: its HELP and TYPE, then its samples for every
	 * namespace (families outer, namespaces inner). */
	head(f, "collection_duration_seconds", "gauge",
	     "Time the last collection took.");
	for (size_t n = 0; n < c.n; n++) {
		const struct eph_snapshot *s = &c.snaps[n];

		if (c.ns) {
			fputs("ephport_collection_duration_seconds{netns=\"",
			      f);
			eph_prom_label_value(f, c.ns[n].name);
			fputs("\"}", f);
		} else {
			fputs("ephport_collection_duration_seconds", f);
		}
		fprintf(f, " %u.%06u\n", s->duration_us / 1000000,
			s->duration_us % 1000000);
	}
	if (c.ns) {
		head(f, "netns_info", "gauge",
		     "A network namespace collected: its nsfs inode and kind "
		     "(self, named, container, pid).");
		for (size_t n = 0; n < c.n; n++) {
			sample(f, &c, n, "netns_info");
			fprintf(f, "inode=\"%llu\",kind=\"%s\"} 1\n",
				(unsigned long long)c.ns[n].inode,
				eph_ns_kind_name(c.ns[n].kind));
		}
	}
	head(f, "source_info", "gauge", "Where socket records came from.");
	for (size_t n = 0; n < c.n; n++) {
		sample(f, &c, n, "source_info");
		fprintf(f, "source=\"%s\"} 1\n",
			eph_source_name(c.snaps[n].source));
	}

	head(f, "pressure_ratio", "gauge",
	     "Headline pressure, the highest of bind and connect; kind says "
	     "which call fails at 1.");
	for (size_t n = 0; n < c.n; n++)
		for (int p = 0; p < EPH_PROTO_COUNT; p++) {
			const struct eph_proto_stats *ps = &c.snaps[n].proto[p];

			if (!ps->collected)
				continue;
			sample(f, &c, n, "pressure_ratio");
			fprintf(f, "protocol=\"%s\",kind=\"%s\"} ",
				eph_proto_name((enum eph_proto)p),
				eph_kind_name(ps->pressure_kind));
			ratio(f, ps->pressure_bp);
		}

	for (size_t i = 0; i < sizeof(per_proto) / sizeof(per_proto[0]); i++) {
		head(f, per_proto[i].name, "gauge", per_proto[i].help);
		for (size_t n = 0; n < c.n; n++)
			for (int p = 0; p < EPH_PROTO_COUNT; p++) {
				const struct eph_proto_stats *ps =
				    &c.snaps[n].proto[p];
				uint64_t v;

				if (!ps->collected ||
				    (per_proto[i].tcp_only && p != EPH_TCP))
					continue;
				v = per_proto[i].get(ps);
				sample(f, &c, n, per_proto[i].name);
				fprintf(f, "protocol=\"%s\"} ",
					eph_proto_name((enum eph_proto)p));
				if (per_proto[i].is_ratio)
					ratio(f, (uint32_t)v);
				else
					fprintf(f, "%" PRIu64 "\n", v);
			}
	}

	head(f, "sockets", "gauge",
	     "Sockets; scope=\"range\": local port in the pool.");
	for (size_t n = 0; n < c.n; n++)
		for (int p = 0; p < EPH_PROTO_COUNT; p++) {
			const struct eph_proto_stats *ps = &c.snaps[n].proto[p];
			const char *pn = eph_proto_name((enum eph_proto)p);

			if (!ps->collected)
				continue;
			sample(f, &c, n, "sockets");
			fprintf(
			    f, "protocol=\"%s\",scope=\"range\"} %" PRIu64 "\n",
			    pn, ps->sockets_in_range);
			sample(f, &c, n, "sockets");
			fprintf(f,
				"protocol=\"%s\",scope=\"all\"} %" PRIu64 "\n",
				pn, ps->sockets_total);
		}
	head(f, "state_sockets", "gauge",
	     "Sockets per state; scope=\"range\": local port in the pool.");
	for (size_t n = 0; n < c.n; n++)
		for (int p = 0; p < EPH_PROTO_COUNT; p++) {
			const struct eph_proto_stats *ps = &c.snaps[n].proto[p];
			const char *pn = eph_proto_name((enum eph_proto)p);
			const enum eph_tcp_state *st =
			    eph_proto_states((enum eph_proto)p);

			if (!ps->collected)
				continue;
			for (int i = 0; st[i] != EPH_ST_UNKNOWN; i++) {
				sample(f, &c, n, "state_sockets");
				fprintf(f,
					"protocol=\"%s\",state=\"%s\",scope="
					"\"range\"} %" PRIu64 "\n",
					pn, eph_state_key(st[i]),
					ps->state_in_range[st[i]]);
				sample(f, &c, n, "state_sockets");
				fprintf(f,
					"protocol=\"%s\",state=\"%s\",scope="
					"\"all\"} %" PRIu64 "\n",
					pn, eph_state_key(st[i]),
					ps->state_total[st[i]]);
			}
		}
	head(f, "time_wait_sockets", "gauge",
	     "TIME-WAIT sockets; scope=\"range\": local port in the pool.");
	for (size_t n = 0; n < c.n; n++) {
		const struct eph_proto_stats *ps = &c.snaps[n].proto[EPH_TCP];
		const char *pn = eph_proto_name(EPH_TCP);

		if (!ps->collected)
			continue;
		sample(f, &c, n, "time_wait_sockets");
		fprintf(f, "protocol=\"%s\",scope=\"range\"} %" PRIu64 "\n", pn,
			ps->time_wait);
		sample(f, &c, n, "time_wait_sockets");
		fprintf(f, "protocol=\"%s\",scope=\"all\"} %" PRIu64 "\n", pn,
			ps->time_wait_total);
	}

	head(f, "listener_in_range_info", "gauge",
	     "A listening socket on a pool port (address, port).");
	for (size_t n = 0; n < c.n; n++)
		for (int p = 0; p < EPH_PROTO_COUNT; p++) {
			const struct eph_proto_stats *ps = &c.snaps[n].proto[p];

			for (uint32_t i = 0;
			     ps->collected && i < ps->n_listeners; i++) {
				sample(f, &c, n, "listener_in_range_info");
				fprintf(f,
					"protocol=\"%s\",address=\"%s\",port="
					"\"%u\"} 1\n",
					eph_proto_name((enum eph_proto)p),
					eph_addr_format(&ps->listeners[i].addr,
							buf, sizeof(buf)),
					ps->listeners[i].port);
			}
		}

	for (size_t k = 0; k < sizeof(per_dest) / sizeof(per_dest[0]); k++) {
		head(f, per_dest[k].name, "gauge", per_dest[k].help);
		for (size_t n = 0; n < c.n; n++)
			for (int p = 0; p < EPH_PROTO_COUNT; p++) {
				const struct eph_proto_stats *ps =
				    &c.snaps[n].proto[p];

				if (!ps->collected ||
				    (per_dest[k].tcp_only && p != EPH_TCP))
					continue;
				for (uint32_t i = 0; i < ps->n_top; i++) {
					sample(f, &c, n, per_dest[k].name);
					dest_labels(f, (enum eph_proto)p,
						    &ps->top[i]);
					per_dest[k].put(f, &ps->top[i]);
				}
			}
	}
	failure_families(f, &c);
	eph_rate_prometheus(f, r);
	eph_processes_prometheus(f, r);
}
