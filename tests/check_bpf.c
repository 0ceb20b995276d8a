/*
 * check_bpf - the BPF source's reader (sockets_bpf.c) on synthetic
 * iterator outputs: what it accepts, what it refuses, and that a tally
 * merged from the kernel gives the model the same numbers as the sockets
 * themselves would.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bpf/iter.h"
#include "check_util.h"
#include "model.h"
#include "sockets.h"

struct out {
	struct eph_bpf_result r;
	struct eph_bpf_dest d[EPH_BPF_TOP];
};

static struct eph_range *range(void)
{
	struct eph_range *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	r->low = 40000;
	r->high = 40009;
	eph_bit_set(r->reserved, 40009);
	return r;
}

static void set(uint8_t *bm, unsigned p)
{
	bm[p >> 3] |= (uint8_t)(1u << (p & 7));
}

/* Ten ports, 40009 reserved: a listener on 40003; three bind-before-
 * connect sockets (40000-40002, bind-owned) and four plain ones
 * (40004-40007) to 10.0.1.1:443. */
static struct out *sample(void)
{
	struct out *o = calloc(1, sizeof(*o));
	struct eph_bpf_dest *d = &o->d[0];

	ck_assert_ptr_nonnull(o);
	o->r.magic = EPH_BPF_MAGIC;
	o->r.version = EPH_BPF_VERSION;
	o->r.protocol = 6;
	o->r.low = 40000;
	o->r.high = 40009;
	o->r.sockets_total = o->r.sockets_in_range = 8;
	o->r.state_total[EPH_ST_ESTABLISHED] = 7;
	o->r.state_in_range[EPH_ST_ESTABLISHED] = 7;
	o->r.state_total[EPH_ST_LISTEN] = o->r.state_in_range[EPH_ST_LISTEN] =
	    1;
	for (unsigned p = 40000; p <= 40007; p++)
		set(o->r.in_use, p);
	for (unsigned p = 40000; p <= 40003; p++)
		set(o->r.bind_owned, p);
	o->r.ports_in_use = 8;
	o->r.bind_owned_ports = 4;
	o->r.listeners_in_range = o->r.n_listeners = 1;
	o->r.listeners[0].addr.family = AF_INET;
	o->r.listeners[0].port = 40003;
	o->r.destinations = 1;
	o->r.n_top = 1;
	d->laddr.family = d->raddr.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.1", d->laddr.bytes);
	inet_pton(AF_INET, "10.0.1.1", d->raddr.bytes);
	d->rport = 443;
	d->sockets = 7;
	d->blocking = 4;
	return o;
}

static size_t size_of(const struct out *o)
{
	return sizeof(o->r) + o->r.n_top * sizeof(o->d[0]);
}

START_TEST(merge_sample)
{
	struct eph_range *r = range();
	struct out *o = sample();
	struct eph_model *m = eph_model_new(16);
	struct eph_proto_stats *st = calloc(1, sizeof(*st));

	eph_model_begin(m, EPH_TCP, r, NULL);
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), 0);
	eph_model_end(m, 5, st);
	ck_assert_uint_eq(st->usable, 9);
	ck_assert_uint_eq(st->ports_in_use, 8);
	ck_assert_uint_eq(st->bind_owned, 4);
	ck_assert(st->owners_exact);
	ck_assert_uint_eq(st->connect_new_bp, 4444);
	ck_assert_uint_eq(st->destinations, 1);
	ck_assert_uint_eq(st->worst.sockets, 7);
	ck_assert_uint_eq(st->worst.blocked, 8);
	ck_assert_uint_eq(st->connect_bp, 8888);
	ck_assert_uint_eq(st->bind_bp, 8888);
	ck_assert_uint_eq(st->listeners_in_range, 1);
	ck_assert_uint_eq(st->listeners[0].port, 40003);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_ESTABLISHED], 7);
	eph_model_free(m);
	free(st);
	free(o);
	free(r);
}
END_TEST

/* A reserved port set in the kernel's bitmap is still outside the pool. */
START_TEST(merge_masks_reserved)
{
	struct eph_range *r = range();
	struct out *o = sample();
	struct eph_model *m = eph_model_new(16);
	struct eph_proto_stats *st = calloc(1, sizeof(*st));

	set(o->r.in_use, 40009);
	set(o->r.bind_owned, 40009);
	eph_model_begin(m, EPH_TCP, r, NULL);
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), 0);
	eph_model_end(m, 5, st);
	ck_assert_uint_eq(st->ports_in_use, 8);
	ck_assert_uint_eq(st->bind_owned, 4);
	eph_model_free(m);
	free(st);
	free(o);
	free(r);
}
END_TEST

/* Many destinations, few detailed: the count is the kernel's. */
START_TEST(merge_counts_all_destinations)
{
	struct eph_range *r = range();
	struct out *o = sample();
	struct eph_model *m = eph_model_new(16);
	struct eph_proto_stats *st = calloc(1, sizeof(*st));

	o->r.destinations = 500;
	o->r.dest_untracked = 3;
	o->r.flags = EPH_BPF_DEST_OVERFLOW;
	eph_model_begin(m, EPH_TCP, r, NULL);
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), 0);
	eph_model_end(m, 5, st);
	ck_assert_uint_eq(st->destinations, 500);
	ck_assert(st->dest_overflow);
	ck_assert_uint_eq(st->dest_untracked, 3);
	eph_model_free(m);
	free(st);
	free(o);
	free(r);
}
END_TEST

START_TEST(refuse_malformed)
{
	struct eph_range *r = range();
	struct out *o = sample();
	struct eph_model *m = eph_model_new(16);

	eph_model_begin(m, EPH_TCP, r, NULL);
	ck_assert_int_eq(eph_bpf_parse(o, sizeof(o->r) - 1, EPH_TCP, r, m),
			 -EBADMSG);
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o) + 1, EPH_TCP, r, m),
			 -EBADMSG);
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_UDP, r, m), -EBADMSG);
	o->r.magic ^= 1;
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), -EPROTO);
	o->r.magic ^= 1;
	o->r.version++;
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), -EPROTO);
	o->r.version--;
	o->r.n_top = EPH_BPF_TOP + 1;
	ck_assert_int_eq(eph_bpf_parse(o, sizeof(*o), EPH_TCP, r, m), -EBADMSG);
	o->r.n_top = 1;
	o->r.n_listeners = EPH_BPF_LISTENERS + 1;
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), -EBADMSG);
	o->r.n_listeners = 1;
	o->d[0].blocking = 8; /* more than its sockets */
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), -EBADMSG);
	o->d[0].blocking = 4;
	o->d[0].raddr.family = AF_INET6; /* families disagree */
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), -EBADMSG);
	o->d[0].raddr.family = AF_INET;
	o->r.high = 40008; /* the range changed in between */
	ck_assert_int_eq(eph_bpf_parse(o, size_of(o), EPH_TCP, r, m), -ESTALE);
	eph_model_free(m);
	free(o);
	free(r);
}
END_TEST

START_TEST(read_missing_pin)
{
	struct eph_range *r = range();
	struct eph_model *m = eph_model_new(16);
	char buf[1024], why[256];

	eph_model_begin(m, EPH_TCP, r, NULL);
	ck_assert_int_eq(eph_bpf_read("/nonexistent/ephport", EPH_TCP, r, m,
				      buf, sizeof(buf), why, sizeof(why)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/ephport/tcp"));
	ck_assert(!eph_bpf_available("/nonexistent/ephport"));
	/* A directory is not an iterator. */
	ck_assert_int_eq(eph_bpf_read("/", EPH_TCP, r, m, buf, sizeof(buf), why,
				      sizeof(why)),
			 eph_bpf_available("/") ? -EINVAL : -ENOENT);
	eph_model_free(m);
	free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bpf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, merge_sample);
	tcase_add_test(tc, merge_masks_reserved);
	tcase_add_test(tc, merge_counts_all_destinations);
	tcase_add_test(tc, refuse_malformed);
	tcase_add_test(tc, read_missing_pin);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
