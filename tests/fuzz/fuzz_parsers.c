/*
 * fuzz_parsers - libFuzzer harness for every parser that takes outside
 * input: netlink replies, /proc/net lines, the range and reserved-port
 * files, ephportd.conf, and every system's captured range and socket
 * table outputs (collector/os/), the BPF iterators' output (9) and the
 * cgroup paths namespaces are named from (10), the failure counters' map
 * entries (11), /proc/net/netstat's TcpExt pair (12) and the holders
 * iterator's records (13).  The first byte picks
 * the parser; for the captured outputs (6, 7, 8) the second one picks the
 * system.  Built and
 * run by scripts/fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "sockets.h"
#include "model.h"
#include "netns.h"
#include "fail.h"
#include "counters.h"
#include "holders.h"
#include "os/os.h"

static struct eph_model *tally;

static void count(void *ctx, const struct eph_sock *s)
{
	/* Every record goes through the accounting too. */
	eph_model_add(ctx, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct eph_range range = {.low = 1024, .high = 65535};
	uint8_t bitmap[EPH_BITMAP_BYTES];
	struct eph_proto_stats *stats;
	struct ephd_config cfg;
	char err[256];
	size_t used;
	long bad;
	uint16_t lo, hi;
	struct eph_os_range *osr;
	size_t nos = 0;
	char why[512];
	/* An exact-size copy, so ASan sees any read past the end. */
	char *buf;

	if (size < 1)
		return 0;
	if (!tally)
		tally = eph_model_new(64);
	buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	eph_model_begin(tally, data[0] & 1 ? EPH_UDP : EPH_TCP, &range, NULL);
	while (eph_os_list[nos])
		nos++;
	switch (data[0] % 14) {
	case 0:
		eph_diag_parse(buf, size - 1, 1, count, tally);
		break;
	case 1:
		eph_proc_parse(buf, size - 1, AF_INET, 1, &used, count, tally,
			       &bad);
		break;
	case 2:
		eph_proc_parse(buf, size - 1, AF_INET6, 0, &used, count, tally,
			       &bad);
		break;
	case 3:
		eph_reserved_parse(buf, size - 1, bitmap);
		break;
	case 4:
		eph_range_parse_pair(buf, size - 1, &lo, &hi);
		break;
	case 5:
		ephd_config_defaults(&cfg);
		if (ephd_config_parse(buf, size - 1, "fuzz.conf", &cfg, err,
				      sizeof(err)) == 0)
			ephd_config_check(&cfg, err, sizeof(err));
		break;
	case 6: /* a system's range command output */
		if (size < 2)
			break;
		osr = malloc(sizeof(*osr));
		eph_os_list[data[1] % nos]->parse_range(buf + 1, size - 2, osr,
							why, sizeof(why));
		free(osr);
		break;
	case 7: /* a system's socket table, through the model */
		if (size < 2)
			break;
		eph_os_list[data[1] % nos]->parse_sockets(
		    buf + 1, size - 2, data[0] & 1 ? EPH_UDP : EPH_TCP, count,
		    tally, why, sizeof(why));
		break;
	case 8: /* the formats no system's own entry reaches first */
		if (size < 2)
			break;
		if (data[1] & 1)
			eph_sockstat_parse(buf + 1, size - 2, EPH_TCP, count,
					   tally, why, sizeof(why));
		else
			eph_netstat_bsd_parse(buf + 1, size - 2, EPH_UDP, count,
					      tally, why, sizeof(why));
		break;
	case 9: /* what a pinned BPF iterator wrote */
		eph_bpf_parse(buf, size - 1, data[0] & 1 ? EPH_UDP : EPH_TCP,
			      &range, tally);
		break;
	case 10: /* /proc/PID/cgroup */
		eph_cgroup_name(buf, size - 1, why, sizeof(why));
		break;
	case 11: { /* fail_detail entries: key, value, key, value... (a
		    * fail_counts value is a fail_detail one's beginning) */
		static struct eph_failures fl;
		const struct eph_bpf_fail_meta meta = {.loaded_real_ns = 1};
		const struct eph_fail_clock clk = {1700000000000000, 5000000};
		const size_t rec = sizeof(struct eph_bpf_fail_key) +
				   sizeof(struct eph_bpf_fail_dval);

		eph_failures_begin(&fl, &meta);
		for (size_t off = 0; off + rec <= size - 1; off += rec) {
			struct eph_bpf_fail_key k;
			struct eph_bpf_fail_dval v;

			memcpy(&k, buf + off, sizeof(k));
			memcpy(&v, buf + off + sizeof(k), sizeof(v));
			eph_failures_add(&fl, &clk, &k, &v.v, v.first_boot_ns);
		}
		eph_failures_end(&fl);
		break;
	}
	case 12: { /* /proc/net/netstat */
		uint64_t tw;

		eph_netstat_parse(buf, size - 1, &tw);
		break;
	}
	case 13: { /* what the pinned holders iterator wrote */
		const uint64_t pool[EPH_PROTO_COUNT] = {1000, 1000};
		struct eph_holders h;

		memset(&h, 0, sizeof(h));
		/* Both protocols, or one: bit 1 of the selector byte. */
		eph_holders_bpf_parse(buf, size - 1, &range, pool,
				      data[0] & 2 ? 1u << EPH_TCP : 3u, &h);
		eph_holders_free(&h);
		break;
	}
	}
	stats = malloc(sizeof(*stats));
	eph_model_end(tally, 5, stats);
	free(stats);
	free(buf);
	return 0;
}
