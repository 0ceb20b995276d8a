/*
 * failures-load.c - ephport-bpf's half of the failure counters: load
 * failures.bpf.c, attach its tracepoints, pin its maps and its iterator.
 *
 *   DIR/fail_counts     the totals (MODE), reused by the next load
 *   DIR/fail_detail     destinations and processes, an LRU (MODE), reused
 *   DIR/fail_meta       load time, lost, magic, version (MODE), reused
 *   DIR/probes/NAME     one link per tracepoint program (0600)
 *
 * Readers open the three maps read-only (collector/failures_bpf.c).
 *
 * Reloading (ephportd's ExecStartPre runs `ephport-bpf load` at every
 * start) keeps the counters: they are monotonic from the first load, whose
 * time the iterator reports as the discontinuity time.  The old probes
 * are unpinned before the new ones attach, so a failure during the
 * reload may be missed but none is counted twice.
 *
 * Pins this build cannot reuse (another layout version, failures.h: those
 * of version 1 have no fail_detail and a fail_counts of 16384 entries; or
 * a fail_counts or fail_detail of another size than -n or -e asks) are
 * replaced, with a word
 * on stderr: their counts restart from zero and fail_meta's new load time
 * tells the readers so.  Migrating them instead would carry the totals
 * over, but the old probes count on while they are copied, so the copy
 * would be short or counted twice: a restart is the honest discontinuity.
 * Any other failure to load leaves the pins as they were.
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

static const char *const map_names[] = {"fail_counts", "fail_detail",
					"fail_meta"};

/* The sizes a load asks for (ephport-bpf load -n, -e). */
struct sizes {
	__u32 totals_max, detail_max;
};

/* The skeleton opened with the pins and sizes; without_uring: the
 * io_uring program left out (a kernel that refuses it still gets the
 * system calls counted). */
static struct failures_bpf *
open_with_pins(const char *dir, const struct sizes *sz, bool without_uring)
{
	struct failures_bpf *skel = failures_bpf__open();
	char counts[PATH_MAX], detail[PATH_MAX], meta[PATH_MAX];

	if (!skel)
		return NULL;
	path_of(counts, sizeof(counts), dir, "fail_counts");
	path_of(detail, sizeof(detail), dir, "fail_detail");
	path_of(meta, sizeof(meta), dir, "fail_meta");
	if (bpf_map__set_max_entries(skel->maps.fail_counts, sz->totals_max) ||
	    bpf_map__set_max_entries(skel->maps.fail_detail, sz->detail_max) ||
	    (without_uring &&
	     bpf_program__set_autoload(skel->progs.eph_fail_uring, false)) ||
	    bpf_map__set_pin_path(skel->maps.fail_counts, counts) ||
	    bpf_map__set_pin_path(skel->maps.fail_detail, detail) ||
	    bpf_map__set_pin_path(skel->maps.fail_meta, meta)) {
		failures_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* What this build wants of one pinned map. */
struct want {
	const char *name;
	__u32 type, key_size, value_size, max_entries;
};

/* Whether DIR/w->name is that map; *why says how it is not.  A missing
 * pin is not it (the caller asks first whether any pin is there). */
static bool pin_fits(const char *dir, const struct want *w, char *why,
		     size_t len)
{
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	path_of(path, sizeof(path), dir, w->name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(why, len, "%s: %s", w->name, strerror(errno));
		return false;
	}
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	close(fd);
	if (err) {
		snprintf(why, len, "%s: %s", w->name, strerror(errno));
		return false;
	}
	if (info.type == w->type && info.key_size == w->key_size &&
	    info.value_size == w->value_size) {
		if (info.max_entries == w->max_entries)
			return true;
		snprintf(why, len, "%s holds %u entries, this load wants %u",
			 w->name, info.max_entries, w->max_entries);
		return false;
	}
	snprintf(why, len,
		 "%s is map type %u of %u entries, key %u value %u bytes; "
		 "this build's is type %u of %u entries, key %u value %u",
		 w->name, info.type, info.max_entries, info.key_size,
		 info.value_size, w->type, w->max_entries, w->key_size,
		 w->value_size);
	return false;
}

/* fail_meta's layout version: 1 when it has no magic (version 1 kept a
 * count of at most 12288 there), 0 when it cannot be read. */
static __u32 pinned_version(const char *dir)
{
	struct eph_bpf_fail_meta m;
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err;

	path_of(path, sizeof(path), dir, "fail_meta");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	err = bpf_map_lookup_elem(fd, &zero, &m);
	close(fd);
	if (err)
		return 0;
	return m.magic == EPH_BPF_FAIL_MAGIC ? m.version : 1;
}

/*
 * Whether the pins in DIR are the counters of this build's layout with a
 * fail_counts and fail_detail of sz's sizes (or there are none): true.  False
 * with *why: they must be replaced.  fail_meta first, shape and version
 * (version 1's has this build's shape), then the other maps' shapes.
 */
static bool pins_fit(const char *dir, const struct sizes *sz, char *why,
		     size_t len)
{
	const struct want wants[] = {
	    {"fail_meta", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
	     sizeof(struct eph_bpf_fail_meta), 1},
	    {"fail_counts", BPF_MAP_TYPE_HASH, sizeof(struct eph_bpf_fail_key),
	     sizeof(struct eph_bpf_fail_val), sz->totals_max},
	    {"fail_detail", BPF_MAP_TYPE_LRU_HASH,
	     sizeof(struct eph_bpf_fail_key), sizeof(struct eph_bpf_fail_dval),
	     sz->detail_max},
	};
	char path[PATH_MAX];
	bool any = false;
	__u32 version;

	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++) {
		path_of(path, sizeof(path), dir, map_names[i]);
		any = any || access(path, F_OK) == 0;
	}
	if (!any)
		return true;
	if (!pin_fits(dir, &wants[0], why, len))
		return false;
	version = pinned_version(dir);
	if (version != EPH_BPF_FAIL_VERSION) {
		snprintf(why, len, "layout version %u, this build's is %u",
			 version, EPH_BPF_FAIL_VERSION);
		return false;
	}
	for (size_t i = 1; i < sizeof(wants) / sizeof(wants[0]); i++)
		if (!pin_fits(dir, &wants[i], why, len))
			return false;
	return true;
}

static struct failures_bpf *load(const char *dir, const struct sizes *sz)
{
	struct failures_bpf *skel;
	char path[PATH_MAX], why[256];
	int err;

	if (!pins_fit(dir, sz, why, sizeof(why))) {
		fprintf(stderr,
			"ephport-bpf: the pinned failure counters in %s do not "
			"fit this build (%s): they are replaced, and count "
			"again from zero\n",
			dir, why);
		for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]);
		     i++) {
			path_of(path, sizeof(path), dir, map_names[i]);
			if (unlink(path) < 0 && errno != ENOENT) {
				fprintf(stderr, "ephport-bpf: %s: %s\n", path,
					strerror(errno));
				return NULL;
			}
		}
	}
	skel = open_with_pins(dir, sz, false);
	if (skel && failures_bpf__load(skel) == 0)
		return skel;
	err = errno;
	failures_bpf__destroy(skel);
	/* The programs load all or none: one the kernel refuses (io_uring's
	 * tracepoint or its structures are the likeliest to differ) would
	 * leave the system calls uncounted too. */
	skel = open_with_pins(dir, sz, true);
	if (skel && failures_bpf__load(skel) == 0) {
		fprintf(stderr,
			"ephport-bpf: the io_uring program did not load (%s): "
			"io_uring connects are not counted, system calls are\n",
			strerror(err));
		return skel;
	}
	failures_bpf__destroy(skel);
	errno = err;
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
	/* Before the probes attach: a reader seeing the magic sees a map
	 * this build counts in. */
	m.magic = EPH_BPF_FAIL_MAGIC;
	m.version = EPH_BPF_FAIL_VERSION;
	return bpf_map_update_elem(fd, &zero, &m, BPF_ANY);
}

int eph_failures_load(const char *dir, mode_t mode, unsigned namespaces,
		      unsigned detail_max)
{
	const struct sizes sz = {EPH_BPF_FAIL_KINDS * namespaces, detail_max};
	struct bpf_program *prog;
	struct failures_bpf *skel;
	char probes[PATH_MAX], path[PATH_MAX];
	int rc = -1;

	if (ensure_tracefs() < 0)
		return -1;
	skel = load(dir, &sz);
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
	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++) {
		path_of(path, sizeof(path), dir, map_names[i]);
		if (chmod(path, mode) < 0) {
			fprintf(stderr, "ephport-bpf: %s: %s\n", path,
				strerror(errno));
			goto out;
		}
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
	printf("ephport-bpf: pinned %s/fail_counts (totals of %u namespaces), "
	       "%s/fail_detail (%u destinations and processes, least recently "
	       "failing forgotten first) and %s/fail_meta (mode %04o): "
	       "connect, bind and autobind failures from the syscall exit "
	       "tracepoints\n",
	       dir,
	       bpf_map__max_entries(skel->maps.fail_counts) /
		   EPH_BPF_FAIL_KINDS,
	       dir, bpf_map__max_entries(skel->maps.fail_detail), dir,
	       (unsigned)mode);
	rc = 0;
out:
	failures_bpf__destroy(skel);
	return rc;
}

int eph_failures_unload(const char *dir)
{
	char path[PATH_MAX];
	int rc = 0;

	unpin_probes(dir);
	path_of(path, sizeof(path), dir, "probes");
	if (rmdir(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "ephport-bpf: rmdir %s: %s\n", path,
			strerror(errno));
		rc = -1;
	}
	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++) {
		path_of(path, sizeof(path), dir, map_names[i]);
		if (unlink(path) < 0 && errno != ENOENT) {
			fprintf(stderr, "ephport-bpf: %s: %s\n", path,
				strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

/* How full fail_detail is, over every namespace: when it is full, the
 * least recently failing entries are being forgotten.  Nothing when it
 * cannot be read (the totals line below says why). */
static void status_detail(const char *dir)
{
	struct eph_bpf_fail_key key, next;
	struct bpf_map_info info;
	__u32 info_len = sizeof(info), n = 0;
	char path[PATH_MAX];
	int fd;

	path_of(path, sizeof(path), dir, "fail_detail");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0 &&
	    info.key_size == sizeof(key)) {
		for (int err = bpf_map_get_next_key(fd, NULL, &next);
		     err == 0 && n < 2 * info.max_entries;
		     err = bpf_map_get_next_key(fd, &key, &next)) {
			key = next;
			n++;
		}
		printf("%s: %u of %u destinations and processes, all "
		       "namespaces (when full, the least recently failing "
		       "are forgotten)\n",
		       path, n, info.max_entries);
	}
	close(fd);
}

int eph_failures_status(const char *dir)
{
	struct eph_failures f;
	char path[PATH_MAX];

	status_detail(dir);

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
