/* check_util.h - what every Check suite here shares. */
#ifndef EPH_CHECK_UTIL_H
#define EPH_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>

/* The fixtures directory: $EPH_FIXTURES (set by make check), else
 * tests/fixtures from the top of the tree. */
static inline const char *eph_fixtures_dir(void)
{
	const char *d = getenv("EPH_FIXTURES");

	return d && *d ? d : "tests/fixtures";
}

/* Run one suite; the exit status for main(). */
static inline int eph_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
