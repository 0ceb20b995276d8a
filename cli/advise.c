/*
 * advise.c - `ephport advise [--firewall LOW-HIGH]`: what to change about
 * the ephemeral range, from a live collection (Linux) or from captured
 * outputs (--os): its size, where it sits against IANA's dynamic range
 * 49152-65535, listeners inside it (the firewall hazard), reserved-port
 * conflicts, alignment with an opened firewall range, and the system's
 * own commands to move it now and for good.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "captured.h"
#include "os/os.h"

#define IANA_LOW  49152u
#define IANA_HIGH 65535u
#define IANA_SIZE (IANA_HIGH - IANA_LOW + 1)

enum level { L_OK, L_NOTE, L_WARNING, L_CRITICAL };
static const char *const level_name[] = {"ok", "note", "warning", "critical"};

struct finding {
	enum level level;
	const char *code;
	char protocols[8]; /* "tcp", "udp", "tcp+udp", "" */
	char msg[700];
};

#define MAX_FINDINGS 40
#define CMD_LEN	     4096

struct advice {
	const struct eph_os *os;
	bool live;
	struct finding f[MAX_FINDINGS];
	int n;
	unsigned tlow, thigh; /* the range the commands set */
	const char *target_why;
	bool current; /* the range already is the target */
	char now[CMD_LEN], persist[CMD_LEN];
	/* Room for a long reserved list, twice (command and file line). */
	char reserve_ports[16384];
	char reserve[2 * 16384 + 256];
};

static struct finding *add(struct advice *a, enum level l, const char *code,
			   const char *protocols, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static struct finding *add(struct advice *a, enum level l, const char *code,
			   const char *protocols, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	if (a->n == MAX_FINDINGS)
		return NULL;
	f = &a->f[a->n++];
	f->level = l;
	f->code = code;
	snprintf(f->protocols, sizeof(f->protocols), "%s", protocols);
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return f;
}

/* "40000-40009,40020" from the bits of bm in [lo, hi]; "" when none.
 * Returns false when it did not fit (buf then ends in "..."). */
static bool list_ports(const uint8_t *bm, unsigned lo, unsigned hi, char *buf,
		       size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned p = lo; p <= hi; p++) {
		unsigned q = p;

		if (!eph_bit_test(bm, p))
			continue;
		while (q < hi && eph_bit_test(bm, q + 1))
			q++;
		if (n < len)
			n += (size_t)(q == p ? snprintf(buf + n, len - n,
							"%s%u", n ? "," : "", p)
					     : snprintf(buf + n, len - n,
							"%s%u-%u", n ? "," : "",
							p, q));
		p = q;
	}
	if (n >= len && len > 4)
		strcpy(buf + len - 4, "...");
	return n < len;
}

/* Ports of [a, b] outside [c, d], as at most two intervals. */
static unsigned outside(unsigned a, unsigned b, unsigned c, unsigned d,
			char *buf, size_t len)
{
	unsigned n = 0;
	size_t w = 0;

	buf[0] = '\0';
	if (a < c) {
		unsigned e = b < c ? b : c - 1;

		n += e - a + 1;
		w += (size_t)snprintf(buf + w, len - w, "%u-%u", a, e);
	}
	if (b > d) {
		unsigned s = a > d ? a : d + 1;

		n += b - s + 1;
		snprintf(buf + w, len - w, "%s%u-%u", w ? " and " : "", s, b);
	}
	return n;
}

static void range_findings(struct advice *a, const struct eph_proto_stats *s,
			   const char *protos)
{
	unsigned lo = s->low, hi = s->high;
	char buf[96];

	if (s->all_reserved)
		add(a, L_CRITICAL, "every_port_reserved", protos,
		    "every port of the range %u-%u is reserved: bind(0) and "
		    "connect() have nothing to take",
		    lo, hi);
	if (lo >= 1024 && lo <= 1025 && hi >= 4999 && hi <= 5000)
		add(a, L_WARNING, "legacy_range", protos,
		    "range %u-%u is the old BSD / Windows XP default: %u "
		    "ports, and each stays taken for the whole TIME_WAIT "
		    "after a close, so a busy client runs out within minutes",
		    lo, hi, s->size);
	else if (s->usable < 4096)
		add(a, L_WARNING, "small_range", protos,
		    "range %u-%u leaves only %u usable ports: a busy client "
		    "or proxy exhausts it",
		    lo, hi, s->usable);
	else if (s->usable < IANA_SIZE)
		add(a, L_NOTE, "small_range", protos,
		    "range %u-%u has %u usable ports, fewer than the %u of "
		    "IANA's 49152-65535",
		    lo, hi, s->usable, IANA_SIZE);
	if (lo < 1024)
		add(a, L_WARNING, "privileged_ports", protos,
		    "range %u-%u starts below 1024: ports 1-1023 belong to "
		    "privileged services",
		    lo, hi);
	if (hi == IANA_HIGH && lo == IANA_LOW)
		add(a, L_OK, "iana_aligned", protos,
		    "range %u-%u is IANA's dynamic range", lo, hi);
	else if (hi == IANA_HIGH && lo < IANA_LOW && lo >= 1024)
		add(a, L_OK, "iana_aligned", protos,
		    "range %u-%u covers IANA's 49152-65535 and grows downwards "
		    "from it, the recommended way to enlarge it",
		    lo, hi);
	else if (outside(IANA_LOW, IANA_HIGH, lo, hi, buf, sizeof(buf)) > 0)
		add(a, L_NOTE, "iana_misaligned", protos,
		    "range %u-%u leaves IANA's dynamic ports %s unused%s", lo,
		    hi, buf,
		    hi < IANA_LOW ? " and lies among the registered ports "
				    "1024-49151, where services have "
				    "assigned numbers"
				  : "");
	if (s->reserved)
		add(a, s->reserved * 2 > s->size ? L_WARNING : L_NOTE,
		    "reserved_ports", protos,
		    "%u ports inside the range are reserved (%s): %u of %u "
		    "stay usable",
		    s->reserved,
		    a->os->reserved_name ? a->os->reserved_name : "reserved",
		    s->usable, s->size);
}

static void firewall_findings(struct advice *a, const struct eph_cli_extra *x,
			      const struct eph_proto_stats *s,
			      const char *protos)
{
	char buf[96];
	unsigned n;
	bool aligned = true;

	n = outside(s->low, s->high, x->fw_low, x->fw_high, buf, sizeof(buf));
	if (n) {
		aligned = false;
		add(a, L_WARNING, "firewall_misaligned", protos,
		    "%u ports of the range %u-%u (%s) are outside the "
		    "firewall's open %u-%u: inbound connections to them "
		    "(active-mode FTP data, call-backs) are dropped",
		    n, s->low, s->high, buf, x->fw_low, x->fw_high);
	}
	n = outside(x->fw_low, x->fw_high, s->low, s->high, buf, sizeof(buf));
	if (n) {
		aligned = false;
		add(a, L_WARNING, "firewall_exposes", protos,
		    "the firewall opens %u ports outside the range (%s): "
		    "any service listening there is reachable from outside",
		    n, buf);
	}
	if (aligned)
		add(a, L_OK, "firewall_aligned", protos,
		    "range %u-%u is exactly the firewall's open range", s->low,
		    s->high);
}

static void listener_findings(struct advice *a, enum eph_proto p,
			      const struct eph_proto_stats *s,
			      const struct eph_cli_extra *x, uint8_t *want)
{
	char list[400];
	size_t n = 0;

	if (!s->listeners_in_range)
		return;
	list[0] = '\0';
	for (uint32_t i = 0; i < s->n_listeners && n < sizeof(list); i++) {
		char addr[64];

		eph_addr_format(&s->listeners[i].addr, addr, sizeof(addr));
		n += (size_t)snprintf(
		    list + n, sizeof(list) - n, "%s%s%s%s:%u", i ? ", " : "",
		    s->listeners[i].addr.family == AF_INET6 ? "[" : "", addr,
		    s->listeners[i].addr.family == AF_INET6 ? "]" : "",
		    s->listeners[i].port);
		eph_bit_set(want, s->listeners[i].port);
	}
	if (n >= sizeof(list))
		strcpy(list + sizeof(list) - 4, "...");
	add(a, L_WARNING, "listener_in_range", eph_proto_name(p),
	    "%u %s inside the range: %s.  An outgoing connection can take "
	    "such a port while its service is down (the restart fails with "
	    "EADDRINUSE), and a firewall opened for the range exposes it%s",
	    s->listeners_in_range,
	    p == EPH_TCP ? "TCP listener(s)"
			 : "unconnected UDP socket(s) (services, or clients "
			   "that never connect())",
	    list, x->have_firewall ? "" : "; move the service or the range");
}

/* The range the commands set: the firewall's, else IANA's grown down to
 * the current size (the seeds' advice: keep 65535 as the top). */
static void pick_target(struct advice *a, const struct eph_snapshot *s,
			const struct eph_cli_extra *x)
{
	unsigned size = IANA_SIZE, floor = 1024;

	if (a->os->min_low > floor)
		floor = a->os->min_low;
	if (x->have_firewall) {
		a->tlow = x->fw_low < floor ? floor : x->fw_low;
		a->thigh = x->fw_high;
		a->target_why = "the firewall's open range";
		if (a->tlow > a->thigh)
			a->tlow = a->thigh;
		return;
	}
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (s->proto[p].collected && s->proto[p].size > size)
			size = s->proto[p].size;
	a->thigh = IANA_HIGH;
	a->tlow = 65536 - size < floor ? floor : 65536 - size;
	a->target_why = size > IANA_SIZE
			    ? "IANA's 49152-65535, grown downwards "
			      "to keep the current size"
			    : "IANA's dynamic range";
}

/* The reserved list a Linux host has now: captured, or read live. */
static void current_reserved(const struct eph_cli_extra *x, uint8_t *bm)
{
	char path[1100];
	char *buf;
	long n;

	memset(bm, 0, EPH_BITMAP_BYTES);
	if (x->captured) {
		memcpy(bm, x->info.reserved, EPH_BITMAP_BYTES);
		return;
	}
	snprintf(path, sizeof(path), "%s/sys/net/ipv4/ip_local_reserved_ports",
		 x->proc_root ? x->proc_root : "/proc");
	buf = malloc(65536 * 7);
	if (!buf)
		return;
	n = eph_read_file(path, buf, 65536 * 7);
	if (n >= 0)
		eph_reserved_parse(buf, (size_t)n, bm);
	free(buf);
}

static void build(struct advice *a, const struct eph_snapshot *s,
		  const struct eph_cli_extra *x)
{
	const struct eph_proto_stats *t = &s->proto[EPH_TCP],
				     *u = &s->proto[EPH_UDP];
	uint8_t *want = calloc(2, EPH_BITMAP_BYTES);
	bool same = t->collected && u->collected && t->low == u->low &&
		    t->high == u->high && t->reserved == u->reserved;

	memset(a, 0, sizeof(*a));
	a->os = eph_os_find(x->captured ? x->info.os : "linux");
	a->live = !x->captured;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &s->proto[p];
		const char *name = same ? "tcp+udp" : eph_proto_name(p);

		if (!ps->collected || (same && p == EPH_UDP))
			continue;
		range_findings(a, ps, name);
		if (x->have_firewall)
			firewall_findings(a, x, ps, name);
	}
	if (x->captured && x->info.has_alt)
		add(a, L_NOTE, "second_range", "tcp+udp",
		    "a second range %u-%u serves programs that ask for it "
		    "(IP_PORTRANGE_HIGH; %u TCP and %u UDP ports held); %s",
		    x->info.alt_low, x->info.alt_high,
		    x->info.alt_ports_in_use[EPH_TCP],
		    x->info.alt_ports_in_use[EPH_UDP], x->info.default_note);
	if (x->captured && x->info.has_reserved_range && t->collected &&
	    x->info.resv_high >= t->low && x->info.resv_low <= t->high)
		add(a, L_WARNING, "reserved_range_overlap", "tcp+udp",
		    "the low range %u-%u (IP_PORTRANGE_LOW, privileged) "
		    "overlaps the ephemeral range %u-%u",
		    x->info.resv_low, x->info.resv_high, t->low, t->high);
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (s->proto[p].collected && want)
			listener_findings(a, (enum eph_proto)p, &s->proto[p], x,
					  want);
	if (x->captured && !x->info.sockets)
		add(a, L_NOTE, "no_sockets", "",
		    "no --sockets-file: listeners inside the range were not "
		    "checked");
	pick_target(a, s, x);
	a->current = true;
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (s->proto[p].collected && (s->proto[p].low != a->tlow ||
					      s->proto[p].high != a->thigh))
			a->current = false;
	if (a->os->cmd_now)
		eph_os_expand(a->os->cmd_now, a->tlow, a->thigh, NULL, a->now,
			      sizeof(a->now));
	if (a->os->cmd_persist)
		eph_os_expand(a->os->cmd_persist, a->tlow, a->thigh, NULL,
			      a->persist, sizeof(a->persist));
	/* Linux: reserve the listeners' ports, keeping the list there is. */
	if (a->os->cmd_reserve && want) {
		uint8_t *have = want + EPH_BITMAP_BYTES;
		bool any = false;

		current_reserved(x, have);
		for (unsigned i = 0; i < EPH_BITMAP_BYTES; i++) {
			if (want[i] & ~have[i])
				any = true;
			want[i] |= have[i];
		}
		/* A cut list would drop reservations: no command then. */
		if (any && list_ports(want, 1, 65535, a->reserve_ports,
				      sizeof(a->reserve_ports)))
			eph_os_expand(a->os->cmd_reserve, a->tlow, a->thigh,
				      a->reserve_ports, a->reserve,
				      sizeof(a->reserve));
		else if (any)
			add(a, L_NOTE, "reserve_list_long", "",
			    "the reserved list with the listeners' ports is "
			    "too "
			    "long to print: add them to "
			    "net.ipv4.ip_local_reserved_ports by hand");
	}
	free(want);
}

static void print_lines(FILE *f, const char *indent, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);

		fprintf(f, "%s%.*s\n", indent, (int)n, text);
		text += n + (nl != NULL);
	}
}

void eph_print_advice(FILE *f, const struct eph_snapshot *s,
		      const struct eph_cli_extra *x)
{
	struct advice *a = malloc(sizeof(*a));

	if (!a) {
		fputs("ephport advise: out of memory\n", f);
		return;
	}
	build(a, s, x);
	fprintf(f, "ephport advise: %s (%s)\n", a->os->label,
		a->live ? "live" : "captured output");
	for (int i = 0; i < a->n; i++) {
		char lvl[16];
		size_t j;

		for (j = 0; level_name[a->f[i].level][j] && j + 1 < sizeof(lvl);
		     j++)
			lvl[j] =
			    (char)(level_name[a->f[i].level][j] - 'a' + 'A');
		lvl[j] = '\0';
		fprintf(f, "  %-8s %-7s %s\n", lvl,
			a->f[i].protocols[0] ? a->f[i].protocols : "-",
			a->f[i].msg);
	}
	if (!a->n)
		fputs("  nothing to report\n", f);
	if (a->current)
		fprintf(f,
			"\nThe range already is %u-%u (%s); to set it on "
			"another %s host:\n",
			a->tlow, a->thigh, a->target_why, a->os->label);
	else
		fprintf(f,
			"\nTo set the range to %u-%u (%u ports, %s) on %s:\n",
			a->tlow, a->thigh, a->thigh - a->tlow + 1,
			a->target_why, a->os->label);
	if (a->now[0]) {
		fputs("  now:\n", f);
		print_lines(f, "    ", a->now);
	}
	if (a->persist[0]) {
		fputs("  persistently:\n", f);
		print_lines(f, "    ", a->persist);
	}
	if (a->os->persist_note)
		fprintf(f, "  (%s)\n", a->os->persist_note);
	if (a->reserve[0]) {
		fputs("\nTo keep the listeners' ports out of the range "
		      "(reserved list merged with the current one):\n",
		      f);
		print_lines(f, "    ", a->reserve);
	}
	free(a);
}

/* A '\n'-separated text as a JSON array of strings. */
static void json_lines(FILE *f, const char *text)
{
	char line[CMD_LEN];
	int n = 0;

	fputc('[', f);
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, text, len);
		line[len] = '\0';
		fputs(n++ ? ", " : "", f);
		eph_json_string(f, line);
		text = nl ? nl + 1 : text + len;
	}
	fputc(']', f);
}

void eph_print_advice_json(FILE *f, const struct eph_snapshot *s,
			   const struct eph_cli_extra *x)
{
	struct advice *a = malloc(sizeof(*a));

	if (!a) {
		fputs("null", f);
		return;
	}
	build(a, s, x);
	fputs("{\n    \"os\": ", f);
	eph_json_string(f, a->os->name);
	fputs(", \"label\": ", f);
	eph_json_string(f, a->os->label);
	fprintf(f, ", \"live\": %s,\n    \"findings\": [",
		a->live ? "true" : "false");
	for (int i = 0; i < a->n; i++) {
		fprintf(f,
			"%s\n      {\"level\": \"%s\", \"code\": \"%s\", "
			"\"protocols\": ",
			i ? "," : "", level_name[a->f[i].level], a->f[i].code);
		eph_json_string(f, a->f[i].protocols);
		fputs(", \"message\": ", f);
		eph_json_string(f, a->f[i].msg);
		fputc('}', f);
	}
	fprintf(f,
		"%s],\n    \"target\": {\"low\": %u, \"high\": %u, \"size\": "
		"%u, \"current\": %s, \"why\": ",
		a->n ? "\n    " : "", a->tlow, a->thigh, a->thigh - a->tlow + 1,
		a->current ? "true" : "false");
	eph_json_string(f, a->target_why);
	fputs("},\n    \"commands\": {\"now\": ", f);
	json_lines(f, a->now);
	fputs(", \"persistent\": ", f);
	json_lines(f, a->persist);
	fputs(", \"reserve\": ", f);
	json_lines(f, a->reserve);
	fputs(", \"note\": ", f);
	if (a->os->persist_note)
		eph_json_string(f, a->os->persist_note);
	else
		fputs("null", f);
	fputs("}\n  }", f);
	free(a);
}
