/* check_alarm - the hysteresis state machine on sequences of values. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "ephport.h"
#include "check_util.h"

/* Feed values, return the events as a string: R raised, C cleared, . none */
static const char *run(uint32_t rising, uint32_t falling, const uint32_t *v,
		       size_t n)
{
	static char out[64];
	struct eph_alarm a;

	ck_assert_int_eq(eph_alarm_init(&a, rising, falling), 0);
	for (size_t i = 0; i < n; i++) {
		enum eph_alarm_event e = eph_alarm_update(&a, v[i]);

		out[i] = e == EPH_ALARM_RAISED	  ? 'R'
			 : e == EPH_ALARM_CLEARED ? 'C'
						  : '.';
	}
	out[n] = '\0';
	return out;
}
#define RUN(r, f, ...)                                                         \
	run(r, f, (const uint32_t[]){__VA_ARGS__},                             \
	    sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

START_TEST(rise_stay_clear_rearm)
{
	/* below, at rising, staying high, dipping between, clearing, below,
	 * rising again */
	ck_assert_str_eq(RUN(8000, 7000, 5000, 8000, 9000, 10000, 7500, 8500,
			     7001, 7000, 6000, 7999, 8000),
			 ".R.....C..R");
}
END_TEST

START_TEST(no_flapping_between_thresholds)
{
	ck_assert_str_eq(RUN(8000, 7000, 8100, 7900, 8100, 7900, 7100, 8200),
			 "R.....");
	/* Just under the rising threshold never fires. */
	ck_assert_str_eq(RUN(8000, 7000, 7999, 7999, 0, 7999), "....");
}
END_TEST

START_TEST(starts_high)
{
	/* A first value above rising fires at once (RMON risingAlarm). */
	ck_assert_str_eq(RUN(8000, 7000, 10000, 0), "RC");
}
END_TEST

START_TEST(extremes)
{
	ck_assert_str_eq(RUN(10000, 0, 9999, 10000, 1, 0, 10000), ".R.CR");
	ck_assert_str_eq(RUN(1, 0, 0, 1, 0), ".RC");
}
END_TEST

START_TEST(invalid_thresholds)
{
	struct eph_alarm a;

	ck_assert_int_eq(eph_alarm_init(&a, 7000, 7000), -EINVAL);
	ck_assert_int_eq(eph_alarm_init(&a, 7000, 8000), -EINVAL);
	ck_assert_int_eq(eph_alarm_init(&a, 10001, 100), -EINVAL);
	ck_assert_int_eq(eph_alarm_init(&a, 0, 0), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alarm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rise_stay_clear_rearm);
	tcase_add_test(tc, no_flapping_between_thresholds);
	tcase_add_test(tc, starts_high);
	tcase_add_test(tc, extremes);
	tcase_add_test(tc, invalid_thresholds);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
