/*
 * nsfloor.c - time one pass over several network namespaces, for
 * bench/netns (issue 12).  Not part of `make check`.
 *
 *   nsfloor [-n REPS] NSPATH...
 *
 * Each round, interleaved, for every namespace given (/run/netns/NAME):
 *   netlink  eph_collect_in() with the full configuration (TCP and UDP,
 *            top 5 destinations, state totals), source netlink;
 *   bpf      the same from the pinned iterators ($EPHPORT_BPF_PIN),
 *            without the bound-socket dump;
 *   walk     in each namespace, the legacy TCPDIAG_GETSOCK dump with a
 *            bytecode filter that rejects every socket: the kernel's walk
 *            of the (shared) established hash, the floor of any dump.
 * Prints one JSON object: per mode the total milliseconds of each round
 * and the TCP sockets seen in the last one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ephport.h"
#include "netns.h"
#include "sockets.h"

#define MAX_REPS 100

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

/* The walk floor inside the namespace this thread is in. */
static int walk(void *ctx)
{
	static char rbuf[EPH_DIAG_RECV_BUF] __attribute__((aligned(8)));
	char req[256];
	uint64_t n = 0;
	int fd = eph_diag_open(), len, err;

	if (fd < 0)
		return fd;
	len = eph_diag_build_request(req, sizeof(req), 1, AF_INET, IPPROTO_TCP,
				     (1u << EPH_ST_COUNT) - 2, 0, 0, 1);
	err = eph_diag_dump(fd, req, (size_t)len, 1, rbuf, sizeof(rbuf),
			    count_cb, &n);
	close(fd);
	*(uint64_t *)ctx += n;
	return err;
}

int main(int argc, char **argv)
{
	static struct eph_netns ns[EPH_NETNS_MAX];
	static double ms[3][MAX_REPS];
	static const char *const names[] = {"netlink", "bpf", "walk"};
	struct eph_collector *c[2];
	struct eph_snapshot snap;
	uint64_t sockets[3] = {0, 0, 0};
	int reps = 5, n = 0, opt;

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			reps = atoi(optarg);
	if (reps < 1 || reps > MAX_REPS || optind == argc) {
		fprintf(stderr, "usage: nsfloor [-n REPS] NSPATH...\n");
		return 2;
	}
	for (int i = optind; i < argc && n < EPH_NETNS_MAX; i++, n++)
		if (eph_netns_resolve(NULL, NULL, argv[i], &ns[n]) < 0) {
			fprintf(stderr, "nsfloor: %s: no such namespace\n",
				argv[i]);
			return 1;
		}
	for (int k = 0; k < 2; k++) {
		struct eph_config cfg;

		eph_config_init(&cfg);
		cfg.source = k ? EPH_PREFER_BPF : EPH_PREFER_NETLINK;
		cfg.bpf_bound_dump = false;
		c[k] = eph_collector_new(&cfg);
		if (!c[k])
			return 1;
	}
	/* Round 0 warms up. */
	for (int r = 0; r <= reps; r++)
		for (int m = 0; m < 3; m++) {
			double t0 = now_ms();

			sockets[m] = 0;
			for (int i = 0; i < n; i++) {
				int err;

				if (m < 2) {
					err = eph_collect_in(c[m], &ns[i], &snap);
					sockets[m] +=
					    snap.proto[EPH_TCP].sockets_total;
				} else {
					err = eph_netns_run(ns[i].path, walk,
							    &sockets[m]);
				}
				if (err < 0) {
					fprintf(stderr,
						"nsfloor: %s in %s: %s (%s)\n",
						names[m], ns[i].name,
						strerror(-err),
						m < 2 ? eph_collector_error(c[m])
						      : "");
					return 1;
				}
			}
			if (r > 0)
				ms[m][r - 1] = now_ms() - t0;
		}
	printf("{\"namespaces\": %d", n);
	for (int m = 0; m < 3; m++) {
		printf(", \"%s\": {\"sockets\": %" PRIu64 ", \"ms\": [", names[m],
		       sockets[m]);
		for (int r = 0; r < reps; r++)
			printf("%s%.3f", r ? ", " : "", ms[m][r]);
		printf("]}");
	}
	printf("}\n");
	eph_collector_free(c[0]);
	eph_collector_free(c[1]);
	return 0;
}
