/*
 * main.c - the ephport command.
 *
 * Exit status: 0 numbers printed; 1 the collection failed (the reason on
 * stderr, nothing on stdout); 2 bad usage.  `ephport check` follows the
 * Nagios plugin conventions instead: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (bad usage or a failed collection).
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "captured.h"
#include "netns.h"
#include "output.h"

enum format { FMT_TEXT, FMT_JSON, FMT_PROMETHEUS, FMT_ADVICE };
enum {
	OPT_SOURCE = 256,
	OPT_PROC_ROOT,
	OPT_BPF_PIN,
	OPT_DEST_CAP,
	OPT_NO_TOTALS,
	OPT_BIND_WARN,
	OPT_BIND_CRIT,
	OPT_CONNECT_WARN,
	OPT_CONNECT_CRIT,
	OPT_NETNS,
	OPT_WATCH,
	OPT_RATE,
	OPT_EXH_WARN,
	OPT_EXH_CRIT,
	OPT_PROCESSES,
	OPT_ALL_PROCESSES,
};
/* --processes without N. */
#define PROCESSES_TOP_DEFAULT 10
#define CHECK_UNKNOWN	      3

static const struct option long_opts[] = {
    {"json", no_argument, NULL, 'j'},
    {"prometheus", no_argument, NULL, 'm'},
    {"top", required_argument, NULL, 't'},
    {"protocol", required_argument, NULL, 'P'},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"proc-root", required_argument, NULL, OPT_PROC_ROOT},
    {"bpf-pin", required_argument, NULL, OPT_BPF_PIN},
    {"dest-cap", required_argument, NULL, OPT_DEST_CAP},
    {"no-state-totals", no_argument, NULL, OPT_NO_TOTALS},
    {"verbose", no_argument, NULL, 'v'},
    {"warning", required_argument, NULL, 'w'},
    {"critical", required_argument, NULL, 'c'},
    {"bind-warning", required_argument, NULL, OPT_BIND_WARN},
    {"bind-critical", required_argument, NULL, OPT_BIND_CRIT},
    {"connect-warning", required_argument, NULL, OPT_CONNECT_WARN},
    {"connect-critical", required_argument, NULL, OPT_CONNECT_CRIT},
    {"os", required_argument, NULL, EPH_OPT_OS},
    {"range-file", required_argument, NULL, EPH_OPT_RANGE_FILE},
    {"sockets-file", required_argument, NULL, EPH_OPT_SOCKETS_FILE},
    {"firewall", required_argument, NULL, EPH_OPT_FIREWALL},
    {"netns", required_argument, NULL, OPT_NETNS},
    {"all-namespaces", no_argument, NULL, 'A'},
    {"watch", optional_argument, NULL, OPT_WATCH},
    {"rate", required_argument, NULL, OPT_RATE},
    {"exhaustion-warning", required_argument, NULL, OPT_EXH_WARN},
    {"exhaustion-critical", required_argument, NULL, OPT_EXH_CRIT},
    {"processes", optional_argument, NULL, OPT_PROCESSES},
    {"all-processes", no_argument, NULL, OPT_ALL_PROCESSES},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: ephport [OPTION]...\n"
	    "       ephport check [-w PERCENT] [-c PERCENT] [--bind-warning "
	    "PERCENT]\n"
	    "             [--bind-critical PERCENT] [--connect-warning "
	    "PERCENT]\n"
	    "             [--connect-critical PERCENT] [OPTION]...\n"
	    "       ephport advise [--firewall LOW-HIGH] [OPTION]...\n"
	    "       ephport --watch [SECONDS] [OPTION]...  (or ephport top "
	    "[SECONDS])\n"
	    "Show how close this host is to running out of ephemeral ports.\n\n"
	    "  -j, --json             JSON output (keys: ephport(1))\n"
	    "  -m, --prometheus       node_exporter textfile output\n"
	    "  -t, --top N            busiest destinations to list (0-%d, "
	    "default 5)\n"
	    "  -P, --protocol P       tcp or udp; repeat for both (default "
	    "both)\n"
	    "      --source S         auto, bpf, netlink or procfs (default "
	    "auto:\n"
	    "                         bpf when ephport-bpf pinned it, else "
	    "netlink)\n"
	    "      --bpf-pin DIR      the pinned iterators (default "
	    "/sys/fs/bpf/ephport;\n"
	    "                         also $EPHPORT_BPF_PIN)\n"
	    "      --proc-root DIR    read procfs files below DIR, not /proc\n"
	    "                         (also $EPHPORT_PROC_ROOT)\n"
	    "      --dest-cap N       destinations tracked exactly (default "
	    "%u)\n"
	    "      --no-state-totals  let the kernel drop sockets outside the "
	    "range\n"
	    "  -v, --verbose          say on stderr when netlink fell back to "
	    "/proc\n"
	    "  -w, --warning PCT      check: WARNING at this pressure "
	    "(default 80)\n"
	    "  -c, --critical PCT     check: CRITICAL at this pressure "
	    "(default 90)\n"
	    "      --bind-warning PCT, --bind-critical PCT\n"
	    "      --connect-warning PCT, --connect-critical PCT\n"
	    "                         check: thresholds of one kind of "
	    "pressure\n"
	    "                         (default --warning, --critical)\n"
	    "      --os NAME          analyse another host's captured "
	    "outputs: linux,\n"
	    "                         freebsd, macos, openbsd, aix, solaris, "
	    "hpux,\n"
	    "                         tru64, irix, bsdos or windows\n"
	    "      --range-file FILE  --os: that system's range command "
	    "output\n"
	    "      --sockets-file FILE\n"
	    "                         --os: its netstat/ss/sockstat output\n"
	    "      --firewall LOW-HIGH\n"
	    "                         advise: the range a firewall opens\n"
	    "      --netns SPEC       collect in one network namespace: an ip "
	    "netns\n"
	    "                         name, a PID, a path or a name -A lists\n"
	    "  -A, --all-namespaces   collect in every network namespace "
	    "(both need\n"
	    "                         CAP_SYS_ADMIN; ephport(1))\n"
	    "      --watch [SECONDS]  a live view, refreshed every SECONDS "
	    "(default 2)\n"
	    "      --rate SECONDS     measure over SECONDS (0.5-3600): open "
	    "rate,\n"
	    "                         sustainable rate, headroom, time to "
	    "exhaustion\n"
	    "      --exhaustion-warning SECONDS, --exhaustion-critical "
	    "SECONDS\n"
	    "                         check --rate: WARNING/CRITICAL when "
	    "exhaustion\n"
	    "                         is predicted within SECONDS\n"
	    "      --processes[=N]    also who holds the pool ports: the N "
	    "processes\n"
	    "                         holding most (default 10)\n"
	    "      --all-processes    the same, every process\n"
	    "  -h, --help             this help\n"
	    "  -V, --version          version\n\n"
	    "Exit status: 0 ok, 1 collection failed, 2 usage error;\n"
	    "check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n",
	    EPH_TOP_MAX, EPH_DEST_CAP_DEFAULT);
}

static int parse_uint(const char *opt, const char *s, unsigned max,
		      unsigned *out)
{
	if (eph_parse_uint(s, 0, max, out) < 0) {
		fprintf(stderr,
			"ephport: --%s: '%s' is not a number from 0 to %u\n",
			opt, s, max);
		return -1;
	}
	return 0;
}

static int parse_percent(const char *opt, const char *s, uint32_t *bp)
{
	if (eph_parse_percent(s, bp) < 0) {
		fprintf(stderr,
			"ephport: --%s: '%s' is not a percent from 0 to 100\n",
			opt, s);
		return -1;
	}
	return 0;
}

/* A WARNING threshold must not be above its CRITICAL one. */
static int check_order(const char *wname, uint32_t warn_bp, const char *cname,
		       uint32_t crit_bp)
{
	if (warn_bp <= crit_bp)
		return 0;
	fprintf(stderr,
		"ephport: --%s (%u.%02u%%) must not be above --%s "
		"(%u.%02u%%)\n",
		wname, warn_bp / 100, warn_bp % 100, cname, crit_bp / 100,
		crit_bp % 100);
	return -1;
}

int main(int argc, char **argv)
{
	struct eph_config cfg;
	struct eph_collector *c;
	struct eph_snapshot snap;
	struct eph_host host;
	struct eph_report rep = {0};
	struct eph_cli_extra x = {0};
	struct eph_cli_ns ns = {0};
	enum format fmt = FMT_TEXT;
	int opt, err, verbose = 0, check = 0, usage_status = 2, fail_status = 1;
	struct eph_check_thresholds th = {0};
	/* Per kind: set by an option, else the headline ones. */
	bool kind_set[4] = {false};
	uint32_t kind_bp[4] = {0};
	static const char *const kind_opt[4] = {"bind-warning", "bind-critical",
						"connect-warning",
						"connect-critical"};
	uint8_t protocols = 0;
	/* --watch, ephport top: the refresh interval; 0: no live view. */
	unsigned watch_ms = 0;
	const char *watch_arg = NULL;
	/* --rate: the measurement; 0: one collection. */
	unsigned rate_ms = 0;
	static struct eph_rate hist;
	struct eph_rate_result rate_res;
	struct eph_check_rate crate = {0};
	/* --processes, --all-processes: who holds the ports. */
	struct eph_holders holders = {0};

	th.warn_bp = 8000;
	th.crit_bp = 9000;
	eph_config_init(&cfg);
	cfg.proc_root = getenv("EPHPORT_PROC_ROOT");
	if (cfg.proc_root && !*cfg.proc_root)
		cfg.proc_root = NULL;
	if (argc > 1 && strcmp(argv[1], "check") == 0) {
		check = 1;
		usage_status = fail_status = CHECK_UNKNOWN;
		argv++;
		argc--;
		/* Nagios shows a plugin's standard output only: say why there.
		 */
		dup2(STDOUT_FILENO, STDERR_FILENO);
	} else if (argc > 1 && strcmp(argv[1], "advise") == 0) {
		x.advise = true;
		argv++;
		argc--;
	} else if (argc > 1 && strcmp(argv[1], "top") == 0) {
		watch_ms = 2000;
		argv++;
		argc--;
	}
	while ((opt = getopt_long(argc, argv, "jmt:P:vhVw:c:A", long_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'j':
		case 'm': {
			enum format f = opt == 'j' ? FMT_JSON : FMT_PROMETHEUS;

			/* One output: the last of two was silently taken. */
			if (check) {
				fprintf(stderr,
					"ephport: check prints plugin output: "
					"-%c does not apply\n",
					opt);
				return usage_status;
			}
			if (fmt != FMT_TEXT && fmt != f) {
				fprintf(stderr, "ephport: --json and "
						"--prometheus: choose one\n");
				return usage_status;
			}
			fmt = f;
			break;
		}
		case 't':
			if (parse_uint("top", optarg, EPH_TOP_MAX, &cfg.top_n) <
			    0)
				return usage_status;
			break;
		case 'P': {
			int p = eph_proto_from_name(optarg);

			if (p < 0) {
				fprintf(stderr,
					"ephport: --protocol: '%s' is not tcp "
					"or udp\n",
					optarg);
				return usage_status;
			}
			protocols |= (uint8_t)(1u << p);
			break;
		}
		case OPT_SOURCE:
			if (strcmp(optarg, "auto") == 0)
				cfg.source = EPH_PREFER_AUTO;
			else if (strcmp(optarg, "netlink") == 0)
				cfg.source = EPH_PREFER_NETLINK;
			else if (strcmp(optarg, "procfs") == 0)
				cfg.source = EPH_PREFER_PROCFS;
			else if (strcmp(optarg, "bpf") == 0)
				cfg.source = EPH_PREFER_BPF;
			else {
				fprintf(stderr,
					"ephport: --source: '%s' is not auto, "
					"bpf, netlink or procfs\n",
					optarg);
				return usage_status;
			}
			break;
		case OPT_PROC_ROOT:
			/* As the plugin's ProcRoot: a path that long would be
			 * cut below it, a usage error, not a failed read. */
			if (!optarg[0] || strlen(optarg) >= 1024) {
				fprintf(stderr,
					"ephport: --proc-root: expected "
					"a directory (under 1024 "
					"bytes)\n");
				return usage_status;
			}
			cfg.proc_root = optarg;
			break;
		case OPT_BPF_PIN:
			cfg.bpf_pin_dir = optarg;
			break;
		case OPT_DEST_CAP:
			if (parse_uint("dest-cap", optarg, 1u << 24,
				       &cfg.dest_cap) < 0)
				return usage_status;
			if (cfg.dest_cap == 0) {
				fprintf(stderr, "ephport: --dest-cap: must be "
						"at least 1\n");
				return usage_status;
			}
			break;
		case OPT_NO_TOTALS:
			cfg.state_totals = false;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_NETNS:
			ns.spec = optarg;
			break;
		case 'A':
			ns.all = true;
			break;
		case OPT_WATCH:
			/* --watch SECONDS as well as --watch=SECONDS. */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			watch_ms = 2000;
			watch_arg = optarg;
			break;
		case OPT_RATE:
			if (eph_rate_parse_seconds(optarg, &rate_ms) < 0) {
				fprintf(stderr,
					"ephport: --rate: '%s' is not a number "
					"of seconds from 0.5 to 3600\n",
					optarg);
				return usage_status;
			}
			break;
		case OPT_EXH_WARN:
		case OPT_EXH_CRIT: {
			const char *name = opt == OPT_EXH_WARN
					       ? "exhaustion-warning"
					       : "exhaustion-critical";

			if (!check) {
				fprintf(stderr,
					"ephport: --%s is for 'ephport "
					"check'\n",
					name);
				return usage_status;
			}
			if (parse_uint(name, optarg, 86400u * 365,
				       opt == OPT_EXH_WARN ? &crate.warn_s
							   : &crate.crit_s) < 0)
				return usage_status;
			if (opt == OPT_EXH_WARN)
				crate.warn_set = true;
			else
				crate.crit_set = true;
			break;
		}
		case OPT_PROCESSES:
			ns.processes = true;
			ns.processes_top = PROCESSES_TOP_DEFAULT;
			/* 0 is not "all": that is --all-processes. */
			if (optarg && eph_parse_uint(optarg, 1, 1000000,
						     &ns.processes_top) < 0) {
				fprintf(stderr,
					"ephport: --processes: '%s' is not a "
					"number from 1 to 1000000 "
					"(--all-processes: all)\n",
					optarg);
				return usage_status;
			}
			break;
		case OPT_ALL_PROCESSES:
			ns.processes = true;
			ns.processes_top = 0;
			break;
		case 'w':
		case 'c':
			if (!check) {
				fprintf(stderr,
					"ephport: -%c is for 'ephport check'\n",
					opt);
				return usage_status;
			}
			if (parse_percent(
				opt == 'w' ? "warning" : "critical", optarg,
				opt == 'w' ? &th.warn_bp : &th.crit_bp) < 0)
				return usage_status;
			break;
		case OPT_BIND_WARN:
		case OPT_BIND_CRIT:
		case OPT_CONNECT_WARN:
		case OPT_CONNECT_CRIT: {
			int k = opt - OPT_BIND_WARN;

			if (!check) {
				fprintf(stderr,
					"ephport: --%s is for 'ephport "
					"check'\n",
					kind_opt[k]);
				return usage_status;
			}
			if (parse_percent(kind_opt[k], optarg, &kind_bp[k]) < 0)
				return usage_status;
			kind_set[k] = true;
			break;
		}
		case EPH_OPT_OS:
		case EPH_OPT_RANGE_FILE:
		case EPH_OPT_SOCKETS_FILE:
		case EPH_OPT_FIREWALL:
			if (eph_cli_extra_option(&x, opt, optarg) < 0)
				return usage_status;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ephport %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return usage_status;
		}
	}
	if (watch_ms && !watch_arg && optind < argc && !check)
		watch_arg = argv[optind++]; /* ephport top SECONDS */
	if (watch_arg && eph_watch_parse_interval(watch_arg, &watch_ms) < 0) {
		fprintf(stderr,
			"ephport: --watch: '%s' is not a number of seconds "
			"from 0.1 to 86400\n",
			watch_arg);
		return usage_status;
	}
	if (optind < argc) {
		fprintf(stderr, "ephport: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return usage_status;
	}
	if (protocols)
		cfg.protocols = protocols;
	if (check) {
		th.bind_warn_bp = kind_set[0] ? kind_bp[0] : th.warn_bp;
		th.bind_crit_bp = kind_set[1] ? kind_bp[1] : th.crit_bp;
		th.connect_warn_bp = kind_set[2] ? kind_bp[2] : th.warn_bp;
		th.connect_crit_bp = kind_set[3] ? kind_bp[3] : th.crit_bp;
		if (check_order("warning", th.warn_bp, "critical", th.crit_bp) <
			0 ||
		    check_order("bind-warning", th.bind_warn_bp,
				"bind-critical", th.bind_crit_bp) < 0 ||
		    check_order("connect-warning", th.connect_warn_bp,
				"connect-critical", th.connect_crit_bp) < 0)
			return usage_status;
		if ((crate.warn_set || crate.crit_set) && !rate_ms) {
			fprintf(stderr, "ephport: --exhaustion-warning and "
					"--exhaustion-critical need --rate "
					"SECONDS\n");
			return usage_status;
		}
		if (crate.warn_set && crate.crit_set &&
		    crate.warn_s < crate.crit_s) {
			fprintf(stderr,
				"ephport: --exhaustion-warning (%u s) must "
				"not be below --exhaustion-critical (%u s)\n",
				crate.warn_s, crate.crit_s);
			return usage_status;
		}
	}
	if (rate_ms &&
	    (watch_ms || x.os || x.advise || eph_cli_ns_wanted(&ns))) {
		fprintf(stderr, "ephport: --rate measures this namespace: not "
				"for --watch, advise, --os, --netns or "
				"--all-namespaces\n");
		return usage_status;
	}

	if (ns.processes && (check || x.os || x.advise || watch_ms)) {
		fprintf(stderr, "ephport: --processes and --all-processes "
				"are not for check, advise, --os or "
				"--watch\n");
		return usage_status;
	}
	if (eph_cli_extra_check(&x, &cfg, check, fmt == FMT_JSON,
				fmt == FMT_PROMETHEUS) < 0)
		return usage_status;
	if (watch_ms) {
		if (check || x.os || x.advise || fmt != FMT_TEXT ||
		    (ns.spec && ns.all)) {
			fprintf(stderr, "ephport: --watch: %s\n",
				ns.spec && ns.all
				    ? "--netns and --all-namespaces exclude "
				      "each other"
				    : "a live view of the text output: not "
				      "for check, advise, --os, --json or "
				      "--prometheus");
			return usage_status;
		}
		ns.verbose = verbose;
		return eph_watch_run(&cfg, &ns, watch_ms);
	}
	if (eph_cli_ns_wanted(&ns)) {
		if (x.os || x.advise || (ns.spec && ns.all)) {
			fprintf(stderr, "ephport: %s\n",
				ns.spec && ns.all
				    ? "--netns and --all-namespaces exclude "
				      "each other"
				    : "--netns and --all-namespaces are not "
				      "for --os or advise");
			return usage_status;
		}
		ns.verbose = verbose;
		return eph_cli_ns_run(&ns, &cfg,
				      fmt == FMT_JSON ? EPH_NS_JSON
				      : fmt == FMT_PROMETHEUS
					  ? EPH_NS_PROMETHEUS
					  : EPH_NS_TEXT,
				      check, &th);
	}
	if (x.os) {
		if (eph_cli_captured(&x, &cfg, &snap, check) < 0)
			return fail_status;
		goto collected;
	}
	c = eph_collector_new(&cfg);
	if (!c) {
		fprintf(stderr, "ephport: cannot set up the collector: %s\n",
			strerror(errno));
		return fail_status;
	}
	if (rate_ms)
		err = eph_rate_measure(c, rate_ms, &hist, &snap);
	else
		err = eph_collect(c, &snap);
	if (err < 0) {
		if (check)
			printf("EPHPORT UNKNOWN - %s\n",
			       eph_collector_error(c));
		else
			fprintf(stderr, "ephport: %s\n",
				eph_collector_error(c));
		eph_collector_free(c);
		return fail_status;
	}
	if (verbose && *eph_collector_note(c))
		fprintf(stderr, "ephport: %s\n", eph_collector_note(c));
	if (ns.processes) {
		if (eph_processes_collect(c, NULL, ns.processes_top, &holders) <
		    0) {
			eph_collector_free(c);
			return fail_status;
		}
		rep.holders = &holders;
	}
	eph_collector_free(c);
	if (rate_ms && eph_rate_compute(&hist, &rate_res) == 0) {
		rep.rate = &rate_res;
		rep.rate_seconds_asked = rate_ms / 1000.0;
		rep.rate_interval_s = eph_rate_interval_ms(rate_ms) / 1000.0;
		crate.rate = &rate_res;
	}
collected:
	if (check) {
		int status = eph_print_check_rate(stdout, &snap, &th, &crate);

		return fflush(stdout) == 0 ? status : CHECK_UNKNOWN;
	}
	rep.snap = &snap;
	rep.top_n = cfg.top_n;
	rep.host = eph_host_read(&host) == 0 ? &host : NULL;
	eph_cli_extra_report(&x, &rep);
	if (x.advise && fmt == FMT_TEXT)
		fmt = FMT_ADVICE;
	switch (fmt) {
	case FMT_JSON:
		eph_print_json(stdout, &rep);
		break;
	case FMT_PROMETHEUS:
		eph_print_prometheus(stdout, &rep);
		break;
	case FMT_ADVICE:
		eph_print_advice(stdout, &snap, &x);
		break;
	default:
		eph_print_text(stdout, &rep);
		eph_cli_extra_text(stdout, &x);
	}
	eph_holders_free(&holders);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ephport: writing output: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}
