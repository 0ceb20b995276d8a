/*
 * holders_index.c - the inode index of a namespace's pool sockets and the
 * tally of one process against it (holders.h).  What `ss -p` does with a
 * hash of every socket, restricted to the pool: a socket outside the pool
 * is dropped by the kernel's bytecode filter before it is ever indexed,
 * so the index is as big as the pool's sockets, not the host's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "holders.h"

void eph_hindex_init(struct eph_hindex *x,
		     const struct eph_range range[EPH_PROTO_COUNT])
{
	memset(x, 0, sizeof(*x));
	memcpy(x->range, range, sizeof(x->range));
}

void eph_hindex_free(struct eph_hindex *x)
{
	free(x->v);
	free(x->slot);
	free(x->d);
	x->v = NULL;
	x->slot = NULL;
	x->d = NULL;
	x->n = x->cap = x->nd = x->mask = 0;
}

static bool in_pool(const struct eph_range *r, uint16_t port)
{
	return port >= r->low && port <= r->high &&
	       !eph_bit_test(r->reserved, port);
}

void eph_hindex_add(struct eph_hindex *x, enum eph_proto p,
		    const struct eph_sock *s)
{
	struct eph_hsock *h;

	if (!in_pool(&x->range[p], s->lport))
		return;
	x->pool[p]++;
	/* No file holds it: never found through /proc/PID/fd. */
	if (s->inode == 0 || x->count_only)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 1024;
		struct eph_hsock *v = realloc(x->v, cap * sizeof(*v));

		if (!v) {
			x->failed = true;
			return;
		}
		x->v = v;
		x->cap = cap;
	}
	h = &x->v[x->n++];
	memset(h, 0, sizeof(*h));
	h->inode = s->inode;
	h->lport = s->lport;
	h->proto = (uint8_t)p;
	h->dest = EPH_NO_DEST;
	/* Only a connected TCP socket has a destination worth naming:
	 * a listener or an accepted socket is not one a process chose. */
	if (p == EPH_TCP && s->rport != 0 && s->state != EPH_ST_LISTEN) {
		h->family = s->family;
		h->rport = s->rport;
		memcpy(h->raddr, s->raddr, 16);
	}
}

void eph_hindex_feed_cb(void *ctx, const struct eph_sock *s)
{
	struct eph_hindex_feed *f = ctx;

	eph_hindex_add(f->x, f->proto, s);
}

/* splitmix64's finaliser: inodes are sequential, the slots must not be. */
static uint64_t mix(uint64_t v)
{
	v ^= v >> 30;
	v *= 0xbf58476d1ce4e5b9ull;
	v ^= v >> 27;
	v *= 0x94d049bb133111ebull;
	return v ^ (v >> 31);
}

static uint64_t dest_hash(const struct eph_hsock *h)
{
	uint64_t a, b;

	memcpy(&a, h->raddr, 8);
	memcpy(&b, h->raddr + 8, 8);
	return mix(a ^ mix(b ^ ((uint64_t)h->rport << 8 | h->family)));
}

static size_t table_size(size_t n)
{
	size_t sz = 16;

	while (sz < 2 * n)
		sz *= 2;
	return sz;
}

/* Number the distinct destinations with a temporary table of their own. */
static int number_dests(struct eph_hindex *x)
{
	size_t sz = table_size(x->n), mask = sz - 1;
	uint32_t *t = calloc(sz, sizeof(*t));

	if (!t)
		return -ENOMEM;
	free(x->d); /* built again */
	x->d = malloc((x->n ? x->n : 1) * sizeof(*x->d));
	if (!x->d) {
		free(t);
		return -ENOMEM;
	}
	x->nd = 0;
	for (size_t i = 0; i < x->n; i++) {
		struct eph_hsock *h = &x->v[i];
		size_t j;

		if (h->family == 0)
			continue;
		for (j = dest_hash(h) & mask; t[j]; j = (j + 1) & mask) {
			struct eph_hdest *d = &x->d[t[j] - 1];

			if (d->rport == h->rport &&
			    d->raddr.family == h->family &&
			    memcmp(d->raddr.bytes, h->raddr, 16) == 0)
				break;
		}
		if (!t[j]) {
			struct eph_hdest *d = &x->d[x->nd];

			memset(d, 0, sizeof(*d));
			d->raddr.family = h->family;
			memcpy(d->raddr.bytes, h->raddr, 16);
			d->rport = h->rport;
			t[j] = (uint32_t)++x->nd;
		}
		h->dest = t[j] - 1;
	}
	free(t);
	return 0;
}

int eph_hindex_build(struct eph_hindex *x)
{
	size_t sz, n = x->n;
	int err;

	if (x->failed || n >= UINT32_MAX / 2)
		return -ENOMEM;
	sz = table_size(n);
	free(x->slot);
	x->slot = calloc(sz, sizeof(*x->slot));
	if (!x->slot)
		return -ENOMEM;
	x->mask = sz - 1;
	x->n = 0;
	/* A sock_diag dump is not atomic: it resumes by position in a hash
	 * bucket, and a socket inserted at a bucket's head meanwhile moves
	 * the others down, so one may come twice (under churn, as near
	 * exhaustion).  An inode is one socket: the later copy is dropped,
	 * from the entries and from the pool count, compacting in place
	 * (k <= i: the slots name kept entries only). */
	for (size_t i = 0, k = 0; i < n; i++) {
		size_t j = mix(x->v[i].inode) & x->mask;

		for (; x->slot[j]; j = (j + 1) & x->mask)
			if (x->v[x->slot[j] - 1].inode == x->v[i].inode)
				break;
		if (x->slot[j]) {
			x->pool[x->v[i].proto]--;
			x->dups++;
			continue;
		}
		x->v[k] = x->v[i];
		x->slot[j] = (uint32_t)++k;
		x->n = k;
	}
	err = number_dests(x);
	return err;
}

struct eph_hsock *eph_hindex_find(const struct eph_hindex *x, uint64_t inode)
{
	if (!x->slot)
		return NULL;
	for (size_t j = mix(inode) & x->mask; x->slot[j]; j = (j + 1) & x->mask)
		if (x->v[x->slot[j] - 1].inode == inode)
			return &x->v[x->slot[j] - 1];
	return NULL;
}

int eph_fd_link_inode(const char *link, size_t len, uint64_t *inode)
{
	static const char pre[] = "socket:[";
	const size_t pl = sizeof(pre) - 1;
	uint64_t v = 0;
	size_t i;

	/* At least one digit and the bracket. */
	if (len < pl + 2 || memcmp(link, pre, pl) != 0 || link[len - 1] != ']')
		return 0;
	for (i = pl; i < len - 1; i++) {
		unsigned d = (unsigned)(link[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*inode = v;
	return 1;
}

void eph_htally_begin(struct eph_htally *t, uint32_t pid)
{
	/* One tally serves one walk of /proc (it starts zeroed): fewer
	 * than 2^32 processes, so a stamp never wraps to an old one. */
	t->gen++;
	memset(&t->cur, 0, sizeof(t->cur));
	t->cur.pid = pid;
	t->best = EPH_NO_DEST;
}

void eph_htally_add(struct eph_htally *t, struct eph_hindex *x,
		    struct eph_hsock *s)
{
	unsigned p = s->proto;

	/* The same socket under two fds of one process counts once. */
	if (s->seen_gen == t->gen)
		return;
	s->seen_gen = t->gen;
	s->held = true;
	t->cur.sockets[p]++;
	if (t->port_gen[p][s->lport] != t->gen) {
		t->port_gen[p][s->lport] = t->gen;
		t->cur.ports[p]++;
	}
	if (s->dest != EPH_NO_DEST) {
		struct eph_hdest *d = &x->d[s->dest];

		if (d->gen != t->gen) {
			d->gen = t->gen;
			d->count = 0;
		}
		/* Counts only grow: the running maximum is the mode. */
		if (++d->count >
		    (t->best == EPH_NO_DEST ? 0 : x->d[t->best].count))
			t->best = s->dest;
	}
}

bool eph_htally_end(struct eph_htally *t, const struct eph_hindex *x)
{
	struct eph_holder *h = &t->cur;

	if (t->best != EPH_NO_DEST) {
		const struct eph_hdest *d = &x->d[t->best];

		h->has_worst = true;
		h->worst_raddr = d->raddr;
		h->worst_rport = d->rport;
		h->worst_sockets = d->count;
	}
	return h->sockets[EPH_TCP] || h->sockets[EPH_UDP];
}
