/*
 * failures-load.c - ephport-bpf's half of the failure counters: load
 * failures.bpf.c, attach its tracepoints, pin its maps and its iterator.
 *
 *   DIR/fail_counts     the counters (MODE), reused by the next load
 *   DIR/fail_meta       load time, lost, table fill (MODE), reused
 *   DIR/probes/NAME     one link per tracepoint program (0600)
 *
 * Readers open the two maps read-only (collector/failures_bpf.c).
 *
 * Reloading (ephportd's ExecStartPre runs `ephport-bpf load` at every
 * start) keeps the counters: they are monotonic from the first load, whose
 * time the iterator reports as the discontinuity time.  The old probes
 * are unpinned before the new ones attach, so a failure during the
 * reload may be missed but none is counted twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_pin.h"
#include "fail.h"
#include "failures.h"
#include "failures.skel.h"

#define TRACEFS "/sys/kernel/tracing"

/* libbpf finds tracepoint ids below tracefs; a fresh boot may not have
 * it mounted. */
static int ensure_tracefs(void)
{
	struct stat st;

	if (stat(TRACEFS "/events", &st) == 0 ||
	    stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0)
		return 0;
	fprintf(stderr,
		"ephport-bpf: mount -t tracefs tracefs " TRACEFS ": %s\n",
		strerror(errno));
	return -1;
}

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void unpin_probes(const char *dir)
{
	struct bpf_program *prog;
	struct failures_bpf *names = failures_bpf__open();
	char path[PATH_MAX];

	/* The program names, from the object, not from a second list. */
	if (!names)
		return;
	bpf_object__for_each_program(prog, names->obj)
	{
		snprintf(path, sizeof(path), "%s/probes/%s", dir,
			 bpf_program__name(prog));
		unlink(path);
	}
	failures_bpf__destroy(names);
}

static struct failures_bpf *open_with_pins(const char *dir)
{
	struct failures_bpf *skel = failures_bpf__open();
	char counts[PATH_MAX], meta[PATH_MAX];

	if (!skel)
		return NULL;
	path_of(counts, sizeof(counts), dir, "fail_counts");
	path_of(meta, sizeof(meta), dir, "fail_meta");
	if (bpf_map__set_pin_path(skel->maps.fail_counts, counts) ||
	    bpf_map__set_pin_path(skel->maps.fail_meta, meta)) {
		failures_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static struct failures_bpf *load(const char *dir)
{
	struct failures_bpf *skel = open_with_pins(dir);
	char path[PATH_MAX];

	if (skel && failures_bpf__load(skel) == 0)
		return skel;
	failures_bpf__destroy(skel);
	/* Maps pinned by an older, incompatible build: start again. */
	path_of(path, sizeof(path), dir, "fail_counts");
	if (unlink(path) < 0 && errno == ENOENT)
		return NULL;
	path_of(path, sizeof(path), dir, "fail_meta");
	unlink(path);
	fprintf(stderr, "ephport-bpf: the pinned failure counters did not "
			"fit this build: they start again from zero\n");
	skel = open_with_pins(dir);
	if (skel && failures_bpf__load(skel) == 0)
		return skel;
	failures_bpf__destroy(skel);
	return NULL;
}

/* The first load sets the time the counters count from. */
static int stamp_meta(struct failures_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.fail_meta);
	struct eph_bpf_fail_meta m;
	struct timespec ts;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &m) < 0)
		return -1;
	if (m.loaded_real_ns)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	m.loaded_real_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	return bpf_map_update_elem(fd, &zero, &m, BPF_ANY);
}

int eph_failures_load(const char *dir, mode_t mode)
{
	struct bpf_program *prog;
	struct failures_bpf *skel;
	char probes[PATH_MAX], path[PATH_MAX];
	int rc = -1;

	if (ensure_tracefs() < 0)
		return -1;
	skel = load(dir);
	if (!skel) {
		fprintf(stderr,
			"ephport-bpf: loading the failure counters failed: %s "
			"(run with -v for the verifier log)\n",
			strerror(errno));
		return -1;
	}
	if (stamp_meta(skel) < 0) {
		fprintf(stderr, "ephport-bpf: fail_meta: %s\n",
			strerror(errno));
		goto out;
	}
	path_of(path, sizeof(path), dir, "fail_counts");
	if (chmod(path, mode) < 0)
		goto pins;
	path_of(path, sizeof(path), dir, "fail_meta");
	if (chmod(path, mode) < 0) {
	pins:
		fprintf(stderr, "ephport-bpf: %s: %s\n", path, strerror(errno));
		goto out;
	}
	path_of(probes, sizeof(probes), dir, "probes");
	if (mkdir(probes, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "ephport-bpf: mkdir %s: %s\n", probes,
			strerror(errno));
		goto out;
	}
	unpin_probes(dir);
	bpf_object__for_each_program(prog, skel->obj)
	{
		struct bpf_link *link;

		if (bpf_program__type(prog) != BPF_PROG_TYPE_TRACEPOINT)
			continue;
		link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr, "ephport-bpf: attaching %s: %s\n",
				bpf_program__section_name(prog),
				strerror(errno));
			goto out;
		}
		rc = eph_bpf_pin_link(link, probes, bpf_program__name(prog),
				      0600);
		bpf_link__destroy(link);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	printf("ephport-bpf: pinned %s/fail_counts and %s/fail_meta (mode "
	       "%04o): connect, bind and autobind failures from the syscall "
	       "exit tracepoints\n",
	       dir, dir, (unsigned)mode);
	rc = 0;
out:
	failures_bpf__destroy(skel);
	return rc;
}

int eph_failures_unload(const char *dir)
{
	static const char *const names[] = {"fail_counts", "fail_meta"};
	char path[PATH_MAX];
	int rc = 0;

	unpin_probes(dir);
	path_of(path, sizeof(path), dir, "probes");
	if (rmdir(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "ephport-bpf: rmdir %s: %s\n", path,
			strerror(errno));
		rc = -1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(path, sizeof(path), dir, names[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "ephport-bpf: %s: %s\n", path,
				strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

int eph_failures_status(const char *dir)
{
	struct eph_failures f;
	char path[PATH_MAX];

	/* The collector's own reader: what ephport and the daemons see. */
	eph_failures_read(dir, "/proc", &f);
	path_of(path, sizeof(path), dir, "fail_counts");
	if (!f.observable) {
		printf("%s: %s\n", path, f.why);
		return -1;
	}
	printf("%s: ok, this namespace's failures since the first load:", path);
	for (int k = 0; k < EPH_FAIL_KINDS; k++)
		printf(" %s %llu", eph_fail_kind_name((enum eph_fail_kind)k),
		       (unsigned long long)f.total[k]);
	printf("\n");
	return 0;
}
