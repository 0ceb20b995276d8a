/* view.c - sorted (OID, value) rows: see view.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

struct ephd_view *ephd_view_new(size_t cap_hint)
{
	struct ephd_view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->cap = cap_hint ? cap_hint : 64;
	v->rows = malloc(v->cap * sizeof(*v->rows));
	if (!v->rows) {
		free(v);
		return NULL;
	}
	return v;
}

void ephd_view_free(struct ephd_view *v)
{
	if (!v)
		return;
	free(v->rows);
	free(v);
}

int ephd_view_add(struct ephd_view *v, const ephd_oid *name, size_t len,
		  const struct ephd_value *val)
{
	struct ephd_row *r;

	if (len > EPHD_OID_MAX)
		return -E2BIG;
	if (v->n == v->cap) {
		struct ephd_row *bigger =
		    realloc(v->rows, 2 * v->cap * sizeof(*v->rows));

		if (!bigger)
			return -ENOMEM;
		v->rows = bigger;
		v->cap *= 2;
	}
	r = &v->rows[v->n++];
	memcpy(r->name, name, len * sizeof(*name));
	r->len = (uint8_t)len;
	r->value = *val;
	return 0;
}

int ephd_oid_compare(const ephd_oid *a, size_t alen, const ephd_oid *b,
		     size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

static int row_compare(const void *pa, const void *pb)
{
	const struct ephd_row *a = pa, *b = pb;

	return ephd_oid_compare(a->name, a->len, b->name, b->len);
}

size_t ephd_view_seal(struct ephd_view *v)
{
	size_t kept = 0;

	/* qsort is not stable, but duplicates carry equal values: two
	 * SO_REUSEPORT listeners on one address and port are one row. */
	qsort(v->rows, v->n, sizeof(*v->rows), row_compare);
	for (size_t i = 0; i < v->n; i++)
		if (kept == 0 ||
		    row_compare(&v->rows[kept - 1], &v->rows[i]) != 0)
			v->rows[kept++] = v->rows[i];
	kept = v->n - kept;
	v->n -= kept;
	return kept;
}

/* Index of the first row >= name (strict: first row > name). */
static size_t lower_bound(const struct ephd_view *v, const ephd_oid *name,
			  size_t len, int strict)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ephd_oid_compare(v->rows[mid].name, v->rows[mid].len,
					 name, len);

		if (c < 0 || (strict && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct ephd_row *ephd_view_get(const struct ephd_view *v,
				     const ephd_oid *name, size_t len)
{
	size_t i = lower_bound(v, name, len, 0);

	if (i < v->n &&
	    ephd_oid_compare(v->rows[i].name, v->rows[i].len, name, len) == 0)
		return &v->rows[i];
	return NULL;
}

const struct ephd_row *ephd_view_next(const struct ephd_view *v,
				      const ephd_oid *name, size_t len)
{
	size_t i = lower_bound(v, name, len, 1);

	return i < v->n ? &v->rows[i] : NULL;
}
