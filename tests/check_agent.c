/*
 * check_agent - ephportd without Net-SNMP: ephportd.conf parsing, the
 * sorted view (GET / GETNEXT semantics), and the MIB rows built from
 * fixed snapshots (ordering, table ends, empty tables, stale status).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "mib.h"
#include "check_util.h"

static const ephd_oid root[] = {EPHD_ROOT};

/* OID = root . tail */
static size_t mk(ephd_oid *out, const ephd_oid *tail, size_t n)
{
	memcpy(out, root, sizeof(root));
	memcpy(out + EPHD_ROOT_LEN, tail, n * sizeof(*tail));
	return EPHD_ROOT_LEN + n;
}
#define MK(out, ...)                                                           \
	mk(out, (const ephd_oid[]){__VA_ARGS__},                               \
	   sizeof((const ephd_oid[]){__VA_ARGS__}) / sizeof(ephd_oid))

static bool has_tail(const struct ephd_row *r, const ephd_oid *tail, size_t n)
{
	return r && r->len == EPHD_ROOT_LEN + n &&
	       memcmp(r->name, root, sizeof(root)) == 0 &&
	       memcmp(r->name + EPHD_ROOT_LEN, tail, n * sizeof(*tail)) == 0;
}
#define HAS(r, ...)                                                            \
	has_tail(r, (const ephd_oid[]){__VA_ARGS__},                           \
		 sizeof((const ephd_oid[]){__VA_ARGS__}) / sizeof(ephd_oid))

/* ---- ephportd.conf ------------------------------------------------------ */

static int parse(const char *text, struct ephd_config *c, char *err)
{
	ephd_config_defaults(c);
	return ephd_config_parse(text, strlen(text), "t.conf", c, err, 256);
}

START_TEST(config_good)
{
	struct ephd_config c;
	char err[256] = "";

	ck_assert_int_eq(
	    parse("# comment\n\ninterval 5\n  topDestinations 10 # x\n"
		  "protocols tcp\nrisingThreshold 85.5\n"
		  "fallingThreshold 60\ndestinationAlarm no\n"
		  "agentXSocket /run/agentx.sock\nstateTotals off\n"
		  "source procfs\ndestinationCap 100\n"
		  "agentXPingInterval 3\nprocRoot /tmp/p",
		  &c, err),
	    0);
	ck_assert_uint_eq(c.interval, 5);
	ck_assert_uint_eq(c.top_n, 10);
	ck_assert_uint_eq(c.protocols, 1u << EPH_TCP);
	ck_assert_uint_eq(c.rising_bp, 8550);
	ck_assert_uint_eq(c.falling_bp, 6000);
	ck_assert(!c.dest_alarm);
	ck_assert(!c.state_totals);
	ck_assert_int_eq(c.source, EPH_PREFER_PROCFS);
	ck_assert_uint_eq(c.dest_cap, 100);
	ck_assert_uint_eq(c.ping_interval, 3);
	ck_assert_str_eq(c.agentx_socket, "/run/agentx.sock");
	ck_assert_str_eq(c.proc_root, "/tmp/p");
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(config_defaults)
{
	struct ephd_config c;
	char err[256];

	ck_assert_int_eq(parse("", &c, err), 0);
	ck_assert_uint_eq(c.interval, 10);
	ck_assert_uint_eq(c.top_n, 5);
	ck_assert_uint_eq(c.protocols, 3);
	ck_assert_uint_eq(c.rising_bp, 8000);
	ck_assert_uint_eq(c.falling_bp, 7000);
	ck_assert(c.dest_alarm);
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(config_bad)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"interval 0\n",
	     "t.conf:1: interval: expected seconds from 1 to 86400 (got '0')"},
	    {"\ninterval 5s\n", "t.conf:2: interval: expected seconds"},
	    {"topDestinations 33",
	     "t.conf:1: topDestinations: expected a number from 0 to 32"},
	    {"protocols sctp", "t.conf:1: protocols: expected tcp, udp"},
	    {"risingThreshold 101",
	     "t.conf:1: risingThreshold: expected a percent"},
	    {"risingThreshold 80.123", "t.conf:1: risingThreshold"},
	    {"fallingThreshold -1", "t.conf:1: fallingThreshold"},
	    {"destinationAlarm maybe",
	     "t.conf:1: destinationAlarm: expected yes or no"},
	    {"bogus 1", "t.conf:1: unknown token 'bogus'"},
	    {"interval", "t.conf:1: interval: missing value"},
	    {"interval 5 6", "t.conf:1: interval: one value expected"},
	    {"procRoot relative",
	     "t.conf:1: procRoot: expected an absolute path"},
	    {"source magic",
	     "t.conf:1: source: expected auto, netlink or procfs"},
	    {"interval 99999999999999999999", "t.conf:1: interval"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ephd_config c;
		char err[256] = "";

		ck_assert_int_eq(parse(cases[i].text, &c, err), -EINVAL);
		ck_assert_msg(
		    strncmp(err, cases[i].msg, strlen(cases[i].msg)) == 0,
		    "'%s': got '%s'", cases[i].text, err);
	}
}
END_TEST

START_TEST(config_thresholds_cross_check)
{
	struct ephd_config c;
	char err[256] = "";

	ck_assert_int_eq(
	    parse("risingThreshold 70\nfallingThreshold 70\n", &c, err), 0);
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(
	    err,
	    "fallingThreshold (70.00%) must be below risingThreshold (70.00%)");
}
END_TEST

START_TEST(config_missing_file)
{
	struct ephd_config c;
	char err[256] = "";

	ephd_config_defaults(&c);
	ck_assert_int_eq(ephd_config_load("/nonexistent/ephportd.conf", &c, err,
					  sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(
	    err, "/nonexistent/ephportd.conf: No such file or directory");
}
END_TEST

/* ---- the view ----------------------------------------------------------- */

START_TEST(view_get_next)
{
	struct ephd_view *v = ephd_view_new(1);
	struct ephd_value val = {.type = EPHD_GAUGE};
	const ephd_oid a[] = {1, 2}, b[] = {1, 2, 1}, c[] = {1, 3},
		       before[] = {1}, between[] = {1, 2, 0, 9}, after[] = {2};

	/* Added out of order, and one twice (kept once). */
	val.v.u = 3;
	ck_assert_int_eq(ephd_view_add(v, c, 2, &val), 0);
	val.v.u = 1;
	ck_assert_int_eq(ephd_view_add(v, a, 2, &val), 0);
	val.v.u = 2;
	ck_assert_int_eq(ephd_view_add(v, b, 3, &val), 0);
	ck_assert_int_eq(ephd_view_add(v, b, 3, &val), 0);
	ck_assert_uint_eq(ephd_view_seal(v), 1);
	ck_assert_uint_eq(v->n, 3);

	ck_assert_uint_eq(ephd_view_get(v, b, 3)->value.v.u, 2);
	ck_assert_ptr_null(ephd_view_get(v, before, 1));
	ck_assert_ptr_null(ephd_view_get(v, between, 4));
	/* A prefix sorts before its extensions. */
	ck_assert_uint_eq(ephd_view_next(v, before, 1)->value.v.u, 1);
	ck_assert_uint_eq(ephd_view_next(v, a, 2)->value.v.u, 2);
	ck_assert_uint_eq(ephd_view_next(v, between, 4)->value.v.u, 2);
	ck_assert_uint_eq(ephd_view_next(v, b, 3)->value.v.u, 3);
	ck_assert_ptr_null(ephd_view_next(v, c, 2));
	ck_assert_ptr_null(ephd_view_next(v, after, 1));
	ephd_view_free(v);
}
END_TEST

/* ---- the MIB rows -------------------------------------------------------- */

static struct eph_snapshot *fixed_snapshot(void)
{
	struct eph_snapshot *s = calloc(1, sizeof(*s));
	struct eph_proto_stats *t = &s->proto[EPH_TCP];
	struct eph_dest *d;

	s->taken_us = 1;
	s->duration_us = 1234;
	s->source = EPH_SOURCE_NETLINK;
	s->protocols = 1u << EPH_TCP;
	t->collected = true;
	t->source = EPH_SOURCE_NETLINK;
	t->low = 40000;
	t->high = 40099;
	t->size = 100;
	t->reserved = 6;
	t->usable = 94;
	t->ports_in_use = 20;
	t->ports_free = 74;
	t->state_in_range[EPH_ST_ESTABLISHED] = 17;
	t->exhaustion_bp = t->host_exhaustion_bp = 2127;
	t->n_top = 2;
	/* top[] is by sockets; the table is by index: IPv6 sorts after. */
	d = &t->top[0];
	d->laddr.family = d->raddr.family = AF_INET6;
	inet_pton(AF_INET6, "::1", d->laddr.bytes);
	inet_pton(AF_INET6, "::1", d->raddr.bytes);
	d->rport = 8080;
	d->sockets = 15;
	d = &t->top[1];
	d->laddr.family = d->raddr.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", d->laddr.bytes);
	inet_pton(AF_INET, "127.0.0.2", d->raddr.bytes);
	d->rport = 9090;
	d->sockets = 6;
	t->listeners_in_range = t->n_listeners = 1;
	t->listeners[0].addr.family = AF_INET;
	t->listeners[0].port = 40020;
	return s;
}

static struct ephd_view *build(const struct eph_snapshot *snap,
			       enum ephd_status status)
{
	struct ephd_state st = {.snap = snap,
				.status = status,
				.collections = 7,
				.failures = 2,
				.interval = 10,
				.rising_bp = 8000,
				.falling_bp = 7000,
				.dest_alarm = true,
				.ns_name = "net:[1]",
				.ns_inode = 1};

	return ephd_mib_build(&st);
}

START_TEST(mib_rows_sorted_and_typed)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct ephd_view *v = build(snap, EPHD_OK);
	ephd_oid name[EPHD_OID_MAX];
	const struct ephd_row *r;
	size_t n;

	ck_assert_ptr_nonnull(v);
	for (size_t i = 1; i < v->n; i++)
		ck_assert_int_lt(
		    ephd_oid_compare(v->rows[i - 1].name, v->rows[i - 1].len,
				     v->rows[i].name, v->rows[i].len),
		    0);
	/* ephCollectorStatus.0 = ok(1) */
	n = MK(name, 1, 1, 1, 0);
	r = ephd_view_get(v, name, n);
	ck_assert_int_eq(r->value.type, EPHD_INTEGER);
	ck_assert_int_eq(r->value.v.i, 1);
	/* ephCollectionsTotal.0 is a Counter64 */
	n = MK(name, 1, 1, 5, 0);
	r = ephd_view_get(v, name, n);
	ck_assert_int_eq(r->value.type, EPHD_COUNTER64);
	ck_assert_uint_eq(r->value.v.u, 7);
	/* ephRangeUsable.1.tcp = 94; no udp row (not collected) */
	n = MK(name, 1, 3, 1, 6, 1, 1);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 94);
	n = MK(name, 1, 3, 1, 6, 1, 2);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	/* ephStateInRange.1.tcp.established = 17 */
	n = MK(name, 1, 4, 1, 2, 1, 1, 1);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 17);
	/* bound(13) exists for TCP; new-syn-recv(12) does not */
	n = MK(name, 1, 4, 1, 2, 1, 1, 13);
	ck_assert_ptr_nonnull(ephd_view_get(v, name, n));
	n = MK(name, 1, 4, 1, 2, 1, 1, 12);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	free(snap);
	ephd_view_free(v);
}
END_TEST

START_TEST(mib_dest_table_order_and_index)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct ephd_view *v = build(snap, EPHD_OK);
	ephd_oid name[EPHD_OID_MAX];
	const struct ephd_row *r;
	size_t n;

	/* GETNEXT from the column gives the IPv4 row first: ipv4(1) < ipv6(2),
	 * index = ns.proto.1.4.127.0.0.1.1.4.127.0.0.2.9090 */
	n = MK(name, 1, 5, 1, 6);
	r = ephd_view_next(v, name, n);
	ck_assert(HAS(r, 1, 5, 1, 6, 1, 1, 1, 4, 127, 0, 0, 1, 1, 4, 127, 0, 0,
		      2, 9090));
	ck_assert_uint_eq(r->value.v.u, 6);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 5, 1, 6, 1, 1, 2, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		      0, 0, 0, 0, 0, 1, 2, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		      0, 0, 0, 0, 1, 8080));
	ck_assert_uint_eq(r->value.v.u, 15);
	/* Across the column end: the next column (ephDestTimeWait), first row
	 */
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 5, 1, 7, 1, 1, 1, 4, 127, 0, 0, 1, 1, 4, 127, 0, 0,
		      2, 9090));
	/* ephDestRank follows top[] order: the IPv6 destination is rank 1 */
	n = MK(name, 1, 5, 1, 9);
	r = ephd_view_next(v, name, n);
	ck_assert_uint_eq(r->value.v.u, 2);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert_uint_eq(r->value.v.u, 1);
	/* Across the table end: the listener table */
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 6, 1, 4, 1, 1, 1, 4, 0, 0, 0, 0, 40020));
	ck_assert_int_eq(r->value.v.i, EPH_ST_LISTEN);
	/* ... then the thresholds, then the end of the MIB */
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 7, 1, 0));
	ck_assert_uint_eq(r->value.v.u, 8000);
	n = MK(name, 1, 7, 3, 0);
	ck_assert_ptr_null(ephd_view_next(v, name, n));
	/* From before the root: the first object */
	ck_assert(HAS(ephd_view_next(v, root, EPHD_ROOT_LEN - 1), 1, 1, 1, 0));
	free(snap);
	ephd_view_free(v);
}
END_TEST

START_TEST(mib_empty_tables)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct ephd_view *v;
	ephd_oid name[EPHD_OID_MAX];
	size_t n;

	snap->proto[EPH_TCP].n_top = 0;
	snap->proto[EPH_TCP].n_listeners = 0;
	v = build(snap, EPHD_OK);
	/* The empty destination and listener tables are skipped over. */
	n = MK(name, 1, 5);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 7, 1, 0));
	free(snap);
	ephd_view_free(v);
}
END_TEST

START_TEST(mib_stale_and_failed)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct ephd_view *v = build(snap, EPHD_STALE);
	ephd_oid name[EPHD_OID_MAX];
	size_t n = MK(name, 1, 1, 1, 0);

	/* Stale: the status says so and the last numbers stay. */
	ck_assert_int_eq(ephd_view_get(v, name, n)->value.v.i, EPHD_STALE);
	n = MK(name, 1, 3, 1, 6, 1, 1);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 94);
	ephd_view_free(v);

	/* Failed before any success: general, namespace and thresholds only. */
	v = build(NULL, EPHD_FAILED);
	n = MK(name, 1, 1, 1, 0);
	ck_assert_int_eq(ephd_view_get(v, name, n)->value.v.i, EPHD_FAILED);
	n = MK(name, 1, 2, 1, 3);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 2, 1, 3, 1));
	n = MK(name, 1, 2, 1, 3, 1);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 7, 1, 0));
	free(snap);
	ephd_view_free(v);
}
END_TEST

START_TEST(mib_objects_unique)
{
	ephd_oid a[EPHD_OID_MAX], b[EPHD_OID_MAX];

	for (size_t i = 0; ephd_objects[i].name; i++) {
		size_t na = ephd_object_oid(i, a);

		for (size_t j = i + 1; ephd_objects[j].name; j++) {
			size_t nb = ephd_object_oid(j, b);

			ck_assert_int_ne(ephd_oid_compare(a, na, b, nb), 0);
			ck_assert_str_ne(ephd_objects[i].name,
					 ephd_objects[j].name);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, config_good);
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_bad);
	tcase_add_test(tc, config_thresholds_cross_check);
	tcase_add_test(tc, config_missing_file);
	tcase_add_test(tc, view_get_next);
	tcase_add_test(tc, mib_rows_sorted_and_typed);
	tcase_add_test(tc, mib_dest_table_order_and_index);
	tcase_add_test(tc, mib_empty_tables);
	tcase_add_test(tc, mib_stale_and_failed);
	tcase_add_test(tc, mib_objects_unique);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
