/*
 * check_model - the accounting model (DESIGN.md, "The accounting model")
 * on synthetic socket records, with exact expected numbers; plus the
 * small helpers of ephport.h (eph_ratio_bp, names, eph_addr_format).
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "model.h"
#include "check_util.h"

/* ---- helpers ---------------------------------------------------------- */

static void put_addr(int family, const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	ck_assert_msg(inet_pton(family, text, out) == 1, "bad address %s",
		      text);
}

static struct eph_sock mk(int family, unsigned state, const char *laddr,
			  unsigned lport, const char *raddr, unsigned rport)
{
	struct eph_sock s;

	memset(&s, 0, sizeof(s));
	s.family = (uint8_t)family;
	s.state = (uint8_t)state;
	s.lport = (uint16_t)lport;
	s.rport = (uint16_t)rport;
	put_addr(family, laddr, s.laddr);
	put_addr(family, raddr, s.raddr);
	return s;
}

static void add(struct eph_model *t, int family, unsigned state,
		const char *laddr, unsigned lport, const char *raddr,
		unsigned rport)
{
	struct eph_sock s = mk(family, state, laddr, lport, raddr, rport);

	eph_model_add(t, &s);
}

/* IPv4 shorthands. */
static void add4(struct eph_model *t, unsigned state, const char *laddr,
		 unsigned lport, const char *raddr, unsigned rport)
{
	add(t, AF_INET, state, laddr, lport, raddr, rport);
}

static void add6(struct eph_model *t, unsigned state, const char *laddr,
		 unsigned lport, const char *raddr, unsigned rport)
{
	add(t, AF_INET6, state, laddr, lport, raddr, rport);
}

static struct eph_range *range_new(unsigned low, unsigned high)
{
	struct eph_range *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	r->low = (uint16_t)low;
	r->high = (uint16_t)high;
	return r;
}

static void reserve(struct eph_range *r, unsigned a, unsigned b)
{
	for (unsigned p = a; p <= b; p++)
		eph_bit_set(r->reserved, p);
}

static struct eph_proto_stats *stats_new(void)
{
	struct eph_proto_stats *st = malloc(sizeof(*st));

	ck_assert_ptr_nonnull(st);
	/* Poison: eph_model_end must set every field it reports. */
	memset(st, 0xa5, sizeof(*st));
	return st;
}

static struct eph_model *tally_new(unsigned cap)
{
	struct eph_model *t = eph_model_new(cap);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* Find a destination in top[]; NULL when absent. */
static const struct eph_dest *find_dest(const struct eph_proto_stats *st,
					int family, const char *laddr,
					const char *raddr, unsigned rport)
{
	uint8_t l[16], r[16];
	size_t n = family == AF_INET6 ? 16 : 4;

	put_addr(family, laddr, l);
	put_addr(family, raddr, r);
	for (uint32_t i = 0; i < st->n_top && i < EPH_TOP_MAX; i++) {
		const struct eph_dest *d = &st->top[i];

		if (d->laddr.family == family && d->raddr.family == family &&
		    d->rport == rport && memcmp(d->laddr.bytes, l, n) == 0 &&
		    memcmp(d->raddr.bytes, r, n) == 0)
			return d;
	}
	return NULL;
}

static bool has_listener(const struct eph_proto_stats *st, int family,
			 const char *addr, unsigned port)
{
	uint8_t a[16];
	size_t n = family == AF_INET6 ? 16 : 4;

	put_addr(family, addr, a);
	for (uint32_t i = 0; i < st->n_listeners && i < EPH_LISTENERS_MAX;
	     i++) {
		const struct eph_listener *l = &st->listeners[i];

		if (l->addr.family == family && l->port == port &&
		    memcmp(l->addr.bytes, a, n) == 0)
			return true;
	}
	return false;
}

static void assert_top_sorted(const struct eph_proto_stats *st)
{
	for (uint32_t i = 1; i < st->n_top; i++)
		ck_assert_msg(st->top[i - 1].sockets >= st->top[i].sockets,
			      "top[%u].sockets %u < top[%u].sockets %u", i - 1,
			      st->top[i - 1].sockets, i, st->top[i].sockets);
}

static void assert_dest_eq(const struct eph_dest *a, const struct eph_dest *b)
{
	ck_assert_uint_eq(a->laddr.family, b->laddr.family);
	ck_assert_uint_eq(a->raddr.family, b->raddr.family);
	ck_assert_mem_eq(a->laddr.bytes, b->laddr.bytes, 16);
	ck_assert_mem_eq(a->raddr.bytes, b->raddr.bytes, 16);
	ck_assert_uint_eq(a->rport, b->rport);
	ck_assert_uint_eq(a->sockets, b->sockets);
	ck_assert_uint_eq(a->time_wait, b->time_wait);
	ck_assert_uint_eq(a->exhaustion_bp, b->exhaustion_bp);
}

/* ---- eph_ratio_bp and names ------------------------------------------- */

START_TEST(ratio_bp)
{
	ck_assert_uint_eq(eph_ratio_bp(0, 100), 0);
	ck_assert_uint_eq(eph_ratio_bp(1, 3), 3333);
	ck_assert_uint_eq(eph_ratio_bp(2, 3), 6666);
	ck_assert_uint_eq(eph_ratio_bp(100, 100), 10000);
	ck_assert_uint_eq(eph_ratio_bp(150, 100), 10000);
	ck_assert_uint_eq(eph_ratio_bp(1, 0), 10000);
	ck_assert_uint_eq(eph_ratio_bp(0, 0), 10000);
	/* Rounded down, 10000 only when full. */
	ck_assert_uint_eq(eph_ratio_bp(1, 95), 105);
	ck_assert_uint_eq(eph_ratio_bp(19, 95), 2000);
	ck_assert_uint_eq(eph_ratio_bp(94, 95), 9894);
	ck_assert_uint_eq(eph_ratio_bp(28231, 28232), 9999);
	ck_assert_uint_eq(eph_ratio_bp(65534, 65535), 9999);
	/* Large values do not overflow. */
	ck_assert_uint_eq(eph_ratio_bp(UINT64_C(1) << 40, UINT64_C(1) << 41),
			  5000);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(eph_proto_name(EPH_TCP), "tcp");
	ck_assert_str_eq(eph_proto_name(EPH_UDP), "udp");
	ck_assert_int_eq(eph_proto_from_name("tcp"), EPH_TCP);
	ck_assert_int_eq(eph_proto_from_name("udp"), EPH_UDP);
	ck_assert_int_eq(eph_proto_from_name("sctp"), -1);
	ck_assert_int_eq(eph_proto_from_name(""), -1);
	ck_assert_int_eq(eph_proto_from_name("tcp6"), -1);

	ck_assert_str_eq(eph_source_name(EPH_SOURCE_NETLINK), "netlink");
	ck_assert_str_eq(eph_source_name(EPH_SOURCE_PROCFS), "procfs");

	ck_assert_str_eq(eph_state_key(EPH_ST_ESTABLISHED), "established");
	ck_assert_str_eq(eph_state_key(EPH_ST_TIME_WAIT), "time_wait");
	ck_assert_str_eq(eph_state_key(EPH_ST_SYN_SENT), "syn_sent");
	ck_assert_str_eq(eph_state_key(EPH_ST_SYN_RECV), "syn_recv");
	ck_assert_str_eq(eph_state_key(EPH_ST_CLOSE_WAIT), "close_wait");
	ck_assert_str_eq(eph_state_key(EPH_ST_LISTEN), "listen");
	ck_assert_str_eq(eph_state_key(EPH_ST_CLOSE), "close");
	ck_assert_str_eq(eph_state_name(EPH_ST_LISTEN), "LISTEN");

	/* Every state has a distinct, non-empty name and key; keys are
	 * lower case (JSON keys, metric labels). */
	for (int i = 0; i < EPH_ST_COUNT; i++) {
		const char *n = eph_state_name((enum eph_tcp_state)i);
		const char *k = eph_state_key((enum eph_tcp_state)i);

		ck_assert_ptr_nonnull(n);
		ck_assert_ptr_nonnull(k);
		ck_assert_msg(n[0] && k[0], "empty name for state %d", i);
		for (const char *c = k; *c; c++)
			ck_assert_msg((*c >= 'a' && *c <= 'z') ||
					  (*c >= '0' && *c <= '9') || *c == '_',
				      "key %s of state %d", k, i);
		for (int j = 0; j < i; j++) {
			ck_assert_str_ne(n,
					 eph_state_name((enum eph_tcp_state)j));
			ck_assert_str_ne(k,
					 eph_state_key((enum eph_tcp_state)j));
		}
	}
}
END_TEST

START_TEST(addr_format)
{
	struct eph_addr a;
	char buf[64];

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	put_addr(AF_INET, "192.0.2.1", a.bytes);
	ck_assert_str_eq(eph_addr_format(&a, buf, sizeof(buf)), "192.0.2.1");
	ck_assert_str_eq(buf, "192.0.2.1");

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	put_addr(AF_INET6, "2001:db8::1", a.bytes);
	ck_assert_str_eq(eph_addr_format(&a, buf, sizeof(buf)), "2001:db8::1");

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	ck_assert_str_eq(eph_addr_format(&a, buf, 46), "::");

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	ck_assert_str_eq(eph_addr_format(&a, buf, 46), "0.0.0.0");
}
END_TEST

/* ---- range, reserved, usable ------------------------------------------ */

START_TEST(empty_tally)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	eph_model_begin(t, EPH_TCP, r, NULL);
	eph_model_end(t, 5, st);

	ck_assert(st->collected);
	ck_assert_uint_eq(st->low, 40000);
	ck_assert_uint_eq(st->high, 40099);
	ck_assert_uint_eq(st->size, 100);
	ck_assert_uint_eq(st->reserved, 0);
	ck_assert_uint_eq(st->usable, 100);
	ck_assert(!st->all_reserved);
	ck_assert_uint_eq(st->ports_in_use, 0);
	ck_assert_uint_eq(st->ports_free, 100);
	ck_assert_uint_eq(st->sockets_in_range, 0);
	ck_assert_uint_eq(st->sockets_total, 0);
	for (int i = 0; i < EPH_ST_COUNT; i++) {
		ck_assert_uint_eq(st->state_in_range[i], 0);
		ck_assert_uint_eq(st->state_total[i], 0);
	}
	ck_assert_uint_eq(st->time_wait, 0);
	ck_assert_uint_eq(st->time_wait_total, 0);
	ck_assert_uint_eq(st->listeners_in_range, 0);
	ck_assert_uint_eq(st->n_listeners, 0);
	ck_assert_uint_eq(st->destinations, 0);
	ck_assert(!st->dest_overflow);
	ck_assert_uint_eq(st->dest_untracked, 0);
	ck_assert_uint_eq(st->n_top, 0);
	ck_assert(!st->has_worst);
	ck_assert_uint_eq(st->host_exhaustion_bp, 0);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 0);
	ck_assert_uint_eq(st->exhaustion_bp, 0);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(reserved_inside_and_outside)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	reserve(r, 40010, 40014);
	/* Outside [low, high]: ignored. */
	reserve(r, 39990, 39999);
	reserve(r, 40100, 40110);
	reserve(r, 22, 22);
	reserve(r, 65535, 65535);
	eph_model_begin(t, EPH_TCP, r, NULL);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->size, 100);
	ck_assert_uint_eq(st->reserved, 5);
	ck_assert_uint_eq(st->usable, 95);
	ck_assert_uint_eq(st->ports_free, 95);
	ck_assert(!st->all_reserved);

	/* Edge ports of the range reserved; the whole port space. */
	memset(r, 0, sizeof(*r));
	r->low = 1;
	r->high = 65535;
	reserve(r, 1, 1);
	reserve(r, 65535, 65535);
	reserve(r, 0, 0); /* port 0 is outside [1, 65535] */
	eph_model_begin(t, EPH_UDP, r, NULL);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->low, 1);
	ck_assert_uint_eq(st->high, 65535);
	ck_assert_uint_eq(st->size, 65535);
	ck_assert_uint_eq(st->reserved, 2);
	ck_assert_uint_eq(st->usable, 65533);

	/* A one-port range. */
	memset(r, 0, sizeof(*r));
	r->low = r->high = 50000;
	eph_model_begin(t, EPH_TCP, r, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 50000, "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->size, 1);
	ck_assert_uint_eq(st->usable, 1);
	ck_assert_uint_eq(st->ports_in_use, 1);
	ck_assert_uint_eq(st->ports_free, 0);
	ck_assert_uint_eq(st->host_exhaustion_bp, 10000);
	ck_assert_uint_eq(st->exhaustion_bp, 10000);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(range_bounds_inclusive)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	eph_model_begin(t, EPH_TCP, r, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 39999, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40099, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40100, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 80, "192.0.2.9", 51000);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->ports_in_use, 2);
	ck_assert_uint_eq(st->ports_free, 98);
	ck_assert_uint_eq(st->sockets_in_range, 2);
	ck_assert_uint_eq(st->sockets_total, 5);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_ESTABLISHED], 2);
	ck_assert_uint_eq(st->state_total[EPH_ST_ESTABLISHED], 5);
	/* Only pool sockets make destinations. */
	ck_assert_uint_eq(st->destinations, 1);
	ck_assert_uint_eq(st->n_top, 1);
	ck_assert_uint_eq(st->top[0].sockets, 2);
	ck_assert_uint_eq(st->host_exhaustion_bp, 200);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 200);
	ck_assert_uint_eq(st->exhaustion_bp, 200);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- ports in use ------------------------------------------------------- */

START_TEST(ports_distinct_any_state_any_family)
{
	struct eph_model *t = tally_new(64);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	eph_model_begin(t, EPH_TCP, r, NULL);
	/* 40001: IPv4 and IPv6 on the same port count once. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40001, "192.0.2.1", 80);
	add6(t, EPH_ST_ESTABLISHED, "2001:db8::10", 40001, "2001:db8::1", 80);
	/* 40002: TIME_WAIT holds a port. */
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40002, "192.0.2.1", 80);
	/* 40003: LISTEN holds a port. */
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 40003, "0.0.0.0", 0);
	/* 40004: several sockets on one port. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40004, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40004, "192.0.2.2", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40004, "192.0.2.3", 80);
	add6(t, EPH_ST_FIN_WAIT2, "2001:db8::10", 40004, "2001:db8::1", 443);
	/* 40005: SYN_SENT, 40006: CLOSE_WAIT, 40007: NEW_SYN_RECV. */
	add4(t, EPH_ST_SYN_SENT, "10.0.0.1", 40005, "192.0.2.1", 80);
	add4(t, EPH_ST_CLOSE_WAIT, "10.0.0.1", 40006, "192.0.2.1", 80);
	add4(t, EPH_ST_NEW_SYN_RECV, "10.0.0.1", 40007, "192.0.2.7", 5555);
	/* Outside: not in use. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 22, "192.0.2.5", 60000);
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 22, "0.0.0.0", 0);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->ports_in_use, 7);
	ck_assert_uint_eq(st->ports_free, 93);
	ck_assert_uint_eq(st->sockets_in_range, 11);
	ck_assert_uint_eq(st->sockets_total, 13);
	ck_assert_uint_eq(st->host_exhaustion_bp, 700);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(reserved_ports_not_in_pool)
{
	struct eph_model *t = tally_new(64);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	reserve(r, 40010, 40014);
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned p = 40010; p <= 40014; p++) {
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", p, "192.0.2.1", 80);
		add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", p, "192.0.2.2", 80);
	}
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40015, "192.0.2.1", 80);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->usable, 95);
	ck_assert_uint_eq(st->ports_in_use, 1);
	ck_assert_uint_eq(st->ports_free, 94);
	ck_assert_uint_eq(st->sockets_in_range, 1);
	ck_assert_uint_eq(st->sockets_total, 11);
	ck_assert_uint_eq(st->time_wait, 0);
	ck_assert_uint_eq(st->time_wait_total, 5);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_ESTABLISHED], 1);
	ck_assert_uint_eq(st->state_total[EPH_ST_ESTABLISHED], 6);
	ck_assert_uint_eq(st->destinations, 1);
	ck_assert_uint_eq(st->top[0].sockets, 1);
	ck_assert_uint_eq(st->top[0].time_wait, 0);
	ck_assert_uint_eq(st->host_exhaustion_bp, 105);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 105);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- exhaustion --------------------------------------------------------- */

/* Range 40000-40099 with 40010-40014 reserved: usable 95.  Pool ports
 * (skipping the reserved ones) numbered 0..94. */
static unsigned pool_port(unsigned i)
{
	return i < 10 ? 40000 + i : 40005 + i;
}

START_TEST(exhaustion_examples)
{
	struct eph_model *t = tally_new(256);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	reserve(r, 40010, 40014);

	/* 19 ports, each to its own destination. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned i = 0; i < 19; i++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", pool_port(i),
		     "192.0.2.1", 1000 + i);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->usable, 95);
	ck_assert_uint_eq(st->ports_in_use, 19);
	ck_assert_uint_eq(st->ports_free, 76);
	ck_assert_uint_eq(st->destinations, 19);
	ck_assert_uint_eq(st->n_top, 5);
	ck_assert_uint_eq(st->host_exhaustion_bp, 2000);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 105);
	ck_assert_uint_eq(st->exhaustion_bp, 2000);
	ck_assert(st->has_worst);
	ck_assert_uint_eq(st->worst.sockets, 1);
	ck_assert_uint_eq(st->worst.exhaustion_bp, 105);

	/* 19 ports, all to one destination. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned i = 0; i < 19; i++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", pool_port(i),
		     "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->ports_in_use, 19);
	ck_assert_uint_eq(st->destinations, 1);
	ck_assert_uint_eq(st->n_top, 1);
	ck_assert_uint_eq(st->top[0].sockets, 19);
	ck_assert_uint_eq(st->top[0].exhaustion_bp, 2000);
	ck_assert_uint_eq(st->host_exhaustion_bp, 2000);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 2000);
	ck_assert_uint_eq(st->exhaustion_bp, 2000);

	/* 1 port: 1/95 = 1.0526 % -> 105. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40050, "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->ports_in_use, 1);
	ck_assert_uint_eq(st->host_exhaustion_bp, 105);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 105);
	ck_assert_uint_eq(st->exhaustion_bp, 105);

	/* 94 ports: not full yet, rounded down. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned i = 0; i < 94; i++)
		add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", pool_port(i), "192.0.2.1",
		     80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->ports_in_use, 94);
	ck_assert_uint_eq(st->ports_free, 1);
	ck_assert_uint_eq(st->host_exhaustion_bp, 9894);
	ck_assert_uint_eq(st->worst.time_wait, 94);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 9894);
	ck_assert_uint_eq(st->exhaustion_bp, 9894);

	/* All 95 usable ports (plus the reserved ones, which do not count). */
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned p = 40000; p <= 40099; p++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", p, "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->ports_in_use, 95);
	ck_assert_uint_eq(st->ports_free, 0);
	ck_assert_uint_eq(st->sockets_in_range, 95);
	ck_assert_uint_eq(st->sockets_total, 100);
	ck_assert_uint_eq(st->host_exhaustion_bp, 10000);
	ck_assert_uint_eq(st->worst.sockets, 95);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 10000);
	ck_assert_uint_eq(st->exhaustion_bp, 10000);
	ck_assert(!st->all_reserved);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/*
 * Host and destination exhaustion on a mix.  Range 40000-40099 (usable
 * 100):
 *   10.0.0.1:40000-40059 -> 192.0.2.1:80   60 (20 of them TIME_WAIT)
 *   10.0.0.2:40000-40059 -> 192.0.2.1:80   60 (other local address)
 *   10.0.0.1:40060-40069 -> 192.0.2.2:443  10
 *   10.0.0.1:40030-40034 -> 192.0.2.3:53    5 (ports reused)
 *   [2001:db8::10]:40070-40071 -> [2001:db8::1]:80  2
 * ports_in_use = 72: host 7200; worst 60: 6000; headline 7200.
 */
START_TEST(exhaustion_mix)
{
	struct eph_model *t = tally_new(64);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	const struct eph_dest *d;

	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned p = 40000; p < 40060; p++) {
		add4(t, p < 40020 ? EPH_ST_TIME_WAIT : EPH_ST_ESTABLISHED,
		     "10.0.0.1", p, "192.0.2.1", 80);
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.2", p, "192.0.2.1", 80);
	}
	for (unsigned p = 40060; p < 40070; p++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", p, "192.0.2.2", 443);
	for (unsigned p = 40030; p < 40035; p++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", p, "192.0.2.3", 53);
	add6(t, EPH_ST_ESTABLISHED, "2001:db8::10", 40070, "2001:db8::1", 80);
	add6(t, EPH_ST_TIME_WAIT, "2001:db8::10", 40071, "2001:db8::1", 80);
	eph_model_end(t, 10, st);

	ck_assert_uint_eq(st->usable, 100);
	ck_assert_uint_eq(st->ports_in_use, 72);
	ck_assert_uint_eq(st->ports_free, 28);
	ck_assert_uint_eq(st->sockets_in_range, 137);
	ck_assert_uint_eq(st->sockets_total, 137);
	ck_assert_uint_eq(st->time_wait, 21);
	ck_assert_uint_eq(st->time_wait_total, 21);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_ESTABLISHED], 116);
	ck_assert_uint_eq(st->destinations, 5);
	ck_assert_uint_eq(st->n_top, 5);
	assert_top_sorted(st);
	ck_assert_uint_eq(st->top[0].sockets, 60);
	ck_assert_uint_eq(st->top[1].sockets, 60);
	ck_assert_uint_eq(st->top[2].sockets, 10);
	ck_assert_uint_eq(st->top[3].sockets, 5);
	ck_assert_uint_eq(st->top[4].sockets, 2);

	d = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 60);
	ck_assert_uint_eq(d->time_wait, 20);
	ck_assert_uint_eq(d->exhaustion_bp, 6000);
	d = find_dest(st, AF_INET, "10.0.0.2", "192.0.2.1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 60);
	ck_assert_uint_eq(d->time_wait, 0);
	ck_assert_uint_eq(d->exhaustion_bp, 6000);
	d = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.2", 443);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 10);
	ck_assert_uint_eq(d->exhaustion_bp, 1000);
	d = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.3", 53);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 5);
	ck_assert_uint_eq(d->exhaustion_bp, 500);
	d = find_dest(st, AF_INET6, "2001:db8::10", "2001:db8::1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 2);
	ck_assert_uint_eq(d->time_wait, 1);
	ck_assert_uint_eq(d->exhaustion_bp, 200);

	ck_assert(st->has_worst);
	assert_dest_eq(&st->worst, &st->top[0]);
	ck_assert_uint_eq(st->worst.sockets, 60);
	ck_assert_uint_eq(st->host_exhaustion_bp, 7200);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 6000);
	ck_assert_uint_eq(st->exhaustion_bp, 7200);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(all_reserved)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40009);
	struct eph_proto_stats *st = stats_new();

	reserve(r, 39000, 41000);
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned p = 40000; p <= 40009; p++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", p, "192.0.2.1", 80);
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 40005, "0.0.0.0", 0);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->size, 10);
	ck_assert_uint_eq(st->reserved, 10);
	ck_assert_uint_eq(st->usable, 0);
	ck_assert(st->all_reserved);
	ck_assert_uint_eq(st->ports_in_use, 0);
	ck_assert_uint_eq(st->ports_free, 0);
	ck_assert_uint_eq(st->sockets_in_range, 0);
	ck_assert_uint_eq(st->sockets_total, 11);
	ck_assert_uint_eq(st->listeners_in_range, 0);
	ck_assert_uint_eq(st->destinations, 0);
	ck_assert(!st->has_worst);
	ck_assert_uint_eq(st->host_exhaustion_bp, 10000);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 0);
	ck_assert_uint_eq(st->exhaustion_bp, 10000);

	/* Also with no sockets at all. */
	eph_model_begin(t, EPH_UDP, r, NULL);
	eph_model_end(t, 5, st);
	ck_assert(st->all_reserved);
	ck_assert_uint_eq(st->usable, 0);
	ck_assert_uint_eq(st->ports_in_use, 0);
	ck_assert_uint_eq(st->host_exhaustion_bp, 10000);
	ck_assert_uint_eq(st->exhaustion_bp, 10000);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- states -------------------------------------------------------------- */

START_TEST(states)
{
	struct eph_model *t = tally_new(64);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	uint64_t sum_in = 0, sum_all = 0;

	eph_model_begin(t, EPH_TCP, r, NULL);
	/* In range. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40001, "192.0.2.1", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40002, "192.0.2.1", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40003, "192.0.2.1", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40004, "192.0.2.1", 80);
	add4(t, EPH_ST_SYN_RECV, "10.0.0.1", 40005, "192.0.2.9", 6000);
	add4(t, EPH_ST_NEW_SYN_RECV, "10.0.0.1", 40006, "192.0.2.9", 6001);
	add4(t, EPH_ST_NEW_SYN_RECV, "10.0.0.1", 40006, "192.0.2.9", 6002);
	add4(t, EPH_ST_FIN_WAIT1, "10.0.0.1", 40007, "192.0.2.1", 80);
	add4(t, EPH_ST_LAST_ACK, "10.0.0.1", 40008, "192.0.2.1", 80);
	add4(t, EPH_ST_CLOSING, "10.0.0.1", 40009, "192.0.2.1", 80);
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 40010, "0.0.0.0", 0);
	/* Outside. */
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 30000, "192.0.2.1", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 30001, "192.0.2.1", 80);
	add4(t, EPH_ST_NEW_SYN_RECV, "10.0.0.1", 443, "192.0.2.9", 6003);
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 443, "0.0.0.0", 0);
	add6(t, EPH_ST_ESTABLISHED, "::1", 8080, "::1", 40000);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->sockets_in_range, 12);
	ck_assert_uint_eq(st->sockets_total, 17);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_ESTABLISHED], 2);
	ck_assert_uint_eq(st->state_total[EPH_ST_ESTABLISHED], 3);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_TIME_WAIT], 3);
	ck_assert_uint_eq(st->state_total[EPH_ST_TIME_WAIT], 5);
	ck_assert_uint_eq(st->time_wait, 3);
	ck_assert_uint_eq(st->time_wait_total, 5);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_SYN_RECV], 3);
	ck_assert_uint_eq(st->state_total[EPH_ST_SYN_RECV], 4);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_NEW_SYN_RECV], 0);
	ck_assert_uint_eq(st->state_total[EPH_ST_NEW_SYN_RECV], 0);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_FIN_WAIT1], 1);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_LAST_ACK], 1);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_CLOSING], 1);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_LISTEN], 1);
	ck_assert_uint_eq(st->state_total[EPH_ST_LISTEN], 2);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_FIN_WAIT2], 0);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_CLOSE_WAIT], 0);
	for (int i = 0; i < EPH_ST_COUNT; i++) {
		sum_in += st->state_in_range[i];
		sum_all += st->state_total[i];
	}
	ck_assert_uint_eq(sum_in, st->sockets_in_range);
	ck_assert_uint_eq(sum_all, st->sockets_total);
	/* 40000-40010 */
	ck_assert_uint_eq(st->ports_in_use, 11);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- listeners ----------------------------------------------------------- */

START_TEST(tcp_listeners)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	reserve(r, 40050, 40050);
	eph_model_begin(t, EPH_TCP, r, NULL);
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 40020, "0.0.0.0", 0);
	add6(t, EPH_ST_LISTEN, "::", 40020, "::", 0);
	add4(t, EPH_ST_LISTEN, "127.0.0.1", 40099, "0.0.0.0", 0);
	/* A listener on a reserved port is fine: not counted. */
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 40050, "0.0.0.0", 0);
	/* Outside the range. */
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 22, "0.0.0.0", 0);
	add6(t, EPH_ST_LISTEN, "::", 40100, "::", 0);
	/* Accepted connections on the listener port are not listeners. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40020, "192.0.2.5", 51000);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40020, "192.0.2.6", 51000);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->listeners_in_range, 3);
	ck_assert_uint_eq(st->n_listeners, 3);
	ck_assert(has_listener(st, AF_INET, "0.0.0.0", 40020));
	ck_assert(has_listener(st, AF_INET6, "::", 40020));
	ck_assert(has_listener(st, AF_INET, "127.0.0.1", 40099));
	ck_assert(!has_listener(st, AF_INET, "0.0.0.0", 40050));
	ck_assert(!has_listener(st, AF_INET, "0.0.0.0", 22));
	/* Listeners hold ports but are not destinations; nor are the
	 * sockets they accepted: connect() never takes a listener's port. */
	ck_assert_uint_eq(st->ports_in_use, 2);
	ck_assert_uint_eq(st->sockets_in_range, 5);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_LISTEN], 3);
	ck_assert_uint_eq(st->state_total[EPH_ST_LISTEN], 6);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_ESTABLISHED], 2);
	ck_assert_uint_eq(st->destinations, 0);
	ck_assert(!st->has_worst);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 0);

	/* The same sockets without the listener are clients: destinations. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40020, "192.0.2.5", 51000);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40020, "192.0.2.6", 51000);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->destinations, 2);
	ck_assert_ptr_nonnull(
	    find_dest(st, AF_INET, "10.0.0.1", "192.0.2.5", 51000));
	ck_assert_ptr_nonnull(
	    find_dest(st, AF_INET, "10.0.0.1", "192.0.2.6", 51000));
	ck_assert_uint_eq(st->worst.sockets, 1);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(udp_listeners_and_connected)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	const struct eph_dest *d;

	reserve(r, 40090, 40099);
	eph_model_begin(t, EPH_UDP, r, NULL);
	/* Unconnected: listeners. */
	add4(t, EPH_ST_CLOSE, "0.0.0.0", 40001, "0.0.0.0", 0);
	add6(t, EPH_ST_CLOSE, "::", 40001, "::", 0);
	add4(t, EPH_ST_CLOSE, "127.0.0.1", 40002, "0.0.0.0", 0);
	/* Reserved port and outside: not counted. */
	add4(t, EPH_ST_CLOSE, "0.0.0.0", 40095, "0.0.0.0", 0);
	add4(t, EPH_ST_CLOSE, "0.0.0.0", 53, "0.0.0.0", 0);
	/* Connected: destinations. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40010, "192.0.2.53", 53);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40011, "192.0.2.53", 53);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40012, "192.0.2.53", 53);
	add6(t, EPH_ST_ESTABLISHED, "2001:db8::10", 40012, "2001:db8::53", 53);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40095, "192.0.2.53", 53);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->usable, 90);
	ck_assert_uint_eq(st->listeners_in_range, 3);
	ck_assert_uint_eq(st->n_listeners, 3);
	ck_assert(has_listener(st, AF_INET, "0.0.0.0", 40001));
	ck_assert(has_listener(st, AF_INET6, "::", 40001));
	ck_assert(has_listener(st, AF_INET, "127.0.0.1", 40002));
	/* 40001, 40002, 40010, 40011, 40012 */
	ck_assert_uint_eq(st->ports_in_use, 5);
	ck_assert_uint_eq(st->ports_free, 85);
	ck_assert_uint_eq(st->sockets_in_range, 7);
	ck_assert_uint_eq(st->sockets_total, 10);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_CLOSE], 3);
	ck_assert_uint_eq(st->state_total[EPH_ST_CLOSE], 5);
	ck_assert_uint_eq(st->state_in_range[EPH_ST_ESTABLISHED], 4);
	ck_assert_uint_eq(st->state_total[EPH_ST_ESTABLISHED], 5);
	ck_assert_uint_eq(st->destinations, 2);
	ck_assert_uint_eq(st->n_top, 2);
	d = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.53", 53);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 3);
	ck_assert_uint_eq(d->time_wait, 0);
	ck_assert_uint_eq(d->exhaustion_bp, 333);
	d = find_dest(st, AF_INET6, "2001:db8::10", "2001:db8::53", 53);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 1);
	ck_assert_uint_eq(d->exhaustion_bp, 111);
	ck_assert_uint_eq(st->worst.sockets, 3);
	ck_assert_uint_eq(st->host_exhaustion_bp, 555);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 333);
	ck_assert_uint_eq(st->exhaustion_bp, 555);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(listeners_list_bounded)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40199);
	struct eph_proto_stats *st = stats_new();
	unsigned n = EPH_LISTENERS_MAX + 36;

	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned i = 0; i < n; i++)
		add4(t, EPH_ST_LISTEN, "0.0.0.0", 40000 + i, "0.0.0.0", 0);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->listeners_in_range, n);
	ck_assert_uint_eq(st->n_listeners, EPH_LISTENERS_MAX);
	for (unsigned i = 0; i < EPH_LISTENERS_MAX; i++) {
		ck_assert_uint_ge(st->listeners[i].port, 40000);
		ck_assert_uint_lt(st->listeners[i].port, 40000 + n);
		ck_assert_uint_eq(st->listeners[i].addr.family, AF_INET);
		for (unsigned j = 0; j < i; j++)
			ck_assert_uint_ne(st->listeners[i].port,
					  st->listeners[j].port);
	}
	ck_assert_uint_eq(st->ports_in_use, n);
	ck_assert_uint_eq(st->destinations, 0);
	ck_assert(!st->has_worst);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- destinations ---------------------------------------------------------
 */

START_TEST(port_reuse_two_destinations)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	const struct eph_dest *a, *b;

	eph_model_begin(t, EPH_TCP, r, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40001, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40001, "192.0.2.2", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40002, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40002, "192.0.2.2", 80);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->ports_in_use, 2);
	ck_assert_uint_eq(st->sockets_in_range, 4);
	ck_assert_uint_eq(st->destinations, 2);
	ck_assert_uint_eq(st->n_top, 2);
	a = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.1", 80);
	b = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.2", 80);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(a->sockets, 2);
	ck_assert_uint_eq(a->time_wait, 1);
	ck_assert_uint_eq(b->sockets, 2);
	ck_assert_uint_eq(b->time_wait, 0);
	ck_assert_uint_eq(st->host_exhaustion_bp, 200);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 200);
	ck_assert_uint_eq(st->exhaustion_bp, 200);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(destination_key)
{
	struct eph_model *t = tally_new(64);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	const struct eph_dest *d;

	eph_model_begin(t, EPH_TCP, r, NULL);
	/* Base destination: 3 sockets. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40001, "192.0.2.1", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40002, "192.0.2.1", 80);
	/* Other local address. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.2", 40000, "192.0.2.1", 80);
	/* Other remote address. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000, "192.0.2.2", 80);
	/* Other remote port. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000, "192.0.2.1", 81);
	/* IPv6, and the IPv4-mapped spelling kept as IPv6 (distinct). */
	add6(t, EPH_ST_ESTABLISHED, "2001:db8::10", 40003, "2001:db8::1", 80);
	add6(t, EPH_ST_ESTABLISHED, "2001:db8::10", 40004, "2001:db8::1", 80);
	add6(t, EPH_ST_ESTABLISHED, "2001:db8::11", 40003, "2001:db8::1", 80);
	add6(t, EPH_ST_ESTABLISHED, "::ffff:10.0.0.1", 40005,
	     "::ffff:192.0.2.1", 80);
	eph_model_end(t, EPH_TOP_MAX, st);

	ck_assert_uint_eq(st->destinations, 7);
	ck_assert_uint_eq(st->n_top, 7);
	ck_assert_uint_eq(st->ports_in_use, 6);
	assert_top_sorted(st);

	d = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 3);
	ck_assert_uint_eq(d->time_wait, 1);
	ck_assert_uint_eq(d->exhaustion_bp, 300);
	assert_dest_eq(&st->top[0], d);
	assert_dest_eq(&st->worst, d);
	ck_assert_uint_eq(st->worst.laddr.family, AF_INET);
	ck_assert_uint_eq(st->worst.raddr.family, AF_INET);
	ck_assert_uint_eq(st->worst.rport, 80);

	d = find_dest(st, AF_INET, "10.0.0.2", "192.0.2.1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 1);
	d = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.2", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 1);
	d = find_dest(st, AF_INET, "10.0.0.1", "192.0.2.1", 81);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 1);
	d = find_dest(st, AF_INET6, "2001:db8::10", "2001:db8::1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 2);
	ck_assert_uint_eq(d->exhaustion_bp, 200);
	d = find_dest(st, AF_INET6, "2001:db8::11", "2001:db8::1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 1);
	d = find_dest(st, AF_INET6, "::ffff:10.0.0.1", "::ffff:192.0.2.1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 1);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* Destination d (0-based) gets counts[d] sockets; interleaved. */
static void add_counts(struct eph_model *t, const unsigned *counts, unsigned n)
{
	unsigned port = 40000, left = 1;

	for (unsigned round = 0; left; round++) {
		left = 0;
		for (unsigned d = 0; d < n; d++) {
			char raddr[32];

			if (round >= counts[d])
				continue;
			left = 1;
			snprintf(raddr, sizeof(raddr), "192.0.2.%u", d + 1);
			add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", port++, raddr,
			     443);
		}
	}
}

START_TEST(top_n_order_and_bounds)
{
	struct eph_model *t = tally_new(128);
	struct eph_range *r = range_new(40000, 49999);
	struct eph_proto_stats *st = stats_new();
	const unsigned counts[5] = {5, 1, 4, 2, 3};
	unsigned many[40];
	char raddr[32];

	eph_model_begin(t, EPH_TCP, r, NULL);
	add_counts(t, counts, 5);
	eph_model_end(t, 3, st);
	ck_assert_uint_eq(st->destinations, 5);
	ck_assert_uint_eq(st->n_top, 3);
	ck_assert_uint_eq(st->top[0].sockets, 5);
	ck_assert_uint_eq(st->top[1].sockets, 4);
	ck_assert_uint_eq(st->top[2].sockets, 3);
	ck_assert_ptr_nonnull(
	    find_dest(st, AF_INET, "10.0.0.1", "192.0.2.1", 443));
	ck_assert_ptr_nonnull(
	    find_dest(st, AF_INET, "10.0.0.1", "192.0.2.3", 443));
	ck_assert_ptr_nonnull(
	    find_dest(st, AF_INET, "10.0.0.1", "192.0.2.5", 443));
	ck_assert(st->has_worst);
	assert_dest_eq(&st->worst, &st->top[0]);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 5); /* 5 / 10000 */
	ck_assert_uint_eq(st->ports_in_use, 15);
	ck_assert_uint_eq(st->host_exhaustion_bp, 15);

	/* top_n larger than the number of destinations. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	add_counts(t, counts, 5);
	eph_model_end(t, 10, st);
	ck_assert_uint_eq(st->n_top, 5);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_uint_eq(st->top[i].sockets, 5 - i);

	/* top_n 0: no list, the worst destination is still known. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	add_counts(t, counts, 5);
	eph_model_end(t, 0, st);
	ck_assert_uint_eq(st->destinations, 5);
	ck_assert_uint_eq(st->n_top, 0);
	ck_assert(st->has_worst);
	ck_assert_uint_eq(st->worst.sockets, 5);
	snprintf(raddr, sizeof(raddr), "192.0.2.1");
	{
		uint8_t a[16];

		put_addr(AF_INET, raddr, a);
		ck_assert_mem_eq(st->worst.raddr.bytes, a, 4);
	}
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 5);

	/* 40 destinations with counts 1..40 in scrambled order, top 32. */
	for (unsigned i = 0; i < 40; i++)
		many[i] = (i * 17) % 40 + 1;
	eph_model_begin(t, EPH_TCP, r, NULL);
	add_counts(t, many, 40);
	eph_model_end(t, EPH_TOP_MAX, st);
	ck_assert_uint_eq(st->destinations, 40);
	ck_assert_uint_eq(st->n_top, EPH_TOP_MAX);
	for (unsigned i = 0; i < EPH_TOP_MAX; i++)
		ck_assert_uint_eq(st->top[i].sockets, 40 - i);
	ck_assert_uint_eq(st->worst.sockets, 40);
	ck_assert_uint_eq(st->ports_in_use, 820); /* 1 + ... + 40 */
	ck_assert_uint_eq(st->host_exhaustion_bp, 820);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 40);
	ck_assert_uint_eq(st->exhaustion_bp, 820);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(top_ties)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	const unsigned counts[4] = {2, 3, 3, 2};

	eph_model_begin(t, EPH_TCP, r, NULL);
	add_counts(t, counts, 4);
	eph_model_end(t, 3, st);
	ck_assert_uint_eq(st->destinations, 4);
	ck_assert_uint_eq(st->n_top, 3);
	ck_assert_uint_eq(st->top[0].sockets, 3);
	ck_assert_uint_eq(st->top[1].sockets, 3);
	ck_assert_uint_eq(st->top[2].sockets, 2);
	ck_assert_ptr_nonnull(
	    find_dest(st, AF_INET, "10.0.0.1", "192.0.2.2", 443));
	ck_assert_ptr_nonnull(
	    find_dest(st, AF_INET, "10.0.0.1", "192.0.2.3", 443));
	ck_assert_uint_eq(st->worst.sockets, 3);
	assert_dest_eq(&st->worst, &st->top[0]);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 300);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(tcp_states_with_a_peer_are_destinations)
{
	struct eph_model *t = tally_new(16);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	const unsigned peer_states[] = {
	    EPH_ST_ESTABLISHED,	 EPH_ST_SYN_SENT,  EPH_ST_SYN_RECV,
	    EPH_ST_FIN_WAIT1,	 EPH_ST_FIN_WAIT2, EPH_ST_TIME_WAIT,
	    EPH_ST_CLOSE_WAIT,	 EPH_ST_LAST_ACK,  EPH_ST_CLOSING,
	    EPH_ST_NEW_SYN_RECV,
	};
	const unsigned n = sizeof(peer_states) / sizeof(peer_states[0]);

	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned i = 0; i < n; i++)
		add4(t, peer_states[i], "10.0.0.1", 40000 + i, "192.0.2.1", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40050, "192.0.2.1", 80);
	eph_model_end(t, 5, st);

	ck_assert_uint_eq(st->destinations, 1);
	ck_assert_uint_eq(st->n_top, 1);
	ck_assert_uint_eq(st->top[0].sockets, n + 1);
	ck_assert_uint_eq(st->top[0].time_wait, 2);
	ck_assert_uint_eq(st->top[0].exhaustion_bp, (n + 1) * 100);
	ck_assert_uint_eq(st->listeners_in_range, 0);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- dest_cap --------------------------------------------------------------
 */

START_TEST(dest_cap_overflow)
{
	struct eph_model *t = tally_new(4);
	struct eph_range *r = range_new(20000, 60000);
	struct eph_proto_stats *st = stats_new();
	uint64_t tracked = 0;
	const struct eph_dest *d;

	eph_model_begin(t, EPH_TCP, r, NULL);
	/* The first destination, seen before the table fills. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 20000, "198.51.100.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 20001, "198.51.100.1", 80);
	/* 10000 more, one socket each (distinct remote address/port). */
	for (unsigned i = 0; i < 10000; i++) {
		char raddr[32];

		snprintf(raddr, sizeof(raddr), "192.0.%u.%u", 2 + i / 250,
			 1 + i % 250);
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 30000 + i, raddr,
		     1000 + i % 7);
	}
	/* The first destination again, after the table filled. */
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 20002, "198.51.100.1", 80);
	add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 20003, "198.51.100.1", 80);
	eph_model_end(t, EPH_TOP_MAX, st);

	/* Ports and sockets are exact regardless. */
	ck_assert_uint_eq(st->ports_in_use, 10004);
	ck_assert_uint_eq(st->sockets_in_range, 10004);
	ck_assert(st->dest_overflow);
	ck_assert_uint_ge(st->destinations, 4);
	ck_assert_uint_lt(st->destinations, 10001);
	ck_assert(st->has_worst);
	ck_assert_uint_gt(st->dest_untracked, 0);
	/* Tracked destinations keep counting after the table filled. */
	d = find_dest(st, AF_INET, "10.0.0.1", "198.51.100.1", 80);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->sockets, 4);
	ck_assert_uint_eq(d->time_wait, 1);
	assert_dest_eq(&st->worst, d);
	ck_assert_uint_eq(st->top[0].sockets, 4);
	/* Every other tracked destination has one socket, so the tracked
	 * sockets are 4 + (destinations - 1). */
	for (uint32_t i = 1; i < st->n_top; i++)
		ck_assert_uint_eq(st->top[i].sockets, 1);
	tracked = 4 + (st->destinations - 1);
	ck_assert_uint_eq(tracked + st->dest_untracked, 10004);
	if (st->destinations <= EPH_TOP_MAX) {
		uint64_t sum = 0;

		ck_assert_uint_eq(st->n_top, st->destinations);
		for (uint32_t i = 0; i < st->n_top; i++)
			sum += st->top[i].sockets;
		ck_assert_uint_eq(sum + st->dest_untracked, 10004);
	} else {
		ck_assert_uint_eq(st->n_top, EPH_TOP_MAX);
	}

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(dest_cap_exact_below_and_at_cap)
{
	struct eph_model *t = tally_new(4);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();
	const unsigned three[3] = {2, 2, 2};
	const unsigned four[4] = {1, 5, 2, 3};

	/* Fewer destinations than cap. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	add_counts(t, three, 3);
	eph_model_end(t, 5, st);
	ck_assert(!st->dest_overflow);
	ck_assert_uint_eq(st->dest_untracked, 0);
	ck_assert_uint_eq(st->destinations, 3);
	ck_assert_uint_eq(st->n_top, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(st->top[i].sockets, 2);

	/* Exactly cap destinations: all tracked. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	add_counts(t, four, 4);
	eph_model_end(t, 5, st);
	ck_assert(!st->dest_overflow);
	ck_assert_uint_eq(st->dest_untracked, 0);
	ck_assert_uint_eq(st->destinations, 4);
	ck_assert_uint_eq(st->n_top, 4);
	ck_assert_uint_eq(st->top[0].sockets, 5);
	ck_assert_uint_eq(st->top[1].sockets, 3);
	ck_assert_uint_eq(st->top[2].sockets, 2);
	ck_assert_uint_eq(st->top[3].sockets, 1);
	ck_assert_uint_eq(st->ports_in_use, 11);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

START_TEST(dest_cap_large_no_overflow)
{
	struct eph_model *t = tally_new(EPH_DEST_CAP_DEFAULT);
	struct eph_range *r = range_new(1024, 65535);
	struct eph_proto_stats *st = stats_new();

	eph_model_begin(t, EPH_UDP, r, NULL);
	/* 20000 destinations; the first one gets a second socket. */
	for (unsigned i = 0; i < 20000; i++) {
		char raddr[32];

		snprintf(raddr, sizeof(raddr), "10.%u.%u.%u", i >> 16,
			 (i >> 8) & 255, i & 255);
		add4(t, EPH_ST_ESTABLISHED, "10.255.0.1", 2000 + i, raddr, 53);
	}
	add4(t, EPH_ST_ESTABLISHED, "10.255.0.1", 30000, "10.0.0.0", 53);
	eph_model_end(t, 5, st);

	ck_assert(!st->dest_overflow);
	ck_assert_uint_eq(st->dest_untracked, 0);
	ck_assert_uint_eq(st->destinations, 20000);
	ck_assert_uint_eq(st->n_top, 5);
	ck_assert_uint_eq(st->top[0].sockets, 2);
	ck_assert_uint_eq(st->top[1].sockets, 1);
	ck_assert_uint_eq(st->ports_in_use, 20001);
	ck_assert_uint_eq(st->usable, 64512);
	ck_assert_uint_eq(st->host_exhaustion_bp, 3100); /* 20001/64512 */
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 0);
	ck_assert_uint_eq(st->exhaustion_bp, 3100);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- reuse ------------------------------------------------------------------
 */

START_TEST(reuse_independent)
{
	struct eph_model *t = tally_new(4);
	struct eph_range *r1 = range_new(40000, 40099);
	struct eph_range *r2 = range_new(50000, 50009);
	struct eph_proto_stats *st = stats_new();

	reserve(r1, 40000, 40004);

	/* First: TCP, 1000 destinations overflowing the table, a listener,
	 * TIME_WAIT. */
	eph_model_begin(t, EPH_TCP, r1, NULL);
	for (unsigned i = 0; i < 1000; i++) {
		char raddr[32];

		snprintf(raddr, sizeof(raddr), "192.0.2.%u", 1 + i % 250);
		add4(t, EPH_ST_TIME_WAIT, "10.0.0.1", 40010 + i % 80, raddr,
		     80 + i / 250);
	}
	add4(t, EPH_ST_LISTEN, "0.0.0.0", 40090, "0.0.0.0", 0);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40010, "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert(st->dest_overflow);
	ck_assert_uint_eq(st->usable, 95);
	ck_assert_uint_eq(st->ports_in_use, 81);
	ck_assert_uint_eq(st->listeners_in_range, 1);
	ck_assert_uint_eq(st->time_wait, 1000);
	ck_assert_uint_eq(st->sockets_total, 1002);

	/* Second: UDP, another range, few sockets; one destination that
	 * also existed in the first collection. */
	eph_model_begin(t, EPH_UDP, r2, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 50001, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 50002, "192.0.2.9", 53);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40010, "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->low, 50000);
	ck_assert_uint_eq(st->high, 50009);
	ck_assert_uint_eq(st->size, 10);
	ck_assert_uint_eq(st->reserved, 0);
	ck_assert_uint_eq(st->usable, 10);
	ck_assert_uint_eq(st->ports_in_use, 2);
	ck_assert_uint_eq(st->ports_free, 8);
	ck_assert_uint_eq(st->sockets_in_range, 2);
	ck_assert_uint_eq(st->sockets_total, 3);
	ck_assert_uint_eq(st->time_wait, 0);
	ck_assert_uint_eq(st->time_wait_total, 0);
	ck_assert_uint_eq(st->state_total[EPH_ST_TIME_WAIT], 0);
	ck_assert_uint_eq(st->state_total[EPH_ST_LISTEN], 0);
	ck_assert_uint_eq(st->listeners_in_range, 0);
	ck_assert_uint_eq(st->n_listeners, 0);
	ck_assert(!st->dest_overflow);
	ck_assert_uint_eq(st->dest_untracked, 0);
	ck_assert_uint_eq(st->destinations, 2);
	ck_assert_uint_eq(st->n_top, 2);
	ck_assert_uint_eq(st->top[0].sockets, 1);
	ck_assert_uint_eq(st->top[0].time_wait, 0);
	ck_assert_uint_eq(st->top[1].sockets, 1);
	ck_assert_uint_eq(st->top[1].time_wait, 0);
	ck_assert_uint_eq(st->host_exhaustion_bp, 2000);
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 1000);
	ck_assert_uint_eq(st->exhaustion_bp, 2000);

	/* Third: the first again gives the same numbers as the first. */
	eph_model_begin(t, EPH_TCP, r1, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40010, "192.0.2.1", 80);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40011, "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->destinations, 1);
	ck_assert_uint_eq(st->top[0].sockets, 2);
	ck_assert_uint_eq(st->top[0].time_wait, 0);
	ck_assert_uint_eq(st->ports_in_use, 2);
	ck_assert_uint_eq(st->host_exhaustion_bp, 210); /* 2/95 */

	free(st);
	free(r1);
	free(r2);
	eph_model_free(t);
}
END_TEST

START_TEST(range_is_copied)
{
	struct eph_model *t = tally_new(4);
	struct eph_range *r = range_new(40000, 40099);
	struct eph_proto_stats *st = stats_new();

	eph_model_begin(t, EPH_TCP, r, NULL);
	/* Changing the caller's range after begin has no effect. */
	r->low = 1;
	r->high = 2;
	reserve(r, 40000, 40099);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40001, "192.0.2.1", 80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->low, 40000);
	ck_assert_uint_eq(st->high, 40099);
	ck_assert_uint_eq(st->usable, 100);
	ck_assert_uint_eq(st->ports_in_use, 1);

	free(st);
	free(r);
	eph_model_free(t);
}
END_TEST

/* ---- the model: pressures that predict the kernel ---------------------- */

/* One collection of TCP over [low, high] with knobs k (NULL: defaults). */
static struct eph_model *begin_tcp(struct eph_range *r,
				   const struct eph_knobs *k)
{
	struct eph_model *t = tally_new(64);

	eph_model_begin(t, EPH_TCP, r, k);
	return t;
}

static struct eph_sock tw_sock(const char *laddr, unsigned lport,
			       const char *raddr, unsigned rport,
			       uint32_t expires_ms)
{
	struct eph_sock s =
	    mk(AF_INET, EPH_ST_TIME_WAIT, laddr, lport, raddr, rport);

	s.expires_ms = expires_ms;
	return s;
}

/* The first model's false alarm: 7 per destination to 3 destinations on
 * 10 ports.  connect() shares ports across destinations, so each is at
 * 70 %; every port is held, so bind(0) is at 100 %: the headline says
 * bind, and a connect alarm stays quiet. */
START_TEST(model_proxy_backends)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_model *t = begin_tcp(r, NULL);
	struct eph_proto_stats *st = stats_new();
	const struct eph_dest *d;

	for (unsigned b = 0; b < 3; b++)
		for (unsigned i = 0; i < 7; i++)
			add4(t, EPH_ST_ESTABLISHED, "10.0.0.1",
			     40000 + (i + 3 * b) % 10, "10.0.1.1", 8001 + b);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->ports_in_use, 10);
	ck_assert_uint_eq(st->bind_bp, 10000);
	ck_assert_uint_eq(st->bind_owned, 0);
	ck_assert_uint_eq(st->connect_new_bp, 0);
	ck_assert_uint_eq(st->connect_bp, 7000);
	ck_assert(st->has_worst);
	ck_assert_uint_eq(st->worst.blocked, 7);
	ck_assert_uint_eq(st->pressure_bp, 10000);
	ck_assert_int_eq(st->pressure_kind, EPH_KIND_BIND);
	ck_assert(!st->owners_exact); /* netlink cannot see bind() */
	d = find_dest(st, AF_INET, "10.0.0.1", "10.0.1.1", 8002);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->connect_bp, 7000);
	ck_assert_uint_eq(d->sockets, 7);
	ck_assert_uint_eq(eph_alarm_value(st, EPH_KIND_CONNECT), 7000);
	ck_assert_uint_eq(eph_alarm_value(st, EPH_KIND_BIND), 10000);
	ck_assert_uint_eq(eph_alarm_value(st, 0), 10000);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* One destination on every port: connect and bind both fail; the
 * headline names connect and its destination. */
START_TEST(model_one_destination_full)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_model *t = begin_tcp(r, NULL);
	struct eph_proto_stats *st = stats_new();

	for (unsigned i = 0; i < 9; i++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000 + i, "10.0.1.1",
		     443);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->connect_bp, 9000);
	ck_assert_uint_eq(st->bind_bp, 9000);
	ck_assert_int_eq(st->pressure_kind, EPH_KIND_CONNECT);
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned i = 0; i < 10; i++)
		add4(t, EPH_ST_SYN_SENT, "10.0.0.1", 40000 + i, "10.0.1.1",
		     443);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->connect_bp, 10000);
	ck_assert_uint_eq(st->pressure_bp, 10000);
	ck_assert_int_eq(st->pressure_kind, EPH_KIND_CONNECT);
	ck_assert_uint_eq(st->worst.rport, 443);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* Listeners and bound-only sockets own their ports: lost to connect() for
 * every destination; accepted sockets on a listener's port are nobody's
 * destination. */
START_TEST(model_bind_owned_known)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_model *t = begin_tcp(r, NULL);
	struct eph_proto_stats *st = stats_new();

	add4(t, EPH_ST_LISTEN, "0.0.0.0", 40003, "0.0.0.0", 0);
	add4(t, EPH_ST_BOUND, "10.0.0.1", 40004, "0.0.0.0", 0);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40003, "10.0.2.2", 51000);
	for (unsigned i = 0; i < 3; i++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40005 + i, "10.0.1.1",
		     80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->bind_owned, 2);
	ck_assert_uint_eq(st->connect_new_bp, 2000);
	ck_assert_uint_eq(st->destinations, 1);
	ck_assert_uint_eq(st->worst.blocked, 5);
	ck_assert_uint_eq(st->connect_bp, 5000);
	ck_assert_uint_eq(st->bind_bp, 5000);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* Bind-before-connect: with a source that sees ownership (BPF), every
 * such port is lost to every destination; the model is exact.  Without
 * it, owners_exact says the connect numbers are lower bounds. */
START_TEST(model_bind_before_connect)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_model *t = begin_tcp(r, NULL);
	struct eph_proto_stats *st = stats_new();

	for (unsigned i = 0; i < 10; i++) {
		struct eph_sock s = mk(AF_INET, EPH_ST_ESTABLISHED, "10.0.0.1",
				       40000 + i, "10.0.1.1", 443);

		s.owner = EPH_OWNER_BIND;
		eph_model_add(t, &s);
	}
	eph_model_end(t, 5, st);
	ck_assert(st->owners_exact);
	ck_assert_uint_eq(st->bind_owned, 10);
	ck_assert_uint_eq(st->connect_new_bp, 10000);
	ck_assert_uint_eq(st->connect_bp, 10000);
	/* Its own sockets are on bind-owned ports: not counted twice. */
	ck_assert_uint_eq(st->worst.blocked, 10);

	/* IP_BIND_ADDRESS_NO_PORT: connect() picked the port. */
	eph_model_begin(t, EPH_TCP, r, NULL);
	for (unsigned i = 0; i < 10; i++) {
		struct eph_sock s = mk(AF_INET, EPH_ST_ESTABLISHED, "10.0.0.1",
				       40000 + i, "10.0.1.1", 443);

		s.owner = EPH_OWNER_CONNECT;
		eph_model_add(t, &s);
	}
	eph_model_end(t, 5, st);
	ck_assert(st->owners_exact);
	ck_assert_uint_eq(st->bind_owned, 0);
	ck_assert_uint_eq(st->connect_new_bp, 0);
	ck_assert_uint_eq(st->connect_bp, 10000);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* TIME_WAIT under each tcp_tw_reuse: 0 never reusable, 1 when old enough,
 * 2 only with a loopback address; tcp_timestamps 0 forbids reuse. */
START_TEST(model_time_wait_reuse)
{
	struct eph_knobs k;
	struct eph_sock old_lo =
	    tw_sock("127.0.0.1", 40000, "127.0.0.1", 80, 30000);
	struct eph_sock young_lo =
	    tw_sock("127.0.0.1", 40001, "127.0.0.1", 80, 59500);
	struct eph_sock old_net =
	    tw_sock("10.0.0.1", 40002, "10.0.1.1", 80, 30000);
	struct eph_sock unknown_age =
	    tw_sock("10.0.0.1", 40003, "10.0.1.1", 80, 0);
	struct eph_sock lo_src =
	    tw_sock("127.0.0.5", 40004, "10.0.1.1", 80, 30000);

	eph_knobs_default(&k);
	ck_assert_uint_eq(k.tw_reuse, 2);
	ck_assert_uint_eq(k.tw_reuse_delay_ms, 1000);
	ck_assert(eph_tw_reusable(&k, &old_lo));
	ck_assert(!eph_tw_reusable(&k, &young_lo));
	ck_assert(!eph_tw_reusable(&k, &old_net));
	ck_assert(eph_tw_reusable(&k, &lo_src));
	k.tw_reuse = 1;
	ck_assert(eph_tw_reusable(&k, &old_net));
	ck_assert(eph_tw_reusable(&k, &unknown_age));
	ck_assert(!eph_tw_reusable(&k, &young_lo));
	k.tw_reuse_delay_ms = 40000; /* 30 s old is not old enough */
	ck_assert(!eph_tw_reusable(&k, &old_net));
	k.tw_reuse_delay_ms = 1000;
	k.timestamps = 0;
	ck_assert(!eph_tw_reusable(&k, &old_net));
	k.timestamps = 1;
	k.tw_reuse = 0;
	ck_assert(!eph_tw_reusable(&k, &old_lo));
}
END_TEST

/* TIME_WAIT in the model: a reusable one leaves its destination's
 * connect pressure, never bind pressure. */
START_TEST(model_time_wait_pressures)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_knobs k;
	struct eph_model *t;
	struct eph_proto_stats *st = stats_new();

	for (unsigned reuse = 0; reuse <= 2; reuse++) {
		eph_knobs_default(&k);
		k.tw_reuse = (uint8_t)reuse;
		t = begin_tcp(r, &k);
		for (unsigned i = 0; i < 10; i++) {
			struct eph_sock s = tw_sock("127.0.0.1", 40000 + i,
						    "127.0.0.1", 8001, 50000);

			eph_model_add(t, &s);
		}
		for (unsigned i = 0; i < 4; i++) {
			struct eph_sock s = tw_sock("10.0.0.1", 40000 + i,
						    "10.0.1.1", 8001, 50000);

			eph_model_add(t, &s);
		}
		eph_model_end(t, 5, st);
		ck_assert_uint_eq(st->bind_bp, 10000);
		ck_assert_uint_eq(st->time_wait, 14);
		ck_assert_uint_eq(st->time_wait_reusable, reuse == 0   ? 0
							  : reuse == 1 ? 14
								       : 10);
		ck_assert_uint_eq(st->connect_bp, reuse == 0   ? 10000
						  : reuse == 1 ? 0
							       : 4000);
		if (reuse == 2) {
			const struct eph_dest *lo = find_dest(
			    st, AF_INET, "127.0.0.1", "127.0.0.1", 8001);

			ck_assert_ptr_nonnull(lo);
			ck_assert_uint_eq(lo->tw_reusable, 10);
			ck_assert_uint_eq(lo->connect_bp, 0);
			ck_assert_uint_eq(st->worst.rport, 8001);
			ck_assert_uint_eq(st->worst.raddr.bytes[0], 10);
		}
		eph_model_free(t);
	}
	free(st);
	free(r);
}
END_TEST

/* IPv6 sources: their own destinations; ports are shared with IPv4 (one
 * bind table per protocol). */
START_TEST(model_ipv6_sources)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_model *t = begin_tcp(r, NULL);
	struct eph_proto_stats *st = stats_new();
	const struct eph_dest *d;

	for (unsigned i = 0; i < 6; i++)
		add6(t, EPH_ST_ESTABLISHED, "2001:db8::1", 40000 + i,
		     "2001:db8::80", 443);
	for (unsigned i = 0; i < 4; i++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000 + i, "10.0.1.1",
		     443);
	add6(t, EPH_ST_LISTEN, "::", 40009, "::", 0);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->ports_in_use, 7);
	ck_assert_uint_eq(st->bind_owned, 1);
	d = find_dest(st, AF_INET6, "2001:db8::1", "2001:db8::80", 443);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->connect_bp, 7000);
	ck_assert_uint_eq(st->connect_bp, 7000);
	d = find_dest(st, AF_INET, "10.0.0.1", "10.0.1.1", 443);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->connect_bp, 5000);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* A range of one port, and a range whose every port is reserved. */
START_TEST(model_tiny_ranges)
{
	struct eph_range *r = range_new(40000, 40000);
	struct eph_model *t = begin_tcp(r, NULL);
	struct eph_proto_stats *st = stats_new();

	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->usable, 1);
	ck_assert_uint_eq(st->pressure_bp, 0);
	eph_model_begin(t, EPH_TCP, r, NULL);
	add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000, "10.0.1.1", 443);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->connect_bp, 10000);
	ck_assert_uint_eq(st->connect_new_bp, 0);
	ck_assert_uint_eq(st->bind_bp, 10000);

	reserve(r, 40000, 40000);
	eph_model_begin(t, EPH_TCP, r, NULL);
	eph_model_end(t, 5, st);
	ck_assert(st->all_reserved);
	ck_assert_uint_eq(st->bind_bp, 10000);
	ck_assert_uint_eq(st->connect_new_bp, 10000);
	ck_assert_uint_eq(st->connect_bp, 10000);
	ck_assert_uint_eq(st->pressure_bp, 10000);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* UDP: autobind never shares (udp_lib_get_port()), so only bind pressure
 * applies; no connect numbers. */
START_TEST(model_udp_bind_only)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_model *t = tally_new(16);
	struct eph_proto_stats *st = stats_new();

	eph_model_begin(t, EPH_UDP, r, NULL);
	for (unsigned i = 0; i < 9; i++)
		add4(t, EPH_ST_ESTABLISHED, "127.0.0.1", 40000 + i, "127.0.0.1",
		     5353);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->bind_bp, 9000);
	ck_assert_uint_eq(st->connect_bp, 0);
	ck_assert_uint_eq(st->connect_new_bp, 0);
	ck_assert_uint_eq(st->worst.connect_bp, 0);
	ck_assert_int_eq(st->pressure_kind, EPH_KIND_BIND);
	ck_assert_uint_eq(st->pressure_bp, 9000);
	ck_assert(st->owners_exact);
	ck_assert(st->bind_exact);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* ip_autobind_reuse makes TCP bind pressure an upper bound. */
START_TEST(model_autobind_reuse_flag)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_knobs k;
	struct eph_model *t;
	struct eph_proto_stats *st = stats_new();

	eph_knobs_default(&k);
	k.autobind_reuse = 1;
	t = begin_tcp(r, &k);
	eph_model_end(t, 5, st);
	ck_assert(!st->bind_exact);
	eph_model_begin(t, EPH_TCP, r, NULL);
	eph_model_end(t, 5, st);
	ck_assert(st->bind_exact);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

/* Destinations are ranked by what blocks their next connect(). */
START_TEST(model_rank_by_connect_pressure)
{
	struct eph_range *r = range_new(40000, 40009);
	struct eph_knobs k;
	struct eph_model *t;
	struct eph_proto_stats *st = stats_new();

	eph_knobs_default(&k);
	k.tw_reuse = 1;
	t = begin_tcp(r, &k);
	/* A: 6 sockets, all reusable TIME_WAIT; B: 3 established. */
	for (unsigned i = 0; i < 6; i++) {
		struct eph_sock s =
		    tw_sock("10.0.0.1", 40000 + i, "10.0.1.1", 80, 20000);

		eph_model_add(t, &s);
	}
	for (unsigned i = 0; i < 3; i++)
		add4(t, EPH_ST_ESTABLISHED, "10.0.0.1", 40000 + i, "10.0.1.2",
		     80);
	eph_model_end(t, 5, st);
	ck_assert_uint_eq(st->n_top, 2);
	ck_assert_uint_eq(st->top[0].raddr.bytes[3], 2);
	ck_assert_uint_eq(st->top[0].connect_bp, 3000);
	ck_assert_uint_eq(st->top[1].connect_bp, 0);
	ck_assert_uint_eq(st->top[1].sockets, 6);
	/* The first model's number, still the busiest by sockets. */
	ck_assert_uint_eq(st->worst_dest_exhaustion_bp, 6000);
	eph_model_free(t);
	free(st);
	free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ratio_bp);
	tcase_add_test(tc, names);
	tcase_add_test(tc, addr_format);
	tcase_add_test(tc, empty_tally);
	tcase_add_test(tc, reserved_inside_and_outside);
	tcase_add_test(tc, range_bounds_inclusive);
	tcase_add_test(tc, ports_distinct_any_state_any_family);
	tcase_add_test(tc, reserved_ports_not_in_pool);
	tcase_add_test(tc, exhaustion_examples);
	tcase_add_test(tc, exhaustion_mix);
	tcase_add_test(tc, all_reserved);
	tcase_add_test(tc, states);
	tcase_add_test(tc, tcp_listeners);
	tcase_add_test(tc, udp_listeners_and_connected);
	tcase_add_test(tc, listeners_list_bounded);
	tcase_add_test(tc, port_reuse_two_destinations);
	tcase_add_test(tc, destination_key);
	tcase_add_test(tc, top_n_order_and_bounds);
	tcase_add_test(tc, top_ties);
	tcase_add_test(tc, tcp_states_with_a_peer_are_destinations);
	tcase_add_test(tc, dest_cap_overflow);
	tcase_add_test(tc, dest_cap_exact_below_and_at_cap);
	tcase_add_test(tc, dest_cap_large_no_overflow);
	tcase_add_test(tc, reuse_independent);
	tcase_add_test(tc, range_is_copied);
	tcase_add_test(tc, model_proxy_backends);
	tcase_add_test(tc, model_one_destination_full);
	tcase_add_test(tc, model_bind_owned_known);
	tcase_add_test(tc, model_bind_before_connect);
	tcase_add_test(tc, model_time_wait_reuse);
	tcase_add_test(tc, model_time_wait_pressures);
	tcase_add_test(tc, model_ipv6_sources);
	tcase_add_test(tc, model_tiny_ranges);
	tcase_add_test(tc, model_udp_bind_only);
	tcase_add_test(tc, model_autobind_reuse_flag);
	tcase_add_test(tc, model_rank_by_connect_pressure);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
