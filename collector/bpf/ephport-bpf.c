/*
 * ephport-bpf - the privileged half of the BPF socket source: load the
 * socket iterators (ephport.bpf.c) and pin them, so that ephport,
 * ephportd and the collectd plugin can read them with no capability at
 * all (they only open() and read() the pins; see collector/sockets_bpf.c).
 *
 *   ephport-bpf load   [-d DIR] [-m MODE] [-e N] [-v]
 *                                    load, pin DIR/tcp, DIR/udp, DIR/holders
 *                                    and the failure counters (N: size of
 *                                    their destination and process LRU)
 *   ephport-bpf unload [-d DIR]                  remove the pins
 *   ephport-bpf status [-d DIR]                  read each pin once
 *
 * DIR/holders (who holds the ports, holders.bpf.c) is a program of its
 * own: when this kernel refuses it, load says so and still pins the
 * socket iterators (exit 0); ephport then attributes from /proc.
 *
 * DIR defaults to /sys/fs/bpf/ephport; MODE (octal, default 0444) is who
 * may read the pins.  Loading needs CAP_BPF and CAP_PERFMON (or root):
 * run it as ExecStartPre=+ of ephportd.service.  A pinned iterator walks
 * the network namespace of whoever opens it, so one load serves every
 * namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpf_pin.h"
#include "ephport.skel.h"
#include "failures.h"
#include "holders.h"
#include "holders.skel.h"
#include "iter.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#define DEFAULT_DIR "/sys/fs/bpf/ephport"

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ephport-bpf load [-d DIR] [-m MODE] [-n NS] [-e N] "
		"[-v]\n"
		"       ephport-bpf unload [-d DIR]\n"
		"       ephport-bpf status [-d DIR]\n"
		"DIR: where the iterators are pinned (default " DEFAULT_DIR
		", on a bpf filesystem)\n"
		"MODE: octal permissions of the pins (default 0444)\n"
		"NS: namespaces the failure counters keep totals for "
		"(default %u, 1 to %u)\n"
		"N: destinations and processes the failure counters name "
		"(default %u, %u to %u)\n",
		EPH_BPF_FAIL_NS_DEFAULT, EPH_BPF_FAIL_NS_LIMIT,
		EPH_BPF_FAIL_DETAIL_DEFAULT, EPH_BPF_FAIL_DETAIL_MIN,
		EPH_BPF_FAIL_DETAIL_LIMIT);
}

/* A number from min to max for option -opt; false: said why. */
static bool parse_count(int opt, const char *arg, unsigned min, unsigned max,
			unsigned *out)
{
	unsigned long m;
	char *end;

	errno = 0;
	m = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || m < min ||
	    m > max) {
		fprintf(stderr,
			"ephport-bpf: -%c %s: expected a number from %u to "
			"%u\n",
			opt, arg, min, max);
		return false;
	}
	*out = (unsigned)m;
	return true;
}

/* The directory holding DIR must be on a bpf filesystem; the default
 * one is mounted when it is not (a fresh boot may not have it). */
static int ensure_bpffs(const char *dir)
{
	char parent[PATH_MAX];
	struct statfs fs;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		fprintf(stderr,
			"ephport-bpf: %s: give an absolute DIR below a "
			"bpf filesystem\n",
			dir);
		return -1;
	}
	*slash = '\0';
	if (statfs(parent, &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
		return 0;
	if (strcmp(parent, "/sys/fs/bpf") == 0) {
		if (mount("bpf", parent, "bpf", 0, "mode=0755") == 0)
			return 0;
		fprintf(stderr, "ephport-bpf: mount -t bpf bpf %s: %s\n",
			parent, strerror(errno));
		return -1;
	}
	fprintf(stderr,
		"ephport-bpf: %s is not a bpf filesystem (mount -t bpf bpf "
		"%s)\n",
		parent, parent);
	return -1;
}

int eph_bpf_pin_link(struct bpf_link *link, const char *dir, const char *name,
		     mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* bpffs refuses names with a dot. */
	snprintf(tmp, sizeof(tmp), "%s/%s_new", dir, name);
	unlink(tmp);
	err = bpf_link__pin(link, tmp);
	if (err) {
		fprintf(stderr, "ephport-bpf: pin %s: %s\n", tmp,
			strerror(-err));
		return -1;
	}
	if (chmod(tmp, mode) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "ephport-bpf: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The holders iterator, after the socket ones: its failure is reported
 * and leaves them pinned.  Returns whether it was pinned. */
static bool load_holders(const char *dir, mode_t mode)
{
	struct holders_bpf *skel = holders_bpf__open_and_load();
	struct bpf_link *link;
	bool ok = false;

	if (!skel) {
		fprintf(stderr,
			"ephport-bpf: the holders iterator did not load "
			"(%s%s): ephport --processes reads /proc instead\n",
			strerror(errno),
			verbose ? "" : "; -v shows the verifier log");
		return false;
	}
	link = bpf_program__attach_iter(skel->progs.ephport_holders, NULL);
	if (!link)
		fprintf(stderr,
			"ephport-bpf: attaching the holders iterator: %s\n",
			strerror(errno));
	else if (eph_bpf_pin_link(link, dir, "holders", mode) == 0)
		ok = true;
	bpf_link__destroy(link);
	holders_bpf__destroy(skel);
	return ok;
}

static int cmd_load(const char *dir, mode_t mode, unsigned namespaces,
		    unsigned detail_max)
{
	struct ephport_bpf *skel;
	struct bpf_link *tcp = NULL, *udp = NULL;
	int rc = 1;

	if (ensure_bpffs(dir) < 0)
		return 1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "ephport-bpf: mkdir %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	skel = ephport_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr,
			"ephport-bpf: loading the iterators failed: %s%s\n",
			strerror(errno),
			errno == EPERM ? " (needs CAP_BPF and CAP_PERFMON, or "
					 "root)"
				       : " (run with -v for the verifier log)");
		return 1;
	}
	tcp = bpf_program__attach_iter(skel->progs.ephport_tcp, NULL);
	udp = bpf_program__attach_iter(skel->progs.ephport_udp, NULL);
	if (!tcp || !udp) {
		fprintf(stderr, "ephport-bpf: attaching the iterators: %s\n",
			strerror(errno));
		goto out;
	}
	if (eph_bpf_pin_link(tcp, dir, "tcp", mode) < 0 ||
	    eph_bpf_pin_link(udp, dir, "udp", mode) < 0)
		goto out;
	if (load_holders(dir, mode))
		printf("ephport-bpf: pinned %s/tcp, %s/udp and %s/holders "
		       "(mode %04o)\n",
		       dir, dir, dir, (unsigned)mode);
	else
		printf("ephport-bpf: pinned %s/tcp and %s/udp (mode %04o); "
		       "not %s/holders\n",
		       dir, dir, (unsigned)mode, dir);
	rc = 0;
	/* The socket source works without them: a kernel that refuses the
	 * tracepoints still gets it, and failures read "not observable". */
	if (eph_failures_load(dir, mode, namespaces, detail_max) < 0)
		fprintf(stderr, "ephport-bpf: failure counters not loaded: "
				"failures stay not observable\n");
out:
	/* The pins hold the links, the links hold the programs. */
	bpf_link__destroy(tcp);
	bpf_link__destroy(udp);
	ephport_bpf__destroy(skel);
	return rc;
}

static int cmd_unload(const char *dir)
{
	static const char *const names[] = {"tcp", "udp", "holders"};
	char path[PATH_MAX];
	int rc = eph_failures_unload(dir) < 0;

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "ephport-bpf: %s: %s\n", path,
				strerror(errno));
			rc = 1;
		}
	}
	if (rmdir(dir) < 0 && errno != ENOENT) {
		fprintf(stderr, "ephport-bpf: rmdir %s: %s\n", dir,
			strerror(errno));
		rc = 1;
	}
	return rc;
}

/* DIR/holders: read to its end (its size grows with the processes). */
static int status_holders(const char *dir)
{
	struct eph_bpf_holders_tail t;
	char path[PATH_MAX];
	static char buf[1 << 20];
	size_t got = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/holders", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("%s: %s (ephport --processes reads /proc)\n", path,
		       strerror(errno));
		return errno == ENOENT ? 0 : -1;
	}
	/* Only the tail, the last bytes, is needed. */
	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0) {
		got += (size_t)n;
		if (got > sizeof(buf) / 2) {
			memmove(buf, buf + got - sizeof(t), sizeof(t));
			got = sizeof(t);
		}
	}
	close(fd);
	if (n < 0 || got < sizeof(t)) {
		printf("%s: read %s\n", path,
		       n < 0 ? strerror(errno) : "too short");
		return -1;
	}
	memcpy(&t, buf + got - sizeof(t), sizeof(t));
	if (t.magic != EPH_BPF_HOLDERS_MAGIC) {
		printf("%s: not a holders iterator output\n", path);
		return -1;
	}
	printf("%s: ok, range %u-%u, %u processes hold %llu pool sockets%s\n",
	       path, t.low, t.high, t.records,
	       (unsigned long long)t.sockets_attributed,
	       t.hidden ? " (others' processes hidden)" : "");
	return 0;
}

static int cmd_status(const char *dir)
{
	static const char *const names[] = {"tcp", "udp"};
	int rc = 0;

	for (size_t i = 0; i < 2; i++) {
		struct eph_bpf_result r;
		char path[PATH_MAX], buf[65536];
		ssize_t n, got = 0;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			printf("%s: %s\n", path, strerror(errno));
			rc = 1;
			continue;
		}
		while ((n = read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
			got += n;
		close(fd);
		if (n < 0 || (size_t)got < sizeof(r)) {
			printf("%s: read %s\n", path,
			       n < 0 ? strerror(errno) : "too short");
			rc = 1;
			continue;
		}
		memcpy(&r, buf, sizeof(r));
		printf("%s: ok, range %u-%u, %llu sockets, %llu in the pool\n",
		       path, r.low, r.high, (unsigned long long)r.sockets_total,
		       (unsigned long long)r.sockets_in_range);
	}
	if (status_holders(dir) < 0)
		rc = 1;
	if (eph_failures_status(dir) < 0)
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	const char *dir = DEFAULT_DIR, *cmd;
	unsigned detail_max = EPH_BPF_FAIL_DETAIL_DEFAULT;
	unsigned namespaces = EPH_BPF_FAIL_NS_DEFAULT;
	mode_t mode = 0444;
	int c;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "d:e:m:n:v")) != -1) {
		char *end;
		unsigned long m;

		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			errno = 0;
			m = strtoul(optarg, &end, 8);
			if (errno || *end || end == optarg || m > 0777) {
				fprintf(stderr,
					"ephport-bpf: -m %s: expected an octal "
					"mode such as 0444\n",
					optarg);
				return 2;
			}
			mode = (mode_t)m;
			break;
		case 'e':
			if (!parse_count(c, optarg, EPH_BPF_FAIL_DETAIL_MIN,
					 EPH_BPF_FAIL_DETAIL_LIMIT,
					 &detail_max))
				return 2;
			break;
		case 'n':
			if (!parse_count(c, optarg, 1, EPH_BPF_FAIL_NS_LIMIT,
					 &namespaces))
				return 2;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || dir[0] != '/') {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(print_libbpf);
	if (strcmp(cmd, "load") == 0)
		return cmd_load(dir, mode, namespaces, detail_max);
	if (strcmp(cmd, "unload") == 0)
		return cmd_unload(dir);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(dir);
	fprintf(stderr, "ephport-bpf: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
