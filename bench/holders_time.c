/*
 * holders_time.c - time eph_holders_collect() for bench/holders: the
 * library call `ephport --all-processes` makes, without the rest of the
 * command.
 *
 *   holders_time procfs|bpf PIN_DIR REPS
 *
 * Prints one JSON line: each repetition's wall time in ms, and what the
 * last one found (processes, their total pool ports and sockets, the
 * fewest and most ports of one process), for bench/holders to check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ephport.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct eph_config cfg;
	struct eph_collector *c;
	struct eph_holders h = {0};
	int reps;

	if (argc != 4 || (reps = atoi(argv[3])) <= 0) {
		fprintf(stderr,
			"usage: holders_time procfs|bpf PIN_DIR REPS\n");
		return 2;
	}
	eph_config_init(&cfg);
	cfg.source =
	    strcmp(argv[1], "bpf") == 0 ? EPH_PREFER_BPF : EPH_PREFER_NETLINK;
	cfg.bpf_pin_dir = argv[2];
	c = eph_collector_new(&cfg);
	if (!c)
		return 1;
	printf("{\"mode\": \"%s\", \"ms\": [", argv[1]);
	for (int i = 0; i < reps; i++) {
		double t0 = now_ms();
		int err;

		eph_holders_free(&h);
		err = eph_holders_collect(c, 0, &h);
		if (err < 0) {
			fprintf(stderr, "holders_time: %s\n",
				eph_collector_error(c));
			return 1;
		}
		printf("%s%.3f", i ? ", " : "", now_ms() - t0);
	}
	{
		unsigned long long ports = 0, sockets = 0;
		unsigned lo = h.n ? ~0u : 0, hi = 0;

		for (uint32_t i = 0; i < h.n; i++) {
			unsigned p =
			    h.v[i].ports[EPH_TCP] + h.v[i].ports[EPH_UDP];

			ports += p;
			sockets +=
			    h.v[i].sockets[EPH_TCP] + h.v[i].sockets[EPH_UDP];
			lo = p < lo ? p : lo;
			hi = p > hi ? p : hi;
		}
		printf(
		    "], \"source\": \"%s\", \"processes\": %u, \"ports\": "
		    "%llu, "
		    "\"sockets\": %llu, \"min_ports\": %u, \"max_ports\": %u, "
		    "\"unattributed\": %llu}\n",
		    eph_holder_source_name(h.source), h.processes, ports,
		    sockets, lo, hi,
		    (unsigned long long)h.sockets_unattributed);
	}
	eph_holders_free(&h);
	eph_collector_free(c);
	return 0;
}
