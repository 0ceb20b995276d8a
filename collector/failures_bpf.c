/*
 * failures_bpf.c - read the failure counters (collector/bpf/failures.bpf.c)
 * from the maps ephport-bpf pinned: DIR/fail_meta (when the counting
 * began, the layout version), DIR/fail_detail (one entry per namespace,
 * kind and destination or process, an LRU) and DIR/fail_counts (the
 * totals per namespace and kind).  All are opened read-only (BPF_OBJ_GET,
 * BPF_F_RDONLY), which needs no capability when the pin's mode lets the
 * caller open it; the entries of the calling thread's namespace are picked
 * by its SO_NETNS_COOKIE.  Each map's key and value sizes are checked
 * before it is read: the kernel copies the map's, whatever our buffer's.
 * No libbpf: a few bpf() commands.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ephport.h"
#include "fail.h"
#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define BATCH 256

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int open_map(const char *path)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.pathname = (uint64_t)(uintptr_t)path;
	a.file_flags = BPF_F_RDONLY;
	return sys_bpf(BPF_OBJ_GET, &a);
}

static int lookup(int fd, const void *key, void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)val;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

static int next_key(int fd, const void *key, void *next)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.next_key = (uint64_t)(uintptr_t)next;
	return sys_bpf(BPF_MAP_GET_NEXT_KEY, &a);
}

/* Whether fd is a map of that type with keys and values of those sizes. */
static bool map_is(int fd, uint32_t type, uint32_t key_size,
		   uint32_t value_size)
{
	struct bpf_map_info info;
	union bpf_attr a;

	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) < 0)
		return false;
	return info.type == type && info.key_size == key_size &&
	       info.value_size == value_size;
}

static uint64_t own_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return 0;
	if (getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		cookie = 0;
	close(s);
	return cookie;
}

static void clocks(struct eph_fail_clock *clk)
{
	struct timespec r, b;

	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_REALTIME, &r);
	clk->real_us = (int64_t)r.tv_sec * 1000000 + r.tv_nsec / 1000;
	clk->boot_ns = (uint64_t)b.tv_sec * 1000000000ull + (uint64_t)b.tv_nsec;
}

/* One entry of fail_counts (detail false) or fail_detail (true);
 * *totals (when not NULL) counts the namespace's totals, zero ones too. */
static void add(struct eph_failures *out, const struct eph_fail_clock *clk,
		const struct eph_bpf_fail_key *k, const unsigned char *raw,
		bool detail, unsigned *totals)
{
	struct eph_bpf_fail_dval d;

	if (totals && !detail && k->what == EPH_BPF_FAIL_TOTAL)
		++*totals;
	memset(&d, 0, sizeof(d));
	memcpy(&d, raw, detail ? sizeof(d) : sizeof(d.v));
	eph_failures_add(out, clk, k, &d.v, detail ? d.first_boot_ns : 0);
}

/* Every entry, in batches of BATCH (one bpf() call each); a kernel
 * without batch lookups for hash maps gets one key at a time.  The values
 * are fail_counts' (detail false) or fail_detail's. */
static int walk(int fd, bool detail, uint64_t cookie,
		const struct eph_fail_clock *clk, struct eph_failures *out,
		unsigned *totals)
{
	static __thread struct eph_bpf_fail_key keys[BATCH];
	static __thread struct eph_bpf_fail_dval vals[BATCH];
	const size_t vsize = detail ? sizeof(vals[0]) : sizeof(vals[0].v);
	struct eph_bpf_fail_key key, next;
	struct eph_bpf_fail_dval v;
	uint64_t token[8];
	bool first = true;
	union bpf_attr a;
	int err;

	for (;;) {
		memset(&a, 0, sizeof(a));
		a.batch.map_fd = (uint32_t)fd;
		a.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)token;
		a.batch.out_batch = (uint64_t)(uintptr_t)token;
		a.batch.keys = (uint64_t)(uintptr_t)keys;
		/* Packed at the map's value size, at most sizeof(vals[0]). */
		a.batch.values = (uint64_t)(uintptr_t)vals;
		a.batch.count = BATCH;
		err = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a);
		if (err < 0 && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == ENOTSUP ||
				      errno == EOPNOTSUPP))
				break; /* no batch: key by key below */
			return -errno;
		}
		for (uint32_t i = 0; i < a.batch.count && i < BATCH; i++)
			if (keys[i].netns_cookie == cookie)
				add(out, clk, &keys[i],
				    (const unsigned char *)vals + i * vsize,
				    detail, totals);
		if (err < 0) /* ENOENT: that was the last batch */
			return 0;
		first = false;
	}
	/* An LRU entry may go between two calls: a lookup then fails, and
	 * next_key of a key gone starts again from the first, so the walk is
	 * bounded by twice the biggest map there can be. */
	for (uint32_t n = 0; n < 2 * EPH_BPF_FAIL_DETAIL_LIMIT; n++) {
		err = n ? next_key(fd, &key, &next) : next_key(fd, NULL, &next);
		if (err)
			return errno == ENOENT ? 0 : -errno;
		key = next;
		if (key.netns_cookie == cookie && lookup(fd, &key, &v) == 0)
			add(out, clk, &key, (const unsigned char *)&v, detail,
			    totals);
	}
	return 0;
}

/* How often a read is tried again when failures came in while it read. */
#define READ_TRIES 4

/*
 * One read of the namespace's entries into *out.  The totals before and
 * after the details: when they are the same, no failure began while the
 * details were read, so what is listed and the totals are one moment's
 * and "other" (total less listed) never goes back from one read to the
 * next (a failure counted in a total but not yet in its details would
 * be "other" in one read and listed in the next).  A read that keeps
 * changing (a storm of failures) is tried READ_TRIES times; the last one
 * still has the details before the totals (every failure adds to its
 * total first), so what is listed never exceeds a total.  *which names
 * the map of a failed walk.
 */
static int read_consistent(int detail, int counts, uint64_t cookie,
			   const struct eph_fail_clock *clk,
			   const struct eph_bpf_fail_meta *meta,
			   struct eph_failures *out, unsigned *totals,
			   const char **which)
{
	struct eph_failures before;
	int err;

	for (int i = 0; i < READ_TRIES; i++) {
		eph_failures_begin(&before, meta);
		*which = "fail_counts";
		err = walk(counts, false, cookie, clk, &before, NULL);
		if (err < 0)
			return err;
		eph_failures_begin(out, meta);
		*totals = 0;
		*which = "fail_detail";
		err = walk(detail, true, cookie, clk, out, totals);
		if (err < 0)
			return err;
		*which = "fail_counts";
		err = walk(counts, false, cookie, clk, out, totals);
		if (err < 0)
			return err;
		if (memcmp(before.total, out->total, sizeof(out->total)) == 0)
			break;
	}
	return 0;
}

/* The cgroup and container of the processes that still run. */
static void name_processes(const char *proc_root, struct eph_failures *out)
{
	for (uint32_t i = 0; i < out->n_procs; i++) {
		struct eph_fail_proc *p = &out->procs[i];
		char path[1100], buf[4096], comm[32];
		long n;

		snprintf(path, sizeof(path), "%s/%u/comm", proc_root, p->pid);
		n = eph_read_file(path, comm, sizeof(comm));
		if (n <= 0 || strncmp(comm, p->comm, strlen(p->comm)) != 0)
			continue; /* gone, or the pid was reused */
		snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, p->pid);
		n = eph_read_file(path, buf, sizeof(buf));
		if (n <= 0)
			continue;
		eph_cgroup_v2_path(buf, (size_t)n, p->cgroup,
				   sizeof(p->cgroup));
		eph_cgroup_name(buf, (size_t)n, p->container,
				sizeof(p->container));
	}
}

/* *out not observable, and why (a long pin directory cuts it short). */
__attribute__((format(printf, 2, 3))) static void
not_observable(struct eph_failures *out, const char *fmt, ...)
{
	va_list ap;

	memset(out, 0, sizeof(*out));
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

/* Pins of another layout (failures.h): reading them could overrun our
 * buffers or misread them, and `ephport-bpf load` of this version
 * replaces them. */
static void other_version(struct eph_failures *out, const char *path)
{
	not_observable(out,
		       "not observable: %s: of another version of ephport-bpf "
		       "(run this version's ephport-bpf load)",
		       path);
}

/* PIN_DIR/name opened read-only, checked to be that map; -1 with *out
 * not observable, saying why. */
static int open_checked(const char *pin_dir, const char *name, uint32_t type,
			uint32_t key_size, uint32_t value_size,
			struct eph_failures *out)
{
	char path[1100];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = open_map(path);
	if (fd < 0) {
		not_observable(out,
			       errno == ENOENT
				   ? "not observable without the BPF source "
				     "(%s: %s; ephport-bpf load pins it)"
				   : "not observable: %s: %s",
			       path, strerror(errno));
		return -1;
	}
	if (!map_is(fd, type, key_size, value_size)) {
		close(fd);
		other_version(out, path);
		return -1;
	}
	return fd;
}

void eph_failures_read(const char *pin_dir, const char *proc_root,
		       struct eph_failures *out)
{
	struct eph_bpf_fail_meta meta;
	struct eph_fail_clock clk;
	char path[1100];
	uint32_t zero = 0;
	uint64_t cookie;
	const char *which;
	unsigned totals = 0;
	int fd, counts, detail, err;

	snprintf(path, sizeof(path), "%s/fail_meta", pin_dir);
	fd = open_checked(pin_dir, "fail_meta", BPF_MAP_TYPE_ARRAY,
			  sizeof(zero), sizeof(meta), out);
	if (fd < 0)
		return;
	err = lookup(fd, &zero, &meta);
	close(fd);
	if (err < 0) {
		not_observable(out, "not observable: %s: %s", path,
			       strerror(errno));
		return;
	}
	/* Version 1's fail_meta has this shape, but no magic. */
	if (meta.magic != EPH_BPF_FAIL_MAGIC ||
	    meta.version != EPH_BPF_FAIL_VERSION) {
		other_version(out, path);
		return;
	}
	cookie = own_cookie();
	if (!cookie) {
		not_observable(out, "not observable: %s: SO_NETNS_COOKIE: %s",
			       path, strerror(errno ? errno : ENOPROTOOPT));
		return;
	}
	detail = open_checked(pin_dir, "fail_detail", BPF_MAP_TYPE_LRU_HASH,
			      sizeof(struct eph_bpf_fail_key),
			      sizeof(struct eph_bpf_fail_dval), out);
	if (detail < 0)
		return;
	counts = open_checked(pin_dir, "fail_counts", BPF_MAP_TYPE_HASH,
			      sizeof(struct eph_bpf_fail_key),
			      sizeof(struct eph_bpf_fail_val), out);
	if (counts < 0) {
		close(detail);
		return;
	}
	clocks(&clk);
	err = read_consistent(detail, counts, cookie, &clk, &meta, out, &totals,
			      &which);
	snprintf(path, sizeof(path), "%s/%s", pin_dir, which);
	close(detail);
	close(counts);
	if (err < 0) {
		not_observable(out, "not observable: %s: %s", path,
			       strerror(-err));
		return;
	}
	/* A namespace's three totals are made together at its first
	 * failure (failures.bpf.c): without them it failed never, unless
	 * fail_counts had no room for them. */
	if (meta.lost && totals < EPH_FAIL_KINDS) {
		not_observable(
		    out,
		    "not observable: %s/fail_counts is full (%" PRIu64
		    " failures of namespaces it had no room for; "
		    "ephport-bpf load -n sizes it)",
		    pin_dir, meta.lost);
		return;
	}
	eph_failures_end(out);
	name_processes(proc_root, out);
}
