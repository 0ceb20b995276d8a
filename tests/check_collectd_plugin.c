/*
 * check_collectd_plugin - the collectd plugin's config parsing, value
 * naming, per-kind notifications and failure logging, without collectd:
 * the plugin source is compiled in (its functions are static) against a
 * small mock of the plugin and config API that records registrations, log
 * lines, every dispatched value and every notification with its meta
 * data.  Config trees are built by hand, as collectd's parser
 * would hand them over.  Collections read the /proc stand-ins of
 * tests/fixtures through the plugin's ProcRoot and Source options.
 */
#include "../collectd-plugin/ephport.c"
#include "check_util.h"

#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- the mock: registrations, log lines, dispatched values ------------- */

#define MAX_LOG	   64
#define MAX_VALUES 512
#define MAX_NOTIFS 16
#define MAX_META   16

/* A notification's meta data, copied as dispatched. */
struct meta {
	char name[DATA_MAX_NAME_LEN];
	int type;
	double d;
	bool b;
	char str[160];
};

struct value {
	char plugin[DATA_MAX_NAME_LEN], plugin_instance[DATA_MAX_NAME_LEN];
	char type[DATA_MAX_NAME_LEN], type_instance[DATA_MAX_NAME_LEN];
	cdtime_t time;
	size_t values_len;
	gauge_t gauge;
	value_t raw; /* as dispatched: .derive for "derive" */
};

static struct {
	int (*config)(oconfig_item_t *);
	int (*init)(void);
	int (*read)(void);
	int (*shutdown)(void);
	int n_log;
	int log_level[MAX_LOG];
	char log[MAX_LOG][1024];
	/* The failure counters' observability lines ("failures: ..."), kept
	 * apart so that the older tests' log counts stay as they were. */
	int n_fail_log;
	int fail_log_level[MAX_LOG];
	char fail_log[MAX_LOG][1024];
	int n_values;
	struct value values[MAX_VALUES];
	int dispatch_status; /* what plugin_dispatch_values returns */
	int n_notifs;
	notification_t notifs[MAX_NOTIFS];
	int n_meta[MAX_NOTIFS];
	struct meta meta[MAX_NOTIFS][MAX_META];
} mock;

int plugin_register_complex_config(const char *type,
				   int (*cb)(oconfig_item_t *))
{
	ck_assert_str_eq(type, "ephport");
	mock.config = cb;
	return 0;
}

int plugin_register_init(const char *name, plugin_init_cb cb)
{
	ck_assert_str_eq(name, "ephport");
	mock.init = cb;
	return 0;
}

int plugin_register_read(const char *name, int (*cb)(void))
{
	ck_assert_str_eq(name, "ephport");
	mock.read = cb;
	return 0;
}

int plugin_register_shutdown(const char *name, plugin_shutdown_cb cb)
{
	ck_assert_str_eq(name, "ephport");
	mock.shutdown = cb;
	return 0;
}

int plugin_dispatch_values(value_list_t const *vl)
{
	struct value *v;

	ck_assert_int_lt(mock.n_values, MAX_VALUES);
	v = &mock.values[mock.n_values++];
	memcpy(v->plugin, vl->plugin, sizeof(v->plugin));
	memcpy(v->plugin_instance, vl->plugin_instance,
	       sizeof(v->plugin_instance));
	memcpy(v->type, vl->type, sizeof(v->type));
	memcpy(v->type_instance, vl->type_instance, sizeof(v->type_instance));
	v->time = vl->time;
	v->values_len = vl->values_len;
	v->gauge = vl->values_len ? vl->values[0].gauge : NAN;
	if (vl->values_len)
		v->raw = vl->values[0];
	return mock.dispatch_status;
}

char *hostname_g = "mockhost";

int plugin_dispatch_notification(const notification_t *n)
{
	ck_assert_int_lt(mock.n_notifs, MAX_NOTIFS);
	mock.notifs[mock.n_notifs] = *n;
	mock.notifs[mock.n_notifs].meta = NULL;
	for (notification_meta_t *m = n->meta; m; m = m->next) {
		int i = mock.n_meta[mock.n_notifs]++;
		struct meta *c = &mock.meta[mock.n_notifs][i];

		ck_assert_int_lt(i, MAX_META);
		snprintf(c->name, sizeof(c->name), "%s", m->name);
		c->type = m->type;
		if (m->type == NM_TYPE_STRING)
			snprintf(c->str, sizeof(c->str), "%s",
				 m->nm_value.nm_string);
		else if (m->type == NM_TYPE_BOOLEAN)
			c->b = m->nm_value.nm_boolean;
		else
			c->d = m->nm_value.nm_double;
	}
	mock.n_notifs++;
	return 0;
}

/* Notification i's meta data called name, of the given type. */
static const struct meta *notif_meta(int i, const char *name, int type)
{
	for (int j = 0; j < mock.n_meta[i]; j++)
		if (!strcmp(mock.meta[i][j].name, name)) {
			ck_assert_int_eq(mock.meta[i][j].type, type);
			return &mock.meta[i][j];
		}
	ck_abort_msg("notification %d has no meta data %s", i, name);
	return NULL;
}

static int meta_add(notification_t *n, const char *name, int type, double d,
		    const char *str)
{
	notification_meta_t *m = calloc(1, sizeof(*m)), **tail = &n->meta;

	snprintf(m->name, sizeof(m->name), "%s", name);
	m->type = type;
	if (type == NM_TYPE_STRING)
		m->nm_value.nm_string = strdup(str);
	else if (type == NM_TYPE_BOOLEAN)
		m->nm_value.nm_boolean = d != 0;
	else
		m->nm_value.nm_double = d;
	while (*tail)
		tail = &(*tail)->next;
	*tail = m;
	return 0;
}

int plugin_notification_meta_add_string(notification_t *n, const char *name,
					const char *value)
{
	return meta_add(n, name, NM_TYPE_STRING, 0, value);
}

int plugin_notification_meta_add_double(notification_t *n, const char *name,
					double value)
{
	return meta_add(n, name, NM_TYPE_DOUBLE, value, NULL);
}

int plugin_notification_meta_add_boolean(notification_t *n, const char *name,
					 bool value)
{
	return meta_add(n, name, NM_TYPE_BOOLEAN, value, NULL);
}

int plugin_notification_meta_free(notification_meta_t *m)
{
	while (m) {
		notification_meta_t *next = m->next;

		if (m->type == NM_TYPE_STRING)
			free((char *)m->nm_value.nm_string);
		free(m);
		m = next;
	}
	return 0;
}

void plugin_log(int level, const char *format, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, format);
	vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	if (strstr(buf, "failures: ")) {
		ck_assert_int_lt(mock.n_fail_log, MAX_LOG);
		memcpy(mock.fail_log[mock.n_fail_log], buf, sizeof(buf));
		mock.fail_log_level[mock.n_fail_log++] = level;
		return;
	}
	ck_assert_int_lt(mock.n_log, MAX_LOG);
	memcpy(mock.log[mock.n_log], buf, sizeof(buf));
	mock.log_level[mock.n_log++] = level;
}

/* collectd 5.12's cf_util_* semantics (src/daemon/configfile.c), minus
 * their own log lines: type checks, exactly one value. */
int cf_util_get_string_buffer(const oconfig_item_t *ci, char *buf, size_t size)
{
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
		return -1;
	snprintf(buf, size, "%s", ci->values[0].value.string);
	return 0;
}

int cf_util_get_double(const oconfig_item_t *ci, double *ret)
{
	if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
		return -1;
	*ret = ci->values[0].value.number;
	return 0;
}

int cf_util_get_boolean(const oconfig_item_t *ci, bool *ret)
{
	const char *s;

	if (ci->values_num != 1)
		return -1;
	if (ci->values[0].type == OCONFIG_TYPE_BOOLEAN) {
		*ret = ci->values[0].value.boolean != 0;
		return 0;
	}
	if (ci->values[0].type != OCONFIG_TYPE_STRING)
		return -1;
	s = ci->values[0].value.string;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
	    !strcasecmp(s, "on"))
		*ret = true;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") ||
		 !strcasecmp(s, "off"))
		*ret = false;
	else
		return -1;
	return 0;
}

/* --- building config trees by hand ---------------------------------------- */

#define MAX_ITEMS 16

static oconfig_item_t block;
static oconfig_item_t items[MAX_ITEMS];
static oconfig_value_t vals[MAX_ITEMS][2];

static void tree_reset(void)
{
	memset(&block, 0, sizeof(block));
	memset(items, 0, sizeof(items));
	memset(vals, 0, sizeof(vals));
	block.key = "Plugin";
	block.children = items;
}

static oconfig_item_t *item(const char *key)
{
	oconfig_item_t *ci = &items[block.children_num];

	ck_assert_int_lt(block.children_num, MAX_ITEMS);
	ci->key = (char *)key;
	ci->values = vals[block.children_num];
	ci->parent = &block;
	block.children_num++;
	return ci;
}

static oconfig_value_t *next_value(oconfig_item_t *ci)
{
	ck_assert_int_lt(ci->values_num, 2);
	return &ci->values[ci->values_num++];
}

static oconfig_item_t *opt_str(oconfig_item_t *ci, const char *s)
{
	oconfig_value_t *v = next_value(ci);

	v->type = OCONFIG_TYPE_STRING;
	v->value.string = (char *)s;
	return ci;
}

static oconfig_item_t *opt_num(oconfig_item_t *ci, double n)
{
	oconfig_value_t *v = next_value(ci);

	v->type = OCONFIG_TYPE_NUMBER;
	v->value.number = n;
	return ci;
}

static oconfig_item_t *opt_bool(oconfig_item_t *ci, bool b)
{
	oconfig_value_t *v = next_value(ci);

	v->type = OCONFIG_TYPE_BOOLEAN;
	v->value.boolean = b;
	return ci;
}

/* --- helpers -------------------------------------------------------------- */

static const char *fixture(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s", eph_fixtures_dir(), name);
	return path;
}

/* A fresh plugin, as collectd has it after LoadPlugin: the tests may run
 * in one process (CK_FORK=no, e.g. under valgrind), so reset the statics. */
static void setup(void)
{
	ephport_shutdown();
	memset(&mock, 0, sizeof(mock));
	conf = (struct ephport_conf)EPHPORT_CONF_DEFAULTS;
	config_failed = failing = dispatch_error_logged = false;
	failures = 0;
	last_error[0] = last_note[0] = '\0';
	own_ns = (struct ns_state){.own = true};
	netns_dir = NULL;
	holders_collect = holders_default;
	tree_reset();
	module_register();
}

static void teardown(void)
{
	ephport_shutdown();
}

static const struct value *find(const char *pinst, const char *type,
				const char *tinst)
{
	for (int i = 0; i < mock.n_values; i++) {
		const struct value *v = &mock.values[i];

		if (!strcmp(v->plugin_instance, pinst) &&
		    !strcmp(v->type, type) && !strcmp(v->type_instance, tinst))
			return v;
	}
	return NULL;
}

#define ck_value(pinst, type, tinst, want)                                     \
	do {                                                                   \
		const struct value *v_ = find(pinst, type, tinst);             \
		ck_assert_msg(v_ != NULL, "no value %s/%s-%s", pinst, type,    \
			      tinst);                                          \
		ck_assert_msg(fabs(v_->gauge - (want)) < 1e-9,                 \
			      "%s/%s-%s = %g, want %g", pinst, type, tinst,    \
			      v_->gauge, (double)(want));                      \
	} while (0)

#define ck_no_value(pinst, type, tinst)                                        \
	ck_assert_msg(find(pinst, type, tinst) == NULL,                        \
		      "unexpected value %s/%s-%s", pinst, type, tinst)

static int count_type(const char *pinst, const char *type)
{
	int n = 0;

	for (int i = 0; i < mock.n_values; i++)
		n += !strcmp(mock.values[i].plugin_instance, pinst) &&
		     !strcmp(mock.values[i].type, type);
	return n;
}

static int count_prefix(const char *pinst, const char *prefix)
{
	int n = 0;

	for (int i = 0; i < mock.n_values; i++)
		n += !strcmp(mock.values[i].plugin_instance, pinst) &&
		     !strncmp(mock.values[i].type_instance, prefix,
			      strlen(prefix));
	return n;
}

static int count_log(const char *needle)
{
	int n = 0;

	for (int i = 0; i < mock.n_log; i++)
		n += strstr(mock.log[i], needle) != NULL;
	return n;
}

static void ck_logs_prefixed(void)
{
	for (int i = 0; i < mock.n_log; i++)
		ck_assert_msg(!strncmp(mock.log[i], "ephport plugin: ", 16),
			      "log line without prefix: %s", mock.log[i]);
}

/* Collectd's names: non-empty type, no '/', fit DATA_MAX_NAME_LEN; ours:
 * no ':' either, and no identifier twice in one interval. */
static void ck_names_safe(void)
{
	for (int i = 0; i < mock.n_values; i++) {
		const struct value *v = &mock.values[i];

		ck_assert_str_eq(v->plugin, "ephport");
		ck_assert_int_eq((int)v->values_len, 1);
		ck_assert_int_gt((int)strlen(v->type), 0);
		ck_assert_msg(!strpbrk(v->type_instance, "/: ") &&
				  !strpbrk(v->plugin_instance, "/: "),
			      "unsafe name %s-%s", v->type, v->type_instance);
		ck_assert_int_lt((int)strlen(v->type_instance),
				 DATA_MAX_NAME_LEN - 1);
		ck_assert_msg(v->time == mock.values[0].time,
			      "one timestamp per collection");
		for (int j = 0; j < i; j++)
			ck_assert_msg(
			    strcmp(v->plugin_instance,
				   mock.values[j].plugin_instance) ||
				strcmp(v->type, mock.values[j].type) ||
				strcmp(v->type_instance,
				       mock.values[j].type_instance),
			    "dispatched twice: %s/%s-%s", v->plugin_instance,
			    v->type, v->type_instance);
	}
}

/* Config, init and one read from the proc-basic fixture via procfs. */
static void run_basic(void)
{
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), fixture("proc-basic"));
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_ptr_nonnull(mock.read);
	ck_assert_int_eq(mock.read(), 0);
	ck_names_safe();
	ck_logs_prefixed();
}

/* --- registration and good configs ------------------------------------------
 */

START_TEST(registers_config_init_shutdown_only)
{
	ck_assert_ptr_nonnull(mock.config);
	ck_assert_ptr_nonnull(mock.init);
	ck_assert_ptr_nonnull(mock.shutdown);
	/* The read callback comes from a successful init only. */
	ck_assert_ptr_null(mock.read);
}
END_TEST

START_TEST(full_block)
{
	opt_str(item("Protocol"), "tcp");
	opt_num(item("TopDestinations"), 1);
	opt_bool(item("ReportStates"), false);
	opt_bool(item("ReportListeners"), false);
	opt_bool(item("KernelFilter"), true);
	opt_bool(item("BPFBoundSockets"), false);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(!config_failed);
	ck_assert_int_eq(conf.protocols, 1u << EPH_TCP);
	ck_assert_uint_eq(conf.top_n, 1);
	ck_assert(!conf.report_states);
	ck_assert(!conf.report_listeners);
	ck_assert(conf.kernel_filter);
	ck_assert(!conf.bpf_bound);
	ck_assert_int_eq(mock.n_log, 0);
}
END_TEST

START_TEST(defaults)
{
	ck_assert_int_eq(mock.config(&block), 0); /* empty block */
	ck_assert_int_eq(conf.protocols, 0);	  /* 0: both */
	ck_assert_uint_eq(conf.top_n, 5);
	ck_assert(conf.report_states && conf.report_listeners);
	ck_assert(!conf.kernel_filter);
	ck_assert(conf.bpf_bound);
	ck_assert_int_eq(conf.source, EPH_PREFER_AUTO);
	ck_assert_str_eq(conf.proc_root, "");
	/* Per-kind thresholds unset: RisingThreshold / FallingThreshold. */
	ck_assert(conf.rising == 80 && conf.falling == 70);
	for (int k = 0; k < N_KINDS; k++)
		ck_assert(conf.kind[k].rising < 0 && conf.kind[k].falling < 0);
	ck_assert(conf.dest_alarm);
	/* Processes: off (its cost), top 10 when on. */
	ck_assert(!conf.processes);
	ck_assert_uint_eq(conf.processes_top, 10);
}
END_TEST

START_TEST(per_kind_thresholds_parsed)
{
	opt_num(item("connectrisingthreshold"), 40.5);
	opt_num(item("BindFallingThreshold"), 10);
	opt_num(item("BINDRISINGTHRESHOLD"), 20);
	opt_num(item("ConnectFallingThreshold"), 0);
	opt_bool(item("DestinationAlarm"), false);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(conf.kind[kind_index(EPH_KIND_BIND)].rising == 20);
	ck_assert(conf.kind[kind_index(EPH_KIND_BIND)].falling == 10);
	ck_assert(conf.kind[kind_index(EPH_KIND_CONNECT)].rising == 40.5);
	ck_assert(conf.kind[kind_index(EPH_KIND_CONNECT)].falling == 0);
	ck_assert(!conf.dest_alarm);
	ck_assert_int_eq(mock.n_log, 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_uint_eq(alarms[EPH_TCP][0].rising_bp, 2000);
	ck_assert_uint_eq(alarms[EPH_UDP][0].falling_bp, 1000);
	ck_assert_uint_eq(alarms[EPH_TCP][1].rising_bp, 4050);
	ck_assert_uint_eq(alarms[EPH_TCP][1].falling_bp, 0);
}
END_TEST

START_TEST(keys_case_insensitive_and_repeatable)
{
	opt_str(item("protocol"), "UDP");
	opt_str(item("PROTOCOL"), "tcp");
	opt_str(item("Protocol"), "udp"); /* twice: harmless */
	opt_num(item("topdestinations"), 0);
	opt_str(item("ReportStates"), "off"); /* collectd's old string form */
	opt_str(item("source"), "NetLink");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(conf.protocols, (1u << EPH_TCP) | (1u << EPH_UDP));
	ck_assert_uint_eq(conf.top_n, 0);
	ck_assert(!conf.report_states);
	ck_assert_int_eq(conf.source, EPH_PREFER_NETLINK);
}
END_TEST

START_TEST(top_destinations_bounds)
{
	opt_num(item("TopDestinations"), EPH_TOP_MAX);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_uint_eq(conf.top_n, EPH_TOP_MAX);
}
END_TEST

/* --- bad configs: each is reported naming the key, and init then fails --- */

struct bad_case {
	const char *key;
	int kind; /* 0 string, 1 number, 2 bool, 3 two strings, 4 no value, 5
		     block */
	const char *s;
	double n;
	const char *want_log; /* must appear in an "ephport plugin: " line */
};

static const struct bad_case bad_cases[] = {
    {"Frobnicate", 2, NULL, 0, "unknown option \"Frobnicate\""},
    {"Protocol", 0, "sctp", 0, "Protocol \"sctp\" is not a protocol"},
    {"Protocol", 0, "", 0, "Protocol \"\" is not a protocol"},
    {"Protocol", 1, NULL, 6, "Protocol needs one string argument"},
    {"Protocol", 3, "tcp", 0, "Protocol needs one string argument"},
    {"Protocol", 4, NULL, 0, "Protocol needs one string argument"},
    {"TopDestinations", 1, NULL, -1,
     "TopDestinations needs a whole number from 0 to 32"},
    {"TopDestinations", 1, NULL, 33, "TopDestinations needs a whole number"},
    {"TopDestinations", 1, NULL, 2.5, "TopDestinations needs a whole number"},
    {"TopDestinations", 1, NULL, -0.5, "TopDestinations needs a whole number"},
    {"TopDestinations", 0, "5", 0, "TopDestinations needs a whole number"},
    {"ReportStates", 0, "maybe", 0, "ReportStates needs true or false"},
    {"ReportListeners", 1, NULL, 1, "ReportListeners needs true or false"},
    {"KernelFilter", 4, NULL, 0, "KernelFilter needs true or false"},
    {"Source", 0, "sysctl", 0,
     "Source needs \"auto\", \"bpf\", \"netlink\" or \"procfs\""},
    {"ProcRoot", 0, "", 0, "ProcRoot needs an absolute directory name"},
    {"ProcRoot", 2, NULL, 0, "ProcRoot needs an absolute directory name"},
    /* Issue 16, defect 8: relative, as ephportd refuses it. */
    {"ProcRoot", 0, "proc", 0, "ProcRoot needs an absolute directory name"},
    {"Protocol", 5, NULL, 0, "\"Protocol\" is not a block"},
    {"RisingThreshold", 1, NULL, 100.5,
     "RisingThreshold needs a percent from 0 to 100"},
    {"BindRisingThreshold", 1, NULL, 101,
     "BindRisingThreshold needs a percent from 0 to 100"},
    {"BindFallingThreshold", 1, NULL, -1,
     "BindFallingThreshold needs a percent from 0 to 100"},
    {"ConnectRisingThreshold", 0, "50", 0,
     "ConnectRisingThreshold needs a percent from 0 to 100"},
    {"ConnectFallingThreshold", 4, NULL, 0,
     "ConnectFallingThreshold needs a percent from 0 to 100"},
    {"DestinationAlarm", 0, "perhaps", 0,
     "DestinationAlarm needs true or false"},
    {"Namespaces", 0, "some", 0, "Namespaces needs \"self\" or \"all\""},
    {"Namespaces", 0, "", 0, "Namespaces needs \"self\" or \"all\""},
    {"Namespaces", 1, NULL, 1, "Namespaces needs \"self\" or \"all\""},
    {"Namespaces", 3, "all", 0, "Namespaces needs \"self\" or \"all\""},
    {"Namespace", 0, "", 0,
     "Namespace needs one namespace name or glob pattern"},
    {"Namespace", 1, NULL, 3,
     "Namespace needs one namespace name or glob pattern"},
    {"Namespace", 3, "web-*", 0,
     "Namespace needs one namespace name or glob pattern"},
    {"Namespace", 0,
     "0123456789012345678901234567890123456789012345678901234567890123"
     "456789012345678901234567890123456789012345678901234567890123456789",
     0, "Namespace needs one namespace name or glob pattern (under 128"},
    {"NamespaceExclude", 4, NULL, 0,
     "NamespaceExclude needs one namespace name or glob pattern"},
    {"Namespace", 5, NULL, 0, "\"Namespace\" is not a block"},
    {"ExhaustionWarningSeconds", 1, NULL, 0,
     "ExhaustionWarningSeconds needs a number of seconds above 0 and at "
     "most 3.1536e+07"},
    {"ExhaustionWarningSeconds", 0, "soon", 0,
     "ExhaustionWarningSeconds needs a number of seconds above 0"},
    {"ExhaustionFailureSeconds", 1, NULL, -5,
     "ExhaustionFailureSeconds needs a number of seconds above 0"},
    {"ExhaustionFailureSeconds", 1, NULL, 4e7,
     "ExhaustionFailureSeconds needs a number of seconds above 0"},
    {"ExhaustionFailureSeconds", 4, NULL, 0,
     "ExhaustionFailureSeconds needs a number of seconds above 0"},
    {"RateWindow", 1, NULL, 3601,
     "RateWindow needs a number of seconds above 0 and at most 3600"},
    {"RateWindow", 1, NULL, 0, "RateWindow needs a number of seconds"},
    {"ReportRates", 0, "maybe", 0, "ReportRates needs true or false"},
    {"ExhaustionWarningSeconds", 5, NULL, 0,
     "\"ExhaustionWarningSeconds\" is not a block"},
    {"Processes", 0, "maybe", 0, "Processes needs true or false"},
    {"Processes", 1, NULL, 1, "Processes needs true or false"},
    {"Processes", 4, NULL, 0, "Processes needs true or false"},
    {"ProcessesTop", 1, NULL, 0,
     "ProcessesTop needs a whole number from 1 to 100"},
    {"ProcessesTop", 1, NULL, 101,
     "ProcessesTop needs a whole number from 1 to 100"},
    {"ProcessesTop", 1, NULL, 2.5, "ProcessesTop needs a whole number"},
    {"ProcessesTop", 1, NULL, -1, "ProcessesTop needs a whole number"},
    {"ProcessesTop", 0, "10", 0, "ProcessesTop needs a whole number"},
    {"ProcessesTop", 3, "1", 0, "ProcessesTop needs a whole number"},
    {"ProcessesTop", 4, NULL, 0, "ProcessesTop needs a whole number"},
};

START_TEST(bad_block)
{
	const struct bad_case *bc = &bad_cases[_i];
	oconfig_item_t *ci;
	static oconfig_item_t child;

	/* A good option first: it must not rescue the block. */
	opt_str(item("Protocol"), "tcp");
	ci = item(bc->key);
	switch (bc->kind) {
	case 0:
		opt_str(ci, bc->s);
		break;
	case 1:
		opt_num(ci, bc->n);
		break;
	case 2:
		opt_bool(ci, true);
		break;
	case 3:
		opt_str(opt_str(ci, bc->s), bc->s);
		break;
	case 4:
		break;
	case 5:
		memset(&child, 0, sizeof(child));
		child.key = "Foo";
		opt_str(ci, "tcp");
		ci->children = &child;
		ci->children_num = 1;
		break;
	}
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_msg(count_log(bc->want_log) == 1, "want one \"%s\" in %s",
		      bc->want_log, mock.n_log ? mock.log[0] : "(no log)");
	ck_assert_int_eq(mock.log_level[0], LOG_ERR);
	ck_assert_int_eq(count_log("block: refusing to run"), 1);
	ck_logs_prefixed();
	/* collectd goes on to init: it must refuse, registering no read. */
	ck_assert_int_eq(mock.init(), -1);
	ck_assert_ptr_null(mock.read);
	ck_assert_ptr_null(collector);
	ck_assert_int_eq(count_log("not started"), 1);
	ck_assert_int_eq(mock.n_values, 0);
}
END_TEST

START_TEST(every_bad_option_reported)
{
	opt_str(item("Protocol"), "icmp");
	opt_num(item("TopDestinations"), -3);
	opt_bool(item("Bogus"), true);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("Protocol \"icmp\""), 1);
	ck_assert_int_eq(count_log("TopDestinations needs"), 1);
	ck_assert_int_eq(count_log("unknown option \"Bogus\""), 1);
}
END_TEST

START_TEST(bad_block_then_good_block_still_fails)
{
	/* Two <Plugin ephport> blocks: the good second one must not undo the
	 * refusal caused by the first. */
	opt_str(item("Protocol"), "tcpp");
	ck_assert_int_eq(mock.config(&block), -1);
	tree_reset();
	opt_str(item("Protocol"), "tcp");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), -1);
	ck_assert_ptr_null(mock.read);
}
END_TEST

/* --- values from a collection --------------------------------------------- */

START_TEST(values_from_fixture)
{
	run_basic();
	/* proc-basic: range 40000-40099, 40010-40014 and 40050 reserved
	 * (50000-50010 lies outside), so usable 94 (tests/fixtures/README). */
	ck_value("tcp", "gauge", "range_low", 40000);
	ck_value("tcp", "gauge", "range_high", 40099);
	ck_value("tcp", "gauge", "usable", 94);
	ck_value("tcp", "gauge", "reserved", 6);
	ck_value("tcp", "count", "ports_used", 7);
	ck_value("tcp", "count", "ports_free", 87);
	ck_value("tcp", "count", "sockets_in_range", 7);
	ck_value("tcp", "count", "time_wait", 0); /* on reserved 40010 */
	ck_value("tcp", "count", "time_wait_total", 1);
	ck_value("tcp", "count", "listeners_in_range", 1);
	ck_value("tcp", "count", "destinations", 2);
	/* The model (procfs, default knobs): 40020 listens, so 1 port is
	 * bind-owned; 127.0.0.1:8080 has 4 sockets on other ports, so a
	 * connect() to it finds 1 + 4 of 94 ports blocked, ::1:8080 1 + 2.
	 * bind: 7 of 94 ports held.  The TIME_WAIT is on a reserved port. */
	ck_value("tcp", "percent", "pressure", 7.44);
	ck_value("tcp", "percent", "bind_pressure", 7.44);
	ck_value("tcp", "percent", "connect_pressure", 5.31);
	ck_value("tcp", "percent", "connect_new_pressure", 1.06);
	ck_value("tcp", "count", "bind_owned_ports", 1);
	ck_value("tcp", "count", "time_wait_reusable", 0);
	ck_value("tcp", "percent",
		 "dest-127.0.0.1-127.0.0.1-8080-connect_pressure", 5.31);
	ck_value("tcp", "percent", "dest-__1-__1-8080-connect_pressure", 3.19);
	/* Deprecated, the first model's. */
	ck_value("tcp", "percent", "exhaustion", 7.44);
	ck_value("tcp", "percent", "host_exhaustion", 7.44);
	ck_value("tcp", "percent", "worst_destination_exhaustion", 4.25);
	ck_value("tcp", "tcp_connections", "established", 6);
	ck_value("tcp", "tcp_connections", "listen", 1);
	ck_value("tcp", "tcp_connections", "time_wait", 0);
	ck_value("tcp", "tcp_connections", "bound", 0);
	ck_assert_int_eq(count_type("tcp", "tcp_connections"), 12);
	/* The v4-mapped socket counts for 127.0.0.1. */
	ck_value("tcp", "percent", "dest-127.0.0.1-127.0.0.1-8080", 4.25);
	ck_value("tcp", "count", "dest-127.0.0.1-127.0.0.1-8080-sockets", 4);
	ck_value("tcp", "count", "dest-127.0.0.1-127.0.0.1-8080-time_wait", 0);
	ck_value("tcp", "percent", "dest-__1-__1-8080", 2.12);
	ck_value("tcp", "count", "dest-__1-__1-8080-sockets", 2);
	ck_assert_int_eq(count_type("tcp", "gauge") +
			     count_type("tcp", "count") +
			     count_type("tcp", "percent") +
			     count_type("tcp", "tcp_connections"),
			 40 + 1 /* headroom */);
	/* Rates (VALUES, Rates): one collection, so no open rate (and no
	 * net/snmp in the fixture), no headroom, no trend yet: NaN.  UDP: only
	 * its prediction. */
	ck_assert(
	    isnan(find("tcp", "operations_per_second", "open_rate")->gauge));
	ck_assert(isnan(find("tcp", "gauge", "headroom")->gauge));
	ck_assert(
	    isnan(find("tcp", "duration", "seconds_to_exhaustion")->gauge));
	ck_assert(isnan(
	    find("tcp", "duration", "worst_destination_seconds_to_exhaustion")
		->gauge));
	ck_assert(
	    isnan(find("udp", "duration", "seconds_to_exhaustion")->gauge));
	ck_no_value("udp", "operations_per_second", "open_rate");
	ck_no_value("udp", "operations_per_second", "sustainable_rate");
	ck_no_value("udp", "gauge", "headroom");
	ck_no_value("udp", "duration",
		    "worst_destination_seconds_to_exhaustion");
	ck_assert_int_eq(count_type("tcp", "operations_per_second"), 2);
	ck_assert_int_eq(count_type("tcp", "duration"), 2);

	ck_value("udp", "gauge", "usable", 94);
	ck_value("udp", "count", "ports_used", 4);
	ck_value("udp", "count", "ports_free", 90);
	ck_value("udp", "count", "sockets_in_range", 4);
	ck_value("udp", "count", "listeners_in_range", 2);
	ck_value("udp", "count", "destinations", 2);
	ck_value("udp", "percent", "pressure", 4.25);
	ck_value("udp", "percent", "bind_pressure", 4.25);
	ck_value("udp", "percent", "exhaustion", 4.25);
	ck_value("udp", "percent", "worst_destination_exhaustion", 1.06);
	ck_value("udp", "count", "state-established", 2);
	ck_value("udp", "count", "state-close", 2);
	ck_value("udp", "percent", "dest-127.0.0.1-127.0.0.1-5353", 1.06);
	ck_value("udp", "count", "dest-127.0.0.1-127.0.0.1-5353-sockets", 1);
	ck_value("udp", "count", "dest-__1-__1-53-sockets", 1);
	/* No TIME_WAIT, no connect pressure, no tcp_connections for UDP. */
	ck_no_value("udp", "percent", "connect_pressure");
	ck_no_value("udp", "percent", "connect_new_pressure");
	ck_no_value("udp", "count", "bind_owned_ports");
	ck_no_value("udp", "count", "time_wait_reusable");
	ck_no_value("udp", "percent",
		    "dest-127.0.0.1-127.0.0.1-5353-connect_pressure");
	ck_no_value("udp", "count", "time_wait");
	ck_no_value("udp", "count", "time_wait_total");
	ck_no_value("udp", "count", "dest-__1-__1-53-time_wait");
	ck_assert_int_eq(count_type("udp", "tcp_connections"), 0);
	ck_assert_int_eq(mock.n_values, 40 + 20 + 5 + 1);
	ck_assert_int_eq(mock.n_log, 0);
}
END_TEST

/* A stand-in /proc with n TCP clients of 127.0.0.1:8080 on ports 40000..
 * in a 20-port range (40000-40019): 5 % per client. */
static void put_file(const char *dir, const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void small_root_mix(const char *dir, int clients, int listeners,
			   int others)
{
	char path[4200], text[8192];
	size_t n = 0;
	int port = 40000, sl = 0;

	snprintf(path, sizeof(path), "%s/sys/net/ipv4", dir);
	ck_assert_int_eq(system(strcat(strcpy(text, "mkdir -p "), path)), 0);
	snprintf(path, sizeof(path), "%s/net", dir);
	mkdir(path, 0755);
	put_file(dir, "sys/net/ipv4/ip_local_port_range", "40000 40019\n");
	put_file(dir, "sys/net/ipv4/ip_local_reserved_ports", "\n");
	n = (size_t)snprintf(text, sizeof(text),
			     "  sl  local_address rem_address   st\n");
	/* Listeners first, as the kernel lists them. */
	for (int i = 0; i < listeners; i++)
		n += (size_t)snprintf(
		    text + n, sizeof(text) - n,
		    "   %d: 00000000:%04X 00000000:0000 0A "
		    "00000000:00000000 00:00000000 00000000 0 0 1\n",
		    sl++, port++);
	for (int i = 0; i < clients; i++)
		n += (size_t)snprintf(
		    text + n, sizeof(text) - n,
		    "   %d: 0100007F:%04X 0100007F:1F90 01 "
		    "00000000:00000000 00:00000000 00000000 0 0 1\n",
		    sl++, port++);
	/* To 127.0.0.2:9090. */
	for (int i = 0; i < others; i++)
		n += (size_t)snprintf(
		    text + n, sizeof(text) - n,
		    "   %d: 0100007F:%04X 0200007F:2382 01 "
		    "00000000:00000000 00:00000000 00000000 0 0 1\n",
		    sl++, port++);
	put_file(dir, "net/tcp", text);
	put_file(dir, "net/udp", "  sl  local_address rem_address   st\n");
}

static void small_root(const char *dir, int clients)
{
	small_root_mix(dir, clients, 0, 0);
}

static void set_addr(struct eph_addr *a, int family, const char *text)
{
	a->family = (uint8_t)family;
	ck_assert_int_eq(inet_pton(family, text, a->bytes), 1);
}

static void rm_rf(const char *dir)
{
	char cmd[4300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void ck_notif(int i, int severity, const char *type_instance,
		     const char *kind)
{
	ck_assert_int_lt(i, mock.n_notifs);
	ck_assert_int_eq(mock.notifs[i].severity, severity);
	ck_assert_str_eq(mock.notifs[i].plugin, "ephport");
	ck_assert_str_eq(mock.notifs[i].plugin_instance, "tcp");
	ck_assert_str_eq(mock.notifs[i].type, "percent");
	ck_assert_str_eq(mock.notifs[i].type_instance, type_instance);
	ck_assert_str_eq(mock.notifs[i].host, "mockhost");
	ck_assert_str_eq(notif_meta(i, "kind", NM_TYPE_STRING)->str, kind);
}

/* RisingThreshold / FallingThreshold alone arm both kinds.  n clients of
 * one destination: bind and connect pressure are both n / 20. */
START_TEST(notifications_with_hysteresis)
{
	char dir[] = "/tmp/ephport-plugin-XXXXXX";
	/* clients:  4 -> 20 %, 12 -> 60 %, 16 -> 80 %, 9 -> 45 %, 6 -> 30 % */
	static const int steps[] = {4, 12, 16, 9, 6, 11};
	static const char want[] = ".R..CR";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), dir);
	opt_num(item("RisingThreshold"), 50);
	opt_num(item("FallingThreshold"), 30);
	opt_str(item("Protocol"), "tcp");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int before = mock.n_notifs;
		int sev = want[i] == 'R' ? NOTIF_WARNING : NOTIF_OKAY;

		small_root(dir, steps[i]);
		ck_assert_int_eq(mock.read(), 0);
		if (want[i] == '.') {
			ck_assert_int_eq(mock.n_notifs, before);
			continue;
		}
		/* One per kind, bind first. */
		ck_assert_int_eq(mock.n_notifs, before + 2);
		ck_notif(before, sev, "bind_pressure", "bind");
		ck_notif(before + 1, sev, "connect_pressure", "connect");
		ck_assert(
		    notif_meta(before, "ports_in_use", NM_TYPE_DOUBLE)->d ==
		    steps[i]);
		ck_assert(
		    notif_meta(before + 1, "blocked", NM_TYPE_DOUBLE)->d ==
		    steps[i]);
	}
	ck_assert_str_eq(mock.notifs[0].message,
			 "tcp bind pressure 60.00% rose to or above 50.00%: "
			 "bind(0) fails at 100% (12 of 20 ports in use, range "
			 "40000-40019)");
	ck_assert_str_eq(mock.notifs[1].message,
			 "tcp connect pressure 60.00% rose to or above 50.00%: "
			 "connect() from 127.0.0.1 to 127.0.0.1:8080 fails at "
			 "100% (12 of 20 ports blocked, range 40000-40019); a "
			 "lower bound");
	ck_assert(notif_meta(0, "pressure", NM_TYPE_DOUBLE)->d == 60);
	ck_assert(notif_meta(0, "threshold", NM_TYPE_DOUBLE)->d == 50);
	ck_assert(notif_meta(0, "usable", NM_TYPE_DOUBLE)->d == 20);
	ck_assert(notif_meta(0, "range_low", NM_TYPE_DOUBLE)->d == 40000);
	ck_assert(notif_meta(0, "range_high", NM_TYPE_DOUBLE)->d == 40019);
	ck_assert(!notif_meta(0, "upper_bound", NM_TYPE_BOOLEAN)->b);
	ck_assert_str_eq(notif_meta(1, "destination", NM_TYPE_STRING)->str,
			 "127.0.0.1 -> 127.0.0.1:8080");
	ck_assert(notif_meta(1, "lower_bound", NM_TYPE_BOOLEAN)->b);
	ck_assert(notif_meta(1, "bind_owned_ports", NM_TYPE_DOUBLE)->d == 0);
	ck_assert(strstr(mock.notifs[2].message,
			 "bind pressure 30.00% fell to or below 30.00%"));
	ck_assert(strstr(mock.notifs[3].message,
			 "connect pressure 30.00% fell to or below 30.00%"));
	rm_rf(dir);
}
END_TEST

/* Each kind on its own thresholds (bind 50/30, connect 40/20; the generic
 * ones, which would fire at every step, unused), on numbers that tell the
 * kinds apart: bind counts every held port, connect the bind-owned ones
 * (listeners) plus the worst destination's own sockets. */
START_TEST(notifications_per_kind)
{
	char dir[] = "/tmp/ephport-plugin-XXXXXX";
	static const struct {
		int clients, listeners, others; /* bind %, connect % */
		const char *want;		/* B/b bind raised/cleared,
						 * C/c connect, . nothing */
	} steps[] = {
	    {4, 0, 0, "."},   /* 20, 20 */
	    {4, 0, 6, "B"},   /* 50, 30 (127.0.0.2:9090) */
	    {9, 0, 0, "C"},   /* 45, 45: bind stays up */
	    {2, 4, 0, "b"},   /* 30, 4 + 2 = 30: connect stays up */
	    {0, 4, 0, "c"},   /* 20, 4 bind-owned: a new destination */
	    {0, 10, 0, "BC"}, /* 50, 50: both, bind first */
	};
	int seen = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), dir);
	opt_str(item("Protocol"), "tcp");
	opt_num(item("RisingThreshold"), 10);
	opt_num(item("FallingThreshold"), 5);
	opt_num(item("BindRisingThreshold"), 50);
	opt_num(item("BindFallingThreshold"), 30);
	opt_num(item("ConnectRisingThreshold"), 40);
	opt_num(item("ConnectFallingThreshold"), 20);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *w = steps[i].want;

		small_root_mix(dir, steps[i].clients, steps[i].listeners,
			       steps[i].others);
		ck_assert_int_eq(mock.read(), 0);
		for (; *w && *w != '.'; w++, seen++) {
			bool bind = *w == 'B' || *w == 'b';
			bool up = *w == 'B' || *w == 'C';

			ck_notif(seen, up ? NOTIF_WARNING : NOTIF_OKAY,
				 bind ? "bind_pressure" : "connect_pressure",
				 bind ? "bind" : "connect");
		}
		ck_assert_msg(mock.n_notifs == seen, "step %zu: %d notifs", i,
			      mock.n_notifs);
	}
	ck_assert_str_eq(mock.notifs[0].message,
			 "tcp bind pressure 50.00% rose to or above 50.00%: "
			 "bind(0) fails at 100% (10 of 20 ports in use, range "
			 "40000-40019)");
	ck_assert_str_eq(mock.notifs[1].message,
			 "tcp connect pressure 45.00% rose to or above 40.00%: "
			 "connect() from 127.0.0.1 to 127.0.0.1:8080 fails at "
			 "100% (9 of 20 ports blocked, range 40000-40019); a "
			 "lower bound");
	ck_assert(strstr(mock.notifs[2].message,
			 "tcp bind pressure 30.00% fell to or below 30.00%"));
	/* No destination left: connect() to a new one; only listeners, so
	 * every owner is known and the number is exact. */
	ck_assert_str_eq(mock.notifs[3].message,
			 "tcp connect pressure 20.00% fell to or below 20.00%: "
			 "connect() to a new destination fails at 100% (4 of "
			 "20 ports blocked, range 40000-40019)");
	ck_assert_str_eq(notif_meta(3, "destination", NM_TYPE_STRING)->str,
			 "new");
	ck_assert(!notif_meta(3, "lower_bound", NM_TYPE_BOOLEAN)->b);
	ck_assert(notif_meta(3, "bind_owned_ports", NM_TYPE_DOUBLE)->d == 4);
	rm_rf(dir);
}
END_TEST

/* DestinationAlarm false: bind notifications only. */
START_TEST(destination_alarm_off)
{
	char dir[] = "/tmp/ephport-plugin-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), dir);
	opt_str(item("Protocol"), "tcp");
	opt_num(item("BindRisingThreshold"), 90);
	opt_num(item("ConnectRisingThreshold"), 50);
	opt_num(item("ConnectFallingThreshold"), 40);
	opt_bool(item("DestinationAlarm"), false);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	small_root(dir, 12); /* 60 % each */
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_notifs, 0);
	ck_value("tcp", "percent", "connect_pressure", 60);
	small_root(dir, 18); /* 90 % */
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_notifs, 1);
	ck_notif(0, NOTIF_WARNING, "bind_pressure", "bind");
	rm_rf(dir);
}
END_TEST

/* The longest message, two full IPv6 addresses and 5-digit numbers,
 * fits a notification (NOTIF_MAX_MSG_LEN) uncut. */
START_TEST(longest_message_fits)
{
	struct eph_proto_stats s;
	struct eph_alarm a;

	memset(&s, 0, sizeof(s));
	s.low = s.high = 65535;
	s.usable = 65535;
	s.has_worst = true;
	set_addr(&s.worst.laddr, AF_INET6,
		 "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	set_addr(&s.worst.raddr, AF_INET6,
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	s.worst.rport = 65535;
	s.worst.blocked = 65535;
	s.connect_bp = 10000;
	s.owners_exact = false;
	ck_assert_int_eq(eph_alarm_init(&a, 10000, 9999), 0);
	notify(&own_ns, EPH_TCP, &s, EPH_KIND_CONNECT, &a, EPH_ALARM_RAISED, 0);
	ck_assert_int_eq(mock.n_notifs, 1);
	ck_assert_str_eq(
	    mock.notifs[0].message,
	    "tcp connect pressure 100.00% rose to or above 100.00%: connect() "
	    "from 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff to "
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535 fails at 100% "
	    "(65535 of 65535 ports blocked, range 65535-65535); a lower bound");
	ck_assert_str_eq(notif_meta(0, "destination", NM_TYPE_STRING)->str,
			 "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff -> "
			 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
	/* Bind, with ip_autobind_reuse: an upper bound. */
	s.bind_bp = 10000;
	s.bind_exact = false;
	notify(&own_ns, EPH_UDP, &s, EPH_KIND_BIND, &a, EPH_ALARM_RAISED, 0);
	ck_assert_str_eq(mock.notifs[1].message,
			 "udp bind pressure 100.00% rose to or above 100.00%: "
			 "bind(0) or autobind fails at 100% (0 of 65535 ports "
			 "in use, range 65535-65535); an upper bound");
	ck_assert(notif_meta(1, "upper_bound", NM_TYPE_BOOLEAN)->b);
}
END_TEST

/* Issue 16, defect 8: a threshold pair that does not hold is a bad block,
 * found by the config callback (collectd then refuses the configuration,
 * as for every other bad option; it used to be found by init only, and
 * collectd ran on without the plugin), told with the values as given. */
START_TEST(bad_thresholds)
{
	opt_num(item("RisingThreshold"), 60);
	opt_num(item("FallingThreshold"), 60);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("FallingThreshold (60) must be below "
				   "RisingThreshold (60)"),
			 1);
	ck_assert_int_eq(count_log("block: refusing to run"), 1);
	ck_assert_int_eq(mock.init(), -1);
	ck_assert_ptr_null(mock.read);
	setup();
	opt_num(item("RisingThreshold"), 101);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(
	    count_log("RisingThreshold needs a percent from 0 to 100"), 1);
	/* Equal to the hundredth of a percent the collector counts in: the
	 * values as given, not rounded to the same "80.00". */
	setup();
	opt_num(item("RisingThreshold"), 80.004);
	opt_num(item("FallingThreshold"), 80.001);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("FallingThreshold (80.001) must be below "
				   "RisingThreshold (80.004) by 0.01 at least"),
			 1);
}
END_TEST

/* A per-kind pair that does not hold, naming the options it came from
 * (its own or the generic one it defaults to): every bad pair is told,
 * and the block is refused. */
START_TEST(bad_per_kind_thresholds)
{
	opt_num(item("BindFallingThreshold"), 85); /* RisingThreshold 80 */
	opt_num(item("ConnectRisingThreshold"), 50);
	opt_num(item("ConnectFallingThreshold"), 50);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(
	    count_log("ephport plugin: BindFallingThreshold (85) must be "
		      "below RisingThreshold (80) for bind notifications"),
	    1);
	ck_assert_int_eq(count_log("ephport plugin: ConnectFallingThreshold "
				   "(50) must be below "
				   "ConnectRisingThreshold (50) for connect "
				   "notifications"),
			 1);
	ck_assert_int_eq(count_log("block: refusing to run"), 1);
	ck_assert_int_eq(mock.init(), -1);
	ck_assert_ptr_null(mock.read);
	ck_assert_ptr_null(collector);

	/* The generic pair is checked as before, the per-kind ones after. */
	setup();
	opt_num(item("FallingThreshold"), 20);
	opt_num(item("ConnectRisingThreshold"), 15);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("FallingThreshold (20) must be below "
				   "ConnectRisingThreshold (15) for connect"),
			 1);

	/* Lowering only the rising one below the default falling one. */
	setup();
	opt_num(item("BindRisingThreshold"), 70);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("FallingThreshold (70) must be below "
				   "BindRisingThreshold (70) for bind"),
			 1);
}
END_TEST

START_TEST(switches_drop_values)
{
	opt_str(item("Protocol"), "udp");
	opt_num(item("TopDestinations"), 0);
	opt_bool(item("ReportStates"), false);
	opt_bool(item("ReportListeners"), false);
	opt_bool(item("ReportRates"), false);
	run_basic();
	ck_assert_int_eq(count_type("tcp", "gauge"), 0);
	ck_assert_int_eq(count_type("udp", "duration"), 0);
	ck_assert_int_eq(count_prefix("udp", "dest-"), 0);
	ck_assert_int_eq(count_prefix("udp", "state-"), 0);
	ck_no_value("udp", "count", "listeners_in_range");
	/* Aggregates stay: the worst destination is known without a list. */
	ck_value("udp", "count", "destinations", 2);
	ck_value("udp", "percent", "worst_destination_exhaustion", 1.06);
	ck_value("udp", "percent", "bind_pressure", 4.25);
	ck_assert_int_eq(mock.n_values, 4 + 4 + 5);
}
END_TEST

START_TEST(top_destinations_limits_list)
{
	opt_num(item("TopDestinations"), 1);
	run_basic();
	ck_assert_int_eq(count_prefix("tcp", "dest-"), 4);
	ck_assert_int_eq(count_prefix("udp", "dest-"), 2);
	ck_value("tcp", "count", "dest-127.0.0.1-127.0.0.1-8080-sockets", 4);
}
END_TEST

/* Naming from a hand-made snapshot: the longest IPv6 text (39 bytes, so
 * at most 107 bytes per name) and the dotted form inet_ntop uses. */

START_TEST(destination_names)
{
	struct eph_snapshot snap;
	struct eph_proto_stats *s = &snap.proto[EPH_TCP];
	char name[DATA_MAX_NAME_LEN];

	memset(&snap, 0, sizeof(snap));
	snap.taken_us = 1700000000123456;
	s->collected = true;
	s->n_top = 3;
	set_addr(&s->top[0].laddr, AF_INET6,
		 "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	set_addr(&s->top[0].raddr, AF_INET6,
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	s->top[0].rport = 65535;
	s->top[0].sockets = 9;
	s->top[0].exhaustion_bp = 1234;
	s->top[0].connect_bp = 4321;
	set_addr(&s->top[1].laddr, AF_INET, "10.0.0.1");
	set_addr(&s->top[1].raddr, AF_INET, "192.0.2.7");
	s->top[1].rport = 443;
	set_addr(&s->top[2].laddr, AF_INET6, "fe80::1");
	set_addr(&s->top[2].raddr, AF_INET6, "::ffff:192.0.2.1");
	s->top[2].rport = 1;
	submit_snapshot(&snap, &own_ns, NULL);
	ck_names_safe();

	ck_assert_int_eq(dest_name(&s->top[0], "time_wait", name, sizeof(name)),
			 0);
	ck_assert_str_eq(
	    name, "dest-2001_db8_ffff_ffff_ffff_ffff_ffff_ffff-"
		  "ffff_ffff_ffff_ffff_ffff_ffff_ffff_fffe-65535-time_wait");
	ck_value("tcp", "percent",
		 "dest-2001_db8_ffff_ffff_ffff_ffff_ffff_ffff-"
		 "ffff_ffff_ffff_ffff_ffff_ffff_ffff_fffe-65535",
		 12.34);
	ck_value("tcp", "count", "dest-10.0.0.1-192.0.2.7-443-sockets", 0);
	ck_value("tcp", "count", "dest-fe80__1-__ffff_192.0.2.1-1-sockets", 0);
	/* The longest kind of name: 106 bytes here (2001:db8 is one byte
	 * short of a full 39-byte address; 107 at most). */
	ck_value(
	    "tcp", "percent",
	    "dest-2001_db8_ffff_ffff_ffff_ffff_ffff_ffff-"
	    "ffff_ffff_ffff_ffff_ffff_ffff_ffff_fffe-65535-connect_pressure",
	    43.21);
	ck_assert_int_eq(
	    dest_name(&s->top[0], "connect_pressure", name, sizeof(name)), 0);
	ck_assert_int_eq((int)strlen(name), 106);
	/* A name that does not fit is refused, never cut. */
	ck_assert_int_eq(dest_name(&s->top[0], "time_wait", name, 40), -1);
	ck_assert_int_eq(mock.values[0].time, US_TO_CDTIME_T(1700000000123456));
	ck_assert_int_eq(count_type("udp", "count"), 0); /* not collected */
}
END_TEST

START_TEST(dispatch_failure_logged_once)
{
	mock.dispatch_status = -1; /* e.g. a TypesDB without tcp_connections */
	run_basic();
	ck_assert_int_eq(count_log("dispatching"), 1);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(count_log("dispatching"), 1);
}
END_TEST

/* --- failures: logged once per problem, an error for collectd, recovery ----
 */

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void make_proc(void)
{
	static const char *const dirs[] = {"", "/sys", "/sys/net",
					   "/sys/net/ipv4", "/net"};
	static const char *const nets[] = {"net/tcp", "net/tcp6", "net/udp",
					   "net/udp6"};
	char path[256];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_collectd_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (size_t i = 1; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", tmpdir, dirs[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
	}
	/* Header lines only: no sockets. */
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		write_file(nets[i], "  sl  local_address rem_address   st\n");
	write_file("sys/net/ipv4/ip_local_reserved_ports", "\n");
	write_file("sys/net/ipv4/ip_local_port_range", "40000\t40009\n");
}

static void remove_proc(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(failure_logged_once_and_recovers)
{
	char range[256];

	make_proc();
	snprintf(range, sizeof(range), "%s/sys/net/ipv4/ip_local_port_range",
		 tmpdir);
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), tmpdir);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_value("tcp", "gauge", "usable", 10);
	ck_assert_int_eq(mock.n_log, 0);

	/* The range file goes away: one error naming it, however many reads. */
	ck_assert_int_eq(unlink(range), 0);
	mock.n_values = 0;
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(mock.read(), -1);
	ck_assert_int_eq(mock.n_values, 0);
	ck_assert_int_eq(mock.n_log, 1);
	ck_assert_int_eq(mock.log_level[0], LOG_ERR);
	ck_assert_msg(strstr(mock.log[0], "collection failed") &&
			  strstr(mock.log[0], "ip_local_port_range"),
		      "%s", mock.log[0]);

	/* A different problem is a new line. */
	write_file("sys/net/ipv4/ip_local_port_range", "40009 40000\n");
	ck_assert_int_eq(mock.read(), -1);
	ck_assert_int_eq(mock.read(), -1);
	ck_assert_int_eq(mock.n_log, 2);

	/* Fixed: one line saying so, values again. */
	write_file("sys/net/ipv4/ip_local_port_range", "40000 40019\n");
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_log, 3);
	ck_assert_int_eq(mock.log_level[2], LOG_INFO);
	ck_assert_int_eq(
	    count_log("collection works again after 7 failed reads"), 1);
	ck_value("tcp", "gauge", "usable", 20);

	/* And it fails (and logs) again when the same problem comes back. */
	ck_assert_int_eq(unlink(range), 0);
	ck_assert_int_eq(mock.read(), -1);
	ck_assert_int_eq(mock.n_log, 4);
	ck_logs_prefixed();
	remove_proc();
}
END_TEST

/* --- network namespaces (Namespaces, Namespace, NamespaceExclude) -------- */

START_TEST(namespaces_config)
{
	/* Default: collectd's own only, as before the options existed. */
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(ns_mode(), NS_SELF);
	setup();
	opt_str(item("Namespaces"), "self");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(ns_mode(), NS_SELF);
	setup();
	opt_str(item("namespaces"), "ALL");
	opt_str(item("NamespaceExclude"), "pid:*");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(ns_mode(), NS_ALL);
	ck_assert_uint_eq(conf.n_exclude, 1);
	ck_assert_str_eq(conf.exclude[0], "pid:*");
	setup();
	opt_str(item("Namespace"), "web-*");
	opt_str(item("namespace"), "docker:*");
	opt_str(item("NamespaceExclude"), "web-test*");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(ns_mode(), NS_PATTERNS);
	ck_assert_uint_eq(conf.n_include, 2);
	ck_assert_str_eq(conf.include[1], "docker:*");
	ck_assert_int_eq(mock.n_log, 0);
}
END_TEST

/* Options that contradict each other, wherever they stand. */
START_TEST(namespaces_conflicts)
{
	static const struct {
		const char *key1, *val1, *key2, *val2, *want;
	} cases[] = {
	    {"Namespace", "blue", "Namespaces", "self",
	     "Namespace \"blue\" and Namespaces \"self\" both select"},
	    {"Namespaces", "all", "Namespace", "blue",
	     "Namespace \"blue\" and Namespaces \"all\" both select"},
	    {"NamespaceExclude", "pid:*", "Protocol", "tcp",
	     "NamespaceExclude \"pid:*\" needs Namespaces \"all\" or a "
	     "Namespace pattern"},
	    {"Namespaces", "self", "NamespaceExclude", "x",
	     "NamespaceExclude \"x\" needs Namespaces"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setup();
		opt_str(item(cases[i].key1), cases[i].val1);
		opt_str(item(cases[i].key2), cases[i].val2);
		ck_assert_int_eq(mock.config(&block), -1);
		ck_assert_msg(count_log(cases[i].want) == 1, "want \"%s\"",
			      cases[i].want);
		ck_logs_prefixed();
		ck_assert_int_eq(mock.init(), -1);
		ck_assert_ptr_null(mock.read);
	}
}
END_TEST

static struct eph_netns fake_ns(int kind, const char *name, uint64_t inode)
{
	struct eph_netns ns;

	memset(&ns, 0, sizeof(ns));
	ns.kind = kind;
	ns.inode = inode;
	ns.dev = 4;
	snprintf(ns.name, sizeof(ns.name), "%s", name);
	snprintf(ns.path, sizeof(ns.path), "/nonexistent/%s", name);
	return ns;
}

START_TEST(namespaces_selection)
{
	struct eph_netns own = fake_ns(EPH_NS_SELF, "", 1);
	struct eph_netns web = fake_ns(EPH_NS_NAMED, "web-1", 2);
	struct eph_netns test = fake_ns(EPH_NS_NAMED, "web-test", 3);
	struct eph_netns dock = fake_ns(EPH_NS_CONTAINER, "docker:0123", 4);
	struct eph_netns pid = fake_ns(EPH_NS_PID, "pid:42", 5);

	opt_str(item("Namespaces"), "all");
	opt_str(item("NamespaceExclude"), "pid:*");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(ns_selected(&own) && ns_selected(&web) &&
		  ns_selected(&test) && ns_selected(&dock));
	ck_assert(!ns_selected(&pid));

	setup();
	opt_str(item("Namespace"), "web-*");
	opt_str(item("Namespace"), "docker:*");
	opt_str(item("NamespaceExclude"), "*-test");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(ns_selected(&web) && ns_selected(&dock));
	ck_assert(!ns_selected(&own) && !ns_selected(&test) &&
		  !ns_selected(&pid));

	/* The own namespace answers to "self", and to its ip netns name. */
	setup();
	opt_str(item("Namespace"), "self");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(ns_selected(&own) && !ns_selected(&web));
	snprintf(own.name, sizeof(own.name), "host0");
	ck_assert(ns_selected(&own));
	setup();
	opt_str(item("Namespace"), "host*");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(ns_selected(&own));
}
END_TEST

START_TEST(namespaces_instance_names)
{
	char id[NS_ID_LEN], name[NS_NAME_LEN];
	struct eph_netns a = fake_ns(EPH_NS_NAMED, "a:b", 10);
	struct eph_netns b = fake_ns(EPH_NS_NAMED, "a_b", 11);
	struct eph_netns own = fake_ns(EPH_NS_SELF, "", 1);
	struct eph_snapshot snap;
	struct ns_state *st;

	ns_id("docker:0123456789ab", 7, false, id, sizeof(id));
	ck_assert_str_eq(id, "docker_0123456789ab");
	ns_id("pid:42", 7, false, id, sizeof(id));
	ck_assert_str_eq(id, "pid_42");
	ns_id("pod:5f1e/x y\x7f", 7, false, id, sizeof(id));
	ck_assert_str_eq(id, "pod_5f1e_x_y_");
	ns_id("web-1.prod_A", 7, false, id, sizeof(id));
	ck_assert_str_eq(id, "web-1.prod_A");
	ns_id("", 4026532281u, false, id, sizeof(id));
	ck_assert_str_eq(id, "netns_4026532281");
	/* The longest name is cut so "<id>-tcp" fits DATA_MAX_NAME_LEN. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ns_id(name, 7, false, id, sizeof(id));
	ck_assert_int_eq((int)strlen(id), NS_ID_LEN - 1);
	ns_id(name, 4026532281u, true, id, sizeof(id));
	ck_assert_int_eq((int)strlen(id), NS_ID_LEN - 1);
	ck_assert_str_eq(id + strlen(id) - 11, "_4026532281");

	/* Two names that map to one id: the second gets its inode. */
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_str_eq(ns_state_get(&a)->id, "a_b");
	ck_assert_str_eq(ns_state_get(&b)->id, "a_b_11");
	ck_assert_ptr_eq(ns_state_get(&a), &ns_states[0]);
	ck_assert_ptr_eq(ns_state_get(&own), &own_ns);
	ck_assert_str_eq(own_ns.id, "");
	ck_assert_uint_eq(n_ns_states, 2);

	/* Values: "<id>-tcp" for another namespace, "tcp" for the own. */
	memset(&snap, 0, sizeof(snap));
	snap.proto[EPH_TCP].collected = true;
	snap.proto[EPH_TCP].usable = 7;
	snap.proto[EPH_UDP].collected = true;
	snap.proto[EPH_UDP].usable = 8;
	st = ns_state_get(&b);
	submit_snapshot(&snap, st, NULL);
	ck_value("a_b_11-tcp", "gauge", "usable", 7);
	ck_value("a_b_11-udp", "gauge", "usable", 8);
	ck_assert_int_eq(count_prefix("tcp", ""), 0);
	submit_snapshot(&snap, &own_ns, NULL);
	ck_value("tcp", "gauge", "usable", 7);
	ck_value("udp", "gauge", "usable", 8);
	ck_names_safe();
}
END_TEST

/* Each namespace has its own alarms: one's pressure neither raises nor
 * clears another's, and a namespace that goes takes its alarms along. */
START_TEST(namespaces_alarms_separate)
{
	struct eph_netns blue = fake_ns(EPH_NS_NAMED, "blue", 21);
	struct eph_netns dock = fake_ns(EPH_NS_CONTAINER, "docker:0123", 22);
	struct eph_snapshot hot, cold;
	struct ns_state *sb, *sd;

	memset(&hot, 0, sizeof(hot));
	hot.proto[EPH_TCP].collected = true;
	hot.proto[EPH_TCP].usable = 100;
	hot.proto[EPH_TCP].low = 40000;
	hot.proto[EPH_TCP].high = 40099;
	hot.proto[EPH_TCP].ports_in_use = 90;
	hot.proto[EPH_TCP].bind_bp = 9000;
	hot.proto[EPH_TCP].bind_exact = true;
	hot.proto[EPH_TCP].owners_exact = true;
	cold = hot;
	cold.proto[EPH_TCP].ports_in_use = 10;
	cold.proto[EPH_TCP].bind_bp = 1000;

	opt_str(item("Namespaces"), "all");
	opt_num(item("RisingThreshold"), 80);
	opt_num(item("FallingThreshold"), 70);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	sb = ns_state_get(&blue);
	sd = ns_state_get(&dock);
	sb = ns_state_get(&blue); /* the array may have moved */

	check_alarms(&hot, sb);
	check_alarms(&cold, sd);
	check_alarms(&cold, &own_ns);
	ck_assert_int_eq(mock.n_notifs, 1);
	ck_assert_int_eq(mock.notifs[0].severity, NOTIF_WARNING);
	ck_assert_str_eq(mock.notifs[0].plugin_instance, "blue-tcp");
	ck_assert_str_eq(mock.notifs[0].type_instance, "bind_pressure");
	ck_assert_msg(!strncmp(mock.notifs[0].message,
			       "netns blue: tcp bind pressure 90.00% rose to "
			       "or above 80.00%",
			       60),
		      "%s", mock.notifs[0].message);
	ck_assert_str_eq(notif_meta(0, "netns", NM_TYPE_STRING)->str, "blue");
	ck_assert(notif_meta(0, "netns_inode", NM_TYPE_DOUBLE)->d == 21);
	ck_assert(sb->alarms[EPH_TCP][kind_index(EPH_KIND_BIND)].high);
	ck_assert(!sd->alarms[EPH_TCP][kind_index(EPH_KIND_BIND)].high);
	ck_assert(!own_ns.alarms[EPH_TCP][kind_index(EPH_KIND_BIND)].high);

	/* Still hot: nothing new; the docker one heats up on its own. */
	check_alarms(&hot, sb);
	check_alarms(&hot, sd);
	ck_assert_int_eq(mock.n_notifs, 2);
	ck_assert_str_eq(mock.notifs[1].plugin_instance, "docker_0123-tcp");
	ck_assert_msg(strstr(mock.notifs[1].message, "netns docker:0123: ") ==
			  mock.notifs[1].message,
		      "%s", mock.notifs[1].message);
	/* blue cools: cleared, for blue only. */
	check_alarms(&cold, sb);
	ck_assert_int_eq(mock.n_notifs, 3);
	ck_assert_int_eq(mock.notifs[2].severity, NOTIF_OKAY);
	ck_assert_str_eq(mock.notifs[2].plugin_instance, "blue-tcp");
	ck_assert(sd->alarms[EPH_TCP][kind_index(EPH_KIND_BIND)].high);

	/* The docker one goes (a read that did not find it): its alarm goes
	 * with it, so when a namespace of that name comes back hot, it is
	 * raised anew. */
	sb->seen = true;
	sd->seen = false;
	ns_drop_unseen();
	ck_assert_uint_eq(n_ns_states, 1);
	ck_assert_str_eq(ns_states[0].name, "blue");
	sd = ns_state_get(&dock);
	ck_assert(!sd->alarms[EPH_TCP][kind_index(EPH_KIND_BIND)].high);
	ck_assert_uint_eq(sd->alarms[EPH_TCP][0].rising_bp, 8000);
	check_alarms(&hot, sd);
	ck_assert_int_eq(mock.n_notifs, 4);
	ck_assert_int_eq(mock.notifs[3].severity, NOTIF_WARNING);
	ck_logs_prefixed();
}
END_TEST

/* A namespace's name leads a notification, so the longest message loses
 * its tail ("..."), never the name. */
START_TEST(namespaces_long_message_cut)
{
	struct eph_netns ns = fake_ns(EPH_NS_NAMED, "", 30);
	struct eph_proto_stats s;
	struct eph_alarm a;

	memset(ns.name, 'x', 120);
	ns.name[120] = '\0';
	memset(&s, 0, sizeof(s));
	s.low = s.high = 65535;
	s.usable = 65535;
	s.bind_bp = 10000;
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_int_eq(eph_alarm_init(&a, 10000, 9999), 0);
	notify(ns_state_get(&ns), EPH_UDP, &s, EPH_KIND_BIND, &a,
	       EPH_ALARM_RAISED, 0);
	ck_assert_int_eq(mock.n_notifs, 1);
	ck_assert_int_eq((int)strlen(mock.notifs[0].message),
			 NOTIF_MAX_MSG_LEN - 1);
	ck_assert(!strncmp(mock.notifs[0].message, "netns xxxx", 10));
	ck_assert(
	    !strcmp(mock.notifs[0].message + NOTIF_MAX_MSG_LEN - 4, "..."));
	ck_assert_int_eq(
	    (int)strlen(notif_meta(0, "netns", NM_TYPE_STRING)->str), 120);
}
END_TEST

static void touch(const char *rel)
{
	write_file(rel, "");
}

static void mkdir_in(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* Namespaces "all" over a /proc stand-in: the own namespace reports as
 * before ("tcp"), the two others (a regular file each, which setns()
 * refuses) are each logged once; one that goes between reads is dropped
 * without a word. */
START_TEST(namespaces_read_all)
{
	char dir[256], path[256];

	make_proc();
	mkdir_in("self");
	mkdir_in("self/ns");
	touch("self/ns/net");
	mkdir_in("4242");
	mkdir_in("4242/ns");
	touch("4242/ns/net");
	mkdir_in("netns");
	touch("netns/blue");
	snprintf(dir, sizeof(dir), "%s/netns", tmpdir);
	netns_dir = dir;

	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), tmpdir);
	opt_str(item("Namespaces"), "all");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_value("tcp", "gauge", "usable", 10);
	ck_names_safe();
	ck_assert_uint_eq(n_ns_states, 2);
	ck_assert_int_eq(mock.n_log, 2);
	ck_assert_int_eq(count_log("network namespace blue: collection "
				   "failed"),
			 1);
	ck_assert_int_eq(count_log("network namespace pid:4242: collection "
				   "failed"),
			 1);
	ck_assert_int_eq(mock.log_level[0], LOG_ERR);
	/* Said once. */
	mock.n_values = 0;
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_log, 2);
	ck_value("tcp", "gauge", "usable", 10);

	/* blue goes: no line, its state with it. */
	snprintf(path, sizeof(path), "%s/netns/blue", tmpdir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_log, 2);
	ck_assert_uint_eq(n_ns_states, 1);
	ck_assert_str_eq(ns_states[0].name, "pid:4242");
	ck_logs_prefixed();

	/* A pattern: only what it names is read. */
	setup();
	netns_dir = dir;
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), tmpdir);
	opt_str(item("Namespace"), "self");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_value("tcp", "gauge", "usable", 10);
	ck_assert_int_eq(mock.n_log, 0);
	ck_assert_uint_eq(n_ns_states, 0);

	/* Only namespaces that fail: an error for collectd (back-off). */
	setup();
	netns_dir = dir;
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), tmpdir);
	opt_str(item("Namespace"), "pid:*");
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_int_eq(mock.read(), -1);
	ck_assert_int_eq(mock.n_values, 0);
	ck_assert_int_eq(count_log("pid:4242: collection failed"), 1);

	/* The list itself cannot be read: one error, as a failed collection. */
	snprintf(path, sizeof(path), "%s/self/ns/net", tmpdir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mock.read(), -1);
	ck_assert_int_eq(mock.read(), -1);
	ck_assert_int_eq(count_log("collection failed: "), 2);
	netns_dir = NULL;
	remove_proc();
}
END_TEST

START_TEST(shutdown_frees_and_is_idempotent)
{
	run_basic();
	ck_assert_ptr_nonnull(collector);
	ck_assert_int_eq(mock.shutdown(), 0);
	ck_assert_ptr_null(collector);
	ck_assert_int_eq(mock.shutdown(), 0);
}
END_TEST

/* --- rates and time to exhaustion ----------------------------------------- */

START_TEST(rate_options)
{
	opt_bool(item("ReportRates"), false);
	opt_num(item("RateWindow"), 5);
	opt_num(item("exhaustionwarningseconds"), 120);
	opt_num(item("ExhaustionFailureSeconds"), 30.5);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(!conf.report_rates);
	ck_assert(conf.rate_window == 5);
	ck_assert(conf.ex_seconds[0] == 120 && conf.ex_seconds[1] == 30.5);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_uint_eq(own_ns.rate.window_ms, 5000);
	ck_assert_int_eq(mock.n_log, 0);

	/* Defaults: rates on, the collector's window, no alarm. */
	setup();
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(conf.report_rates);
	ck_assert(conf.ex_seconds[0] == 0 && conf.ex_seconds[1] == 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_uint_eq(own_ns.rate.window_ms, EPH_RATE_WINDOW_MS_DEFAULT);

	/* Failure must be the nearer threshold. */
	setup();
	opt_num(item("ExhaustionWarningSeconds"), 30);
	opt_num(item("ExhaustionFailureSeconds"), 30);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("ephport plugin: ExhaustionFailureSeconds "
				   "(30) must be below "
				   "ExhaustionWarningSeconds (30)"),
			 1);
	ck_assert_int_eq(mock.init(), -1);
	ck_assert_ptr_null(mock.read);
	ck_logs_prefixed();
}
END_TEST

/* The synthetic clock of the rate history. */
static int64_t fake_us;
static int64_t fake_clock(void)
{
	return fake_us;
}

/* small_root() with tcp_tw_reuse 0 and a net/snmp of opens ActiveOpens. */
static void rate_root(const char *dir, int clients, unsigned long opens)
{
	char text[512];

	small_root(dir, clients);
	put_file(dir, "sys/net/ipv4/tcp_tw_reuse", "0\n");
	snprintf(text, sizeof(text),
		 "Ip: Forwarding DefaultTTL\nIp: 1 64\n"
		 "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens "
		 "PassiveOpens AttemptFails EstabResets CurrEstab\n"
		 "Tcp: 1 200 120000 -1 %lu 0 0 0 %d\n",
		 opens, clients);
	put_file(dir, "net/snmp", text);
}

static gauge_t val(const char *pinst, const char *type, const char *tinst)
{
	const struct value *v = find(pinst, type, tinst);

	ck_assert_msg(v != NULL, "no value %s/%s-%s", pinst, type, tinst);
	return v->gauge;
}

/* One read a second: n clients of 127.0.0.1:8080 in 20 ports, 5 opens a
 * second.  Everything follows exactly: open rate 5/s, sustainable
 * (20 - n) / 60 s, both trends one port (5 %) a second, so 20 - n seconds
 * left once three samples are in. */
START_TEST(rates_from_synthetic_history)
{
	char dir[] = "/tmp/ephport-plugin-XXXXXX";
	unsigned long opens = 1000;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	rate_root(dir, 2, opens);
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), dir);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	clock_us = fake_clock;
	fake_us = 10000000;

	ck_assert_int_eq(mock.read(), 0);
	ck_names_safe();
	ck_assert(isnan(val("tcp", "operations_per_second", "open_rate")));
	ck_assert(fabs(val("tcp", "operations_per_second", "sustainable_rate") -
		       18 / 60.0) < 1e-9);
	ck_assert(isnan(val("tcp", "gauge", "headroom")));
	ck_assert(isnan(val("tcp", "duration", "seconds_to_exhaustion")));

	for (int n = 3; n <= 8; n++) {
		mock.n_values = 0;
		opens += 5;
		fake_us += 1000000;
		rate_root(dir, n, opens);
		ck_assert_int_eq(mock.read(), 0);
		ck_names_safe();
		ck_assert(
		    fabs(val("tcp", "operations_per_second", "open_rate") - 5) <
		    1e-9);
		ck_assert(fabs(val("tcp", "operations_per_second",
				   "sustainable_rate") -
			       (20 - n) / 60.0) < 1e-9);
		ck_assert(fabs(val("tcp", "gauge", "headroom") -
			       (20 - n) / 60.0 / 5) < 1e-9);
		if (n == 3) {
			/* Two samples: no trend yet. */
			ck_assert(isnan(
			    val("tcp", "duration", "seconds_to_exhaustion")));
			continue;
		}
		ck_assert_msg(
		    fabs(val("tcp", "duration", "seconds_to_exhaustion") -
			 (20 - n)) < 1e-6,
		    "n %d: %g s", n,
		    val("tcp", "duration", "seconds_to_exhaustion"));
		ck_assert(fabs(val("tcp", "duration",
				   "worst_destination_seconds_to_exhaustion") -
			       (20 - n)) < 1e-6);
		/* UDP: nothing in use, nothing approaching. */
		ck_assert(
		    isnan(val("udp", "duration", "seconds_to_exhaustion")));
	}

	/* A counter going backwards is a restart: no open rate this time. */
	mock.n_values = 0;
	fake_us += 1000000;
	rate_root(dir, 8, 10);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert(isnan(val("tcp", "operations_per_second", "open_rate")));
	ck_assert(isnan(val("tcp", "gauge", "headroom")));

	/* Flat: not approaching once the window holds no rise. */
	ck_assert_int_eq(mock.n_notifs, 0); /* no alarm configured */
	ck_logs_prefixed();
	clock_us = eph_mono_us;
	rm_rf(dir);
}
END_TEST

/* The same ramp with ExhaustionWarningSeconds 10 and
 * ExhaustionFailureSeconds 4: WARNING at 9 s left, FAILURE at 3 s, each
 * once, naming the protocol, the kind, the seconds. */
START_TEST(exhaustion_notifications_from_reads)
{
	char dir[] = "/tmp/ephport-plugin-XXXXXX";
	unsigned long opens = 1000;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), dir);
	opt_num(item("ExhaustionWarningSeconds"), 10);
	opt_num(item("ExhaustionFailureSeconds"), 4);
	opt_num(item("RateWindow"), 3);
	opt_num(item("RisingThreshold"), 100); /* keep the percent alarm */
	opt_num(item("FallingThreshold"), 99); /* quiet */
	rate_root(dir, 2, opens);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	clock_us = fake_clock;
	fake_us = 5000000;
	for (int n = 2; n <= 18; n++) {
		rate_root(dir, n, opens);
		mock.n_values = 0;
		ck_assert_int_eq(mock.read(), 0);
		opens += 5;
		fake_us += 1000000;
		/* 20 - n seconds left: warning from n 11, failure from 17. */
		ck_assert_int_eq(mock.n_notifs, n >= 17 ? 2 : n >= 11 ? 1 : 0);
	}
	ck_assert_int_eq(mock.notifs[0].severity, NOTIF_WARNING);
	ck_assert_int_eq(mock.notifs[1].severity, NOTIF_FAILURE);
	for (int i = 0; i < 2; i++) {
		ck_assert_str_eq(mock.notifs[i].plugin_instance, "tcp");
		ck_assert_str_eq(mock.notifs[i].type, "duration");
		ck_assert_str_eq(mock.notifs[i].type_instance,
				 "seconds_to_exhaustion");
		ck_assert_str_eq(notif_meta(i, "kind", NM_TYPE_STRING)->str,
				 "connect");
		ck_assert_str_eq(
		    notif_meta(i, "destination", NM_TYPE_STRING)->str,
		    "127.0.0.1 -> 127.0.0.1:8080");
		ck_assert(fabs(notif_meta(i, "open_rate", NM_TYPE_DOUBLE)->d -
			       5) < 1e-9);
	}
	ck_assert(fabs(notif_meta(0, "seconds", NM_TYPE_DOUBLE)->d - 9) < 1e-6);
	ck_assert(notif_meta(0, "threshold", NM_TYPE_DOUBLE)->d == 10);
	ck_assert(fabs(notif_meta(1, "seconds", NM_TYPE_DOUBLE)->d - 3) < 1e-6);
	ck_assert_str_eq(notif_meta(1, "level", NM_TYPE_STRING)->str,
			 "failure");
	ck_assert_msg(strstr(mock.notifs[0].message,
			     "tcp connect() ports: run out in 9.0 s at this "
			     "pace (below ExhaustionWarningSeconds 10)") ==
			  mock.notifs[0].message,
		      "%s", mock.notifs[0].message);
	ck_assert_msg(strstr(mock.notifs[1].message, "open rate 5/s, "
						     "sustainable 0.05/s; to "
						     "127.0.0.1 -> "
						     "127.0.0.1:8080"),
		      "%s", mock.notifs[1].message);
	/* The pace stops: once the window is flat for EX_CALM_READS reads,
	 * OKAY, for what it was raised for (connect), naming the rates. */
	for (int i = 0; i < 8; i++) {
		rate_root(dir, 18, opens);
		mock.n_values = 0;
		ck_assert_int_eq(mock.read(), 0);
		fake_us += 1000000;
	}
	ck_assert_int_le(mock.n_notifs, 4);
	ck_assert_int_eq(mock.notifs[mock.n_notifs - 1].severity, NOTIF_OKAY);
	ck_assert_str_eq(
	    notif_meta(mock.n_notifs - 1, "kind", NM_TYPE_STRING)->str,
	    "connect");
	ck_assert_msg(!strcmp(mock.notifs[mock.n_notifs - 1].message,
			      "tcp connect() ports: no longer approaching "
			      "exhaustion; open rate 0/s, sustainable "
			      "0.0333/s; to 127.0.0.1 -> 127.0.0.1:8080"),
		      "%s", mock.notifs[mock.n_notifs - 1].message);
	ck_logs_prefixed();
	clock_us = eph_mono_us;
	rm_rf(dir);
}
END_TEST

/* The hysteresis itself, on predictions given directly: warning 10 s,
 * failure 4 s, lowered at 12.5 s and 5 s (EX_CLEAR_FACTOR) or after
 * EX_CALM_READS reads not approaching; unknown changes nothing. */
START_TEST(exhaustion_hysteresis)
{
	static const struct {
		enum eph_trend_status st;
		double seconds;
		char want; /* '.' none, 'W', 'F', 'O' */
	} steps[] = {
	    {EPH_TREND_APPROACHING, 20, '.'},
	    {EPH_TREND_APPROACHING, 9.5, 'W'},
	    {EPH_TREND_APPROACHING, 11, '.'}, /* < 12.5: stays */
	    {EPH_TREND_APPROACHING, 9, '.'},
	    {EPH_TREND_APPROACHING, 3, 'F'},
	    {EPH_TREND_APPROACHING, 4.5, '.'}, /* < 5: stays */
	    {EPH_TREND_EXHAUSTED, 0, '.'},
	    {EPH_TREND_APPROACHING, 6, 'W'}, /* back to warning */
	    {EPH_TREND_APPROACHING, 12, '.'},
	    {EPH_TREND_APPROACHING, 13, 'O'},
	    {EPH_TREND_APPROACHING, 11, '.'}, /* >= 10: not raised */
	    {EPH_TREND_APPROACHING, 9, 'W'},
	    {EPH_TREND_UNKNOWN, 0, '.'},
	    {EPH_TREND_NOT_APPROACHING, 0, '.'},
	    {EPH_TREND_NOT_APPROACHING, 0, '.'},
	    {EPH_TREND_APPROACHING, 8, '.'}, /* resets the calm count */
	    {EPH_TREND_NOT_APPROACHING, 0, '.'},
	    {EPH_TREND_NOT_APPROACHING, 0, '.'},
	    {EPH_TREND_NOT_APPROACHING, 0, 'O'},
	    {EPH_TREND_NOT_APPROACHING, 0, '.'},
	    {EPH_TREND_EXHAUSTED, 0, 'F'},
	};
	struct eph_snapshot snap;
	struct eph_rate_result rr;
	struct ns_state ns = {.own = false, .name = "web", .id = "web"};
	int seen = 0;

	opt_num(item("ExhaustionWarningSeconds"), 10);
	opt_num(item("ExhaustionFailureSeconds"), 4);
	ck_assert_int_eq(mock.config(&block), 0);
	memset(&snap, 0, sizeof(snap));
	memset(&rr, 0, sizeof(rr));
	snap.proto[EPH_UDP].collected = true;
	snap.proto[EPH_UDP].pressure_bp = snap.proto[EPH_UDP].bind_bp = 5000;
	rr.proto[EPH_UDP].collected = true;
	rr.proto[EPH_UDP].open_status = EPH_RATE_NO_COUNTER;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		rr.proto[EPH_UDP].pressure.status = steps[i].st;
		rr.proto[EPH_UDP].pressure.seconds = steps[i].seconds;
		check_exhaustion(&snap, &ns, &rr);
		if (steps[i].want == '.') {
			ck_assert_msg(mock.n_notifs == seen,
				      "step %zu: unexpected notification: %s",
				      i, mock.notifs[seen].message);
			continue;
		}
		ck_assert_msg(mock.n_notifs == seen + 1, "step %zu: none", i);
		ck_assert_int_eq(mock.notifs[seen].severity,
				 steps[i].want == 'W'	? NOTIF_WARNING
				 : steps[i].want == 'F' ? NOTIF_FAILURE
							: NOTIF_OKAY);
		ck_assert_str_eq(mock.notifs[seen].plugin_instance, "web-udp");
		ck_assert_str_eq(notif_meta(seen, "netns", NM_TYPE_STRING)->str,
				 "web");
		ck_assert_str_eq(notif_meta(seen, "kind", NM_TYPE_STRING)->str,
				 "bind");
		ck_assert_msg(!strncmp(mock.notifs[seen].message,
				       "netns web: udp bind() ports: ", 29),
			      "%s", mock.notifs[seen].message);
		seen++;
	}
	ck_assert_int_eq(seen, 7);
	ck_assert_msg(strstr(mock.notifs[3].message,
			     "run out in 13.0 s at this pace (1.25 times "
			     "ExhaustionWarningSeconds 10 or more)"),
		      "%s", mock.notifs[3].message);
	ck_assert_msg(
	    strstr(mock.notifs[5].message, "no longer approaching exhaustion"),
	    "%s", mock.notifs[5].message);
}
END_TEST

/* --- allocation failures (issue 18) -------------------------------------- */

static const struct value *find_derive(const char *pinst, const char *tinst)
{
	const struct value *v = find(pinst, "derive", tinst);

	ck_assert_msg(v != NULL, "no derive %s/%s", pinst, tinst);
	return v;
}

static int count_fail_log(const char *needle)
{
	int n = 0;

	for (int i = 0; i < mock.n_fail_log; i++)
		n += strstr(mock.fail_log[i], needle) != NULL;
	return n;
}

/* Counters loaded at since_us (realtime), with the given totals, the
 * latest failure of each kind at last_us, one destination 127.0.0.1:5000
 * (connect) and one process 4242 "curl" (connect) holding them all. */
static void fake_failures(struct eph_snapshot *snap, int64_t since_us,
			  uint64_t c, uint64_t b, uint64_t a, int64_t last_us)
{
	struct eph_failures *f = &snap->failures;

	memset(snap, 0, sizeof(*snap));
	snap->taken_us = 1800000000000000;
	f->observable = true;
	f->since_us = since_us;
	f->total[EPH_FAIL_CONNECT] = c;
	f->total[EPH_FAIL_BIND] = b;
	f->total[EPH_FAIL_AUTOBIND] = a;
	for (int k = 0; k < EPH_FAIL_KINDS; k++)
		f->last_us[k] = f->total[k] ? last_us : 0;
	if (c) {
		f->n_dests = 1;
		f->dests[0].kind = EPH_FAIL_CONNECT;
		set_addr(&f->dests[0].raddr, AF_INET, "127.0.0.1");
		f->dests[0].rport = 5000;
		f->dests[0].count = c;
		f->n_procs = 1;
		f->procs[0].kind = EPH_FAIL_CONNECT;
		f->procs[0].pid = 4242;
		snprintf(f->procs[0].comm, sizeof(f->procs[0].comm), "curl");
		f->procs[0].count = c;
	}
	f->dest_other[EPH_FAIL_AUTOBIND] = a;
	f->proc_other[EPH_FAIL_BIND] = b;
	f->proc_other[EPH_FAIL_AUTOBIND] = a;
}

static void reset_dispatched(void)
{
	mock.n_values = 0;
	mock.n_notifs = 0;
	memset(mock.n_meta, 0, sizeof(mock.n_meta));
}

/* Not observable (BPFPinDir with no pins): no failure value at all, not a
 * zero; one log line naming why, and again only when that changes. */
START_TEST(failures_not_observable)
{
	struct eph_snapshot snap;

	opt_str(item("BPFPinDir"), "/nonexistent/ephport-pins");
	run_basic();
	ck_assert_int_eq(count_prefix("", "failures"), 0);
	ck_assert_int_eq(count_prefix("tcp", "failures"), 0);
	ck_assert_int_eq(count_prefix("udp", "failures"), 0);
	ck_assert_int_eq(mock.n_fail_log, 1);
	ck_assert_int_eq(mock.fail_log_level[0], LOG_NOTICE);
	ck_assert_msg(strstr(mock.fail_log[0],
			     "ephport plugin: failures: not observable "
			     "without the BPF source ("
			     "/nonexistent/ephport-pins/fail_meta: No such "
			     "file or directory; ephport-bpf load pins it)"),
		      "%s", mock.fail_log[0]);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_fail_log, 1);
	ck_assert_int_eq(count_prefix("", "failures"), 0);

	/* Another reason: said again; then observable, then gone again. */
	memset(&snap, 0, sizeof(snap));
	snprintf(snap.failures.why, sizeof(snap.failures.why),
		 "not observable: /x/fail_meta: Permission denied");
	report_failures(&snap, &own_ns);
	ck_assert_int_eq(mock.n_fail_log, 2);
	ck_assert(strstr(mock.fail_log[1], "failures: not observable: "
					   "/x/fail_meta: Permission denied"));
	report_failures(&snap, &own_ns);
	ck_assert_int_eq(mock.n_fail_log, 2);
	fake_failures(&snap, 1000, 0, 0, 0, 0);
	report_failures(&snap, &own_ns);
	ck_assert_int_eq(mock.n_fail_log, 3);
	ck_assert_int_eq(mock.fail_log_level[2], LOG_INFO);
	ck_assert_msg(strstr(mock.fail_log[2],
			     "ephport plugin: failures: observable again: "
			     "the BPF source counts them (since 1970-01-01 "
			     "00:00:00 UTC)"),
		      "%s", mock.fail_log[2]);
	report_failures(&snap, &own_ns);
	ck_assert_int_eq(mock.n_fail_log, 3);
	ck_logs_prefixed();
}
END_TEST

/* Observable: three derives under plugin_instance "" (collectd's own
 * namespace), zeros that were measured; a FAILURE notification per kind
 * that moved, at most one per read, covering all since the last. */
START_TEST(failures_values_and_notifications)
{
	struct eph_snapshot snap;
	const struct value *v;

	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	started_us = 2000;

	fake_failures(&snap, 1000, 0, 0, 0, 0);
	report_failures(&snap, &own_ns);
	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		char name[64];

		snprintf(name, sizeof(name), "failures-%s",
			 eph_fail_kind_name((enum eph_fail_kind)k));
		v = find_derive("", name);
		ck_assert_int_eq((int)v->raw.derive, 0);
		ck_assert(v->time == US_TO_CDTIME_T(snap.taken_us));
	}
	ck_assert_int_eq(mock.n_values, 3);
	ck_assert_int_eq(mock.n_notifs, 0);
	ck_assert_int_eq(count_fail_log("failures: observable: the BPF "
					"source counts them"),
			 1);

	/* Three connect() failures. */
	reset_dispatched();
	fake_failures(&snap, 1000, 3, 0, 0, 3000);
	report_failures(&snap, &own_ns);
	ck_assert_int_eq((int)find_derive("", "failures-connect")->raw.derive,
			 3);
	ck_assert_int_eq(mock.n_notifs, 1);
	ck_assert_int_eq(mock.notifs[0].severity, NOTIF_FAILURE);
	ck_assert_str_eq(mock.notifs[0].plugin, "ephport");
	ck_assert_str_eq(mock.notifs[0].plugin_instance, "");
	ck_assert_str_eq(mock.notifs[0].type, "derive");
	ck_assert_str_eq(mock.notifs[0].type_instance, "failures-connect");
	ck_assert_str_eq(mock.notifs[0].host, "mockhost");
	ck_assert_str_eq(mock.notifs[0].message,
			 "connect() found no free port 3 times "
			 "(EADDRNOTAVAIL; 3 since the counters started); "
			 "worst destination 127.0.0.1:5000 (3); worst process "
			 "4242 curl (3)");
	ck_assert_str_eq(notif_meta(0, "kind", NM_TYPE_STRING)->str, "connect");
	ck_assert_double_eq(notif_meta(0, "failures", NM_TYPE_DOUBLE)->d, 3);
	ck_assert_double_eq(notif_meta(0, "total", NM_TYPE_DOUBLE)->d, 3);
	ck_assert_str_eq(notif_meta(0, "destination", NM_TYPE_STRING)->str,
			 "127.0.0.1:5000");
	ck_assert_double_eq(notif_meta(0, "pid", NM_TYPE_DOUBLE)->d, 4242);
	ck_assert_str_eq(notif_meta(0, "comm", NM_TYPE_STRING)->str, "curl");

	/* Nothing new: values, no notification. */
	reset_dispatched();
	report_failures(&snap, &own_ns);
	ck_assert_int_eq(mock.n_values, 3);
	ck_assert_int_eq(mock.n_notifs, 0);

	/* Two more connect()s, one bind(0), one autobind in one interval:
	 * one notification per kind, in kind order, bind without a
	 * destination, none of them naming a process not listed. */
	reset_dispatched();
	fake_failures(&snap, 1000, 5, 1, 1, 4000);
	report_failures(&snap, &own_ns);
	ck_assert_int_eq(mock.n_notifs, 3);
	ck_assert_str_eq(mock.notifs[0].message,
			 "connect() found no free port 2 times "
			 "(EADDRNOTAVAIL; 5 since the counters started); "
			 "worst destination 127.0.0.1:5000 (5); worst process "
			 "4242 curl (5)");
	ck_assert_str_eq(mock.notifs[1].type_instance, "failures-bind");
	ck_assert_str_eq(mock.notifs[1].message,
			 "bind(0) found no free port 1 time (EADDRINUSE; 1 "
			 "since the counters started)");
	ck_assert_str_eq(mock.notifs[2].type_instance, "failures-autobind");
	ck_assert_str_eq(mock.notifs[2].message,
			 "UDP autobind found no free port 1 time (EAGAIN; 1 "
			 "since the counters started)");

	/* FailureNotification false: values, no notification. */
	reset_dispatched();
	conf.fail_notify = false;
	fake_failures(&snap, 1000, 6, 1, 1, 5000);
	report_failures(&snap, &own_ns);
	ck_assert_int_eq(mock.n_values, 3);
	ck_assert_int_eq(mock.n_notifs, 0);
	conf.fail_notify = true;

	/* The counters restarted (ephport-bpf unload, load): what they count
	 * now is news, the derive goes back (collectd's derive minimum 0). */
	reset_dispatched();
	fake_failures(&snap, 9000, 2, 0, 0, 9500);
	report_failures(&snap, &own_ns);
	ck_assert_int_eq((int)find_derive("", "failures-connect")->raw.derive,
			 2);
	ck_assert_int_eq(mock.n_notifs, 1);
	ck_assert(strstr(mock.notifs[0].message,
			 "found no free port 2 times (EADDRNOTAVAIL; 2 since"));
	ck_logs_prefixed();
}
END_TEST

/* The first reading of a namespace: failures whose latest came before the
 * plugin started are a baseline; later ones are news in full. */
START_TEST(failures_baseline)
{
	struct ns_state st = {.name = "blue", .id = "blue", .inode = 42};
	uint64_t news[EPH_FAIL_KINDS];
	struct eph_snapshot snap;

	started_us = 5000;
	fake_failures(&snap, 1000, 7, 2, 0, 4000);
	fail_update(&st.fail, &snap.failures, news);
	ck_assert_uint_eq(news[EPH_FAIL_CONNECT], 0);
	ck_assert_uint_eq(news[EPH_FAIL_BIND], 0);
	fake_failures(&snap, 1000, 8, 2, 0, 6000);
	fail_update(&st.fail, &snap.failures, news);
	ck_assert_uint_eq(news[EPH_FAIL_CONNECT], 1);
	ck_assert_uint_eq(news[EPH_FAIL_BIND], 0);
	/* A counter that went back without a new since_us: from zero. */
	fake_failures(&snap, 1000, 3, 2, 0, 7000);
	fail_update(&st.fail, &snap.failures, news);
	ck_assert_uint_eq(news[EPH_FAIL_CONNECT], 3);

	memset(&st.fail, 0, sizeof(st.fail));
	fake_failures(&snap, 1000, 7, 0, 0, 6000);
	fail_update(&st.fail, &snap.failures, news);
	ck_assert_uint_eq(news[EPH_FAIL_CONNECT], 7);
}
END_TEST

/* Another namespace: its id as plugin_instance (no protocol), its name
 * in the message and meta data and in the log line. */
START_TEST(failures_other_namespace)
{
	struct ns_state st = {.name = "blue:1", .id = "blue_1", .inode = 42};
	struct eph_snapshot snap;

	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	started_us = 2000;
	memset(&snap, 0, sizeof(snap));
	snprintf(snap.failures.why, sizeof(snap.failures.why),
		 "not observable without the BPF source (no /p/fail_meta)");
	report_failures(&snap, &st);
	ck_assert_int_eq(mock.n_values, 0);
	ck_assert_str_eq(mock.fail_log[0],
			 "ephport plugin: network namespace blue:1: failures: "
			 "not observable without the BPF source (no "
			 "/p/fail_meta); no failure values are dispatched "
			 "(said once, and again when this changes)");
	fake_failures(&snap, 1000, 1, 0, 0, 3000);
	report_failures(&snap, &st);
	ck_assert_int_eq(
	    (int)find_derive("blue_1", "failures-connect")->raw.derive, 1);
	ck_assert_int_eq(count_type("blue_1", "derive"), 3);
	ck_assert_int_eq(mock.n_notifs, 1);
	ck_assert_str_eq(mock.notifs[0].plugin_instance, "blue_1");
	ck_assert_str_eq(mock.notifs[0].message,
			 "netns blue:1: connect() found no free port 1 time "
			 "(EADDRNOTAVAIL; 1 since the counters started); "
			 "worst destination 127.0.0.1:5000 (1); worst process "
			 "4242 curl (1)");
	ck_assert_str_eq(notif_meta(0, "netns", NM_TYPE_STRING)->str, "blue:1");
	ck_assert_msg(strstr(mock.fail_log[1], "ephport plugin: network "
					       "namespace blue:1: failures: "
					       "observable again: "),
		      "%s", mock.fail_log[1]);
}
END_TEST

/* FailureDetails: a bounded set of collectd-safe names per top entry and
 * the rest as "other"; the longest fit. */
START_TEST(failures_details)
{
	struct eph_snapshot snap;
	struct eph_failures *f = &snap.failures;

	opt_bool(item("FailureDetails"), true);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(conf.fail_details);
	ck_assert_int_eq(mock.init(), 0);
	started_us = 2000;
	fake_failures(&snap, 1000, 40, 2, 3, 3000);
	f->n_dests = EPH_FAIL_TOP;
	for (int i = 0; i < EPH_FAIL_TOP; i++) {
		f->dests[i].kind = i ? EPH_FAIL_AUTOBIND : EPH_FAIL_CONNECT;
		set_addr(&f->dests[i].raddr, AF_INET6,
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
		f->dests[i].raddr.bytes[15] = (uint8_t)i;
		f->dests[i].rport = 65535;
		f->dests[i].count = (uint64_t)(40 - i);
	}
	f->n_procs = EPH_FAIL_TOP;
	for (int i = 0; i < EPH_FAIL_TOP; i++) {
		f->procs[i].kind = EPH_FAIL_AUTOBIND;
		f->procs[i].pid = 4294967295u - (uint32_t)i;
		snprintf(f->procs[i].comm, sizeof(f->procs[i].comm),
			 "a/b c:d%07d", i);
		f->procs[i].count = 1;
	}
	report_failures(&snap, &own_ns);
	ck_names_safe();
	ck_assert_int_eq(
	    (int)find_derive("", "failures-connect-dest-ffff_ffff_ffff_ffff_"
				 "ffff_ffff_ffff_ff00-65535")
		->raw.derive,
	    40);
	ck_assert_int_eq((int)find_derive("", "failures-autobind-pid-"
					      "4294967295-a_b_c_d0000000")
			     ->raw.derive,
			 1);
	ck_assert_int_eq(
	    (int)find_derive("", "failures-autobind-dest-other")->raw.derive,
	    3);
	ck_assert_int_eq(
	    (int)find_derive("", "failures-bind-pid-other")->raw.derive, 2);
	ck_no_value("", "derive", "failures-bind-dest-other");
	/* 3 totals, 16 + 16 entries, 2 dest-other, 3 pid-other. */
	ck_assert_int_eq(count_type("", "derive"), 3 + 32 + 2 + 3);
	/* The worst process of a kind, not the first listed. */
	ck_assert_msg(strstr(mock.notifs[2].message,
			     "worst process 4294967295 a/b c:d0000000 (1)"),
		      "%s", mock.notifs[2].message);
}
END_TEST

/* TcpExt TWRecycled as a derive under "tcp", from net/netstat. */
START_TEST(tw_recycled_value)
{
	char dir[] = "/tmp/ephport-plugin-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	small_root(dir, 2);
	put_file(dir, "net/snmp",
		 "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens "
		 "PassiveOpens AttemptFails EstabResets CurrEstab\n"
		 "Tcp: 1 200 120000 -1 10 0 0 0 2\n");
	put_file(dir, "net/netstat",
		 "TcpExt: SyncookiesSent TWRecycled TWKilled\n"
		 "TcpExt: 0 123456789012 0\n");
	opt_str(item("Source"), "procfs");
	opt_str(item("ProcRoot"), dir);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert(find_derive("tcp", "tw_recycled")->raw.derive ==
		  123456789012LL);
	ck_no_value("udp", "derive", "tw_recycled");
	rm_rf(dir);
}
END_TEST

START_TEST(failure_options)
{
	ck_assert(conf.fail_notify);
	ck_assert(!conf.fail_details);
	ck_assert_str_eq(conf.bpf_pin_dir, "");
	opt_str(item("BPFPinDir"), "/run/pins");
	opt_bool(item("FailureNotification"), false);
	opt_bool(item("failuredetails"), true);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_str_eq(conf.bpf_pin_dir, "/run/pins");
	ck_assert(!conf.fail_notify);
	ck_assert(conf.fail_details);
	ck_assert_int_eq(mock.n_log, 0);

	setup();
	opt_str(item("BPFPinDir"), "pins");
	opt_str(item("FailureDetails"), "maybe");
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("ephport plugin: BPFPinDir needs an "
				   "absolute directory name"),
			 1);
	ck_assert_int_eq(count_log("ephport plugin: FailureDetails needs "
				   "true or false"),
			 1);
	ck_assert_int_eq(mock.init(), -1);
}
END_TEST

/* --- who holds the ports (issue 18) -------------------------------------- */

/* A stand-in for eph_holders_collect(): what the next calls return, and
 * what they were asked. */
static struct {
	int calls;
	int err; /* < 0: fail with it */
	const struct eph_netns *ns;
	unsigned top_n;
	enum eph_holder_source source;
	uint32_t n, processes, denied;
	uint64_t unattributed;
	struct eph_holder v[8];
} fh;

static int fake_holders(struct eph_collector *c, const struct eph_netns *ns,
			unsigned top_n, struct eph_holders *out)
{
	ck_assert_ptr_eq(c, collector);
	fh.calls++;
	fh.ns = ns;
	fh.top_n = top_n;
	memset(out, 0, sizeof(*out));
	if (fh.err < 0)
		return fh.err;
	out->source = fh.source;
	out->processes = fh.processes;
	out->processes_denied = fh.denied;
	out->sockets_unattributed = fh.unattributed;
	out->n = fh.n < top_n ? fh.n : top_n; /* the collector cuts */
	out->v = calloc(8, sizeof(*out->v));
	ck_assert_ptr_nonnull(out->v);
	memcpy(out->v, fh.v, sizeof(fh.v));
	return 0;
}

static void fake_holder(int i, uint32_t pid, const char *comm, uint32_t tcp,
			uint32_t udp)
{
	struct eph_holder *h = &fh.v[i];

	memset(h, 0, sizeof(*h));
	h->pid = pid;
	snprintf(h->comm, sizeof(h->comm), "%s", comm);
	h->ports[EPH_TCP] = h->sockets[EPH_TCP] = tcp;
	h->ports[EPH_UDP] = h->sockets[EPH_UDP] = udp;
	snprintf(h->cgroup, sizeof(h->cgroup), "/user.slice");
}

static void fake_holders_reset(void)
{
	memset(&fh, 0, sizeof(fh));
	holders_collect = fake_holders;
}

START_TEST(processes_options)
{
	opt_bool(item("Processes"), true);
	opt_num(item("processestop"), 100);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(conf.processes);
	ck_assert_uint_eq(conf.processes_top, 100);
	ck_assert_int_eq(mock.n_log, 0);
	setup();
	opt_str(item("PROCESSES"), "yes");
	opt_num(item("ProcessesTop"), 1);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert(conf.processes);
	ck_assert_uint_eq(conf.processes_top, 1);
	/* Both bad: both said. */
	setup();
	opt_str(item("Processes"), "sometimes");
	opt_num(item("ProcessesTop"), 1000);
	ck_assert_int_eq(mock.config(&block), -1);
	ck_assert_int_eq(count_log("Processes needs true or false"), 1);
	ck_assert_int_eq(count_log("ProcessesTop needs a whole number from 1 "
				   "to 100"),
			 1);
	ck_assert_int_eq(mock.init(), -1);
}
END_TEST

/* Processes false (the default): not collected, nothing dispatched. */
START_TEST(processes_off)
{
	fake_holders_reset();
	fake_holder(0, 100, "client", 30, 0);
	fh.n = fh.processes = 1;
	run_basic();
	ck_assert_int_eq(fh.calls, 0);
	ck_assert_int_eq(count_prefix("", "processes-"), 0);
	ck_assert_int_eq(count_prefix("", "sockets-"), 0);
	ck_assert_int_eq(count_prefix("tcp", "ports-pid-"), 0);
	ck_assert_int_eq(count_prefix("udp", "ports-pid-"), 0);
	ck_assert_int_eq(count_log("processes:"), 0);
	ck_value("tcp", "gauge", "usable", 94);
}
END_TEST

/* Processes true: the totals under "", each listed process's ports per
 * protocol under "tcp" and "udp", zeros included; the list bounded by
 * ProcessesTop; one timestamp; the source said once and on a change. */
START_TEST(processes_values)
{
	const struct value *v;

	fake_holders_reset();
	fake_holder(0, 200, "python3", 70, 4);
	fake_holder(1, 100, "client", 30, 0);
	fake_holder(2, 300, "third", 2, 0);
	fh.n = 3;
	fh.processes = 5;
	fh.denied = 1;
	fh.unattributed = 3;
	opt_bool(item("Processes"), true);
	opt_num(item("ProcessesTop"), 2);
	run_basic();
	ck_assert_int_eq(fh.calls, 1);
	ck_assert_ptr_null(fh.ns); /* collectd's own: eph_holders_collect() */
	ck_assert_uint_eq(fh.top_n, 2);
	ck_value("", "count", "processes-holding", 5);
	ck_value("", "count", "processes-denied", 1);
	ck_value("", "count", "sockets-unattributed", 3);
	ck_value("tcp", "count", "ports-pid-200-python3", 70);
	ck_value("udp", "count", "ports-pid-200-python3", 4);
	ck_value("tcp", "count", "ports-pid-100-client", 30);
	ck_value("udp", "count", "ports-pid-100-client", 0);
	ck_no_value("tcp", "count", "ports-pid-300-third");
	ck_assert_int_eq(count_prefix("tcp", "ports-pid-"), 2);
	ck_assert_int_eq(count_prefix("udp", "ports-pid-"), 2);
	/* The snapshot's time (ck_names_safe: one per collection). */
	v = find("", "count", "processes-holding");
	ck_assert(v->time == find("tcp", "gauge", "usable")->time);
	ck_assert_int_eq(count_log("ephport plugin: processes: from /proc: "
				   "one readdir of /proc/PID/fd per process"),
			 1);

	/* Again: no new line.  Then the BPF pin: said once. */
	mock.n_values = 0;
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(count_log("processes:"), 1);
	fh.source = EPH_HOLDERS_BPF;
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(count_log("ephport plugin: processes: counted in the "
				   "kernel by the task_file iterator"),
			 1);
	ck_assert_int_eq(mock.log_level[mock.n_log - 1], LOG_INFO);
	ck_logs_prefixed();
}
END_TEST

/* comm may hold any bytes: the names keep A-Z a-z 0-9 . _ - only, the
 * longest fits, an empty comm is "_". */
START_TEST(processes_names)
{
	char name[NAME_LEN];
	struct eph_holder h;

	memset(&h, 0, sizeof(h));
	h.pid = 4294967295u;
	memcpy(h.comm, "a/b c:d\001\377x.y-z_Q", 15);
	holder_name(&h, name, sizeof(name));
	ck_assert_str_eq(name, "ports-pid-4294967295-a_b_c_d__x.y-z_");
	h.pid = 7;
	h.comm[0] = '\0';
	holder_name(&h, name, sizeof(name));
	ck_assert_str_eq(name, "ports-pid-7-_");
	snprintf(h.comm, sizeof(h.comm), "kworker/0:1H");
	holder_name(&h, name, sizeof(name));
	ck_assert_str_eq(name, "ports-pid-7-kworker_0_1H");

	fake_holders_reset();
	fake_holder(0, 4294967295u, "", 1, 1);
	memcpy(fh.v[0].comm, "\"'\\ \t\n\r/:;,=*?!", 15);
	fake_holder(1, 1, "", 1, 0);
	fh.n = fh.processes = 2;
	opt_bool(item("Processes"), true);
	run_basic(); /* ck_names_safe() */
	ck_value("tcp", "count", "ports-pid-4294967295-_______________", 1);
	ck_value("tcp", "count", "ports-pid-1-_", 1);
}
END_TEST

/* Protocol tcp: no UDP series. */
START_TEST(processes_protocol)
{
	fake_holders_reset();
	fake_holder(0, 200, "python3", 70, 4);
	fh.n = fh.processes = 1;
	opt_bool(item("Processes"), true);
	opt_str(item("Protocol"), "tcp");
	run_basic();
	ck_value("tcp", "count", "ports-pid-200-python3", 70);
	ck_assert_int_eq(count_prefix("udp", "ports-pid-"), 0);
	ck_value("", "count", "processes-holding", 1);
}
END_TEST

/* A failed holders collection: logged once per problem (and again when it
 * changes, and when it works again); the other values go on. */
START_TEST(processes_failure_logged_once)
{
	fake_holders_reset();
	fake_holder(0, 100, "client", 30, 0);
	fh.n = fh.processes = 1;
	fh.err = -EACCES;
	opt_bool(item("Processes"), true);
	run_basic();
	ck_value("tcp", "gauge", "usable", 94);
	ck_assert_int_eq(count_prefix("", "processes-"), 0);
	ck_assert_int_eq(count_prefix("tcp", "ports-pid-"), 0);
	ck_assert_int_eq(mock.n_log, 1);
	ck_assert_int_eq(mock.log_level[0], LOG_WARNING);
	ck_assert_str_eq(mock.log[0],
			 "ephport plugin: processes: cannot tell who holds the "
			 "ports: Permission denied; no process values until it "
			 "works again, the other values go on (said once per "
			 "problem)");
	mock.n_values = 0;
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_log, 1);
	ck_value("tcp", "gauge", "usable", 94);
	fh.err = -ENOMEM;
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_log, 2);
	ck_assert(strstr(mock.log[1], "ports: Cannot allocate memory;"));
	fh.err = 0;
	mock.n_values = 0;
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_log, 4);
	ck_assert_str_eq(mock.log[2],
			 "ephport plugin: processes: who holds the ports is "
			 "known again (last problem: Cannot allocate memory)");
	ck_assert_int_eq(mock.log_level[2], LOG_INFO);
	ck_assert(strstr(mock.log[3], "processes: from /proc"));
	ck_value("tcp", "count", "ports-pid-100-client", 30);
	/* A failure after it worked: said again. */
	fh.err = -ENOMEM;
	ck_assert_int_eq(mock.read(), 0);
	ck_assert_int_eq(mock.n_log, 5);
	ck_logs_prefixed();
}
END_TEST

/* Another namespace: its id as plugin_instance, its name in the log, the
 * namespace handed to eph_holders_collect_in(). */
START_TEST(processes_other_namespace)
{
	struct ns_state st = {.name = "blue:1", .id = "blue_1", .inode = 42};
	struct eph_netns ns = fake_ns(EPH_NS_NAMED, "blue:1", 42);
	struct eph_snapshot snap;

	fake_holders_reset();
	fake_holder(0, 4242, "curl", 12, 1);
	fh.n = fh.processes = 1;
	opt_bool(item("Processes"), true);
	ck_assert_int_eq(mock.config(&block), 0);
	ck_assert_int_eq(mock.init(), 0);
	memset(&snap, 0, sizeof(snap));
	snap.taken_us = 1800000000000000;
	snap.proto[EPH_TCP].collected = snap.proto[EPH_UDP].collected = true;
	report_processes(&st, &ns, &snap);
	ck_assert_ptr_eq(fh.ns, &ns);
	ck_value("blue_1", "count", "processes-holding", 1);
	ck_value("blue_1-tcp", "count", "ports-pid-4242-curl", 12);
	ck_value("blue_1-udp", "count", "ports-pid-4242-curl", 1);
	ck_assert_int_eq(count_log("ephport plugin: network namespace blue:1: "
				   "processes: from /proc"),
			 1);
	fh.err = -ENOENT;
	report_processes(&st, &ns, &snap);
	ck_assert_int_eq(count_log("ephport plugin: network namespace blue:1: "
				   "processes: cannot tell who holds the "
				   "ports: No such file or directory"),
			 1);
	ck_names_safe();
}
END_TEST

static Suite *plugin_suite(void)
{
	Suite *s = suite_create("collectd_plugin");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, registers_config_init_shutdown_only);
	tcase_add_test(tc, full_block);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, keys_case_insensitive_and_repeatable);
	tcase_add_test(tc, top_destinations_bounds);
	tcase_add_test(tc, per_kind_thresholds_parsed);
	tcase_add_loop_test(tc, bad_block, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, every_bad_option_reported);
	tcase_add_test(tc, bad_block_then_good_block_still_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, values_from_fixture);
	tcase_add_test(tc, switches_drop_values);
	tcase_add_test(tc, top_destinations_limits_list);
	tcase_add_test(tc, destination_names);
	tcase_add_test(tc, dispatch_failure_logged_once);
	tcase_add_test(tc, failure_logged_once_and_recovers);
	tcase_add_test(tc, shutdown_frees_and_is_idempotent);
	tcase_add_test(tc, notifications_with_hysteresis);
	tcase_add_test(tc, notifications_per_kind);
	tcase_add_test(tc, destination_alarm_off);
	tcase_add_test(tc, longest_message_fits);
	tcase_add_test(tc, bad_thresholds);
	tcase_add_test(tc, bad_per_kind_thresholds);
	tcase_add_test(tc, rate_options);
	tcase_add_test(tc, rates_from_synthetic_history);
	tcase_add_test(tc, exhaustion_notifications_from_reads);
	tcase_add_test(tc, exhaustion_hysteresis);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, failure_options);
	tcase_add_test(tc, failures_not_observable);
	tcase_add_test(tc, failures_values_and_notifications);
	tcase_add_test(tc, failures_baseline);
	tcase_add_test(tc, failures_other_namespace);
	tcase_add_test(tc, failures_details);
	tcase_add_test(tc, tw_recycled_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, processes_options);
	tcase_add_test(tc, processes_off);
	tcase_add_test(tc, processes_values);
	tcase_add_test(tc, processes_names);
	tcase_add_test(tc, processes_protocol);
	tcase_add_test(tc, processes_failure_logged_once);
	tcase_add_test(tc, processes_other_namespace);
	suite_add_tcase(s, tc);

	tc = tcase_create("namespaces");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, namespaces_config);
	tcase_add_test(tc, namespaces_conflicts);
	tcase_add_test(tc, namespaces_selection);
	tcase_add_test(tc, namespaces_instance_names);
	tcase_add_test(tc, namespaces_alarms_separate);
	tcase_add_test(tc, namespaces_long_message_cut);
	tcase_add_test(tc, namespaces_read_all);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Never the host's pins (/sys/fs/bpf/ephport): the failure counters
	 * are not observable unless a test says so. */
	setenv("EPHPORT_BPF_PIN", "/nonexistent/ephport-test-pins", 1);
	return eph_run_suite(plugin_suite());
}
