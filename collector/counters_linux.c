/*
 * counters_linux.c - the kernel's TCP counters (PROC/net/snmp), read with
 * each collection for the open rate (rate.c).  The file holds pairs of
 * lines per protocol, names then values:
 *
 *   Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens ...
 *   Tcp: 1 200 120000 -1 4711 12 ...
 *
 * and PROC/net/netstat's "TcpExt:" pair for TWRecycled.
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

/* The names and values lines of a PREFIX ("Tcp: ", "TcpExt: ") pair. */
static int pair_lines(const char *buf, const char *end, const char *prefix,
		      const char **names, const char **values)
{
	size_t plen = strlen(prefix);

	*names = *values = NULL;
	for (const char *p = buf; p < end; p = next_line(p, end)) {
		if ((size_t)(end - p) < plen || memcmp(p, prefix, plen) != 0)
			continue;
		if (!*names) {
			*names = p + plen - 1;
		} else {
			*values = p + plen - 1;
			return 0;
		}
	}
	return -EBADMSG;
}

int eph_netstat_parse(const char *buf, size_t len, uint64_t *tw_recycled)
{
	const char *end = buf + len, *n, *v;

	if (pair_lines(buf, end, "TcpExt: ", &n, &v) < 0)
		return -EBADMSG;
	for (;;) {
		size_t nl, vl;
		const char *nw = word(&n, end, &nl), *vw = word(&v, end, &vl);

		if (!nw || !vw)
			return -EBADMSG; /* not there, or names != values */
		if (nl == 10 && memcmp(nw, "TWRecycled", 10) == 0)
			return number(vw, vl, tw_recycled);
	}
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

	if (pair_lines(buf, end, "Tcp: ", &names, &values) < 0)
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
	static __thread char netstat[32768];
	struct eph_counters c = {0};
	int err;
	long n;

	snprintf(path, sizeof(path), "%s/net/snmp", net_root);
	n = eph_read_file(path, buf, sizeof(buf));
	err = n < 0 ? (int)n : eph_snmp_parse(buf, (size_t)n, &c);
	/* TcpExt: TWRecycled, from net/netstat, whether or not net/snmp
	 * could be read (every mode publishes it). */
	snprintf(path, sizeof(path), "%s/net/netstat", net_root);
	n = eph_read_file(path, netstat, sizeof(netstat));
	c.tw_recycled_read =
	    n > 0 && eph_netstat_parse(netstat, (size_t)n, &c.tw_recycled) == 0;
	if (err < 0 && !c.tw_recycled_read)
		return err;
	*out = c; /* c.read false when only net/netstat was read */
	return 0;
}
