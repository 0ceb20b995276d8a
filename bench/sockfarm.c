/*
 * sockfarm.c - create a known mix of TCP sockets for the benchmark, print
 * the counts ephport must report, then hold them until killed.
 *
 * Meant to run as root in a private network namespace prepared by
 * bench/run (lo up, ip_local_port_range 10000 65000, tcp_max_tw_buckets
 * and somaxconn raised, tcp_tw_reuse 0, fd00::2..fd00::17 on lo).
 *
 *   sockfarm [-q] [-v6src N] TOTAL
 *
 * The mix for TOTAL sockets (about half IPv4, half IPv6; mostly in range):
 *   - 8 listeners on ports inside the range on 127.0.0.1 and 8 on ::1;
 *   - ESTABLISHED pairs to them: the client binds a source address
 *     (127.0.0.2-17 or fd00::2-17) with IP_BIND_ADDRESS_NO_PORT, so the
 *     kernel picks its port per destination; the accepted end has the
 *     listener's (in-range) port.  No destination (local address, remote
 *     address, remote port) gets more than a few thousand sockets;
 *   - 5 % TIME_WAIT (the client closes first), a tenth of them on ports
 *     below the range;
 *   - 5 % of sockets wholly outside the range: one listener per family
 *     on port 1000/1001 and pairs whose client binds a port below the
 *     range explicitly.
 * The pairs are held by forked workers of at most PAIRS_PER_WORKER pairs
 * each (a process may hold only ~20k descriptors here).  The established
 * sockets get SO_LINGER {1, 0} so that killing the workers resets them
 * instead of leaving a million orphans behind.
 *
 * When everything is in place, one JSON line with the expected numbers
 * is printed on stdout and the program waits for SIGTERM/SIGINT, which
 * it passes on (as SIGKILL) to its workers.  A TIME_WAIT socket lives
 * 60 s: on SIGUSR1 sockfarm waits until the TIME_WAIT set has expired,
 * makes a new one and prints a new JSON line (ports_in_use may differ).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define N_LPORTS	 8    /* in-range listener ports per family */
#define OUT_PORT_V4	 1000 /* out-of-range listeners */
#define OUT_PORT_V6	 1001
#define OUT_CPORT_MIN	 1024 /* explicit client ports below the range */
#define PAIRS_PER_WORKER 8000 /* 16000 descriptors per worker */
#define BATCH		 256  /* connects before the matching accepts */
#define BACKLOG		 65535

static int v6_sources = 16; /* fd00::2 .. fd00::(1 + v6_sources) */
static int quiet;
static uint16_t range_low, range_high;
static uint16_t lport_base; /* first in-range listener port */
/* Shared with the workers: in-range local ports held by listeners and
 * ESTABLISHED sockets, and by the current TIME_WAIT set. */
static uint8_t *port_map, *port_map_tw, *mark_map;

/* listeners: [family 0/1][port index], plus the out-of-range ones */
static int lfd[2][N_LPORTS];
static int lfd_out[2];

static pid_t *workers;
static int n_workers;
static volatile sig_atomic_t stop, child_died, refresh;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sockfarm[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void note(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	fprintf(stderr, "sockfarm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void read_range(void)
{
	unsigned lo, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (!f || fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535)
		die("cannot read net.ipv4.ip_local_port_range");
	fclose(f);
	range_low = (uint16_t)lo;
	range_high = (uint16_t)hi;
	if (range_low < OUT_CPORT_MIN + 1024)
		die("range starts at %u: need ports below it (>= %u) for the "
		    "out-of-range sockets",
		    lo, OUT_CPORT_MIN + 1024);
	if (range_high - range_low + 1u < 4096)
		die("range %u-%u too small", lo, hi);
}

static void mark_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname: %s", strerror(errno));
	port = ntohs(ss.ss_family == AF_INET6
			 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			 : ((struct sockaddr_in *)&ss)->sin_port);
	if (port >= range_low && port <= range_high)
		__atomic_fetch_or(&mark_map[port >> 3],
				  (uint8_t)(1u << (port & 7)),
				  __ATOMIC_RELAXED);
}

/* fam 0: IPv4, 1: IPv6.  host: last octet / last group. */
static socklen_t make_addr(struct sockaddr_storage *ss, int fam, int v4net,
			   unsigned host, unsigned port)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr =
		    htonl(0x7f000000u | (unsigned)v4net << 8 | host);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (host == 1) {
			sin6->sin6_addr = in6addr_loopback;
		} else {
			sin6->sin6_addr.s6_addr[0] = 0xfd;
			sin6->sin6_addr.s6_addr[14] = (uint8_t)(host >> 8);
			sin6->sin6_addr.s6_addr[15] = (uint8_t)host;
		}
		return sizeof(*sin6);
	}
}

static int make_listener(int fam, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, fam, 0, 1, port);
	int one = 1;
	int fd = socket(fam ? AF_INET6 : AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind listener %s port %u: %s", fam ? "::1" : "127.0.0.1",
		    port, strerror(errno));
	if (listen(fd, BACKLOG) < 0)
		die("listen: %s", strerror(errno));
	return fd;
}

/* Where client k of a kind goes: source address, explicit source port (0:
 * the kernel picks), listener. */
struct plan {
	int fam;
	int v4net;     /* 127.<v4net>.0.x */
	unsigned host; /* source host part */
	unsigned sport;
	int lfd;
	unsigned dport;
};

/* In-range ESTABLISHED pair or in-range TIME_WAIT client number i. */
static void plan_in(uint64_t i, struct plan *p)
{
	unsigned li = (unsigned)((i / 2) % N_LPORTS);

	p->fam = (int)(i % 2);
	p->v4net = 0;
	p->host = 2 + (unsigned)((i / (2 * N_LPORTS)) % 16);
	if (p->fam)
		p->host =
		    2 + (unsigned)((i / (2 * N_LPORTS)) % (unsigned)v6_sources);
	p->sport = 0;
	p->lfd = lfd[p->fam][li];
	p->dport = lport_base + li;
}

/* Out-of-range client number i of pool `pool` (0: pairs, 1: TIME_WAIT):
 * explicit port below the range, a source address of its own. */
static void plan_out(uint64_t i, int pool, struct plan *p)
{
	unsigned nports = range_low - OUT_CPORT_MIN;
	uint64_t k = i / 2;
	unsigned a = (unsigned)(k / nports);

	p->fam = (int)(i % 2);
	p->sport = OUT_CPORT_MIN + (unsigned)(k % nports);
	p->lfd = lfd_out[p->fam];
	p->dport = p->fam ? OUT_PORT_V6 : OUT_PORT_V4;
	if (p->fam == 0) {
		p->v4net = 1 + pool; /* 127.0.1.x for pairs, 127.0.2.x for TW */
		p->host = 1 + a;
		if (p->host > 254)
			die("too many out-of-range sockets");
	} else {
		/* pairs from the first fd00:: sources, TIME_WAIT from the last
		 */
		p->v4net = 0;
		if (a >= (unsigned)v6_sources / 2)
			die("too many out-of-range IPv6 sockets for %d sources",
			    v6_sources);
		p->host = pool ? 1 + (unsigned)v6_sources - a : 2 + a;
	}
}

static int client(const struct plan *p, int linger)
{
	struct sockaddr_storage src, dst;
	socklen_t slen = make_addr(&src, p->fam, p->v4net, p->host, p->sport);
	socklen_t dlen = make_addr(&dst, p->fam, 0, 1, p->dport);
	int one = 1;
	int fd =
	    socket(p->fam ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (linger) {
		struct linger lg = {1, 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (p->sport == 0 && setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
					&one, sizeof(one)) < 0)
		die("IP_BIND_ADDRESS_NO_PORT: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&src, slen) < 0) {
		char b[INET6_ADDRSTRLEN];

		inet_ntop(
		    src.ss_family,
		    p->fam ? (void *)&((struct sockaddr_in6 *)&src)->sin6_addr
			   : (void *)&((struct sockaddr_in *)&src)->sin_addr,
		    b, sizeof(b));
		die("bind %s port %u: %s%s", b, p->sport, strerror(errno),
		    p->fam ? " (bench/run adds fd00::2.. to lo)" : "");
	}
	if (connect(fd, (struct sockaddr *)&dst, dlen) < 0)
		die("connect to port %u: %s", p->dport, strerror(errno));
	mark_port(fd);
	return fd;
}

static int accept_one(int l, int linger)
{
	int fd;

	do
		fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	if (linger) {
		struct linger lg = {1, 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	return fd;
}

/* Pairs [first, first + n) of the combined list: in-range ones first. */
static void worker(uint64_t first, uint64_t n, uint64_t n_in, int ready_fd)
{
	int lst[BATCH];
	char ok = 'k';

	for (uint64_t b = 0; b < n; b += BATCH) {
		uint64_t m = n - b < BATCH ? n - b : BATCH;

		for (uint64_t j = 0; j < m; j++) {
			uint64_t i = first + b + j;
			struct plan p;

			if (i < n_in)
				plan_in(i, &p);
			else
				plan_out(i - n_in, 0, &p);
			client(&p, 1);
			lst[j] = p.lfd;
		}
		/* Someone else's connection may come out of the shared queue;
		 * per listener the numbers balance all the same. */
		for (uint64_t j = 0; j < m; j++)
			accept_one(lst[j], 1);
	}
	if (write(ready_fd, &ok, 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;)
		pause();
}

/* One TIME_WAIT on the client side: the client closes first, the server
 * sees the FIN, then closes. */
static void time_wait_one(const struct plan *p)
{
	int c = client(p, 0);
	int s = accept_one(p->lfd, 0);
	struct pollfd pfd = {.fd = s, .events = POLLIN | POLLRDHUP};
	char b;

	close(c);
	for (;;) {
		ssize_t r = recv(s, &b, 1, MSG_DONTWAIT);

		if (r == 0)
			break;
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			die("recv: %s", strerror(errno));
		if (poll(&pfd, 1, 5000) == 0)
			die("no FIN from a TIME_WAIT client");
	}
	close(s);
}

static unsigned sockstat_tw(void)
{
	char buf[4096];
	const char *p;
	int fd = open("/proc/net/sockstat", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, " tw ");
	return p ? (unsigned)strtoul(p + 4, NULL, 10) : 0;
}

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		child_died = 1;
	else if (sig == SIGUSR1)
		refresh = 1;
	else
		stop = 1;
}

static void kill_workers(void)
{
	for (int w = 0; w < n_workers; w++)
		if (workers[w] > 0)
			kill(workers[w], SIGKILL);
	for (int w = 0; w < n_workers; w++)
		if (workers[w] > 0)
			waitpid(workers[w], NULL, 0);
}

/* The mix (see the top of the file). */
static uint64_t tw, tw_out, tw_in, pairs_out, pairs_in, pairs, n_listen;

/* The TIME_WAIT set, made last: it lives 60 s. */
static void make_time_wait(void)
{
	memset(port_map_tw, 0, 65536 / 8);
	mark_map = port_map_tw;
	for (uint64_t i = 0; i < tw_in; i++) {
		struct plan p;

		plan_in(pairs_in + i, &p);
		time_wait_one(&p);
	}
	for (uint64_t i = 0; i < tw_out; i++) {
		struct plan p;

		plan_out(i, 1, &p);
		time_wait_one(&p);
	}
	mark_map = port_map;
}

/* The JSON line: what ephport must report now.  t0: when this setup
 * began, t_tw: when the TIME_WAIT set began. */
static void report(double t0, double t_tw)
{
	double t = now_s();
	uint64_t ports = 0, v6;

	for (unsigned p = range_low; p <= range_high; p++)
		ports +=
		    ((port_map[p >> 3] | port_map_tw[p >> 3]) >> (p & 7)) & 1;
	/* IPv6: odd pair and TIME_WAIT indexes, plus the ::1 listeners. */
	v6 = 2 * (pairs_in / 2 + pairs_out / 2) +
	     ((pairs_in + tw_in) / 2 - pairs_in / 2) + tw_out / 2 + N_LPORTS +
	     1;

	printf("{\"ready\": true, \"pid\": %d, \"workers\": %d, "
	       "\"setup_s\": %.2f, \"time_wait_s\": %.2f, "
	       "\"low\": %u, \"high\": %u, \"listener_ports\": [%u, %u], "
	       "\"sockstat_tw\": %u, \"ipv6_sockets\": %llu, \"tcp\": {"
	       "\"sockets_total\": %llu, \"sockets_in_range\": %llu, "
	       "\"established_total\": %llu, \"established_in_range\": %llu, "
	       "\"time_wait_total\": %llu, \"time_wait\": %llu, "
	       "\"listen_total\": %llu, \"listeners_in_range\": %u, "
	       "\"ports_in_use\": %llu}}\n",
	       (int)getpid(), n_workers, t - t0, t - t_tw, range_low,
	       range_high, lport_base, lport_base + N_LPORTS - 1, sockstat_tw(),
	       (unsigned long long)v6,
	       (unsigned long long)(2 * pairs + tw + n_listen),
	       (unsigned long long)(2 * pairs_in + tw_in + 2 * N_LPORTS),
	       (unsigned long long)(2 * pairs),
	       (unsigned long long)(2 * pairs_in), (unsigned long long)tw,
	       (unsigned long long)tw_in, (unsigned long long)n_listen,
	       2 * N_LPORTS, (unsigned long long)ports);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: sockfarm [-q] [-v6src N] TOTAL\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t total;
	struct sigaction sa;
	sigset_t block, old;
	struct rlimit rl;
	int pipefd[2], argi = 1;
	double t0 = now_s(), t_pairs;
	char *end;

	while (argi < argc && argv[argi][0] == '-') {
		if (strcmp(argv[argi], "-q") == 0) {
			quiet = 1;
			argi++;
		} else if (strcmp(argv[argi], "-v6src") == 0 &&
			   argi + 1 < argc) {
			v6_sources = atoi(argv[argi + 1]);
			if (v6_sources < 2 || v6_sources > 200)
				usage();
			argi += 2;
		} else {
			usage();
		}
	}
	if (argi + 1 != argc)
		usage();
	total = strtoull(argv[argi], &end, 10);
	if (*end || total < 1000)
		die("TOTAL must be a number >= 1000");

	read_range();
	lport_base = (uint16_t)(range_low + (range_high - range_low) / 4);
	port_map = mmap(NULL, 2 * 65536 / 8, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (port_map == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	port_map_tw = port_map + 65536 / 8;
	mark_map = port_map;

	/* The mix. */
	n_listen = 2 * N_LPORTS + 2;
	tw = total / 20;
	tw_out = tw / 10;
	tw_in = tw - tw_out;
	pairs_out = total / 40;
	pairs_in = (total - tw - 2 * pairs_out - n_listen) / 2;
	pairs = pairs_in + pairs_out;

	/* Listeners first: their ports are in use too. */
	for (int f = 0; f < 2; f++) {
		for (int i = 0; i < N_LPORTS; i++) {
			lfd[f][i] = make_listener(f, lport_base + (unsigned)i);
			mark_port(lfd[f][i]);
		}
		lfd_out[f] = make_listener(f, f ? OUT_PORT_V6 : OUT_PORT_V4);
	}

	/* Workers: up to PAIRS_PER_WORKER pairs each. */
	n_workers = (int)((pairs + PAIRS_PER_WORKER - 1) / PAIRS_PER_WORKER);
	workers = calloc((size_t)n_workers, sizeof(*workers));
	if (!workers || pipe(pipefd) < 0)
		die("out of memory");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	note("%llu pairs in range, %llu out, %llu TIME_WAIT, %d workers",
	     (unsigned long long)pairs_in, (unsigned long long)pairs_out,
	     (unsigned long long)tw, n_workers);
	fflush(stderr);
	for (int w = 0; w < n_workers; w++) {
		uint64_t first = (uint64_t)w * PAIRS_PER_WORKER;
		uint64_t n = pairs - first < PAIRS_PER_WORKER
				 ? pairs - first
				 : PAIRS_PER_WORKER;
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGUSR1, SIG_IGN);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(1);
			close(pipefd[0]);
			if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
				rl.rlim_cur = rl.rlim_max;
				setrlimit(RLIMIT_NOFILE, &rl);
			}
			worker(first, n, pairs_in, pipefd[1]);
			_exit(0);
		}
		workers[w] = pid;
	}
	close(pipefd[1]);
	for (int w = 0; w < n_workers; w++) {
		char c;
		ssize_t r = read(pipefd[0], &c, 1);

		if (r != 1) {
			if (r < 0 && errno == EINTR && !stop && !child_died) {
				w--;
				continue;
			}
			kill_workers();
			die(stop ? "interrupted" : "a worker failed");
		}
	}
	close(pipefd[0]);
	t_pairs = now_s();
	note("pairs ready in %.1f s", t_pairs - t0);

	make_time_wait();
	report(t0, t_pairs);

	/* SIGUSR1: wait for the TIME_WAIT set to expire, make a new one,
	 * report again (bench/run does this when its timings would outlast
	 * the 60 s a TIME_WAIT socket lives). */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!stop) {
		double t1;

		if (!refresh) {
			sigsuspend(&old);
			continue;
		}
		refresh = 0;
		sigprocmask(SIG_SETMASK, &old, NULL);
		t1 = now_s();
		while (sockstat_tw() > 0 && !stop) {
			if (now_s() - t1 > 120)
				die("TIME_WAIT sockets did not expire");
			usleep(50000);
		}
		t1 = now_s();
		if (!stop) {
			make_time_wait();
			report(t1, t1);
		}
		sigprocmask(SIG_BLOCK, &block, NULL);
	}
	kill_workers();
	return 0;
}
