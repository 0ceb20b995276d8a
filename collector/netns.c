/*
 * netns.c - the network namespaces of the host: finding them (named ones
 * in /run/netns, and those held by processes, /proc/PID/ns/net),
 * deduplicating them by inode, naming them (the `ip netns` name, else the
 * container or pod from the process's cgroup path, else "pid:N"), and
 * collecting inside one (a thread that setns()es there, so the netlink
 * socket, the pinned BPF iterator and /proc/sys files it opens are all
 * bound to that namespace).
 *
 * Privileges: setns() needs CAP_SYS_ADMIN; opening another user's
 * /proc/PID/ns/net needs CAP_SYS_PTRACE.  Without them the list holds
 * what could be opened and eph_collect_in() fails with -EPERM; the
 * single-namespace mode needs neither.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A 64-hex container id at p (the first 12 are what people see). */
static bool container_id(const char *p, const char *end, char *out,
			 size_t out_len, const char *kind)
{
	if (end - p < 64 || !is_hex(p, 64))
		return false;
	snprintf(out, out_len, "%s:%.12s", kind, p);
	return true;
}

/* The pod uid in "pod<uid>" ("kubepods-burstable-pod12ab_34cd.slice"
 * spells it with '_' for '-'). */
static bool pod_uid(const char *line, const char *end, char *out,
		    size_t out_len)
{
	const char *p = line;

	while ((p = memmem(p, (size_t)(end - p), "pod", 3)) != NULL) {
		const char *u = p + 3;
		size_t n = 0;
		char uid[40];

		while (u + n < end && n < 36 &&
		       (is_hex(u + n, 1) || u[n] == '-' || u[n] == '_'))
			n++;
		if (n == 36) {
			memcpy(uid, u, 36);
			uid[36] = '\0';
			for (size_t i = 0; i < 36; i++)
				if (uid[i] == '_')
					uid[i] = '-';
			snprintf(out, out_len, "pod:%s", uid);
			return true;
		}
		p += 3;
	}
	return false;
}

void eph_cgroup_v2_path(const char *buf, size_t len, char *out, size_t out_len)
{
	const char *line = buf, *end = buf + len;

	out[0] = '\0';
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;

		if (le - line >= 3 && memcmp(line, "0::", 3) == 0) {
			size_t n = (size_t)(le - line - 3);

			if (n >= out_len)
				n = out_len - 1;
			memcpy(out, line + 3, n);
			out[n] = '\0';
			return;
		}
		line = nl ? nl + 1 : end;
	}
}

int eph_cgroup_name(const char *buf, size_t len, char *out, size_t out_len)
{
	const char *line = buf, *end = buf + len;
	static const struct {
		const char *marker;
		const char *kind;
	} runtimes[] = {
	    {"docker-", "docker"},
	    {"/docker/", "docker"},
	    {"cri-containerd-", "containerd"},
	    {"crio-", "crio"},
	    {"libpod-", "podman"},
	    {"/containerd/", "containerd"},
	};

	if (out_len == 0)
		return -EINVAL;
	out[0] = '\0';
	/* One line per hierarchy ("0::/path" on cgroup v2); the first that
	 * names a container wins, a pod is kept as the fallback. */
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;

		for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]);
		     i++) {
			size_t ml = strlen(runtimes[i].marker);
			const char *p = line;

			while ((p = memmem(p, (size_t)(le - p),
					   runtimes[i].marker, ml)) != NULL) {
				if (container_id(p + ml, le, out, out_len,
						 runtimes[i].kind))
					return 1;
				p += ml;
			}
		}
		/* cgroupfs driver, Kubernetes: ".../pod<uid>/<64 hex>" */
		if (!out[0] && pod_uid(line, le, out, out_len)) {
			const char *slash = le;

			while (slash > line && slash[-1] != '/')
				slash--;
			if (container_id(slash, le, out, out_len, "containerd"))
				return 1;
			pod_uid(line, le, out, out_len);
		}
		line = nl ? nl + 1 : end;
	}
	return out[0] ? 1 : 0;
}

static int ns_add(struct eph_netns *v, size_t cap, size_t *n, dev_t dev,
		  ino_t ino, const char *path, const char *name, int kind,
		  int pid)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].inode == ino && v[i].dev == dev)
			return 0;
	if (*n == cap)
		return -ENOSPC;
	if (strlen(path) >= sizeof(v[*n].path))
		return 0; /* cannot be opened again by this name */
	memset(&v[*n], 0, sizeof(v[*n]));
	v[*n].inode = ino;
	v[*n].dev = dev;
	v[*n].kind = kind;
	v[*n].pid = pid;
	snprintf(v[*n].path, sizeof(v[*n].path), "%.*s",
		 (int)sizeof(v[*n].path) - 1, path);
	snprintf(v[*n].name, sizeof(v[*n].name), "%.*s",
		 (int)sizeof(v[*n].name) - 1, name);
	(*n)++;
	return 1;
}

int eph_netns_list(const char *proc_root, const char *netns_dir,
		   struct eph_netns *out, size_t cap, size_t *n)
{
	char path[4096], name[256];
	struct stat st, self;
	struct dirent *de;
	DIR *d;
	int err = 0;

	*n = 0;
	if (!proc_root)
		proc_root = "/proc";
	if (!netns_dir)
		netns_dir = "/run/netns";
	snprintf(path, sizeof(path), "%s/self/ns/net", proc_root);
	if (stat(path, &self) < 0)
		return -errno;
	/* First ours, whatever else is readable. */
	ns_add(out, cap, n, self.st_dev, self.st_ino, path, "", EPH_NS_SELF,
	       (int)getpid());

	d = opendir(netns_dir);
	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", netns_dir,
				 de->d_name);
			if (stat(path, &st) < 0)
				continue; /* gone, or a stale mount point */
			if (st.st_ino == self.st_ino &&
			    st.st_dev == self.st_dev) {
				/* Our own has an ip netns name. */
				snprintf(out[0].name, sizeof(out[0].name),
					 "%.*s", (int)sizeof(out[0].name) - 1,
					 de->d_name);
				continue;
			}
			if (ns_add(out, cap, n, st.st_dev, st.st_ino, path,
				   de->d_name, EPH_NS_NAMED, 0) == -ENOSPC) {
				err = -ENOSPC;
				break;
			}
		}
		closedir(d);
	}

	d = opendir(proc_root);
	if (!d)
		return err ? err : -errno;
	while (err == 0 && (de = readdir(d)) != NULL) {
		char cg[4096];
		long len;
		int pid = atoi(de->d_name);
		int r;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, pid);
		if (stat(path, &st) < 0)
			continue; /* exited, or not ours to see */
		for (size_t i = 0; i < *n; i++)
			if (out[i].inode == st.st_ino &&
			    out[i].dev == st.st_dev) {
				/* Named already: remember a process in it. */
				if (!out[i].pid)
					out[i].pid = pid;
				goto next;
			}
		snprintf(name, sizeof(name), "pid:%d", pid);
		snprintf(cg, sizeof(cg), "%s/%d/cgroup", proc_root, pid);
		len = eph_read_file(cg, cg, sizeof(cg));
		r = len > 0
			? eph_cgroup_name(cg, (size_t)len, name, sizeof(name))
			: 0;
		if (r <= 0)
			snprintf(name, sizeof(name), "pid:%d", pid);
		if (ns_add(out, cap, n, st.st_dev, st.st_ino, path, name,
			   r > 0 ? EPH_NS_CONTAINER : EPH_NS_PID,
			   pid) == -ENOSPC)
			err = -ENOSPC;
	next:;
	}
	closedir(d);
	return err;
}

int eph_netns_resolve(const char *proc_root, const char *netns_dir,
		      const char *spec, struct eph_netns *out)
{
	struct eph_netns *all;
	char path[4096];
	struct stat st;
	size_t n = 0;
	char *end;
	long pid;
	int err;

	if (!proc_root)
		proc_root = "/proc";
	if (!netns_dir)
		netns_dir = "/run/netns";
	if (!spec || !*spec || strlen(spec) >= sizeof(out->name))
		return -EINVAL;
	pid = strtol(spec, &end, 10);
	if (spec[0] == '/')
		snprintf(path, sizeof(path), "%s", spec);
	else if (*end == '\0' && pid > 0)
		snprintf(path, sizeof(path), "%s/%ld/ns/net", proc_root, pid);
	else if (strchr(spec, '/') == NULL && strcmp(spec, ".") &&
		 strcmp(spec, ".."))
		snprintf(path, sizeof(path), "%s/%s", netns_dir, spec);
	else
		return -EINVAL;
	all = calloc(EPH_NETNS_MAX, sizeof(*all));
	if (!all)
		return -ENOMEM;
	if (stat(path, &st) < 0) {
		/* Not a path, pid or ip netns name: a container's name? */
		err = eph_netns_list(proc_root, netns_dir, all, EPH_NETNS_MAX,
				     &n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(all[i].name, spec) == 0) {
				*out = all[i];
				free(all);
				return 0;
			}
		free(all);
		return err < 0 && err != -ENOSPC ? err : -ENOENT;
	}
	err = eph_netns_list(proc_root, netns_dir, all, EPH_NETNS_MAX, &n);
	for (size_t i = 0; i < n; i++)
		if (all[i].inode == st.st_ino && all[i].dev == st.st_dev) {
			*out = all[i];
			if (strlen(path) < sizeof(out->path))
				memcpy(out->path, path, strlen(path) + 1);
			free(all);
			return 0;
		}
	free(all);
	memset(out, 0, sizeof(*out));
	out->inode = st.st_ino;
	out->dev = st.st_dev;
	out->kind = EPH_NS_PID;
	if (strlen(path) >= sizeof(out->path))
		return -ENAMETOOLONG;
	memcpy(out->path, path, strlen(path) + 1);
	memcpy(out->name, spec, strlen(spec) + 1);
	(void)err;
	return 0;
}

struct in_ns {
	const char *path;
	int (*fn)(void *ctx);
	void *ctx;
	int err;
};

static void *in_ns_thread(void *arg)
{
	struct in_ns *job = arg;
	int fd = open(job->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		job->err = -errno;
		return NULL;
	}
	/* Only this thread moves: the caller's namespace is untouched. */
	if (setns(fd, CLONE_NEWNET) < 0) {
		job->err = -errno;
		close(fd);
		return NULL;
	}
	close(fd);
	/* unshare(CLONE_FS) is not needed: /proc/thread-self and the sysctl
	 * files resolve through this thread's namespace. */
	job->err = job->fn(job->ctx);
	return NULL;
}

int eph_netns_run(const char *path, int (*fn)(void *ctx), void *ctx)
{
	struct in_ns job = {.path = path, .fn = fn, .ctx = ctx, .err = 0};
	pthread_t t;
	int err;

	err = pthread_create(&t, NULL, in_ns_thread, &job);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return job.err;
}
