/*
 * failcalls - the cost of the hooked system calls on their success path,
 * for bench/failures: N times each of getppid() (no probe: what enabling
 * syscall tracepoints costs every other call), UDP sendto() (the busiest
 * hooked call), UDP connect() of a fresh socket, and TCP bind(0)+close,
 * timed with CLOCK_MONOTONIC; prints "NAME NS" lines (ns per call).  Run
 * in a namespace with a wide range.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in any = {.sin_family = AF_INET};
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	double t;

	if (u < 0)
		return 1;
	t = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	printf("getppid %.1f\n", (now_ns() - t) / n);
	t = now_ns();
	for (long i = 0; i < n; i++)
		if (sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) <
		    0)
			return 1;
	printf("sendto %.1f\n", (now_ns() - t) / n);
	close(u);
	t = now_ns();
	for (long i = 0; i < n / 4; i++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);

		if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to)) < 0)
			return 1;
		close(s);
	}
	printf("connect %.1f\n", (now_ns() - t) / (n / 4));
	t = now_ns();
	for (long i = 0; i < n / 4; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof(any)) < 0)
			return 1;
		close(s);
	}
	printf("bind %.1f\n", (now_ns() - t) / (n / 4));
	return 0;
}
