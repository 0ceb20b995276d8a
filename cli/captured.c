/*
 * captured.c - `ephport --os NAME --range-file FILE [--sockets-file
 * FILE]`: another host's captured outputs through the same model and
 * every output format, and the options of `ephport advise`.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "captured.h"
#include "os/os.h"

/* Captured files are command outputs: 256 MiB is far beyond any. */
#define CAPTURED_MAX (256u << 20)

int eph_cli_extra_option(struct eph_cli_extra *x, int opt, const char *arg)
{
	switch (opt) {
	case EPH_OPT_OS:
		x->os = arg;
		return 0;
	case EPH_OPT_RANGE_FILE:
		x->range_file = arg;
		return 0;
	case EPH_OPT_SOCKETS_FILE:
		x->sockets_file = arg;
		return 0;
	case EPH_OPT_FIREWALL: {
		const char *dash = strchr(arg, '-');
		char lo[16];
		size_t n = dash ? (size_t)(dash - arg) : 0;

		if (!dash || n == 0 || n >= sizeof(lo))
			goto bad;
		memcpy(lo, arg, n);
		lo[n] = '\0';
		if (eph_parse_uint(lo, 1, 65535, &x->fw_low) < 0 ||
		    eph_parse_uint(dash + 1, 1, 65535, &x->fw_high) < 0 ||
		    x->fw_low > x->fw_high)
			goto bad;
		x->have_firewall = true;
		return 0;
	bad:
		fprintf(stderr,
			"ephport: --firewall: '%s' is not LOW-HIGH with 1 <= "
			"LOW <= HIGH <= 65535\n",
			arg);
		return -1;
	}
	}
	return -1;
}

int eph_cli_extra_check(struct eph_cli_extra *x, const struct eph_config *cfg,
			bool check, bool json, bool prometheus)
{
	x->proc_root = cfg->proc_root ? cfg->proc_root : "/proc";
	if ((x->range_file || x->sockets_file) && !x->os) {
		fprintf(stderr, "ephport: --range-file and --sockets-file "
				"need --os NAME\n");
		return -1;
	}
	if (x->os && !eph_os_find(x->os)) {
		fprintf(stderr, "ephport: --os: '%s' is not one of %s\n", x->os,
			eph_captured_os_names());
		return -1;
	}
	if (x->os && !x->range_file && !eph_os_find(x->os)->range_optional) {
		fprintf(stderr,
			"ephport: --os %s needs --range-file FILE, the output "
			"of `%s`\n",
			x->os, eph_os_find(x->os)->range_cmd);
		return -1;
	}
	if (x->have_firewall && !x->advise) {
		fprintf(stderr,
			"ephport: --firewall is for 'ephport advise'\n");
		return -1;
	}
	if (x->advise && (check || prometheus)) {
		fprintf(stderr, "ephport: advise prints text or --json\n");
		return -1;
	}
	x->json_advice = x->advise && json;
	return 0;
}

/* Read a whole file into a malloc'ed buffer; NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb;

			if (cap >= CAPTURED_MAX) {
				free(buf);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			int err = ferror(f) ? errno : 0;

			fclose(f);
			if (err) {
				free(buf);
				errno = err;
				return NULL;
			}
			*len = n;
			return buf;
		}
	}
}

static void say(bool check, const char *fmt, const char *a, const char *b)
{
	if (check) {
		printf("EPHPORT UNKNOWN - ");
		printf(fmt, a, b);
		putchar('\n');
	} else {
		fputs("ephport: ", stderr);
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
}

int eph_cli_captured(struct eph_cli_extra *x, const struct eph_config *cfg,
		     struct eph_snapshot *snap, bool check)
{
	char *range = NULL, *sockets = NULL;
	size_t range_len = 0, sockets_len = 0;
	char why[768];
	int err;

	if (x->range_file) {
		range = slurp(x->range_file, &range_len);
		if (!range) {
			say(check, "--range-file %s: %s", x->range_file,
			    strerror(errno));
			return -1;
		}
	}
	if (x->sockets_file) {
		sockets = slurp(x->sockets_file, &sockets_len);
		if (!sockets) {
			say(check, "--sockets-file %s: %s", x->sockets_file,
			    strerror(errno));
			free(range);
			return -1;
		}
	}
	err =
	    eph_captured_collect(x->os, range, range_len, sockets, sockets_len,
				 cfg, snap, &x->info, why, sizeof(why));
	free(range);
	free(sockets);
	if (err < 0) {
		/* Name the file the message is about. */
		const char *file = err == -EBADMSG  ? x->sockets_file
				   : err == -ENOENT ? NULL
						    : x->range_file;

		if (file)
			say(check, "%s: %s", file, why);
		else
			say(check, "%s%s", why, "");
		return -1;
	}
	x->captured = true;
	snprintf(x->host.hostname, sizeof(x->host.hostname), "%s",
		 x->range_file ? x->range_file : "(captured)");
	snprintf(x->host.os_name, sizeof(x->host.os_name), "%s", x->info.label);
	snprintf(x->host.os_release, sizeof(x->host.os_release),
		 "captured output");
	return 0;
}

void eph_cli_extra_report(struct eph_cli_extra *x, struct eph_report *rep)
{
	x->snap = rep->snap;
	if (x->captured)
		rep->host = &x->host;
	if (x->captured || x->json_advice) {
		rep->json_extra = eph_cli_extra_json;
		rep->json_extra_ctx = x;
	}
}

void eph_cli_extra_text(FILE *f, const struct eph_cli_extra *x)
{
	const struct eph_captured *c = &x->info;

	if (!x->captured)
		return;
	fprintf(f, "\n%s: %s.\n", c->label, c->default_note);
	if (c->has_alt)
		fprintf(f,
			"     second range %u-%u (IP_PORTRANGE_HIGH): %u TCP, "
			"%u UDP ports held\n",
			c->alt_low, c->alt_high, c->alt_ports_in_use[EPH_TCP],
			c->alt_ports_in_use[EPH_UDP]);
	if (c->has_reserved_range)
		fprintf(f, "     low range %u-%u (IP_PORTRANGE_LOW)\n",
			c->resv_low, c->resv_high);
	if (!c->sockets)
		fputs(
		    "     no --sockets-file: the range alone, every count 0\n",
		    f);
	if (strcmp(c->os, "linux") != 0)
		fputs("     model: TIME_WAIT is taken to hold its port (no "
		      "tcp_tw_reuse there)\n",
		      f);
}

void eph_cli_extra_json(FILE *f, const void *ctx)
{
	const struct eph_cli_extra *x = ctx;
	const struct eph_captured *c = &x->info;

	if (x->captured) {
		fputs(",\n  \"captured\": {\"os\": ", f);
		eph_json_string(f, c->os);
		fputs(", \"label\": ", f);
		eph_json_string(f, c->label);
		fputs(", \"range_file\": ", f);
		eph_json_string(f, x->range_file ? x->range_file : "");
		fputs(", \"sockets_file\": ", f);
		if (x->sockets_file)
			eph_json_string(f, x->sockets_file);
		else
			fputs("null", f);
		fprintf(f, ", \"per_protocol\": %s, \"default_range\": ",
			c->per_protocol ? "true" : "false");
		eph_json_string(f, c->default_note);
		fputs(", \"second_range\": ", f);
		if (c->has_alt)
			fprintf(f,
				"{\"low\": %u, \"high\": %u, \"ports_in_use\": "
				"{\"tcp\": %u, \"udp\": %u}}",
				c->alt_low, c->alt_high,
				c->alt_ports_in_use[EPH_TCP],
				c->alt_ports_in_use[EPH_UDP]);
		else
			fputs("null", f);
		fputs(", \"low_range\": ", f);
		if (c->has_reserved_range)
			fprintf(f, "{\"low\": %u, \"high\": %u}", c->resv_low,
				c->resv_high);
		else
			fputs("null", f);
		fputc('}', f);
	}
	if (x->json_advice) {
		fputs(",\n  \"advice\": ", f);
		eph_print_advice_json(f, x->snap, x);
	}
}
