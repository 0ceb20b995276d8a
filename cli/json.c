/* json.c - `ephport --json`: keys documented in doc/ephport.1. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"

#define VERSION_STRING PACKAGE_VERSION

size_t eph_utf8_len(const char *str, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (s[0] < 0x80)
		return 1;
	/* Unicode's table of well-formed sequences (3.9, table 3-7): the
	 * narrower second-byte ranges exclude overlong forms, surrogates
	 * and code points above U+10FFFF. */
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		*bad = 1;
		return 0;
	}
	/* The terminating NUL is no continuation byte: never read past. */
	for (size_t i = 1; i <= need; i++) {
		if (s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

/*
 * A JSON string: quotes, backslashes and control characters escaped.  JSON
 * text is UTF-8 (RFC 8259) but a comm or a cgroup path is any bytes (the
 * kernel cuts a comm at 15 bytes, maybe inside a character): well-formed
 * UTF-8 is copied, each maximal ill-formed subpart becomes one \ufffd, as
 * Python's, ICU's and the WHATWG decoders do, so a consumer that decodes
 * the raw bytes with replacement gets the same string.
 */
void eph_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const char *p = s; *p;) {
		unsigned char c = (unsigned char)*p;
		size_t bad, n = eph_utf8_len(p, &bad);

		if (n == 0) {
			fputs("\\ufffd", f);
			p += bad;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

static void json_percent(FILE *f, uint32_t bp)
{
	fprintf(f, "%u.%02u", bp / 100, bp % 100);
}

static void json_addr(FILE *f, const struct eph_addr *a)
{
	char buf[64];

	eph_json_string(f, eph_addr_format(a, buf, sizeof(buf)));
}

static void json_dest(FILE *f, const struct eph_dest *d)
{
	fputs("{\"local_address\": ", f);
	json_addr(f, &d->laddr);
	fputs(", \"remote_address\": ", f);
	json_addr(f, &d->raddr);
	fprintf(f,
		", \"remote_port\": %u, \"sockets\": %u, \"time_wait\": %u, "
		"\"tw_reusable\": %u, \"blocked_ports\": %u, "
		"\"connect_pressure_percent\": ",
		d->rport, d->sockets, d->time_wait, d->tw_reusable, d->blocked);
	json_percent(f, d->connect_bp);
	/* Deprecated: the first model's sockets / usable. */
	fputs(", \"exhaustion_percent\": ", f);
	json_percent(f, d->exhaustion_bp);
	fputc('}', f);
}

static void json_states(FILE *f, enum eph_proto p, const uint64_t *counts)
{
	const enum eph_tcp_state *st = eph_proto_states(p);

	fputc('{', f);
	for (int i = 0; st[i] != EPH_ST_UNKNOWN; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
			eph_state_key(st[i]), counts[st[i]]);
	fputc('}', f);
}

static void json_proto(FILE *f, const struct eph_report *r, enum eph_proto p,
		       const struct eph_proto_stats *s)
{
	fprintf(f, "    \"%s\": {\n", eph_proto_name(p));
	fprintf(f, "      \"source\": \"%s\",\n", eph_source_name(s->source));
	fprintf(f,
		"      \"range\": {\"low\": %u, \"high\": %u, \"size\": %u, "
		"\"reserved\": %u, \"usable\": %u},\n",
		s->low, s->high, s->size, s->reserved, s->usable);
	fprintf(f, "      \"all_reserved\": %s,\n",
		s->all_reserved ? "true" : "false");
	/* The headline: what fails first, and where for connect(). */
	fputs("      \"pressure\": {\"percent\": ", f);
	json_percent(f, s->pressure_bp);
	fprintf(f, ", \"kind\": \"%s\", \"destination\": ",
		eph_kind_name(s->pressure_kind));
	if (s->pressure_kind == EPH_KIND_CONNECT && s->has_worst)
		json_dest(f, &s->worst);
	else
		fputs("null", f);
	fputs("},\n      \"bind_pressure_percent\": ", f);
	json_percent(f, s->bind_bp);
	fprintf(f,
		",\n      \"bind_exact\": %s,\n"
		"      \"bind_owned_ports\": %u,\n"
		"      \"owners_exact\": %s,\n"
		"      \"connect_pressure_percent\": ",
		s->bind_exact ? "true" : "false", s->bind_owned,
		s->owners_exact ? "true" : "false");
	json_percent(f, s->connect_bp);
	fputs(",\n      \"connect_new_destination_percent\": ", f);
	json_percent(f, s->connect_new_bp);
	fprintf(f, ",\n      \"time_wait_reusable\": %" PRIu64 ",\n",
		s->time_wait_reusable);
	fprintf(f, "      \"ports_in_use\": %u,\n      \"ports_free\": %u,\n",
		s->ports_in_use, s->ports_free);
	fprintf(f,
		"      \"sockets_in_range\": %" PRIu64 ",\n"
		"      \"sockets_total\": %" PRIu64 ",\n",
		s->sockets_in_range, s->sockets_total);
	fprintf(f,
		"      \"time_wait\": %" PRIu64 ",\n"
		"      \"time_wait_total\": %" PRIu64 ",\n",
		s->time_wait, s->time_wait_total);
	fprintf(f, "      \"totals_exact\": %s,\n",
		s->totals_exact ? "true" : "false");
	fputs("      \"states_in_range\": ", f);
	json_states(f, p, s->state_in_range);
	fputs(",\n      \"states_total\": ", f);
	json_states(f, p, s->state_total);
	fprintf(f,
		",\n      \"listeners_in_range\": %u,\n      \"listeners\": [",
		s->listeners_in_range);
	for (uint32_t i = 0; i < s->n_listeners; i++) {
		fprintf(f, "%s{\"address\": ", i ? ", " : "");
		json_addr(f, &s->listeners[i].addr);
		fprintf(f, ", \"port\": %u}", s->listeners[i].port);
	}
	fprintf(f,
		"],\n      \"destinations\": %" PRIu64 ",\n"
		"      \"destinations_overflow\": %s,\n"
		"      \"destinations_untracked\": %" PRIu64 ",\n"
		"      \"top_destinations\": [",
		s->destinations, s->dest_overflow ? "true" : "false",
		s->dest_untracked);
	for (uint32_t i = 0; i < s->n_top; i++) {
		fputs(i ? ",\n        " : "\n        ", f);
		json_dest(f, &s->top[i]);
	}
	fputs(s->n_top ? "\n      ],\n" : "],\n", f);
	fputs("      \"worst_destination\": ", f);
	if (s->has_worst)
		json_dest(f, &s->worst);
	else
		fputs("null", f);
	/* Deprecated: the first model's numbers. */
	fputs(",\n      \"host_exhaustion_percent\": ", f);
	json_percent(f, s->host_exhaustion_bp);
	fputs(",\n      \"worst_destination_exhaustion_percent\": ", f);
	json_percent(f, s->worst_dest_exhaustion_bp);
	fputs(",\n      \"exhaustion_percent\": ", f);
	json_percent(f, s->exhaustion_bp);
	eph_rate_json_proto(f, r, p);
	fputs("\n    }", f);
}

/* The members of one document, from "{" to its last member (no "}"). */
static void json_members(FILE *f, const struct eph_report *r,
			 const struct eph_snapshot *s,
			 const struct eph_netns *ns)
{
	int n = 0;

	fprintf(f, "{\n  \"version\": \"%s\",\n", VERSION_STRING);
	if (r->host) {
		fputs("  \"host\": {\"hostname\": ", f);
		eph_json_string(f, r->host->hostname);
		fputs(", \"os_name\": ", f);
		eph_json_string(f, r->host->os_name);
		fputs(", \"os_release\": ", f);
		eph_json_string(f, r->host->os_release);
		fputs("},\n", f);
	} else {
		fputs("  \"host\": null,\n", f);
	}
	fprintf(f, "  \"taken_us\": %" PRId64 ",\n  \"duration_us\": %u,\n",
		s->taken_us, s->duration_us);
	fprintf(f, "  \"source\": \"%s\",\n", eph_source_name(s->source));
	fprintf(f,
		"  \"kernel_settings\": {\"tcp_tw_reuse\": %u, "
		"\"tcp_tw_reuse_delay_ms\": %u, \"tcp_timestamps\": %u, "
		"\"ip_autobind_reuse\": %u, \"read\": %s},\n",
		s->knobs.tw_reuse, s->knobs.tw_reuse_delay_ms,
		s->knobs.timestamps, s->knobs.autobind_reuse,
		s->knobs.read ? "true" : "false");
	fputs("  \"protocols\": {\n", f);
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		if (!s->proto[p].collected)
			continue;
		if (n++)
			fputs(",\n", f);
		json_proto(f, r, (enum eph_proto)p, &s->proto[p]);
	}
	fputs("\n  }", f);
	eph_failures_json(f, s);
	eph_rate_json_top(f, r);
	eph_processes_json(f, r, ns ? (size_t)(ns - r->ns) : 0);
	if (ns) {
		fputs(",\n  \"netns\": {\"name\": ", f);
		eph_json_string(f, ns->name);
		fprintf(f, ", \"inode\": %" PRIu64 ", \"kind\": \"%s\"}",
			ns->inode, eph_ns_kind_name(ns->kind));
	}
}

/* One namespace's document as an element of "namespaces": indented. */
static void json_nested(FILE *f, const struct eph_report *r,
			const struct eph_snapshot *s,
			const struct eph_netns *ns)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m) {
		/* Valid JSON still, only not indented. */
		json_members(f, r, s, ns);
		fputs("\n}", f);
		return;
	}
	json_members(m, r, s, ns);
	fputs("\n}", m);
	fclose(m);
	fputs("    ", f);
	for (size_t i = 0; i < len; i++) {
		fputc(buf[i], f);
		if (buf[i] == '\n')
			fputs("    ", f);
	}
	free(buf);
}

void eph_print_json(FILE *f, const struct eph_report *r)
{
	if (!r->n_ns) {
		json_members(f, r, r->snap, NULL);
		if (r->json_extra)
			r->json_extra(f, r->json_extra_ctx);
		fputs("\n}\n", f);
		return;
	}
	/* The first namespace (the caller's own with --all-namespaces) at
	 * the top level, as without --netns; every one in "namespaces". */
	json_members(f, r, &r->ns_snaps[0], &r->ns[0]);
	if (r->json_extra)
		r->json_extra(f, r->json_extra_ctx);
	if (r->all) {
		fputs(",\n  \"namespaces\": [\n", f);
		for (size_t i = 0; i < r->n_ns; i++) {
			if (i)
				fputs(",\n", f);
			json_nested(f, r, &r->ns_snaps[i], &r->ns[i]);
		}
		fputs("\n  ]", f);
	}
	fputs("\n}\n", f);
}
