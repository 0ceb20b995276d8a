/*
 * check_holders - who holds the ports, the pure parts: the inode index of
 * pool sockets (what is kept, lookups, an inode dumped twice), /proc/PID/fd
 * link parsing, one process's tally (distinct ports, dup()ed fds, the
 * commonest destination), the sort, the /proc walk over a fake tree made
 * here (symlinks "socket:[N]"), the cgroup v2 path, and the BPF records'
 * parser.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/holders.h"
#include "check_util.h"
#include "holders.h"
#include "netns.h"

static struct eph_range ranges[EPH_PROTO_COUNT];

static void setup_ranges(void)
{
	memset(ranges, 0, sizeof(ranges));
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		ranges[p].low = 40000;
		ranges[p].high = 40099;
		eph_bit_set(ranges[p].reserved, 40050);
	}
}

static struct eph_sock sock(uint16_t lport, uint64_t inode, uint8_t ip4,
			    uint16_t rport)
{
	struct eph_sock s;

	memset(&s, 0, sizeof(s));
	s.family = AF_INET;
	s.state = rport ? EPH_ST_ESTABLISHED : EPH_ST_LISTEN;
	s.lport = lport;
	s.rport = rport;
	s.laddr[0] = 127;
	s.laddr[3] = 1;
	s.raddr[0] = 10;
	s.raddr[3] = ip4;
	s.inode = inode;
	return s;
}

START_TEST(index_keeps_pool_sockets)
{
	struct eph_hindex x;
	struct eph_sock s;

	setup_ranges();
	eph_hindex_init(&x, ranges);
	s = sock(40001, 100, 1, 80);
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(39999, 101, 1, 80); /* below the range */
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40050, 102, 1, 80); /* reserved */
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40002, 0, 1, 80); /* TIME_WAIT: no inode */
	s.state = EPH_ST_TIME_WAIT;
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40003, 103, 0, 0);
	eph_hindex_add(&x, EPH_UDP, &s);
	ck_assert_int_eq(eph_hindex_build(&x), 0);
	ck_assert_uint_eq(x.n, 2);
	ck_assert_uint_eq(x.pool[EPH_TCP], 2);
	ck_assert_uint_eq(x.pool[EPH_UDP], 1);
	ck_assert_ptr_nonnull(eph_hindex_find(&x, 100));
	ck_assert_uint_eq(eph_hindex_find(&x, 100)->lport, 40001);
	ck_assert_uint_eq(eph_hindex_find(&x, 103)->proto, EPH_UDP);
	ck_assert_ptr_null(eph_hindex_find(&x, 101));
	ck_assert_ptr_null(eph_hindex_find(&x, 102));
	ck_assert_ptr_null(eph_hindex_find(&x, 0));
	ck_assert_ptr_null(eph_hindex_find(&x, 999));
	/* One destination (UDP has none). */
	ck_assert_uint_eq(x.nd, 1);
	eph_hindex_free(&x);
}
END_TEST

START_TEST(index_many_and_duplicates)
{
	struct eph_hindex x;
	struct eph_sock s;

	setup_ranges();
	eph_hindex_init(&x, ranges);
	/* Sequential inodes, as the kernel gives them, past a regrowth. */
	for (uint64_t i = 0; i < 5000; i++) {
		s = sock((uint16_t)(40000 + i % 50), 1000 + i, (uint8_t)(i % 7),
			 443);
		eph_hindex_add(&x, EPH_TCP, &s);
	}
	ck_assert_int_eq(eph_hindex_build(&x), 0);
	ck_assert_uint_eq(x.n, 5000);
	ck_assert_uint_eq(x.nd, 7);
	for (uint64_t i = 0; i < 5000; i++)
		ck_assert_uint_eq(eph_hindex_find(&x, 1000 + i)->inode,
				  1000 + i);
	ck_assert_ptr_null(eph_hindex_find(&x, 6000));
	/* The same inode again (a dump is not atomic): built again, it is
	 * one socket, the first copy's, counted once. */
	s = sock(40001, 1000, 1, 443);
	eph_hindex_add(&x, EPH_TCP, &s);
	ck_assert_uint_eq(x.pool[EPH_TCP], 5001);
	ck_assert_int_eq(eph_hindex_build(&x), 0);
	ck_assert_uint_eq(x.n, 5000);
	ck_assert_uint_eq(x.dups, 1);
	ck_assert_uint_eq(x.pool[EPH_TCP], 5000);
	ck_assert_uint_eq(eph_hindex_find(&x, 1000)->lport, 40000);
	ck_assert_uint_eq(x.nd, 7);
	eph_hindex_free(&x);
}
END_TEST

static const struct {
	const char *link;
	int want;
	uint64_t inode;
} links[] = {
    {"socket:[12345]", 1, 12345},
    {"socket:[0]", 1, 0},
    {"socket:[18446744073709551615]", 1, UINT64_MAX},
    {"socket:[18446744073709551616]", 0, 0}, /* overflows */
    {"socket:[]", 0, 0},
    {"socket:[12a]", 0, 0},
    {"socket:[123", 0, 0},
    {"pipe:[12345]", 0, 0},
    {"anon_inode:[eventpoll]", 0, 0},
    {"/dev/null", 0, 0},
    {"socket:", 0, 0},
    {"", 0, 0},
};

START_TEST(fd_links)
{
	uint64_t inode = 7;
	int r =
	    eph_fd_link_inode(links[_i].link, strlen(links[_i].link), &inode);

	ck_assert_int_eq(r, links[_i].want);
	if (r)
		ck_assert_uint_eq(inode, links[_i].inode);
	else
		ck_assert_uint_eq(inode, 7); /* untouched */
}
END_TEST

START_TEST(tally_one_process)
{
	struct eph_htally *t = calloc(1, sizeof(*t));
	struct eph_hindex x;
	struct eph_sock s;

	setup_ranges();
	eph_hindex_init(&x, ranges);
	/* Port 40001 twice (two destinations), 40002..40004 to 10.0.0.2. */
	s = sock(40001, 1, 1, 80);
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40001, 2, 2, 80);
	eph_hindex_add(&x, EPH_TCP, &s);
	for (int i = 0; i < 3; i++) {
		s = sock((uint16_t)(40002 + i), (uint64_t)(3 + i), 2, 80);
		eph_hindex_add(&x, EPH_TCP, &s);
	}
	s = sock(40001, 9, 0, 0); /* UDP on the same number: its own port */
	eph_hindex_add(&x, EPH_UDP, &s);
	ck_assert_int_eq(eph_hindex_build(&x), 0);

	eph_htally_begin(t, 42);
	for (uint64_t i = 1; i <= 5; i++)
		eph_htally_add(t, &x, eph_hindex_find(&x, i));
	eph_htally_add(t, &x, eph_hindex_find(&x, 3)); /* a dup()ed fd */
	eph_htally_add(t, &x, eph_hindex_find(&x, 9));
	ck_assert(eph_htally_end(t, &x));
	ck_assert_uint_eq(t->cur.pid, 42);
	ck_assert_uint_eq(t->cur.sockets[EPH_TCP], 5);
	ck_assert_uint_eq(t->cur.ports[EPH_TCP], 4);
	ck_assert_uint_eq(t->cur.sockets[EPH_UDP], 1);
	ck_assert_uint_eq(t->cur.ports[EPH_UDP], 1);
	ck_assert(t->cur.has_worst);
	ck_assert_uint_eq(t->cur.worst_raddr.bytes[3], 2);
	ck_assert_uint_eq(t->cur.worst_rport, 80);
	ck_assert_uint_eq(t->cur.worst_sockets, 4);

	/* The next process starts from nothing, and may share a socket. */
	eph_htally_begin(t, 43);
	ck_assert(!eph_htally_end(t, &x));
	eph_htally_begin(t, 44);
	eph_htally_add(t, &x, eph_hindex_find(&x, 1));
	ck_assert(eph_htally_end(t, &x));
	ck_assert_uint_eq(t->cur.ports[EPH_TCP], 1);
	ck_assert_uint_eq(t->cur.worst_sockets, 1);
	ck_assert_uint_eq(t->cur.worst_raddr.bytes[3], 1);
	eph_hindex_free(&x);
	free(t);
}
END_TEST

START_TEST(sort_order)
{
	struct eph_holder v[4];

	memset(v, 0, sizeof(v));
	v[0].pid = 9;
	v[0].ports[EPH_TCP] = 5;
	v[0].sockets[EPH_TCP] = 5;
	v[1].pid = 3;
	v[1].ports[EPH_TCP] = 5;
	v[1].sockets[EPH_TCP] = 9; /* same ports, more sockets */
	v[2].pid = 7;
	v[2].ports[EPH_TCP] = 2;
	v[2].ports[EPH_UDP] = 4; /* both protocols count */
	v[2].sockets[EPH_TCP] = 5;
	v[3].pid = 1;
	v[3].ports[EPH_TCP] = 5;
	v[3].sockets[EPH_TCP] = 5; /* a tie with 9: pid ascending */
	eph_holders_sort(v, 4);
	ck_assert_uint_eq(v[0].pid, 7);
	ck_assert_uint_eq(v[1].pid, 3);
	ck_assert_uint_eq(v[2].pid, 1);
	ck_assert_uint_eq(v[3].pid, 9);
}
END_TEST

START_TEST(cgroup_v2)
{
	static const char v2[] = "0::/system.slice/nginx.service\n";
	static const char mixed[] =
	    "12:memory:/docker/abc\n0::/user.slice/user-1000.slice\n";
	static const char v1[] = "12:memory:/docker/abc\n";
	char out[64];

	eph_cgroup_v2_path(v2, strlen(v2), out, sizeof(out));
	ck_assert_str_eq(out, "/system.slice/nginx.service");
	eph_cgroup_v2_path(mixed, strlen(mixed), out, sizeof(out));
	ck_assert_str_eq(out, "/user.slice/user-1000.slice");
	eph_cgroup_v2_path(v1, strlen(v1), out, sizeof(out));
	ck_assert_str_eq(out, "");
	eph_cgroup_v2_path(v2, strlen(v2), out, 8);
	ck_assert_str_eq(out, "/system");
}
END_TEST

/* A fake /proc: PID/fd/N symlinks, PID/comm, PID/cgroup. */
static char root[64];

static void mk(const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static void mkdirs(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void link_fd(const char *rel, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(symlink(target, path), 0);
}

/* A fake /proc in root (the ranges set up), and its removal. */
static void fake_proc_begin(void)
{
	setup_ranges();
	snprintf(root, sizeof(root), "/tmp/check_holders.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void fake_proc_end(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(procfs_walk)
{
	struct eph_holders out;
	struct eph_hindex x;
	struct eph_sock s;

	fake_proc_begin();
	/* 100: two pool sockets and a pipe; 200: one, and 100's first
	 * (inherited); 300: none; "self" and "net" are no pids. */
	mkdirs("100");
	mkdirs("100/fd");
	link_fd("100/fd/0", "/dev/null");
	link_fd("100/fd/3", "socket:[501]");
	link_fd("100/fd/4", "socket:[502]");
	link_fd("100/fd/5", "pipe:[77]");
	link_fd("100/fd/6", "socket:[900]"); /* not a pool socket */
	mk("100/comm", "client\n");
	mk("100/cgroup", "0::/system.slice/docker-"
			 "4f1c2a3b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b"
			 "3c4d5e6f7a8.scope\n");
	mkdirs("200");
	mkdirs("200/fd");
	link_fd("200/fd/3", "socket:[503]");
	link_fd("200/fd/4", "socket:[501]");
	mk("200/comm", "other\n");
	mk("200/cgroup", "0::/user.slice\n");
	mkdirs("300");
	mkdirs("300/fd");
	mkdirs("self");
	mkdirs("net");

	eph_hindex_init(&x, ranges);
	s = sock(40001, 501, 1, 80);
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40002, 502, 1, 80);
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40003, 503, 2, 443);
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40004, 0, 2, 443); /* TIME_WAIT */
	eph_hindex_add(&x, EPH_TCP, &s);
	s = sock(40005, 504, 2, 443); /* nobody's (a denied process's) */
	eph_hindex_add(&x, EPH_TCP, &s);
	ck_assert_int_eq(eph_hindex_build(&x), 0);

	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(eph_holders_procfs(root, &x, &out), 0);
	ck_assert_uint_eq(out.processes, 2);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_uint_eq(out.sockets_unattributed, 2);
	eph_holders_finish(&out, 0);
	eph_holders_names(root, &out, false);
	ck_assert_uint_eq(out.v[0].pid, 100);
	ck_assert_uint_eq(out.v[0].ports[EPH_TCP], 2);
	ck_assert_str_eq(out.v[0].comm, "client");
	ck_assert_str_eq(out.v[0].container, "docker:4f1c2a3b5d6e");
	ck_assert_uint_eq(out.v[0].worst_sockets, 2);
	ck_assert_uint_eq(out.v[1].pid, 200);
	ck_assert_uint_eq(out.v[1].ports[EPH_TCP], 2);
	ck_assert_uint_eq(out.v[1].sockets[EPH_TCP], 2);
	ck_assert_str_eq(out.v[1].cgroup, "/user.slice");
	ck_assert_str_eq(out.v[1].container, "");
	/* top 1: the first only. */
	eph_holders_finish(&out, 1);
	ck_assert_uint_eq(out.n, 1);
	eph_holders_free(&out);
	ck_assert_ptr_null(out.v);
	eph_hindex_free(&x);

	fake_proc_end();
}
END_TEST

/*
 * A dump resumed after a socket was inserted at its bucket's head gives
 * the ones after the resume point again: here TCP 601 and 602 and UDP 701
 * twice.  The /proc walk then sees each once: one process holding 601 and
 * 701, nobody 602 and 603: 2 unattributed, not 4, and no failure.
 */
START_TEST(procfs_walk_duplicates)
{
	static const struct {
		enum eph_proto p;
		uint16_t lport;
		uint64_t inode;
	} dump[] = {
	    {EPH_TCP, 40001, 601}, {EPH_TCP, 40002, 602}, {EPH_TCP, 40003, 603},
	    {EPH_TCP, 40001, 601}, {EPH_TCP, 40002, 602}, {EPH_UDP, 40010, 701},
	    {EPH_UDP, 40010, 701},
	};
	struct eph_holders out;
	struct eph_hindex x;

	fake_proc_begin();
	mkdirs("100");
	mkdirs("100/fd");
	link_fd("100/fd/3", "socket:[601]");
	link_fd("100/fd/4", "socket:[701]");
	eph_hindex_init(&x, ranges);
	for (size_t i = 0; i < sizeof(dump) / sizeof(dump[0]); i++) {
		struct eph_hindex_feed f = {&x, dump[i].p};
		struct eph_sock s = sock(dump[i].lport, dump[i].inode, 1, 80);

		eph_hindex_feed_cb(&f, &s);
	}
	ck_assert_int_eq(eph_hindex_build(&x), 0);
	ck_assert_uint_eq(x.n, 4);
	ck_assert_uint_eq(x.dups, 3);
	ck_assert_uint_eq(x.pool[EPH_TCP], 3);
	ck_assert_uint_eq(x.pool[EPH_UDP], 1);
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(eph_holders_procfs(root, &x, &out), 0);
	ck_assert_uint_eq(out.processes, 1);
	ck_assert_uint_eq(out.v[0].sockets[EPH_TCP], 1);
	ck_assert_uint_eq(out.v[0].sockets[EPH_UDP], 1);
	ck_assert_uint_eq(out.v[0].worst_sockets, 1);
	ck_assert_uint_eq(out.sockets_unattributed, 2);
	eph_holders_free(&out);
	eph_hindex_free(&x);
	fake_proc_end();
}
END_TEST

/* A buffer as holders.bpf.c writes it: n records (pid 10 + i, 5 (i + 1)
 * TCP, 2 i UDP sockets, each on a port of its own) and the tail. */
static size_t bpf_buf(char *buf, uint32_t n, uint32_t flags)
{
	struct eph_bpf_holders_tail t;
	size_t off = 0;

	memset(&t, 0, sizeof(t));
	for (uint32_t i = 0; i < n; i++) {
		struct eph_bpf_holder r;

		memset(&r, 0, sizeof(r));
		r.tgid = 10 + i;
		memcpy(r.comm, "worker", 6);
		r.ports[0] = r.sockets[0] = 5 * (i + 1);
		r.ports[1] = r.sockets[1] = 2 * i;
		t.attributed[0] += r.sockets[0];
		t.attributed[1] += r.sockets[1];
		r.worst_raddr.family = AF_INET;
		r.worst_raddr.bytes[0] = 10;
		r.worst_rport = 443;
		r.worst_sockets = 5 * (i + 1);
		memcpy(buf + off, &r, sizeof(r));
		off += sizeof(r);
	}
	t.magic = EPH_BPF_HOLDERS_MAGIC;
	t.version = EPH_BPF_HOLDERS_VERSION;
	t.flags = flags;
	t.low = 40000;
	t.high = 40099;
	t.records = n;
	t.hidden = 4;
	t.sockets_attributed = t.attributed[0] + t.attributed[1];
	memcpy(buf + off, &t, sizeof(t));
	return off + sizeof(t);
}

#define BOTH (1u << EPH_TCP | 1u << EPH_UDP)
static const uint64_t no_pool[EPH_PROTO_COUNT] = {0, 0};

START_TEST(bpf_records)
{
	static const uint64_t pool[EPH_PROTO_COUNT] = {20, 3};
	char buf[1024];
	struct eph_holders out;
	size_t len;

	setup_ranges();
	memset(&out, 0, sizeof(out));
	len = bpf_buf(buf, 2, 0);
	ck_assert_int_eq(
	    eph_holders_bpf_parse(buf, len, &ranges[0], pool, BOTH, &out), 0);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_uint_eq(out.processes, 2);
	ck_assert_uint_eq(out.processes_denied, 4);
	/* 20 - 15 TCP, 3 - 2 UDP */
	ck_assert_uint_eq(out.sockets_unattributed, 5 + 1);
	ck_assert_str_eq(out.v[1].comm, "worker");
	ck_assert_uint_eq(out.v[1].ports[EPH_TCP], 10);
	ck_assert_uint_eq(out.v[1].ports[EPH_UDP], 2);
	ck_assert(out.v[1].has_worst);
	ck_assert_uint_eq(out.v[1].worst_rport, 443);
	eph_holders_free(&out);

	/* A thread with an fd table of its own: a second record of its
	 * tgid, merged. */
	len = bpf_buf(buf, 3, 0);
	memcpy(buf + 2 * sizeof(struct eph_bpf_holder), buf,
	       sizeof(uint32_t)); /* record 2's tgid := record 0's */
	ck_assert_int_eq(
	    eph_holders_bpf_parse(buf, len, &ranges[0], pool, BOTH, &out), 0);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_uint_eq(out.processes, 2);
	ck_assert_uint_eq(out.v[0].pid, 10);
	ck_assert_uint_eq(out.v[0].sockets[EPH_TCP], 5 + 15);
	ck_assert_uint_eq(out.v[0].ports[EPH_TCP], 5 + 15);
	ck_assert_uint_eq(out.v[0].worst_sockets, 15);
	eph_holders_free(&out);

	/* A busy slot, another version, a cut record, another range. */
	len = bpf_buf(buf, 0, EPH_BPF_HOLDERS_PARTIAL);
	ck_assert_int_eq(
	    eph_holders_bpf_parse(buf, len, &ranges[0], no_pool, BOTH, &out),
	    -EAGAIN);
	len = bpf_buf(buf, 1, 0);
	buf[len - sizeof(struct eph_bpf_holders_tail) + 4] = 9;
	ck_assert_int_eq(
	    eph_holders_bpf_parse(buf, len, &ranges[0], no_pool, BOTH, &out),
	    -EPROTO);
	len = bpf_buf(buf, 2, 0);
	memmove(buf + 8, buf, len); /* 8 bytes more than two records */
	ck_assert_int_eq(eph_holders_bpf_parse(buf, len + 8, &ranges[0],
					       no_pool, BOTH, &out),
			 -EBADMSG);
	eph_holders_free(&out);
	len = bpf_buf(buf, 1, 0);
	ranges[0].high = 40199;
	ck_assert_int_eq(
	    eph_holders_bpf_parse(buf, len, &ranges[0], no_pool, BOTH, &out),
	    -ESTALE);
	eph_holders_free(&out);
	ck_assert_int_eq(
	    eph_holders_bpf_parse(buf, 3, &ranges[0], no_pool, BOTH, &out),
	    -EBADMSG);
}
END_TEST

/*
 * The iterator counts both protocols, the pool count is of those asked for
 * (-P): what was not asked for is neither shown nor taken from the pool.
 * The reviewer's case: 3 TCP TIME_WAIT (nobody's) and one process holding
 * 4 UDP sockets; -P tcp: 3 unattributed (not 3 - 4, shown as 0) and no
 * process; -P udp: 0 and that process.
 */
START_TEST(bpf_protocols)
{
	char buf[1024];
	struct eph_bpf_holder r;
	struct eph_holders out;
	size_t len;

	setup_ranges();
	memset(&out, 0, sizeof(out));
	len = bpf_buf(buf, 1, 0); /* pid 10: 5 TCP, no UDP */
	memcpy(&r, buf, sizeof(r));
	r.ports[0] = r.sockets[0] = r.worst_sockets = 0;
	r.ports[1] = r.sockets[1] = 4;
	memcpy(buf, &r, sizeof(r));
	{
		struct eph_bpf_holders_tail t;

		memcpy(&t, buf + sizeof(r), sizeof(t));
		t.attributed[0] = 0;
		t.attributed[1] = 4;
		t.sockets_attributed = 4;
		memcpy(buf + sizeof(r), &t, sizeof(t));
	}
	ck_assert_int_eq(eph_holders_bpf_parse(buf, len, &ranges[0],
					       (const uint64_t[]){3, 0},
					       1u << EPH_TCP, &out),
			 0);
	ck_assert_uint_eq(out.sockets_unattributed, 3);
	ck_assert_uint_eq(out.processes, 0);
	ck_assert_uint_eq(out.n, 0);
	eph_holders_free(&out);
	ck_assert_int_eq(eph_holders_bpf_parse(buf, len, &ranges[0],
					       (const uint64_t[]){0, 4},
					       1u << EPH_UDP, &out),
			 0);
	ck_assert_uint_eq(out.sockets_unattributed, 0);
	ck_assert_uint_eq(out.processes, 1);
	ck_assert_uint_eq(out.v[0].sockets[EPH_UDP], 4);
	ck_assert(!out.v[0].has_worst);
	eph_holders_free(&out);

	/* Two processes with TCP and UDP: -P tcp drops the UDP counts and
	 * takes only TCP's attributed from TCP's pool; -P udp the reverse
	 * (pid 10 holds no UDP: not listed), and no destination. */
	len = bpf_buf(buf, 2, 0);
	ck_assert_int_eq(eph_holders_bpf_parse(buf, len, &ranges[0],
					       (const uint64_t[]){18, 0},
					       1u << EPH_TCP, &out),
			 0);
	ck_assert_uint_eq(out.sockets_unattributed, 3);
	ck_assert_uint_eq(out.processes, 2);
	for (uint32_t i = 0; i < out.n; i++) {
		ck_assert_uint_eq(out.v[i].ports[EPH_UDP], 0);
		ck_assert_uint_eq(out.v[i].sockets[EPH_UDP], 0);
		ck_assert(out.v[i].has_worst);
	}
	eph_holders_free(&out);
	ck_assert_int_eq(eph_holders_bpf_parse(buf, len, &ranges[0],
					       (const uint64_t[]){0, 5},
					       1u << EPH_UDP, &out),
			 0);
	ck_assert_uint_eq(out.sockets_unattributed, 3);
	ck_assert_uint_eq(out.processes, 1);
	ck_assert_uint_eq(out.v[0].pid, 11);
	ck_assert_uint_eq(out.v[0].sockets[EPH_TCP], 0);
	ck_assert_uint_eq(out.v[0].ports[EPH_UDP], 2);
	ck_assert(!out.v[0].has_worst);
	eph_holders_free(&out);

	/* The tail's counts must add up and be the records' at most. */
	{
		struct eph_bpf_holders_tail t, good;
		char *tp = buf + len - sizeof(t);

		memcpy(&good, tp, sizeof(good));
		t = good;
		t.sockets_attributed++;
		memcpy(tp, &t, sizeof(t));
		ck_assert_int_eq(eph_holders_bpf_parse(buf, len, &ranges[0],
						       no_pool, BOTH, &out),
				 -EBADMSG);
		eph_holders_free(&out);
		t = good;
		t.attributed[1]++;
		t.sockets_attributed++;
		memcpy(tp, &t, sizeof(t));
		ck_assert_int_eq(eph_holders_bpf_parse(buf, len, &ranges[0],
						       no_pool, BOTH, &out),
				 -EBADMSG);
		eph_holders_free(&out);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("holders");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, index_keeps_pool_sockets);
	tcase_add_test(tc, index_many_and_duplicates);
	tcase_add_loop_test(tc, fd_links, 0,
			    (int)(sizeof(links) / sizeof(links[0])));
	tcase_add_test(tc, tally_one_process);
	tcase_add_test(tc, sort_order);
	tcase_add_test(tc, cgroup_v2);
	tcase_add_test(tc, procfs_walk);
	tcase_add_test(tc, procfs_walk_duplicates);
	tcase_add_test(tc, bpf_records);
	tcase_add_test(tc, bpf_protocols);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return eph_run_suite(suite());
}
