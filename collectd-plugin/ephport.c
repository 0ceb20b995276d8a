/*
 * ephport.c - collectd read plugin: how close this host is to running out
 * of ephemeral ports, from the shared collector (libephport).
 *
 * Configuration, every value dispatched and how the names are built are in
 * ephport-collectd(5); contrib/collectd/ephport.conf is an example.
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

#include <strings.h>

#include "ephport.h"

#define PLUGIN_NAME "ephport"
#define LOG_PREFIX  PLUGIN_NAME " plugin: "

/* collectd's value and file names: no '/', at most DATA_MAX_NAME_LEN - 1. */
#define NAME_LEN DATA_MAX_NAME_LEN

/* Settings from <Plugin ephport>; see ephport-collectd(5). */
struct ephport_conf {
	uint8_t protocols; /* bitmask of (1 << enum eph_proto); 0: both */
	unsigned top_n;	   /* TopDestinations */
	bool report_states;
	bool report_listeners;
	bool kernel_filter; /* eph_config.state_totals = !kernel_filter */
	enum eph_source_pref source;
	char proc_root[1024];	/* "" means /proc */
	double rising, falling; /* alarm thresholds, percent */
	bool dest_alarm;	/* watch the headline, not host only */
};

/* The defaults, also what the unit test resets to between cases. */
#define EPHPORT_CONF_DEFAULTS                                                  \
	{                                                                      \
		.top_n = 5, .report_states = true, .report_listeners = true,   \
		.source = EPH_PREFER_AUTO, .rising = 80, .falling = 70,        \
		.dest_alarm = true,                                            \
	}
static struct ephport_conf conf = EPHPORT_CONF_DEFAULTS;
/* One hysteresis alarm per protocol (see ephport.h, struct eph_alarm). */
static struct eph_alarm alarms[EPH_PROTO_COUNT];
/* Set by any bad option: init then refuses to start (see the top). */
static bool config_failed;

static struct eph_collector *collector;

/* Problems are logged when they start, change or end, not every interval:
 * with Interval 10 a broken host would otherwise log 8640 lines a day. */
static bool failing;
static unsigned failures; /* consecutive failed reads */
static char last_error[600];
static char last_note[600];
static bool overflow_logged[EPH_PROTO_COUNT];
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

static int config_top(const oconfig_item_t *ci)
{
	double v;

	/* cf_util_get_int() would silently truncate 2.5 and -0.5 to 2 and 0. */
	if (cf_util_get_double(ci, &v) != 0 || !(v >= 0 && v <= EPH_TOP_MAX) ||
	    v != (double)(unsigned)v) {
		ERROR(LOG_PREFIX "%s needs a whole number from 0 to %d",
		      ci->key, EPH_TOP_MAX);
		return -1;
	}
	conf.top_n = (unsigned)v;
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
	ERROR(LOG_PREFIX "%s needs \"auto\", \"netlink\" or \"procfs\"",
	      ci->key);
	return -1;
}

static int config_proc_root(const oconfig_item_t *ci)
{
	char buf[sizeof(conf.proc_root) + 1];

	/* One byte more than we keep, so a path that would be cut is seen. */
	if (cf_util_get_string_buffer(ci, buf, sizeof(buf)) != 0 ||
	    buf[0] == '\0' || strlen(buf) >= sizeof(conf.proc_root)) {
		ERROR(LOG_PREFIX "%s needs a directory name (under %zu bytes)",
		      ci->key, sizeof(conf.proc_root));
		return -1;
	}
	memcpy(conf.proc_root, buf, sizeof(conf.proc_root));
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

static int config_option(const oconfig_item_t *ci)
{
	if (strcasecmp(ci->key, "RisingThreshold") == 0)
		return config_percent(ci, &conf.rising);
	if (strcasecmp(ci->key, "FallingThreshold") == 0)
		return config_percent(ci, &conf.falling);
	if (strcasecmp(ci->key, "DestinationAlarm") == 0)
		return config_bool(ci, &conf.dest_alarm);
	if (strcasecmp(ci->key, "Protocol") == 0)
		return config_protocol(ci);
	if (strcasecmp(ci->key, "TopDestinations") == 0)
		return config_top(ci);
	if (strcasecmp(ci->key, "ReportStates") == 0)
		return config_bool(ci, &conf.report_states);
	if (strcasecmp(ci->key, "ReportListeners") == 0)
		return config_bool(ci, &conf.report_listeners);
	if (strcasecmp(ci->key, "KernelFilter") == 0)
		return config_bool(ci, &conf.kernel_filter);
	if (strcasecmp(ci->key, "Source") == 0)
		return config_source(ci);
	if (strcasecmp(ci->key, "ProcRoot") == 0)
		return config_proc_root(ci);
	ERROR(LOG_PREFIX "unknown option \"%s\" in <Plugin " PLUGIN_NAME ">",
	      ci->key);
	return -1;
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
 * the name would not fit (it always does: 5+45+1+45+1+5+10 < 128). */
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

/* --- dispatch ------------------------------------------------------------- */

/* One value of the current snapshot: time, host and interval are shared. */
static void submit(const value_list_t *tmpl, const char *type,
		   const char *type_instance, gauge_t value)
{
	value_list_t vl = *tmpl;
	value_t v = {.gauge = value};

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

static gauge_t percent(uint32_t bp)
{
	return (gauge_t)bp / 100.0; /* hundredths of a percent, as --json */
}

static void submit_proto(const value_list_t *tmpl0, enum eph_proto p,
			 const struct eph_proto_stats *s)
{
	value_list_t tmpl = *tmpl0;
	const enum eph_tcp_state *st;
	char name[NAME_LEN];

	snprintf(tmpl.plugin_instance, sizeof(tmpl.plugin_instance), "%s",
		 eph_proto_name(p));

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
	}

	/* The table filling is a property of the host, not of one read. */
	if (s->dest_overflow && !overflow_logged[p]) {
		overflow_logged[p] = true;
		WARNING(LOG_PREFIX
			"%s: more destinations than the collector tracks "
			"exactly (%" PRIu64
			"); destination counts are lower bounds",
			eph_proto_name(p), s->destinations);
	} else if (!s->dest_overflow && overflow_logged[p]) {
		overflow_logged[p] = false;
		INFO(LOG_PREFIX "%s: destination counts are exact again",
		     eph_proto_name(p));
	}
}

static void submit_snapshot(const struct eph_snapshot *snap)
{
	value_list_t tmpl = VALUE_LIST_INIT;

	/* One timestamp for every value of a collection, so the values of
	 * an interval can be matched up downstream. */
	tmpl.time = US_TO_CDTIME_T(snap->taken_us);
	snprintf(tmpl.plugin, sizeof(tmpl.plugin), "%s", PLUGIN_NAME);
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (snap->proto[p].collected)
			submit_proto(&tmpl, (enum eph_proto)p, &snap->proto[p]);
}

/* --- notifications ------------------------------------------------------- */

/* A crossing of the rising (WARNING) or falling (OKAY) threshold, with the
 * numbers as meta data, for notify_email, exec, the threshold plugin... */
static void notify(enum eph_proto p, const struct eph_proto_stats *s,
		   enum eph_alarm_event e, cdtime_t t)
{
	notification_t n = {
	    .severity = e == EPH_ALARM_RAISED ? NOTIF_WARNING : NOTIF_OKAY,
	    .time = t,
	};
	uint32_t value = eph_alarm_value(s, conf.dest_alarm ? 0 : EPH_KIND_BIND);
	char worst[160] = "none", la[64], ra[64];

	snprintf(n.host, sizeof(n.host), "%s", hostname_g ? hostname_g : "");
	snprintf(n.plugin, sizeof(n.plugin), "%s", PLUGIN_NAME);
	snprintf(n.plugin_instance, sizeof(n.plugin_instance), "%s",
		 eph_proto_name(p));
	snprintf(n.type, sizeof(n.type), "percent");
	snprintf(n.type_instance, sizeof(n.type_instance), "%s",
		 conf.dest_alarm ? "exhaustion" : "host_exhaustion");
	if (s->has_worst)
		snprintf(worst, sizeof(worst), "%s -> %s:%u at %.2f%%",
			 eph_addr_format(&s->worst.laddr, la, sizeof(la)),
			 eph_addr_format(&s->worst.raddr, ra, sizeof(ra)),
			 s->worst.rport, percent(s->worst.exhaustion_bp));
	snprintf(n.message, sizeof(n.message),
		 "%s ephemeral ports %.2f%% exhausted: %s %.2f%% (%u of %u "
		 "ports in use, range %u-%u; worst destination %s)",
		 eph_proto_name(p), percent(value),
		 e == EPH_ALARM_RAISED ? "rose to or above"
				       : "fell to or below",
		 e == EPH_ALARM_RAISED ? conf.rising : conf.falling,
		 s->ports_in_use, s->usable, s->low, s->high, worst);
	plugin_notification_meta_add_double(&n, "exhaustion", percent(value));
	plugin_notification_meta_add_double(&n, "ports_in_use",
					    s->ports_in_use);
	plugin_notification_meta_add_double(&n, "usable", s->usable);
	plugin_notification_meta_add_double(&n, "range_low", s->low);
	plugin_notification_meta_add_double(&n, "range_high", s->high);
	plugin_notification_meta_add_string(&n, "worst_destination", worst);
	plugin_dispatch_notification(&n);
	if (n.meta)
		plugin_notification_meta_free(n.meta);
}

static void check_alarms(const struct eph_snapshot *snap)
{
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *s = &snap->proto[p];
		enum eph_alarm_event e;

		if (!s->collected)
			continue;
		e = eph_alarm_update(&alarms[p],
				     eph_alarm_value(s, conf.dest_alarm ? 0 : EPH_KIND_BIND));
		if (e != EPH_ALARM_NONE)
			notify((enum eph_proto)p, s, e,
			       US_TO_CDTIME_T(snap->taken_us));
	}
}

/* --- callbacks ------------------------------------------------------------ */

static int ephport_read(void)
{
	struct eph_snapshot snap;
	const char *why;
	int err = eph_collect(collector, &snap);

	if (err < 0) {
		char buf[sizeof(last_error)];

		why = eph_collector_error(collector);
		snprintf(buf, sizeof(buf), "%s", why[0] ? why : strerror(-err));
		failures++;
		if (!failing || strcmp(buf, last_error) != 0) {
			ERROR(LOG_PREFIX
			      "collection failed: %s (said once per "
			      "problem; collectd retries with back-off)",
			      buf);
			memcpy(last_error, buf, sizeof(last_error));
		}
		failing = true;
		/* Non-zero: collectd doubles this read's interval (up to
		 * MaxReadInterval) until a read succeeds again. */
		return -1;
	}
	if (failing) {
		INFO(LOG_PREFIX "collection works again after %u failed reads "
				"(last problem: %s)",
		     failures, last_error);
		failing = false;
		failures = 0;
		last_error[0] = '\0';
	}

	why = eph_collector_note(collector);
	if (strcmp(why, last_note) != 0) {
		if (why[0])
			NOTICE(LOG_PREFIX "%s", why);
		else
			NOTICE(LOG_PREFIX "reading sockets from netlink again");
		snprintf(last_note, sizeof(last_note), "%s", why);
	}

	submit_snapshot(&snap);
	check_alarms(&snap);
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
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		/* Hundredths of a percent, as the collector counts. */
		if (eph_alarm_init(&alarms[p],
				   (uint32_t)(conf.rising * 100 + 0.5),
				   (uint32_t)(conf.falling * 100 + 0.5)) < 0) {
			ERROR(LOG_PREFIX
			      "FallingThreshold (%.2f) must be below "
			      "RisingThreshold (%.2f): not started",
			      conf.falling, conf.rising);
			return -1;
		}
	}
	eph_config_init(&cfg);
	cfg.protocols = conf.protocols; /* 0: both */
	cfg.top_n = conf.top_n;
	cfg.source = conf.source;
	cfg.state_totals = !conf.kernel_filter;
	cfg.proc_root = conf.proc_root[0] ? conf.proc_root : NULL;

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
