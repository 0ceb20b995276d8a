/*
 * check_json - the command's string encoders on any bytes: a comm (set by
 * PR_SET_NAME, cut by the kernel at 15 bytes, maybe inside a character)
 * or a cgroup path is not text.  eph_json_string must always make valid
 * UTF-8 JSON (each maximal ill-formed subpart as one \ufffd, what
 * Python's bytes.decode(errors="replace") gives), and eph_text_cell
 * nothing a terminal would obey.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "output.h"

/* What fn printed for s, in a static buffer. */
static const char *printed(void (*fn)(FILE *, const char *), const char *s)
{
	static char out[1024];
	FILE *f = fmemopen(out, sizeof(out), "w");

	ck_assert_ptr_nonnull(f);
	fn(f, s);
	ck_assert_int_eq(fclose(f), 0);
	return out;
}

static void json(FILE *f, const char *s)
{
	eph_json_string(f, s);
}

static void cell15(FILE *f, const char *s)
{
	eph_text_cell(f, s, 15);
}

START_TEST(json_escapes)
{
	ck_assert_str_eq(printed(json, ""), "\"\"");
	ck_assert_str_eq(printed(json, "a\"b\\c\n\x01\x1f\x7f/"),
			 "\"a\\\"b\\\\c\\u000a\\u0001\\u001f\x7f/\"");
}
END_TEST

START_TEST(json_valid_utf8_kept)
{
	/* U+00E9, U+20AC, U+1F600, the edges U+0080, U+07FF, U+0800,
	 * U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF. */
	static const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
				"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
				"\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80"
				"\xf4\x8f\xbf\xbf";
	char want[sizeof(s) + 2];

	snprintf(want, sizeof(want), "\"%s\"", s);
	ck_assert_str_eq(printed(json, s), want);
}
END_TEST

/* The reviewer's reproducer: a comm of 0xff, quote, backslash, DEL and the
 * first two bytes of U+20AC (the kernel's 15-byte cut in a character). */
START_TEST(json_comm_reproducer)
{
	ck_assert_str_eq(printed(json, "ab\xff\"\\\x7f\xe2\x82"),
			 "\"ab\\ufffd\\\"\\\\\x7f\\ufffd\"");
}
END_TEST

/* One U+FFFD per maximal subpart (Unicode 3.9, U+FFFD substitution): a
 * lead byte and the continuation bytes that could still follow it are one
 * subpart; a byte that can begin nothing is one by itself. */
START_TEST(json_ill_formed)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"\x80", "\"\\ufffd\""},		/* lone continuation */
	    {"\xbf\x80", "\"\\ufffd\\ufffd\""}, /* two of them */
	    {"\xc0\xaf", "\"\\ufffd\\ufffd\""}, /* overlong '/' */
	    {"\xc1\xbf", "\"\\ufffd\\ufffd\""}, /* overlong DEL */
	    {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""}, /* overlong */
	    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate */
	    {"\xf4\x90\x80\x80",
	     "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
	    {"\xf5\x80", "\"\\ufffd\\ufffd\""},
	    {"\xff\xfe", "\"\\ufffd\\ufffd\""},
	    {"\xc3", "\"\\ufffd\""},			 /* cut at the end */
	    {"\xe2\x82", "\"\\ufffd\""},		 /* cut at the end */
	    {"\xf0\x9f\x98", "\"\\ufffd\""},		 /* cut at the end */
	    {"\xe2\x82x", "\"\\ufffdx\""},		 /* cut by ASCII */
	    {"\xe2\x82\xc3\xa9", "\"\\ufffd\xc3\xa9\""}, /* by a character */
	    {"\xc3\"", "\"\\ufffd\\\"\""}, /* the quote is still escaped */
	    {"\xc3\n", "\"\\ufffd\\u000a\""},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(strcmp(printed(json, t[i].in), t[i].out) == 0,
			      "case %zu: got %s, want %s", i,
			      printed(json, t[i].in), t[i].out);
}
END_TEST

START_TEST(utf8_len_bounds)
{
	size_t bad = 99;

	ck_assert_uint_eq(eph_utf8_len("a", &bad), 1);
	ck_assert_uint_eq(bad, 99); /* untouched when well-formed */
	ck_assert_uint_eq(eph_utf8_len("\xf0\x9f\x98\x80", &bad), 4);
	ck_assert_uint_eq(eph_utf8_len("\xf0\x9f\x98", &bad), 0);
	ck_assert_uint_eq(bad, 3);
	ck_assert_uint_eq(eph_utf8_len("\xf0\x8f", &bad), 0);
	ck_assert_uint_eq(bad, 1);
}
END_TEST

/* A text column: C0, DEL and C1 (raw 0x80-0x9f or UTF-8 U+0080-U+009F:
 * CSI is one of them) and ill-formed bytes become '?'; characters stay. */
START_TEST(text_cell_safe)
{
	ck_assert_str_eq(printed(cell15, "ab\xff\"\\\x7f\xe2\x82"),
			 "ab?\"\\???       ");
	ck_assert_str_eq(printed(cell15, "x\033[2J\2332J\302\2332J"),
			 "x?[2J?2J?2J    ");
	ck_assert_str_eq(printed(cell15, "caf\xc3\xa9"),
			 "caf\xc3\xa9          ");
	/* Longer: the end kept after "...". */
	ck_assert_str_eq(printed(cell15, "/system.slice/web.service"),
			 ".../web.service");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, json_escapes);
	tcase_add_test(tc, json_valid_utf8_kept);
	tcase_add_test(tc, json_comm_reproducer);
	tcase_add_test(tc, json_ill_formed);
	tcase_add_test(tc, utf8_len_bounds);
	tcase_add_test(tc, text_cell_safe);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
