/*
 * check_range - the configured range and the reserved ports (range.h):
 * eph_range_parse_pair, eph_reserved_parse, eph_reserved_count,
 * eph_range_read on stand-ins for /proc (tests/fixtures/proc-*), and
 * eph_read_file.  Written against the contracts in range.h.
 *
 * Every parser input is copied into a buffer of exactly its length (no
 * terminating NUL), so a parser that reads past len is caught by ASan.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "range.h"
#include "check_util.h"

/* ---- helpers ------------------------------------------------------------ */

static void fixture_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", eph_fixtures_dir(), name);

	ck_assert(n > 0 && (size_t)n < len);
}

/* A copy of s (len bytes) with no NUL after it. */
static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, len);
	return p;
}

static int pair_n(const char *s, size_t len, uint16_t *lo, uint16_t *hi)
{
	char *p = exact(s, len);
	int rc;

	*lo = 0xdead;
	*hi = 0xbeef;
	rc = eph_range_parse_pair(p, len, lo, hi);
	free(p);
	return rc;
}

static int pair(const char *s, uint16_t *lo, uint16_t *hi)
{
	return pair_n(s, strlen(s), lo, hi);
}

static unsigned popcount_bm(const uint8_t *bm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < EPH_BITMAP_BYTES; i++)
		n += (unsigned)__builtin_popcount(bm[i]);
	return n;
}

static int bm_all_zero(const uint8_t *bm)
{
	for (unsigned i = 0; i < EPH_BITMAP_BYTES; i++)
		if (bm[i])
			return 0;
	return 1;
}

/* Parse s into bm (pre-filled with junk so "cleared first" is checked). */
static int reserved_n(const char *s, size_t len, uint8_t *bm)
{
	char *p = exact(s, len);
	int rc;

	memset(bm, 0xA5, EPH_BITMAP_BYTES);
	rc = eph_reserved_parse(p, len, bm);
	free(p);
	return rc;
}

static int reserved(const char *s, uint8_t *bm)
{
	return reserved_n(s, strlen(s), bm);
}

/* Exactly the ports [a, b] (and nothing else) are set. */
static void assert_only_range(const uint8_t *bm, unsigned a, unsigned b)
{
	ck_assert_uint_eq(popcount_bm(bm), b - a + 1);
	for (unsigned p = a; p <= b; p++)
		ck_assert_msg(eph_bit_test(bm, p), "port %u not set", p);
	if (a > 0)
		ck_assert(!eph_bit_test(bm, a - 1));
	if (b < 65535)
		ck_assert(!eph_bit_test(bm, b + 1));
}

/* ---- eph_range_parse_pair: valid ---------------------------------------- */

START_TEST(pair_kernel_format_tab)
{
	uint16_t lo, hi;

	ck_assert_int_eq(pair("32768\t60999\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 32768);
	ck_assert_uint_eq(hi, 60999);
}
END_TEST

START_TEST(pair_spaces)
{
	uint16_t lo, hi;

	ck_assert_int_eq(pair("32768 60999\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 32768);
	ck_assert_uint_eq(hi, 60999);

	ck_assert_int_eq(pair("1024   2048\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1024);
	ck_assert_uint_eq(hi, 2048);

	ck_assert_int_eq(pair("1025 \t 2049\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1025);
	ck_assert_uint_eq(hi, 2049);
}
END_TEST

START_TEST(pair_no_newline)
{
	uint16_t lo, hi;

	ck_assert_int_eq(pair("40000 40099", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 40000);
	ck_assert_uint_eq(hi, 40099);
}
END_TEST

START_TEST(pair_single_port_and_bounds)
{
	uint16_t lo, hi;

	ck_assert_int_eq(pair("5 5", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 5);
	ck_assert_uint_eq(hi, 5);

	ck_assert_int_eq(pair("1 65535\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 65535);

	ck_assert_int_eq(pair("65535\t65535\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 65535);
	ck_assert_uint_eq(hi, 65535);

	ck_assert_int_eq(pair("1 1\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 1);
}
END_TEST

/* Only len bytes count: what follows them is not part of the input. */
START_TEST(pair_respects_len)
{
	uint16_t lo, hi;

	/* "5 5" of "5 5000" */
	ck_assert_int_eq(pair_n("5 5000", 3, &lo, &hi), 0);
	ck_assert_uint_eq(lo, 5);
	ck_assert_uint_eq(hi, 5);
	/* "40000 40099" of "40000 40099x\n" */
	ck_assert_int_eq(pair_n("40000 40099x\n", 11, &lo, &hi), 0);
	ck_assert_uint_eq(lo, 40000);
	ck_assert_uint_eq(hi, 40099);
	/* "40000" alone: one number */
	ck_assert_int_eq(pair_n("40000 40099", 5, &lo, &hi), -EINVAL);
	/* "40000 4": reversed */
	ck_assert_int_eq(pair_n("40000 40099", 7, &lo, &hi), -EINVAL);
}
END_TEST

/* ---- eph_range_parse_pair: invalid -------------------------------------- */

static const char *const bad_pairs[] = {
    "60999 32768", /* reversed */
    "60999\t32768\n",
    "40001 40000\n",
    "0 100", /* 0 is outside 1..65535 */
    "0 0\n",
    "1 65536", /* above 65535 */
    "65536 65536\n",
    "65535 70000\n",
    "forty thousand\n", /* garbage */
    "abc def\n",
    "40000 abc\n",
    "abc 40099\n",
    "0x9c40 0x9c63\n",
    "\n", /* empty line */
    " \t \n",
    "40000", /* one number */
    "40000\n",
    "40000 \n",
    "1 2 3", /* three numbers */
    "1 2 3\n",
    "40000 40099x", /* trailing garbage */
    "40000 40099 x\n",
    "40000 40099\nx",
    "40000 40099\n40100\n",
    "40000x 40099\n",
    "40000,40099\n",
    "40000-40099\n",
    "40000.5 40099\n",
    "99999999999999999999 40099\n", /* overflow */
    "40000 99999999999999999999\n",
    "99999999999999999999 99999999999999999999\n",
    "18446744073709591616 18446744073709591715\n", /* 2^64 + 40000 */
    "4295007296 4295007395\n", /* 2^32 + 40000: 32-bit wrap */
    "105536 105635\n",	       /* 65536 + 40000: 16-bit wrap */
    "-1 100\n",		       /* negative */
    "40000 -40099\n",
    "-40000 -39901\n",
    "-0 100\n",
    "40000 --40099\n",
};

START_TEST(pair_invalid)
{
	uint16_t lo, hi;
	const char *s = bad_pairs[_i];

	ck_assert_msg(pair(s, &lo, &hi) == -EINVAL,
		      "\"%s\" accepted as %u..%u or wrong errno", s, lo, hi);
}
END_TEST

START_TEST(pair_empty_buffer)
{
	uint16_t lo, hi;

	ck_assert_int_eq(pair_n("", 0, &lo, &hi), -EINVAL);
	/* A NUL inside the buffer is not whitespace. */
	ck_assert_int_eq(pair_n("40000\0 40099", 12, &lo, &hi), -EINVAL);
	ck_assert_int_eq(pair_n("40000 40099\0", 12, &lo, &hi), -EINVAL);
}
END_TEST

/*
 * Leading '+': the kernel never writes one and the contract ("not two
 * integers") does not settle it.  Either reject it, or accept it with
 * the right values; nothing else.
 */
START_TEST(pair_leading_plus)
{
	uint16_t lo, hi;
	int rc = pair("+40000 +40099\n", &lo, &hi);

	ck_assert(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		ck_assert_uint_eq(lo, 40000);
		ck_assert_uint_eq(hi, 40099);
	}
	/* Never a sign followed by nothing, or two signs. */
	ck_assert_int_eq(pair("+ 40099\n", &lo, &hi), -EINVAL);
	ck_assert_int_eq(pair("++40000 40099\n", &lo, &hi), -EINVAL);
	ck_assert_int_eq(pair("+-40000 40099\n", &lo, &hi), -EINVAL);
}
END_TEST

/* ---- eph_reserved_parse -------------------------------------------------- */

START_TEST(reserved_empty)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved_n("", 0, bm), 0);
	ck_assert(bm_all_zero(bm));
	ck_assert_int_eq(reserved("\n", bm), 0);
	ck_assert(bm_all_zero(bm));
}
END_TEST

START_TEST(reserved_single)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved("40050", bm), 0);
	assert_only_range(bm, 40050, 40050);
	ck_assert_int_eq(reserved("40050\n", bm), 0);
	assert_only_range(bm, 40050, 40050);
}
END_TEST

START_TEST(reserved_list)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved("1,2,3\n", bm), 0);
	assert_only_range(bm, 1, 3);

	ck_assert_int_eq(reserved("8080,443,22", bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 3);
	ck_assert(eph_bit_test(bm, 22));
	ck_assert(eph_bit_test(bm, 443));
	ck_assert(eph_bit_test(bm, 8080));
}
END_TEST

START_TEST(reserved_ranges)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved("40010-40019", bm), 0);
	assert_only_range(bm, 40010, 40019);

	ck_assert_int_eq(reserved("40010-40010\n", bm), 0);
	assert_only_range(bm, 40010, 40010);

	ck_assert_int_eq(reserved("40010-40014,40050,50000-50010\n", bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 5 + 1 + 11);
	for (unsigned p = 40010; p <= 40014; p++)
		ck_assert(eph_bit_test(bm, p));
	ck_assert(!eph_bit_test(bm, 40009));
	ck_assert(!eph_bit_test(bm, 40015));
	ck_assert(eph_bit_test(bm, 40050));
	for (unsigned p = 50000; p <= 50010; p++)
		ck_assert(eph_bit_test(bm, p));
	ck_assert(!eph_bit_test(bm, 49999));
	ck_assert(!eph_bit_test(bm, 50011));
}
END_TEST

/* Ranges that straddle the ephemeral range are kept whole in the bitmap
 * ("ports outside [low, high] may be set too"); counting clips them. */
START_TEST(reserved_partly_outside)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved("39990-40009,40095-40200\n", bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 20 + 106);
	ck_assert(eph_bit_test(bm, 39990));
	ck_assert(eph_bit_test(bm, 40200));
	ck_assert_uint_eq(eph_reserved_count(bm, 40000, 40099), 10 + 5);
}
END_TEST

START_TEST(reserved_extremes)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved("0", bm), 0);
	assert_only_range(bm, 0, 0);
	ck_assert_int_eq(reserved("65535\n", bm), 0);
	assert_only_range(bm, 65535, 65535);
	ck_assert_int_eq(reserved("0,65535", bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 2);
	ck_assert(eph_bit_test(bm, 0));
	ck_assert(eph_bit_test(bm, 65535));
	ck_assert_int_eq(reserved("65530-65535\n", bm), 0);
	assert_only_range(bm, 65530, 65535);
	ck_assert_int_eq(reserved("0-65535\n", bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 65536);
}
END_TEST

START_TEST(reserved_duplicates_overlaps)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved("5,5,3-7,6-10,10\n", bm), 0);
	assert_only_range(bm, 3, 10);
	ck_assert_int_eq(reserved("100-200,150-160,100-200,200\n", bm), 0);
	assert_only_range(bm, 100, 200);
}
END_TEST

/* A long list, built at run time: 2500 single ports (even ports from
 * 30000), 300 two-port ranges (from 40001, step 10) and a final range. */
START_TEST(reserved_long_list)
{
	size_t cap = 64 * 1024, n = 0;
	char *s = malloc(cap);
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_ptr_nonnull(s);
	for (unsigned i = 0; i < 2500; i++)
		n += (size_t)snprintf(s + n, cap - n, "%u,", 30000 + 2 * i);
	for (unsigned i = 0; i < 300; i++)
		n += (size_t)snprintf(s + n, cap - n, "%u-%u,", 40001 + 10 * i,
				      40002 + 10 * i);
	n += (size_t)snprintf(s + n, cap - n, "60000-60999\n");
	ck_assert_uint_gt(n, 16384);
	ck_assert_uint_lt(n, cap);

	ck_assert_int_eq(reserved_n(s, n, bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 2500 + 600 + 1000);
	for (unsigned p = 30000; p < 35000; p++)
		ck_assert_msg(!!eph_bit_test(bm, p) == (p % 2 == 0), "port %u",
			      p);
	for (unsigned p = 40000; p < 43000; p++) {
		unsigned r = (p - 40000) % 10;
		ck_assert_msg(!!eph_bit_test(bm, p) == (r == 1 || r == 2),
			      "port %u", p);
	}
	ck_assert_uint_eq(eph_reserved_count(bm, 60000, 60999), 1000);
	ck_assert_uint_eq(eph_reserved_count(bm, 40000, 40099), 20);

	/* Every port listed one by one (~380 KB). */
	cap = 512 * 1024;
	free(s);
	s = malloc(cap);
	ck_assert_ptr_nonnull(s);
	n = 0;
	for (unsigned p = 0; p <= 65535; p++)
		n += (size_t)snprintf(s + n, cap - n, p ? ",%u" : "%u", p);
	ck_assert_int_eq(reserved_n(s, n, bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 65536);
	free(s);
}
END_TEST

/* Issue 16, defect 7: the work is bounded by the port space, not by the
 * text.  A 456 KB list of "1-65535," (as long as eph_range_read accepts)
 * once cost 7 s of CPU per collection. */
START_TEST(reserved_cost_bounded)
{
	const char *item = "1-65535,";
	size_t cap = 456 * 1024, n = 0, len = strlen(item);
	char *s = malloc(cap);
	uint8_t bm[EPH_BITMAP_BYTES];
	struct timespec t0, t1;
	double secs;

	ck_assert_ptr_nonnull(s);
	while (n + len + 8 < cap) {
		memcpy(s + n, item, len);
		n += len;
	}
	n += (size_t)snprintf(s + n, cap - n, "0-3\n");
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	ck_assert_int_eq(reserved_n(s, n, bm), 0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_uint_eq(popcount_bm(bm), 65536);
	ck_assert_msg(secs < 0.5, "%zu bytes took %.2f s of CPU", n, secs);
	/* Overlapping and nested ranges in any order still mark exactly. */
	ck_assert_int_eq(
	    reserved_n("500-600,100-200,150-550,700,699-701\n", 36, bm), 0);
	ck_assert_uint_eq(popcount_bm(bm), 501 + 3);
	ck_assert(eph_bit_test(bm, 100) && eph_bit_test(bm, 600) &&
		  !eph_bit_test(bm, 99) && !eph_bit_test(bm, 601) &&
		  eph_bit_test(bm, 699) && eph_bit_test(bm, 701));
	free(s);
}
END_TEST

START_TEST(reserved_respects_len)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	/* "1,2" of "1,2,3" */
	ck_assert_int_eq(reserved_n("1,2,3", 3, bm), 0);
	assert_only_range(bm, 1, 2);
	/* "40010-40019" of "40010-40019x" */
	ck_assert_int_eq(reserved_n("40010-40019x", 11, bm), 0);
	assert_only_range(bm, 40010, 40019);
	/* "40010-4": reversed */
	ck_assert_int_eq(reserved_n("40010-40019", 7, bm), -EINVAL);
	ck_assert(bm_all_zero(bm));
	/* "40010-": no end */
	ck_assert_int_eq(reserved_n("40010-40019", 6, bm), -EINVAL);
	ck_assert(bm_all_zero(bm));
}
END_TEST

static const char *const bad_reserved[] = {
    "1,,2",
    ",1",
    "1,",
    "1,\n",
    ",",
    "a",
    "a\n",
    "1,a",
    "40010-40019,x\n",
    "1-",
    "1-\n",
    "-1",
    "-",
    "1--2",
    "1-2-3",
    "5-3",
    "40019-40010\n",
    "1-2,5-3,8",
    "65536",
    "65536\n",
    "1,65536",
    "65535-65536",
    "1-70000",
    "70000-70001",
    "99999999999999999999",
    "1,99999999999999999999\n",
    "18446744073709551617", /* 2^64 + 1 */
    "4294967297",	    /* 2^32 + 1: wraps to 1 in 32 bits */
    "65537",		    /* wraps to 1 in 16 bits */
    "1-4294967297",
    "1, 2",
    "1 ,2",
    " 1",
    "1 ",
    "1 \n",
    "1 -2",
    "1- 2",
    "1 2",
    "1\t2",
    "1;2",
    "1.5",
    "0x10",
    "1\n2",
    "\n1",
    "1\n,2",
    "-1-5",
    "--1",
};

START_TEST(reserved_invalid)
{
	const char *s = bad_reserved[_i];
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_msg(reserved(s, bm) == -EINVAL, "\"%s\" accepted", s);
	ck_assert_msg(bm_all_zero(bm), "\"%s\": bitmap not cleared", s);
}
END_TEST

START_TEST(reserved_invalid_nul)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved_n("1\0", 2, bm), -EINVAL);
	ck_assert(bm_all_zero(bm));
	ck_assert_int_eq(reserved_n("1,\0002", 4, bm), -EINVAL);
	ck_assert(bm_all_zero(bm));
}
END_TEST

/* The error path after valid entries (bits already set) clears them. */
START_TEST(reserved_error_after_valid_entries_clears)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	ck_assert_int_eq(reserved("0-65535,x", bm), -EINVAL);
	ck_assert(bm_all_zero(bm));
	ck_assert_int_eq(reserved("0-65535,65536", bm), -EINVAL);
	ck_assert(bm_all_zero(bm));
	ck_assert_int_eq(reserved("40010-40014,40050,50000-50010,\n", bm),
			 -EINVAL);
	ck_assert(bm_all_zero(bm));
}
END_TEST

/* ---- eph_reserved_count ------------------------------------------------- */

static void sample_bitmap(uint8_t *bm)
{
	memset(bm, 0, EPH_BITMAP_BYTES);
	for (unsigned p = 40010; p <= 40014; p++)
		eph_bit_set(bm, p);
	eph_bit_set(bm, 40050);
	for (unsigned p = 50000; p <= 50010; p++)
		eph_bit_set(bm, p);
}

START_TEST(count_inside)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	sample_bitmap(bm);
	ck_assert_uint_eq(eph_reserved_count(bm, 40000, 40099), 6);
	ck_assert_uint_eq(eph_reserved_count(bm, 40010, 40014), 5);
	ck_assert_uint_eq(eph_reserved_count(bm, 40050, 40050), 1);
	ck_assert_uint_eq(eph_reserved_count(bm, 40051, 40051), 0);
	ck_assert_uint_eq(eph_reserved_count(bm, 40015, 40049), 0);
	ck_assert_uint_eq(eph_reserved_count(bm, 1, 65535), 17);
	ck_assert_uint_eq(eph_reserved_count(bm, 0, 65535), 17);
	/* Inclusive bounds. */
	ck_assert_uint_eq(eph_reserved_count(bm, 40014, 40050), 2);
	ck_assert_uint_eq(eph_reserved_count(bm, 40011, 40013), 3);
}
END_TEST

START_TEST(count_partly_outside)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	sample_bitmap(bm);
	ck_assert_uint_eq(eph_reserved_count(bm, 40012, 40020), 3);
	ck_assert_uint_eq(eph_reserved_count(bm, 40000, 40011), 2);
	ck_assert_uint_eq(eph_reserved_count(bm, 50005, 65535), 6);
	ck_assert_uint_eq(eph_reserved_count(bm, 32768, 50000), 7);
	ck_assert_uint_eq(eph_reserved_count(bm, 32768, 39999), 0);
}
END_TEST

START_TEST(count_all_reserved)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	memset(bm, 0xff, sizeof(bm));
	ck_assert_uint_eq(eph_reserved_count(bm, 40000, 40099), 100);
	ck_assert_uint_eq(eph_reserved_count(bm, 1, 65535), 65535);
	ck_assert_uint_eq(eph_reserved_count(bm, 0, 65535), 65536);
	ck_assert_uint_eq(eph_reserved_count(bm, 65535, 65535), 1);
	ck_assert_uint_eq(eph_reserved_count(bm, 0, 0), 1);
	/* Unaligned edges of the bitmap bytes. */
	ck_assert_uint_eq(eph_reserved_count(bm, 3, 12), 10);
	ck_assert_uint_eq(eph_reserved_count(bm, 7, 8), 2);
}
END_TEST

START_TEST(count_none)
{
	uint8_t bm[EPH_BITMAP_BYTES];

	memset(bm, 0, sizeof(bm));
	ck_assert_uint_eq(eph_reserved_count(bm, 40000, 40099), 0);
	ck_assert_uint_eq(eph_reserved_count(bm, 0, 65535), 0);
	ck_assert_uint_eq(eph_reserved_count(bm, 5, 5), 0);
	/* Set bits only outside the range. */
	eph_bit_set(bm, 39999);
	eph_bit_set(bm, 40100);
	eph_bit_set(bm, 0);
	eph_bit_set(bm, 65535);
	ck_assert_uint_eq(eph_reserved_count(bm, 40000, 40099), 0);
	ck_assert_uint_eq(eph_reserved_count(bm, 1, 65534), 2);
}
END_TEST

/* Agrees with a bit-by-bit count at every 1-port and many other windows
 * of an irregular bitmap. */
START_TEST(count_matches_naive)
{
	uint8_t bm[EPH_BITMAP_BYTES];
	unsigned seed = 12345;

	for (unsigned i = 0; i < EPH_BITMAP_BYTES; i++) {
		seed = seed * 1103515245u + 12345u;
		bm[i] = (uint8_t)(seed >> 16);
	}
	for (unsigned t = 0; t < 2000; t++) {
		unsigned a, b, want = 0;

		seed = seed * 1103515245u + 12345u;
		a = (seed >> 8) & 0xffff;
		seed = seed * 1103515245u + 12345u;
		b = a + ((seed >> 8) % 300);
		if (b > 65535)
			b = 65535;
		for (unsigned p = a; p <= b; p++)
			want += !!eph_bit_test(bm, p);
		ck_assert_uint_eq(
		    eph_reserved_count(bm, (uint16_t)a, (uint16_t)b), want);
	}
}
END_TEST

/* ---- eph_range_read ------------------------------------------------------ */

#define RANGE_FILE    "/sys/net/ipv4/ip_local_port_range"
#define RESERVED_FILE "/sys/net/ipv4/ip_local_reserved_ports"

static int read_root(const char *name, struct eph_range out[EPH_PROTO_COUNT],
		     char *why, size_t why_len, char *root, size_t root_len)
{
	fixture_path(root, root_len, name);
	memset(out, 0x5a, sizeof(struct eph_range) * EPH_PROTO_COUNT);
	memset(why, 0, why_len);
	return eph_range_read(root, out, why, why_len);
}

static void assert_why_names(const char *why, const char *root,
			     const char *file)
{
	char path[4096 + 64];

	snprintf(path, sizeof(path), "%s%s", root, file);
	ck_assert_msg(strstr(why, path) != NULL, "why \"%s\" does not name %s",
		      why, path);
}

/* ---- eph_knobs_read: the model's sysctls --------------------------------- */

START_TEST(knobs_read_values)
{
	struct eph_knobs k;
	char why[256] = "", root[4096];

	fixture_path(root, sizeof(root), "proc-knobs");
	ck_assert_int_eq(eph_knobs_read(root, &k, why, sizeof(why)), 0);
	ck_assert(k.read);
	ck_assert_uint_eq(k.tw_reuse, 1);
	ck_assert_uint_eq(k.tw_reuse_delay_ms, 250);
	ck_assert_uint_eq(k.timestamps, 0);
	ck_assert_uint_eq(k.autobind_reuse, 1);
}
END_TEST

/* An older kernel (no tcp_tw_reuse_delay) or a bare root: defaults. */
START_TEST(knobs_read_missing_defaults)
{
	struct eph_knobs k;
	char why[256] = "", root[4096];

	fixture_path(root, sizeof(root), "proc-basic");
	ck_assert_int_eq(eph_knobs_read(root, &k, why, sizeof(why)), 0);
	ck_assert(!k.read);
	ck_assert_uint_eq(k.tw_reuse, 2);
	ck_assert_uint_eq(k.tw_reuse_delay_ms, 1000);
	ck_assert_uint_eq(k.timestamps, 1);
	ck_assert_uint_eq(k.autobind_reuse, 0);
}
END_TEST

START_TEST(knobs_read_garbage)
{
	struct eph_knobs k;
	char why[256] = "", root[4096];

	fixture_path(root, sizeof(root), "proc-garbage-knob");
	ck_assert_int_eq(eph_knobs_read(root, &k, why, sizeof(why)), -EINVAL);
	assert_why_names(why, root, "/sys/net/ipv4/tcp_tw_reuse");
	ck_assert_msg(strstr(why, "0 to 2") != NULL, "why: %s", why);
}
END_TEST

START_TEST(knob_parse_forms)
{
	unsigned v = 7;

	ck_assert_int_eq(eph_knob_parse("2\n", 2, 2, &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(eph_knob_parse("1000", 4, 3600000, &v), 0);
	ck_assert_uint_eq(v, 1000);
	ck_assert_int_eq(eph_knob_parse("3\n", 2, 2, &v), -EINVAL);
	ck_assert_int_eq(eph_knob_parse("", 0, 2, &v), -EINVAL);
	ck_assert_int_eq(eph_knob_parse("-1\n", 3, 2, &v), -EINVAL);
	ck_assert_int_eq(eph_knob_parse("1 2\n", 4, 2, &v), -EINVAL);
	ck_assert_uint_eq(v, 1000);
}
END_TEST

START_TEST(read_basic)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(
	    read_root("proc-basic", out, why, sizeof(why), root, sizeof(root)),
	    0);
	ck_assert_uint_eq(out[EPH_TCP].low, 40000);
	ck_assert_uint_eq(out[EPH_TCP].high, 40099);
	ck_assert_uint_eq(popcount_bm(out[EPH_TCP].reserved), 5 + 1 + 11);
	for (unsigned p = 40010; p <= 40014; p++)
		ck_assert(eph_bit_test(out[EPH_TCP].reserved, p));
	ck_assert(eph_bit_test(out[EPH_TCP].reserved, 40050));
	for (unsigned p = 50000; p <= 50010; p++)
		ck_assert(eph_bit_test(out[EPH_TCP].reserved, p));
	ck_assert_uint_eq(
	    eph_reserved_count(out[EPH_TCP].reserved, 40000, 40099), 6);
	/* Linux: one range and one reserved list for both protocols. */
	ck_assert_uint_eq(out[EPH_UDP].low, 40000);
	ck_assert_uint_eq(out[EPH_UDP].high, 40099);
	ck_assert(memcmp(out[EPH_TCP].reserved, out[EPH_UDP].reserved,
			 EPH_BITMAP_BYTES) == 0);
}
END_TEST

START_TEST(read_default_empty_reserved)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(read_root("proc-default", out, why, sizeof(why), root,
				   sizeof(root)),
			 0);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		ck_assert_uint_eq(out[p].low, 32768);
		ck_assert_uint_eq(out[p].high, 60999);
		ck_assert(bm_all_zero(out[p].reserved));
	}
}
END_TEST

START_TEST(read_missing_range)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(read_root("proc-missing-range", out, why, sizeof(why),
				   root, sizeof(root)),
			 -ENOENT);
	assert_why_names(why, root, RANGE_FILE);
}
END_TEST

START_TEST(read_missing_reserved)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(read_root("proc-missing-reserved", out, why,
				   sizeof(why), root, sizeof(root)),
			 -ENOENT);
	assert_why_names(why, root, RESERVED_FILE);
}
END_TEST

START_TEST(read_missing_root)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(read_root("no-such-proc-root", out, why, sizeof(why),
				   root, sizeof(root)),
			 -ENOENT);
	ck_assert(strstr(why, "ip_local_") != NULL);
	ck_assert(strstr(why, root) != NULL);
}
END_TEST

START_TEST(read_garbage_range)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(read_root("proc-garbage-range", out, why, sizeof(why),
				   root, sizeof(root)),
			 -EINVAL);
	assert_why_names(why, root, RANGE_FILE);
}
END_TEST

START_TEST(read_reversed_range)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(read_root("proc-reversed-range", out, why, sizeof(why),
				   root, sizeof(root)),
			 -EINVAL);
	assert_why_names(why, root, RANGE_FILE);
}
END_TEST

START_TEST(read_garbage_reserved)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256], root[4096];

	ck_assert_int_eq(read_root("proc-garbage-reserved", out, why,
				   sizeof(why), root, sizeof(root)),
			 -EINVAL);
	assert_why_names(why, root, RESERVED_FILE);
}
END_TEST

static void write_file(const char *path, const char *s, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert_uint_eq(fwrite(s, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* A reserved file listing every port singly (~380 KB, as long as the
 * kernel's can get) is read whole: nothing of the pool is usable. */
START_TEST(read_long_reserved_file)
{
	char root[] = "/tmp/check_range.XXXXXX", path[256], why[256];
	struct eph_range out[EPH_PROTO_COUNT];
	size_t cap = 512 * 1024, n = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/sys", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sys/net", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sys/net/ipv4", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s" RANGE_FILE, root);
	write_file(path, "40000\t40099\n", 12);
	for (unsigned p = 0; p <= 65535; p++)
		n += (size_t)snprintf(s + n, cap - n, p ? ",%u" : "%u", p);
	s[n++] = '\n';
	snprintf(path, sizeof(path), "%s" RESERVED_FILE, root);
	write_file(path, s, n);
	free(s);

	memset(out, 0, sizeof(out));
	ck_assert_int_eq(eph_range_read(root, out, why, sizeof(why)), 0);
	ck_assert_uint_eq(out[EPH_TCP].low, 40000);
	ck_assert_uint_eq(out[EPH_TCP].high, 40099);
	ck_assert_uint_eq(popcount_bm(out[EPH_TCP].reserved), 65536);
	ck_assert_uint_eq(
	    eph_reserved_count(out[EPH_TCP].reserved, 40000, 40099), 100);
	ck_assert(memcmp(&out[EPH_TCP], &out[EPH_UDP], sizeof(out[0])) == 0);

	unlink(path);
	snprintf(path, sizeof(path), "%s" RANGE_FILE, root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sys/net/ipv4", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/sys/net", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/sys", root);
	rmdir(path);
	rmdir(root);
}
END_TEST

/* The real /proc agrees with what the test reads itself. */
START_TEST(read_live_proc)
{
	struct eph_range out[EPH_PROTO_COUNT];
	char why[256];
	unsigned lo = 0, hi = 0;
	FILE *f = fopen("/proc" RANGE_FILE, "r");

	if (!f)
		return; /* not Linux with procfs */
	ck_assert_int_eq(fscanf(f, "%u %u", &lo, &hi), 2);
	fclose(f);
	ck_assert_int_eq(eph_range_read("/proc", out, why, sizeof(why)), 0);
	ck_assert_uint_eq(out[EPH_TCP].low, lo);
	ck_assert_uint_eq(out[EPH_TCP].high, hi);
	ck_assert_uint_eq(out[EPH_UDP].low, lo);
	ck_assert_uint_eq(out[EPH_UDP].high, hi);
	ck_assert(memcmp(out[EPH_TCP].reserved, out[EPH_UDP].reserved,
			 EPH_BITMAP_BYTES) == 0);
}
END_TEST

/* ---- eph_read_file ------------------------------------------------------- */

START_TEST(read_file_basic)
{
	char path[4096], buf[64];

	fixture_path(path, sizeof(path), "proc-basic" RANGE_FILE);
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(eph_read_file(path, buf, sizeof(buf)), 12);
	ck_assert_str_eq(buf, "40000 40099\n");
	/* Exactly fits: 12 bytes + NUL. */
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(eph_read_file(path, buf, 13), 12);
	ck_assert_str_eq(buf, "40000 40099\n");
	/* One byte short (no room for the NUL), and far too small. */
	ck_assert_int_eq(eph_read_file(path, buf, 12), -EFBIG);
	ck_assert_int_eq(eph_read_file(path, buf, 4), -EFBIG);

	fixture_path(path, sizeof(path), "proc-missing-range" RANGE_FILE);
	ck_assert_int_eq(eph_read_file(path, buf, sizeof(buf)), -ENOENT);
}
END_TEST

/* procfs files report size 0: the whole content must still be read. */
START_TEST(read_file_procfs)
{
	char buf[256];
	long n;

	if (access("/proc" RANGE_FILE, R_OK) != 0)
		return;
	n = eph_read_file("/proc" RANGE_FILE, buf, sizeof(buf));
	ck_assert_int_gt(n, 3);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	ck_assert_int_eq(buf[n - 1], '\n');
}
END_TEST

/* Issue 16, defect 3: a FIFO (or anything not a regular file) where a
 * procfs file should be is refused at once with a clear error, never
 * waited on (Check's timeout fails the test if open() or read() block). */
START_TEST(read_file_not_regular)
{
	char root[] = "/tmp/check_range.XXXXXX", path[512], why[512], buf[64];
	struct eph_range out[EPH_PROTO_COUNT];
	struct eph_knobs k;
	static const char *const dirs[] = {"/sys", "/sys/net", "/sys/net/ipv4"};

	ck_assert_ptr_nonnull(mkdtemp(root));
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof(path), "%s" RANGE_FILE, root);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(eph_read_file(path, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(eph_range_read(root, out, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, RANGE_FILE) &&
			  strstr(why, "not a regular file"),
		      "%s", why);
	unlink(path);
	/* A directory is refused the same way. */
	ck_assert_int_eq(eph_read_file(root, buf, sizeof(buf)), -EINVAL);
	/* A knob that is a FIFO. */
	snprintf(path, sizeof(path), "%s/sys/net/ipv4/tcp_tw_reuse", root);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(eph_knobs_read(root, &k, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "tcp_tw_reuse: not a regular file"), "%s",
		      why);
	unlink(path);
	for (size_t i = 3; i-- > 0;) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		rmdir(path);
	}
	rmdir(root);
}
END_TEST

/* Issue 16, defect 6: what a bad range file holds is quoted, escaped and
 * shortened in the message, never echoed raw (a symlink to a secret, or
 * terminal escapes, would otherwise reach logs and terminals). */
START_TEST(read_garbage_escaped)
{
	char root[] = "/tmp/check_range.XXXXXX", path[512], why[512];
	struct eph_range out[EPH_PROTO_COUNT];
	static const char *const dirs[] = {"/sys", "/sys/net", "/sys/net/ipv4"};
	static const char secret[] = "\x1b[31mroot:$6$SECRETSECRETSECRETSECRET"
				     "SECRETSECRET\r\x7f\n";
	const char *got;

	ck_assert_ptr_nonnull(mkdtemp(root));
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof(path), "%s" RANGE_FILE, root);
	write_file(path, secret, sizeof(secret) - 1);
	ck_assert_int_eq(eph_range_read(root, out, why, sizeof(why)), -EINVAL);
	got = strstr(why, "got ");
	ck_assert_msg(got != NULL, "%s", why);
	for (const char *c = why; *c; c++)
		ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f,
			      "raw control byte in: %s", why);
	ck_assert_msg(strncmp(got, "got \"\\x1b[31mroot:$6$SEC\"...", 28) == 0,
		      "%s", got);
	ck_assert_msg(strstr(why, "SECRET") == NULL, "%s", why);
	unlink(path);
	for (size_t i = 3; i-- > 0;) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		rmdir(path);
	}
	rmdir(root);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static Suite *range_suite(void)
{
	Suite *s = suite_create("range");
	TCase *tc;

	tc = tcase_create("parse_pair");
	tcase_add_test(tc, pair_kernel_format_tab);
	tcase_add_test(tc, pair_spaces);
	tcase_add_test(tc, pair_no_newline);
	tcase_add_test(tc, pair_single_port_and_bounds);
	tcase_add_test(tc, pair_respects_len);
	tcase_add_loop_test(tc, pair_invalid, 0,
			    (int)(sizeof(bad_pairs) / sizeof(bad_pairs[0])));
	tcase_add_test(tc, pair_empty_buffer);
	tcase_add_test(tc, pair_leading_plus);
	suite_add_tcase(s, tc);

	tc = tcase_create("reserved_parse");
	tcase_add_test(tc, reserved_empty);
	tcase_add_test(tc, reserved_single);
	tcase_add_test(tc, reserved_list);
	tcase_add_test(tc, reserved_ranges);
	tcase_add_test(tc, reserved_partly_outside);
	tcase_add_test(tc, reserved_extremes);
	tcase_add_test(tc, reserved_duplicates_overlaps);
	tcase_add_test(tc, reserved_long_list);
	tcase_add_test(tc, reserved_cost_bounded);
	tcase_add_test(tc, reserved_respects_len);
	tcase_add_loop_test(
	    tc, reserved_invalid, 0,
	    (int)(sizeof(bad_reserved) / sizeof(bad_reserved[0])));
	tcase_add_test(tc, reserved_invalid_nul);
	tcase_add_test(tc, reserved_error_after_valid_entries_clears);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("reserved_count");
	tcase_add_test(tc, count_inside);
	tcase_add_test(tc, count_partly_outside);
	tcase_add_test(tc, count_all_reserved);
	tcase_add_test(tc, count_none);
	tcase_add_test(tc, count_matches_naive);
	suite_add_tcase(s, tc);

	tc = tcase_create("range_read");
	tcase_add_test(tc, read_basic);
	tcase_add_test(tc, read_default_empty_reserved);
	tcase_add_test(tc, read_missing_range);
	tcase_add_test(tc, read_missing_reserved);
	tcase_add_test(tc, read_missing_root);
	tcase_add_test(tc, read_garbage_range);
	tcase_add_test(tc, read_reversed_range);
	tcase_add_test(tc, read_garbage_reserved);
	tcase_add_test(tc, read_long_reserved_file);
	tcase_add_test(tc, read_live_proc);
	tcase_add_test(tc, read_file_basic);
	tcase_add_test(tc, read_file_procfs);
	tcase_add_test(tc, read_file_not_regular);
	tcase_add_test(tc, read_garbage_escaped);
	tcase_add_test(tc, knobs_read_values);
	tcase_add_test(tc, knobs_read_missing_defaults);
	tcase_add_test(tc, knobs_read_garbage);
	tcase_add_test(tc, knob_parse_forms);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return eph_run_suite(range_suite());
}
