/*
 * netns.h - network namespaces: the pure parts and the thread that enters
 * one (netns.c).  The public half (struct eph_netns, eph_netns_list,
 * eph_collect_in) is in ephport.h.
 */
#ifndef EPH_NETNS_H
#define EPH_NETNS_H

#include "range.h"

/*
 * eph_cgroup_name - the container or pod a /proc/PID/cgroup text names:
 * "docker:<12 hex>", "containerd:<12 hex>", "crio:<12 hex>",
 * "podman:<12 hex>" (systemd and cgroupfs drivers, cgroup v1 and v2), else
 * "pod:<uid>" (a Kubernetes pod's cgroup with no container id).  Returns
 * 1 and fills out, 0 when nothing is named (out is ""), -EINVAL when
 * out_len is 0.
 */
EPH_HIDDEN int eph_cgroup_name(const char *buf, size_t len, char *out,
			       size_t out_len);
/* The cgroup v2 path of a /proc/PID/cgroup text (its "0::" line), cut to
 * out_len - 1 bytes; "" if there is none. */
EPH_HIDDEN void eph_cgroup_v2_path(const char *buf, size_t len, char *out,
				   size_t out_len);

/*
 * eph_netns_run - run fn(ctx) on a new thread that has setns()ed into the
 * network namespace at path, and wait for it.  Returns fn's value, or
 * -errno: -ENOENT/-EACCES opening path, -EPERM from setns() (needs
 * CAP_SYS_ADMIN), -EINVAL (not a network namespace), or from
 * pthread_create().
 */
EPH_HIDDEN int eph_netns_run(const char *path, int (*fn)(void *ctx), void *ctx);

#endif
