/*
 * failures_bpf.c - read the failure counters (collector/bpf/failures.bpf.c)
 * from the maps ephport-bpf pinned: DIR/fail_meta (when the counting
 * began) and DIR/fail_counts (one entry per namespace, kind, destination,
 * process).  Both are opened read-only (BPF_OBJ_GET, BPF_F_RDONLY), which
 * needs no capability when the pin's mode lets the caller open it; the
 * entries of the calling thread's namespace are picked by its
 * SO_NETNS_COOKIE.  No libbpf: three bpf() commands.
 */
#include <errno.h>
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

/* Every entry, in batches of BATCH (one bpf() call each); a kernel
 * without batch lookups for hash maps gets one key at a time. */
static int walk(int fd, uint64_t cookie, const struct eph_fail_clock *clk,
		struct eph_failures *out)
{
	static __thread struct eph_bpf_fail_key keys[BATCH];
	static __thread struct eph_bpf_fail_val vals[BATCH];
	struct eph_bpf_fail_key key, next;
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
				eph_failures_add(out, clk, &keys[i], &vals[i]);
		if (err < 0) /* ENOENT: that was the last batch */
			return 0;
		first = false;
	}
	for (err = next_key(fd, NULL, &next); err == 0;
	     err = next_key(fd, &key, &next)) {
		struct eph_bpf_fail_val v;

		key = next;
		if (key.netns_cookie == cookie && lookup(fd, &key, &v) == 0)
			eph_failures_add(out, clk, &key, &v);
	}
	return errno == ENOENT ? 0 : -errno;
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

static void not_observable(struct eph_failures *out, const char *fmt,
			   const char *path, int err)
{
	memset(out, 0, sizeof(*out));
	/* A long pin directory is cut short: the words come first. */
	if (snprintf(out->why, sizeof(out->why), fmt, path, strerror(err)) >=
	    (int)sizeof(out->why))
		out->why[sizeof(out->why) - 1] = '\0';
}

void eph_failures_read(const char *pin_dir, const char *proc_root,
		       struct eph_failures *out)
{
	struct eph_bpf_fail_meta meta;
	struct eph_fail_clock clk;
	char path[1100];
	uint32_t zero = 0;
	uint64_t cookie;
	int fd, err;

	snprintf(path, sizeof(path), "%s/fail_meta", pin_dir);
	fd = open_map(path);
	if (fd < 0) {
		not_observable(out,
			       errno == ENOENT
				   ? "not observable without the BPF source "
				     "(%s: %s; ephport-bpf load pins it)"
				   : "not observable: %s: %s",
			       path, errno);
		return;
	}
	err = lookup(fd, &zero, &meta);
	close(fd);
	if (err < 0) {
		not_observable(out, "not observable: %s: %s", path, errno);
		return;
	}
	cookie = own_cookie();
	if (!cookie) {
		not_observable(out, "not observable: %s: SO_NETNS_COOKIE: %s",
			       path, errno ? errno : ENOPROTOOPT);
		return;
	}
	snprintf(path, sizeof(path), "%s/fail_counts", pin_dir);
	fd = open_map(path);
	if (fd < 0) {
		not_observable(out, "not observable: %s: %s", path, errno);
		return;
	}
	clocks(&clk);
	eph_failures_begin(out, &meta);
	err = walk(fd, cookie, &clk, out);
	close(fd);
	if (err < 0) {
		not_observable(out, "not observable: %s: %s", path, -err);
		return;
	}
	eph_failures_end(out);
	name_processes(proc_root, out);
}
