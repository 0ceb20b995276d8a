/*
 * holders_list.c - the list of holders every source fills: grown one
 * process at a time, sorted by pool ports held, cut to the top N, freed.
 * Plain memory, no system call (the parsers' fuzzer links it alone).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "holders.h"

void eph_holders_free(struct eph_holders *h)
{
	if (!h)
		return;
	free(h->v);
	memset(h, 0, sizeof(*h));
}

static uint32_t total(const uint32_t v[EPH_PROTO_COUNT])
{
	return v[EPH_TCP] + v[EPH_UDP];
}

static int cmp_holder(const void *pa, const void *pb)
{
	const struct eph_holder *a = pa, *b = pb;
	uint32_t x = total(a->ports), y = total(b->ports);

	if (x != y)
		return x > y ? -1 : 1;
	x = total(a->sockets);
	y = total(b->sockets);
	if (x != y)
		return x > y ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

void eph_holders_sort(struct eph_holder *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_holder);
}

int eph_holders_push(struct eph_holders *out, size_t *cap,
		     const struct eph_holder *h)
{
	if (out->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct eph_holder *v = realloc(out->v, nc * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->v = v;
		*cap = nc;
	}
	out->v[out->n++] = *h;
	return 0;
}

void eph_holders_finish(struct eph_holders *out, unsigned top_n)
{
	eph_holders_sort(out->v, out->n);
	if (top_n && out->n > top_n)
		out->n = top_n;
}
