/*
 * holdfarm.c - many processes holding pool ports, for bench/holders:
 * WORKERS forked processes, each listening on 127.0.0.1:(2000 + its
 * number) (below the range bench/holders sets, 10000-65000), making PAIRS
 * connections to its own listener and accepting them.  So each holds
 * PAIRS pool sockets (the clients' autobound ports) and PAIRS + 1
 * sockets outside the pool.
 *
 *   holdfarm WORKERS PAIRS
 *
 * When every worker is ready one JSON line is printed on stdout; then it
 * waits for SIGTERM/SIGINT and kills its workers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE_PORT 2000

static void die(const char *what)
{
	fprintf(stderr, "holdfarm: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static void worker(int w, int pairs, int ready_fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int l, one = 1;

	/* Die with the parent, whatever kills it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)(BASE_PORT + w));
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, pairs + 16) < 0)
		die("listen");
	for (int i = 0; i < pairs; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		struct linger lg = {1, 0};

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("connect");
		/* Killed workers reset, leaving no TIME_WAIT behind. */
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (accept(l, NULL, NULL) < 0)
			die("accept");
	}
	if (write(ready_fd, "r", 1) != 1)
		die("write");
	close(ready_fd);
	for (;;)
		pause();
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct rlimit rl = {65536, 65536};
	int workers, pairs, p[2];
	pid_t *pids;
	char c;

	if (argc != 3 || (workers = atoi(argv[1])) <= 0 ||
	    (pairs = atoi(argv[2])) <= 0 || workers > 7000) {
		fprintf(stderr, "usage: holdfarm WORKERS PAIRS\n");
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	pids = calloc((size_t)workers, sizeof(*pids));
	if (!pids || pipe(p) < 0)
		die("setup");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (int w = 0; w < workers; w++) {
		pids[w] = fork();
		if (pids[w] < 0)
			die("fork");
		if (pids[w] == 0) {
			close(p[0]);
			worker(w, pairs, p[1]);
		}
	}
	close(p[1]);
	for (int w = 0; w < workers; w++)
		if (read(p[0], &c, 1) != 1)
			die("a worker failed");
	printf("{\"workers\": %d, \"pool_sockets\": %d, \"sockets\": %d}\n",
	       workers, workers * pairs, workers * (2 * pairs + 1));
	fflush(stdout);
	while (!stop)
		pause();
	for (int w = 0; w < workers; w++)
		kill(pids[w], SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
