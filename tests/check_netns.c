/*
 * check_netns - naming namespaces from /proc/PID/cgroup (eph_cgroup_name),
 * on the formats each runtime writes, and listing the live ones.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "check_util.h"
#include "netns.h"

#define ID "4f1c2a3b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8"

static const struct {
	const char *text, *want;
} cases[] = {
    /* Docker, systemd cgroup driver, cgroup v2 */
    {"0::/system.slice/docker-" ID ".scope\n", "docker:4f1c2a3b5d6e"},
    /* Docker, cgroupfs driver, cgroup v1 (several hierarchies) */
    {"12:memory:/docker/" ID "\n11:cpu,cpuacct:/docker/" ID "\n",
     "docker:4f1c2a3b5d6e"},
    /* Kubernetes + containerd, systemd driver */
    {"0::/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/"
     "cri-containerd-" ID ".scope\n",
     "containerd:4f1c2a3b5d6e"},
    /* Kubernetes + CRI-O */
    {"0::/kubepods.slice/kubepods-besteffort.slice/"
     "kubepods-besteffort-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/"
     "crio-" ID ".scope\n",
     "crio:4f1c2a3b5d6e"},
    /* Kubernetes, cgroupfs driver */
    {"0::/kubepods/besteffort/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/" ID "\n",
     "containerd:4f1c2a3b5d6e"},
    /* A pod's cgroup, no container id (a pause process in the pod) */
    {"0::/kubepods.slice/kubepods-pod0a1b2c3d_4e5f_6789_abcd_"
     "ef0123456789.slice\n",
     "pod:0a1b2c3d-4e5f-6789-abcd-ef0123456789"},
    /* Podman */
    {"0::/machine.slice/libpod-" ID ".scope/container\n",
     "podman:4f1c2a3b5d6e"},
    /* Not a container */
    {"0::/user.slice/user-0.slice/session-3.scope\n", ""},
    {"0::/system.slice/docker.service\n", ""},
    /* A short, non-hex "id" is not one */
    {"0::/system.slice/docker-1234.scope\n", ""},
    {"", ""},
};

START_TEST(cgroup_names)
{
	char out[128];
	const char *t = cases[_i].text;
	int r = eph_cgroup_name(t, strlen(t), out, sizeof(out));

	ck_assert_int_eq(r, cases[_i].want[0] ? 1 : 0);
	ck_assert_str_eq(out, cases[_i].want);
}
END_TEST

/* The text is a buffer, not a string: nothing past len is read. */
START_TEST(cgroup_respects_len)
{
	const char *t = "0::/system.slice/docker-" ID ".scope\n";
	char out[128];

	ck_assert_int_eq(eph_cgroup_name(t, 40, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(eph_cgroup_name(t, strlen(t), out, 0), -EINVAL);
}
END_TEST

/* The live list: our own namespace first, each inode once. */
START_TEST(list_live)
{
	static struct eph_netns v[EPH_NETNS_MAX];
	struct stat self;
	size_t n = 0;
	int err = eph_netns_list(NULL, "/nonexistent", v, EPH_NETNS_MAX, &n);

	ck_assert(err == 0 || err == -ENOSPC);
	ck_assert_int_eq(stat("/proc/self/ns/net", &self), 0);
	ck_assert_uint_ge(n, 1);
	ck_assert_int_eq(v[0].kind, EPH_NS_SELF);
	ck_assert_uint_eq(v[0].inode, self.st_ino);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			ck_assert(v[i].inode != v[j].inode ||
				  v[i].dev != v[j].dev);
	ck_assert_int_eq(
	    eph_netns_list(NULL, "/nonexistent", v, 1, &n) == 0 || n == 1, 1);
}
END_TEST

START_TEST(resolve_bad)
{
	struct eph_netns ns;

	ck_assert_int_eq(eph_netns_resolve(NULL, NULL, "", &ns), -EINVAL);
	ck_assert_int_eq(eph_netns_resolve(NULL, NULL, "../x", &ns), -EINVAL);
	ck_assert_int_eq(
	    eph_netns_resolve(NULL, "/nonexistent", "no-such-ns", &ns),
	    -ENOENT);
	ck_assert_int_eq(eph_netns_resolve(NULL, NULL, "self", &ns), -ENOENT);
	/* Our own, by path and by pid. */
	ck_assert_int_eq(
	    eph_netns_resolve(NULL, "/nonexistent", "/proc/self/ns/net", &ns),
	    0);
	ck_assert_int_eq(ns.kind, EPH_NS_SELF);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("netns");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, cgroup_names, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, cgroup_respects_len);
	tcase_add_test(tc, list_live);
	tcase_add_test(tc, resolve_bad);
	suite_add_tcase(s, tc);
	return eph_run_suite(s);
}
