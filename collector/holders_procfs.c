/*
 * holders_procfs.c - who holds the pool ports, without privileges: every
 * process's fd directory read once (one readdir, one readlink per fd),
 * each "socket:[N]" looked up in the inode index of the namespace's pool
 * sockets (holders_index.c).  As `ss -p` does, but only the processes'
 * links are read: comm and cgroup are read afterwards for the few
 * processes shown (holders.c).
 *
 * Privileges: /proc/PID/fd is readable by the process's own user (and
 * root, CAP_SYS_PTRACE); any other answers EACCES, counted in
 * processes_denied, and its sockets stay unattributed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "holders.h"

/* A decimal PID directory name, else 0. */
static uint32_t pid_of(const char *name)
{
	uint32_t v = 0;

	if (*name < '1' || *name > '9')
		return 0;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || v > 429496728u)
			return 0;
		v = v * 10 + (uint32_t)(*name - '0');
	}
	return v;
}

/* One process: its fd directory against the index.  -EACCES: denied;
 * -ENOENT: gone; 0. */
static int scan_process(int proc_fd, uint32_t pid, struct eph_hindex *x,
			struct eph_htally *t)
{
	char path[32], link[64];
	struct dirent *de;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "%u/fd", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int err = -errno;

		close(fd);
		return err;
	}
	eph_htally_begin(t, pid);
	while ((de = readdir(d)) != NULL) {
		struct eph_hsock *s;
		uint64_t inode;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(fd, de->d_name, link, sizeof(link));
		/* A socket link is short: a longer one is a file's path. */
		if (n <= 0 || (size_t)n == sizeof(link))
			continue;
		if (!eph_fd_link_inode(link, (size_t)n, &inode))
			continue;
		s = eph_hindex_find(x, inode);
		if (s)
			eph_htally_add(t, x, s);
	}
	closedir(d);
	return 0;
}

int eph_holders_procfs(const char *proc_root, struct eph_hindex *x,
		       struct eph_holders *out)
{
	struct eph_htally *t;
	struct dirent *de;
	size_t cap = out->n;
	uint64_t held = 0;
	DIR *d;
	int err = 0;

	/* 512 KiB of port stamps: one allocation per collection. */
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	d = opendir(proc_root);
	if (!d) {
		err = -errno;
		free(t);
		return err;
	}
	while ((de = readdir(d)) != NULL) {
		uint32_t pid = pid_of(de->d_name);
		int r;

		if (!pid)
			continue;
		r = scan_process(dirfd(d), pid, x, t);
		if (r == -EACCES || r == -EPERM) {
			out->processes_denied++;
			continue;
		}
		if (r < 0)
			continue; /* exited while we walked */
		if (!eph_htally_end(t, x))
			continue;
		if (eph_holders_push(out, &cap, &t->cur) < 0) {
			err = -ENOMEM;
			break;
		}
		out->processes++;
	}
	closedir(d);
	free(t);
	for (size_t i = 0; i < x->n; i++)
		held += x->v[i].held;
	out->sockets_unattributed = x->pool[EPH_TCP] + x->pool[EPH_UDP] - held;
	return err;
}
