/* check_rate - net/snmp parsing, and the rate and trend math (rate.c) on
 * synthetic series: first sample, wrap, restart, flat, rising, noisy. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ephport.h"
#include "check_util.h"

static const char snmp[] =
    "Ip: Forwarding DefaultTTL InReceives\n"
    "Ip: 1 64 100\n"
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens "
    "AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs "
    "OutRsts InCsumErrors\n"
    "Tcp: 1 200 120000 -1 18446744073709551615 12 3 4 5 1000 1000 0 0 7 0\n"
    "Udp: InDatagrams NoPorts\n"
    "Udp: 1 2\n";

START_TEST(snmp_parse)
{
	struct eph_counters c;

	ck_assert_int_eq(eph_snmp_parse(snmp, strlen(snmp), &c), 0);
	ck_assert(c.read);
	ck_assert_uint_eq(c.tcp_active_opens, UINT64_MAX);
	ck_assert_uint_eq(c.tcp_passive_opens, 12);
	ck_assert_uint_eq(c.tcp_attempt_fails, 3);
	ck_assert_uint_eq(c.tcp_estab_resets, 4);
	ck_assert_uint_eq(c.tcp_curr_estab, 5);
}
END_TEST

START_TEST(snmp_reordered_and_bad)
{
	static const char moved[] = "Tcp: PassiveOpens ActiveOpens\n"
				    "Tcp: 1 2";
	static const char *const bad[] = {
	    "",
	    "Tcp: ActiveOpens\n",			     /* no values */
	    "Tcp: ActiveOpens\nTcp: x\n",		     /* not a number */
	    "Tcp: ActiveOpens\nTcp: -1\n",		     /* negative */
	    "Tcp: ActiveOpens\nTcp: 99999999999999999999\n", /* > 2^64 */
	    "Tcp: PassiveOpens\nTcp: 1\n",	       /* no ActiveOpens */
	    "Tcp: ActiveOpens PassiveOpens\nTcp: 1\n", /* fewer values */
	    "TcpExt: ActiveOpens\nTcpExt: 1\n",
	};
	struct eph_counters c = {.tcp_active_opens = 42};

	ck_assert_int_eq(eph_snmp_parse(moved, strlen(moved), &c), 0);
	ck_assert_uint_eq(c.tcp_active_opens, 2);
	ck_assert_uint_eq(c.tcp_passive_opens, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.tcp_active_opens = 42;
		ck_assert_int_eq(eph_snmp_parse(bad[i], strlen(bad[i]), &c),
				 -EBADMSG);
		ck_assert_uint_eq(c.tcp_active_opens, 42);
	}
}
END_TEST

/* A TCP snapshot: opens so far, usable ports, one loopback destination
 * with tw TIME_WAIT and est other sockets; pressure = blocked / usable. */
static struct eph_snapshot snap(uint64_t opens, uint32_t usable, uint32_t tw,
				uint32_t est, uint8_t tw_reuse)
{
	struct eph_snapshot s;
	struct eph_proto_stats *p = &s.proto[EPH_TCP];

	memset(&s, 0, sizeof(s));
	s.protocols = 1u << EPH_TCP;
	eph_knobs_default(&s.knobs);
	s.knobs.tw_reuse = tw_reuse;
	s.netns_inode = 4026531840u;
	s.counters.read = true;
	s.counters.tcp_active_opens = opens;
	p->collected = true;
	p->usable = usable;
	p->ports_in_use = tw + est;
	p->has_worst = true;
	p->n_top = 1;
	p->worst.laddr.family = p->worst.raddr.family = AF_INET;
	p->worst.laddr.bytes[0] = p->worst.raddr.bytes[0] = 127;
	p->worst.laddr.bytes[3] = p->worst.raddr.bytes[3] = 1;
	p->worst.rport = 5000;
	p->worst.sockets = tw + est;
	p->worst.time_wait = tw;
	p->worst.blocked = tw + est;
	p->worst.connect_bp = eph_ratio_bp(tw + est, usable);
	p->connect_bp = p->pressure_bp = p->worst.connect_bp;
	p->bind_bp = eph_ratio_bp(tw + est, usable);
	p->pressure_kind = EPH_KIND_CONNECT;
	p->top[0] = p->worst;
	return s;
}

#define SEC 1000000LL

START_TEST(first_sample)
{
	struct eph_rate r;
	struct eph_rate_result o;
	struct eph_snapshot s = snap(100, 1000, 10, 5, 0);

	ck_assert_int_eq(eph_rate_init(&r, 0), 0);
	ck_assert_int_eq(eph_rate_compute(&r, &o), -ENODATA);
	ck_assert_int_eq(eph_rate_add(&r, &s, 1 * SEC), 0);
	ck_assert_int_eq(eph_rate_compute(&r, &o), 0);
	ck_assert(o.proto[EPH_TCP].collected);
	ck_assert(!o.proto[EPH_UDP].collected);
	ck_assert_int_eq(o.proto[EPH_TCP].open_status, EPH_RATE_FIRST);
	ck_assert(!o.proto[EPH_TCP].has_headroom);
	ck_assert_int_eq(o.proto[EPH_TCP].pressure.status, EPH_TREND_UNKNOWN);
	/* Sustainable from one sample: (1000 - 5 held) / 60 s. */
	ck_assert(o.proto[EPH_TCP].tw_bound);
	ck_assert_uint_eq(o.proto[EPH_TCP].sustainable_ports, 995);
	ck_assert_double_eq_tol(o.proto[EPH_TCP].sustainable_rate, 995 / 60.0,
				1e-9);
	/* Time must advance. */
	ck_assert_int_eq(eph_rate_add(&r, &s, 1 * SEC), -EINVAL);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_int_eq(eph_rate_init(&r, EPH_RATE_WINDOW_MS_MAX + 1),
			 -EINVAL);
}
END_TEST

START_TEST(wrap)
{
	struct eph_rate r;
	struct eph_rate_result o;
	struct eph_snapshot s = snap(UINT64_MAX - 4, 1000, 0, 0, 0);

	eph_rate_init(&r, 0);
	ck_assert_int_eq(eph_rate_add(&r, &s, 0), 0);
	s.counters.tcp_active_opens = 5; /* +10 through 2^64 */
	ck_assert_int_eq(eph_rate_add(&r, &s, 2 * SEC), 0);
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].open_status, EPH_RATE_OK);
	ck_assert_double_eq_tol(o.proto[EPH_TCP].open_rate, 5.0, 1e-9);
}
END_TEST

START_TEST(restart)
{
	struct eph_rate r;
	struct eph_rate_result o;
	struct eph_snapshot s = snap(1000, 1000, 0, 0, 0);

	eph_rate_init(&r, 0);
	eph_rate_add(&r, &s, 0);
	s.counters.tcp_active_opens = 1100;
	eph_rate_add(&r, &s, 1 * SEC);
	s.counters.tcp_active_opens = 7; /* the namespace was made anew */
	ck_assert_int_eq(eph_rate_add(&r, &s, 2 * SEC), 1);
	ck_assert_uint_eq(r.count, 1);
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].open_status, EPH_RATE_RESTART);
	s.counters.tcp_active_opens = 17;
	ck_assert_int_eq(eph_rate_add(&r, &s, 3 * SEC), 0);
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].open_status, EPH_RATE_OK);
	ck_assert_double_eq_tol(o.proto[EPH_TCP].open_rate, 10.0, 1e-9);
	/* Another namespace is a restart too. */
	s.netns_inode++;
	ck_assert_int_eq(eph_rate_add(&r, &s, 4 * SEC), 1);
	/* Counters lost: no rate, no reset. */
	s.counters.read = false;
	ck_assert_int_eq(eph_rate_add(&r, &s, 5 * SEC), 0);
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].open_status, EPH_RATE_NO_COUNTER);
}
END_TEST

START_TEST(flat)
{
	struct eph_rate r;
	struct eph_rate_result o;

	eph_rate_init(&r, 0);
	for (int i = 0; i < 20; i++) {
		struct eph_snapshot s = snap(500, 1000, 300, 10, 0);

		eph_rate_add(&r, &s, i * SEC / 2);
	}
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].open_status, EPH_RATE_OK);
	ck_assert_double_eq_tol(o.proto[EPH_TCP].open_rate, 0, 1e-12);
	ck_assert(!o.proto[EPH_TCP].has_headroom);
	ck_assert_int_eq(o.proto[EPH_TCP].pressure.status,
			 EPH_TREND_NOT_APPROACHING);
	ck_assert_int_eq(o.proto[EPH_TCP].worst_blocked.status,
			 EPH_TREND_NOT_APPROACHING);
}
END_TEST

/* 10 opens/s, each leaving a TIME_WAIT: 1000 usable, 10 long-lived. */
START_TEST(rising)
{
	struct eph_rate r;
	struct eph_rate_result o;
	const struct eph_rate_proto *t = &o.proto[EPH_TCP];

	eph_rate_init(&r, 0);
	for (int i = 0; i <= 100; i++) { /* 50 s, every 0.5 s */
		struct eph_snapshot s =
		    snap(1000 + 5 * (uint64_t)i, 1000, 5 * (uint32_t)i, 10, 0);

		eph_rate_add(&r, &s, i * SEC / 2);
	}
	eph_rate_compute(&r, &o);
	/* The window: the last 30 s, 61 samples (ring of 64). */
	ck_assert_uint_eq(o.samples, 61);
	ck_assert_double_eq_tol(o.measured_s, 30.0, 1e-9);
	ck_assert_double_eq_tol(t->open_rate, 10.0, 1e-9);
	ck_assert(t->tw_bound);
	ck_assert_uint_eq(t->sustainable_ports, 990);
	ck_assert_double_eq_tol(t->sustainable_rate, 16.5, 1e-9);
	ck_assert(t->has_headroom);
	ck_assert_double_eq_tol(t->headroom, 1.65, 1e-9);
	/* 510 blocked now, +10/s: 49 s left. */
	ck_assert_int_eq(t->worst_blocked.status, EPH_TREND_APPROACHING);
	ck_assert_double_eq_tol(t->worst_blocked.slope, 10.0, 1e-9);
	ck_assert_double_eq_tol(t->worst_blocked.seconds, 49.0, 1e-6);
	/* Pressure in bp (rounded down): about 49 s too. */
	ck_assert_int_eq(t->pressure.status, EPH_TREND_APPROACHING);
	ck_assert_double_eq_tol(t->pressure.seconds, 49.0, 0.1);
	/* tw_reuse 2 on loopback: not TIME_WAIT bound. */
	{
		struct eph_snapshot s = snap(2000, 1000, 0, 10, 2);

		eph_rate_add(&r, &s, 51 * SEC);
		eph_rate_compute(&r, &o);
		ck_assert(!t->tw_bound);
		ck_assert(!t->has_headroom);
	}
}
END_TEST

/* Noise around flat is not approaching; noise around a rise is. */
START_TEST(noisy)
{
	static const int noise[] = {7, -5, 3, -8, 6, -2, 0, 5, -7, 4};
	struct eph_rate r;
	struct eph_rate_result o;

	eph_rate_init(&r, 10000);
	for (int i = 0; i < 20; i++) {
		struct eph_snapshot s =
		    snap(0, 1000, (uint32_t)(200 + noise[i % 10]), 0, 0);

		eph_rate_add(&r, &s, i * SEC / 2);
	}
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].worst_blocked.status,
			 EPH_TREND_NOT_APPROACHING);
	ck_assert_int_eq(o.proto[EPH_TCP].pressure.status,
			 EPH_TREND_NOT_APPROACHING);
	eph_rate_init(&r, 10000);
	for (int i = 0; i < 20; i++) {
		struct eph_snapshot s = snap(
		    0, 1000, (uint32_t)(200 + 10 * i + noise[i % 10]), 0, 0);

		eph_rate_add(&r, &s, i * SEC / 2);
	}
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].worst_blocked.status,
			 EPH_TREND_APPROACHING);
	/* ~390 now, +20/s: ~30 s. */
	ck_assert_double_eq_tol(o.proto[EPH_TCP].worst_blocked.seconds, 30.5,
				1.5);
	ck_assert(o.proto[EPH_TCP].worst_blocked.slope_se > 0);
}
END_TEST

START_TEST(exhausted_and_udp)
{
	struct eph_rate r;
	struct eph_rate_result o;
	struct eph_snapshot s = snap(0, 100, 100, 0, 0);

	s.protocols |= 1u << EPH_UDP;
	s.proto[EPH_UDP].collected = true;
	s.proto[EPH_UDP].usable = 100;
	eph_rate_init(&r, 0);
	eph_rate_add(&r, &s, 0);
	eph_rate_compute(&r, &o);
	ck_assert_int_eq(o.proto[EPH_TCP].pressure.status, EPH_TREND_EXHAUSTED);
	ck_assert_int_eq(o.proto[EPH_TCP].worst_blocked.status,
			 EPH_TREND_EXHAUSTED);
	ck_assert_int_eq(o.proto[EPH_UDP].open_status, EPH_RATE_NO_COUNTER);
	ck_assert(!o.proto[EPH_UDP].tw_bound);
	ck_assert_str_eq(eph_trend_status_name(EPH_TREND_NOT_APPROACHING),
			 "not approaching");
	ck_assert_str_eq(eph_rate_status_name(EPH_RATE_FIRST), "first sample");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rate");
	TCase *tc = tcase_create("rate");

	tcase_add_test(tc, snmp_parse);
	tcase_add_test(tc, snmp_reordered_and_bad);
	tcase_add_test(tc, first_sample);
	tcase_add_test(tc, wrap);
	tcase_add_test(tc, restart);
	tcase_add_test(tc, flat);
	tcase_add_test(tc, rising);
	tcase_add_test(tc, noisy);
	tcase_add_test(tc, exhausted_and_udp);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
