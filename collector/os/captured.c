/*
 * captured.c - eph_captured_collect(): another host's captured range and
 * socket table through the same model as a live collection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "os/os.h"

/* Hands the parser's sockets to the model in two passes: listening and
 * bound-only sockets first, as the model expects (netstat tools list
 * sockets in any order), then the rest. */
struct feed {
	struct eph_model *model;
	enum eph_proto proto;
	int pass; /* 1, 2 */
	const struct eph_os_range *range;
	uint8_t alt_seen[EPH_BITMAP_BYTES];
	uint32_t alt_ports;
};

static bool first_pass(const struct feed *fd, const struct eph_sock *s)
{
	if (fd->proto == EPH_UDP)
		return true;
	return s->state == EPH_ST_LISTEN || s->state == EPH_ST_BOUND ||
	       s->state == EPH_ST_CLOSE;
}

static void feed_one(void *ctx, const struct eph_sock *s)
{
	struct feed *fd = ctx;

	if (first_pass(fd, s) != (fd->pass == 1))
		return;
	if (fd->range->has_alt && s->lport >= fd->range->alt_low &&
	    s->lport <= fd->range->alt_high &&
	    !eph_bit_test(fd->alt_seen, s->lport)) {
		eph_bit_set(fd->alt_seen, s->lport);
		fd->alt_ports++;
	}
	eph_model_add(fd->model, s);
}

static int64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *eph_captured_os_names(void)
{
	static char names[256];

	if (!names[0]) {
		size_t n = 0;

		for (size_t i = 0; eph_os_list[i]; i++)
			n += (size_t)snprintf(names + n, sizeof(names) - n,
					      "%s%s", i ? ", " : "",
					      eph_os_list[i]->name);
	}
	return names;
}

int eph_captured_collect(const char *os_name, const char *range_buf,
			 size_t range_len, const char *sockets_buf,
			 size_t sockets_len, const struct eph_config *cfg,
			 struct eph_snapshot *snap, struct eph_captured *info,
			 char *why, size_t why_len)
{
	const struct eph_os *os = eph_os_find(os_name);
	int64_t start = now_us(CLOCK_MONOTONIC);
	struct eph_config defaults;
	struct eph_os_range *r = NULL;
	struct eph_model *m = NULL;
	struct feed *fd = NULL;
	struct eph_knobs k;
	uint8_t protocols;
	char pwhy[512];
	int err;

	if (!os) {
		snprintf(why, why_len, "unknown system '%s' (known: %s)",
			 os_name ? os_name : "", eph_captured_os_names());
		return -ENOENT;
	}
	if (!cfg) {
		/* eph_config_init()'s defaults, without needing collector.c */
		memset(&defaults, 0, sizeof(defaults));
		defaults.top_n = 5;
		cfg = &defaults;
	}
	if (cfg->top_n > EPH_TOP_MAX) {
		snprintf(why, why_len, "top_n above %d", EPH_TOP_MAX);
		return -EINVAL;
	}
	if (!range_buf && !os->range_optional) {
		snprintf(why, why_len, "%s: the output of `%s` is needed",
			 os->label, os->range_cmd);
		return -EINVAL;
	}
	r = malloc(sizeof(*r));
	fd = malloc(sizeof(*fd));
	m = eph_model_new(cfg->dest_cap ? cfg->dest_cap : EPH_DEST_CAP_DEFAULT);
	if (!r || !fd || !m) {
		snprintf(why, why_len, "%s", strerror(ENOMEM));
		err = -ENOMEM;
		goto out;
	}
	err = os->parse_range(range_buf ? range_buf : "",
			      range_buf ? range_len : 0, r, pwhy, sizeof(pwhy));
	if (err < 0) {
		snprintf(why, why_len, "%s range (`%s`): %s", os->label,
			 os->range_cmd, pwhy);
		goto out;
	}
	protocols =
	    cfg->protocols ? cfg->protocols : (1u << EPH_TCP) | (1u << EPH_UDP);
	protocols &= r->protocols;
	if (!protocols) {
		snprintf(why, why_len,
			 "%s range (`%s`): no range for the protocols asked "
			 "for",
			 os->label, os->range_cmd);
		err = -EINVAL;
		goto out;
	}
	memset(snap, 0, sizeof(*snap));
	memset(info, 0, sizeof(*info));
	eph_knobs_default(&k);
	if (!os->tw_reuse)
		k.tw_reuse = 0; /* TIME_WAIT holds its port */
	snap->knobs = k;
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		if (!(protocols & (1u << p)))
			continue;
		eph_model_begin(m, (enum eph_proto)p, &r->proto[p], &k);
		memset(fd, 0, sizeof(*fd));
		fd->model = m;
		fd->proto = (enum eph_proto)p;
		fd->range = r;
		for (fd->pass = 1; sockets_buf && fd->pass <= 2; fd->pass++) {
			long n = os->parse_sockets(sockets_buf, sockets_len,
						   (enum eph_proto)p, feed_one,
						   fd, pwhy, sizeof(pwhy));

			if (n < 0) {
				snprintf(why, why_len,
					 "%s socket table (`%s`): %s",
					 os->label, os->sockets_cmd, pwhy);
				err = (int)n;
				goto out;
			}
		}
		eph_model_end(m, cfg->top_n, &snap->proto[p]);
		snap->proto[p].source = EPH_SOURCE_NONE;
		info->alt_ports_in_use[p] = fd->alt_ports;
		snap->protocols |= (uint8_t)(1u << p);
	}
	info->os = os->name;
	info->label = os->label;
	info->default_note = os->default_note;
	info->per_protocol = os->per_protocol;
	info->sockets = sockets_buf != NULL;
	info->has_alt = r->has_alt;
	info->alt_low = r->alt_low;
	info->alt_high = r->alt_high;
	info->has_reserved_range = r->has_reserved_range;
	info->resv_low = r->resv_low;
	info->resv_high = r->resv_high;
	memcpy(info->reserved, r->proto[EPH_TCP].reserved, EPH_BITMAP_BYTES);
	snap->source = EPH_SOURCE_NONE;
	snap->duration_us = (uint32_t)(now_us(CLOCK_MONOTONIC) - start);
	snap->taken_us = now_us(CLOCK_REALTIME);
	err = 0;
out:
	eph_model_free(m);
	free(fd);
	free(r);
	return err;
}
