/*
 * fail.c - turn the failure counters' map entries into struct
 * eph_failures: totals per kind, the top destinations and processes, and
 * what is not listed ("other").  Plain records in, no system call.
 */
#include <stdlib.h>
#include <string.h>

#include "ephport.h"
#include "fail.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

void eph_failures_begin(struct eph_failures *out,
			const struct eph_bpf_fail_meta *meta)
{
	memset(out, 0, sizeof(*out));
	out->observable = true;
	out->since_us = (int64_t)(meta->loaded_real_ns / 1000);
}

/* A bpf_ktime_get_boot_ns() time on CLOCK_REALTIME, by the read's clocks. */
static int64_t real_of(const struct eph_fail_clock *clk, uint64_t boot_ns)
{
	if (!boot_ns)
		return 0;
	if (boot_ns > clk->boot_ns)
		return clk->real_us;
	return clk->real_us - (int64_t)((clk->boot_ns - boot_ns) / 1000);
}

/* A sockaddr's address as snapshots carry it: IPv4-mapped IPv6 as IPv4. */
static void addr_of(uint8_t family, const uint8_t raw[16], struct eph_addr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};

	memset(a, 0, sizeof(*a));
	if (family == AF_INET6 && memcmp(raw, mapped, 12) == 0) {
		a->family = AF_INET;
		memcpy(a->bytes, raw + 12, 4);
	} else if (family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->bytes, raw, 16);
	} else {
		a->family = AF_INET;
		memcpy(a->bytes, raw, 4);
	}
}

/* Where an entry of this count goes in a top table holding n: the next
 * free place, else the smallest entry's when it is smaller; -1: not kept. */
static int dest_slot(struct eph_failures *out, uint64_t count)
{
	uint32_t min = 0;

	if (out->n_dests < EPH_FAIL_TOP)
		return (int)out->n_dests++;
	for (uint32_t i = 1; i < EPH_FAIL_TOP; i++)
		if (out->dests[i].count < out->dests[min].count)
			min = i;
	return out->dests[min].count < count ? (int)min : -1;
}

static int proc_slot(struct eph_failures *out, uint64_t count)
{
	uint32_t min = 0;

	if (out->n_procs < EPH_FAIL_TOP)
		return (int)out->n_procs++;
	for (uint32_t i = 1; i < EPH_FAIL_TOP; i++)
		if (out->procs[i].count < out->procs[min].count)
			min = i;
	return out->procs[min].count < count ? (int)min : -1;
}

/* The listed entry of the same kind and destination, or NULL.  The BPF
 * side keys ::ffff:a.b.c.d as a.b.c.d; an entry of a build that did not
 * is the same destination once addr_of() has mapped it, and must not be
 * listed twice (twice the same SNMP index, Prometheus series). */
static struct eph_fail_dest *dest_listed(struct eph_failures *out,
					 const struct eph_fail_dest *d)
{
	for (uint32_t i = 0; i < out->n_dests; i++) {
		struct eph_fail_dest *o = &out->dests[i];

		if (o->kind == d->kind && o->rport == d->rport &&
		    o->raddr.family == d->raddr.family &&
		    memcmp(o->raddr.bytes, d->raddr.bytes,
			   sizeof(o->raddr.bytes)) == 0)
			return o;
	}
	return NULL;
}

void eph_failures_add(struct eph_failures *out,
		      const struct eph_fail_clock *clk,
		      const struct eph_bpf_fail_key *k,
		      const struct eph_bpf_fail_val *v, uint64_t first_boot_ns)
{
	int i;

	if (k->kind >= EPH_FAIL_KINDS || v->count == 0)
		return;
	switch (k->what) {
	case EPH_BPF_FAIL_TOTAL:
		out->total[k->kind] = v->count;
		out->last_us[k->kind] = real_of(clk, v->last_boot_ns);
		break;
	case EPH_BPF_FAIL_DEST: {
		struct eph_fail_dest d, *same;

		if (k->family != AF_INET && k->family != AF_INET6)
			return;
		memset(&d, 0, sizeof(d));
		d.kind = (enum eph_fail_kind)k->kind;
		addr_of(k->family, k->raddr, &d.raddr);
		d.rport =
		    (uint16_t)((k->rport >> 8) | ((k->rport & 0xff) << 8));
		d.count = v->count;
		d.since_us = real_of(clk, first_boot_ns);
		same = dest_listed(out, &d);
		if (same) {
			same->count += d.count;
			if (d.since_us &&
			    (!same->since_us || d.since_us < same->since_us))
				same->since_us = d.since_us;
			break;
		}
		i = dest_slot(out, d.count);
		if (i >= 0)
			out->dests[i] = d;
		break;
	}
	case EPH_BPF_FAIL_PROC:
		i = proc_slot(out, v->count);
		if (i < 0)
			return;
		memset(&out->procs[i], 0, sizeof(out->procs[i]));
		out->procs[i].kind = (enum eph_fail_kind)k->kind;
		out->procs[i].pid = k->tgid;
		memcpy(out->procs[i].comm, v->comm, sizeof(out->procs[i].comm));
		out->procs[i].comm[sizeof(out->procs[i].comm) - 1] = '\0';
		out->procs[i].cgroup_id = v->cgroup_id;
		out->procs[i].count = v->count;
		out->procs[i].since_us = real_of(clk, first_boot_ns);
		break;
	default:
		break;
	}
}

static int by_dest_count(const void *a, const void *b)
{
	const struct eph_fail_dest *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->rport != y->rport)
		return x->rport < y->rport ? -1 : 1;
	return memcmp(&x->raddr, &y->raddr, sizeof(x->raddr));
}

static int by_proc_count(const void *a, const void *b)
{
	const struct eph_fail_proc *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void eph_failures_end(struct eph_failures *out)
{
	uint64_t dest_listed[EPH_FAIL_KINDS] = {0};
	uint64_t proc_listed[EPH_FAIL_KINDS] = {0};

	qsort(out->dests, out->n_dests, sizeof(out->dests[0]), by_dest_count);
	qsort(out->procs, out->n_procs, sizeof(out->procs[0]), by_proc_count);
	for (uint32_t i = 0; i < out->n_dests; i++)
		dest_listed[out->dests[i].kind] += out->dests[i].count;
	for (uint32_t i = 0; i < out->n_procs; i++)
		proc_listed[out->procs[i].kind] += out->procs[i].count;
	/*
	 * Each failure adds one to its total and then to at most one
	 * destination and one process entry, so what is listed is at most
	 * the total: the rest ("other") is the failures of entries not in
	 * the top, of entries the LRU forgot, and of an entry's earlier life
	 * before it was forgotten and made again.  It is clamped at 0 for
	 * a total that was lost (fail_counts full) and for a reader that
	 * read a total before its details.
	 */
	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		out->dest_other[k] = out->total[k] > dest_listed[k]
					 ? out->total[k] - dest_listed[k]
					 : 0;
		out->proc_other[k] = out->total[k] > proc_listed[k]
					 ? out->total[k] - proc_listed[k]
					 : 0;
	}
}

const char *eph_fail_kind_name(enum eph_fail_kind k)
{
	switch (k) {
	case EPH_FAIL_CONNECT:
		return "connect";
	case EPH_FAIL_BIND:
		return "bind";
	case EPH_FAIL_AUTOBIND:
		return "autobind";
	default:
		return "unknown";
	}
}
