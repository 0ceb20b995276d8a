/*
 * netns.c - `ephport --netns SPEC` and `ephport --all-namespaces` (issue
 * 12): the namespaces come from collector/netns.c (eph_netns_resolve(),
 * eph_netns_list()), each is collected by eph_collect_in() from a thread
 * that setns()es there, and every format prints them all: text one block
 * per namespace, JSON a "netns" member (and "namespaces"), Prometheus a
 * netns label, check the worst namespace.
 *
 * Privileges: entering another namespace needs CAP_SYS_ADMIN (setns());
 * seeing the namespaces of other users' processes needs CAP_SYS_PTRACE
 * (without it they are not listed).  The default mode needs neither.
 * A namespace listed but gone when it is collected (its last process
 * exited, `ip netns delete`) is skipped: said on stderr with -v.
 */
#include <config.h>

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "netns.h"

#define CHECK_UNKNOWN 3

const char *eph_ns_kind_name(int kind)
{
	switch (kind) {
	case EPH_NS_SELF:
		return "self";
	case EPH_NS_NAMED:
		return "named";
	case EPH_NS_CONTAINER:
		return "container";
	default:
		return "pid";
	}
}

const char *eph_ns_display_name(const struct eph_netns *ns)
{
	return ns->name[0] ? ns->name : "(this namespace)";
}

/* Whether this process has CAP_SYS_ADMIN in its effective set. */
static bool have_sys_admin(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return geteuid() == 0;
	return (d[CAP_SYS_ADMIN / 32].effective &
		(1u << (CAP_SYS_ADMIN % 32))) != 0;
}

/* A failure: on stderr, or as the status line for check. */
static void say(bool check, const char *fmt, const char *a, const char *b)
{
	if (check)
		fputs("EPHPORT UNKNOWN - ", stdout);
	else
		fputs("ephport: ", stderr);
	fprintf(check ? stdout : stderr, fmt, a, b);
	fputc('\n', check ? stdout : stderr);
}

static const char cap_msg[] =
    "%s%s needs CAP_SYS_ADMIN to enter other network namespaces (setns()); "
    "run it as root or give it that capability";

/* Whether SPEC (a PID or a path) names a file this process may not
 * look at: another user's /proc/PID/ns/net without CAP_SYS_PTRACE. */
static bool unreadable(const char *proc_root, const char *spec)
{
	char path[4096];
	struct stat st;
	char *end;
	long pid = strtol(spec, &end, 10);

	if (spec[0] == '/')
		snprintf(path, sizeof(path), "%s", spec);
	else if (*spec && *end == '\0' && pid > 0)
		snprintf(path, sizeof(path), "%s/%ld/ns/net",
			 proc_root ? proc_root : "/proc", pid);
	else
		return false;
	return stat(path, &st) < 0 && errno == EACCES;
}

/* A namespace that went away between listing and collecting. */
static bool vanished(int err)
{
	return err == -ENOENT || err == -ESRCH || err == -EINVAL;
}

int eph_cli_ns_run(const struct eph_cli_ns *o, const struct eph_config *cfg,
		   enum eph_ns_format fmt, bool check,
		   const struct eph_check_thresholds *th)
{
	int fail = check ? CHECK_UNKNOWN : 1, usage = check ? CHECK_UNKNOWN : 2;
	const char *what = o->all ? "--all-namespaces" : "--netns";
	struct eph_snapshot *snaps = NULL;
	struct eph_holders *holders = NULL;
	struct eph_netns *list;
	struct eph_collector *c = NULL;
	struct eph_report rep = {0};
	struct eph_host host;
	size_t n = 0, kept = 0;
	int err, status = fail;

	list = calloc(o->all ? EPH_NETNS_MAX : 1, sizeof(*list));
	if (!list) {
		say(check, "%s%s", "out of memory", "");
		return fail;
	}
	if (o->all) {
		err = eph_netns_list(cfg->proc_root, NULL, list, EPH_NETNS_MAX,
				     &n);
		if (err == -ENOSPC) {
			if (!check || o->verbose)
				fprintf(stderr,
					"ephport: more than %d network "
					"namespaces: the first %d only\n",
					EPH_NETNS_MAX, EPH_NETNS_MAX);
		} else if (err < 0) {
			say(check, "cannot list the network namespaces: %s%s",
			    strerror(-err), "");
			goto out;
		}
	} else {
		err = eph_netns_resolve(cfg->proc_root, NULL, o->spec, list);
		if (err == -ENOENT && unreadable(cfg->proc_root, o->spec)) {
			say(check,
			    "--netns %s: permission denied: another user's "
			    "process's namespace needs CAP_SYS_PTRACE%s",
			    o->spec, "");
			goto out;
		}
		if (err == -ENOENT || err == -EINVAL || err == -ENAMETOOLONG) {
			char q[160];

			snprintf(q, sizeof(q), "%.140s%s", o->spec,
				 strlen(o->spec) > 140 ? "..." : "");
			for (char *p = q; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			say(check, "--netns: '%s' is no network namespace (%s)",
			    q,
			    "an ip netns name, a PID, a path to a namespace "
			    "file or a name --all-namespaces lists");
			status = usage;
			goto out;
		}
		if (err < 0) {
			say(check, "--netns %s: %s", o->spec, strerror(-err));
			goto out;
		}
		n = 1;
	}
	if ((o->all || list[0].kind != EPH_NS_SELF) && !have_sys_admin()) {
		say(check, cap_msg, what, "");
		goto out;
	}
	snaps = calloc(n ? n : 1, sizeof(*snaps));
	if (o->processes)
		holders = calloc(n ? n : 1, sizeof(*holders));
	c = eph_collector_new(cfg);
	if (!snaps || !c || (o->processes && !holders)) {
		say(check, "cannot set up the collector: %s%s",
		    strerror(snaps ? errno : ENOMEM), "");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct eph_netns *ns = &list[i];

		err = eph_collect_in(c, ns, &snaps[kept]);
		/* Who holds the ports there, from the same namespace. */
		if (err == 0 && o->processes) {
			err = eph_holders_collect_in(c, ns, o->processes_top,
						     &holders[kept]);
			if (err < 0 && !(o->all && ns->kind != EPH_NS_SELF &&
					 vanished(err))) {
				say(check, "--processes: %s%s",
				    eph_collector_error(c), "");
				goto out;
			}
		}
		if (err == 0) {
			if (o->verbose && *eph_collector_note(c))
				fprintf(stderr, "ephport: netns %s: %s\n",
					eph_ns_display_name(ns),
					eph_collector_note(c));
			if (kept != i)
				list[kept] = list[i];
			kept++;
			continue;
		}
		if (err == -EPERM) {
			say(check, cap_msg, what, "");
			goto out;
		}
		if (err == -EACCES) {
			say(check,
			    "netns %s: cannot open it; another user's "
			    "process's namespace needs CAP_SYS_PTRACE (%s)",
			    eph_ns_display_name(ns), ns->path);
			goto out;
		}
		if (o->all && ns->kind != EPH_NS_SELF) {
			/* Gone since it was listed, or unreadable: the
			 * others are still worth reporting. */
			/* Our own words: eph_collector_error() keeps the
			 * first failure's text when setns() fails again. */
			if (o->verbose)
				fprintf(stderr,
					"ephport: skipped: netns %s (%s): "
					"%s%s\n",
					eph_ns_display_name(ns), ns->path,
					strerror(-err),
					vanished(err) ? " (gone)" : "");
			continue;
		}
		if (!o->all && err == -EINVAL) {
			/* setns() refused it: a file, not a namespace. */
			say(check, "--netns: '%s' is no network namespace%s",
			    list[0].path, " (setns() refused it)");
			status = usage;
			goto out;
		}
		say(check, "%s%s", eph_collector_error(c),
		    vanished(err) && ns->kind != EPH_NS_SELF
			? " (the namespace is gone)"
			: "");
		goto out;
	}
	if (check) {
		status = eph_print_check_ns(stdout, snaps, list, kept, th);
		if (fflush(stdout) != 0)
			status = CHECK_UNKNOWN;
		goto out;
	}
	rep.snap = &snaps[0];
	rep.top_n = cfg->top_n;
	rep.host = eph_host_read(&host) == 0 ? &host : NULL;
	rep.n_ns = kept;
	rep.ns_snaps = snaps;
	rep.ns = list;
	rep.all = o->all;
	rep.holders = holders;
	switch (fmt) {
	case EPH_NS_JSON:
		eph_print_json(stdout, &rep);
		break;
	case EPH_NS_PROMETHEUS:
		eph_print_prometheus(stdout, &rep);
		break;
	default:
		eph_print_text(stdout, &rep);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ephport: writing output: %s\n",
			strerror(errno));
		status = 1;
	} else {
		status = 0;
	}
out:
	eph_collector_free(c);
	for (size_t i = 0; holders && i < n; i++)
		eph_holders_free(&holders[i]);
	free(holders);
	free(snaps);
	free(list);
	return status;
}
