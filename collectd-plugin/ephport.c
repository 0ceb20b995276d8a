/*
 * ephport.c - collectd read plugin: how close this host is to running out
 * of ephemeral ports, from the shared collector (libephport).
 *
 * Configuration, every value dispatched and how the names are built are in
 * ephport-collectd(5); contrib/collectd/ephport.conf is an example.  The
 * accounting model (bind pressure, connect pressure per destination, the
 * headline) is ephport-model(7); the collector computes it, the plugin only
 * names and dispatches its numbers and watches two of them: bind pressure
 * (every protocol) and connect pressure (TCP), each with its own alarm.
 * By default it reads collectd's own network namespace; Namespaces "all"
 * or Namespace patterns read others too (one eph_collect_in() each, from a
 * thread that setns()es there and is joined before the next), every one
 * with its own alarms and plugin instances "<netns>-tcp" (ns_state).
 * Each namespace also keeps a fixed-memory history of its collections
 * (struct eph_rate, fed with CLOCK_MONOTONIC times) for the open and
 * sustainable rates, the headroom and the predicted seconds to exhaustion
 * (eph_rate_compute()), with a third alarm on that prediction.
 * Where ephport-bpf pinned the failure counters (issue 18), each namespace
 * also has its failed connect()/bind(0)/autobind counts as derives under
 * the namespace's plugin instance alone, and a FAILURE notification per
 * kind that moved since the last read (struct fail_state); where they are
 * not observable, no failure value at all, and one log line saying so.
 * With Processes true (issue 18), each namespace also has who holds its
 * pool ports: one eph_holders_collect() per read and namespace, the top
 * ProcessesTop processes' ports per protocol as "ports-pid-<pid>-<comm>"
 * and three totals (report_processes()); a failure of that collection is
 * logged (struct proc_state) and keeps none of the other values back.
 *
 * Life cycle: the config callback only records settings, the init callback
 * builds the collector and registers the read callback, so a bad <Plugin
 * ephport> block (the config callback returned -1) also makes init fail and
 * collectd unloads the plugin instead of running it half-configured.  All
 * state is static and touched by one collectd thread at a time: config and
 * init run before the read threads start, collectd never runs one read
 * callback concurrently with itself, and shutdown runs after they stopped.
 *
 * Everything is static but module_register(): the plugin shares collectd's
 * symbol namespace with every other plugin.
 */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"

#include <fnmatch.h>
#include <math.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "ephport.h"

#define PLUGIN_NAME "ephport"
#define LOG_PREFIX  PLUGIN_NAME " plugin: "

/* collectd's value and file names: no '/', at most DATA_MAX_NAME_LEN - 1. */
#define NAME_LEN DATA_MAX_NAME_LEN

/* The pressures with an alarm of their own, indexed by kind_index(). */
#define N_KINDS 2
static const struct kind_opt {
	enum eph_kind kind;
	const char *rising, *falling; /* their threshold options */
	const char *type_instance;    /* the value watched */
} kind_opts[N_KINDS] = {
    {EPH_KIND_BIND, "BindRisingThreshold", "BindFallingThreshold",
     "bind_pressure"},
    {EPH_KIND_CONNECT, "ConnectRisingThreshold", "ConnectFallingThreshold",
     "connect_pressure"},
};

/* Which network namespaces are read (Namespaces, Namespace,
 * NamespaceExclude; ephport-collectd(5), NETWORK NAMESPACES). */
enum ns_mode {
	NS_SELF = 0, /* collectd's own only: eph_collect(), no privilege */
	NS_ALL,	     /* every namespace eph_netns_list() finds */
	NS_PATTERNS, /* those whose name matches a Namespace pattern */
};
#define NS_PATTERNS_MAX 32
#define NS_NAME_LEN	128 /* sizeof(struct eph_netns.name) */
/* A namespace's part of plugin_instance: room for "-tcp" after it. */
#define NS_ID_LEN (NAME_LEN - 4)

/* Settings from <Plugin ephport>; see ephport-collectd(5). */
struct ephport_conf {
	uint8_t protocols; /* bitmask of (1 << enum eph_proto); 0: both */
	unsigned top_n;	   /* TopDestinations */
	bool report_states;
	bool report_listeners;
	bool kernel_filter; /* eph_config.state_totals = !kernel_filter */
	bool bpf_bound;	    /* eph_config.bpf_bound_dump */
	enum eph_source_pref source;
	char proc_root[1024];	/* "" means /proc */
	double rising, falling; /* alarm thresholds, percent */
	/* Per kind (kind_opts[]), percent; < 0: unset, the above apply. */
	struct {
		double rising, falling;
	} kind[N_KINDS];
	bool dest_alarm; /* the connect alarm is on */
	int ns_keyword;	 /* Namespaces: -1 unset, else NS_SELF or NS_ALL */
	unsigned n_include, n_exclude; /* Namespace, NamespaceExclude */
	char include[NS_PATTERNS_MAX][NS_NAME_LEN];
	char exclude[NS_PATTERNS_MAX][NS_NAME_LEN];
	/* Rates and time to exhaustion (issue 14; ephport-collectd(5),
	 * VALUES, Rates). */
	bool report_rates;  /* ReportRates */
	double rate_window; /* RateWindow, seconds; 0: the collector's 30 */
	/* ExhaustionWarningSeconds, ExhaustionFailureSeconds; 0: unset. */
	double ex_seconds[2];
	/* Where ephport-bpf pinned its maps (BPFPinDir); "": the
	 * collector's default ($EPHPORT_BPF_PIN, else /sys/fs/bpf/ephport). */
	char bpf_pin_dir[1024];
	/* Allocation failures (issue 18; ephport-collectd(5), VALUES,
	 * Failures): FailureNotification, FailureDetails. */
	bool fail_notify;
	bool fail_details;
	/* Who holds the ports (issue 18; ephport-collectd(5), VALUES,
	 * Processes): Processes, ProcessesTop. */
	bool processes;
	unsigned processes_top;
};

/* ProcessesTop: every process listed is a series of its own per protocol
 * (and a new one for each new pid), so the list is bounded. */
#define PROCESSES_TOP_DEFAULT 10
#define PROCESSES_TOP_MAX     100

/* The defaults, also what the unit test resets to between cases. */
#define EPHPORT_CONF_DEFAULTS                                                  \
	{                                                                      \
		.top_n = 5, .report_states = true, .report_listeners = true,   \
		.source = EPH_PREFER_AUTO, .rising = 80, .falling = 70,        \
		.kind = {{-1, -1}, {-1, -1}}, .dest_alarm = true,              \
		.ns_keyword = -1, .bpf_bound = true, .report_rates = true,     \
		.fail_notify = true, .processes_top = PROCESSES_TOP_DEFAULT,   \
	}
static struct ephport_conf conf = EPHPORT_CONF_DEFAULTS;
/* The armed thresholds, one hysteresis alarm per protocol and kind (see
 * ephport.h, struct eph_alarm): the template each namespace's alarms are
 * copied from (never fed itself).  UDP's connect alarm is never fed
 * (autobind is a bind). */
static struct eph_alarm alarms[EPH_PROTO_COUNT][N_KINDS];

/* What the plugin keeps of a namespace's failure counters (issue 18): what
 * it last said about them, and the totals its notifications covered. */
enum { FAIL_UNKNOWN = 0, FAIL_OBSERVABLE, FAIL_NOT_OBSERVABLE };
struct fail_state {
	int logged;	  /* FAIL_*: what the log said last */
	char why[160];	  /* eph_failures.why last logged */
	bool have_base;	  /* base[] and since_us hold a reading */
	int64_t since_us; /* the counters' start (eph_failures.since_us) */
	/* Per kind: the total the last notification covered, or the
	 * baseline the first reading took (fail_update()). */
	uint64_t base[EPH_FAIL_KINDS];
};

/* What the plugin keeps of a namespace's holders collection (Processes):
 * its last problem, and the source it last said it reads. */
struct proc_state {
	bool failing;	      /* the last collection failed (and was logged) */
	char last_error[512]; /* what was logged */
	int source;	      /* 0: none said yet, else 1 + eph_holder_source */
};

/* What the plugin keeps per network namespace: its alarms, so that one
 * namespace's pressure never raises or clears another's, and its logged
 * problems.  Keyed by inode and name (nsfs inodes are reused once a
 * namespace is freed); dropped at the first read that no longer finds the
 * namespace. */
struct ns_state {
	uint64_t inode, dev;
	bool own;		/* collectd's own namespace */
	bool seen;		/* found by this read */
	bool logged;		/* a failure was logged: say when it ends */
	char name[NS_NAME_LEN]; /* eph_netns.name ("" own, unnamed) */
	char id[NS_ID_LEN];	/* plugin_instance prefix; "" for the own */
	struct eph_alarm alarms[EPH_PROTO_COUNT][N_KINDS];
	bool overflow_logged[EPH_PROTO_COUNT];
	char last_error[512]; /* the failure of the last read, "" none */
	char last_note[512];
	/* The recent collections of this namespace (rates, trends), and the
	 * time-to-exhaustion alarm per protocol: EX_NONE, EX_WARNING,
	 * EX_FAILURE; ex_calm counts reads in a row that found the trend
	 * not approaching (EX_CALM_READS clear it). */
	struct eph_rate rate;
	int ex_level[EPH_PROTO_COUNT];
	unsigned ex_calm[EPH_PROTO_COUNT];
	enum eph_kind ex_kind[EPH_PROTO_COUNT]; /* of the last notification */
	struct fail_state fail;
	struct proc_state procs;
};

/* The time-to-exhaustion alarm (ExhaustionWarningSeconds,
 * ExhaustionFailureSeconds): raised when the prediction falls below a
 * threshold, lowered only once it is EX_CLEAR_FACTOR times that threshold
 * or more, or once the trend was not approaching EX_CALM_READS reads in a
 * row, so a noisy prediction near a threshold does not flap. */
enum { EX_NONE = 0, EX_WARNING = 1, EX_FAILURE = 2 };
#define EX_CLEAR_FACTOR 1.25
#define EX_CALM_READS	3
#define EX_SECONDS_MAX	31536000.0 /* a year */
static const char *const ex_opts[2] = {"ExhaustionWarningSeconds",
				       "ExhaustionFailureSeconds"};

/* The clock of the rate history (CLOCK_MONOTONIC, microseconds); the unit
 * test replaces it. */
static int64_t (*clock_us)(void) = eph_mono_us;
/* When init ran (CLOCK_REALTIME, microseconds): failures older than this
 * are a baseline, not news (fail_update()).  The unit test sets it. */
static int64_t started_us;
/* collectd's own namespace: every value and alarm of Namespaces "self",
 * with today's names ("tcp", "udp"). */
static struct ns_state own_ns = {.own = true};
/* The other namespaces read (Namespaces "all", Namespace). */
static struct ns_state *ns_states;
static size_t n_ns_states, cap_ns_states;
/* eph_netns_list()'s answer, EPH_NETNS_MAX entries (allocated by init). */
static struct eph_netns *ns_list;
/* Where named namespaces are listed: NULL is /run/netns (ip netns); the
 * unit test points it elsewhere. */
static const char *netns_dir;
static bool ns_full_logged, ns_eperm_logged;
/* Set by any bad option: init then refuses to start (see the top). */
static bool config_failed;

static struct eph_collector *collector;

/* Problems are logged when they start, change or end, not every interval:
 * with Interval 10 a broken host would otherwise log 8640 lines a day. */
static bool failing;
static unsigned failures; /* consecutive failed reads */
static char last_error[600];
static char last_note[600];
static bool dispatch_error_logged;

/* --- configuration ---------------------------------------------------- */

static int config_protocol(const oconfig_item_t *ci)
{
	char name[32];

	if (cf_util_get_string_buffer(ci, name, sizeof(name)) != 0) {
		ERROR(LOG_PREFIX
		      "%s needs one string argument: \"tcp\" or \"udp\"",
		      ci->key);
		return -1;
	}
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		if (strcasecmp(name, eph_proto_name((enum eph_proto)p)) == 0) {
			conf.protocols |= (uint8_t)(1u << p);
			return 0;
		}
	}
	ERROR(LOG_PREFIX "%s \"%s\" is not a protocol: use \"tcp\" or \"udp\"",
	      ci->key, name);
	return -1;
}

/* A whole number from min to max (TopDestinations, ProcessesTop). */
static int config_count(const oconfig_item_t *ci, unsigned min, unsigned max,
			unsigned *out)
{
	double v;

	/* cf_util_get_int() would silently truncate 2.5 and -0.5 to 2 and 0. */
	if (cf_util_get_double(ci, &v) != 0 || !(v >= min && v <= max) ||
	    v != (double)(unsigned)v) {
		ERROR(LOG_PREFIX "%s needs a whole number from %u to %u",
		      ci->key, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int config_bool(const oconfig_item_t *ci, bool *out)
{
	if (cf_util_get_boolean(ci, out) != 0) {
		ERROR(LOG_PREFIX "%s needs true or false", ci->key);
		return -1;
	}
	return 0;
}

static int config_source(const oconfig_item_t *ci)
{
	static const struct {
		const char *name;
		enum eph_source_pref pref;
	} sources[] = {
	    {"auto", EPH_PREFER_AUTO},
	    {"netlink", EPH_PREFER_NETLINK},
	    {"procfs", EPH_PREFER_PROCFS},
	    {"bpf", EPH_PREFER_BPF},
	};
	char name[32];

	if (cf_util_get_string_buffer(ci, name, sizeof(name)) == 0) {
		for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]);
		     i++) {
			if (strcasecmp(name, sources[i].name) == 0) {
				conf.source = sources[i].pref;
				return 0;
			}
		}
	}
	ERROR(LOG_PREFIX
	      "%s needs \"auto\", \"bpf\", \"netlink\" or \"procfs\"",
	      ci->key);
	return -1;
}

static int config_proc_root(const oconfig_item_t *ci)
{
	char buf[sizeof(conf.proc_root) + 1];

	/* One byte more than we keep, so a path that would be cut is seen;
	 * absolute, as ephportd's procRoot (collectd's working directory is
	 * no place to resolve it from). */
	if (cf_util_get_string_buffer(ci, buf, sizeof(buf)) != 0 ||
	    buf[0] != '/' || strlen(buf) >= sizeof(conf.proc_root)) {
		ERROR(LOG_PREFIX
		      "%s needs an absolute directory name (under %zu bytes)",
		      ci->key, sizeof(conf.proc_root));
		return -1;
	}
	memcpy(conf.proc_root, buf, sizeof(conf.proc_root));
	return 0;
}

static int config_pin_dir(const oconfig_item_t *ci)
{
	char buf[sizeof(conf.bpf_pin_dir) + 1];

	if (cf_util_get_string_buffer(ci, buf, sizeof(buf)) != 0 ||
	    buf[0] != '/' || strlen(buf) >= sizeof(conf.bpf_pin_dir)) {
		ERROR(LOG_PREFIX
		      "%s needs an absolute directory name (under %zu bytes)",
		      ci->key, sizeof(conf.bpf_pin_dir));
		return -1;
	}
	memcpy(conf.bpf_pin_dir, buf, sizeof(conf.bpf_pin_dir));
	return 0;
}

static int config_percent(const oconfig_item_t *ci, double *out)
{
	double v;

	if (cf_util_get_double(ci, &v) != 0 || !(v >= 0 && v <= 100)) {
		ERROR(LOG_PREFIX "%s needs a percent from 0 to 100", ci->key);
		return -1;
	}
	*out = v;
	return 0;
}

/* A number of seconds: above 0, at most max. */
static int config_seconds(const oconfig_item_t *ci, double max, double *out)
{
	double v;

	if (cf_util_get_double(ci, &v) != 0 || !(v > 0 && v <= max)) {
		ERROR(LOG_PREFIX "%s needs a number of seconds above 0 and at "
				 "most %g",
		      ci->key, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int config_namespaces(const oconfig_item_t *ci)
{
	char name[16];

	if (cf_util_get_string_buffer(ci, name, sizeof(name)) == 0) {
		if (strcasecmp(name, "self") == 0) {
			conf.ns_keyword = NS_SELF;
			return 0;
		}
		if (strcasecmp(name, "all") == 0) {
			conf.ns_keyword = NS_ALL;
			return 0;
		}
	}
	ERROR(LOG_PREFIX "%s needs \"self\" or \"all\" (to pick namespaces "
			 "by name, use Namespace \"pattern\")",
	      ci->key);
	return -1;
}

/* Namespace, NamespaceExclude: one fnmatch(3) pattern each, repeatable. */
static int config_pattern(const oconfig_item_t *ci, char (*list)[NS_NAME_LEN],
			  unsigned *n)
{
	char buf[NS_NAME_LEN + 1];

	if (cf_util_get_string_buffer(ci, buf, sizeof(buf)) != 0 ||
	    buf[0] == '\0' || strlen(buf) >= NS_NAME_LEN) {
		ERROR(LOG_PREFIX "%s needs one namespace name or glob pattern "
				 "(under %d bytes)",
		      ci->key, NS_NAME_LEN);
		return -1;
	}
	if (*n == NS_PATTERNS_MAX) {
		ERROR(LOG_PREFIX "%s \"%s\": at most %d %s options", ci->key,
		      buf, NS_PATTERNS_MAX, ci->key);
		return -1;
	}
	memcpy(list[(*n)++], buf, NS_NAME_LEN);
	return 0;
}

/* The namespace options together, wherever they stood in the block. */
static int config_namespaces_check(void)
{
	if (conf.n_include > 0 && conf.ns_keyword >= 0) {
		ERROR(LOG_PREFIX "Namespace \"%s\" and Namespaces \"%s\" both "
				 "select namespaces: use one of them",
		      conf.include[0],
		      conf.ns_keyword == NS_ALL ? "all" : "self");
		return -1;
	}
	if (conf.n_exclude > 0 && conf.n_include == 0 &&
	    conf.ns_keyword != NS_ALL) {
		ERROR(LOG_PREFIX "NamespaceExclude \"%s\" needs Namespaces "
				 "\"all\" or a Namespace pattern",
		      conf.exclude[0]);
		return -1;
	}
	return 0;
}

static enum ns_mode ns_mode(void)
{
	if (conf.n_include > 0)
		return NS_PATTERNS;
	return conf.ns_keyword == NS_ALL ? NS_ALL : NS_SELF;
}

static int config_option(const oconfig_item_t *ci)
{
	if (strcasecmp(ci->key, "RisingThreshold") == 0)
		return config_percent(ci, &conf.rising);
	if (strcasecmp(ci->key, "FallingThreshold") == 0)
		return config_percent(ci, &conf.falling);
	for (int k = 0; k < N_KINDS; k++) {
		if (strcasecmp(ci->key, kind_opts[k].rising) == 0)
			return config_percent(ci, &conf.kind[k].rising);
		if (strcasecmp(ci->key, kind_opts[k].falling) == 0)
			return config_percent(ci, &conf.kind[k].falling);
	}
	if (strcasecmp(ci->key, "DestinationAlarm") == 0)
		return config_bool(ci, &conf.dest_alarm);
	if (strcasecmp(ci->key, "Protocol") == 0)
		return config_protocol(ci);
	if (strcasecmp(ci->key, "TopDestinations") == 0)
		return config_count(ci, 0, EPH_TOP_MAX, &conf.top_n);
	if (strcasecmp(ci->key, "ReportStates") == 0)
		return config_bool(ci, &conf.report_states);
	if (strcasecmp(ci->key, "ReportListeners") == 0)
		return config_bool(ci, &conf.report_listeners);
	if (strcasecmp(ci->key, "KernelFilter") == 0)
		return config_bool(ci, &conf.kernel_filter);
	if (strcasecmp(ci->key, "BPFBoundSockets") == 0)
		return config_bool(ci, &conf.bpf_bound);
	if (strcasecmp(ci->key, "Source") == 0)
		return config_source(ci);
	if (strcasecmp(ci->key, "ProcRoot") == 0)
		return config_proc_root(ci);
	if (strcasecmp(ci->key, "BPFPinDir") == 0)
		return config_pin_dir(ci);
	if (strcasecmp(ci->key, "FailureNotification") == 0)
		return config_bool(ci, &conf.fail_notify);
	if (strcasecmp(ci->key, "FailureDetails") == 0)
		return config_bool(ci, &conf.fail_details);
	if (strcasecmp(ci->key, "Processes") == 0)
		return config_bool(ci, &conf.processes);
	if (strcasecmp(ci->key, "ProcessesTop") == 0)
		return config_count(ci, 1, PROCESSES_TOP_MAX,
				    &conf.processes_top);
	if (strcasecmp(ci->key, "Namespaces") == 0)
		return config_namespaces(ci);
	if (strcasecmp(ci->key, "Namespace") == 0)
		return config_pattern(ci, conf.include, &conf.n_include);
	if (strcasecmp(ci->key, "NamespaceExclude") == 0)
		return config_pattern(ci, conf.exclude, &conf.n_exclude);
	if (strcasecmp(ci->key, "ReportRates") == 0)
		return config_bool(ci, &conf.report_rates);
	if (strcasecmp(ci->key, "RateWindow") == 0)
		return config_seconds(ci, EPH_RATE_WINDOW_MS_MAX / 1000,
				      &conf.rate_window);
	for (int i = 0; i < 2; i++)
		if (strcasecmp(ci->key, ex_opts[i]) == 0)
			return config_seconds(ci, EX_SECONDS_MAX,
					      &conf.ex_seconds[i]);
	ERROR(LOG_PREFIX "unknown option \"%s\" in <Plugin " PLUGIN_NAME ">",
	      ci->key);
	return -1;
}

/* Every threshold pair in effect, checked with the block (a bad pair is a
 * bad block, as every other mistake) and told with the values as given:
 * they must differ by a hundredth of a percent at least, the collector's
 * unit. */
static uint32_t to_bp(double pct);

static int thresholds_check(void)
{
	int status = 0;

	if (to_bp(conf.falling) >= to_bp(conf.rising)) {
		ERROR(LOG_PREFIX "FallingThreshold (%g) must be below "
				 "RisingThreshold (%g)%s",
		      conf.falling, conf.rising,
		      conf.falling < conf.rising ? " by 0.01 at least" : "");
		status = -1;
	}
	for (int k = 0; k < N_KINDS; k++) {
		const struct kind_opt *o = &kind_opts[k];
		bool own_r = conf.kind[k].rising >= 0;
		bool own_f = conf.kind[k].falling >= 0;
		double r = own_r ? conf.kind[k].rising : conf.rising;
		double f = own_f ? conf.kind[k].falling : conf.falling;

		if ((!own_r && !own_f) || to_bp(f) < to_bp(r))
			continue;
		ERROR(LOG_PREFIX "%s (%g) must be below %s (%g)%s for %s "
				 "notifications",
		      own_f ? o->falling : "FallingThreshold", f,
		      own_r ? o->rising : "RisingThreshold", r,
		      f < r ? " by 0.01 at least" : "", eph_kind_name(o->kind));
		status = -1;
	}
	return status;
}

static int ephport_config(oconfig_item_t *ci)
{
	int status = 0;

	/* Every bad option is reported, not only the first, so one restart
	 * shows the operator everything to fix. */
	for (int i = 0; i < ci->children_num; i++) {
		const oconfig_item_t *child = &ci->children[i];

		if (child->children_num > 0) {
			ERROR(LOG_PREFIX
			      "\"%s\" is not a block: <Plugin " PLUGIN_NAME
			      "> takes plain options only",
			      child->key);
			status = -1;
		} else if (config_option(child) != 0) {
			status = -1;
		}
	}
	if (config_namespaces_check() != 0)
		status = -1;
	/* Failure is the nearer of the two: its threshold is the lower. */
	if (conf.ex_seconds[EX_FAILURE - 1] > 0 &&
	    conf.ex_seconds[EX_WARNING - 1] > 0 &&
	    conf.ex_seconds[EX_FAILURE - 1] >=
		conf.ex_seconds[EX_WARNING - 1]) {
		ERROR(LOG_PREFIX "ExhaustionFailureSeconds (%g) must be below "
				 "ExhaustionWarningSeconds (%g)",
		      conf.ex_seconds[EX_FAILURE - 1],
		      conf.ex_seconds[EX_WARNING - 1]);
		status = -1;
	}
	if (status == 0 && thresholds_check() != 0)
		status = -1;
	if (status != 0) {
		config_failed = true;
		ERROR(LOG_PREFIX "bad <Plugin " PLUGIN_NAME
				 "> block: refusing to run");
	}
	return status;
}

/* --- value names -------------------------------------------------------- */

/* An address as collectd may carry it in a type_instance: no '/' (the
 * identifier separator), and no ':' either, because rrdtool takes ':' as
 * its own separator in DEF:vname=file.rrd:ds:CF and Windows forbids it in
 * file names.  IPv6 "2001:db8::1" becomes "2001_db8__1". */
static void addr_name(const struct eph_addr *a, char *buf, size_t len)
{
	eph_addr_format(a, buf, len);
	for (char *p = buf; *p; p++)
		if (*p == ':' || *p == '/')
			*p = '_';
}

/* "dest-<local>-<remote>-<port>" and optional "-<what>".  Returns -1 when
 * the name would not fit (it always does: 5+45+1+45+1+5+17 < 128). */
static int dest_name(const struct eph_dest *d, const char *what, char *buf,
		     size_t len)
{
	char la[64], ra[64];
	int n;

	addr_name(&d->laddr, la, sizeof(la));
	addr_name(&d->raddr, ra, sizeof(ra));
	n = snprintf(buf, len, "dest-%s-%s-%u%s%s", la, ra, d->rport,
		     what ? "-" : "", what ? what : "");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A namespace's part of plugin_instance, "<netns>" in "<netns>-tcp": its
 * name with every byte but A-Z a-z 0-9 '.' '_' '-' made '_' (so
 * "docker:0123456789ab" is "docker_0123456789ab", "pid:42" "pid_42"), cut
 * to NS_ID_LEN - 1 bytes; unique adds "_<inode>" (two names that map to
 * one id).  A namespace without a name is "netns_<inode>". */
static void ns_id(const char *name, uint64_t inode, bool unique, char *buf,
		  size_t len)
{
	char tail[24] = "";
	size_t n = 0, max;

	if (!name[0]) {
		snprintf(buf, len, "netns_%" PRIu64, inode);
		return;
	}
	if (unique)
		snprintf(tail, sizeof(tail), "_%" PRIu64, inode);
	max = len - 1 - strlen(tail);
	for (const char *c = name; *c && n < max; c++) {
		bool keep = (*c >= 'a' && *c <= 'z') ||
			    (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || *c == '.' ||
			    *c == '_' || *c == '-';

		buf[n++] = keep ? *c : '_';
	}
	buf[n] = '\0';
	strcat(buf, tail);
}

/* plugin_instance: "tcp" in collectd's own namespace, "<id>-tcp" in
 * another. */
static void plugin_inst(const struct ns_state *ns, enum eph_proto p, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s%s%s", ns->id, ns->id[0] ? "-" : "",
		 eph_proto_name(p));
}

/* How log lines and notifications name a namespace other than the own. */
static const char *ns_label(const struct ns_state *ns)
{
	return ns->own ? "self" : ns->name[0] ? ns->name : ns->id;
}

/* --- dispatch ------------------------------------------------------------- */

/* One value of the current snapshot: time, host and interval are shared. */
static void submit_value(const value_list_t *tmpl, const char *type,
			 const char *type_instance, value_t v)
{
	value_list_t vl = *tmpl;

	vl.values = &v;
	vl.values_len = 1;
	snprintf(vl.type, sizeof(vl.type), "%s", type);
	snprintf(vl.type_instance, sizeof(vl.type_instance), "%s",
		 type_instance);
	/* Fails only when types.db lacks the type: say so once, keep going. */
	if (plugin_dispatch_values(&vl) != 0 && !dispatch_error_logged) {
		dispatch_error_logged = true;
		ERROR(LOG_PREFIX "dispatching %s-%s failed: is the TypesDB "
				 "collectd's own types.db?",
		      type, type_instance);
	}
}

static void submit(const value_list_t *tmpl, const char *type,
		   const char *type_instance, gauge_t value)
{
	submit_value(tmpl, type, type_instance, (value_t){.gauge = value});
}

/* A counter as collectd's "derive" (types.db: minimum 0, so a counter that
 * restarted gives one unknown rate, never a negative one). */
static void submit_derive(const value_list_t *tmpl, const char *type_instance,
			  uint64_t value)
{
	submit_value(tmpl, "derive", type_instance,
		     (value_t){.derive = (derive_t)value});
}

static gauge_t percent(uint32_t bp)
{
	return (gauge_t)bp / 100.0; /* hundredths of a percent, as --json */
}

/* A trend's prediction as dispatched: seconds when approaching, 0 when
 * exhausted, else NaN ("not approaching" or not known yet). */
static gauge_t trend_seconds(const struct eph_trend *t)
{
	if (t->status == EPH_TREND_APPROACHING)
		return t->seconds;
	return t->status == EPH_TREND_EXHAUSTED ? 0 : NAN;
}

/* The rates of ephport-collectd(5), VALUES, Rates: every interval, NaN when
 * there is no value this time (collectd's way for a gauge, as the ping plugin's
 * latency without replies: rrdtool records "unknown", the series stays
 * continuous).  UDP has no opens counter and no TIME_WAIT: only its
 * prediction. */
static void submit_rates(const value_list_t *tmpl, enum eph_proto p,
			 const struct eph_rate_proto *r)
{
	if (p == EPH_TCP) {
		submit(tmpl, "operations_per_second", "open_rate",
		       r->open_status == EPH_RATE_OK ? r->open_rate : NAN);
		submit(tmpl, "operations_per_second", "sustainable_rate",
		       r->tw_bound ? r->sustainable_rate : NAN);
		submit(tmpl, "gauge", "headroom",
		       r->has_headroom ? r->headroom : NAN);
	}
	submit(tmpl, "duration", "seconds_to_exhaustion",
	       trend_seconds(&r->pressure));
	if (p == EPH_TCP)
		submit(tmpl, "duration",
		       "worst_destination_seconds_to_exhaustion",
		       r->has_worst ? trend_seconds(&r->worst_blocked) : NAN);
}

static void submit_proto(const value_list_t *tmpl0, enum eph_proto p,
			 const struct eph_proto_stats *s, struct ns_state *ns,
			 const struct eph_rate_proto *r)
{
	value_list_t tmpl = *tmpl0;
	const enum eph_tcp_state *st;
	char name[NAME_LEN];

	plugin_inst(ns, p, tmpl.plugin_instance, sizeof(tmpl.plugin_instance));

	submit(&tmpl, "gauge", "range_low", s->low);
	submit(&tmpl, "gauge", "range_high", s->high);
	submit(&tmpl, "gauge", "usable", s->usable);
	submit(&tmpl, "gauge", "reserved", s->reserved);

	submit(&tmpl, "count", "ports_used", s->ports_in_use);
	submit(&tmpl, "count", "ports_free", s->ports_free);
	submit(&tmpl, "count", "sockets_in_range",
	       (gauge_t)s->sockets_in_range);
	/* UDP has no TIME_WAIT: a series of zeros would only be noise. */
	if (p == EPH_TCP) {
		submit(&tmpl, "count", "time_wait", (gauge_t)s->time_wait);
		submit(&tmpl, "count", "time_wait_total",
		       (gauge_t)s->time_wait_total);
	}
	if (conf.report_listeners)
		submit(&tmpl, "count", "listeners_in_range",
		       s->listeners_in_range);
	submit(&tmpl, "count", "destinations", (gauge_t)s->destinations);

	/* The model (ephport-model(7)): 100 % means the next call of that
	 * kind fails.  The headline is the higher of bind and connect. */
	submit(&tmpl, "percent", "pressure", percent(s->pressure_bp));
	submit(&tmpl, "percent", "bind_pressure", percent(s->bind_bp));
	/* UDP has no connect pressure: its autobind is a bind. */
	if (p == EPH_TCP) {
		submit(&tmpl, "percent", "connect_pressure",
		       percent(s->connect_bp));
		submit(&tmpl, "percent", "connect_new_pressure",
		       percent(s->connect_new_bp));
		submit(&tmpl, "count", "bind_owned_ports", s->bind_owned);
		submit(&tmpl, "count", "time_wait_reusable",
		       (gauge_t)s->time_wait_reusable);
	}
	if (r && r->collected)
		submit_rates(&tmpl, p, r);

	/* Deprecated: the first model's numbers (ephport-collectd(5)). */
	submit(&tmpl, "percent", "exhaustion", percent(s->exhaustion_bp));
	submit(&tmpl, "percent", "host_exhaustion",
	       percent(s->host_exhaustion_bp));
	submit(&tmpl, "percent", "worst_destination_exhaustion",
	       percent(s->worst_dest_exhaustion_bp));

	if (conf.report_states) {
		/* Every state, zeros included, so each series is continuous. */
		st = eph_proto_states(p);
		for (int i = 0; st[i] != EPH_ST_UNKNOWN; i++) {
			if (p == EPH_TCP) {
				submit(&tmpl, "tcp_connections",
				       eph_state_key(st[i]),
				       (gauge_t)s->state_in_range[st[i]]);
			} else {
				snprintf(name, sizeof(name), "state-%s",
					 eph_state_key(st[i]));
				submit(&tmpl, "count", name,
				       (gauge_t)s->state_in_range[st[i]]);
			}
		}
	}

	for (uint32_t i = 0; i < s->n_top && i < conf.top_n; i++) {
		const struct eph_dest *d = &s->top[i];

		if (dest_name(d, NULL, name, sizeof(name)) == 0)
			submit(&tmpl, "percent", name,
			       percent(d->exhaustion_bp));
		if (dest_name(d, "sockets", name, sizeof(name)) == 0)
			submit(&tmpl, "count", name, d->sockets);
		if (p == EPH_TCP &&
		    dest_name(d, "time_wait", name, sizeof(name)) == 0)
			submit(&tmpl, "count", name, d->time_wait);
		if (p == EPH_TCP &&
		    dest_name(d, "connect_pressure", name, sizeof(name)) == 0)
			submit(&tmpl, "percent", name, percent(d->connect_bp));
	}

	/* The table filling is a property of the host, not of one read. */
	if (s->dest_overflow != ns->overflow_logged[p]) {
		char where[NS_NAME_LEN + 32];

		snprintf(where, sizeof(where), "%s%s%s",
			 ns->own ? "" : "network namespace ",
			 ns->own ? "" : ns_label(ns), ns->own ? "" : ", ");
		ns->overflow_logged[p] = s->dest_overflow;
		if (s->dest_overflow)
			WARNING(LOG_PREFIX
				"%s%s: more destinations than the collector "
				"tracks exactly (%" PRIu64
				"); destination counts are lower bounds",
				where, eph_proto_name(p), s->destinations);
		else
			INFO(LOG_PREFIX
			     "%s%s: destination counts are exact again",
			     where, eph_proto_name(p));
	}
}

static void submit_snapshot(const struct eph_snapshot *snap,
			    struct ns_state *ns,
			    const struct eph_rate_result *rr)
{
	value_list_t tmpl = VALUE_LIST_INIT;

	/* One timestamp for every value of a collection, so the values of
	 * an interval can be matched up downstream. */
	tmpl.time = US_TO_CDTIME_T(snap->taken_us);
	snprintf(tmpl.plugin, sizeof(tmpl.plugin), "%s", PLUGIN_NAME);
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (snap->proto[p].collected)
			submit_proto(&tmpl, (enum eph_proto)p, &snap->proto[p],
				     ns, rr ? &rr->proto[p] : NULL);
	/* TcpExt: TWRecycled, whatever the source: connect()s that took over
	 * a TIME_WAIT 4-tuple (how often TIME_WAIT reuse saved a connect). */
	if (snap->proto[EPH_TCP].collected && snap->counters.tw_recycled_read) {
		plugin_inst(ns, EPH_TCP, tmpl.plugin_instance,
			    sizeof(tmpl.plugin_instance));
		submit_derive(&tmpl, "tw_recycled", snap->counters.tw_recycled);
	}
}

/* --- notifications ------------------------------------------------------- */

static int kind_index(enum eph_kind k)
{
	return k == EPH_KIND_CONNECT ? 1 : 0;
}

/* Hundredths of a percent, as the collector counts. */
static uint32_t to_bp(double pct)
{
	return (uint32_t)(pct * 100 + 0.5);
}

/* Arm every alarm from the thresholds: per kind where set, else
 * RisingThreshold / FallingThreshold, wherever the options stood in the
 * block.  thresholds_check() refused every pair that does not hold when
 * the block was read, so eph_alarm_init() cannot fail here. */
static void alarms_init(void)
{
	for (int k = 0; k < N_KINDS; k++) {
		double r = conf.kind[k].rising >= 0 ? conf.kind[k].rising
						    : conf.rising;
		double f = conf.kind[k].falling >= 0 ? conf.kind[k].falling
						     : conf.falling;

		for (int p = 0; p < EPH_PROTO_COUNT; p++)
			(void)eph_alarm_init(&alarms[p][k], to_bp(r), to_bp(f));
	}
}

/* "[2001:db8::1]:443" or "192.0.2.1:443". */
static void endpoint_format(const struct eph_addr *a, uint16_t port, char *buf,
			    size_t len)
{
	char text[46];

	eph_addr_format(a, text, sizeof(text));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", text, port);
	else
		snprintf(buf, len, "%s:%u", text, port);
}

/* A crossing of a kind's rising (WARNING) or falling (OKAY) threshold: what
 * will fail, how close it is, and the numbers as meta data, for
 * notify_email, exec, logfile, the threshold plugin...  The message stays
 * under NOTIF_MAX_MSG_LEN (256) even with two full IPv6 addresses. */
static void notify(const struct ns_state *ns, enum eph_proto p,
		   const struct eph_proto_stats *s, enum eph_kind kind,
		   const struct eph_alarm *a, enum eph_alarm_event e,
		   cdtime_t t)
{
	notification_t n = {
	    .severity = e == EPH_ALARM_RAISED ? NOTIF_WARNING : NOTIF_OKAY,
	    .time = t,
	};
	const struct kind_opt *o = &kind_opts[kind_index(kind)];
	uint32_t value = eph_alarm_value(s, kind);
	uint32_t threshold =
	    e == EPH_ALARM_RAISED ? a->rising_bp : a->falling_bp;
	/* Sized for the longest addresses (46 bytes with the NUL), so no
	 * part is ever cut. */
	char la[46], ra[56], what[128], dest[112] = "new", counts[48];
	/* Another namespace's name leads, so a cut never loses it. */
	char where[NS_NAME_LEN + 16] = "";
	const char *bound = "";

	if (!ns->own)
		snprintf(where, sizeof(where), "netns %s: ", ns_label(ns));

	if (kind == EPH_KIND_CONNECT) {
		if (s->has_worst) {
			eph_addr_format(&s->worst.laddr, la, sizeof(la));
			endpoint_format(&s->worst.raddr, s->worst.rport, ra,
					sizeof(ra));
			snprintf(dest, sizeof(dest), "%s -> %s", la, ra);
			snprintf(what, sizeof(what), "connect() from %s to %s",
				 la, ra);
		} else {
			snprintf(what, sizeof(what),
				 "connect() to a new destination");
		}
		snprintf(counts, sizeof(counts), "%u of %u ports blocked",
			 s->has_worst ? s->worst.blocked : s->bind_owned,
			 s->usable);
		/* Ports bound before connect() look like connect()'s own to
		 * netlink and /proc: more may be blocked than is seen. */
		if (!s->owners_exact)
			bound = "; a lower bound";
	} else {
		snprintf(what, sizeof(what), "%s",
			 p == EPH_UDP ? "bind(0) or autobind" : "bind(0)");
		snprintf(counts, sizeof(counts), "%u of %u ports in use",
			 s->ports_in_use, s->usable);
		/* ip_autobind_reuse: a SO_REUSEADDR bind(0) may still find
		 * a port when the range is full. */
		if (!s->bind_exact)
			bound = "; an upper bound";
	}

	snprintf(n.host, sizeof(n.host), "%s", hostname_g ? hostname_g : "");
	snprintf(n.plugin, sizeof(n.plugin), "%s", PLUGIN_NAME);
	plugin_inst(ns, p, n.plugin_instance, sizeof(n.plugin_instance));
	snprintf(n.type, sizeof(n.type), "percent");
	snprintf(n.type_instance, sizeof(n.type_instance), "%s",
		 o->type_instance);
	/* At most 239 bytes (two 39-byte IPv6 addresses, 65535 everywhere),
	 * under NOTIF_MAX_MSG_LEN; should that ever change, the cut shows. */
	if (snprintf(
		n.message, sizeof(n.message),
		"%s%s %s pressure %.2f%% %s %.2f%%: %s fails at 100%% "
		"(%s, range %u-%u)%s",
		where, eph_proto_name(p), eph_kind_name(kind), percent(value),
		e == EPH_ALARM_RAISED ? "rose to or above" : "fell to or below",
		percent(threshold), what, counts, s->low, s->high,
		bound) >= (int)sizeof(n.message))
		memcpy(n.message + sizeof(n.message) - 4, "...", 4);
	plugin_notification_meta_add_string(&n, "kind", eph_kind_name(kind));
	if (!ns->own) {
		plugin_notification_meta_add_string(&n, "netns", ns_label(ns));
		plugin_notification_meta_add_double(&n, "netns_inode",
						    (double)ns->inode);
	}
	plugin_notification_meta_add_double(&n, "pressure", percent(value));
	plugin_notification_meta_add_double(&n, "threshold",
					    percent(threshold));
	plugin_notification_meta_add_double(&n, "ports_in_use",
					    s->ports_in_use);
	plugin_notification_meta_add_double(&n, "usable", s->usable);
	plugin_notification_meta_add_double(&n, "range_low", s->low);
	plugin_notification_meta_add_double(&n, "range_high", s->high);
	if (kind == EPH_KIND_CONNECT) {
		plugin_notification_meta_add_string(&n, "destination", dest);
		plugin_notification_meta_add_double(
		    &n, "blocked",
		    s->has_worst ? s->worst.blocked : s->bind_owned);
		plugin_notification_meta_add_double(&n, "bind_owned_ports",
						    s->bind_owned);
		plugin_notification_meta_add_boolean(&n, "lower_bound",
						     !s->owners_exact);
	} else {
		plugin_notification_meta_add_boolean(&n, "upper_bound",
						     !s->bind_exact);
	}
	plugin_dispatch_notification(&n);
	if (n.meta)
		plugin_notification_meta_free(n.meta);
}

static void check_alarms(const struct eph_snapshot *snap, struct ns_state *ns)
{
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *s = &snap->proto[p];

		if (!s->collected)
			continue;
		for (int k = 0; k < N_KINDS; k++) {
			enum eph_kind kind = kind_opts[k].kind;
			enum eph_alarm_event e;

			/* UDP: no connect pressure.  DestinationAlarm false:
			 * bind only, as the first model's host alarm. */
			if (kind == EPH_KIND_CONNECT &&
			    (p != EPH_TCP || !conf.dest_alarm))
				continue;
			e = eph_alarm_update(&ns->alarms[p][k],
					     eph_alarm_value(s, kind));
			if (e != EPH_ALARM_NONE)
				notify(ns, (enum eph_proto)p, s, kind,
				       &ns->alarms[p][k], e,
				       US_TO_CDTIME_T(snap->taken_us));
		}
	}
}

/* --- time to exhaustion --------------------------------------------------- */

/* The prediction the alarm watches: the nearer of the headline pressure's
 * and the worst destination's (TCP), with the kind of call that will fail
 * (the worst destination: connect(); the headline: whichever of bind and
 * connect pressure leads it).  false: neither is approaching. */
static bool ex_prediction(enum eph_proto p, const struct eph_proto_stats *s,
			  const struct eph_rate_proto *r, double *seconds,
			  enum eph_kind *kind, bool *dest)
{
	double h = trend_seconds(&r->pressure);
	double w = p == EPH_TCP && r->has_worst
		       ? trend_seconds(&r->worst_blocked)
		       : NAN;

	if (isnan(h) && isnan(w))
		return false;
	*dest = !isnan(w) && (isnan(h) || w <= h);
	*seconds = *dest ? w : h;
	*kind = *dest || (p == EPH_TCP && s->connect_bp >= s->bind_bp)
		    ? EPH_KIND_CONNECT
		    : EPH_KIND_BIND;
	return true;
}

/* The level the thresholds give for seconds, each scaled by factor. */
static int ex_level_for(double seconds, double factor)
{
	for (int l = EX_FAILURE; l > EX_NONE; l--)
		if (conf.ex_seconds[l - 1] > 0 &&
		    seconds < conf.ex_seconds[l - 1] * factor)
			return l;
	return EX_NONE;
}

/* A change of the time-to-exhaustion alarm: FAILURE or WARNING when it
 * rose to that level (or fell back from FAILURE to WARNING), OKAY when it
 * cleared.  Under NOTIF_MAX_MSG_LEN (256) with the longest namespace name
 * cut by the "..." below. */
static void ex_notify(const struct ns_state *ns, enum eph_proto p,
		      const struct eph_proto_stats *s,
		      const struct eph_rate_proto *r, int from, int to,
		      bool approaching, double seconds, enum eph_kind kind,
		      bool dest, cdtime_t t)
{
	notification_t n = {
	    .severity = to == EX_FAILURE   ? NOTIF_FAILURE
			: to == EX_WARNING ? NOTIF_WARNING
					   : NOTIF_OKAY,
	    .time = t,
	};
	int lvl = to > from ? to : from; /* the threshold crossed */
	double thr = conf.ex_seconds[lvl - 1];
	char where[NS_NAME_LEN + 16] = "", why[128], dest_s[112] = "";
	char rates[64] = "";
	bool named;

	if (!ns->own)
		snprintf(where, sizeof(where), "netns %s: ", ns_label(ns));
	if (!approaching)
		snprintf(why, sizeof(why), "no longer approaching exhaustion");
	else if (to > from)
		snprintf(why, sizeof(why),
			 "run out in %.1f s at this pace (below %s %g)",
			 seconds, ex_opts[to - 1], thr);
	else
		snprintf(why, sizeof(why),
			 "run out in %.1f s at this pace (%g times %s %g or "
			 "more)",
			 seconds, EX_CLEAR_FACTOR, ex_opts[from - 1], thr);
	if (r->has_worst) {
		char la[46], ra[56];

		eph_addr_format(&r->laddr, la, sizeof(la));
		endpoint_format(&r->raddr, r->rport, ra, sizeof(ra));
		snprintf(dest_s, sizeof(dest_s), "%s -> %s", la, ra);
	}
	/* Only the rates known: UDP has neither. */
	if (r->open_status == EPH_RATE_OK)
		snprintf(rates, sizeof(rates), "; open rate %.3g/s",
			 r->open_rate);
	if (r->tw_bound)
		snprintf(rates + strlen(rates), sizeof(rates) - strlen(rates),
			 "%s sustainable %.3g/s", rates[0] ? "," : ";",
			 r->sustainable_rate);
	/* connect() fails for the worst destination first: name it. */
	named = (dest || kind == EPH_KIND_CONNECT) && dest_s[0];

	snprintf(n.host, sizeof(n.host), "%s", hostname_g ? hostname_g : "");
	snprintf(n.plugin, sizeof(n.plugin), "%s", PLUGIN_NAME);
	plugin_inst(ns, p, n.plugin_instance, sizeof(n.plugin_instance));
	snprintf(n.type, sizeof(n.type), "duration");
	snprintf(n.type_instance, sizeof(n.type_instance),
		 "seconds_to_exhaustion");
	if (snprintf(n.message, sizeof(n.message), "%s%s %s() ports: %s%s%s%s",
		     where, eph_proto_name(p), eph_kind_name(kind), why, rates,
		     named ? "; to " : "",
		     named ? dest_s : "") >= (int)sizeof(n.message))
		memcpy(n.message + sizeof(n.message) - 4, "...", 4);
	plugin_notification_meta_add_string(&n, "kind", eph_kind_name(kind));
	plugin_notification_meta_add_string(&n, "level",
					    to == EX_FAILURE   ? "failure"
					    : to == EX_WARNING ? "warning"
							       : "okay");
	if (!ns->own) {
		plugin_notification_meta_add_string(&n, "netns", ns_label(ns));
		plugin_notification_meta_add_double(&n, "netns_inode",
						    (double)ns->inode);
	}
	plugin_notification_meta_add_double(&n, "seconds",
					    approaching ? seconds : NAN);
	plugin_notification_meta_add_double(&n, "threshold", thr);
	if (r->open_status == EPH_RATE_OK)
		plugin_notification_meta_add_double(&n, "open_rate",
						    r->open_rate);
	if (r->tw_bound)
		plugin_notification_meta_add_double(&n, "sustainable_rate",
						    r->sustainable_rate);
	plugin_notification_meta_add_double(&n, "pressure",
					    percent(s->pressure_bp));
	if (named)
		plugin_notification_meta_add_string(&n, "destination", dest_s);
	plugin_dispatch_notification(&n);
	if (n.meta)
		plugin_notification_meta_free(n.meta);
}

/* Feed each protocol's prediction to its alarm (see EX_CLEAR_FACTOR). */
static void check_exhaustion(const struct eph_snapshot *snap,
			     struct ns_state *ns,
			     const struct eph_rate_result *rr)
{
	if (conf.ex_seconds[0] <= 0 && conf.ex_seconds[1] <= 0)
		return;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_rate_proto *r = &rr->proto[p];
		const struct eph_proto_stats *s = &snap->proto[p];
		int *level = &ns->ex_level[p], to = *level;
		double seconds = 0;
		enum eph_kind kind = EPH_KIND_BIND;
		bool dest = false, approaching;

		if (!r->collected || !s->collected)
			continue;
		approaching = ex_prediction((enum eph_proto)p, s, r, &seconds,
					    &kind, &dest);
		if (approaching) {
			int up = ex_level_for(seconds, 1);
			int down = ex_level_for(seconds, EX_CLEAR_FACTOR);

			ns->ex_calm[p] = 0;
			if (up > *level)
				to = up;
			else if (down < *level)
				to = down;
		} else if (r->pressure.status == EPH_TREND_NOT_APPROACHING &&
			   (p != EPH_TCP || !r->has_worst ||
			    r->worst_blocked.status != EPH_TREND_UNKNOWN)) {
			/* Unknown (a reset history) changes nothing. */
			if (ns->ex_calm[p] < EX_CALM_READS)
				ns->ex_calm[p]++;
			if (ns->ex_calm[p] >= EX_CALM_READS)
				to = EX_NONE;
			kind = ns->ex_kind[p]; /* what it was raised for */
		}
		if (to == *level)
			continue;
		ns->ex_kind[p] = kind;
		ex_notify(ns, (enum eph_proto)p, s, r, *level, to, approaching,
			  seconds, kind, dest, US_TO_CDTIME_T(snap->taken_us));
		*level = to;
	}
}

/* --- allocation failures (issue 18) -------------------------------------- */

/* The call that failed and the error it got, per enum eph_fail_kind. */
static const struct {
	const char *call, *err;
} fail_text[EPH_FAIL_KINDS] = {
    [EPH_FAIL_CONNECT] = {"connect()", "EADDRNOTAVAIL"},
    [EPH_FAIL_BIND] = {"bind(0)", "EADDRINUSE"},
    [EPH_FAIL_AUTOBIND] = {"UDP autobind", "EAGAIN"},
};

/* "2026-12-01 12:00:00 UTC" */
static void utc_format(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%" PRId64 " s", us / 1000000);
}

/* Whether the namespace's failures can be counted, said when that starts,
 * changes or ends (not every interval). */
static void fail_log(struct ns_state *ns, const struct eph_failures *f)
{
	struct fail_state *st = &ns->fail;
	char where[NS_NAME_LEN + 24] = "";

	if (!ns->own)
		snprintf(where, sizeof(where),
			 "network namespace %s: ", ns_label(ns));
	if (f->observable) {
		char since[40];

		if (st->logged == FAIL_OBSERVABLE)
			return;
		utc_format(f->since_us, since, sizeof(since));
		INFO(LOG_PREFIX "%sfailures: observable%s: the BPF source "
				"counts them (since %s)",
		     where, st->logged == FAIL_NOT_OBSERVABLE ? " again" : "",
		     since);
		st->logged = FAIL_OBSERVABLE;
		st->why[0] = '\0';
		return;
	}
	if (st->logged == FAIL_NOT_OBSERVABLE && strcmp(st->why, f->why) == 0)
		return;
	NOTICE(LOG_PREFIX "%sfailures: %s; no failure values are dispatched "
			  "(said once, and again when this changes)",
	       where, f->why[0] ? f->why : "not observable");
	st->logged = FAIL_NOT_OBSERVABLE;
	snprintf(st->why, sizeof(st->why), "%s", f->why);
}

/* The failures of each kind since the last reading (news[]), and the base
 * moved on to this one.  The first reading of a namespace is a baseline
 * for a kind whose latest failure came before the plugin started (those
 * are old news); a kind that failed since then is news in full.  Counters
 * that restarted (another since_us: ephport-bpf unload and load) or went
 * back count from zero again. */
static void fail_update(struct fail_state *st, const struct eph_failures *f,
			uint64_t news[EPH_FAIL_KINDS])
{
	bool restart = st->have_base && f->since_us != st->since_us;

	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		uint64_t base;

		if (!st->have_base)
			base = f->last_us[k] > started_us ? 0 : f->total[k];
		else if (restart || f->total[k] < st->base[k])
			base = 0;
		else
			base = st->base[k];
		news[k] = f->total[k] - base;
		st->base[k] = f->total[k];
	}
	st->have_base = true;
	st->since_us = f->since_us;
}

/* The destination and the process with the most failures of kind k since
 * the counters started; NULL when none is listed. */
static const struct eph_fail_dest *fail_worst_dest(const struct eph_failures *f,
						   enum eph_fail_kind k)
{
	const struct eph_fail_dest *w = NULL;

	for (uint32_t i = 0; i < f->n_dests && i < EPH_FAIL_TOP; i++)
		if (f->dests[i].kind == k &&
		    (!w || f->dests[i].count > w->count))
			w = &f->dests[i];
	return w;
}

static const struct eph_fail_proc *fail_worst_proc(const struct eph_failures *f,
						   enum eph_fail_kind k)
{
	const struct eph_fail_proc *w = NULL;

	for (uint32_t i = 0; i < f->n_procs && i < EPH_FAIL_TOP; i++)
		if (f->procs[i].kind == k &&
		    (!w || f->procs[i].count > w->count))
			w = &f->procs[i];
	return w;
}

/* news more failures of kind k: one FAILURE notification naming the kind,
 * the count, the worst destination and the worst process.  Under
 * NOTIF_MAX_MSG_LEN (256) but for a long namespace name, cut by "...". */
static void fail_notify(const struct ns_state *ns, const struct eph_failures *f,
			enum eph_fail_kind k, uint64_t news, cdtime_t t)
{
	notification_t n = {.severity = NOTIF_FAILURE, .time = t};
	const struct eph_fail_dest *d = fail_worst_dest(f, k);
	const struct eph_fail_proc *pr = fail_worst_proc(f, k);
	char where[NS_NAME_LEN + 16] = "", ep[56] = "", dest_s[96] = "";
	char proc_s[64] = "";

	if (!ns->own)
		snprintf(where, sizeof(where), "netns %s: ", ns_label(ns));
	if (d) {
		endpoint_format(&d->raddr, d->rport, ep, sizeof(ep));
		snprintf(dest_s, sizeof(dest_s),
			 "; worst destination %s (%" PRIu64 ")", ep, d->count);
	}
	if (pr)
		snprintf(proc_s, sizeof(proc_s),
			 "; worst process %" PRIu32 " %s (%" PRIu64 ")",
			 pr->pid, pr->comm, pr->count);

	snprintf(n.host, sizeof(n.host), "%s", hostname_g ? hostname_g : "");
	snprintf(n.plugin, sizeof(n.plugin), "%s", PLUGIN_NAME);
	snprintf(n.plugin_instance, sizeof(n.plugin_instance), "%s", ns->id);
	snprintf(n.type, sizeof(n.type), "derive");
	snprintf(n.type_instance, sizeof(n.type_instance), "failures-%s",
		 eph_fail_kind_name(k));
	if (snprintf(n.message, sizeof(n.message),
		     "%s%s found no free port %" PRIu64 " time%s (%s; %" PRIu64
		     " since the counters started)%s%s",
		     where, fail_text[k].call, news, news == 1 ? "" : "s",
		     fail_text[k].err, f->total[k], dest_s,
		     proc_s) >= (int)sizeof(n.message))
		memcpy(n.message + sizeof(n.message) - 4, "...", 4);
	plugin_notification_meta_add_string(&n, "kind", eph_fail_kind_name(k));
	plugin_notification_meta_add_double(&n, "failures", (double)news);
	plugin_notification_meta_add_double(&n, "total", (double)f->total[k]);
	plugin_notification_meta_add_double(&n, "since",
					    (double)f->since_us / 1e6);
	if (!ns->own) {
		plugin_notification_meta_add_string(&n, "netns", ns_label(ns));
		plugin_notification_meta_add_double(&n, "netns_inode",
						    (double)ns->inode);
	}
	if (d) {
		plugin_notification_meta_add_string(&n, "destination", ep);
		plugin_notification_meta_add_double(&n, "destination_failures",
						    (double)d->count);
	}
	if (pr) {
		plugin_notification_meta_add_double(&n, "pid", pr->pid);
		plugin_notification_meta_add_string(&n, "comm", pr->comm);
		plugin_notification_meta_add_double(&n, "process_failures",
						    (double)pr->count);
		if (pr->container[0])
			plugin_notification_meta_add_string(&n, "container",
							    pr->container);
		if (pr->cgroup[0])
			plugin_notification_meta_add_string(&n, "cgroup",
							    pr->cgroup);
	}
	plugin_dispatch_notification(&n);
	if (n.meta)
		plugin_notification_meta_free(n.meta);
}

/* FailureDetails: "failures-<kind>-dest-<addr>-<port>" and
 * "failures-<kind>-pid-<pid>-<comm>" per listed destination and process
 * (at most EPH_FAIL_TOP of each), and what they leave out as
 * "failures-<kind>-dest-other" (connect, autobind) and
 * "failures-<kind>-pid-other".  Names as addr_name() and ns_id() make
 * them: ':' '/' and every byte of comm outside A-Z a-z 0-9 . _ - become
 * '_'. */
static void submit_fail_details(const value_list_t *tmpl,
				const struct eph_failures *f)
{
	char name[NAME_LEN], a[64], comm[sizeof(f->procs[0].comm)];

	for (uint32_t i = 0; i < f->n_dests && i < EPH_FAIL_TOP; i++) {
		const struct eph_fail_dest *d = &f->dests[i];

		addr_name(&d->raddr, a, sizeof(a));
		snprintf(name, sizeof(name), "failures-%s-dest-%s-%u",
			 eph_fail_kind_name(d->kind), a, d->rport);
		submit_derive(tmpl, name, d->count);
	}
	for (uint32_t i = 0; i < f->n_procs && i < EPH_FAIL_TOP; i++) {
		const struct eph_fail_proc *pr = &f->procs[i];

		ns_id(pr->comm[0] ? pr->comm : "_", 0, false, comm,
		      sizeof(comm));
		snprintf(name, sizeof(name), "failures-%s-pid-%" PRIu32 "-%s",
			 eph_fail_kind_name(pr->kind), pr->pid, comm);
		submit_derive(tmpl, name, pr->count);
	}
	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		const char *kn = eph_fail_kind_name((enum eph_fail_kind)k);

		if (k != EPH_FAIL_BIND) {
			snprintf(name, sizeof(name), "failures-%s-dest-other",
				 kn);
			submit_derive(tmpl, name, f->dest_other[k]);
		}
		snprintf(name, sizeof(name), "failures-%s-pid-other", kn);
		submit_derive(tmpl, name, f->proc_other[k]);
	}
}

/* A namespace's failure counters: "failures-<kind>" derives under its
 * plugin instance without a protocol ("" in collectd's own namespace, since
 * a failed bind(0) may be TCP's or UDP's), a notification per kind that
 * moved; nothing at all when they are not observable (never a zero that
 * was not measured). */
static void report_failures(const struct eph_snapshot *snap,
			    struct ns_state *ns)
{
	const struct eph_failures *f = &snap->failures;
	value_list_t tmpl = VALUE_LIST_INIT;
	uint64_t news[EPH_FAIL_KINDS];
	char name[NAME_LEN];

	fail_log(ns, f);
	if (!f->observable)
		return;
	tmpl.time = US_TO_CDTIME_T(snap->taken_us);
	snprintf(tmpl.plugin, sizeof(tmpl.plugin), "%s", PLUGIN_NAME);
	snprintf(tmpl.plugin_instance, sizeof(tmpl.plugin_instance), "%s",
		 ns->id);
	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		snprintf(name, sizeof(name), "failures-%s",
			 eph_fail_kind_name((enum eph_fail_kind)k));
		submit_derive(&tmpl, name, f->total[k]);
	}
	if (conf.fail_details)
		submit_fail_details(&tmpl, f);
	/* One read per interval: at most one notification per interval,
	 * namespace and kind, covering every failure since the last. */
	fail_update(&ns->fail, f, news);
	for (int k = 0; k < EPH_FAIL_KINDS && conf.fail_notify; k++)
		if (news[k] > 0)
			fail_notify(ns, f, (enum eph_fail_kind)k, news[k],
				    tmpl.time);
}

/* --- who holds the ports (issue 18) ------------------------------------- */

/* Who holds the pool ports of namespace ns (NULL: collectd's own); the
 * unit test replaces it. */
static int holders_default(struct eph_collector *c, const struct eph_netns *ns,
			   unsigned top_n, struct eph_holders *out)
{
	return ns ? eph_holders_collect_in(c, ns, top_n, out)
		  : eph_holders_collect(c, top_n, out);
}
static int (*holders_collect)(struct eph_collector *, const struct eph_netns *,
			      unsigned, struct eph_holders *) = holders_default;

/* "ports-pid-<pid>-<comm>": comm as FailureDetails has it (ns_id(): every
 * byte outside A-Z a-z 0-9 . _ - is '_', an empty comm "_"), so at most
 * 10 + 10 + 1 + 15 bytes. */
static void holder_name(const struct eph_holder *h, char *buf, size_t len)
{
	char comm[sizeof(h->comm)];

	ns_id(h->comm[0] ? h->comm : "_", 0, false, comm, sizeof(comm));
	snprintf(buf, len, "ports-pid-%" PRIu32 "-%s", h->pid, comm);
}

/* The holders collection of a namespace failed: said once per problem;
 * the namespace's other values are dispatched all the same. */
static void procs_failed(struct ns_state *st, int err)
{
	struct proc_state *ps = &st->procs;
	const char *why = eph_collector_error(collector);
	char buf[sizeof(ps->last_error)], where[NS_NAME_LEN + 24] = "";

	snprintf(buf, sizeof(buf), "%s", why[0] ? why : strerror(-err));
	if (ps->failing && strcmp(buf, ps->last_error) == 0)
		return;
	if (!st->own)
		snprintf(where, sizeof(where),
			 "network namespace %s: ", ns_label(st));
	WARNING(LOG_PREFIX "%sprocesses: cannot tell who holds the ports: %s; "
			   "no process values until it works again, the "
			   "other values go on (said once per problem)",
		where, buf);
	ps->failing = true;
	memcpy(ps->last_error, buf, sizeof(buf));
}

/* It worked: said when it works again, and when the source changes (the
 * BPF pin appeared or went away). */
static void procs_collected(struct ns_state *st, const struct eph_holders *h)
{
	struct proc_state *ps = &st->procs;
	char where[NS_NAME_LEN + 24] = "";

	if (!st->own)
		snprintf(where, sizeof(where),
			 "network namespace %s: ", ns_label(st));
	if (ps->failing)
		INFO(LOG_PREFIX "%sprocesses: who holds the ports is known "
				"again (last problem: %s)",
		     where, ps->last_error);
	ps->failing = false;
	ps->last_error[0] = '\0';
	if (ps->source == 1 + (int)h->source)
		return;
	INFO(LOG_PREFIX "%sprocesses: %s", where,
	     h->source == EPH_HOLDERS_BPF
		 ? "counted in the kernel by the task_file iterator "
		   "ephport-bpf pinned (DIR/holders)"
		 : "from /proc: one readdir of /proc/PID/fd per process "
		   "every interval");
	ps->source = 1 + (int)h->source;
}

/* Processes true: who holds the namespace's pool ports.  Under the
 * namespace's plugin instance alone ("" in collectd's own, as the failure
 * counters: they span both protocols) the counts "processes-holding",
 * "processes-denied" and "sockets-unattributed"; under "<netns>-tcp" and
 * "<netns>-udp" the distinct pool ports each of the top ProcessesTop
 * processes holds, "ports-pid-<pid>-<comm>" (holder_name()), 0 included
 * for a listed process that holds none of that protocol.  Every value has
 * the snapshot's time. */
static void report_processes(struct ns_state *st, const struct eph_netns *ns,
			     const struct eph_snapshot *snap)
{
	value_list_t tmpl = VALUE_LIST_INIT;
	struct eph_holders h;
	char name[NAME_LEN];
	int err;

	if (!conf.processes)
		return;
	err = holders_collect(collector, ns, conf.processes_top, &h);
	if (err < 0) {
		procs_failed(st, err);
		return;
	}
	procs_collected(st, &h);
	tmpl.time = US_TO_CDTIME_T(snap->taken_us);
	snprintf(tmpl.plugin, sizeof(tmpl.plugin), "%s", PLUGIN_NAME);
	snprintf(tmpl.plugin_instance, sizeof(tmpl.plugin_instance), "%s",
		 st->id);
	submit(&tmpl, "count", "processes-holding", h.processes);
	submit(&tmpl, "count", "processes-denied", h.processes_denied);
	submit(&tmpl, "count", "sockets-unattributed",
	       (gauge_t)h.sockets_unattributed);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		if (!snap->proto[p].collected)
			continue;
		plugin_inst(st, (enum eph_proto)p, tmpl.plugin_instance,
			    sizeof(tmpl.plugin_instance));
		for (uint32_t i = 0; i < h.n && i < conf.processes_top; i++) {
			holder_name(&h.v[i], name, sizeof(name));
			submit(&tmpl, "count", name, h.v[i].ports[p]);
		}
	}
	eph_holders_free(&h);
}

/* One successful collection of a namespace (ns: NULL for collectd's own
 * with Namespaces "self"): into its history, then every value and both
 * kinds of notification. */
static void report(struct ns_state *st, const struct eph_netns *ns,
		   const struct eph_snapshot *snap, int64_t t_us)
{
	struct eph_rate_result rr;
	bool rates = false;

	if (conf.report_rates || conf.ex_seconds[0] > 0 ||
	    conf.ex_seconds[1] > 0) {
		/* -EINVAL: the clock did not advance; the history stays. */
		eph_rate_add(&st->rate, snap, t_us);
		rates = eph_rate_compute(&st->rate, &rr) == 0;
	}
	submit_snapshot(snap, st, rates && conf.report_rates ? &rr : NULL);
	report_failures(snap, st);
	report_processes(st, ns, snap);
	check_alarms(snap, st);
	if (rates)
		check_exhaustion(snap, st, &rr);
}

/* --- network namespaces ------------------------------------------------- */

/* RateWindow in milliseconds; 0: the collector's default. */
static uint32_t rate_window_ms(void)
{
	return (uint32_t)(conf.rate_window * 1000 + 0.5);
}

/* pattern matches the namespace's name; collectd's own also answers to
 * "self". */
static bool ns_matches(const char *pattern, const struct eph_netns *ns)
{
	if (ns->name[0] && fnmatch(pattern, ns->name, 0) == 0)
		return true;
	return ns->kind == EPH_NS_SELF && fnmatch(pattern, "self", 0) == 0;
}

static bool ns_selected(const struct eph_netns *ns)
{
	bool in = ns_mode() == NS_ALL;

	for (unsigned i = 0; i < conf.n_include && !in; i++)
		in = ns_matches(conf.include[i], ns);
	for (unsigned i = 0; i < conf.n_exclude && in; i++)
		in = !ns_matches(conf.exclude[i], ns);
	return in;
}

/* The state of a listed namespace: the one kept from earlier reads, else a
 * new one (alarms low, thresholds as armed).  NULL: out of memory. */
static struct ns_state *ns_state_get(const struct eph_netns *ns)
{
	struct ns_state *st;
	bool clash = false;

	if (ns->kind == EPH_NS_SELF) {
		own_ns.inode = ns->inode;
		own_ns.dev = ns->dev;
		snprintf(own_ns.name, sizeof(own_ns.name), "%s", ns->name);
		return &own_ns;
	}
	for (size_t i = 0; i < n_ns_states; i++) {
		st = &ns_states[i];
		if (st->inode == ns->inode && st->dev == ns->dev &&
		    strcmp(st->name, ns->name) == 0)
			return st;
	}
	if (n_ns_states == cap_ns_states) {
		size_t cap = cap_ns_states ? 2 * cap_ns_states : 16;
		struct ns_state *v = realloc(ns_states, cap * sizeof(*v));

		if (!v)
			return NULL;
		ns_states = v;
		cap_ns_states = cap;
	}
	st = &ns_states[n_ns_states];
	memset(st, 0, sizeof(*st));
	st->inode = ns->inode;
	st->dev = ns->dev;
	snprintf(st->name, sizeof(st->name), "%s", ns->name);
	memcpy(st->alarms, alarms, sizeof(st->alarms));
	eph_rate_init(&st->rate, rate_window_ms());
	ns_id(st->name, st->inode, false, st->id, sizeof(st->id));
	for (size_t i = 0; i < n_ns_states; i++)
		clash = clash || strcmp(ns_states[i].id, st->id) == 0;
	if (clash)
		ns_id(st->name, st->inode, true, st->id, sizeof(st->id));
	n_ns_states++;
	return st;
}

/* Namespaces this read did not find are gone: so are their alarms. */
static void ns_drop_unseen(void)
{
	size_t j = 0;

	for (size_t i = 0; i < n_ns_states; i++)
		if (ns_states[i].seen)
			ns_states[j++] = ns_states[i];
	n_ns_states = j;
}

/* Did the namespace vanish since it was listed (its file gone, or now
 * another file: a process exited, ip netns delete)? */
static bool ns_gone(const struct eph_netns *ns)
{
	struct stat st;

	return stat(ns->path, &st) != 0 || (uint64_t)st.st_ino != ns->inode ||
	       (uint64_t)st.st_dev != ns->dev;
}

/* A namespace's collection failed: said once per problem and namespace;
 * a missing CAP_SYS_ADMIN once for all of them.  before: the collector's
 * error before this collection.  When entering the namespace fails, the
 * collector keeps an earlier error (it clears its error only once inside),
 * so an unchanged or entering-related one is replaced by our own words. */
static void ns_failed(struct ns_state *st, const struct eph_netns *ns, int err,
		      const char *before)
{
	char buf[sizeof(st->last_error)];
	const char *why = eph_collector_error(collector);

	if (why[0] && strcmp(why, before) != 0 && !strstr(why, ns->path))
		snprintf(buf, sizeof(buf), "%s", why);
	else
		snprintf(buf, sizeof(buf), "cannot enter it (%s): %s", ns->path,
			 strerror(-err));
	if (strcmp(buf, st->last_error) == 0)
		return;
	memcpy(st->last_error, buf, sizeof(buf));
	if (err == -EPERM) {
		if (ns_eperm_logged)
			return;
		ns_eperm_logged = true;
		ERROR(LOG_PREFIX
		      "network namespace %s: %s: reading other "
		      "namespaces needs CAP_SYS_ADMIN (said once for "
		      "all namespaces)",
		      ns_label(st), buf);
		st->logged = true;
		return;
	}
	ERROR(LOG_PREFIX "network namespace %s: collection failed: %s (said "
			 "once per problem)",
	      ns_label(st), buf);
	st->logged = true;
}

static void ns_collected(struct ns_state *st, const struct eph_netns *ns,
			 const struct eph_snapshot *snap, int64_t t_us)
{
	const char *note = eph_collector_note(collector);

	if (st->last_error[0] && st->logged)
		INFO(LOG_PREFIX "network namespace %s: collection works again "
				"(last problem: %s)",
		     ns_label(st), st->last_error);
	st->last_error[0] = '\0';
	st->logged = false;
	if (strcmp(note, st->last_note) != 0) {
		if (note[0])
			NOTICE(LOG_PREFIX "network namespace %s: %s",
			       ns_label(st), note);
		else
			NOTICE(LOG_PREFIX "network namespace %s: reading "
					  "sockets from netlink again",
			       ns_label(st));
		snprintf(st->last_note, sizeof(st->last_note), "%s", note);
	}
	report(st, ns, snap, t_us);
}

static int read_failed(int err);
static void read_recovered(void);

/* Namespaces "all" or Namespace: list, then one collection (one kernel
 * walk) per namespace selected.  A namespace that vanished since it was
 * listed is skipped without a word; one that fails otherwise is logged
 * and the others still report.  Non-zero (collectd backs off) only when
 * the list cannot be read or every namespace failed. */
static int read_namespaces(void)
{
	size_t n = 0;
	unsigned ok = 0, failed = 0;
	int err = eph_netns_list(conf.proc_root[0] ? conf.proc_root : NULL,
				 netns_dir, ns_list, EPH_NETNS_MAX, &n);

	if (err == -ENOSPC && !ns_full_logged) {
		ns_full_logged = true;
		WARNING(LOG_PREFIX "more than %d network namespaces: only the "
				   "first %d are read",
			EPH_NETNS_MAX, EPH_NETNS_MAX);
	} else if (err < 0 && err != -ENOSPC) {
		return read_failed(err);
	}
	read_recovered();

	for (size_t i = 0; i < n_ns_states; i++)
		ns_states[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		const struct eph_netns *ns = &ns_list[i];
		struct eph_snapshot snap;
		struct ns_state *st;
		char before[sizeof(st->last_error)];
		int64_t t_us;

		if (!ns_selected(ns))
			continue;
		st = ns_state_get(ns);
		if (!st) {
			failed++;
			continue;
		}
		snprintf(before, sizeof(before), "%s",
			 eph_collector_error(collector));
		err = eph_collect_in(collector, ns, &snap);
		t_us = clock_us();
		if (err < 0 && ns->kind != EPH_NS_SELF && ns_gone(ns))
			continue; /* not seen: dropped below */
		st->seen = true;
		if (err < 0) {
			ns_failed(st, ns, err, before);
			failed++;
		} else {
			ns_collected(st, ns, &snap, t_us);
			ok++;
		}
	}
	ns_drop_unseen();
	return ok == 0 && failed > 0 ? -1 : 0;
}

/* --- callbacks ------------------------------------------------------------ */

/* The whole read failed (the collection, or listing the namespaces): said
 * once per problem; non-zero makes collectd double this read's interval
 * (up to MaxReadInterval) until a read succeeds again. */
static int read_failed(int err)
{
	char buf[sizeof(last_error)];
	const char *why = collector ? eph_collector_error(collector) : "";

	snprintf(buf, sizeof(buf), "%s", why[0] ? why : strerror(-err));
	failures++;
	if (!failing || strcmp(buf, last_error) != 0) {
		ERROR(LOG_PREFIX "collection failed: %s (said once per "
				 "problem; collectd retries with back-off)",
		      buf);
		memcpy(last_error, buf, sizeof(last_error));
	}
	failing = true;
	return -1;
}

static void read_recovered(void)
{
	if (!failing)
		return;
	INFO(LOG_PREFIX "collection works again after %u failed reads "
			"(last problem: %s)",
	     failures, last_error);
	failing = false;
	failures = 0;
	last_error[0] = '\0';
}

static int ephport_read(void)
{
	struct eph_snapshot snap;
	const char *why;
	int64_t t_us;
	int err;

	if (ns_mode() != NS_SELF)
		return read_namespaces();
	err = eph_collect(collector, &snap);
	t_us = clock_us();
	if (err < 0)
		return read_failed(err);
	read_recovered();

	why = eph_collector_note(collector);
	if (strcmp(why, last_note) != 0) {
		if (why[0])
			NOTICE(LOG_PREFIX "%s", why);
		else
			NOTICE(LOG_PREFIX "reading sockets from netlink again");
		snprintf(last_note, sizeof(last_note), "%s", why);
	}

	report(&own_ns, NULL, &snap, t_us);
	return 0;
}

static int ephport_init(void)
{
	struct eph_config cfg;

	if (config_failed) {
		ERROR(LOG_PREFIX "not started: fix the <Plugin " PLUGIN_NAME
				 "> block (errors above)");
		return -1;
	}
	alarms_init();
	/* Every alarm starts low (init may run twice in tests). */
	own_ns = (struct ns_state){.own = true};
	memcpy(own_ns.alarms, alarms, sizeof(own_ns.alarms));
	eph_rate_init(&own_ns.rate, rate_window_ms());
	n_ns_states = 0;
	ns_full_logged = ns_eperm_logged = false;
	if (ns_mode() != NS_SELF && !ns_list) {
		ns_list = calloc(EPH_NETNS_MAX, sizeof(*ns_list));
		if (!ns_list) {
			ERROR(LOG_PREFIX "cannot list namespaces: %s",
			      strerror(errno));
			return -1;
		}
	}
	eph_config_init(&cfg);
	cfg.protocols = conf.protocols; /* 0: both */
	cfg.top_n = conf.top_n;
	cfg.source = conf.source;
	cfg.state_totals = !conf.kernel_filter;
	cfg.bpf_bound_dump = conf.bpf_bound;
	cfg.proc_root = conf.proc_root[0] ? conf.proc_root : NULL;
	cfg.bpf_pin_dir = conf.bpf_pin_dir[0] ? conf.bpf_pin_dir : NULL;
	started_us = eph_real_us();

	eph_collector_free(collector); /* init may run twice in tests */
	collector = eph_collector_new(&cfg);
	if (!collector) {
		ERROR(LOG_PREFIX "cannot create the collector: %s",
		      strerror(errno));
		return -1;
	}
	/* Registered here, not in module_register(), so that a failed config
	 * or init leaves no read callback behind. */
	return plugin_register_read(PLUGIN_NAME, ephport_read);
}

static int ephport_shutdown(void)
{
	eph_collector_free(collector);
	collector = NULL;
	free(ns_list);
	ns_list = NULL;
	free(ns_states);
	ns_states = NULL;
	n_ns_states = cap_ns_states = 0;
	return 0;
}

/* The only exported symbol (see collectd-plugin/local.mk); the build hides
 * everything else with -fvisibility=hidden. */
__attribute__((visibility("default"))) void module_register(void)
{
	plugin_register_complex_config(PLUGIN_NAME, ephport_config);
	plugin_register_init(PLUGIN_NAME, ephport_init);
	plugin_register_shutdown(PLUGIN_NAME, ephport_shutdown);
}
