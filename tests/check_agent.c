/*
 * check_agent - ephportd without Net-SNMP: ephportd.conf parsing, the
 * sorted view (GET / GETNEXT semantics), and the MIB rows built from
 * fixed snapshots (ordering, table ends, empty tables, stale status).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
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
		  "agentXPingInterval 3\nprocRoot /tmp/p\nbpfBoundSockets no\n"
		  "exhaustionSeconds 300\nprocesses yes\nprocessesTop 100",
		  &c, err),
	    0);
	ck_assert(c.processes);
	ck_assert_uint_eq(c.processes_top, 100);
	ck_assert_uint_eq(c.interval, 5);
	ck_assert_uint_eq(c.top_n, 10);
	ck_assert_uint_eq(c.protocols, 1u << EPH_TCP);
	ck_assert_uint_eq(c.rising_bp, 8550);
	ck_assert_uint_eq(c.falling_bp, 6000);
	ck_assert(!c.dest_alarm);
	ck_assert(!c.state_totals);
	ck_assert(!c.bpf_bound_dump);
	ck_assert_int_eq(c.source, EPH_PREFER_PROCFS);
	ck_assert_uint_eq(c.dest_cap, 100);
	ck_assert_uint_eq(c.ping_interval, 3);
	ck_assert_uint_eq(c.exhaustion_s, 300);
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
	ck_assert_uint_eq(c.exhaustion_s, 0); /* off */
	ck_assert(!c.processes);	      /* off: a readdir per process */
	ck_assert_uint_eq(c.processes_top, 10);
	ck_assert_uint_eq(c.kind_rising_bp[EPH_KIND_BIND], EPHD_UNSET);
	ck_assert_uint_eq(c.kind_falling_bp[EPH_KIND_CONNECT], EPHD_UNSET);
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(config_kind_thresholds)
{
	struct ephd_config c;
	char err[256] = "";
	uint32_t r, f;

	/* Per kind, falling back to risingThreshold / fallingThreshold. */
	ck_assert_int_eq(parse("risingThreshold 60\nfallingThreshold 40\n"
			       "BindRisingThreshold 90.5\n"
			       "connectFallingThreshold 20.25\n",
			       &c, err),
			 0);
	ephd_config_thresholds(&c, EPH_KIND_BIND, &r, &f);
	ck_assert_uint_eq(r, 9050);
	ck_assert_uint_eq(f, 4000);
	ephd_config_thresholds(&c, EPH_KIND_CONNECT, &r, &f);
	ck_assert_uint_eq(r, 6000);
	ck_assert_uint_eq(f, 2025);
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), 0);

	/* All four, in any order relative to the defaults. */
	ck_assert_int_eq(parse("bindRisingThreshold 50\n"
			       "bindFallingThreshold 30\n"
			       "connectRisingThreshold 95\n"
			       "connectFallingThreshold 90\n"
			       "risingThreshold 10\nfallingThreshold 5\n",
			       &c, err),
			 0);
	ephd_config_thresholds(&c, EPH_KIND_BIND, &r, &f);
	ck_assert_uint_eq(r, 5000);
	ck_assert_uint_eq(f, 3000);
	ephd_config_thresholds(&c, EPH_KIND_CONNECT, &r, &f);
	ck_assert_uint_eq(r, 9500);
	ck_assert_uint_eq(f, 9000);
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), 0);

	/* Defaults: 80 / 70 for both kinds. */
	ck_assert_int_eq(parse("", &c, err), 0);
	ephd_config_thresholds(&c, EPH_KIND_CONNECT, &r, &f);
	ck_assert_uint_eq(r, 8000);
	ck_assert_uint_eq(f, 7000);
}
END_TEST

START_TEST(config_kind_thresholds_cross_check)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    /* A kind's own falling against the default rising. */
	    {"bindFallingThreshold 85\n",
	     "bindFallingThreshold (85.00%) must be below risingThreshold "
	     "(80.00%) for the bind alarms"},
	    {"connectRisingThreshold 50\nconnectFallingThreshold 50\n",
	     "connectFallingThreshold (50.00%) must be below "
	     "connectRisingThreshold (50.00%) for the connect alarms"},
	    {"connectRisingThreshold 60\n",
	     "fallingThreshold (70.00%) must be below connectRisingThreshold "
	     "(60.00%) for the connect alarms"},
	    /* The defaults wrong, made right for bind only: the connect
	     * alarms still use the defaults, named as such. */
	    {"risingThreshold 50\nfallingThreshold 60\n"
	     "bindRisingThreshold 70\n",
	     "fallingThreshold (60.00%) must be below risingThreshold "
	     "(50.00%)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ephd_config c;
		char err[256] = "";

		ck_assert_int_eq(parse(cases[i].text, &c, err), 0);
		ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)),
				 -EINVAL);
		ck_assert_str_eq(err, cases[i].msg);
	}
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
	    {"bindRisingThreshold 100.5",
	     "t.conf:1: bindRisingThreshold: expected a percent from 0 to 100 "
	     "(got '100.5')"},
	    {"\n\nbindFallingThreshold x",
	     "t.conf:3: bindFallingThreshold: expected a percent from 0 to "
	     "100 (got 'x')"},
	    {"connectRisingThreshold 80%",
	     "t.conf:1: connectRisingThreshold: expected a percent"},
	    {"connectFallingThreshold",
	     "t.conf:1: connectFallingThreshold: missing value"},
	    {"connectFallingThreshold 1 2",
	     "t.conf:1: connectFallingThreshold: one value expected"},
	    {"destinationAlarm maybe",
	     "t.conf:1: destinationAlarm: expected yes or no"},
	    {"bogus 1", "t.conf:1: unknown token 'bogus'"},
	    {"interval", "t.conf:1: interval: missing value"},
	    {"interval 5 6", "t.conf:1: interval: one value expected"},
	    {"procRoot relative",
	     "t.conf:1: procRoot: expected an absolute path"},
	    {"source magic",
	     "t.conf:1: source: expected auto, bpf, netlink or procfs"},
	    {"interval 99999999999999999999", "t.conf:1: interval"},
	    {"exhaustionSeconds 604801",
	     "t.conf:1: exhaustionSeconds: expected seconds from 0 (off) to "
	     "604800"},
	    {"exhaustionSeconds -5", "t.conf:1: exhaustionSeconds"},
	    {"processes sometimes",
	     "t.conf:1: processes: expected yes or no (got 'sometimes')"},
	    {"processes", "t.conf:1: processes: missing value"},
	    {"processesTop 0",
	     "t.conf:1: processesTop: expected a number from 1 to 100 "
	     "(got '0')"},
	    {"processesTop 101",
	     "t.conf:1: processesTop: expected a number from 1 to 100 "
	     "(got '101')"},
	    {"processesTop ten", "t.conf:1: processesTop: expected a number"},
	    {"processesTop 5 6", "t.conf:1: processesTop: one value expected"},
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

/* Issue 16, defect 6: tokens and values from the file are quoted with
 * control characters escaped and long ones shortened. */
START_TEST(config_escaped)
{
	struct ephd_config c;
	char err[256] = "";

	ck_assert_int_eq(parse("bo\x1b[2Jgus 1\n", &c, err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: unknown token 'bo\\x1b[2Jgus'");
	ck_assert_int_eq(parse("interval 5\x07\n", &c, err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: interval: expected seconds from 1 to "
			      "86400 (got '5\\x07')");
	ck_assert_int_eq(
	    parse("interval 123456789012345678901234567890123456789\n", &c,
		  err),
	    -EINVAL);
	ck_assert_str_eq(err,
			 "t.conf:1: interval: expected seconds from 1 to "
			 "86400 (got '12345678901234567890123456789012'...)");
	ck_assert_int_eq(parse("procRoot /tmp/\x1b]0;x\n", &c, err), -EINVAL);
	ck_assert(strchr(err, 0x1b) == NULL);
}
END_TEST

/* Issue 16, defect 1: a SIGHUP reload logs what changed. */
START_TEST(config_diff)
{
	struct ephd_config a, b;
	char err[256] = "", out[512];

	ck_assert_int_eq(parse("interval 5\n", &a, err), 0);
	ck_assert_int_eq(ephd_config_diff(&a, &a, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(parse("interval 10\nrisingThreshold 60\n"
			       "connectFallingThreshold 50.5\nprotocols tcp\n"
			       "source procfs\nprocRoot /tmp/p\n",
			       &b, err),
			 0);
	ck_assert_int_eq(ephd_config_diff(&a, &b, out, sizeof(out)), 6);
	ck_assert_str_eq(out, "interval 5 -> 10, protocols tcp,udp -> tcp, "
			      "source auto -> procfs, risingThreshold 80.00% "
			      "-> 60.00%, connectFallingThreshold unset -> "
			      "50.50%, procRoot \"\" -> /tmp/p");
	/* Cut to the buffer, still counted. */
	ck_assert_int_eq(ephd_config_diff(&a, &b, out, 20), 6);
	ck_assert_uint_lt(strlen(out), 20);
	ck_assert_int_eq(
	    parse("interval 5\nprocesses yes\nprocessesTop 5\n", &b, err), 0);
	ck_assert_int_eq(ephd_config_diff(&a, &b, out, sizeof(out)), 2);
	ck_assert_str_eq(out, "processes no -> yes, processesTop 10 -> 5");
}
END_TEST

/* Issue 16, defect 8: the gaps of ephportd.conf. */
START_TEST(config_gaps)
{
	struct ephd_config c;
	char err[256] = "", text[1200];

	/* A token given twice is an error naming both lines. */
	ck_assert_int_eq(parse("interval 5\n# x\nInterval 6\n", &c, err),
			 -EINVAL);
	ck_assert_str_eq(err,
			 "t.conf:3: interval given twice (first on line 1)");
	/* A NUL byte is an error, not the end of the line. */
	ck_assert_int_eq(ephd_config_parse("interval 5\0 junk\ntopDestinations "
					   "3\n",
					   27, "t.conf", &c, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: a NUL byte in the line");
	/* Comment lines of any length are fine; long settings are not. */
	memset(text, 'x', sizeof(text));
	memcpy(text, "# ", 2);
	memcpy(text + 1000, "\ninterval 7\n", 13);
	ck_assert_int_eq(
	    ephd_config_parse(text, 1012, "t.conf", &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.interval, 7);
	memcpy(text, "stateTotals on #", 16);
	ck_assert_int_eq(
	    ephd_config_parse(text, 1012, "t.conf", &c, err, sizeof(err)), 0);
	memset(text, 'x', 1000);
	memcpy(text, "procRoot /", 10);
	ck_assert_int_eq(
	    ephd_config_parse(text, 1012, "t.conf", &c, err, sizeof(err)),
	    -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: line too long");
	/* Three decimals: said so. */
	ck_assert_int_eq(parse("risingThreshold 80.555\n", &c, err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: risingThreshold: at most two decimals "
			      "(got '80.555')");
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
	/* The new model's numbers (values need not be consistent here). */
	t->bind_bp = 2127;
	t->bind_exact = true;
	t->bind_owned = 2;
	t->owners_exact = false;
	t->connect_new_bp = 212;
	t->connect_bp = 1808;
	t->pressure_bp = 2127;
	t->pressure_kind = EPH_KIND_BIND;
	t->time_wait = 3;
	t->time_wait_reusable = 1;
	s->knobs.read = true;
	s->knobs.tw_reuse = 1;
	s->knobs.tw_reuse_delay_ms = 2500;
	s->knobs.timestamps = 2;
	s->knobs.autobind_reuse = 0;
	t->n_top = 2;
	/* top[] is by sockets; the table is by index: IPv6 sorts after. */
	d = &t->top[0];
	d->laddr.family = d->raddr.family = AF_INET6;
	inet_pton(AF_INET6, "::1", d->laddr.bytes);
	inet_pton(AF_INET6, "::1", d->raddr.bytes);
	d->rport = 8080;
	d->sockets = 15;
	d->time_wait = 3;
	d->tw_reusable = 1;
	d->blocked = 17;
	d->connect_bp = 1808;
	d = &t->top[1];
	d->laddr.family = d->raddr.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", d->laddr.bytes);
	inet_pton(AF_INET, "127.0.0.2", d->raddr.bytes);
	d->rport = 9090;
	d->sockets = 6;
	d->blocked = 8;
	d->connect_bp = 851;
	t->has_worst = true;
	t->worst = t->top[0];
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
				.kind_rising_bp = {0, 9000, 8500},
				.kind_falling_bp = {0, 6000, 5500},
				.connect_alarm = true,
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
	/* The appended columns: blocked, connect pressure, reusable TW */
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 5, 1, 10, 1, 1, 1, 4, 127, 0, 0, 1, 1, 4, 127, 0, 0,
		      2, 9090));
	ck_assert_int_eq(r->value.type, EPHD_GAUGE);
	ck_assert_uint_eq(r->value.v.u, 8);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert_uint_eq(r->value.v.u, 17);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 5, 1, 11, 1, 1, 1, 4, 127, 0, 0, 1, 1, 4, 127, 0, 0,
		      2, 9090));
	ck_assert_int_eq(r->value.type, EPHD_UNSIGNED);
	ck_assert_uint_eq(r->value.v.u, 851);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert_uint_eq(r->value.v.u, 1808);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 5, 1, 12, 1, 1, 1, 4, 127, 0, 0, 1, 1, 4, 127, 0, 0,
		      2, 9090));
	ck_assert_uint_eq(r->value.v.u, 0);
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
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 7, 4, 0));
	/* After ephExhaustionThresholdSeconds.0 the failure table
	 * (ephAlarmKind and the event objects, accessible-for-notify, are
	 * never served): not observable, so no counter, and its alarm
	 * state off(3) of the last kind is the last row. */
	n = MK(name, 1, 7, 8, 0);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 7, 9, 0));
	n = MK(name, 1, 7, 9, 0);
	r = ephd_view_next(v, name, n);
	ck_assert(HAS(r, 1, 9, 1, 2, 1, 1));
	ck_assert_int_eq(r->value.v.i, 2);
	n = MK(name, 1, 9, 1, 8);
	r = ephd_view_next(v, name, n);
	ck_assert(HAS(r, 1, 9, 1, 9, 1, 1));
	ck_assert_int_eq(r->value.v.i, EPHD_ALARM_OFF);
	n = MK(name, 1, 9, 1, 9, 1, 3);
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

	/* Failed before any success: general, namespace (with whether
	 * processes are attributed, and why there are none) and thresholds
	 * only. */
	v = build(NULL, EPHD_FAILED);
	n = MK(name, 1, 1, 1, 0);
	ck_assert_int_eq(ephd_view_get(v, name, n)->value.v.i, EPHD_FAILED);
	n = MK(name, 1, 2, 1, 3);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 2, 1, 3, 1));
	n = MK(name, 1, 2, 1, 3, 1);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 2, 1, 10, 1));
	n = MK(name, 1, 2, 1, 10, 1);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 2, 1, 15, 1));
	n = MK(name, 1, 2, 1, 15, 1);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 7, 1, 0));
	free(snap);
	ephd_view_free(v);
}
END_TEST

/* The row named root . tail, which must exist. */
static const struct ephd_row *row_at(const struct ephd_view *v,
				     const ephd_oid *tail, size_t n)
{
	ephd_oid name[EPHD_OID_MAX];
	const struct ephd_row *r;

	memcpy(name, root, sizeof(root));
	memcpy(name + EPHD_ROOT_LEN, tail, n * sizeof(*tail));
	r = ephd_view_get(v, name, EPHD_ROOT_LEN + n);
	ck_assert_msg(r != NULL, "no row at tail .%u.%u.%u.%u", tail[0],
		      tail[1], tail[2], n > 3 ? tail[3] : 0);
	return r;
}
#define ROW(v, ...)                                                            \
	row_at(v, (const ephd_oid[]){__VA_ARGS__},                             \
	       sizeof((const ephd_oid[]){__VA_ARGS__}) / sizeof(ephd_oid))

static void ck_row(const struct ephd_row *r, enum ephd_type type, int64_t x)
{
	ck_assert_int_eq(r->value.type, type);
	if (type == EPHD_INTEGER)
		ck_assert_int_eq(r->value.v.i, x);
	else
		ck_assert_uint_eq(r->value.v.u, (uint64_t)x);
}

START_TEST(mib_pressure_columns)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct eph_proto_stats *u = &snap->proto[EPH_UDP];
	struct ephd_view *v;

	/* A UDP row: bind pressure only, the TCP-only columns 0 / true. */
	snap->protocols |= 1u << EPH_UDP;
	u->collected = true;
	u->usable = 94;
	u->ports_in_use = u->sockets_in_range = 3;
	u->bind_bp = 319;
	u->bind_exact = true;
	u->owners_exact = true;
	u->pressure_bp = 319;
	u->pressure_kind = EPH_KIND_BIND;
	snap->proto[EPH_TCP].pressure_kind = EPH_KIND_CONNECT;
	snap->proto[EPH_TCP].pressure_bp = 1808;
	v = build(snap, EPHD_OK);

	/* ephRange...: .1.3.1.COL.ns.proto */
	ck_row(ROW(v, 1, 3, 1, 24, 1, 1), EPHD_UNSIGNED, 2127);
	ck_row(ROW(v, 1, 3, 1, 25, 1, 1), EPHD_INTEGER, 1);
	ck_row(ROW(v, 1, 3, 1, 26, 1, 1), EPHD_GAUGE, 2);
	ck_row(ROW(v, 1, 3, 1, 27, 1, 1), EPHD_INTEGER, 2);
	ck_row(ROW(v, 1, 3, 1, 28, 1, 1), EPHD_UNSIGNED, 1808);
	ck_row(ROW(v, 1, 3, 1, 29, 1, 1), EPHD_UNSIGNED, 212);
	ck_row(ROW(v, 1, 3, 1, 30, 1, 1), EPHD_UNSIGNED, 1808);
	ck_row(ROW(v, 1, 3, 1, 31, 1, 1), EPHD_INTEGER, 2); /* connect */
	ck_row(ROW(v, 1, 3, 1, 32, 1, 1), EPHD_GAUGE, 1);
	ck_row(ROW(v, 1, 3, 1, 33, 1, 1), EPHD_INTEGER, EPHD_ALARM_NORMAL);
	ck_row(ROW(v, 1, 3, 1, 34, 1, 1), EPHD_INTEGER, EPHD_ALARM_NORMAL);
	/* The deprecated columns keep the first model's numbers. */
	ck_row(ROW(v, 1, 3, 1, 18, 1, 1), EPHD_UNSIGNED, 2127);
	ck_row(ROW(v, 1, 3, 1, 20, 1, 1), EPHD_UNSIGNED, 2127);
	ck_row(ROW(v, 1, 3, 1, 21, 1, 1), EPHD_INTEGER, 1);

	ck_row(ROW(v, 1, 3, 1, 24, 1, 2), EPHD_UNSIGNED, 319);
	ck_row(ROW(v, 1, 3, 1, 26, 1, 2), EPHD_GAUGE, 0);
	ck_row(ROW(v, 1, 3, 1, 27, 1, 2), EPHD_INTEGER, 1);
	ck_row(ROW(v, 1, 3, 1, 28, 1, 2), EPHD_UNSIGNED, 0);
	ck_row(ROW(v, 1, 3, 1, 30, 1, 2), EPHD_UNSIGNED, 319);
	ck_row(ROW(v, 1, 3, 1, 31, 1, 2), EPHD_INTEGER, 1); /* bind */
	/* UDP has no connect alarm. */
	ck_row(ROW(v, 1, 3, 1, 34, 1, 2), EPHD_INTEGER, EPHD_ALARM_OFF);

	/* The kernel settings, in the namespace row. */
	ck_row(ROW(v, 1, 2, 1, 4, 1), EPHD_INTEGER, 1);
	ck_row(ROW(v, 1, 2, 1, 5, 1), EPHD_UNSIGNED, 1);
	ck_row(ROW(v, 1, 2, 1, 6, 1), EPHD_UNSIGNED, 2500);
	ck_row(ROW(v, 1, 2, 1, 7, 1), EPHD_UNSIGNED, 2);
	ck_row(ROW(v, 1, 2, 1, 8, 1), EPHD_UNSIGNED, 0);

	/* The thresholds in effect per kind, and the deprecated ones. */
	ck_row(ROW(v, 1, 7, 1, 0), EPHD_UNSIGNED, 8000);
	ck_row(ROW(v, 1, 7, 2, 0), EPHD_UNSIGNED, 7000);
	ck_row(ROW(v, 1, 7, 3, 0), EPHD_INTEGER, 1);
	ck_row(ROW(v, 1, 7, 4, 0), EPHD_UNSIGNED, 9000);
	ck_row(ROW(v, 1, 7, 5, 0), EPHD_UNSIGNED, 6000);
	ck_row(ROW(v, 1, 7, 6, 0), EPHD_UNSIGNED, 8500);
	ck_row(ROW(v, 1, 7, 7, 0), EPHD_UNSIGNED, 5500);
	ck_row(ROW(v, 1, 7, 8, 0), EPHD_INTEGER, 1);
	free(snap);
	ephd_view_free(v);
}
END_TEST

START_TEST(mib_settings_need_a_snapshot)
{
	struct ephd_view *v = build(NULL, EPHD_FAILED);
	ephd_oid name[EPHD_OID_MAX];
	size_t n = MK(name, 1, 2, 1, 4, 1);

	ck_assert_ptr_null(ephd_view_get(v, name, n));
	ephd_view_free(v);
}
END_TEST

START_TEST(mib_alarm_states)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct ephd_state st = {.snap = snap,
				.status = EPHD_OK,
				.interval = 10,
				.connect_alarm = true,
				.ns_name = "x"};
	struct ephd_view *v;

	st.alarm[EPH_TCP][EPH_KIND_CONNECT] = EPHD_ALARM_HIGH;
	v = ephd_mib_build(&st);
	ck_row(ROW(v, 1, 3, 1, 33, 1, 1), EPHD_INTEGER, EPHD_ALARM_NORMAL);
	ck_row(ROW(v, 1, 3, 1, 34, 1, 1), EPHD_INTEGER, EPHD_ALARM_HIGH);
	/* The deprecated state is high while either alarm is. */
	ck_row(ROW(v, 1, 3, 1, 21, 1, 1), EPHD_INTEGER, 2);
	ephd_view_free(v);

	st.alarm[EPH_TCP][EPH_KIND_CONNECT] = EPHD_ALARM_NORMAL;
	st.alarm[EPH_TCP][EPH_KIND_BIND] = EPHD_ALARM_HIGH;
	st.connect_alarm = false;
	v = ephd_mib_build(&st);
	ck_row(ROW(v, 1, 3, 1, 33, 1, 1), EPHD_INTEGER, EPHD_ALARM_HIGH);
	ck_row(ROW(v, 1, 3, 1, 34, 1, 1), EPHD_INTEGER, EPHD_ALARM_OFF);
	ck_row(ROW(v, 1, 3, 1, 21, 1, 1), EPHD_INTEGER, 2);
	ck_row(ROW(v, 1, 7, 3, 0), EPHD_INTEGER, 2);
	ck_row(ROW(v, 1, 7, 8, 0), EPHD_INTEGER, 2);
	free(snap);
	ephd_view_free(v);
}
END_TEST

static struct ephd_event event(enum eph_alarm_event kind, enum eph_kind alarm)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct ephd_event e = {.kind = kind,
			       .alarm = alarm,
			       .proto = EPH_TCP,
			       .rising_bp = 5000,
			       .falling_bp = 3000,
			       .ns_name = "net:[7]"};

	e.stats = snap->proto[EPH_TCP];
	free(snap);
	return e;
}

START_TEST(mib_notification_bind)
{
	struct ephd_event e = event(EPH_ALARM_RAISED, EPH_KIND_BIND);
	struct ephd_row rows[EPHD_NOTIFY_ROWS];
	ephd_oid trap[EPHD_OID_MAX];
	size_t trap_len, n;

	n = ephd_mib_notification(&e, trap, &trap_len, rows, EPHD_NOTIFY_ROWS);
	/* ephPressureHigh = ephNotifications.3 */
	ck_assert_uint_eq(trap_len, EPHD_ROOT_LEN + 2);
	ck_assert_uint_eq(trap[EPHD_ROOT_LEN], 0);
	ck_assert_uint_eq(trap[EPHD_ROOT_LEN + 1], 3);
	/* The OBJECTS, in order; no destination for a bind alarm. */
	ck_assert_uint_eq(n, 9);
	ck_assert(HAS(&rows[0], 1, 2, 1, 2, 1));
	ck_assert_int_eq(rows[0].value.len, 7);
	ck_assert(memcmp(rows[0].value.v.s, "net:[7]", 7) == 0);
	ck_assert(HAS(&rows[1], 1, 8, 1, 0)); /* ephAlarmKind.0 = bind(1) */
	ck_row(&rows[1], EPHD_INTEGER, 1);
	ck_assert(HAS(&rows[2], 1, 3, 1, 24, 1, 1));
	ck_row(&rows[2], EPHD_UNSIGNED, 2127);
	ck_assert(HAS(&rows[3], 1, 3, 1, 28, 1, 1));
	ck_row(&rows[3], EPHD_UNSIGNED, 1808);
	ck_assert(HAS(&rows[4], 1, 3, 1, 8, 1, 1));
	ck_row(&rows[4], EPHD_GAUGE, 20);
	ck_assert(HAS(&rows[5], 1, 3, 1, 26, 1, 1));
	ck_row(&rows[5], EPHD_GAUGE, 2);
	ck_assert(HAS(&rows[6], 1, 3, 1, 6, 1, 1));
	ck_row(&rows[6], EPHD_UNSIGNED, 94);
	ck_assert(HAS(&rows[7], 1, 3, 1, 2, 1, 1));
	ck_row(&rows[7], EPHD_UNSIGNED, 40000);
	ck_assert(HAS(&rows[8], 1, 3, 1, 3, 1, 1));
	ck_row(&rows[8], EPHD_UNSIGNED, 40099);

	/* Too little room: nothing. */
	ck_assert_uint_eq(ephd_mib_notification(&e, trap, &trap_len, rows, 8),
			  0);
}
END_TEST

START_TEST(mib_notification_connect)
{
	struct ephd_event e = event(EPH_ALARM_CLEARED, EPH_KIND_CONNECT);
	struct ephd_row rows[EPHD_NOTIFY_ROWS];
	ephd_oid trap[EPHD_OID_MAX];
	size_t trap_len, n;

	n = ephd_mib_notification(&e, trap, &trap_len, rows, EPHD_NOTIFY_ROWS);
	/* ephPressureCleared = ephNotifications.4 */
	ck_assert_uint_eq(trap[EPHD_ROOT_LEN + 1], 4);
	ck_assert_uint_eq(n, 12);
	ck_row(&rows[1], EPHD_INTEGER, 2); /* connect(2) */
	/* The worst destination (::1 -> ::1:8080) follows, by its index. */
#define V6_ONE 2, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	ck_assert(HAS(&rows[9], 1, 5, 1, 11, 1, 1, V6_ONE, V6_ONE, 8080));
	ck_row(&rows[9], EPHD_UNSIGNED, 1808);
	ck_assert(HAS(&rows[10], 1, 5, 1, 10, 1, 1, V6_ONE, V6_ONE, 8080));
	ck_row(&rows[10], EPHD_GAUGE, 17);
	ck_assert(HAS(&rows[11], 1, 5, 1, 6, 1, 1, V6_ONE, V6_ONE, 8080));
	ck_row(&rows[11], EPHD_GAUGE, 15);
#undef V6_ONE
	/* No destination yet: the OBJECTS only. */
	e.stats.has_worst = false;
	ck_assert_uint_eq(
	    ephd_mib_notification(&e, trap, &trap_len, rows, EPHD_NOTIFY_ROWS),
	    9);
	/* A connect alarm with a destination needs room for 12. */
	e.stats.has_worst = true;
	ck_assert_uint_eq(ephd_mib_notification(&e, trap, &trap_len, rows, 11),
			  0);
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

/* ---- every network namespace (issue 12) ---------------------------------- */

START_TEST(config_namespaces)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"namespaces all web-*",
	     "t.conf:1: namespaces: all takes no pattern beside it (got "
	     "'all')"},
	    {"namespaces a b c d e f g h i j k l m n o p q",
	     "t.conf:1: namespaces: at most 16 patterns (got 'q')"},
	    {"namespaces\n", "t.conf:1: namespaces: missing value"},
	    {"namespaces a\x01", "t.conf:1: namespaces: control characters"},
	    {"namespaceExclude x\nnamespaces all\nnamespaceExclude y",
	     "t.conf:3: namespaceExclude given twice (first on line 1)"},
	    {"interval 5 6", "t.conf:1: interval: one value expected"},
	};
	struct ephd_config c;
	struct eph_netns own = {.kind = EPH_NS_SELF, .name = ""},
			 a = {.kind = EPH_NS_NAMED, .name = "web-a"},
			 b = {.kind = EPH_NS_NAMED, .name = "web-b"},
			 d = {.kind = EPH_NS_CONTAINER,
			      .name = "docker:0123456789ab"};
	char err[256] = "", out[512];

	/* The default: the own namespace only. */
	ck_assert_int_eq(parse("", &c, err), 0);
	ck_assert_int_eq(c.ns_mode, EPHD_NS_SELF);
	ck_assert(ephd_config_ns_selected(&c, &own));
	ck_assert(!ephd_config_ns_selected(&c, &a));
	ck_assert_int_eq(parse("namespaces self", &c, err), 0);
	ck_assert_int_eq(c.ns_mode, EPHD_NS_SELF);

	ck_assert_int_eq(
	    parse("namespaces all\nnamespaceExclude docker:*", &c, err), 0);
	ck_assert_int_eq(c.ns_mode, EPHD_NS_ALL);
	ck_assert(ephd_config_ns_selected(&c, &own));
	ck_assert(ephd_config_ns_selected(&c, &a));
	ck_assert(!ephd_config_ns_selected(&c, &d));
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), 0);

	/* Patterns: fnmatch on the name; the own one answers to "self". */
	ck_assert_int_eq(parse("namespaces web-* self\n"
			       "namespaceExclude web-b\n",
			       &c, err),
			 0);
	ck_assert_int_eq(c.ns_mode, EPHD_NS_PATTERNS);
	ck_assert_uint_eq(c.n_include, 2);
	ck_assert(ephd_config_ns_selected(&c, &own));
	ck_assert(ephd_config_ns_selected(&c, &a));
	ck_assert(!ephd_config_ns_selected(&c, &b));
	ck_assert(!ephd_config_ns_selected(&c, &d));
	ck_assert_int_eq(parse("namespaces web-*\n", &c, err), 0);
	ck_assert(!ephd_config_ns_selected(&c, &own));

	/* Reload: what changed. */
	{
		struct ephd_config x;

		ck_assert_int_eq(parse("", &x, err), 0);
		ck_assert_int_eq(
		    parse("namespaces all\nnamespaceExclude p*\n", &c, err), 0);
		ck_assert_int_eq(ephd_config_diff(&x, &c, out, sizeof(out)), 2);
		ck_assert_str_eq(out, "namespaces self -> all, "
				      "namespaceExclude \"\" -> p*");
	}

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(bad[i].text, &c, err), -EINVAL);
		ck_assert_msg(strncmp(err, bad[i].msg, strlen(bad[i].msg)) == 0,
			      "'%s': got '%s'", bad[i].text, err);
	}
	/* An exclusion needs namespaces to exclude from: FILE:LINE. */
	ck_assert_int_eq(parse("\nnamespaceExclude x\n", &c, err), 0);
	ck_assert_int_eq(ephd_config_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: namespaceExclude needs namespaces all "
			      "or namespaces PATTERN... (namespaces is self)");
}
END_TEST

/* Three namespaces: every row under its own index, its own numbers and
 * alarms; one not collected yet has its name and inode only. */
START_TEST(mib_several_namespaces)
{
	struct eph_snapshot *s1 = fixed_snapshot(), *s5 = fixed_snapshot();
	struct ephd_ns ns[3] = {
	    {.index = 5, .inode = 4026532500u, .name = "eph-b"},
	    {.index = 1, .inode = 4026531840u, .name = ""},
	    {.index = 9, .inode = 77, .name = "pid:42"},
	};
	struct ephd_state st = {.status = EPHD_OK,
				.interval = 10,
				.connect_alarm = true,
				.duration_us = 4300000,
				.ns = ns,
				.n_ns = 3};
	struct ephd_view *v;
	const struct ephd_row *r;
	ephd_oid name[EPHD_OID_MAX];
	size_t n;

	s5->proto[EPH_TCP].low = 42000;
	s5->proto[EPH_TCP].high = 42019;
	s5->proto[EPH_TCP].usable = 18;
	s5->source = EPH_SOURCE_PROCFS;
	s5->taken_us = -5; /* older than s1's */
	ns[0].snap = s5;
	ns[1].snap = s1;
	ns[0].alarm[EPH_TCP][EPH_KIND_BIND] = EPHD_ALARM_HIGH;
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);

	/* ephNamespaceTable by index: 1, 5, 9. */
	n = MK(name, 1, 2, 1, 2);
	r = ephd_view_next(v, name, n);
	ck_assert(HAS(r, 1, 2, 1, 2, 1));
	ck_assert_int_eq(r->value.len, 0);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 2, 1, 2, 5));
	ck_assert(r->value.len == 5 && memcmp(r->value.v.s, "eph-b", 5) == 0);
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 2, 1, 2, 9));
	ck_assert(r->value.len == 6 && memcmp(r->value.v.s, "pid:42", 6) == 0);
	ck_row(ROW(v, 1, 2, 1, 3, 5), EPHD_UNSIGNED, 4026532500u);
	ck_row(ROW(v, 1, 2, 1, 3, 9), EPHD_UNSIGNED, 77);
	/* Settings only once collected. */
	ck_row(ROW(v, 1, 2, 1, 4, 5), EPHD_INTEGER, 1);
	n = MK(name, 1, 2, 1, 4, 9);
	ck_assert_ptr_null(ephd_view_get(v, name, n));

	/* ephRangeTable: each namespace's numbers under its index. */
	ck_row(ROW(v, 1, 3, 1, 2, 1, 1), EPHD_UNSIGNED, 40000);
	ck_row(ROW(v, 1, 3, 1, 2, 5, 1), EPHD_UNSIGNED, 42000);
	ck_row(ROW(v, 1, 3, 1, 6, 5, 1), EPHD_UNSIGNED, 18);
	n = MK(name, 1, 3, 1, 2, 9, 1);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	/* GETNEXT walks the column across namespaces, then the next one. */
	n = MK(name, 1, 3, 1, 2, 1, 1);
	r = ephd_view_next(v, name, n);
	ck_assert(HAS(r, 1, 3, 1, 2, 5, 1));
	r = ephd_view_next(v, r->name, r->len);
	ck_assert(HAS(r, 1, 3, 1, 3, 1, 1));
	/* The other tables too. */
	ck_row(ROW(v, 1, 4, 1, 2, 5, 1, 1), EPHD_GAUGE, 17);
	n = MK(name, 1, 6, 1, 4, 1, 1, 1, 4, 0, 0, 0, 0, 40020);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 6, 1, 4, 5, 1, 1, 4, 0, 0,
		      0, 0, 40020));
	n = MK(name, 1, 5, 1, 6, 5, 1, 1, 4, 127, 0, 0, 1, 1, 4, 127, 0, 0, 2,
	       9090);
	ck_assert_ptr_nonnull(ephd_view_get(v, name, n));

	/* Alarms per namespace. */
	ck_row(ROW(v, 1, 3, 1, 33, 5, 1), EPHD_INTEGER, EPHD_ALARM_HIGH);
	ck_row(ROW(v, 1, 3, 1, 33, 1, 1), EPHD_INTEGER, EPHD_ALARM_NORMAL);
	ck_row(ROW(v, 1, 3, 1, 21, 5, 1), EPHD_INTEGER, 2);
	ck_row(ROW(v, 1, 3, 1, 21, 1, 1), EPHD_INTEGER, 1);

	/* The scalars of the pass: its duration, /proc when one fell back. */
	ck_row(ROW(v, 1, 1, 3, 0), EPHD_GAUGE, 4300000);
	ck_row(ROW(v, 1, 1, 4, 0), EPHD_INTEGER, 3);
	ck_assert_int_eq(v->taken_us, -5);
	ephd_view_free(v);
	free(s1);
	free(s5);
}
END_TEST

START_TEST(nsreg_index_stability_and_alarms)
{
	struct ephd_nsreg reg = {.next_index = 2};
	struct ephd_state st = {.connect_alarm = true,
				.kind_rising_bp = {0, 8000, 8000},
				.kind_falling_bp = {0, 7000, 7000}};
	struct ephd_events evs = {0};
	struct ephd_ns_entry *own, *a, *b, *c, *x;
	struct ephd_ns rows[8];
	struct ephd_row nrows[EPHD_NOTIFY_ROWS];
	ephd_oid trap[EPHD_OID_MAX];
	size_t trap_len;
	uint32_t ia, ib;

	own = ephd_nsreg_get(&reg, true, 10, 1, "", &st);
	ck_assert_uint_eq(own->index, 1);
	a = ephd_nsreg_get(&reg, false, 11, 1, "a", &st);
	ia = a->index;
	b = ephd_nsreg_get(&reg, false, 12, 1, "b", &st);
	ib = b->index;
	ck_assert_uint_eq(ia, 2);
	ck_assert_uint_eq(ib, 3);
	/* Found again (by inode and device): the same index; the name
	 * follows; the own one is the own one whatever its inode. */
	ck_assert_uint_eq(ephd_nsreg_get(&reg, false, 12, 1, "b2", &st)->index,
			  ib);
	ck_assert_str_eq(reg.v[2].name, "b2");
	ck_assert_uint_eq(ephd_nsreg_get(&reg, true, 99, 1, NULL, &st)->index,
			  1);
	ck_assert_uint_ne(ephd_nsreg_get(&reg, false, 12, 2, "b", &st)->index,
			  ib);
	ck_assert_uint_eq(reg.n, 4);

	/* Alarms per namespace: b near full raises, a does not. */
	for (size_t i = 0; i < reg.n; i++) {
		struct eph_snapshot *s = fixed_snapshot();

		memcpy(reg.v[i].snap, s, sizeof(*s));
		reg.v[i].has_snap = true;
		free(s);
	}
	b = &reg.v[2];
	b->snap->proto[EPH_TCP].bind_bp = 8888;
	b->snap->proto[EPH_TCP].pressure_bp = 8888;
	for (size_t i = 0; i < reg.n; i++)
		ephd_ns_update_alarms(&st, &reg.v[i], &evs);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_uint_eq(evs.ev[0].ns_index, ib);
	ck_assert_str_eq(evs.ev[0].ns_name, "b2");
	ck_assert_int_eq(evs.ev[0].alarm, EPH_KIND_BIND);
	ck_assert_int_eq(b->state[EPH_TCP][EPH_KIND_BIND], EPHD_ALARM_HIGH);
	ck_assert_int_eq(reg.v[1].state[EPH_TCP][EPH_KIND_BIND],
			 EPHD_ALARM_NORMAL);
	/* The notification names b: ephNsName.ib, its range rows .ib.1. */
	ck_assert_uint_eq(ephd_mib_notification(&evs.ev[0], trap, &trap_len,
						nrows, EPHD_NOTIFY_ROWS),
			  9);
	ck_assert(HAS(&nrows[0], 1, 2, 1, 2, ib));
	ck_assert(nrows[0].value.len == 2 &&
		  memcmp(nrows[0].value.v.s, "b2", 2) == 0);
	ck_assert(HAS(&nrows[2], 1, 3, 1, 24, ib, 1));
	/* Again high: no second crossing. */
	evs.n = 0;
	ephd_ns_update_alarms(&st, b, &evs);
	ck_assert_uint_eq(evs.n, 0);

	/* b vanishes: dropped with its alarm; the others keep their
	 * indexes; a new namespace does not get b's index back, and b,
	 * should its inode come back, is a new namespace, normal. */
	for (size_t i = 0; i < reg.n; i++)
		reg.v[i].seen = reg.v[i].index != ib;
	ephd_nsreg_drop_unseen(&reg);
	ck_assert_uint_eq(reg.n, 3);
	ck_assert_uint_eq(ephd_nsreg_rows(&reg, rows), 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_ne(rows[i].index, ib);
	ck_assert_uint_eq(ephd_nsreg_get(&reg, false, 11, 1, "a", &st)->index,
			  ia);
	c = ephd_nsreg_get(&reg, false, 13, 1, "c", &st);
	ck_assert_uint_ne(c->index, ib);
	ck_assert_uint_gt(c->index, ib);
	x = ephd_nsreg_get(&reg, false, 12, 1, "b", &st);
	ck_assert_uint_ne(x->index, ib);
	ck_assert_int_eq(x->state[EPH_TCP][EPH_KIND_BIND], EPHD_ALARM_NORMAL);
	/* A wrapped counter skips 0, 1 and the indexes in use. */
	reg.next_index = UINT32_MAX;
	ck_assert_uint_eq(ephd_nsreg_get(&reg, false, 14, 1, "d", &st)->index,
			  UINT32_MAX);
	/* 2 (a) is in use, 3 (b's) free again after 2^32 indexes. */
	ck_assert_uint_eq(ephd_nsreg_get(&reg, false, 15, 1, "e", &st)->index,
			  3);
	free(evs.ev);
	ephd_nsreg_free(&reg);
	ck_assert_uint_eq(reg.n, 0);
}
END_TEST

/* ---- rates and time to exhaustion (issue 14) ---------------------------- */

/* A result as rate.c would give it: TCP opening 12.3456/s against 6.6667/s
 * sustainable (400 ports), pressure approaching in 17.9 s, the worst
 * destination exhausted; UDP without a counter, not approaching. */
static struct eph_rate_result fixed_rates(void)
{
	struct eph_rate_result r = {
	    .samples = 10, .window_s = 30, .measured_s = 9};
	struct eph_rate_proto *t = &r.proto[EPH_TCP], *u = &r.proto[EPH_UDP];

	t->collected = u->collected = true;
	t->open_status = EPH_RATE_OK;
	t->open_rate = 12.3456;
	t->tw_bound = true;
	t->sustainable_ports = 400;
	t->sustainable_rate = 400 / 60.0;
	t->has_headroom = true;
	t->headroom = t->sustainable_rate / t->open_rate;
	t->pressure.status = EPH_TREND_APPROACHING;
	t->pressure.seconds = 17.9;
	t->worst_blocked.status = EPH_TREND_EXHAUSTED;
	u->open_status = EPH_RATE_NO_COUNTER;
	u->pressure.status = EPH_TREND_NOT_APPROACHING;
	u->worst_blocked.status = EPH_TREND_UNKNOWN;
	return r;
}

static bool has_row(const struct ephd_view *v, const ephd_oid *tail, size_t n)
{
	ephd_oid name[EPHD_OID_MAX];

	return ephd_view_get(v, name, mk(name, tail, n)) != NULL;
}
#define HAS_ROW(v, ...)                                                        \
	has_row(v, (const ephd_oid[]){__VA_ARGS__},                            \
		sizeof((const ephd_oid[]){__VA_ARGS__}) / sizeof(ephd_oid))

START_TEST(mib_rate_columns)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct eph_rate_result rates = fixed_rates();
	struct ephd_state st = {.snap = snap,
				.status = EPHD_OK,
				.interval = 1,
				.ns_name = "",
				.rate = &rates,
				.exh_alarm = {EPHD_ALARM_HIGH, 0},
				.exhaustion_s = 20};
	struct ephd_view *v;

	snap->protocols |= 1u << EPH_UDP;
	snap->proto[EPH_UDP].collected = true;
	snap->proto[EPH_UDP].usable = 94;
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	/* TCP: every column; rates in thousandths, headroom in hundredths */
	ck_row(ROW(v, 1, 3, 1, 35, 1, 1), EPHD_GAUGE, 12346);
	ck_row(ROW(v, 1, 3, 1, 36, 1, 1), EPHD_INTEGER, 1); /* ok */
	ck_row(ROW(v, 1, 3, 1, 37, 1, 1), EPHD_INTEGER, 1); /* true */
	ck_row(ROW(v, 1, 3, 1, 38, 1, 1), EPHD_GAUGE, 400);
	ck_row(ROW(v, 1, 3, 1, 39, 1, 1), EPHD_GAUGE, 6667);
	ck_row(ROW(v, 1, 3, 1, 40, 1, 1), EPHD_GAUGE, 54);
	ck_row(ROW(v, 1, 3, 1, 41, 1, 1), EPHD_INTEGER, 3); /* approaching */
	ck_row(ROW(v, 1, 3, 1, 42, 1, 1), EPHD_GAUGE, 17);  /* rounded down */
	ck_row(ROW(v, 1, 3, 1, 43, 1, 1), EPHD_INTEGER, 4); /* exhausted */
	ck_row(ROW(v, 1, 3, 1, 44, 1, 1), EPHD_GAUGE, 0);
	ck_row(ROW(v, 1, 3, 1, 45, 1, 1), EPHD_INTEGER, EPHD_ALARM_HIGH);
	ck_row(ROW(v, 1, 7, 9, 0), EPHD_UNSIGNED, 20);
	/* UDP: no open rate, not TIME_WAIT bound: those columns absent */
	ck_assert(!HAS_ROW(v, 1, 3, 1, 35, 1, 2));
	ck_row(ROW(v, 1, 3, 1, 36, 1, 2), EPHD_INTEGER, 4); /* noCounter */
	ck_row(ROW(v, 1, 3, 1, 37, 1, 2), EPHD_INTEGER, 2); /* false */
	ck_assert(!HAS_ROW(v, 1, 3, 1, 38, 1, 2));
	ck_assert(!HAS_ROW(v, 1, 3, 1, 39, 1, 2));
	ck_assert(!HAS_ROW(v, 1, 3, 1, 40, 1, 2));
	ck_row(ROW(v, 1, 3, 1, 41, 1, 2), EPHD_INTEGER, 2);
	ck_row(ROW(v, 1, 3, 1, 42, 1, 2), EPHD_GAUGE, UINT32_MAX);
	ck_row(ROW(v, 1, 3, 1, 43, 1, 2), EPHD_INTEGER, 1); /* unknown */
	ck_row(ROW(v, 1, 3, 1, 44, 1, 2), EPHD_GAUGE, UINT32_MAX);
	ck_row(ROW(v, 1, 3, 1, 45, 1, 2), EPHD_INTEGER, EPHD_ALARM_NORMAL);
	ephd_view_free(v);

	/* The first sample: a status, no rate, no headroom. */
	rates.proto[EPH_TCP].open_status = EPH_RATE_FIRST;
	rates.proto[EPH_TCP].has_headroom = false;
	rates.proto[EPH_TCP].pressure.seconds = 1e12; /* capped */
	st.exhaustion_s = 0;			      /* alarm off */
	v = ephd_mib_build(&st);
	ck_assert(!HAS_ROW(v, 1, 3, 1, 35, 1, 1));
	ck_row(ROW(v, 1, 3, 1, 36, 1, 1), EPHD_INTEGER, 2); /* firstSample */
	ck_assert(!HAS_ROW(v, 1, 3, 1, 40, 1, 1));
	ck_row(ROW(v, 1, 3, 1, 39, 1, 1), EPHD_GAUGE, 6667);
	ck_row(ROW(v, 1, 3, 1, 42, 1, 1), EPHD_GAUGE, UINT32_MAX - 1);
	ck_row(ROW(v, 1, 3, 1, 45, 1, 1), EPHD_INTEGER, EPHD_ALARM_OFF);
	ck_row(ROW(v, 1, 7, 9, 0), EPHD_UNSIGNED, 0);
	ephd_view_free(v);

	/* No result yet: no rate column at all. */
	st.rate = NULL;
	v = ephd_mib_build(&st);
	for (ephd_oid col = 35; col <= 45; col++)
		ck_assert(!HAS_ROW(v, 1, 3, 1, col, 1, 1));
	ephd_view_free(v);
	free(snap);
}
END_TEST

START_TEST(exh_alarm_hysteresis)
{
	struct eph_trend t = {.status = EPH_TREND_UNKNOWN};
	bool high = false;

#define FEED(st, secs)                                                         \
	(t.status = (st), t.seconds = (secs),                                  \
	 ephd_exh_alarm_update(&high, 30, &t))
	ck_assert_int_eq(FEED(EPH_TREND_UNKNOWN, 0), EPH_ALARM_NONE);
	ck_assert_int_eq(FEED(EPH_TREND_APPROACHING, 31), EPH_ALARM_NONE);
	ck_assert_int_eq(FEED(EPH_TREND_APPROACHING, 30), EPH_ALARM_RAISED);
	ck_assert(high);
	/* Raised once; nothing between the threshold and twice it. */
	ck_assert_int_eq(FEED(EPH_TREND_APPROACHING, 10), EPH_ALARM_NONE);
	ck_assert_int_eq(FEED(EPH_TREND_APPROACHING, 45), EPH_ALARM_NONE);
	ck_assert_int_eq(FEED(EPH_TREND_APPROACHING, 60), EPH_ALARM_NONE);
	ck_assert_int_eq(FEED(EPH_TREND_UNKNOWN, 0), EPH_ALARM_NONE);
	ck_assert_int_eq(FEED(EPH_TREND_EXHAUSTED, 0), EPH_ALARM_NONE);
	ck_assert_int_eq(FEED(EPH_TREND_APPROACHING, 60.5), EPH_ALARM_CLEARED);
	ck_assert(!high);
	ck_assert_int_eq(FEED(EPH_TREND_APPROACHING, 45), EPH_ALARM_NONE);
	/* Already full raises too; flat or falling clears. */
	ck_assert_int_eq(FEED(EPH_TREND_EXHAUSTED, 0), EPH_ALARM_RAISED);
	ck_assert_int_eq(FEED(EPH_TREND_NOT_APPROACHING, 0), EPH_ALARM_CLEARED);
	ck_assert_int_eq(FEED(EPH_TREND_NOT_APPROACHING, 0), EPH_ALARM_NONE);
#undef FEED
	/* Off: never raised; a raised one is cleared. */
	t.status = EPH_TREND_EXHAUSTED;
	ck_assert_int_eq(ephd_exh_alarm_update(&high, 0, &t), EPH_ALARM_NONE);
	high = true;
	ck_assert_int_eq(ephd_exh_alarm_update(&high, 0, &t),
			 EPH_ALARM_CLEARED);
}
END_TEST

START_TEST(mib_notification_exhaustion)
{
	struct ephd_event e = event(EPH_ALARM_RAISED, EPH_KIND_BIND);
	struct eph_rate_result rates = fixed_rates();
	struct ephd_row rows[EPHD_NOTIFY_ROWS];
	ephd_oid trap[EPHD_OID_MAX];
	size_t trap_len, n;

	e.exhaustion = true;
	e.threshold_s = 20;
	e.rate = rates.proto[EPH_TCP];
	n = ephd_mib_notification(&e, trap, &trap_len, rows, EPHD_NOTIFY_ROWS);
	/* ephExhaustionSoon = ephNotifications.5 */
	ck_assert_uint_eq(trap_len, EPHD_ROOT_LEN + 2);
	ck_assert_uint_eq(trap[EPHD_ROOT_LEN + 1], 5);
	ck_assert_uint_eq(n, 7);
	ck_assert(HAS(&rows[0], 1, 2, 1, 2, 1));
	ck_assert(HAS(&rows[1], 1, 3, 1, 42, 1, 1));
	ck_row(&rows[1], EPHD_GAUGE, 17);
	ck_assert(HAS(&rows[2], 1, 3, 1, 41, 1, 1));
	ck_row(&rows[2], EPHD_INTEGER, 3);
	ck_assert(HAS(&rows[3], 1, 3, 1, 30, 1, 1));
	ck_assert(HAS(&rows[4], 1, 3, 1, 31, 1, 1));
	ck_row(&rows[4], EPHD_INTEGER,
	       e.stats.pressure_kind == EPH_KIND_CONNECT ? 2 : 1);
	ck_assert(HAS(&rows[5], 1, 3, 1, 6, 1, 1));
	ck_row(&rows[5], EPHD_UNSIGNED, 94);
	ck_assert(HAS(&rows[6], 1, 7, 9, 0));
	ck_row(&rows[6], EPHD_UNSIGNED, 20);
	/* ephExhaustionSoonCleared = .6 */
	e.kind = EPH_ALARM_CLEARED;
	e.rate.pressure.status = EPH_TREND_NOT_APPROACHING;
	n = ephd_mib_notification(&e, trap, &trap_len, rows, EPHD_NOTIFY_ROWS);
	ck_assert_uint_eq(trap[EPHD_ROOT_LEN + 1], 6);
	ck_assert_uint_eq(n, 7);
	ck_row(&rows[1], EPHD_GAUGE, UINT32_MAX);
	ck_assert_uint_eq(ephd_mib_notification(&e, trap, &trap_len, rows, 6),
			  0);
}
END_TEST

/* The collector thread's path: snapshots into a namespace's history, the
 * rates out, the exhaustion alarm raised once, and cleared when the
 * pressure stops rising; a reset empties the history. */
START_TEST(nsreg_rates_and_exhaustion_alarm)
{
	struct ephd_nsreg reg = {.next_index = 2};
	struct ephd_state st = {.connect_alarm = true,
				.kind_rising_bp = {0, 9900, 9900},
				.kind_falling_bp = {0, 9000, 9000},
				.exhaustion_s = 30};
	struct ephd_events evs = {0};
	struct eph_snapshot *base = fixed_snapshot();
	struct ephd_ns_entry *e;
	struct ephd_ns rows[1];
	unsigned raised = 0, cleared = 0;

	e = ephd_nsreg_get(&reg, true, 10, 1, "", &st);
	ck_assert_ptr_nonnull(e);
	/* 1 s apart: 10 opens/s, bind pressure +500 bp/s (5 ports of 100)
	 * for 12 s, then flat for longer than the 30 s window. */
	for (int i = 0; i < 50; i++) {
		struct eph_proto_stats *t;

		*e->snap = *base;
		t = &e->snap->proto[EPH_TCP];
		e->snap->counters.read = true;
		e->snap->counters.tcp_active_opens = 1000 + 10u * (unsigned)i;
		t->usable = 100;
		t->ports_in_use = 10 + 5 * (uint32_t)(i < 12 ? i : 12);
		t->bind_bp = t->pressure_bp = t->ports_in_use * 100;
		t->connect_bp = 0;
		t->pressure_kind = EPH_KIND_BIND;
		t->has_worst = false;
		e->has_snap = true;
		ephd_ns_rate_add(e, 5000000 + (int64_t)i * 1000000);
		evs.n = 0;
		ephd_ns_update_alarms(&st, e, &evs);
		for (unsigned k = 0; k < evs.n; k++) {
			ck_assert(evs.ev[k].exhaustion);
			ck_assert_int_eq(evs.ev[k].proto, EPH_TCP);
			ck_assert_uint_eq(evs.ev[k].threshold_s, 30);
			if (evs.ev[k].kind == EPH_ALARM_RAISED) {
				raised++;
				/* 80 ports left at 5 ports/s */
				ck_assert_int_eq(i, 2);
				ck_assert_double_eq_tol(
				    evs.ev[k].rate.pressure.seconds, 16.0,
				    1e-6);
			} else {
				cleared++;
				ck_assert_uint_eq(raised, 1);
			}
		}
		if (i == 0)
			ck_assert_int_eq(e->rate_res.proto[EPH_TCP].open_status,
					 EPH_RATE_FIRST);
		if (i == 5) {
			ck_assert_int_eq(e->rate_res.proto[EPH_TCP].open_status,
					 EPH_RATE_OK);
			ck_assert_double_eq_tol(
			    e->rate_res.proto[EPH_TCP].open_rate, 10.0, 1e-6);
		}
	}
	ck_assert_uint_eq(raised, 1);
	ck_assert_uint_eq(cleared, 1); /* flat from i = 12 */
	ck_assert_int_eq(e->rate_res.proto[EPH_TCP].pressure.status,
			 EPH_TREND_NOT_APPROACHING);
	ck_assert(e->has_rate);
	ephd_nsreg_rows(&reg, rows);
	ck_assert_ptr_eq(rows[0].rate, &e->rate_res);
	ck_assert_int_eq(rows[0].exh_alarm[EPH_TCP], EPHD_ALARM_NORMAL);
	/* A new time not after the last: ignored. */
	ephd_ns_rate_add(e, 1);
	ck_assert(e->has_rate);
	ephd_nsreg_reset_rates(&reg);
	ck_assert(!e->has_rate);
	ck_assert_uint_eq(e->rate->count, 0);
	ephd_nsreg_rows(&reg, rows);
	ck_assert_ptr_null(rows[0].rate);
	free(evs.ev);
	free(base);
	ephd_nsreg_free(&reg);
}
END_TEST

/* ---- allocation failures (issue 18) ------------------------------------ */

/* The counters of e's snapshot: observable since since_us, with counts. */
static void set_failures(struct ephd_ns_entry *e, int64_t since_us,
			 uint64_t connect, uint64_t bind, uint64_t autobind)
{
	struct eph_failures *f = &e->snap->failures;

	memset(f, 0, sizeof(*f));
	f->observable = true;
	f->since_us = since_us;
	f->total[EPH_FAIL_CONNECT] = connect;
	f->total[EPH_FAIL_BIND] = bind;
	f->total[EPH_FAIL_AUTOBIND] = autobind;
	if (connect) {
		f->last_us[EPH_FAIL_CONNECT] = since_us + 1;
		f->n_dests = 1;
		f->dests[0].kind = EPH_FAIL_CONNECT;
		f->dests[0].raddr.family = AF_INET;
		f->dests[0].raddr.bytes[0] = 127;
		f->dests[0].raddr.bytes[3] = 1;
		f->dests[0].rport = 5000;
		f->dests[0].count = connect;
		f->n_procs = 1;
		f->procs[0].kind = EPH_FAIL_CONNECT;
		f->procs[0].pid = 4242;
		snprintf(f->procs[0].comm, sizeof(f->procs[0].comm), "client");
		f->procs[0].count = connect;
	}
	f->dest_other[EPH_FAIL_BIND] = bind;
	f->proc_other[EPH_FAIL_BIND] = bind;
	f->proc_other[EPH_FAIL_AUTOBIND] = f->dest_other[EPH_FAIL_AUTOBIND] =
	    autobind;
}

START_TEST(nsreg_failures_rate_limit_and_discontinuity)
{
	struct ephd_nsreg reg = {.next_index = 2};
	struct ephd_state st = {.interval = 10};
	struct ephd_events evs = {0};
	struct ephd_ns_entry *e;
	const int64_t S = 1000000, real0 = 1700000000 * S, mono0 = 100 * S;

	e = ephd_nsreg_get(&reg, true, 10, 1, "", &st);
	ck_assert_ptr_nonnull(e);
	/* Not observable: no event, the alarms off. */
	e->snap->failures.observable = false;
	ephd_ns_update_failures(&st, e, mono0, real0, &evs);
	ck_assert_uint_eq(evs.n, 0);
	ck_assert_int_eq(e->fail_alarm[EPH_FAIL_CONNECT], EPHD_ALARM_OFF);
	/* Observable, loaded before the agent watched, 5 connect failures
	 * already: a baseline, no event; counting from now. */
	set_failures(e, real0 - 60 * S, 5, 0, 0);
	ephd_ns_update_failures(&st, e, mono0 + S, real0 + S, &evs);
	ck_assert_uint_eq(evs.n, 0);
	ck_assert_int_eq(e->fail_disc_mono_us, mono0 + S);
	ck_assert_int_eq(e->fail_alarm[EPH_FAIL_CONNECT], EPHD_ALARM_NORMAL);
	/* The first rise: at once, naming the worst destination and process. */
	set_failures(e, real0 - 60 * S, 8, 0, 0);
	ephd_ns_update_failures(&st, e, mono0 + 2 * S, real0 + 2 * S, &evs);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert(evs.ev[0].failure);
	ck_assert_int_eq(evs.ev[0].fail_kind, EPH_FAIL_CONNECT);
	ck_assert_uint_eq(evs.ev[0].fail_count, 8);
	ck_assert_uint_eq(evs.ev[0].fail_new, 3);
	ck_assert(evs.ev[0].has_dest);
	ck_assert_uint_eq(evs.ev[0].dest_port, 5000);
	ck_assert_uint_eq(evs.ev[0].pid, 4242);
	ck_assert_str_eq(evs.ev[0].comm, "client");
	ck_assert_int_eq(e->fail_alarm[EPH_FAIL_CONNECT], EPHD_ALARM_HIGH);
	/* 3 s later, 2 more: held by the rate limit (10 s), the alarm high. */
	evs.n = 0;
	set_failures(e, real0 - 60 * S, 10, 0, 0);
	ephd_ns_update_failures(&st, e, mono0 + 5 * S, real0 + 5 * S, &evs);
	ck_assert_uint_eq(evs.n, 0);
	ck_assert_int_eq(e->fail_alarm[EPH_FAIL_CONNECT], EPHD_ALARM_HIGH);
	/* No new failure: normal, still held. */
	ephd_ns_update_failures(&st, e, mono0 + 8 * S, real0 + 8 * S, &evs);
	ck_assert_uint_eq(evs.n, 0);
	ck_assert_int_eq(e->fail_alarm[EPH_FAIL_CONNECT], EPHD_ALARM_NORMAL);
	/* An interval after the last one: the carried 2 are sent. */
	ephd_ns_update_failures(&st, e, mono0 + 12 * S, real0 + 12 * S, &evs);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_uint_eq(evs.ev[0].fail_count, 10);
	ck_assert_uint_eq(evs.ev[0].fail_new, 2);
	/* Another kind has a rate limit of its own: at once; no destination,
	 * no process for this bind failure. */
	evs.n = 0;
	set_failures(e, real0 - 60 * S, 10, 1, 0);
	ephd_ns_update_failures(&st, e, mono0 + 13 * S, real0 + 13 * S, &evs);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_int_eq(evs.ev[0].fail_kind, EPH_FAIL_BIND);
	ck_assert(!evs.ev[0].has_dest);
	ck_assert_uint_eq(evs.ev[0].pid, 0);
	/* ephport-bpf loaded again with fresh maps at real0 + 20 s: a
	 * discontinuity then; what they counted is news. */
	evs.n = 0;
	set_failures(e, real0 + 20 * S, 1, 0, 0);
	ephd_ns_update_failures(&st, e, mono0 + 30 * S, real0 + 30 * S, &evs);
	ck_assert_int_eq(e->fail_disc_mono_us, mono0 + 20 * S);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_uint_eq(evs.ev[0].fail_count, 1);
	ck_assert_uint_eq(evs.ev[0].fail_new, 1);
	/* Unobservable, then back with the same maps, loaded while the agent
	 * watched: counted from their load, every failure news. */
	evs.n = 0;
	e->snap->failures.observable = false;
	ephd_ns_update_failures(&st, e, mono0 + 40 * S, real0 + 40 * S, &evs);
	set_failures(e, real0 + 20 * S, 3, 0, 0);
	ephd_ns_update_failures(&st, e, mono0 + 50 * S, real0 + 50 * S, &evs);
	ck_assert_int_eq(e->fail_disc_mono_us, mono0 + 20 * S);
	ck_assert_uint_eq(evs.n, 1);
	ck_assert_uint_eq(evs.ev[0].fail_new, 3);
	free(evs.ev);
	ephd_nsreg_free(&reg);
}
END_TEST

START_TEST(mib_failure_rows)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct ephd_ns ns = {.index = 1,
			     .snap = snap,
			     .fail_disc_mono_us = 777,
			     .fail_alarm = {EPHD_ALARM_HIGH, 0, 0}};
	struct ephd_state st = {.status = EPHD_OK, .ns = &ns, .n_ns = 1};
	struct ephd_ns_entry e = {.index = 1, .snap = snap};
	struct ephd_view *v;
	const struct ephd_row *r;
	ephd_oid name[EPHD_OID_MAX];
	size_t n;

	/* Not observable: the reason, no counter. */
	memset(&snap->failures, 0, sizeof(snap->failures));
	snprintf(snap->failures.why, sizeof(snap->failures.why),
		 "not observable without the BPF source (no /x/fail_meta)");
	snap->counters.tw_recycled_read = true;
	snap->counters.tw_recycled = 12;
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	n = MK(name, 1, 9, 1, 3, 1, 2);
	r = ephd_view_get(v, name, n);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->value.len, strlen(snap->failures.why));
	n = MK(name, 1, 9, 1, 4, 1, 1);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	n = MK(name, 1, 2, 1, 9, 1);
	r = ephd_view_get(v, name, n);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->value.type, EPHD_COUNTER64);
	ck_assert_uint_eq(r->value.v.u, 12);
	ephd_view_free(v);
	/* Observable: counts, the discontinuity time as a monotonic time,
	 * the destination and process rows. */
	set_failures(&e, 5, 3, 2, 0);
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	n = MK(name, 1, 9, 1, 4, 1, 1);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 3);
	n = MK(name, 1, 9, 1, 4, 1, 3); /* measured: a real 0 */
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 0);
	n = MK(name, 1, 9, 1, 5, 1, 2);
	r = ephd_view_get(v, name, n);
	ck_assert_int_eq(r->value.dynamic, EPHD_UPTIME_AT);
	ck_assert_uint_eq(r->value.v.u, 777);
	n = MK(name, 1, 9, 1, 6, 1, 2); /* no bind failure time: absent */
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	n = MK(name, 1, 9, 1, 6, 1, 1);
	ck_assert_int_eq(ephd_view_get(v, name, n)->value.dynamic, EPHD_AGE_OF);
	n = MK(name, 1, 9, 1, 9, 1, 1);
	ck_assert_int_eq(ephd_view_get(v, name, n)->value.v.i, EPHD_ALARM_HIGH);
	n = MK(name, 1, 9, 1, 7, 1, 2);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 2);
	n = MK(name, 1, 10, 1, 4, 1, 1, 1, 4, 127, 0, 0, 1, 5000);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 3);
	n = MK(name, 1, 10, 1, 5, 1, 1, 1, 4, 127, 0, 0, 1, 5000);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 1);
	/* No since_us: the row began with the namespace's discontinuity. */
	n = MK(name, 1, 10, 1, 6, 1, 1, 1, 4, 127, 0, 0, 1, 5000);
	r = ephd_view_get(v, name, n);
	ck_assert_int_eq(r->value.dynamic, EPHD_UPTIME_AT);
	ck_assert_uint_eq(r->value.v.u, 777);
	ephd_view_free(v);
	/* A row made after it (since_us on CLOCK_REALTIME, real - mono =
	 * 10^6): its own time on the monotonic clock; made before it: the
	 * namespace's. */
	ns.fail_real_minus_mono_us = 1000000;
	snap->failures.dests[0].since_us = 1000000 + 5000;
	snap->failures.procs[0].since_us = 1000000 + 100;
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	n = MK(name, 1, 10, 1, 6, 1, 1, 1, 4, 127, 0, 0, 1, 5000);
	ck_assert_uint_eq(ephd_view_get(v, name, n)->value.v.u, 5000);
	n = MK(name, 1, 11, 1, 7, 1, 1, 4242);
	r = ephd_view_get(v, name, n);
	ck_assert_int_eq(r->value.dynamic, EPHD_UPTIME_AT);
	ck_assert_uint_eq(r->value.v.u, 777);
	n = MK(name, 1, 11, 1, 2, 1, 1, 4242);
	r = ephd_view_get(v, name, n);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->value.len, 6);
	ck_assert(memcmp(r->value.v.s, "client", 6) == 0);
	ephd_view_free(v);
	free(snap);
}
END_TEST

/* Who holds the ports: ephNsProcesses... and ephProcessTable. */
START_TEST(mib_process_rows)
{
	struct eph_snapshot *snap = fixed_snapshot();
	struct eph_holder hv[3] = {
	    {.pid = 200,
	     .comm = "holder70",
	     .ports = {70, 0},
	     .sockets = {70, 0},
	     .has_worst = true,
	     .worst_rport = 9000,
	     .worst_sockets = 70,
	     .cgroup = "/system.slice/x.service"},
	    {.pid = 100, .ports = {30, 2}, .sockets = {31, 2}},
	    {.pid = 0, .comm = "none"}, /* no pid: not a row */
	};
	struct eph_holders h = {.source = EPH_HOLDERS_BPF,
				.n = 3,
				.processes = 5,
				.processes_denied = 4,
				.sockets_unattributed = 9,
				.v = hv};
	struct ephd_ns ns = {.index = 3, .snap = snap, .holders = &h};
	struct ephd_state st = {
	    .status = EPHD_OK, .ns = &ns, .n_ns = 1, .processes = true};
	struct ephd_view *v;
	const struct ephd_row *r;
	ephd_oid name[EPHD_OID_MAX];
	size_t n;

	memcpy(hv[1].comm, "abcdefghijklmnop", 16); /* all 16, no NUL */
	hv[0].worst_raddr.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.9", hv[0].worst_raddr.bytes);
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	ck_row(row_at(v, (const ephd_oid[]){1, 2, 1, 10, 3}, 5), EPHD_INTEGER,
	       1);
	ck_row(row_at(v, (const ephd_oid[]){1, 2, 1, 11, 3}, 5), EPHD_INTEGER,
	       2);
	ck_row(row_at(v, (const ephd_oid[]){1, 2, 1, 12, 3}, 5), EPHD_GAUGE, 5);
	ck_row(row_at(v, (const ephd_oid[]){1, 2, 1, 13, 3}, 5), EPHD_GAUGE, 4);
	ck_row(row_at(v, (const ephd_oid[]){1, 2, 1, 14, 3}, 5), EPHD_GAUGE, 9);
	ck_assert_int_eq(
	    row_at(v, (const ephd_oid[]){1, 2, 1, 15, 3}, 5)->value.len, 0);
	/* Index (ephNsIndex, ephProcessPid), pids in order. */
	n = MK(name, 1, 12, 1, 2);
	ck_assert(HAS(ephd_view_next(v, name, n), 1, 12, 1, 2, 3, 100));
	n = MK(name, 1, 12, 1, 2, 3, 100);
	r = ephd_view_next(v, name, n);
	ck_assert(HAS(r, 1, 12, 1, 2, 3, 200));
	ck_assert_int_eq(r->value.len, 8);
	ck_assert(memcmp(r->value.v.s, "holder70", 8) == 0);
	/* comm of 16 bytes without a NUL: cut to SIZE (0..15) */
	ck_assert_int_eq(
	    row_at(v, (const ephd_oid[]){1, 12, 1, 2, 3, 100}, 6)->value.len,
	    15);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 5, 3, 200}, 6),
	       EPHD_GAUGE, 70);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 5, 3, 100}, 6),
	       EPHD_GAUGE, 30);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 6, 3, 100}, 6),
	       EPHD_GAUGE, 2);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 7, 3, 100}, 6),
	       EPHD_GAUGE, 31);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 8, 3, 100}, 6),
	       EPHD_GAUGE, 2);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 9, 3, 200}, 6),
	       EPHD_INTEGER, 1);
	r = row_at(v, (const ephd_oid[]){1, 12, 1, 10, 3, 200}, 6);
	ck_assert_int_eq(r->value.type, EPHD_OCTETS);
	ck_assert_int_eq(r->value.len, 4);
	ck_assert(memcmp(r->value.v.s, "\x0a\x00\x00\x09", 4) == 0);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 11, 3, 200}, 6),
	       EPHD_UNSIGNED, 9000);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 12, 3, 200}, 6),
	       EPHD_GAUGE, 70);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 13, 3, 200}, 6),
	       EPHD_UNSIGNED, 1);
	ck_row(row_at(v, (const ephd_oid[]){1, 12, 1, 13, 3, 100}, 6),
	       EPHD_UNSIGNED, 2);
	/* No worst destination: those columns are absent, not zeros. */
	n = MK(name, 1, 12, 1, 9, 3, 100);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	n = MK(name, 1, 12, 1, 2, 3, 0);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	ephd_view_free(v);

	/* Not collected (a failure): the flag, the reason, no count. */
	ns.holders = NULL;
	ns.holders_why = "cannot read the pin: Permission denied";
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	r = row_at(v, (const ephd_oid[]){1, 2, 1, 15, 3}, 5);
	ck_assert_int_eq(r->value.len, strlen(ns.holders_why));
	n = MK(name, 1, 2, 1, 12, 3);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	n = MK(name, 1, 12); /* the table is the last of the module */
	ck_assert_ptr_null(ephd_view_next(v, name, n));
	/* The range rows are still there. */
	n = MK(name, 1, 3, 1, 6, 3, 1);
	ck_assert_ptr_nonnull(ephd_view_get(v, name, n));
	ephd_view_free(v);

	/* processes no: false(2), the table empty whatever the holders. */
	ns.holders = &h;
	st.processes = false;
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	ck_row(row_at(v, (const ephd_oid[]){1, 2, 1, 10, 3}, 5), EPHD_INTEGER,
	       2);
	r = row_at(v, (const ephd_oid[]){1, 2, 1, 15, 3}, 5);
	ck_assert_int_eq(r->value.len, 33);
	ck_assert(
	    memcmp(r->value.v.s, "off (ephportd.conf: processes no)", 33) == 0);
	n = MK(name, 1, 2, 1, 11, 3);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	n = MK(name, 1, 12, 1, 2, 3, 200);
	ck_assert_ptr_null(ephd_view_get(v, name, n));
	ephd_view_free(v);
	free(snap);
}
END_TEST

START_TEST(mib_notification_failure)
{
	struct ephd_event e = {.failure = true,
			       .fail_kind = EPH_FAIL_CONNECT,
			       .fail_count = 7,
			       .fail_new = 3,
			       .ns_index = 2,
			       .has_dest = true,
			       .dest_port = 5000,
			       .pid = 99};
	struct ephd_row rows[EPHD_NOTIFY_ROWS];
	ephd_oid trap[EPHD_OID_MAX];
	size_t trap_len, n;

	e.dest_addr.family = AF_INET;
	e.dest_addr.bytes[0] = 10;
	snprintf(e.comm, sizeof(e.comm), "curl");
	snprintf(e.ns_name, sizeof(e.ns_name), "web");
	n = ephd_mib_notification(&e, trap, &trap_len, rows, EPHD_NOTIFY_ROWS);
	ck_assert_uint_eq(n, 9);
	ck_assert_uint_eq(trap_len, EPHD_ROOT_LEN + 2);
	ck_assert_uint_eq(trap[EPHD_ROOT_LEN + 1], 7);
	ck_assert(HAS(&rows[0], 1, 2, 1, 2, 2));
	ck_assert(HAS(&rows[1], 1, 8, 2, 0));
	ck_assert_int_eq(rows[1].value.v.i, 1);
	ck_assert(HAS(&rows[2], 1, 9, 1, 4, 2, 1));
	ck_assert_uint_eq(rows[2].value.v.u, 7);
	ck_assert_uint_eq(rows[3].value.v.u, 3);
	ck_assert_int_eq(rows[4].value.v.i, 1);
	ck_assert_int_eq(rows[5].value.len, 4);
	ck_assert_uint_eq((uint8_t)rows[5].value.v.s[0], 10);
	ck_assert_uint_eq(rows[6].value.v.u, 5000);
	ck_assert_uint_eq(rows[7].value.v.u, 99);
	ck_assert(HAS(&rows[8], 1, 8, 8, 0));
	/* No destination: unknown(0), a zero-length address, port 0. */
	e.has_dest = false;
	e.fail_kind = EPH_FAIL_BIND;
	n = ephd_mib_notification(&e, trap, &trap_len, rows, EPHD_NOTIFY_ROWS);
	ck_assert_uint_eq(n, 9);
	ck_assert_int_eq(rows[1].value.v.i, 2);
	ck_assert_int_eq(rows[4].value.v.i, 0);
	ck_assert_int_eq(rows[5].value.len, 0);
	ck_assert_uint_eq(rows[6].value.v.u, 0);
	ck_assert_uint_eq(ephd_mib_notification(&e, trap, &trap_len, rows, 8),
			  0);
}
END_TEST

/* The row's DisplayString is exactly want (len bytes). */
static void ck_octets(const struct ephd_row *r, const char *want)
{
	ck_assert_int_eq(r->value.type, EPHD_OCTETS);
	ck_assert_int_eq(r->value.len, strlen(want));
	ck_assert_msg(memcmp(r->value.v.s, want, r->value.len) == 0,
		      "got \"%.*s\", want \"%s\"", r->value.len, r->value.v.s,
		      want);
}

/* DisplayStrings are NVT ASCII (RFC 2579): a comm, cgroup, container or
 * namespace name of any bytes is served with each byte outside 0x20-0x7e
 * as '?'; the InetAddress OCTET STRINGs keep their bytes. */
START_TEST(mib_display_strings)
{
	struct eph_snapshot *snap = fixed_snapshot();
	/* A comm PR_SET_NAME made and the kernel cut inside a character. */
	static const char comm[] = "ab\xff\"\\\x7f\xe2\x82";
	struct eph_holder hv[1] = {{.pid = 100,
				    .ports = {1, 0},
				    .sockets = {1, 0},
				    .has_worst = true,
				    .worst_rport = 80,
				    .worst_sockets = 1,
				    .cgroup = "/caf\xc3\xa9.slice/x\n.scope",
				    .container = "w\teb\x1b[0m"}};
	struct eph_holders h = {.n = 1, .processes = 1, .v = hv};
	struct ephd_ns ns = {
	    .index = 3, .name = "n\xc3\xa9t\x01", .snap = snap, .holders = &h};
	struct ephd_state st = {
	    .status = EPHD_OK, .ns = &ns, .n_ns = 1, .processes = true};
	struct ephd_ns_entry e = {.index = 3, .snap = snap};
	struct ephd_event ev = {.failure = true,
				.fail_kind = EPH_FAIL_CONNECT,
				.fail_count = 1,
				.ns_index = 3,
				.pid = 4242};
	struct ephd_row rows[EPHD_NOTIFY_ROWS];
	ephd_oid trap[EPHD_OID_MAX];
	struct ephd_view *v;
	const struct ephd_row *r;
	size_t trap_len, n;

	memcpy(hv[0].comm, comm, sizeof(comm));
	hv[0].worst_raddr.family = AF_INET;
	memcpy(hv[0].worst_raddr.bytes, "\x0a\x00\xff\x7f", 4);
	set_failures(&e, 1, 5, 0, 0);
	memcpy(snap->failures.procs[0].comm, comm, sizeof(comm));
	snprintf(snap->failures.procs[0].cgroup,
		 sizeof(snap->failures.procs[0].cgroup), "/a\x80\x9b[2J");
	snprintf(snap->failures.procs[0].container,
		 sizeof(snap->failures.procs[0].container), "\xc3\xa9");
	v = ephd_mib_build(&st);
	ck_assert_ptr_nonnull(v);
	ck_octets(row_at(v, (const ephd_oid[]){1, 12, 1, 2, 3, 100}, 6),
		  "ab?\"\\???");
	ck_octets(row_at(v, (const ephd_oid[]){1, 12, 1, 3, 3, 100}, 6),
		  "/caf??.slice/x?.scope");
	ck_octets(row_at(v, (const ephd_oid[]){1, 12, 1, 4, 3, 100}, 6),
		  "w?eb?[0m");
	ck_octets(row_at(v, (const ephd_oid[]){1, 2, 1, 2, 3}, 5), "n??t?");
	ck_octets(row_at(v, (const ephd_oid[]){1, 11, 1, 2, 3, 1, 4242}, 7),
		  "ab?\"\\???");
	ck_octets(row_at(v, (const ephd_oid[]){1, 11, 1, 3, 3, 1, 4242}, 7),
		  "/a??[2J");
	ck_octets(row_at(v, (const ephd_oid[]){1, 11, 1, 4, 3, 1, 4242}, 7),
		  "??");
	/* ephProcessWorstAddress is an InetAddress: its bytes as they are. */
	r = row_at(v, (const ephd_oid[]){1, 12, 1, 10, 3, 100}, 6);
	ck_assert_int_eq(r->value.len, 4);
	ck_assert(memcmp(r->value.v.s, "\x0a\x00\xff\x7f", 4) == 0);
	ephd_view_free(v);
	/* ephPortAllocationFailed's ephFailureEventComm and ephNsName. */
	memcpy(ev.comm, comm, sizeof(comm));
	snprintf(ev.ns_name, sizeof(ev.ns_name), "w\xe2\x82\xac");
	n = ephd_mib_notification(&ev, trap, &trap_len, rows, EPHD_NOTIFY_ROWS);
	ck_assert_uint_eq(n, 9);
	ck_assert(HAS(&rows[0], 1, 2, 1, 2, 3));
	ck_octets(&rows[0], "w???");
	ck_assert(HAS(&rows[8], 1, 8, 8, 0));
	ck_octets(&rows[8], "ab?\"\\???");
	free(snap);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, config_good);
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_bad);
	tcase_add_test(tc, config_escaped);
	tcase_add_test(tc, config_diff);
	tcase_add_test(tc, config_gaps);
	tcase_add_test(tc, config_thresholds_cross_check);
	tcase_add_test(tc, config_kind_thresholds);
	tcase_add_test(tc, config_kind_thresholds_cross_check);
	tcase_add_test(tc, config_missing_file);
	tcase_add_test(tc, view_get_next);
	tcase_add_test(tc, mib_rows_sorted_and_typed);
	tcase_add_test(tc, mib_dest_table_order_and_index);
	tcase_add_test(tc, mib_empty_tables);
	tcase_add_test(tc, mib_stale_and_failed);
	tcase_add_test(tc, mib_pressure_columns);
	tcase_add_test(tc, mib_settings_need_a_snapshot);
	tcase_add_test(tc, mib_alarm_states);
	tcase_add_test(tc, mib_notification_bind);
	tcase_add_test(tc, mib_notification_connect);
	tcase_add_test(tc, mib_objects_unique);
	tcase_add_test(tc, config_namespaces);
	tcase_add_test(tc, mib_several_namespaces);
	tcase_add_test(tc, nsreg_index_stability_and_alarms);
	tcase_add_test(tc, mib_rate_columns);
	tcase_add_test(tc, exh_alarm_hysteresis);
	tcase_add_test(tc, mib_notification_exhaustion);
	tcase_add_test(tc, nsreg_rates_and_exhaustion_alarm);
	tcase_add_test(tc, nsreg_failures_rate_limit_and_discontinuity);
	tcase_add_test(tc, mib_failure_rows);
	tcase_add_test(tc, mib_notification_failure);
	tcase_add_test(tc, mib_process_rows);
	tcase_add_test(tc, mib_display_strings);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
