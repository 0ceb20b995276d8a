/*
 * floor.c - the timing side of the benchmark (bench/run drives it).
 *
 *   floor [-n REPS] [-w WARMUP] MODE...
 *       Run WARMUP untimed rounds, then REPS timed rounds; a round runs
 *       every MODE once, in the order given, so all modes see the same
 *       sockets (TIME_WAIT lives 60 s).  Prints one JSON object:
 *       {"low": L, "high": H, "reps": R, "modes": {MODE: {"n": R,
 *        "ms": [...], "user_ms": [...], "sys_ms": [...], "sockets": N,
 *        ...counts of the last run}, ...}}; user/sys: this process's CPU
 *       time per run (tick-grained; ss runs in a child: 0).
 *   floor -s MODE...
 *       Server: for each line "round" on stdin, run every MODE once and
 *       print one JSON line {MODE: {"n": 1, "ms": [T], ...}, ...}; the
 *       collectors stay warm between rounds.  bench/run uses this to
 *       pace the rounds around the 60 s life of TIME_WAIT sockets.
 *   floor rss OUTFILE CMD [ARG]...
 *       Run CMD with stdout to OUTFILE; print {"max_rss_kib": K,
 *       "wall_ms": T, "status": S} (ru_maxrss of RUSAGE_CHILDREN).
 *
 * Modes (all TCP unless said otherwise):
 *   collect      eph_collect, full config: TCP and UDP, top 5 destinations,
 *                state totals on (what `ephport` does);
 *   collect-tcp  the same, TCP only;
 *   collect-nt   the same as collect with state_totals = false (the kernel
 *                drops out-of-range sockets with a bytecode filter);
 *   collect-unpriv  collect without CAP_NET_ADMIN in the effective set
 *                (as ephportd runs): the kernel then leaves out the
 *                INET_DIAG_MARK attribute and the MD5/ULP lookups;
 *   walk         the kernel's walk floor: the legacy TCPDIAG_GETSOCK dump
 *                the collector makes, with a sport in [0, 0] filter that
 *                rejects every socket;
 *   dump         the same dump without a filter, every record parsed by
 *                eph_diag_parse into a counting callback (no tally);
 *   ss           ss -Hatn '( sport >= :LOW and sport <= :HIGH )' > /dev/null;
 *   proc         /proc/net/tcp and /proc/net/tcp6 read and parsed by
 *                eph_proc_read into a counting callback.
 * The range is read from /proc/sys/net/ipv4/ip_local_port_range.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ephport.h"
#include "sockets.h"

#define MAX_MODES 16
#define MAX_REPS  1000

enum kind {
	K_COLLECT,
	K_COLLECT_TCP,
	K_COLLECT_NT,
	K_COLLECT_UNPRIV,
	K_COLLECT_BPF,
	K_COLLECT_BPF_FAST,
	K_WALK,
	K_DUMP,
	K_SS,
	K_PROC
};

static const char *const kind_names[] = {"collect",	"collect-tcp",
					 "collect-nt",	"collect-unpriv",
					 "collect-bpf", "collect-bpf-fast",
					 "walk",	"dump",
					 "ss",		"proc"};

struct mode {
	enum kind kind;
	struct eph_collector *c;
	struct eph_snapshot snap;
	double ms[MAX_REPS];
	double user_ms[MAX_REPS], sys_ms[MAX_REPS]; /* CPU of this process */
	uint64_t sockets; /* records seen by the last run */
};

static unsigned range_low, range_high;
static int diag_fd = -1;
static uint32_t seq;
static char rbuf[EPH_DIAG_RECV_BUF] __attribute__((aligned(8)));

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("floor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void count_cb(void *ctx, const struct eph_sock *s)
{
	(void)s;
	++*(uint64_t *)ctx;
}

/* The collector's TCP request: legacy, all states but 0, sport in
 * [low, high] (low > high: no filter). */
static uint64_t diag_tcp(uint16_t low, uint16_t high)
{
	char req[256];
	uint64_t n = 0;
	int len, err;

	if (diag_fd < 0 && (diag_fd = eph_diag_open()) < 0)
		die("NETLINK_SOCK_DIAG: %s", strerror(-diag_fd));
	len =
	    eph_diag_build_request(req, sizeof(req), 1, AF_INET, IPPROTO_TCP,
				   (1u << EPH_ST_COUNT) - 2, low, high, ++seq);
	if (len < 0)
		die("build request: %s", strerror(-len));
	err = eph_diag_dump(diag_fd, req, (size_t)len, seq, rbuf, sizeof(rbuf),
			    count_cb, &n);
	if (err < 0)
		die("dump: %s", strerror(-err));
	return n;
}

static uint64_t proc_tcp(void)
{
	char why[512];
	uint64_t n = 0;
	int err = eph_proc_read("/proc", EPH_TCP, AF_INET, count_cb, &n, why,
				sizeof(why));

	if (err == 0)
		err = eph_proc_read("/proc", EPH_TCP, AF_INET6, count_cb, &n,
				    why, sizeof(why));
	if (err < 0)
		die("%s", why);
	return n;
}

static int spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return st;
}

static uint64_t run_ss(void)
{
	char filter[128];
	char *argv[] = {"ss", "-Hatn", filter, NULL};
	int st;

	snprintf(filter, sizeof(filter), "( sport >= :%u and sport <= :%u )",
		 range_low, range_high);
	st = spawn(argv, "/dev/null");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("ss failed (status %d)", st);
	return 0;
}

/* Raise or drop CAP_NET_ADMIN in the effective set (kept permitted).  The
 * kernel checks it both on the netlink socket's opener and on the reader. */
static void net_admin(int on)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		die("capget: %s", strerror(errno));
	if (on)
		d[0].effective |= 1u << CAP_NET_ADMIN;
	else
		d[0].effective &= ~(1u << CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d) < 0 && on)
		die("capset: %s", strerror(errno));
}

static double tv_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

static void run_one(struct mode *m, int rep)
{
	struct rusage r0, r1;
	double t0, t1;
	int err;

	getrusage(RUSAGE_SELF, &r0);
	t0 = now_ms();

	switch (m->kind) {
	case K_COLLECT:
	case K_COLLECT_TCP:
	case K_COLLECT_NT:
	case K_COLLECT_UNPRIV:
	case K_COLLECT_BPF:
	case K_COLLECT_BPF_FAST:
		if (m->kind == K_COLLECT_UNPRIV)
			net_admin(0);
		err = eph_collect(m->c, &m->snap);
		if (m->kind == K_COLLECT_UNPRIV)
			net_admin(1);
		if (err < 0)
			die("eph_collect: %s (%s)", strerror(-err),
			    eph_collector_error(m->c));
		m->sockets = m->snap.proto[EPH_TCP].sockets_total;
		break;
	case K_WALK:
		m->sockets = diag_tcp(0, 0);
		break;
	case K_DUMP:
		m->sockets = diag_tcp(1, 0);
		break;
	case K_SS:
		m->sockets = run_ss();
		break;
	case K_PROC:
		m->sockets = proc_tcp();
		break;
	}
	t1 = now_ms();
	getrusage(RUSAGE_SELF, &r1);
	if (rep >= 0) {
		m->ms[rep] = t1 - t0;
		m->user_ms[rep] = tv_ms(&r1.ru_utime) - tv_ms(&r0.ru_utime);
		m->sys_ms[rep] = tv_ms(&r1.ru_stime) - tv_ms(&r0.ru_stime);
	}
}

static void print_counts(const struct eph_snapshot *s)
{
	const struct eph_proto_stats *p = &s->proto[EPH_TCP];

	printf(", \"duration_us\": %u, \"tcp\": {\"sockets_total\": %" PRIu64
	       ", \"sockets_in_range\": %" PRIu64
	       ", \"established_total\": %" PRIu64
	       ", \"established_in_range\": %" PRIu64
	       ", \"time_wait_total\": %" PRIu64 ", \"time_wait\": %" PRIu64
	       ", \"listen_total\": %" PRIu64
	       ", \"listeners_in_range\": %u, \"ports_in_use\": %u"
	       ", \"destinations\": %" PRIu64 ", \"destinations_overflow\": %s"
	       ", \"totals_exact\": %s, \"worst_destination_sockets\": %u}",
	       s->duration_us, p->sockets_total, p->sockets_in_range,
	       p->state_total[EPH_ST_ESTABLISHED],
	       p->state_in_range[EPH_ST_ESTABLISHED], p->time_wait_total,
	       p->time_wait, p->state_total[EPH_ST_LISTEN],
	       p->listeners_in_range, p->ports_in_use, p->destinations,
	       p->dest_overflow ? "true" : "false",
	       p->totals_exact ? "true" : "false",
	       p->has_worst ? p->worst.sockets : 0);
	if (s->proto[EPH_UDP].collected)
		printf(", \"udp_sockets_total\": %" PRIu64,
		       s->proto[EPH_UDP].sockets_total);
}

static void print_list(const char *key, const double *v, int n)
{
	printf(", \"%s\": [", key);
	for (int r = 0; r < n; r++)
		printf("%s%.3f", r ? ", " : "", v[r]);
	printf("]");
}

/* "MODE": {"ms": [...], "user_ms": [...], "sys_ms": [...], "sockets": N,
 * counts of the last run}, for runs first .. first + n - 1. */
static void print_mode(const struct mode *m, int index, int first, int n)
{
	printf("%s\"%s\": {\"n\": %d", index ? ", " : "", kind_names[m->kind],
	       n);
	print_list("ms", m->ms + first, n);
	print_list("user_ms", m->user_ms + first, n);
	print_list("sys_ms", m->sys_ms + first, n);
	printf(", \"sockets\": %" PRIu64, m->sockets);
	if (m->c)
		print_counts(&m->snap);
	printf("}");
}

static int rss_main(int argc, char **argv)
{
	struct rusage ru;
	double t0;
	int st;

	if (argc < 4)
		die("usage: floor rss OUTFILE CMD [ARG]...");
	t0 = now_ms();
	st = spawn(argv + 3, argv[2]);
	t0 = now_ms() - t0;
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0)
		die("getrusage: %s", strerror(errno));
	printf("{\"max_rss_kib\": %ld, \"wall_ms\": %.3f, \"status\": %d}\n",
	       ru.ru_maxrss, t0,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static void read_range(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (!f || fscanf(f, "%u %u", &range_low, &range_high) != 2)
		die("cannot read ip_local_port_range");
	fclose(f);
}

int main(int argc, char **argv)
{
	static struct mode modes[MAX_MODES];
	int n_modes = 0, reps = 5, warmup = 1, server = 0, opt;

	if (argc > 1 && strcmp(argv[1], "rss") == 0)
		return rss_main(argc, argv);
	while ((opt = getopt(argc, argv, "n:w:s")) != -1) {
		switch (opt) {
		case 's':
			server = 1;
			break;
		case 'n':
			reps = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		default:
			die("usage: floor [-n REPS] [-w WARMUP] MODE... | "
			    "floor -s MODE... | "
			    "floor rss OUT CMD...");
		}
	}
	if (reps < 1 || reps > MAX_REPS || warmup < 0 || optind == argc)
		die("usage: floor [-n REPS] [-w WARMUP] MODE... | floor rss "
		    "OUT CMD...");
	read_range();
	for (int i = optind; i < argc; i++) {
		struct mode *m = &modes[n_modes];
		size_t k;

		if (n_modes == MAX_MODES)
			die("too many modes");
		for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
			if (strcmp(argv[i], kind_names[k]) == 0)
				break;
		if (k == sizeof(kind_names) / sizeof(kind_names[0]))
			die("unknown mode '%s'", argv[i]);
		m->kind = (enum kind)k;
		if (k <= K_COLLECT_BPF_FAST) {
			struct eph_config cfg;

			eph_config_init(
			    &cfg); /* TCP+UDP, top 5, state totals */
			cfg.top_n = 5;
			cfg.state_totals = m->kind != K_COLLECT_NT;
			if (m->kind == K_COLLECT_TCP)
				cfg.protocols = 1u << EPH_TCP;
			/* The pinned iterators ($EPHPORT_BPF_PIN), or netlink:
			 * never auto, which would pick them for every mode. */
			cfg.source = m->kind == K_COLLECT_BPF ||
					     m->kind == K_COLLECT_BPF_FAST
					 ? EPH_PREFER_BPF
					 : EPH_PREFER_NETLINK;
			cfg.bpf_bound_dump = m->kind != K_COLLECT_BPF_FAST;
			m->c = eph_collector_new(&cfg);
			if (!m->c)
				die("eph_collector_new: %s", strerror(errno));
		}
		n_modes++;
	}
	if (server) {
		char line[64];
		int r = 0;

		/* One round per "round" line; one JSON line per round. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		while (fgets(line, sizeof(line), stdin)) {
			if (strncmp(line, "round", 5) != 0)
				die("server: expected \"round\"");
			if (r == MAX_REPS)
				r = 0;
			for (int i = 0; i < n_modes; i++)
				run_one(&modes[i], r);
			printf("{");
			for (int i = 0; i < n_modes; i++)
				print_mode(&modes[i], i, r, 1);
			printf("}\n");
			r++;
		}
	} else {
		for (int r = -warmup; r < reps; r++)
			for (int i = 0; i < n_modes; i++)
				run_one(&modes[i], r);
		printf(
		    "{\"low\": %u, \"high\": %u, \"reps\": %d, \"warmup\": %d, "
		    "\"modes\": {",
		    range_low, range_high, reps, warmup);
		for (int i = 0; i < n_modes; i++) {
			printf("%s\n  ", i ? "," : "");
			print_mode(&modes[i], 0, 0, reps);
		}
		printf("\n}}\n");
	}
	for (int i = 0; i < n_modes; i++)
		eph_collector_free(modes[i].c);
	if (diag_fd >= 0)
		close(diag_fd);
	return 0;
}
