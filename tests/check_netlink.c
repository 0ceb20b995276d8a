/*
 * check_netlink - sock_diag replies recorded from a real kernel
 * (tests/fixtures/diag-*.bin, see tests/fixtures/README), the malformed
 * and truncated variants of them, the request bytes, and one live dump.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockets.h"
#include "check_util.h"

struct rec {
	int n;
	int by_state[EPH_ST_COUNT];
	int v6;
	int min_port, max_port;
	struct eph_sock last;
	int saw_mapped; /* 127.0.0.1:40064 reported as AF_INET */
	int port_hits;
	uint16_t want_port;
};

static void rec_cb(void *ctx, const struct eph_sock *s)
{
	struct rec *r = ctx;

	r->n++;
	r->by_state[s->state]++;
	r->v6 += s->family == AF_INET6;
	if (!r->min_port || s->lport < r->min_port)
		r->min_port = s->lport;
	if (s->lport > r->max_port)
		r->max_port = s->lport;
	if (s->lport == 40064 && s->family == AF_INET &&
	    memcmp(s->laddr, "\x7f\0\0\x01", 4) == 0 && s->rport == 8080)
		r->saw_mapped++;
	if (r->want_port && s->lport == r->want_port)
		r->port_hits++;
	r->last = *s;
}

static char *load(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", eph_fixtures_dir(), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

START_TEST(tcp_legacy_fixture)
{
	size_t len;
	char *buf = load("diag-tcp-legacy.bin", &len);
	struct rec r = {0};

	ck_assert_int_eq(eph_diag_parse(buf, len, 1, rec_cb, &r), 1);
	ck_assert_int_eq(r.n, 21);
	ck_assert_int_eq(r.by_state[EPH_ST_LISTEN], 3);
	ck_assert_int_eq(r.by_state[EPH_ST_TIME_WAIT], 2);
	ck_assert_int_eq(r.by_state[EPH_ST_ESTABLISHED], 16);
	/* The legacy request answers IPv4 and IPv6 in one dump. */
	ck_assert_int_eq(r.v6, 7);
	ck_assert_int_eq(r.saw_mapped, 1);
	free(buf);
}
END_TEST

START_TEST(tcp_filtered_fixture)
{
	size_t len;
	char *buf = load("diag-tcp-legacy-filtered.bin", &len);
	struct rec r = {0};

	ck_assert_int_eq(eph_diag_parse(buf, len, 1, rec_cb, &r), 1);
	ck_assert_int_eq(r.n, 11);
	ck_assert_int_ge(r.min_port, 40000);
	ck_assert_int_le(r.max_port, 40099);
	ck_assert_int_eq(r.by_state[EPH_ST_LISTEN], 1);
	ck_assert_int_eq(r.by_state[EPH_ST_TIME_WAIT], 2);
	free(buf);
}
END_TEST

START_TEST(udp_fixtures)
{
	size_t len;
	char *buf = load("diag-udp4.bin", &len);
	struct rec r = {0};
	uint8_t any6[16] = {0};

	ck_assert_int_eq(eph_diag_parse(buf, len, 1, rec_cb, &r), 1);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(r.last.state, EPH_ST_ESTABLISHED);
	ck_assert_int_eq(r.last.lport, 40060);
	ck_assert_int_eq(r.last.rport, 5353);
	ck_assert_int_eq(r.last.family, AF_INET);
	free(buf);

	memset(&r, 0, sizeof(r));
	buf = load("diag-udp6.bin", &len);
	ck_assert_int_eq(eph_diag_parse(buf, len, 1, rec_cb, &r), 1);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(r.last.state, EPH_ST_CLOSE);
	ck_assert_int_eq(r.last.lport, 40030);
	ck_assert_int_eq(r.last.rport, 0);
	ck_assert_int_eq(r.last.family, AF_INET6);
	ck_assert_mem_eq(r.last.laddr, any6, 16);
	free(buf);
}
END_TEST

START_TEST(other_sequence_skipped)
{
	size_t len;
	char *buf = load("diag-tcp-legacy.bin", &len);
	struct rec r = {0};

	/* Neither the sockets nor the DONE of another request count. */
	ck_assert_int_eq(eph_diag_parse(buf, len, 2, rec_cb, &r), 0);
	ck_assert_int_eq(r.n, 0);
	free(buf);
}
END_TEST

/* Cut the reply anywhere: a clean 0 (cut on a message boundary) or
 * -EBADMSG, never a read past the cut (ASan checks the exact copy). */
START_TEST(truncated_everywhere)
{
	size_t len, boundaries = 0;
	char *buf = load("diag-tcp-legacy.bin", &len);

	for (size_t cut = 0; cut < len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		struct rec r = {0};
		int ret;

		memcpy(copy, buf, cut);
		ret = eph_diag_parse(copy, cut, 1, rec_cb, &r);
		ck_assert_msg(ret == 0 || ret == -EBADMSG,
			      "cut at %zu returned %d", cut, ret);
		boundaries += ret == 0;
		free(copy);
	}
	/* 21 sockets: 0 plus one boundary after each message before DONE. */
	ck_assert_uint_eq(boundaries, 22);
	free(buf);
}
END_TEST

static size_t put_msg(char *buf, uint16_t type, uint32_t seq,
		      const void *payload, size_t plen, uint32_t claimed_len)
{
	struct nlmsghdr h = {.nlmsg_len = claimed_len
					      ? claimed_len
					      : (uint32_t)NLMSG_LENGTH(plen),
			     .nlmsg_type = type,
			     .nlmsg_seq = seq};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + NLMSG_HDRLEN, payload, plen);
	return NLMSG_ALIGN(NLMSG_LENGTH(plen));
}

START_TEST(malformed_messages)
{
	char buf[512];
	struct inet_diag_msg m = {.idiag_family = AF_INET, .idiag_state = 1};
	struct nlmsgerr e = {.error = -ENOENT};
	int err_eperm = -EPERM;
	struct rec r = {0};
	size_t n;

	/* nlmsg_len below the header size. */
	n = put_msg(buf, SOCK_DIAG_BY_FAMILY, 1, &m, sizeof(m), 8);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), -EBADMSG);
	/* nlmsg_len beyond the buffer. */
	n = put_msg(buf, SOCK_DIAG_BY_FAMILY, 1, &m, sizeof(m), 400);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), -EBADMSG);
	/* A diag message too short for inet_diag_msg. */
	n = put_msg(buf, SOCK_DIAG_BY_FAMILY, 1, &m, 10, 0);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), -EBADMSG);
	/* An unknown address family. */
	m.idiag_family = AF_UNIX;
	n = put_msg(buf, SOCK_DIAG_BY_FAMILY, 1, &m, sizeof(m), 0);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), -EBADMSG);
	/* Fewer bytes than a header. */
	ck_assert_int_eq(eph_diag_parse(buf, 7, 1, rec_cb, &r), -EBADMSG);
	ck_assert_int_eq(r.n, 0);
	/* NLMSG_ERROR carries the kernel's errno. */
	n = put_msg(buf, NLMSG_ERROR, 1, &e, sizeof(e), 0);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), -ENOENT);
	/* ... and a truncated NLMSG_ERROR is malformed. */
	n = put_msg(buf, NLMSG_ERROR, 1, &e, 2, 0);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), -EBADMSG);
	/* NLMSG_DONE may carry an error of the dump. */
	n = put_msg(buf, NLMSG_DONE, 1, &err_eperm, sizeof(err_eperm), 0);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), -EPERM);
	/* A good message then DONE. */
	m.idiag_family = AF_INET;
	m.id.idiag_sport = htons(40001);
	n = put_msg(buf, SOCK_DIAG_BY_FAMILY, 1, &m, sizeof(m), 0);
	n += put_msg(buf + n, NLMSG_DONE, 1, (int[]){0}, sizeof(int), 0);
	ck_assert_int_eq(eph_diag_parse(buf, n, 1, rec_cb, &r), 1);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(r.last.lport, 40001);
}
END_TEST

START_TEST(request_bytes)
{
	char buf[256];
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct inet_diag_req *legacy = NLMSG_DATA(nlh);
	const struct inet_diag_req_v2 *v2 = NLMSG_DATA(nlh);
	const struct nlattr *nla;
	const struct inet_diag_bc_op *op;
	int len;

	len = eph_diag_build_request(buf, sizeof(buf), 1, AF_INET, IPPROTO_TCP,
				     0xffe, 40000, 40099, 7);
	ck_assert_int_eq(len, (int)(NLMSG_ALIGN(NLMSG_LENGTH(sizeof(*legacy))) +
				    NLA_HDRLEN + 4 * sizeof(*op)));
	ck_assert_int_eq(nlh->nlmsg_type, TCPDIAG_GETSOCK);
	ck_assert_int_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	ck_assert_uint_eq(nlh->nlmsg_seq, 7);
	ck_assert_uint_eq(legacy->idiag_states, 0xffe);
	ck_assert_uint_eq(legacy->idiag_ext, 0); /* no extensions */
	nla = (const void *)(buf + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(*legacy))));
	ck_assert_int_eq(nla->nla_type, INET_DIAG_REQ_BYTECODE);
	ck_assert_int_eq(nla->nla_len, NLA_HDRLEN + 4 * sizeof(*op));
	op = (const void *)(nla + 1);
	/* sport >= 40000, else reject (jump past the end) */
	ck_assert_int_eq(op[0].code, INET_DIAG_BC_S_GE);
	ck_assert_int_eq(op[0].yes, 8);
	ck_assert_int_eq(op[0].no, 20);
	ck_assert_int_eq(op[1].no, 40000);
	/* sport <= 40099, else reject */
	ck_assert_int_eq(op[2].code, INET_DIAG_BC_S_LE);
	ck_assert_int_eq(op[2].yes, 8);
	ck_assert_int_eq(op[2].no, 12);
	ck_assert_int_eq(op[3].no, 40099);

	len = eph_diag_build_request(buf, sizeof(buf), 0, AF_INET6, IPPROTO_UDP,
				     0xffe, 1, 0, 9);
	ck_assert_int_eq(len, (int)NLMSG_LENGTH(sizeof(*v2)));
	ck_assert_int_eq(nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
	ck_assert_int_eq(v2->sdiag_family, AF_INET6);
	ck_assert_int_eq(v2->sdiag_protocol, IPPROTO_UDP);

	ck_assert_int_eq(eph_diag_build_request(buf, 40, 1, AF_INET,
						IPPROTO_TCP, 0xffe, 1, 2, 1),
			 -ENOSPC);
}
END_TEST

/* The kernel accepts our bytecode and filters with it. */
START_TEST(live_filter)
{
	static char rbuf[EPH_DIAG_RECV_BUF];
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	struct rec r = {0};
	char req[256];
	int lfd, fd, len;
	uint16_t port;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (void *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (void *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);
	fd = eph_diag_open();
	ck_assert_int_ge(fd, 0);

	r.want_port = port;
	len = eph_diag_build_request(req, sizeof(req), 1, AF_INET, IPPROTO_TCP,
				     1u << EPH_ST_LISTEN, port, port, 11);
	ck_assert_int_eq(eph_diag_dump(fd, req, (size_t)len, 11, rbuf,
				       sizeof(rbuf), rec_cb, &r),
			 0);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(r.port_hits, 1);
	ck_assert_int_eq(r.last.state, EPH_ST_LISTEN);

	memset(&r, 0, sizeof(r));
	r.want_port = port;
	len = eph_diag_build_request(req, sizeof(req), 1, AF_INET, IPPROTO_TCP,
				     1u << EPH_ST_LISTEN, port + 1, 65535, 12);
	ck_assert_int_eq(eph_diag_dump(fd, req, (size_t)len, 12, rbuf,
				       sizeof(rbuf), rec_cb, &r),
			 0);
	ck_assert_int_eq(r.port_hits, 0);
	close(fd);
	close(lfd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("netlink");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tcp_legacy_fixture);
	tcase_add_test(tc, tcp_filtered_fixture);
	tcase_add_test(tc, udp_fixtures);
	tcase_add_test(tc, other_sequence_skipped);
	tcase_add_test(tc, truncated_everywhere);
	tcase_add_test(tc, malformed_messages);
	tcase_add_test(tc, request_bytes);
	tcase_add_test(tc, live_filter);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
