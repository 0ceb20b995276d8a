/* conf.c - ephportd.conf parsing (see ephportd.conf(5)). */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "range.h"

void ephd_config_defaults(struct ephd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval = 10;
	c->top_n = 5;
	c->dest_cap = EPH_DEST_CAP_DEFAULT;
	c->protocols = (1u << EPH_TCP) | (1u << EPH_UDP);
	c->state_totals = true;
	c->bpf_bound_dump = true;
	c->source = EPH_PREFER_AUTO;
	c->rising_bp = 8000;
	c->falling_bp = 7000;
	for (int k = 0; k < 3; k++)
		c->kind_rising_bp[k] = c->kind_falling_bp[k] = EPHD_UNSET;
	c->dest_alarm = true;
	c->processes_top = 10;
	c->ping_interval = 15;
}

void ephd_config_thresholds(const struct ephd_config *c, int k,
			    uint32_t *rising_bp, uint32_t *falling_bp)
{
	bool ok = k == EPH_KIND_BIND || k == EPH_KIND_CONNECT;

	*rising_bp = ok && c->kind_rising_bp[k] != EPHD_UNSET
			 ? c->kind_rising_bp[k]
			 : c->rising_bp;
	*falling_bp = ok && c->kind_falling_bp[k] != EPHD_UNSET
			  ? c->kind_falling_bp[k]
			  : c->falling_bp;
}

/* The threshold tokens, "risingThreshold" first (kind 0: the default). */
static const struct {
	const char *name;
	int kind;
	bool rising;
} thresholds[] = {
    {"risingThreshold", 0, true},
    {"fallingThreshold", 0, false},
    {"bindRisingThreshold", EPH_KIND_BIND, true},
    {"bindFallingThreshold", EPH_KIND_BIND, false},
    {"connectRisingThreshold", EPH_KIND_CONNECT, true},
    {"connectFallingThreshold", EPH_KIND_CONNECT, false},
};

static const char *threshold_name(int kind, bool rising)
{
	for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]); i++)
		if (thresholds[i].kind == kind &&
		    thresholds[i].rising == rising)
			return thresholds[i].name;
	return "?";
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -1;
}

static int parse_protocols(char *s, uint8_t *out)
{
	uint8_t mask = 0;

	for (char *tok = strtok(s, ", "); tok; tok = strtok(NULL, ", ")) {
		int p = eph_proto_from_name(tok);

		if (p < 0)
			return -1;
		mask |= (uint8_t)(1u << p);
	}
	if (!mask)
		return -1;
	*out = mask;
	return 0;
}

/* "80.555": a number in range with more decimals than a threshold has. */
static bool too_precise(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t n;

	if (!dot || dot == s || strspn(s, "0123456789") != (size_t)(dot - s))
		return false;
	n = strspn(dot + 1, "0123456789");
	return n > 2 && dot[1 + n] == '\0' && strtod(s, NULL) <= 100;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Apply one "token value" pair; returns NULL or the reason it failed. */
static const char *apply(struct ephd_config *c, const char *tok, char *val)
{
	if (strcasecmp(tok, "interval") == 0)
		return eph_parse_uint(val, 1, 86400, &c->interval) < 0
			   ? "interval: expected seconds from 1 to 86400"
			   : NULL;
	if (strcasecmp(tok, "topDestinations") == 0)
		return eph_parse_uint(val, 0, EPH_TOP_MAX, &c->top_n) < 0
			   ? "topDestinations: expected a number from 0 to 32"
			   : NULL;
	if (strcasecmp(tok, "destinationCap") == 0)
		return eph_parse_uint(val, 1, 1u << 24, &c->dest_cap) < 0
			   ? "destinationCap: expected a number from 1 to "
			     "16777216"
			   : NULL;
	if (strcasecmp(tok, "protocols") == 0)
		return parse_protocols(val, &c->protocols) < 0
			   ? "protocols: expected tcp, udp or tcp,udp"
			   : NULL;
	if (strcasecmp(tok, "stateTotals") == 0)
		return parse_bool(val, &c->state_totals) < 0
			   ? "stateTotals: expected yes or no"
			   : NULL;
	if (strcasecmp(tok, "bpfBoundSockets") == 0)
		return parse_bool(val, &c->bpf_bound_dump) < 0
			   ? "bpfBoundSockets: expected yes or no"
			   : NULL;
	if (strcasecmp(tok, "source") == 0) {
		if (strcmp(val, "auto") == 0)
			c->source = EPH_PREFER_AUTO;
		else if (strcmp(val, "netlink") == 0)
			c->source = EPH_PREFER_NETLINK;
		else if (strcmp(val, "procfs") == 0)
			c->source = EPH_PREFER_PROCFS;
		else if (strcmp(val, "bpf") == 0)
			c->source = EPH_PREFER_BPF;
		else
			return "source: expected auto, bpf, netlink or procfs";
		return NULL;
	}
	for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]);
	     i++) {
		static char why[96];
		int k = thresholds[i].kind;
		uint32_t *out =
		    !k ? (thresholds[i].rising ? &c->rising_bp : &c->falling_bp)
		    : thresholds[i].rising ? &c->kind_rising_bp[k]
					   : &c->kind_falling_bp[k];

		if (strcasecmp(tok, thresholds[i].name) != 0)
			continue;
		if (eph_parse_percent(val, out) == 0)
			return NULL;
		snprintf(why, sizeof(why),
			 too_precise(val)
			     ? "%s: at most two decimals"
			     : "%s: expected a percent from 0 to 100",
			 thresholds[i].name);
		return why;
	}
	if (strcasecmp(tok, "destinationAlarm") == 0)
		return parse_bool(val, &c->dest_alarm) < 0
			   ? "destinationAlarm: expected yes or no"
			   : NULL;
	if (strcasecmp(tok, "exhaustionSeconds") == 0)
		return eph_parse_uint(val, 0, EPHD_EXHAUSTION_S_MAX,
				      &c->exhaustion_s) < 0
			   ? "exhaustionSeconds: expected seconds from 0 (off) "
			     "to 604800"
			   : NULL;
	if (strcasecmp(tok, "processes") == 0)
		return parse_bool(val, &c->processes) < 0
			   ? "processes: expected yes or no"
			   : NULL;
	if (strcasecmp(tok, "processesTop") == 0)
		return eph_parse_uint(val, 1, EPHD_PROCESSES_TOP_MAX,
				      &c->processes_top) < 0
			   ? "processesTop: expected a number from 1 to 100"
			   : NULL;
	if (strcasecmp(tok, "agentXPingInterval") == 0)
		return eph_parse_uint(val, 0, 3600, &c->ping_interval) < 0
			   ? "agentXPingInterval: expected seconds from 0 to "
			     "3600"
			   : NULL;
	if (strcasecmp(tok, "agentXSocket") == 0) {
		if (strlen(val) >= sizeof(c->agentx_socket))
			return "agentXSocket: too long";
		if (has_control(val))
			return "agentXSocket: control characters";
		strcpy(c->agentx_socket, val);
		return NULL;
	}
	if (strcasecmp(tok, "procRoot") == 0) {
		if (strlen(val) >= sizeof(c->proc_root) || val[0] != '/' ||
		    has_control(val))
			return "procRoot: expected an absolute path";
		strcpy(c->proc_root, val);
		return NULL;
	}
	return "unknown token";
}

/* namespaces self|all|PATTERN..., namespaceExclude PATTERN...: the
 * tokens that take a list.  *bad: the word a failure is about. */
static bool is_list_token(const char *tok)
{
	return strcasecmp(tok, "namespaces") == 0 ||
	       strcasecmp(tok, "namespaceExclude") == 0;
}

static const char *apply_list(struct ephd_config *c, const char *tok,
			      char **words, unsigned n, const char **bad)
{
	bool exclude = strcasecmp(tok, "namespaceExclude") == 0;
	char(*out)[EPHD_PATTERN_LEN] = exclude ? c->exclude : c->include;

	*bad = words[0];
	if (n > EPHD_PATTERNS_MAX) {
		*bad = words[EPHD_PATTERNS_MAX];
		return exclude ? "namespaceExclude: at most 16 patterns"
			       : "namespaces: at most 16 patterns";
	}
	if (!exclude && n == 1 && strcmp(words[0], "self") == 0) {
		c->ns_mode = EPHD_NS_SELF;
		c->n_include = 0;
		return NULL;
	}
	if (!exclude && n == 1 && strcmp(words[0], "all") == 0) {
		c->ns_mode = EPHD_NS_ALL;
		c->n_include = 0;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		*bad = words[i];
		if (!exclude && strcmp(words[i], "all") == 0)
			return "namespaces: all takes no pattern beside it";
		if (strlen(words[i]) >= EPHD_PATTERN_LEN)
			return exclude ? "namespaceExclude: a pattern longer "
					 "than 127 bytes"
				       : "namespaces: a pattern longer than "
					 "127 bytes";
		if (has_control(words[i]))
			return exclude ? "namespaceExclude: control characters"
				       : "namespaces: control characters";
		strcpy(out[i], words[i]);
	}
	if (exclude) {
		c->n_exclude = n;
	} else {
		c->ns_mode = EPHD_NS_PATTERNS;
		c->n_include = n;
	}
	return NULL;
}

static bool ns_matches(const char *pattern, const struct eph_netns *ns)
{
	if (ns->name[0] && fnmatch(pattern, ns->name, 0) == 0)
		return true;
	return ns->kind == EPH_NS_SELF && fnmatch(pattern, "self", 0) == 0;
}

bool ephd_config_ns_selected(const struct ephd_config *c,
			     const struct eph_netns *ns)
{
	bool in = c->ns_mode == EPHD_NS_ALL;

	if (c->ns_mode == EPHD_NS_SELF)
		return ns->kind == EPH_NS_SELF;
	for (unsigned i = 0; i < c->n_include && !in; i++)
		in = ns_matches(c->include[i], ns);
	for (unsigned i = 0; i < c->n_exclude && in; i++)
		in = !ns_matches(c->exclude[i], ns);
	return in;
}

/* A token as the message names it: itself when it is a plain word,
 * else quoted and escaped (it came from the file). */
static const char *safe_token(const char *tok)
{
	static char q[160];

	for (const char *p = tok; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return eph_quote(tok, strlen(tok), 32, '\'', q,
					 sizeof(q));
	return strlen(tok) > 32
		   ? eph_quote(tok, strlen(tok), 32, '\'', q, sizeof(q))
		   : tok;
}

int ephd_config_parse(const char *buf, size_t len, const char *name,
		      struct ephd_config *c, char *err, size_t err_len)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0, n_seen = 0;
	/* The tokens given so far (a second one is an error, not last-wins). */
	struct {
		char tok[32];
		unsigned line;
	} seen[32];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *hash = memchr(p, '#', n);
		char text[512], *tok, *val, *rest, *word;
		/* A list token's values (one more than it takes: too many) */
		char *words[EPHD_PATTERNS_MAX + 1];
		unsigned n_words;
		const char *why, *bad = NULL;

		line++;
		if (memchr(p, '\0', n)) {
			snprintf(err, err_len, "%s:%u: a NUL byte in the line",
				 name, line);
			return -EINVAL;
		}
		/* A comment may be as long as it likes. */
		if (hash)
			n = (size_t)(hash - p);
		if (n >= sizeof(text)) {
			snprintf(err, err_len, "%s:%u: line too long", name,
				 line);
			return -EINVAL;
		}
		memcpy(text, p, n);
		text[n] = '\0';
		p = nl ? nl + 1 : end;
		tok = strtok_r(text, " \t\r", &rest);
		if (!tok)
			continue;
		val = strtok_r(NULL, " \t\r", &rest);
		if (!val) {
			snprintf(err, err_len, "%s:%u: %s: missing value", name,
				 line, safe_token(tok));
			return -EINVAL;
		}
		words[0] = val;
		n_words = 1;
		while ((word = strtok_r(NULL, " \t\r", &rest)) != NULL)
			if (n_words < sizeof(words) / sizeof(words[0]))
				words[n_words++] = word;
		if (n_words > 1 && !is_list_token(tok)) {
			snprintf(err, err_len, "%s:%u: %s: one value expected",
				 name, line, safe_token(tok));
			return -EINVAL;
		}
		for (unsigned i = 0; i < n_seen; i++) {
			if (strcasecmp(seen[i].tok, tok) != 0)
				continue;
			snprintf(err, err_len,
				 "%s:%u: %s given twice (first on line %u)",
				 name, line, seen[i].tok, seen[i].line);
			return -EINVAL;
		}
		why = is_list_token(tok)
			  ? apply_list(c, tok, words, n_words, &bad)
			  : apply(c, tok, val);
		if (bad)
			val = (char *)bad;
		if (!why && strcasecmp(tok, "namespaceExclude") == 0)
			snprintf(c->exclude_at, sizeof(c->exclude_at), "%s:%u",
				 name, line);
		if (!why && n_seen < sizeof(seen) / sizeof(seen[0]) &&
		    strlen(tok) < sizeof(seen[0].tok)) {
			strcpy(seen[n_seen].tok, tok);
			seen[n_seen++].line = line;
		}
		if (why) {
			char q[160];

			/* From the file: quoted, escaped and shortened. */
			if (strcmp(why, "unknown token") == 0)
				snprintf(err, err_len,
					 "%s:%u: unknown token %s", name, line,
					 eph_quote(tok, strlen(tok), 32, '\'',
						   q, sizeof(q)));
			else
				snprintf(err, err_len, "%s:%u: %s (got %s)",
					 name, line, why,
					 eph_quote(val, strlen(val), 32, '\'',
						   q, sizeof(q)));
			return -EINVAL;
		}
	}
	return 0;
}

int ephd_config_check(const struct ephd_config *c, char *err, size_t err_len)
{
	static const int kinds[] = {EPH_KIND_BIND, EPH_KIND_CONNECT};

	if (c->n_exclude && c->ns_mode == EPHD_NS_SELF) {
		snprintf(err, err_len,
			 "%s: namespaceExclude needs namespaces all or "
			 "namespaces PATTERN... (namespaces is self)",
			 c->exclude_at);
		return -EINVAL;
	}
	for (size_t i = 0; i < 2; i++) {
		int k = kinds[i];
		uint32_t rising, falling;

		ephd_config_thresholds(c, k, &rising, &falling);
		if (falling < rising)
			continue;
		snprintf(
		    err, err_len,
		    "%s (%u.%02u%%) must be below %s (%u.%02u%%)%s%s",
		    threshold_name(c->kind_falling_bp[k] != EPHD_UNSET ? k : 0,
				   false),
		    falling / 100, falling % 100,
		    threshold_name(c->kind_rising_bp[k] != EPHD_UNSET ? k : 0,
				   true),
		    rising / 100, rising % 100,
		    c->kind_rising_bp[k] == EPHD_UNSET &&
			    c->kind_falling_bp[k] == EPHD_UNSET
			? ""
			: " for the ",
		    c->kind_rising_bp[k] == EPHD_UNSET &&
			    c->kind_falling_bp[k] == EPHD_UNSET
			? ""
		    : k == EPH_KIND_BIND ? "bind alarms"
					 : "connect alarms");
		return -EINVAL;
	}
	return 0;
}

int ephd_config_load(const char *path, struct ephd_config *c, char *err,
		     size_t err_len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(-ret));
		return ret;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = (long)fread(buf, 1, 1 << 20, f);
	if (ferror(f) || !feof(f)) {
		snprintf(err, err_len, "%s: %s", path,
			 ferror(f) ? strerror(errno) : "larger than 1 MiB");
		ret = -EINVAL;
	} else {
		ret = ephd_config_parse(buf, (size_t)n, path, c, err, err_len);
	}
	free(buf);
	fclose(f);
	return ret;
}

/* ---- what a reload changes ---------------------------------------------- */

static void fmt_bp(uint32_t bp, char *buf, size_t len)
{
	if (bp == EPHD_UNSET)
		snprintf(buf, len, "unset");
	else
		snprintf(buf, len, "%u.%02u%%", bp / 100, bp % 100);
}

static void fmt_protocols(uint8_t mask, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (mask & (1u << p))
			n += (size_t)snprintf(
			    buf + n, len - n, "%s%s", n ? "," : "",
			    eph_proto_name((enum eph_proto)p));
}

static const char *source_name(enum eph_source_pref s)
{
	return s == EPH_PREFER_NETLINK	? "netlink"
	       : s == EPH_PREFER_PROCFS ? "procfs"
	       : s == EPH_PREFER_BPF	? "bpf"
					: "auto";
}

static void fmt_namespaces(const struct ephd_config *c, bool exclude, char *buf,
			   size_t len)
{
	unsigned n = exclude ? c->n_exclude : c->n_include;
	size_t used = 0;

	buf[0] = '\0';
	if (!exclude && c->ns_mode != EPHD_NS_PATTERNS) {
		snprintf(buf, len, "%s",
			 c->ns_mode == EPHD_NS_ALL ? "all" : "self");
		return;
	}
	for (unsigned i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? " " : "",
				 exclude ? c->exclude[i] : c->include[i]);

		if (w > 0)
			used += (size_t)w;
	}
}

struct diff_out {
	char *buf;
	size_t len, used;
	int n;
};

static void add(struct diff_out *d, const char *name, const char *a,
		const char *b)
{
	int w;

	if (strcmp(a, b) == 0)
		return;
	d->n++;
	if (d->used >= d->len)
		return;
	w = snprintf(d->buf + d->used, d->len - d->used, "%s%s %s -> %s",
		     d->used ? ", " : "", name, a[0] ? a : "\"\"",
		     b[0] ? b : "\"\"");
	if (w > 0)
		d->used += (size_t)w;
}

int ephd_config_diff(const struct ephd_config *a, const struct ephd_config *b,
		     char *out, size_t out_len)
{
	struct diff_out d = {.buf = out, .len = out_len};
	char x[300], y[300];

	if (out_len)
		out[0] = '\0';
#define NUM(field, name)                                                       \
	do {                                                                   \
		snprintf(x, sizeof(x), "%u", (unsigned)a->field);              \
		snprintf(y, sizeof(y), "%u", (unsigned)b->field);              \
		add(&d, name, x, y);                                           \
	} while (0)
#define BP(field, name)                                                        \
	do {                                                                   \
		fmt_bp(a->field, x, sizeof(x));                                \
		fmt_bp(b->field, y, sizeof(y));                                \
		add(&d, name, x, y);                                           \
	} while (0)
	NUM(interval, "interval");
	NUM(top_n, "topDestinations");
	NUM(dest_cap, "destinationCap");
	fmt_protocols(a->protocols, x, sizeof(x));
	fmt_protocols(b->protocols, y, sizeof(y));
	add(&d, "protocols", x, y);
	add(&d, "stateTotals", a->state_totals ? "yes" : "no",
	    b->state_totals ? "yes" : "no");
	add(&d, "bpfBoundSockets", a->bpf_bound_dump ? "yes" : "no",
	    b->bpf_bound_dump ? "yes" : "no");
	add(&d, "source", source_name(a->source), source_name(b->source));
	BP(rising_bp, "risingThreshold");
	BP(falling_bp, "fallingThreshold");
	BP(kind_rising_bp[EPH_KIND_BIND], "bindRisingThreshold");
	BP(kind_falling_bp[EPH_KIND_BIND], "bindFallingThreshold");
	BP(kind_rising_bp[EPH_KIND_CONNECT], "connectRisingThreshold");
	BP(kind_falling_bp[EPH_KIND_CONNECT], "connectFallingThreshold");
	add(&d, "destinationAlarm", a->dest_alarm ? "yes" : "no",
	    b->dest_alarm ? "yes" : "no");
	NUM(exhaustion_s, "exhaustionSeconds");
	add(&d, "processes", a->processes ? "yes" : "no",
	    b->processes ? "yes" : "no");
	NUM(processes_top, "processesTop");
	NUM(ping_interval, "agentXPingInterval");
	add(&d, "agentXSocket", a->agentx_socket, b->agentx_socket);
	add(&d, "procRoot", a->proc_root, b->proc_root);
	fmt_namespaces(a, false, x, sizeof(x));
	fmt_namespaces(b, false, y, sizeof(y));
	add(&d, "namespaces", x, y);
	fmt_namespaces(a, true, x, sizeof(x));
	fmt_namespaces(b, true, y, sizeof(y));
	add(&d, "namespaceExclude", x, y);
#undef NUM
#undef BP
	return d.n;
}
