/*
 * ephportd - AgentX subagent serving EPHEMERAL-PORT-MIB.
 *
 * Two threads: the collector thread collects every interval and builds
 * an immutable view (mib.c) of the snapshot, then wakes the main thread
 * through a pipe; the main thread owns every Net-SNMP call, swaps the
 * view in and answers requests from it.  A GET therefore never waits for
 * a collection, and a failed collection keeps the last good numbers with
 * ephCollectorStatus stale(2).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "conf.h"
#include "mib.h"
#include "range.h"

#ifndef EPHD_DEFAULT_CONFIG
#define EPHD_DEFAULT_CONFIG "/etc/snmp/ephportd.conf"
#endif

static volatile sig_atomic_t keep_running = 1, reload_requested;
static int wake_pipe[2] = {-1, -1};

#define EVENTS_MAX 256
/* Lines the collector thread queues for the main thread's log. */
#define LOG_LINES_MAX 32

/* Shared between the threads, under lock. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct ephd_view *published; /* newest view not yet taken */
	/* Alarm crossings not yet sent, oldest first. */
	struct ephd_event events[EVENTS_MAX];
	unsigned n_events, dropped_events;
	/* A line for the main thread to log: Net-SNMP's logging (syslog,
	 * -Lf) belongs to it like every other Net-SNMP call. */
	char log_line[LOG_LINES_MAX][600];
	int log_priority[LOG_LINES_MAX];
	unsigned n_log, dropped_log;
	bool stop;
	/* CLOCK_MONOTONIC, us: when the running collection started (0:
	 * none running), and how long the last one took. */
	int64_t busy_since_us, last_duration_us;
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER}; /* .wake: main() */

static struct ephd_view *current; /* main thread only */
static struct ephd_config cfg;
/* The counters of collector threads past (a reload starts a new one). */
static struct {
	uint64_t collections, failures;
} totals;

static void on_signal(int sig)
{
	int saved = errno;
	char byte = 0;

	if (sig == SIGHUP)
		reload_requested = 1;
	else
		keep_running = 0;
	/* Wake the main loop now, not at its next event. */
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], &byte, 1);
	errno = saved;
}

/* ---- collector thread (no Net-SNMP calls here) ------------------------- */

/*
 * The namespaces read, with what each keeps between collections: its
 * ephNsIndex, its last numbers and its alarms.  Owned by the collector
 * thread; kept across reloads (a new thread takes them over once the old
 * one is joined), so an index stays the namespace's while it lives.  The
 * agent's own namespace is 1; every other one found gets the next number
 * of a counter, never one in use, so the index of a namespace that went
 * is not given to another until the counter wraps (2^32 namespaces on).
 * A namespace no longer found is dropped: its rows and alarms with it.
 */
static struct ephd_nsreg reg = {.next_index = 2};
/* Said once per collector thread: no CAP_SYS_ADMIN, too many namespaces. */
static bool ns_eperm_logged, ns_full_logged;

/* How log lines name a namespace. */
static const char *ns_label(const struct ephd_ns_entry *e)
{
	return e->name[0] ? e->name : e->own ? "(own)" : "(unnamed)";
}

/* Did the namespace vanish since it was listed (its file gone, or now
 * another one: the process exited, ip netns delete)? */
static bool ns_gone(const struct eph_netns *ns)
{
	struct stat sb;

	return stat(ns->path, &sb) != 0 || (uint64_t)sb.st_ino != ns->inode ||
	       (uint64_t)sb.st_dev != ns->dev;
}

static bool stop_requested(void)
{
	bool stop;

	pthread_mutex_lock(&shared.lock);
	stop = shared.stop;
	pthread_mutex_unlock(&shared.lock);
	return stop;
}

static void publish(struct ephd_view *v, const struct ephd_event *ev,
		    unsigned n_ev, int log_priority, const char *log_line)
{
	struct ephd_view *old = NULL;
	char byte = 1;

	pthread_mutex_lock(&shared.lock);
	if (log_line && shared.n_log < LOG_LINES_MAX) {
		snprintf(shared.log_line[shared.n_log],
			 sizeof(shared.log_line[0]), "%s", log_line);
		shared.log_priority[shared.n_log++] = log_priority;
	} else if (log_line) {
		shared.dropped_log++;
	}
	if (v) {
		old = shared.published;
		shared.published = v;
	}
	for (unsigned i = 0; i < n_ev; i++) {
		if (shared.n_events == EVENTS_MAX) {
			/* The main thread is stuck: keep the newest. */
			memmove(shared.events, shared.events + 1,
				(EVENTS_MAX - 1) * sizeof(shared.events[0]));
			shared.n_events--;
			shared.dropped_events++;
		}
		shared.events[shared.n_events++] = ev[i];
	}
	pthread_mutex_unlock(&shared.lock);
	ephd_view_free(old); /* never taken: superseded */
	/* EAGAIN: the pipe is full, the main thread is woken already. */
	(void)!write(wake_pipe[1], &byte, 1);
}

/* A line for the main thread's log (the newest of a pass wins: one is
 * enough to say a problem started or ended; the rest are per namespace). */
static void log_now(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_now(int priority, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	publish(NULL, NULL, 0, priority, line);
}

/* Who holds e's ports (processes yes), after its numbers were collected;
 * ns NULL: the own namespace (eph_holders_collect).  A failure empties
 * its ephProcessTable rows, with the reason, and fails nothing else: said
 * once per problem. */
static void collect_holders(struct eph_collector *c, struct ephd_ns_entry *e,
			    const struct eph_netns *ns)
{
	struct eph_holders h = {0};
	char why[sizeof(e->holders_error)];
	int err;

	if (!cfg.processes) {
		if (e->has_holders || e->holders_error[0])
			ephd_ns_clear_holders(e, NULL);
		return;
	}
	err = ns ? eph_holders_collect_in(c, ns, cfg.processes_top, &h)
		 : eph_holders_collect(c, cfg.processes_top, &h);
	if (err == 0) {
		if (e->holders_error[0])
			log_now(LOG_INFO,
				"ephportd: network namespace %s: who holds "
				"the ports: collected again (last problem: %s)",
				ns_label(e), e->holders_error);
		ephd_ns_clear_holders(e, NULL);
		e->holders = h;
		e->has_holders = true;
		return;
	}
	eph_holders_free(&h);
	snprintf(why, sizeof(why), "%s",
		 eph_collector_error(c)[0] ? eph_collector_error(c)
					   : strerror(-err));
	if (strcmp(why, e->holders_error) != 0)
		log_now(LOG_WARNING,
			"ephportd: network namespace %s: who holds the ports: "
			"%s (no ephProcessTable rows for it; its other numbers "
			"are served; said once per problem)",
			ns_label(e), why);
	ephd_ns_clear_holders(e, why);
}

/* namespaces self: today's single collection, unprivileged.  Returns 0 or
 * the error; the log line (if any) goes to line. */
static int pass_self(struct eph_collector *c, struct ephd_state *st,
		     struct ephd_events *evs, char *last_error, size_t err_len,
		     char *line, size_t line_len, int *priority)
{
	struct ephd_ns_entry *e;
	struct stat sb;
	uint64_t inode = 0, dev = 0;
	int64_t t0;
	int err;

	if (stat("/proc/self/ns/net", &sb) == 0) {
		inode = sb.st_ino;
		dev = sb.st_dev;
	}
	e = ephd_nsreg_get(&reg, true, inode, dev, NULL, st);
	if (!e)
		return -ENOMEM;
	e->seen = true;
	t0 = eph_mono_us();
	err = eph_collect(c, e->snap);
	if (err == 0) {
		/* The counters were read somewhere in the collection. */
		ephd_ns_rate_add(e, t0 + (eph_mono_us() - t0) / 2);
		if (last_error[0])
			snprintf(line, line_len,
				 "ephportd: collection works again "
				 "(last problem: %s)",
				 last_error);
		e->has_snap = true;
		/* Its ip netns name, or "" (ephNsName). */
		snprintf(e->name, sizeof(e->name), "%s", e->snap->netns_name);
		if (e->snap->netns_inode)
			e->inode = e->snap->netns_inode;
		last_error[0] = '\0';
		ephd_ns_update_alarms(st, e, evs);
		ephd_ns_update_failures(st, e, eph_mono_us(), eph_real_us(),
					evs);
		collect_holders(c, e, NULL);
		return 0;
	}
	/* Log a problem once, not every interval. */
	if (strcmp(last_error, eph_collector_error(c)) != 0) {
		snprintf(last_error, err_len, "%s", eph_collector_error(c));
		snprintf(line, line_len,
			 "ephportd: collection failed: %s "
			 "(serving the last numbers as stale)",
			 last_error);
		*priority = LOG_ERR;
	}
	return err;
}

/* One namespace of namespaces all / PATTERN failed: said once per problem
 * and namespace, a missing CAP_SYS_ADMIN once for them all.  before: the
 * collector's error before this collection (it keeps an earlier reason
 * when entering fails). */
static void ns_failed(struct eph_collector *c, struct ephd_ns_entry *e,
		      const struct eph_netns *ns, int err, const char *before)
{
	char buf[sizeof(e->last_error)];
	const char *why = eph_collector_error(c);

	if (why[0] && strcmp(why, before) != 0)
		snprintf(buf, sizeof(buf), "%s", why);
	else
		snprintf(buf, sizeof(buf), "cannot enter it (%s): %s", ns->path,
			 strerror(-err));
	if (strcmp(buf, e->last_error) == 0)
		return;
	memcpy(e->last_error, buf, sizeof(buf));
	if (err == -EPERM) {
		if (ns_eperm_logged)
			return;
		ns_eperm_logged = true;
		e->logged = true;
		log_now(LOG_ERR,
			"ephportd: network namespace %s: %s: reading other "
			"namespaces needs CAP_SYS_ADMIN (and CAP_SYS_PTRACE to "
			"find other users' processes' namespaces; said once "
			"for all namespaces)",
			ns_label(e), buf);
		return;
	}
	e->logged = true;
	log_now(LOG_ERR,
		"ephportd: network namespace %s: collection failed: %s "
		"(serving its last numbers as stale; said once per problem)",
		ns_label(e), buf);
}

/* namespaces all / PATTERN: list, then one collection (one kernel walk)
 * per namespace selected.  A namespace that vanished since it was listed
 * is skipped without a word and leaves the view.  Returns 0, 1 when some
 * namespace failed (its last numbers stay, stale), -ECANCELED when asked
 * to stop mid-pass, or the error listing failed with. */
static int pass_all(struct eph_collector *c, struct ephd_state *st,
		    struct ephd_events *evs, struct eph_netns *list,
		    char *last_error, size_t err_len)
{
	size_t n = 0;
	unsigned failed = 0;
	int err = eph_netns_list(cfg.proc_root[0] ? cfg.proc_root : NULL, NULL,
				 list, EPH_NETNS_MAX, &n);

	if (err == -ENOSPC && !ns_full_logged) {
		ns_full_logged = true;
		log_now(LOG_WARNING,
			"ephportd: more than %d network namespaces: only the "
			"first %d are read",
			EPH_NETNS_MAX, EPH_NETNS_MAX);
	} else if (err < 0 && err != -ENOSPC) {
		char why[300];

		snprintf(why, sizeof(why), "listing the network namespaces: %s",
			 strerror(-err));
		if (strcmp(why, last_error) != 0) {
			snprintf(last_error, err_len, "%s", why);
			log_now(LOG_ERR,
				"ephportd: collection failed: %s (serving the "
				"last numbers as stale)",
				why);
		}
		return err;
	}
	if (last_error[0]) {
		log_now(LOG_INFO,
			"ephportd: collection works again (last problem: %s)",
			last_error);
		last_error[0] = '\0';
	}

	for (size_t i = 0; i < reg.n; i++)
		reg.v[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		const struct eph_netns *ns = &list[i];
		char before[512];
		struct ephd_ns_entry *e;
		int64_t t0;

		if (!ephd_config_ns_selected(&cfg, ns))
			continue;
		if (stop_requested())
			return -ECANCELED;
		e = ephd_nsreg_get(&reg, ns->kind == EPH_NS_SELF, ns->inode,
				   ns->dev, ns->name, st);
		if (!e) {
			failed++;
			continue;
		}
		snprintf(before, sizeof(before), "%s", eph_collector_error(c));
		t0 = eph_mono_us();
		err = eph_collect_in(c, ns, e->snap);
		if (err < 0 && !e->own && ns_gone(ns))
			continue; /* not seen: dropped below */
		e->seen = true;
		if (err < 0) {
			ns_failed(c, e, ns, err, before);
			failed++;
			continue;
		}
		if (e->last_error[0] && e->logged)
			log_now(LOG_INFO,
				"ephportd: network namespace %s: collection "
				"works again (last problem: %s)",
				ns_label(e), e->last_error);
		e->last_error[0] = '\0';
		e->logged = false;
		e->has_snap = true;
		ephd_ns_rate_add(e, t0 + (eph_mono_us() - t0) / 2);
		ephd_ns_update_alarms(st, e, evs);
		ephd_ns_update_failures(st, e, eph_mono_us(), eph_real_us(),
					evs);
		collect_holders(c, e, ns);
	}
	ephd_nsreg_drop_unseen(&reg);
	return failed ? 1 : 0;
}

static void *collector_main(void *arg)
{
	struct eph_collector *c = arg;
	struct ephd_state st = {0};
	struct eph_netns *list = NULL;
	struct ephd_ns *rows = NULL;
	struct ephd_events evs = {0};
	char last_error[512] = "";
	bool stopping = false;

	st.status = EPHD_FAILED;
	st.collections = totals.collections;
	st.failures = totals.failures;
	st.interval = cfg.interval;
	st.rising_bp = cfg.rising_bp;
	st.falling_bp = cfg.falling_bp;
	st.connect_alarm = cfg.dest_alarm;
	st.exhaustion_s = cfg.exhaustion_s;
	st.processes = cfg.processes;
	for (int k = EPH_KIND_BIND; k <= EPH_KIND_CONNECT; k++)
		ephd_config_thresholds(&cfg, k, &st.kind_rising_bp[k],
				       &st.kind_falling_bp[k]);
	/* A new configuration: the alarms start again from normal; the
	 * namespaces and their indexes stay. */
	ns_eperm_logged = ns_full_logged = false;
	for (size_t i = 0; i < reg.n; i++) {
		ephd_ns_reset_alarms(&reg.v[i], &st);
		reg.v[i].last_error[0] = '\0';
		reg.v[i].logged = false;
	}
	if (cfg.ns_mode != EPHD_NS_SELF) {
		list = calloc(EPH_NETNS_MAX, sizeof(*list));
		if (!list)
			snprintf(last_error, sizeof(last_error), "%s",
				 strerror(ENOMEM));
	} else {
		/* From namespaces all to self: only the own one is read. */
		for (size_t i = 0; i < reg.n; i++)
			reg.v[i].seen = reg.v[i].own;
		ephd_nsreg_drop_unseen(&reg);
	}
	while (!stopping) {
		char line[600] = "";
		int log_priority = LOG_INFO;
		struct timespec until;
		struct ephd_view *v = NULL;
		int64_t t0 = eph_mono_us(), took;
		size_t n_rows = 0;
		struct ephd_ns *r;
		int err;

		evs.n = 0;
		pthread_mutex_lock(&shared.lock);
		shared.busy_since_us = t0;
		pthread_mutex_unlock(&shared.lock);
		if (cfg.ns_mode == EPHD_NS_SELF)
			err = pass_self(c, &st, &evs, last_error,
					sizeof(last_error), line, sizeof(line),
					&log_priority);
		else
			err = list ? pass_all(c, &st, &evs, list, last_error,
					      sizeof(last_error))
				   : -ENOMEM;
		pthread_mutex_lock(&shared.lock);
		shared.busy_since_us = 0;
		shared.last_duration_us = took = eph_mono_us() - t0;
		pthread_mutex_unlock(&shared.lock);
		if (err == -ECANCELED)
			break; /* stopping: publish no partial pass */

		st.collections++;
		if (err != 0)
			st.failures++;
		/* The view: every namespace found (in self mode the own one,
		 * from the start). */
		r = realloc(rows, (reg.n ? reg.n : 1) * sizeof(*rows));
		if (r) {
			rows = r;
			n_rows = ephd_nsreg_rows(&reg, rows);
		}
		st.status = EPHD_FAILED;
		for (size_t i = 0; i < n_rows; i++)
			if (rows[i].snap)
				st.status = err ? EPHD_STALE : EPHD_OK;
		if (!err && cfg.ns_mode != EPHD_NS_SELF)
			st.status = EPHD_OK; /* every namespace (maybe none) */
		st.ns = rows;
		st.n_ns = n_rows;
		/* The pass over every namespace; one: its snapshot's. */
		st.duration_us = cfg.ns_mode == EPHD_NS_SELF ? 0
				 : took > UINT32_MAX	     ? UINT32_MAX
							     : (uint32_t)took;
		if (r)
			v = ephd_mib_build(&st);
		if (v || evs.n || line[0])
			publish(v, evs.ev, evs.n, log_priority,
				line[0] ? line : NULL);

		/* Intervals on CLOCK_MONOTONIC (shared.wake waits on it): a
		 * step of the wall clock neither stalls nor hurries them. */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += cfg.interval;
		pthread_mutex_lock(&shared.lock);
		while (!shared.stop &&
		       pthread_cond_timedwait(&shared.wake, &shared.lock,
					      &until) != ETIMEDOUT)
			;
		stopping = shared.stop;
		pthread_mutex_unlock(&shared.lock);
	}
	totals.collections = st.collections;
	totals.failures = st.failures;
	free(rows);
	free(list);
	free(evs.ev);
	return NULL;
}

/* ---- main thread: Net-SNMP ----------------------------------------------- */

static void set_value(netsnmp_variable_list *vb, const struct ephd_row *row);

/* An SNMPv2 notification, through the master (trap2sink / informsink). */
static void send_event(const struct ephd_event *e)
{
	static const oid snmptrap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
	struct ephd_row rows[EPHD_NOTIFY_ROWS];
	ephd_oid trap[EPHD_OID_MAX];
	oid name[EPHD_OID_MAX];
	size_t trap_len, n = ephd_mib_notification(e, trap, &trap_len, rows,
						   EPHD_NOTIFY_ROWS);
	netsnmp_variable_list *vars = NULL;
	const struct eph_proto_stats *s = &e->stats;
	uint32_t bp = eph_alarm_value(s, e->alarm);
	char what[160], la[48], ra[48], where[EPHD_OCTETS_MAX + 32] = "";

	/* Another namespace's, or a named own one's, leads with its name. */
	if (!e->ns_own || e->ns_name[0])
		snprintf(where, sizeof(where), "network namespace %s: ",
			 e->ns_name[0] ? e->ns_name : "(unnamed)");
	/* Names are any bytes: as the MIB serves them, not raw. */
	ephd_display_copy(where, where, strlen(where));
	if (e->failure) {
		static const char *const call[EPH_FAIL_KINDS] = {
		    [EPH_FAIL_CONNECT] = "connect()",
		    [EPH_FAIL_BIND] = "bind() to port 0",
		    [EPH_FAIL_AUTOBIND] = "UDP autobind"};
		char dest[80] = "", proc[48] = "";
		bool v6 = e->dest_addr.family == AF_INET6;

		if (e->has_dest)
			snprintf(dest, sizeof(dest), ", most to %s%s%s:%u",
				 v6 ? "[" : "",
				 eph_addr_format(&e->dest_addr, ra, sizeof(ra)),
				 v6 ? "]" : "", e->dest_port);
		if (e->pid)
			snprintf(proc, sizeof(proc), ", most by pid %u (%.15s)",
				 e->pid, e->comm);
		/* A comm is any bytes: not raw into the log. */
		ephd_display_copy(proc, proc, strlen(proc));
		snmp_log(LOG_WARNING,
			 "ephportd: %sephPortAllocationFailed: %s failed %llu "
			 "times (%llu new) for want of an ephemeral port%s%s\n",
			 where,
			 call[e->fail_kind < EPH_FAIL_KINDS ? e->fail_kind : 0],
			 (unsigned long long)e->fail_count,
			 (unsigned long long)e->fail_new, dest, proc);
	}
	if (e->exhaustion) {
		const struct eph_trend *t = &e->rate.pressure;
		bool raised = e->kind == EPH_ALARM_RAISED;

		if (t->status == EPH_TREND_EXHAUSTED)
			snprintf(what, sizeof(what), "reached 100%%");
		else if (t->status == EPH_TREND_APPROACHING)
			snprintf(what, sizeof(what),
				 "reaches 100%% in %.0f s at this pace%s",
				 t->seconds,
				 raised ? "" : ", over twice the threshold");
		else
			snprintf(what, sizeof(what),
				 "is not approaching 100%%");
		snmp_log(LOG_NOTICE,
			 "ephportd: %s%s %s %s pressure %u.%02u%% %s "
			 "(exhaustionSeconds %u)\n",
			 where, eph_proto_name(e->proto),
			 raised ? "ephExhaustionSoon:"
				: "ephExhaustionSoonCleared:",
			 eph_kind_name(s->pressure_kind), s->pressure_bp / 100,
			 s->pressure_bp % 100, what, e->threshold_s);
	}
	for (size_t i = 0; i < trap_len; i++)
		name[i] = trap[i];
	snmp_varlist_add_variable(&vars, snmptrap_oid, OID_LENGTH(snmptrap_oid),
				  ASN_OBJECT_ID, (u_char *)name,
				  trap_len * sizeof(oid));
	for (size_t i = 0; i < n; i++) {
		netsnmp_variable_list *vb;

		for (size_t k = 0; k < rows[i].len; k++)
			name[k] = rows[i].name[k];
		vb = snmp_varlist_add_variable(&vars, name, rows[i].len,
					       ASN_NULL, NULL, 0);
		if (vb)
			set_value(vb, &rows[i]);
	}
	if (e->exhaustion || e->failure) {
		send_v2trap(vars);
		snmp_free_varbind(vars);
		return;
	}
	/* What will fail, in words. */
	if (e->alarm == EPH_KIND_CONNECT && s->has_worst) {
		bool v6 = s->worst.raddr.family == AF_INET6;

		snprintf(what, sizeof(what),
			 "connect() from %s to %s%s%s:%u, %u of %u ports "
			 "blocked%s",
			 eph_addr_format(&s->worst.laddr, la, sizeof(la)),
			 v6 ? "[" : "",
			 eph_addr_format(&s->worst.raddr, ra, sizeof(ra)),
			 v6 ? "]" : "", s->worst.rport, s->worst.blocked,
			 s->usable, s->owners_exact ? "" : ", a lower bound");
	} else if (e->alarm == EPH_KIND_CONNECT) {
		snprintf(what, sizeof(what),
			 "connect() to a new destination, %u of %u ports "
			 "bind-owned%s",
			 s->bind_owned, s->usable,
			 s->owners_exact ? "" : ", a lower bound");
	} else {
		snprintf(what, sizeof(what), "%s, %u of %u ports in use%s",
			 e->proto == EPH_UDP ? "UDP autobind"
					     : "bind() to port 0",
			 s->ports_in_use, s->usable,
			 s->bind_exact ? "" : ", an upper bound");
	}
	snmp_log(LOG_NOTICE,
		 "ephportd: %s%s %s %s pressure %u.%02u%% (rising %u.%02u%%, "
		 "falling %u.%02u%%): %s\n",
		 where, eph_proto_name(e->proto),
		 e->kind == EPH_ALARM_RAISED ? "ephPressureHigh:"
					     : "ephPressureCleared:",
		 eph_kind_name(e->alarm), bp / 100, bp % 100,
		 e->rising_bp / 100, e->rising_bp % 100, e->falling_bp / 100,
		 e->falling_bp % 100, what);
	send_v2trap(vars);
	snmp_free_varbind(vars);
}

/* A collection that runs past its interval (a slow /proc, a huge socket
 * table, a blocked read) is shown: ephCollectorStatus stale(2) while it
 * runs, logged once when it overruns and once when it ends. */
static bool overrun; /* main thread only */
static ephd_oid status_oid[EPHD_OID_MAX];
static size_t status_oid_len;

static void check_overrun(unsigned int reg, void *data)
{
	int64_t since;

	(void)reg;
	(void)data;
	pthread_mutex_lock(&shared.lock);
	since = shared.busy_since_us;
	pthread_mutex_unlock(&shared.lock);
	if (overrun || !since ||
	    eph_mono_us() - since <= ((int64_t)cfg.interval + 1) * 1000000)
		return;
	overrun = true;
	snmp_log(LOG_WARNING,
		 "ephportd: a collection has run for %lld s and overran its "
		 "interval (%u s): serving the last numbers as stale\n",
		 (long long)((eph_mono_us() - since) / 1000000), cfg.interval);
}

static bool is_status(const struct ephd_row *row)
{
	return status_oid_len && row->len == status_oid_len + 1 &&
	       memcmp(row->name, status_oid,
		      status_oid_len * sizeof(status_oid[0])) == 0;
}

static void take_published(int fd, void *data)
{
	struct ephd_event events[EVENTS_MAX];
	unsigned n_events, dropped;
	struct ephd_view *v;
	char buf[64];

	(void)data;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&shared.lock);
	v = shared.published;
	shared.published = NULL;
	n_events = shared.n_events;
	memcpy(events, shared.events, n_events * sizeof(events[0]));
	dropped = shared.dropped_events;
	shared.n_events = shared.dropped_events = 0;
	if (overrun && !shared.busy_since_us) {
		overrun = false;
		snmp_log(LOG_NOTICE,
			 "ephportd: the slow collection "
			 "finished after %lld.%01lld s\n",
			 (long long)(shared.last_duration_us / 1000000),
			 (long long)(shared.last_duration_us / 100000 % 10));
	}
	for (unsigned i = 0; i < shared.n_log; i++)
		snmp_log(shared.log_priority[i], "%s\n", shared.log_line[i]);
	if (shared.dropped_log)
		snmp_log(LOG_WARNING, "ephportd: %u log lines dropped\n",
			 shared.dropped_log);
	shared.n_log = shared.dropped_log = 0;
	pthread_mutex_unlock(&shared.lock);
	if (v) {
		ephd_view_free(current);
		current = v;
	}
	if (dropped)
		snmp_log(LOG_WARNING,
			 "ephportd: %u alarm notifications dropped\n", dropped);
	for (unsigned i = 0; i < n_events; i++)
		send_event(&events[i]);
}

/* Seconds since a CLOCK_REALTIME time (0 if it is ahead: a clock step). */
static u_long age_s(int64_t real_us)
{
	int64_t d = eph_real_us() - real_us;

	return d > 0 ? (u_long)(d / 1000000) : 0;
}

/* The sysUpTime (hundredths, as the agent counts it) of a CLOCK_MONOTONIC
 * time: now's less the time since; 0 for none, or one before the agent
 * started (RFC 2579 TimeStamp). */
static u_long uptime_at(int64_t mono)
{
	/* sysUpTime 0 on CLOCK_MONOTONIC.  Derived from the uptime Net-SNMP
	 * serves, which is in whole hundredths: kept unless it moves by
	 * more than a second (the uptime was set anew), so that the same
	 * TimeStamp reads the same at every request. */
	static int64_t origin;
	int64_t now = eph_mono_us(),
		o = now - (int64_t)netsnmp_get_agent_uptime() * 10000;

	if (!origin || o - origin > 1000000 || origin - o > 1000000)
		origin = o;
	if (mono <= origin)
		return 0;
	if (mono > now)
		mono = now;
	return (u_long)((mono - origin) / 10000);
}

static void set_value(netsnmp_variable_list *vb, const struct ephd_row *row)
{
	const struct ephd_value *val = &row->value;
	u_long ul;
	long l;
	struct counter64 c64;

	switch (val->type) {
	case EPHD_INTEGER:
		l = val->v.i;
		if (overrun && is_status(row))
			l = EPHD_STALE;
		snmp_set_var_typed_value(vb, ASN_INTEGER, &l, sizeof(l));
		break;
	case EPHD_UNSIGNED:
	case EPHD_GAUGE:
	case EPHD_TIMETICKS:
		ul = (u_long)val->v.u;
		if (val->dynamic == EPHD_DATA_AGE && current)
			ul =
			    current->taken_us
				? (u_long)((eph_real_us() - current->taken_us) /
					   1000000)
				: 0;
		else if (val->dynamic == EPHD_AGE_OF)
			ul = age_s((int64_t)val->v.u);
		else if (val->dynamic == EPHD_UPTIME_AT)
			ul = uptime_at((int64_t)val->v.u);
		snmp_set_var_typed_value(
		    vb,
		    val->type == EPHD_UNSIGNED ? ASN_UNSIGNED
		    : val->type == EPHD_GAUGE  ? ASN_GAUGE
					       : ASN_TIMETICKS,
		    &ul, sizeof(ul));
		break;
	case EPHD_COUNTER64:
		c64.high = (u_long)(val->v.u >> 32);
		c64.low = (u_long)(val->v.u & 0xffffffffu);
		snmp_set_var_typed_value(vb, ASN_COUNTER64, &c64, sizeof(c64));
		break;
	default:
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, val->v.s, val->len);
	}
}

/* Net-SNMP OIDs are u_long; ours are 32-bit (no valid sub-id is larger). */
static size_t to_ephd(const oid *name, size_t len, ephd_oid *out)
{
	if (len > EPHD_OID_MAX)
		len = EPHD_OID_MAX;
	for (size_t i = 0; i < len; i++)
		out[i] = name[i] > UINT32_MAX ? UINT32_MAX : (ephd_oid)name[i];
	return len;
}

/* Is name inside a known object (so a miss is noSuchInstance)? */
static bool known_object(const ephd_oid *name, size_t len)
{
	ephd_oid obj[EPHD_OID_MAX];

	for (size_t i = 0; ephd_objects[i].name; i++) {
		size_t n = ephd_object_oid(i, obj);

		/* accessible-for-notify: not an object a GET can name */
		if (!ephd_objects[i].notify_only && len > n &&
		    memcmp(obj, name, n * sizeof(*obj)) == 0)
			return true;
	}
	return false;
}

static int handle_mib(netsnmp_mib_handler *handler,
		      netsnmp_handler_registration *reg,
		      netsnmp_agent_request_info *reqinfo,
		      netsnmp_request_info *requests)
{
	(void)handler;
	(void)reg;
	for (netsnmp_request_info *r = requests; r; r = r->next) {
		netsnmp_variable_list *vb = r->requestvb;
		ephd_oid name[EPHD_OID_MAX];
		size_t len;
		const struct ephd_row *row;

		if (r->processed)
			continue;
		len = to_ephd(vb->name, vb->name_length, name);
		switch (reqinfo->mode) {
		case MODE_GET:
			row =
			    current ? ephd_view_get(current, name, len) : NULL;
			if (row && vb->name_length == len)
				set_value(vb, row);
			else
				netsnmp_set_request_error(
				    reqinfo, r,
				    known_object(name, len)
					? SNMP_NOSUCHINSTANCE
					: SNMP_NOSUCHOBJECT);
			break;
		case MODE_GETNEXT:
			row =
			    current ? ephd_view_next(current, name, len) : NULL;
			if (row) {
				oid out[EPHD_OID_MAX];

				for (size_t i = 0; i < row->len; i++)
					out[i] = row->name[i];
				snmp_set_var_objid(vb, out, row->len);
				set_value(vb, row);
			}
			/* else: untouched, the master moves to the next subtree
			 */
			break;
		default:
			netsnmp_set_request_error(reqinfo, r,
						  SNMP_ERR_NOTWRITABLE);
		}
	}
	return SNMP_ERR_NOERROR;
}

static int ephd_register_mib(void)
{
	static const oid root[] = {EPHD_ROOT};
	netsnmp_handler_registration *reg = netsnmp_create_handler_registration(
	    "ephemeralPortMIB", handle_mib, root, OID_LENGTH(root),
	    HANDLER_CAN_RONLY);

	if (!reg)
		return -1;
	return netsnmp_register_handler(reg) == MIB_REGISTERED_OK ? 0 : -1;
}

/* ---- start-up ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ephportd [OPTION]...\n"
		"AgentX subagent serving EPHEMERAL-PORT-MIB (ephemeral port "
		"usage).\n\n"
		"  -f             stay in the foreground\n"
		"  -L[efos]       log to stderr, a file (-Lf FILE), stdout or "
		"syslog\n"
		"                 (as snmpd; default: stderr with -f, else "
		"syslog)\n"
		"  -x SOCKET      the master's AgentX socket (default: "
		"Net-SNMP's)\n"
		"  -c FILE        read this configuration file too\n"
		"  -C             do not read %s\n"
		"  -p FILE        write the process id to FILE\n"
		"  -D[TOKENS]     Net-SNMP debugging\n"
		"  -h, -v         help, version\n",
		EPHD_DEFAULT_CONFIG);
}

/* The pidfile, open and locked (flock) for as long as we run: a second
 * ephportd given the same file is refused instead of taking it over. */
static int pidfile_fd = -1;

/* Open a file we write (the pidfile, -Lf's log) without following a
 * symbolic link and only if it is a regular file of its own (not a hard
 * link to another one): else a link planted there would make us truncate
 * or write into whatever it points to.  -1 with the reason on stderr. */
static int open_own_file(const char *path, int flags)
{
	int fd = open(path, flags | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
		      0644);
	struct stat sb;

	if (fd < 0) {
		fprintf(stderr, "ephportd: %s: %s\n", path,
			errno == ELOOP
			    ? "a symbolic link: refusing to follow it"
			    : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		fprintf(stderr,
			"ephportd: %s: not a regular file with one link: "
			"refusing it\n",
			path);
		close(fd);
		return -1;
	}
	return fd;
}

static int open_pidfile(const char *path)
{
	int fd = open_own_file(path, O_RDWR);
	int err;

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[24] = "";
		ssize_t n;

		err = errno;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (err == EWOULDBLOCK)
			fprintf(stderr,
				"ephportd: another ephportd (pid %ld) holds "
				"%s\n",
				n > 0 ? strtol(buf, NULL, 10) : 0L, path);
		else
			fprintf(stderr, "ephportd: %s: %s\n", path,
				strerror(err));
		close(fd);
		return -1;
	}
	pidfile_fd = fd;
	return 0;
}

/* After daemonizing: our own pid. */
static int write_pidfile(const char *path)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(pidfile_fd, 0) < 0 ||
	    pwrite(pidfile_fd, buf, (size_t)n, 0) != n) {
		fprintf(stderr, "ephportd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Net-SNMP only logs a refused registration ("registering pdu failed:
 * 263!") and serves nothing: catch it in the log to say so and stop. */
static volatile sig_atomic_t refused_error;
#define AGENTX_DUPLICATE_REGISTRATION                                          \
	263 /* RFC 2741, duplicateRegistration                                 \
	     */

static int on_log(int major, int minor, void *serverarg, void *clientarg)
{
	const struct snmp_log_message *m = serverarg;
	const char *p;

	(void)major;
	(void)minor;
	(void)clientarg;
	if (m && m->msg && (p = strstr(m->msg, "registering pdu failed: "))) {
		long e =
		    strtol(p + strlen("registering pdu failed: "), NULL, 10);

		refused_error = e > 0 && e < 100000 ? (int)e : -1;
		keep_running = 0;
	}
	return SNMPERR_SUCCESS;
}

static void log_refused(void)
{
	if (refused_error == AGENTX_DUPLICATE_REGISTRATION)
		snmp_log(LOG_ERR,
			 "ephportd: EPHEMERAL-PORT-MIB is already registered "
			 "by another subagent at this master (AgentX "
			 "duplicateRegistration): is another ephportd running? "
			 "Exiting\n");
	else
		snmp_log(LOG_ERR,
			 "ephportd: the master refused to register "
			 "EPHEMERAL-PORT-MIB (AgentX error %d): exiting\n",
			 (int)refused_error);
}

/* -Lf FILE (or -LfFILE): opened here, appending, through open_own_file(),
 * and handed to Net-SNMP as /proc/self/fd/N (the same open file), since
 * Net-SNMP would fopen() the name, follow links, truncate, and run on
 * without a log when it cannot open it. */
static int log_to_file(char *optarg, int argc, char **argv)
{
	char *name = optarg + 1, arg[64];
	int fd;

	if (*name == '=')
		name++;
	while (*name == ' ')
		name++;
	if (!*name) {
		if (optind >= argc) {
			fprintf(stderr, "ephportd: -Lf needs a file\n");
			return -1;
		}
		name = argv[optind++];
	}
	fd = open_own_file(name, O_WRONLY | O_APPEND);
	if (fd < 0)
		return -1;
	snprintf(arg, sizeof(arg), "f /proc/self/fd/%d", fd);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_APPEND_LOGFILES, 1);
	if (snmp_log_options(arg, argc, argv) < 0) {
		fprintf(stderr, "ephportd: -Lf %s: cannot log there\n", name);
		close(fd);
		return -1;
	}
	return 0; /* fd stays open: the name Net-SNMP holds refers to it */
}

/* Where the configuration comes from, for start-up and SIGHUP. */
static struct {
	const char *extra, *agentx;
	bool read_default;
} sources = {.read_default = true};

/* Read every source into *c (from the defaults) and check it. */
static int load_config(struct ephd_config *c, char *err, size_t err_len)
{
	int rc;

	ephd_config_defaults(c);
	if (sources.read_default) {
		rc = ephd_config_load(EPHD_DEFAULT_CONFIG, c, err, err_len);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	if (sources.extra &&
	    (rc = ephd_config_load(sources.extra, c, err, err_len)) < 0)
		return rc;
	if ((rc = ephd_config_check(c, err, err_len)) < 0)
		return rc;
	if (sources.agentx)
		snprintf(c->agentx_socket, sizeof(c->agentx_socket), "%s",
			 sources.agentx);
	return 0;
}

static struct eph_collector *make_collector(const struct ephd_config *c)
{
	struct eph_config ccfg;

	eph_config_init(&ccfg);
	ccfg.protocols = c->protocols;
	ccfg.top_n = c->top_n;
	ccfg.dest_cap = c->dest_cap;
	ccfg.source = c->source;
	ccfg.state_totals = c->state_totals;
	ccfg.bpf_bound_dump = c->bpf_bound_dump;
	ccfg.proc_root = c->proc_root[0] ? c->proc_root : NULL;
	return eph_collector_new(&ccfg);
}

static void stop_collector(pthread_t thread)
{
	pthread_mutex_lock(&shared.lock);
	shared.stop = true;
	pthread_cond_signal(&shared.wake);
	pthread_mutex_unlock(&shared.lock);
	pthread_join(thread, NULL);
	shared.stop = false;
}

/* Does b select other namespaces than a? */
static bool ns_selection_changed(const struct ephd_config *a,
				 const struct ephd_config *b)
{
	if (a->ns_mode != b->ns_mode || a->n_include != b->n_include ||
	    a->n_exclude != b->n_exclude ||
	    strcmp(a->proc_root, b->proc_root) != 0)
		return true;
	for (unsigned i = 0; i < a->n_include; i++)
		if (strcmp(a->include[i], b->include[i]) != 0)
			return true;
	for (unsigned i = 0; i < a->n_exclude; i++)
		if (strcmp(a->exclude[i], b->exclude[i]) != 0)
			return true;
	return false;
}

/* SIGHUP: read the configuration again; a bad one changes nothing.  A
 * good one replaces the collector (and its thread), keeping the counters;
 * the alarms start again from normal. */
static void reload(pthread_t *thread, struct eph_collector **collector)
{
	struct ephd_config next;
	struct eph_collector *c;
	char err[512], changes[1024];

	if (load_config(&next, err, sizeof(err)) < 0) {
		snmp_log(LOG_ERR,
			 "ephportd: reload: %s; keeping the running "
			 "configuration\n",
			 err);
		return;
	}
	if (strcmp(next.agentx_socket, cfg.agentx_socket) != 0) {
		snmp_log(LOG_WARNING,
			 "ephportd: reload: agentXSocket changes at the next "
			 "start only\n");
		memcpy(next.agentx_socket, cfg.agentx_socket,
		       sizeof(next.agentx_socket));
	}
	if (ephd_config_diff(&cfg, &next, changes, sizeof(changes)) == 0) {
		snmp_log(LOG_INFO, "ephportd: configuration reloaded: no "
				   "change\n");
		return;
	}
	c = make_collector(&next);
	if (!c) {
		snmp_log(LOG_ERR,
			 "ephportd: reload: cannot set up the collector: %s; "
			 "keeping the running configuration\n",
			 strerror(errno));
		return;
	}
	stop_collector(*thread);
	eph_collector_free(*collector);
	*collector = c;
	/* The rate histories stay unless other namespaces are to be read
	 * (those no longer read are dropped with their entries anyway). */
	if (ns_selection_changed(&cfg, &next))
		ephd_nsreg_reset_rates(&reg);
	cfg = next;
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
			   NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   (int)cfg.ping_interval);
	if (pthread_create(thread, NULL, collector_main, c) != 0) {
		snmp_log(LOG_ERR,
			 "ephportd: reload: cannot start the collector "
			 "thread\n");
		keep_running = 0;
		return;
	}
	snmp_log(LOG_NOTICE, "ephportd: configuration reloaded: %s\n", changes);
}

int main(int argc, char **argv)
{
	const char *pidfile = NULL;
	bool foreground = false, logging_set = false;
	struct eph_collector *collector;
	struct sigaction sa;
	pthread_condattr_t cattr;
	pthread_t thread;
	char err[512];
	int opt;

	/* A fixed mmap threshold: the collector's large tables stay mmap()ed
	 * (untouched pages cost no RSS, freed ones go back at once).  glibc's
	 * dynamic one rises at the first free of such a table, and after a
	 * reload the next collector's tables came from the heap, zeroed and
	 * resident: 8 MB more RSS. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&shared.wake, &cattr);
	pthread_condattr_destroy(&cattr);

	ephd_config_defaults(&cfg);
	/* -LF and the like: never truncate a log. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_APPEND_LOGFILES, 1);
	while ((opt = getopt(argc, argv, "fL:x:c:Cp:D::hv")) != -1) {
		switch (opt) {
		case 'f':
			foreground = true;
			break;
		case 'L':
			if (optarg[0] == 'f' &&
			    log_to_file(optarg, argc, argv) < 0)
				return 1;
			if (optarg[0] == 'f')
				break;
			if (snmp_log_options(optarg, argc, argv) < 0) {
				usage(stderr);
				return 2;
			}
			logging_set = true;
			break;
		case 'x':
			if (!optarg[0]) {
				fprintf(stderr,
					"ephportd: -x needs a socket "
					"(an empty one is no default)\n");
				return 2;
			}
			sources.agentx = optarg;
			break;
		case 'c':
			sources.extra = optarg;
			break;
		case 'C':
			sources.read_default = false;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'D':
			debug_register_tokens(optarg);
			snmp_set_do_debugging(1);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("ephportd %s (Net-SNMP %s)\n", PACKAGE_VERSION,
			       netsnmp_get_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		char q[160];

		fprintf(stderr, "ephportd: unexpected argument %s\n",
			eph_quote(argv[optind], strlen(argv[optind]), 64, '\'',
				  q, sizeof(q)));
		return 2;
	}

	/* Configuration first: nothing starts on a bad file. */
	if (load_config(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "ephportd: %s\n", err);
		return 1;
	}
	collector = make_collector(&cfg);
	if (!collector) {
		fprintf(stderr, "ephportd: cannot set up the collector: %s\n",
			strerror(errno));
		return 1;
	}

	if (!logging_set) {
		if (foreground)
			snmp_enable_stderrlog();
		else
			snmp_enable_syslog_ident("ephportd", LOG_DAEMON);
	}
	/* Our configuration is ours: Net-SNMP reads no files, keeps no
	 * persistent state and loads no MIB modules (a subagent needs none;
	 * Debian's partial MIB set only yields "Cannot adopt OID" noise). */
	setenv("MIBS", "", 1);
	setenv("MIBDIRS", "", 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE,
			       1);
	if (cfg.agentx_socket[0])
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
				      NETSNMP_DS_AGENT_X_SOCKET,
				      cfg.agentx_socket);
	if (pidfile && open_pidfile(pidfile) < 0)
		return 1;
	if (!foreground && netsnmp_daemonize(1, snmp_stderrlog_status()) != 0) {
		fprintf(stderr, "ephportd: cannot daemonize\n");
		return 1;
	}
	if (pidfile && write_pidfile(pidfile) < 0)
		return 1;
	/* Told apart from the other lines by on_log(). */
	if (netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_ERR))
		snmp_register_callback(SNMP_CALLBACK_LIBRARY,
				       SNMP_CALLBACK_LOGGING, on_log, NULL);

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		snmp_log(LOG_ERR, "ephportd: pipe: %s\n", strerror(errno));
		return 1;
	}
	init_agent("ephportd");
	/* Ping the master, and reconnect (re-registering) when it restarts;
	 * 0: never.  Set after init_agent(), whose AgentX configuration
	 * set-up resets it to Net-SNMP's 15 s. */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
			   NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   (int)cfg.ping_interval);
	if (ephd_register_mib() < 0) {
		snmp_log(LOG_ERR,
			 "ephportd: cannot register EPHEMERAL-PORT-MIB\n");
		return 1;
	}
	init_snmp("ephportd");
	/* With pings off Net-SNMP connects once but registers nothing that
	 * was registered before the connection: do it here (a no-op without
	 * a master). */
	if (cfg.ping_interval == 0)
		register_mib_reattach();
	register_readfd(wake_pipe[0], take_published, NULL);
	for (size_t i = 0; ephd_objects[i].name; i++)
		if (strcmp(ephd_objects[i].name, "ephCollectorStatus") == 0)
			status_oid_len = ephd_object_oid(i, status_oid);
	snmp_alarm_register(1, SA_REPEAT, check_overrun, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (pthread_create(&thread, NULL, collector_main, collector) != 0) {
		snmp_log(LOG_ERR,
			 "ephportd: cannot start the collector thread\n");
		return 1;
	}
	if (!refused_error)
		snmp_log(LOG_INFO,
			 "ephportd %s started (interval %us, AgentX %s)\n",
			 PACKAGE_VERSION, cfg.interval,
			 cfg.agentx_socket[0] ? cfg.agentx_socket : "default");
	while (keep_running) {
		agent_check_and_process(1);
		if (reload_requested && keep_running) {
			reload_requested = 0;
			reload(&thread, &collector);
		}
	}

	stop_collector(thread);
	ephd_nsreg_free(&reg);
	snmp_shutdown("ephportd");
	shutdown_agent();
	ephd_view_free(current);
	ephd_view_free(shared.published);
	eph_collector_free(collector);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	if (pidfile_fd >= 0) {
		unlink(pidfile); /* still locked: no other can have taken it */
		close(pidfile_fd);
	}
	if (refused_error) {
		log_refused();
		return 1;
	}
	snmp_log(LOG_INFO, "ephportd stopped\n");
	return 0;
}
