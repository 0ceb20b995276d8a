/*
 * counters_linux.c - the kernel's TCP counters (PROC/net/snmp), read with
 * each collection for the open rate (rate.c).  The file holds pairs of
 * lines per protocol, names then values:
 *
 *   Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens ...
 *   Tcp: 1 200 120000 -1 4711 12 ...
 *
 * Fields are found by name.  Inside another namespace the file is read
 * below /proc/thread-self (collector.c's net_root).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"

/* The next space-separated word of [*p, end), or NULL at the line end. */
static const char *word(const char **p, const char *end, size_t *wlen)
{
	const char *s = *p, *w;

	while (s < end && *s == ' ')
		s++;
	if (s >= end || *s == '\n')
		return NULL;
	w = s;
	while (s < end && *s != ' ' && *s != '\n')
		s++;
	*wlen = (size_t)(s - w);
	*p = s;
	return w;
}

/* An unsigned decimal number of exactly len bytes. */
static int number(const char *w, size_t len, uint64_t *v)
{
	uint64_t n = 0;

	if (len == 0 || len > 20)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(w[i] - '0');

		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		n = n * 10 + d;
	}
	*v = n;
	return 0;
}

/* Start of the line after p (or end). */
static const char *next_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

int eph_snmp_parse(const char *buf, size_t len, struct eph_counters *out)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
	    {"ActiveOpens", offsetof(struct eph_counters, tcp_active_opens)},
	    {"PassiveOpens", offsetof(struct eph_counters, tcp_passive_opens)},
	    {"AttemptFails", offsetof(struct eph_counters, tcp_attempt_fails)},
	    {"EstabResets", offsetof(struct eph_counters, tcp_estab_resets)},
	    {"CurrEstab", offsetof(struct eph_counters, tcp_curr_estab)},
	};
	const char *end = buf + len, *names = NULL, *values = NULL;
	struct eph_counters c = {.read = true};
	bool have_active = false;

	for (const char *p = buf; p < end; p = next_line(p, end)) {
		if ((size_t)(end - p) < 5 || memcmp(p, "Tcp: ", 5) != 0)
			continue;
		if (!names) {
			names = p + 4;
		} else {
			values = p + 4;
			break;
		}
	}
	if (!names || !values)
		return -EBADMSG;
	for (const char *n = names, *v = values;;) {
		size_t nl, vl;
		const char *nw = word(&n, end, &nl), *vw = word(&v, end, &vl);

		if (!nw && !vw)
			break;
		if (!nw || !vw)
			return -EBADMSG; /* as many names as values */
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]);
		     i++) {
			uint64_t x;

			if (strlen(fields[i].name) != nl ||
			    memcmp(fields[i].name, nw, nl) != 0)
				continue;
			if (number(vw, vl, &x) < 0)
				return -EBADMSG;
			memcpy((char *)&c + fields[i].offset, &x, sizeof(x));
			if (i == 0)
				have_active = true;
		}
	}
	if (!have_active)
		return -EBADMSG;
	*out = c;
	return 0;
}

int eph_counters_read(const char *net_root, struct eph_counters *out)
{
	char path[1100], buf[8192];
	long n;

	snprintf(path, sizeof(path), "%s/net/snmp", net_root);
	n = eph_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return eph_snmp_parse(buf, (size_t)n, out);
}
