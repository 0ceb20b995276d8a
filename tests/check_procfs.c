/*
 * check_procfs - the /proc/net/{tcp,tcp6,udp,udp6} fallback (sockets.h):
 * eph_proc_parse on texts captured from Linux (tests/fixtures/proc-basic/
 * net/, made in a private network namespace, see tests/fixtures/README.md)
 * and hand-written ones (procnet-*-hand.txt), reading in pieces,
 * malformed lines, eph_proc_read, and eph_sock_unmap.
 *
 * /proc/net prints each 32-bit address word in host byte order; the
 * fixtures were captured on (and the hand-written ones written for) a
 * little-endian host.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sockets.h"
#include "check_util.h"

/* ---- helpers ------------------------------------------------------------ */

static void fixture_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", eph_fixtures_dir(), name);

	ck_assert(n > 0 && (size_t)n < len);
}

/* A fixture's bytes, in a buffer of exactly that size (no NUL after). */
static char *load(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	fixture_path(path, sizeof(path), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, len);
	return p;
}

/* Recording callback. */
struct recs {
	size_t n, cap;
	struct eph_sock *v;
};

static void rec_cb(void *ctx, const struct eph_sock *s)
{
	struct recs *r = ctx;

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		ck_assert_ptr_nonnull(r->v);
	}
	r->v[r->n++] = *s;
}

static void recs_free(struct recs *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

struct exp {
	int family;
	int state;
	const char *laddr;
	unsigned lport;
	const char *raddr;
	unsigned rport;
};

static void assert_sock(const struct eph_sock *s, const struct exp *e, size_t i)
{
	uint8_t want[16];
	char got[INET6_ADDRSTRLEN];

	ck_assert_msg(s->family == e->family, "record %zu: family %u, want %d",
		      i, s->family, e->family);
	ck_assert_msg(s->state == e->state, "record %zu: state %u, want %d", i,
		      s->state, e->state);
	ck_assert_msg(s->lport == e->lport, "record %zu: lport %u, want %u", i,
		      s->lport, e->lport);
	ck_assert_msg(s->rport == e->rport, "record %zu: rport %u, want %u", i,
		      s->rport, e->rport);
	ck_assert_int_eq(inet_pton(e->family, e->laddr, want), 1);
	ck_assert_msg(memcmp(s->laddr, want, addr_len(e->family)) == 0,
		      "record %zu: laddr %s, want %s", i,
		      inet_ntop(e->family, s->laddr, got, sizeof(got)),
		      e->laddr);
	ck_assert_int_eq(inet_pton(e->family, e->raddr, want), 1);
	ck_assert_msg(memcmp(s->raddr, want, addr_len(e->family)) == 0,
		      "record %zu: raddr %s, want %s", i,
		      inet_ntop(e->family, s->raddr, got, sizeof(got)),
		      e->raddr);
}

static void assert_recs(const struct recs *r, const struct exp *e, size_t n)
{
	ck_assert_uint_eq(r->n, n);
	for (size_t i = 0; i < n; i++)
		assert_sock(&r->v[i], &e[i], i);
}

/* Parse a whole buffer; every byte must be consumed. */
static long parse_all(const char *buf, size_t len, int family, int skip,
		      struct recs *r)
{
	size_t consumed = (size_t)-1;
	long bad = -7;
	long n =
	    eph_proc_parse(buf, len, family, skip, &consumed, rec_cb, r, &bad);

	if (n >= 0) {
		ck_assert_uint_eq(consumed, len);
		ck_assert_int_eq(n, (long)r->n);
	}
	return n;
}

/* ---- expected contents of the fixtures ----------------------------------- */

#define V4 AF_INET
#define V6 AF_INET6
enum {
	EST = EPH_ST_ESTABLISHED,
	TW = EPH_ST_TIME_WAIT,
	CLOSE = EPH_ST_CLOSE,
	LISTEN = EPH_ST_LISTEN,
};

/* proc-basic/net/tcp (captured): listeners 0.0.0.0:40020, 127.0.0.1:8080;
 * clients 40001-40003 -> 8080; TIME_WAIT 40010 -> 8080; the accepted
 * ends, including the one of the v4-mapped client from port 40064. */
static const struct exp tcp4_exp[] = {
    {V4, LISTEN, "0.0.0.0", 40020, "0.0.0.0", 0},
    {V4, LISTEN, "127.0.0.1", 8080, "0.0.0.0", 0},
    {V4, EST, "127.0.0.1", 40001, "127.0.0.1", 8080},
    {V4, EST, "127.0.0.1", 40002, "127.0.0.1", 8080},
    {V4, EST, "127.0.0.1", 40003, "127.0.0.1", 8080},
    {V4, TW, "127.0.0.1", 40010, "127.0.0.1", 8080},
    {V4, EST, "127.0.0.1", 8080, "127.0.0.1", 40002},
    {V4, EST, "127.0.0.1", 8080, "127.0.0.1", 40001},
    {V4, EST, "127.0.0.1", 8080, "127.0.0.1", 40064},
    {V4, EST, "127.0.0.1", 8080, "127.0.0.1", 40003},
};

/* proc-basic/net/tcp6: [::1]:8080 and dual-stack [::]:9090 listeners,
 * two ::1 clients and their accepted ends, and ::ffff:127.0.0.1:40064 ->
 * ::ffff:127.0.0.1:8080, which must come out as AF_INET. */
static const struct exp tcp6_exp[] = {
    {V6, LISTEN, "::1", 8080, "::", 0},
    {V6, LISTEN, "::", 9090, "::", 0},
    {V6, EST, "::1", 8080, "::1", 40041},
    {V4, EST, "127.0.0.1", 40064, "127.0.0.1", 8080},
    {V6, EST, "::1", 8080, "::1", 40042},
    {V6, EST, "::1", 40041, "::1", 8080},
    {V6, EST, "::1", 40042, "::1", 8080},
};

static const struct exp udp4_exp[] = {
    {V4, CLOSE, "0.0.0.0", 40031, "0.0.0.0", 0},
    {V4, EST, "127.0.0.1", 40060, "127.0.0.1", 5353},
};

static const struct exp udp6_exp[] = {
    {V6, CLOSE, "::", 40030, "::", 0},
    {V6, EST, "::1", 40070, "::1", 53},
};

/* procnet-tcp-hand.txt */
static const struct exp tcp4_hand_exp[] = {
    {V4, EST, "192.0.2.10", 443, "198.51.100.7", 65535},
    {V4, CLOSE, "10.20.30.40", 0, "0.0.0.0", 0},
    {V4, EPH_ST_CLOSING, "255.255.255.255", 65535, "1.2.3.4", 1},
    {V4, TW, "172.16.0.1", 40000, "203.0.113.200", 80},
    {V4, LISTEN, "127.0.0.1", 32768, "0.0.0.0", 0},
    {V4, EPH_ST_BOUND, "8.8.8.8", 53, "0.0.0.0", 0},
};

/* procnet-tcp6-hand.txt: word order and byte order inside words; a
 * mapped pair; ::10.1.2.3 (IPv4-compatible, not mapped) and
 * 2001::ffff:7f00:1 (the mapped suffix, but not the ::ffff:0:0/96
 * prefix) stay IPv6. */
static const struct exp tcp6_hand_exp[] = {
    {V6, EST, "2001:db8:1:2:3:4:5:6", 443, "2001:db8::1", 65535},
    {V6, LISTEN, "fe80::1234:5678:9abc:def0", 22, "::", 0},
    {V4, EST, "10.1.2.3", 40001, "192.0.2.1", 8443},
    {V6, CLOSE, "::10.1.2.3", 40002, "::", 0},
    {V6, TW, "2001::ffff:7f00:1", 40003, "::1", 80},
};

struct fixture {
	const char *name;
	int family;
	const struct exp *exp;
	size_t n;
};

#define FX(name, fam, arr)                                                     \
	{                                                                      \
		name, fam, arr, sizeof(arr) / sizeof(arr[0])                   \
	}
static const struct fixture fixtures[] = {
    FX("proc-basic/net/tcp", AF_INET, tcp4_exp),
    FX("proc-basic/net/tcp6", AF_INET6, tcp6_exp),
    FX("proc-basic/net/udp", AF_INET, udp4_exp),
    FX("proc-basic/net/udp6", AF_INET6, udp6_exp),
    FX("procnet-tcp-hand.txt", AF_INET, tcp4_hand_exp),
    FX("procnet-tcp6-hand.txt", AF_INET6, tcp6_hand_exp),
};
#define N_FIXTURES (int)(sizeof(fixtures) / sizeof(fixtures[0]))

/* TIME_WAIT lines carry what is left of them ("03:0000175C": tr 3, 5980
 * USER_HZ ticks); other states do not get an age. */
START_TEST(parse_time_wait_left)
{
	size_t len;
	char *buf = load("proc-basic/net/tcp", &len);
	struct recs r = {0};
	int tw = 0;

	ck_assert_int_gt(parse_all(buf, len, AF_INET, 1, &r), 0);
	for (size_t i = 0; i < r.n; i++) {
		if (r.v[i].state == EPH_ST_TIME_WAIT) {
			tw++;
			ck_assert_uint_eq(r.v[i].expires_ms, 59800);
		} else {
			ck_assert_uint_eq(r.v[i].expires_ms, 0);
		}
	}
	ck_assert_int_eq(tw, 1);
	recs_free(&r);
	free(buf);
}
END_TEST

/* A TIME_WAIT line cut after its state: parsed, age unknown (0). */
START_TEST(parse_time_wait_short_line)
{
	static const char line[] =
	    "   0: 0100007F:9C4A 0100007F:1F90 06\n"
	    "   1: 0100007F:9C4B 0100007F:1F90 06 00000000:00000000 03:zz\n";
	struct recs r = {0};

	ck_assert_int_eq(parse_all(line, sizeof(line) - 1, AF_INET, 0, &r), 2);
	ck_assert_uint_eq(r.v[0].expires_ms, 0);
	ck_assert_uint_eq(r.v[1].expires_ms, 0);
	recs_free(&r);
}
END_TEST

/* ---- whole fixtures ------------------------------------------------------ */

START_TEST(parse_fixture)
{
	const struct fixture *fx = &fixtures[_i];
	size_t len;
	char *buf = load(fx->name, &len);
	struct recs r = {0};

	ck_assert_int_eq(parse_all(buf, len, fx->family, 1, &r), (long)fx->n);
	assert_recs(&r, fx->exp, fx->n);
	recs_free(&r);
	free(buf);
}
END_TEST

/* Without skip_header, a buffer holding only socket lines parses the
 * same; the header itself is then a malformed line 1. */
START_TEST(parse_no_header)
{
	const struct fixture *fx = &fixtures[_i];
	size_t len, consumed = 0;
	char *buf = load(fx->name, &len);
	const char *body = memchr(buf, '\n', len) + 1;
	struct recs r = {0};
	long bad = 0;

	ck_assert_int_eq(
	    parse_all(body, len - (size_t)(body - buf), fx->family, 0, &r),
	    (long)fx->n);
	assert_recs(&r, fx->exp, fx->n);
	recs_free(&r);

	ck_assert_int_eq(eph_proc_parse(buf, len, fx->family, 0, &consumed,
					rec_cb, &r, &bad),
			 -EBADMSG);
	ck_assert_int_eq(bad, 1);
	recs_free(&r);
	free(buf);
}
END_TEST

/* Whatever the first line says, skip_header skips it unread. */
START_TEST(parse_any_header_skipped)
{
	static const char text[] =
	    "this is not a socket line 0G:ZZ\n"
	    "   0: 0100007F:9C40 00000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 "
	    "10 0\n";
	char *buf = exact(text, sizeof(text) - 1);
	struct recs r = {0};
	static const struct exp e[] = {
	    {V4, LISTEN, "127.0.0.1", 40000, "0.0.0.0", 0},
	};

	ck_assert_int_eq(parse_all(buf, sizeof(text) - 1, AF_INET, 1, &r), 1);
	assert_recs(&r, e, 1);
	recs_free(&r);
	free(buf);
}
END_TEST

START_TEST(parse_empty)
{
	struct recs r = {0};
	size_t consumed = 99;
	long bad = -7;
	char *buf = exact("", 0);

	ck_assert_int_eq(
	    eph_proc_parse(buf, 0, AF_INET, 1, &consumed, rec_cb, &r, &bad), 0);
	ck_assert_uint_eq(consumed, 0);
	ck_assert_uint_eq(r.n, 0);
	consumed = 99;
	ck_assert_int_eq(
	    eph_proc_parse(buf, 0, AF_INET6, 0, &consumed, rec_cb, &r, &bad),
	    0);
	ck_assert_uint_eq(consumed, 0);
	ck_assert_uint_eq(r.n, 0);
	free(buf);
}
END_TEST

START_TEST(parse_header_only)
{
	size_t len, hlen, consumed;
	char *buf = load("proc-basic/net/tcp", &len);
	struct recs r = {0};
	long bad = 0;

	hlen = (size_t)((char *)memchr(buf, '\n', len) - buf) + 1;
	/* The whole header line: consumed, no sockets. */
	consumed = 0;
	ck_assert_int_eq(
	    eph_proc_parse(buf, hlen, AF_INET, 1, &consumed, rec_cb, &r, &bad),
	    0);
	ck_assert_uint_eq(consumed, hlen);
	ck_assert_uint_eq(r.n, 0);
	/* The header without its newline: a partial line, not consumed. */
	consumed = 99;
	ck_assert_int_eq(eph_proc_parse(buf, hlen - 1, AF_INET, 1, &consumed,
					rec_cb, &r, &bad),
			 0);
	ck_assert_uint_eq(consumed, 0);
	ck_assert_uint_eq(r.n, 0);
	free(buf);
}
END_TEST

/* The last line without its newline is left for the next call. */
START_TEST(parse_partial_last_line)
{
	size_t len, consumed = 0, last;
	char *buf = load("proc-basic/net/tcp", &len);
	struct recs r = {0};
	long bad = 0;

	ck_assert_int_eq(buf[len - 1], '\n');
	for (last = len - 1; buf[last - 1] != '\n'; last--)
		;
	ck_assert_int_eq(eph_proc_parse(buf, len - 1, AF_INET, 1, &consumed,
					rec_cb, &r, &bad),
			 9);
	ck_assert_uint_eq(consumed, last);
	assert_recs(&r, tcp4_exp, 9);
	/* The rest, header already skipped. */
	ck_assert_int_eq(eph_proc_parse(buf + consumed, len - consumed, AF_INET,
					0, &consumed, rec_cb, &r, &bad),
			 1);
	ck_assert_uint_eq(consumed, len - last);
	assert_recs(&r, tcp4_exp, 10);
	recs_free(&r);
	free(buf);
}
END_TEST

/* A malformed partial last line is not an error: it is not read yet. */
START_TEST(parse_partial_malformed_line_not_read)
{
	static const char text[] =
	    "  sl  local_address rem_address   st\n"
	    "   0: 0100007F:9C40 00000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 1 1\n"
	    "   1: 0100007F:ZZZZ 000";
	size_t len = sizeof(text) - 1, consumed = 0;
	char *buf = exact(text, len);
	struct recs r = {0};
	long bad = -7;

	ck_assert_int_eq(
	    eph_proc_parse(buf, len, AF_INET, 1, &consumed, rec_cb, &r, &bad),
	    1);
	ck_assert_uint_eq(consumed, (size_t)(strstr(text, "   1:") - text));
	ck_assert_uint_eq(r.n, 1);
	recs_free(&r);
	free(buf);
}
END_TEST

/*
 * Split each fixture at every byte offset: the first call parses the
 * complete lines before the split, the second (fed from *consumed, header
 * skipped only if the first call did not get past it) the rest.  The
 * records are the same, in the same order, as in one call.
 */
START_TEST(parse_split_everywhere)
{
	const struct fixture *fx = &fixtures[_i];
	size_t len;
	char *buf = load(fx->name, &len);

	for (size_t k = 0; k <= len; k++) {
		char *a = exact(buf, k);
		struct recs r = {0};
		size_t c1 = (size_t)-1, c2 = (size_t)-1, want_c1 = 0;
		long n1, n2, bad = 0;
		char *b;

		for (size_t j = 0; j < k; j++)
			if (buf[j] == '\n')
				want_c1 = j + 1;
		n1 = eph_proc_parse(a, k, fx->family, 1, &c1, rec_cb, &r, &bad);
		ck_assert_msg(n1 >= 0, "%s split at %zu: first part %ld",
			      fx->name, k, n1);
		ck_assert_msg(c1 == want_c1,
			      "%s split at %zu: consumed %zu, want %zu",
			      fx->name, k, c1, want_c1);
		ck_assert_int_eq(n1, (long)r.n);
		b = exact(buf + c1, len - c1);
		n2 = eph_proc_parse(b, len - c1, fx->family, c1 == 0, &c2,
				    rec_cb, &r, &bad);
		ck_assert_msg(n2 >= 0,
			      "%s split at %zu: second part %ld (line %ld)",
			      fx->name, k, n2, bad);
		ck_assert_uint_eq(c2, len - c1);
		ck_assert_int_eq(n1 + n2, (long)fx->n);
		assert_recs(&r, fx->exp, fx->n);
		recs_free(&r);
		free(a);
		free(b);
	}
	free(buf);
}
END_TEST

/* Reading as a reader would: fixed-size reads appended to a carry-over
 * buffer, parse, keep the unconsumed tail. */
START_TEST(parse_chunked_reads)
{
	static const size_t chunks[] = {1, 2, 3, 7, 16, 61, 100, 150, 4096};

	for (int f = 0; f < N_FIXTURES; f++) {
		const struct fixture *fx = &fixtures[f];
		size_t len;
		char *buf = load(fx->name, &len);

		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]);
		     c++) {
			struct recs r = {0};
			char *carry = malloc(len + 1);
			size_t have = 0, off = 0;
			int header_done = 0;
			long total = 0, bad = 0;

			while (off < len) {
				size_t step = chunks[c] < len - off ? chunks[c]
								    : len - off;
				size_t consumed = 0;
				long n;

				memcpy(carry + have, buf + off, step);
				have += step;
				off += step;
				n = eph_proc_parse(carry, have, fx->family,
						   !header_done, &consumed,
						   rec_cb, &r, &bad);
				ck_assert_msg(n >= 0, "%s chunk %zu: %ld",
					      fx->name, chunks[c], n);
				total += n;
				if (consumed)
					header_done = 1;
				memmove(carry, carry + consumed,
					have - consumed);
				have -= consumed;
			}
			ck_assert_uint_eq(have, 0);
			ck_assert_int_eq(total, (long)fx->n);
			assert_recs(&r, fx->exp, fx->n);
			recs_free(&r);
			free(carry);
		}
		free(buf);
	}
}
END_TEST

/* ---- malformed lines ----------------------------------------------------- */

#define H4                                                                     \
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "  \
	"retrnsmt   uid  timeout inode\n"
#define H6                                                                     \
	"  sl  local_address                         remote_address          " \
	"              st tx_queue rx_queue tr tm->when retrnsmt   uid  "      \
	"timeout inode\n"
#define TAIL                                                                   \
	" 00000000:00000000 00:00000000 00000000     0        0 1 1 "          \
	"0000000000000000 100 0 0 10 0\n"
#define OK4 "   0: 0100007F:9C40 00000000:0000 0A" TAIL
#define OK6                                                                    \
	"   0: 00000000000000000000000001000000:9C40 "                         \
	"00000000000000000000000000000000:0000 0A" TAIL
#define LOOP6 "00000000000000000000000001000000"
#define ANY6  "00000000000000000000000000000000"

struct bad {
	int family;
	const char *line; /* the malformed line, with its newline */
};

static const struct bad bad_lines[] = {
    /* bad hex */
    {V4, "   1: 0100007G:9C40 00000000:0000 0A" TAIL},
    {V4, "   1: 0100007F:9CZ0 00000000:0000 0A" TAIL},
    {V4, "   1: 0100007F:9C40 0000X000:0000 0A" TAIL},
    {V4, "   1: 0100007F:9C40 00000000:00-0 0A" TAIL},
    {V4, "   1: 0100007F:9C40 00000000:0000 0G" TAIL},
    {V4, "   1: 0100007F:9C40 00000000:0000 XY" TAIL},
    {V6, "   1: 0000000000000000000000000100000G:9C40 " ANY6 ":0000 0A" TAIL},
    {V6, "   1: " LOOP6 ":9C40 " ANY6 ":00Q0 0A" TAIL},
    /* missing fields */
    {V4, "   1:\n"},
    {V4, "   1: 0100007F:9C40\n"},
    {V4, "   1: 0100007F:9C40 00000000:0000\n"},
    {V4, "   1: 0100007F:9C40 00000000:0000 \n"},
    {V4, "   1: 0100007F 00000000:0000 0A" TAIL},
    {V4, "   1: 0100007F: 00000000:0000 0A" TAIL},
    {V4, "   1: 0100007F:9C40 00000000: 0A" TAIL},
    {V4, "   1: :9C40 00000000:0000 0A" TAIL},
    {V4, "   1: 0100007F9C40 00000000:0000 0A" TAIL},
    {V6, "   1: " LOOP6 ":9C40\n"},
    {V6, "   1: " LOOP6 ":9C40 " ANY6 ":0000\n"},
    /* port above 0xFFFF */
    {V4, "   1: 0100007F:19C40 00000000:0000 0A" TAIL},
    {V4, "   1: 0100007F:9C40 00000000:10000 0A" TAIL},
    {V6, "   1: " LOOP6 ":19C40 " ANY6 ":0000 0A" TAIL},
    /* state above 0xFF */
    {V4, "   1: 0100007F:9C40 00000000:0000 100" TAIL},
    {V4, "   1: 0100007F:9C40 00000000:0000 0100" TAIL},
    /* truncated addresses */
    {V4, "   1: 100007F:9C40 00000000:0000 0A" TAIL},
    {V4, "   1: 0100007F:9C40 0000000:0000 0A" TAIL},
    {V4, "   1: 7F:9C40 00000000:0000 0A" TAIL},
    {V6, "   1: 0000000000000000000000000100000:9C40 " ANY6 ":0000 0A" TAIL},
    {V6, "   1: " LOOP6 ":9C40 0000000000000000000000000000000:0000 0A" TAIL},
    /* an IPv4 line read as IPv6, and an IPv6 line read as IPv4 */
    {V6, "   1: 0100007F:9C40 00000000:0000 0A" TAIL},
    {V4, "   1: " LOOP6 ":9C40 " ANY6 ":0000 0A" TAIL},
    /* address too long for the family */
    {V4, "   1: 00100007F:9C40 00000000:0000 0A" TAIL},
    {V6, "   1: 0" LOOP6 ":9C40 " ANY6 ":0000 0A" TAIL},
};

/* Header, one good line, the bad one (line 3), one good line after. */
START_TEST(parse_bad_line)
{
	const struct bad *b = &bad_lines[_i];
	const char *hdr = b->family == AF_INET ? H4 : H6;
	const char *ok = b->family == AF_INET ? OK4 : OK6;
	char text[2048];
	size_t len, consumed = 0;
	struct recs r = {0};
	long bad = -7, n;
	char *buf;

	len = (size_t)snprintf(text, sizeof(text), "%s%s%s%s", hdr, ok, b->line,
			       ok);
	ck_assert_uint_lt(len, sizeof(text));
	buf = exact(text, len);
	n = eph_proc_parse(buf, len, b->family, 1, &consumed, rec_cb, &r, &bad);
	ck_assert_msg(n == -EBADMSG, "accepted (%ld): %s", n, b->line);
	ck_assert_msg(bad == 3, "bad_line %ld, want 3: %s", bad, b->line);
	/* No bad_line pointer: same answer, no crash. */
	ck_assert_int_eq(
	    eph_proc_parse(buf, len, b->family, 1, &consumed, rec_cb, &r, NULL),
	    -EBADMSG);
	free(buf);

	/* As the first line of a header-less piece: line 1. */
	len = strlen(b->line);
	buf = exact(b->line, len);
	bad = -7;
	ck_assert_int_eq(
	    eph_proc_parse(buf, len, b->family, 0, &consumed, rec_cb, &r, &bad),
	    -EBADMSG);
	ck_assert_int_eq(bad, 1);
	free(buf);
	recs_free(&r);
}
END_TEST

/* The line number counts every line of the buffer, header included. */
START_TEST(parse_bad_line_number_deep)
{
	size_t len, consumed = 0;
	char *fix = load("proc-basic/net/tcp", &len);
	char *buf = malloc(len + 64);
	struct recs r = {0};
	long bad = 0;
	static const char badl[] = "  10: 0100007F:9C40 0000000:0000 0A\n";

	memcpy(buf, fix, len);
	memcpy(buf + len, badl, sizeof(badl) - 1);
	ck_assert_int_eq(eph_proc_parse(buf, len + sizeof(badl) - 1, AF_INET, 1,
					&consumed, rec_cb, &r, &bad),
			 -EBADMSG);
	ck_assert_int_eq(bad, 12); /* header + 10 sockets + the bad one */
	recs_free(&r);
	/* Without the header (skip_header 0, buffer from the first socket). */
	{
		const char *body = memchr(buf, '\n', len) + 1;
		size_t blen = len + sizeof(badl) - 1 - (size_t)(body - buf);

		bad = 0;
		ck_assert_int_eq(eph_proc_parse(body, blen, AF_INET, 0,
						&consumed, rec_cb, &r, &bad),
				 -EBADMSG);
		ck_assert_int_eq(bad, 11);
	}
	recs_free(&r);
	free(buf);
	free(fix);
}
END_TEST

/* ---- eph_proc_read ------------------------------------------------------- */

static int proc_read(const char *root_name, enum eph_proto proto, int family,
		     struct recs *r, char *why, size_t why_len, char *root,
		     size_t root_len)
{
	fixture_path(root, root_len, root_name);
	memset(why, 0, why_len);
	return eph_proc_read(root, proto, family, rec_cb, r, why, why_len);
}

START_TEST(read_fixture_root)
{
	static const struct {
		enum eph_proto proto;
		int family;
		const struct exp *exp;
		size_t n;
	} cases[] = {
	    {EPH_TCP, AF_INET, tcp4_exp, 10},
	    {EPH_TCP, AF_INET6, tcp6_exp, 7},
	    {EPH_UDP, AF_INET, udp4_exp, 2},
	    {EPH_UDP, AF_INET6, udp6_exp, 2},
	};
	char why[256], root[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct recs r = {0};

		ck_assert_int_eq(proc_read("proc-basic", cases[i].proto,
					   cases[i].family, &r, why,
					   sizeof(why), root, sizeof(root)),
				 0);
		assert_recs(&r, cases[i].exp, cases[i].n);
		recs_free(&r);
	}
}
END_TEST

START_TEST(read_missing_file)
{
	char why[256], root[4096], path[4200];
	struct recs r = {0};

	ck_assert_int_eq(proc_read("proc-missing-range", EPH_TCP, AF_INET6, &r,
				   why, sizeof(why), root, sizeof(root)),
			 -ENOENT);
	snprintf(path, sizeof(path), "%s/net/tcp6", root);
	ck_assert_msg(strstr(why, path) != NULL, "why \"%s\" does not name %s",
		      why, path);
	ck_assert_int_eq(proc_read("proc-missing-range", EPH_UDP, AF_INET, &r,
				   why, sizeof(why), root, sizeof(root)),
			 -ENOENT);
	snprintf(path, sizeof(path), "%s/net/udp", root);
	ck_assert_msg(strstr(why, path) != NULL, "why \"%s\" does not name %s",
		      why, path);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(read_malformed_file)
{
	char why[256], root[4096], path[4200];
	struct recs r = {0};

	ck_assert_int_eq(proc_read("proc-badnet", EPH_TCP, AF_INET, &r, why,
				   sizeof(why), root, sizeof(root)),
			 -EBADMSG);
	snprintf(path, sizeof(path), "%s/net/tcp", root);
	ck_assert_msg(strstr(why, path) != NULL, "why \"%s\" does not name %s",
		      why, path);
	recs_free(&r);
}
END_TEST

/* A table far larger than any sane read buffer (~450 KB), written at run
 * time: every record arrives once, in order, whatever the read size. */
START_TEST(read_large_file)
{
	char root[] = "/tmp/check_procfs.XXXXXX", path[256], why[256];
	const unsigned n_socks = 3000;
	struct recs r = {0};
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/net", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/net/tcp", root);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(H4, f);
	for (unsigned i = 0; i < n_socks; i++)
		fprintf(
		    f,
		    "%4u: 0100007F:%04X 0A0200C0:%04X %02X 00000000:00000000 "
		    "00:00000000 00000000  1000        0 %u 1 0000000000000000 "
		    "20 4 30 10 -1                     \n",
		    i, 30000 + i, 1 + i % 1000, i % 2 ? 1 : 6, 100000 + i);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(
	    eph_proc_read(root, EPH_TCP, AF_INET, rec_cb, &r, why, sizeof(why)),
	    0);
	ck_assert_uint_eq(r.n, n_socks);
	for (unsigned i = 0; i < n_socks; i++) {
		const struct eph_sock *s = &r.v[i];

		ck_assert_uint_eq(s->family, AF_INET);
		ck_assert_uint_eq(s->lport, 30000 + i);
		ck_assert_uint_eq(s->rport, 1 + i % 1000);
		ck_assert_uint_eq(s->state, i % 2 ? EPH_ST_ESTABLISHED
						  : EPH_ST_TIME_WAIT);
		ck_assert(memcmp(s->laddr, "\x7f\0\0\x01", 4) == 0);
		ck_assert(memcmp(s->raddr, "\xc0\0\x02\x0a", 4) == 0);
	}
	recs_free(&r);
	unlink(path);
	snprintf(path, sizeof(path), "%s/net", root);
	rmdir(path);
	rmdir(root);
}
END_TEST

/* This machine's own tables parse (when it has them). */
START_TEST(read_live_proc)
{
	static const char *const names[] = {"tcp", "tcp6", "udp", "udp6"};
	char why[256];

	for (int i = 0; i < 4; i++) {
		char path[64];
		struct recs r = {0};
		int rc;

		snprintf(path, sizeof(path), "/proc/net/%s", names[i]);
		if (access(path, R_OK) != 0)
			continue;
		rc = eph_proc_read("/proc", i < 2 ? EPH_TCP : EPH_UDP,
				   i % 2 ? AF_INET6 : AF_INET, rec_cb, &r, why,
				   sizeof(why));
		ck_assert_msg(rc == 0, "%s: %d (%s)", path, rc, why);
		for (size_t j = 0; j < r.n; j++)
			ck_assert(r.v[j].family == AF_INET ||
				  r.v[j].family == AF_INET6);
		recs_free(&r);
	}
}
END_TEST

/* ---- eph_sock_unmap ------------------------------------------------------ */

static struct eph_sock mk6(const char *l, unsigned lport, const char *ra,
			   unsigned rport, int state)
{
	struct eph_sock s;

	memset(&s, 0, sizeof(s));
	s.family = AF_INET6;
	s.state = (uint8_t)state;
	s.lport = (uint16_t)lport;
	s.rport = (uint16_t)rport;
	ck_assert_int_eq(inet_pton(AF_INET6, l, s.laddr), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, ra, s.raddr), 1);
	return s;
}

START_TEST(unmap_mapped_pair)
{
	struct eph_sock s =
	    mk6("::ffff:127.0.0.1", 40064, "::ffff:192.0.2.1", 8080, EST);
	static const struct exp e = {V4,    EST,	 "127.0.0.1",
				     40064, "192.0.2.1", 8080};

	eph_sock_unmap(&s);
	assert_sock(&s, &e, 0);
	/* Idempotent. */
	eph_sock_unmap(&s);
	assert_sock(&s, &e, 0);
}
END_TEST

START_TEST(unmap_leaves_ipv6)
{
	static const char *const addrs[] = {
	    "::1",
	    "::",
	    "2001:db8::1",
	    "::127.0.0.1",	  /* IPv4-compatible, not mapped */
	    "::fffe:127.0.0.1",	  /* almost */
	    "::ffff:0:127.0.0.1", /* IPv4-translated, not mapped */
	    "2001::ffff:7f00:1",  /* mapped suffix, wrong prefix */
	    "0:0:0:1:0:ffff:7f00:1",
	    "fe80::ffff:7f00:1",
	};

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		/* Connected to the same kind of address, and listening. */
		struct eph_sock s = mk6(addrs[i], 40000, addrs[i], 80, EST);
		struct eph_sock l = mk6(addrs[i], 40000, "::", 0, LISTEN);
		struct eph_sock before = s, lbefore = l;

		eph_sock_unmap(&s);
		ck_assert_msg(memcmp(&s, &before, sizeof(s)) == 0, "%s changed",
			      addrs[i]);
		eph_sock_unmap(&l);
		ck_assert_msg(memcmp(&l, &lbefore, sizeof(l)) == 0,
			      "listener on %s changed", addrs[i]);
	}
	/* A real IPv6 local address with a mapped-looking remote one. */
	{
		struct eph_sock s =
		    mk6("2001:db8::1", 40000, "::ffff:127.0.0.1", 80, EST);
		struct eph_sock before = s;

		eph_sock_unmap(&s);
		ck_assert(memcmp(&s, &before, sizeof(s)) == 0);
	}
}
END_TEST

START_TEST(unmap_leaves_ipv4)
{
	struct eph_sock s, before;

	memset(&s, 0, sizeof(s));
	s.family = AF_INET;
	s.state = EST;
	s.lport = 40000;
	s.rport = 80;
	memcpy(s.laddr, "\x7f\0\0\x01", 4);
	memcpy(s.raddr, "\xc0\0\x02\x01", 4);
	before = s;
	eph_sock_unmap(&s);
	ck_assert(memcmp(&s, &before, sizeof(s)) == 0);
}
END_TEST

/*
 * An IPv6 socket bound to ::ffff:127.0.0.1 and listening (or an
 * unconnected UDP one) has the unspecified remote address "::": it is an
 * IPv4 socket all the same, reported as 127.0.0.1 / 0.0.0.0.  (The
 * contract says "an IPv4-mapped IPv6 one is stored as AF_INET"; a
 * half-mapped pair is the only reading that keeps such listeners IPv4.)
 */
START_TEST(unmap_mapped_local_unspecified_remote)
{
	struct eph_sock s = mk6("::ffff:127.0.0.1", 40050, "::", 0, LISTEN);
	static const struct exp e = {V4,    LISTEN,    "127.0.0.1",
				     40050, "0.0.0.0", 0};

	eph_sock_unmap(&s);
	assert_sock(&s, &e, 0);
}
END_TEST

/* ::ffff:0.0.0.0 is a mapped address too. */
START_TEST(unmap_mapped_any)
{
	struct eph_sock s =
	    mk6("::ffff:0.0.0.0", 40000, "::ffff:10.0.0.1", 53, CLOSE);
	static const struct exp e = {V4,    CLOSE,	"0.0.0.0",
				     40000, "10.0.0.1", 53};

	eph_sock_unmap(&s);
	assert_sock(&s, &e, 0);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static Suite *procfs_suite(void)
{
	Suite *s = suite_create("procfs");
	TCase *tc;

	tc = tcase_create("proc_parse");
	tcase_add_loop_test(tc, parse_fixture, 0, N_FIXTURES);
	tcase_add_test(tc, parse_time_wait_left);
	tcase_add_test(tc, parse_time_wait_short_line);
	tcase_add_loop_test(tc, parse_no_header, 0, N_FIXTURES);
	tcase_add_test(tc, parse_any_header_skipped);
	tcase_add_test(tc, parse_empty);
	tcase_add_test(tc, parse_header_only);
	tcase_add_test(tc, parse_partial_last_line);
	tcase_add_test(tc, parse_partial_malformed_line_not_read);
	tcase_add_loop_test(tc, parse_split_everywhere, 0, N_FIXTURES);
	tcase_add_test(tc, parse_chunked_reads);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, parse_bad_line, 0,
			    (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tcase_add_test(tc, parse_bad_line_number_deep);
	suite_add_tcase(s, tc);

	tc = tcase_create("proc_read");
	tcase_add_test(tc, read_fixture_root);
	tcase_add_test(tc, read_missing_file);
	tcase_add_test(tc, read_malformed_file);
	tcase_add_test(tc, read_large_file);
	tcase_add_test(tc, read_live_proc);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("sock_unmap");
	tcase_add_test(tc, unmap_mapped_pair);
	tcase_add_test(tc, unmap_leaves_ipv6);
	tcase_add_test(tc, unmap_leaves_ipv4);
	tcase_add_test(tc, unmap_mapped_any);
	tcase_add_test(tc, unmap_mapped_local_unspecified_remote);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	/* The fixtures hold little-endian /proc/net address words. */
	fprintf(stderr, "check_procfs: fixtures are little-endian; skipped\n");
	return 77;
#endif
	return eph_run_suite(procfs_suite());
}
