/*
 * os.c - the table of operating systems and the helpers their parsers
 * share: lines, fields, "key = value" listings, #define excerpts,
 * addresses, ports and state names as netstat tools print them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "os/os.h"

const struct eph_os *const eph_os_list[] = {
    &eph_os_linux, &eph_os_freebsd, &eph_os_macos,   &eph_os_openbsd,
    &eph_os_aix,   &eph_os_solaris, &eph_os_hpux,    &eph_os_tru64,
    &eph_os_irix,  &eph_os_bsdos,   &eph_os_windows, NULL,
};

const struct eph_os *eph_os_find(const char *name)
{
	static const struct {
		const char *alias, *name;
	} aliases[] = {
	    {"darwin", "macos"},  {"osx", "macos"},    {"illumos", "solaris"},
	    {"sunos", "solaris"}, {"hp-ux", "hpux"},   {"osf1", "tru64"},
	    {"bsdi", "bsdos"},	  {"bsd/os", "bsdos"}, {"win32", "windows"},
	};

	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (size_t i = 0; eph_os_list[i]; i++)
		if (strcasecmp(name, eph_os_list[i]->name) == 0)
			return eph_os_list[i];
	return NULL;
}

size_t eph_os_expand(const char *t, unsigned low, unsigned high,
		     const char *ports, char *buf, size_t len)
{
	size_t n = 0;

	for (; *t; t++) {
		char num[16];
		const char *ins = NULL;

		if (t[0] == '{' && t[1] && t[2] == '}') {
			switch (t[1]) {
			case 'L':
				snprintf(num, sizeof(num), "%u", low);
				ins = num;
				break;
			case 'H':
				snprintf(num, sizeof(num), "%u", high);
				ins = num;
				break;
			case 'N':
				snprintf(num, sizeof(num), "%u",
					 high >= low ? high - low + 1 : 0);
				ins = num;
				break;
			case 'P':
				ins = ports ? ports : "";
				break;
			}
		}
		if (ins) {
			for (; *ins; ins++, n++)
				if (n + 1 < len)
					buf[n] = *ins;
			t += 2;
			continue;
		}
		if (n + 1 < len)
			buf[n] = *t;
		n++;
	}
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

bool eph_os_blank(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_ws(buf[i]))
			return false;
	return true;
}

bool eph_os_next_line(const char **p, const char *end, const char **line,
		      size_t *llen)
{
	const char *s = *p, *e;

	if (s >= end)
		return false;
	e = memchr(s, '\n', (size_t)(end - s));
	*p = e ? e + 1 : end;
	if (!e)
		e = end;
	while (e > s && e[-1] == '\r')
		e--;
	*line = s;
	*llen = (size_t)(e - s);
	return true;
}

size_t eph_os_fields(const char *line, size_t len, const char **f, size_t *flen,
		     size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t start;

		while (i < len && is_ws(line[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_ws(line[i]))
			i++;
		if (n < max) {
			f[n] = line + start;
			flen[n] = i - start;
		}
		n++;
	}
	return n;
}

/* Trim whitespace from both ends of [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
	while (*len && is_ws(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_ws((*s)[*len - 1]))
		(*len)--;
}

/* Decimal digits only, min..65535. */
static int parse_num(const char *s, size_t len, unsigned min, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > 65535)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Store a value for kv[i] found on line lineno, or say why not. */
static int kv_store(struct eph_kv *kv, const char *val, size_t vlen,
		    unsigned min, long lineno, char *why, size_t why_len)
{
	if (kv->found) {
		snprintf(why, why_len, "line %ld: %s given twice", lineno,
			 kv->key);
		return -EINVAL;
	}
	if (parse_num(val, vlen, min, &kv->value) < 0) {
		snprintf(why, why_len,
			 "line %ld: %s: expected a port number from %u to "
			 "65535, got \"%.*s\"",
			 lineno, kv->key, min, (int)(vlen > 40 ? 40 : vlen),
			 val);
		return -EINVAL;
	}
	kv->found = true;
	return 0;
}

static int kv_missing(const struct eph_kv *kv, size_t n, char *why,
		      size_t why_len)
{
	for (size_t i = 0; i < n; i++) {
		if (!kv[i].found && !kv[i].optional) {
			snprintf(why, why_len, "%s missing", kv[i].key);
			return -EINVAL;
		}
	}
	return 0;
}

int eph_kv_parse(const char *buf, size_t len, struct eph_kv *kv, size_t n,
		 unsigned min, char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0;

	for (size_t i = 0; i < n; i++)
		kv[i].found = false;
	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *key = line, *val, *sep = NULL;
		size_t klen, vlen;

		lineno++;
		trim(&key, &llen);
		if (llen == 0 || key[0] == '#')
			continue; /* blank, a comment (sysctl.conf, no -F) */
		for (size_t i = 0; i < llen; i++) {
			if (key[i] == '=' || key[i] == ':') {
				sep = key + i;
				break;
			}
		}
		if (!sep || sep == key) {
			snprintf(why, why_len,
				 "line %ld: expected \"name = value\", got "
				 "\"%.*s\"",
				 lineno, (int)(llen > 40 ? 40 : llen), key);
			return -EINVAL;
		}
		klen = (size_t)(sep - key);
		val = sep + 1;
		vlen = llen - klen - 1;
		trim(&key, &klen);
		trim(&val, &vlen);
		if (vlen == 0)
			continue; /* "inet:", a section header */
		for (size_t i = 0; i < n; i++) {
			if (strlen(kv[i].key) != klen ||
			    memcmp(kv[i].key, key, klen) != 0)
				continue;
			if (kv_store(&kv[i], val, vlen, min, lineno, why,
				     why_len) < 0)
				return -EINVAL;
			break;
		}
	}
	return kv_missing(kv, n, why, why_len);
}

int eph_defines_parse(const char *buf, size_t len, struct eph_kv *kv, size_t n,
		      unsigned min, char *why, size_t why_len)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	long lineno = 0;

	for (size_t i = 0; i < n; i++)
		kv[i].found = false;
	while (eph_os_next_line(&p, end, &line, &llen)) {
		const char *f[4];
		size_t fl[4], nf;

		lineno++;
		nf = eph_os_fields(line, llen, f, fl, 4);
		if (nf < 3)
			continue;
		/* "#define X V" or "# define X V" */
		if (fl[0] == 7 && memcmp(f[0], "#define", 7) == 0) {
			/* fields already right */
		} else if (fl[0] == 1 && f[0][0] == '#' && nf >= 4 &&
			   fl[1] == 6 && memcmp(f[1], "define", 6) == 0) {
			f[1] = f[2];
			fl[1] = fl[2];
			f[2] = f[3];
			fl[2] = fl[3];
		} else {
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (strlen(kv[i].key) != fl[1] ||
			    memcmp(kv[i].key, f[1], fl[1]) != 0)
				continue;
			if (kv_store(&kv[i], f[2], fl[2], min, lineno, why,
				     why_len) < 0)
				return -EINVAL;
			break;
		}
	}
	return kv_missing(kv, n, why, why_len);
}

int eph_os_set_range(struct eph_os_range *out, uint8_t protocols, unsigned low,
		     unsigned high, const char *what, char *why, size_t why_len)
{
	if (low < 1 || high > 65535 || low > high) {
		snprintf(why, why_len,
			 "%s: low %u is above high %u (want 1 <= low <= high "
			 "<= 65535)",
			 what, low, high);
		return -EINVAL;
	}
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		if (!(protocols & (1u << p)))
			continue;
		out->proto[p].low = (uint16_t)low;
		out->proto[p].high = (uint16_t)high;
		out->protocols |= (uint8_t)(1u << p);
	}
	return 0;
}

int eph_os_addr_parse(const char *s, size_t len, int family_hint,
		      uint8_t *family, uint8_t bytes[16])
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	char tmp[INET6_ADDRSTRLEN + 1];
	const char *pct;

	memset(bytes, 0, 16);
	if (len == 1 && s[0] == '*') {
		*family = family_hint == AF_INET6 ? AF_INET6 : AF_INET;
		return 0;
	}
	pct = memchr(s, '%', len);
	if (pct)
		len = (size_t)(pct - s);
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (memchr(tmp, ':', len)) {
		if (inet_pton(AF_INET6, tmp, bytes) != 1)
			return -EINVAL;
		if (memcmp(bytes, mapped, 12) == 0) {
			memmove(bytes, bytes + 12, 4);
			memset(bytes + 4, 0, 12);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return 0;
	}
	if (inet_pton(AF_INET, tmp, bytes) != 1)
		return -EINVAL;
	*family = AF_INET;
	return 0;
}

int eph_os_port_parse(const char *s, size_t len, uint16_t *port)
{
	unsigned v;

	if (len == 1 && s[0] == '*') {
		*port = 0;
		return 0;
	}
	if (parse_num(s, len, 0, &v) < 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int eph_os_state_parse(const char *s, size_t len)
{
	static const struct {
		const char *name;
		int state;
	} names[] = {
	    {"ESTABLISHED", EPH_ST_ESTABLISHED},
	    {"ESTAB", EPH_ST_ESTABLISHED},
	    {"SYNSENT", EPH_ST_SYN_SENT},
	    {"SYNRECV", EPH_ST_SYN_RECV},
	    {"SYNRCVD", EPH_ST_SYN_RECV},
	    {"SYNRECEIVED", EPH_ST_SYN_RECV},
	    {"FINWAIT1", EPH_ST_FIN_WAIT1},
	    {"FINWAIT2", EPH_ST_FIN_WAIT2},
	    {"TIMEWAIT", EPH_ST_TIME_WAIT},
	    {"CLOSED", EPH_ST_CLOSE},
	    {"CLOSE", EPH_ST_CLOSE},
	    {"UNCONN", EPH_ST_CLOSE},
	    {"IDLE", EPH_ST_CLOSE},
	    {"CLOSEWAIT", EPH_ST_CLOSE_WAIT},
	    {"LASTACK", EPH_ST_LAST_ACK},
	    {"LISTEN", EPH_ST_LISTEN},
	    {"LISTENING", EPH_ST_LISTEN},
	    {"CLOSING", EPH_ST_CLOSING},
	    {"BOUND", EPH_ST_BOUND},
	};
	char norm[16];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '_' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (n + 1 >= sizeof(norm))
			return EPH_ST_UNKNOWN;
		norm[n++] = c;
	}
	norm[n] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(norm, names[i].name) == 0)
			return names[i].state;
	return EPH_ST_UNKNOWN;
}

/* "*:22", "10.0.0.1:80", "[::1]:22", "::1:22" (the last ':' splits). */
int eph_os_colon_endpoint(const char *s, size_t len, int family_hint,
			  uint8_t *family, uint8_t addr[16], uint16_t *port)
{
	const char *colon = NULL;
	size_t alen;

	for (size_t i = len; i > 0; i--) {
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	}
	if (!colon)
		return -EINVAL;
	if (eph_os_port_parse(colon + 1, len - (size_t)(colon - s) - 1, port) <
	    0)
		return -EINVAL;
	alen = (size_t)(colon - s);
	if (alen >= 2 && s[0] == '[' && s[alen - 1] == ']') {
		s++;
		alen -= 2;
	}
	return eph_os_addr_parse(s, alen, family_hint, family, addr);
}
