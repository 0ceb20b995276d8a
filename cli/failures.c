/*
 * failures.c - the evidence section of `ephport`'s outputs: how many port
 * allocations failed (counted by the BPF failure counters; Linux keeps no
 * counter of its own) and how often TIME_WAIT reuse saved a connect
 * (TcpExt TWRecycled).  Without the counters every format says they are
 * not observable: no output prints a zero that was not measured.
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "output.h"

/* "2026-12-01 12:22:01 UTC" */
static const char *utc(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%" PRId64 " us", us);
	return buf;
}

/* Why the failures are not observable; a snapshot not collected live
 * (captured output of another system) carries no reason of its own. */
static const char *why(const struct eph_failures *fl)
{
	return fl->why[0] ? fl->why
			  : "not observable without the BPF source (not a "
			    "live Linux collection)";
}

void eph_failures_text(FILE *f, const struct eph_snapshot *s)
{
	const struct eph_failures *fl = &s->failures;
	char t[40], e[80];

	if (s->counters.tw_recycled_read)
		fprintf(f,
			"TIME_WAIT reuse: %" PRIu64
			" connects took over a TIME_WAIT 4-tuple (TcpExt "
			"TWRecycled)\n",
			s->counters.tw_recycled);
	if (!fl->observable) {
		fprintf(f, "failures: %s\n", why(fl));
		return;
	}
	fprintf(f, "failures since %s:", utc(fl->since_us, t, sizeof(t)));
	for (int k = 0; k < EPH_FAIL_KINDS; k++)
		fprintf(f, "%s %s %" PRIu64, k ? "," : "",
			eph_fail_kind_name((enum eph_fail_kind)k),
			fl->total[k]);
	fputc('\n', f);
	for (int k = 0; k < EPH_FAIL_KINDS; k++)
		if (fl->last_us[k])
			fprintf(f, "     last %s failure %s\n",
				eph_fail_kind_name((enum eph_fail_kind)k),
				utc(fl->last_us[k], t, sizeof(t)));
	for (uint32_t i = 0; i < fl->n_dests; i++)
		fprintf(f, "     %-8s to %-30s %" PRIu64 "\n",
			eph_fail_kind_name(fl->dests[i].kind),
			eph_endpoint(&fl->dests[i].raddr, fl->dests[i].rport, e,
				     sizeof(e)),
			fl->dests[i].count);
	for (uint32_t i = 0; i < fl->n_procs; i++) {
		const struct eph_fail_proc *p = &fl->procs[i];
		const char *where = p->container[0] ? p->container : p->cgroup;

		fprintf(f, "     %-8s by pid %-7u ",
			eph_fail_kind_name(p->kind), p->pid);
		eph_text_cell(f, p->comm, 15);
		fputc(' ', f);
		eph_text_cell(f, where[0] ? where : "-", 24);
		fprintf(f, " %" PRIu64 "\n", p->count);
	}
}

/* A time in microseconds, null when unknown (0). */
static void json_us(FILE *f, int64_t us)
{
	if (us)
		fprintf(f, "%" PRId64, us);
	else
		fputs("null", f);
}

static void kind_map(FILE *f, const uint64_t *v)
{
	fputc('{', f);
	for (int k = 0; k < EPH_FAIL_KINDS; k++)
		fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "",
			eph_fail_kind_name((enum eph_fail_kind)k), v[k]);
	fputc('}', f);
}

void eph_failures_json(FILE *f, const struct eph_snapshot *s)
{
	const struct eph_failures *fl = &s->failures;
	char a[64];

	if (s->counters.tw_recycled_read)
		fprintf(f, ",\n  \"tw_recycled\": %" PRIu64,
			s->counters.tw_recycled);
	else
		fputs(",\n  \"tw_recycled\": null", f);
	if (!fl->observable) {
		fputs(",\n  \"failures\": {\"observable\": false, \"why\": ",
		      f);
		eph_json_string(f, why(fl));
		fputc('}', f);
		return;
	}
	fprintf(
	    f,
	    ",\n  \"failures\": {\"observable\": true, \"since_us\": %" PRId64
	    ",\n    \"total\": ",
	    fl->since_us);
	kind_map(f, fl->total);
	fputs(",\n    \"last_us\": {", f);
	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "",
			eph_fail_kind_name((enum eph_fail_kind)k));
		json_us(f, fl->last_us[k]);
	}
	/* since_us: when each count began (the kernel's table forgets the
	 * least recently failing entries; one made again counts anew). */
	fputs("},\n    \"destinations\": [", f);
	for (uint32_t i = 0; i < fl->n_dests; i++) {
		fprintf(f,
			"%s\n      {\"kind\": \"%s\", \"address\": \"%s\", "
			"\"port\": %u, \"count\": %" PRIu64 ", \"since_us\": ",
			i ? "," : "", eph_fail_kind_name(fl->dests[i].kind),
			eph_addr_format(&fl->dests[i].raddr, a, sizeof(a)),
			fl->dests[i].rport, fl->dests[i].count);
		json_us(f, fl->dests[i].since_us);
		fputc('}', f);
	}
	fputs("],\n    \"destinations_other\": ", f);
	kind_map(f, fl->dest_other);
	fputs(",\n    \"processes\": [", f);
	for (uint32_t i = 0; i < fl->n_procs; i++) {
		const struct eph_fail_proc *p = &fl->procs[i];

		fprintf(f,
			"%s\n      {\"kind\": \"%s\", \"pid\": %u, \"comm\": ",
			i ? "," : "", eph_fail_kind_name(p->kind), p->pid);
		eph_json_string(f, p->comm);
		fputs(", \"cgroup\": ", f);
		eph_json_string(f, p->cgroup);
		fputs(", \"container\": ", f);
		eph_json_string(f, p->container);
		fprintf(f,
			", \"cgroup_id\": %" PRIu64 ", \"count\": %" PRIu64
			", \"since_us\": ",
			p->cgroup_id, p->count);
		json_us(f, p->since_us);
		fputc('}', f);
	}
	fputs("],\n    \"processes_other\": ", f);
	kind_map(f, fl->proc_other);
	fputc('}', f);
}

/* Nagios perfdata: counters ("c"), only what was measured. */
void eph_failures_perfdata(FILE *f, const struct eph_snapshot *s,
			   const char *pre)
{
	if (s->counters.tw_recycled_read)
		fprintf(f, " %stcp_tw_recycled=%" PRIu64 "c", pre,
			s->counters.tw_recycled);
	if (!s->failures.observable)
		return;
	for (int k = 0; k < EPH_FAIL_KINDS; k++)
		fprintf(f, " %s%s_failures=%" PRIu64 "c", pre,
			eph_fail_kind_name((enum eph_fail_kind)k),
			s->failures.total[k]);
}
