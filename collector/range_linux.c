/*
 * range_linux.c - the ephemeral range on Linux: net.ipv4.ip_local_port_range
 * and net.ipv4.ip_local_reserved_ports, shared by TCP and UDP, IPv4 and
 * IPv6.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parse a decimal number of at most 5 digits and value <= max at *pp. */
static int parse_port(const char **pp, const char *end, unsigned max,
		      unsigned *out)
{
	const char *p = *pp;
	unsigned v = 0;
	int digits = 0;

	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		if (++digits > 5 || v > max)
			return -EINVAL;
		p++;
	}
	if (digits == 0)
		return -EINVAL;
	*pp = p;
	*out = v;
	return 0;
}

int eph_range_parse_pair(const char *buf, size_t len, uint16_t *low,
			 uint16_t *high)
{
	const char *p = buf, *end = buf + len;
	unsigned lo, hi;

	while (p < end && is_space(*p))
		p++;
	if (parse_port(&p, end, 65535, &lo) < 0)
		return -EINVAL;
	if (p == end || !is_space(*p))
		return -EINVAL;
	while (p < end && is_space(*p))
		p++;
	if (parse_port(&p, end, 65535, &hi) < 0)
		return -EINVAL;
	while (p < end && is_space(*p))
		p++;
	if (p != end || lo == 0 || hi < lo)
		return -EINVAL;
	*low = (uint16_t)lo;
	*high = (uint16_t)hi;
	return 0;
}

/* The first port >= p not marked yet (65536: none), halving the paths:
 * next[p] == p for an unmarked port, else a port closer to the answer. */
static uint32_t next_unmarked(uint32_t *next, uint32_t p)
{
	while (next[p] != p) {
		next[p] = next[next[p]];
		p = next[p];
	}
	return p;
}

int eph_reserved_parse(const char *buf, size_t len,
		       uint8_t bitmap[EPH_BITMAP_BYTES])
{
	const char *p = buf, *end = buf + len;
	/* Each port is marked once, however often the list names it: the
	 * work is bounded by the text plus the port space, so a long list of
	 * "1-65535," costs what one entry does. */
	uint32_t *next = NULL;

	memset(bitmap, 0, EPH_BITMAP_BYTES);
	/* The kernel prints a bare newline for an empty list. */
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (p == end)
		return 0;
	for (;;) {
		unsigned a, b;

		if (parse_port(&p, end, 65535, &a) < 0)
			goto bad;
		b = a;
		if (p < end && *p == '-') {
			p++;
			if (parse_port(&p, end, 65535, &b) < 0 || b < a)
				goto bad;
		}
		if (a == b) {
			eph_bit_set(bitmap, a);
		} else {
			if (!next) {
				next = malloc(65537 * sizeof(*next));
				if (!next)
					goto bad;
				for (uint32_t i = 0; i <= 65536; i++)
					next[i] = i;
			}
			for (uint32_t port = next_unmarked(next, a); port <= b;
			     port = next_unmarked(next, port)) {
				eph_bit_set(bitmap, port);
				next[port] = port + 1;
			}
		}
		if (p == end) {
			free(next);
			return 0;
		}
		if (*p++ != ',' || p == end)
			goto bad;
	}
bad:
	free(next);
	memset(bitmap, 0, EPH_BITMAP_BYTES);
	return -EINVAL;
}

uint32_t eph_reserved_count(const uint8_t bitmap[EPH_BITMAP_BYTES],
			    uint16_t low, uint16_t high)
{
	uint32_t n = 0;

	for (unsigned p = low; p <= high; p++)
		n += eph_bit_test(bitmap, p) != 0;
	return n;
}

/* The reserved list can be long: every port listed singly is ~400 KiB. */
#define RESERVED_MAX (65536 * 7)

int eph_range_read(const char *proc_root, struct eph_range out[EPH_PROTO_COUNT],
		   char *why, size_t why_len)
{
	char path[4096], small[256];
	char *reserved_buf;
	long n;
	int err;

	snprintf(path, sizeof(path), "%s/sys/net/ipv4/ip_local_port_range",
		 proc_root);
	n = eph_read_file(path, small, sizeof(small));
	if (n < 0) {
		snprintf(why, why_len, "%s: %s", path, eph_read_strerror(n));
		return n == -EFBIG ? -EINVAL : (int)n;
	}
	err = eph_range_parse_pair(small, (size_t)n, &out[EPH_TCP].low,
				   &out[EPH_TCP].high);
	if (err < 0) {
		char got[80];

		/* The file may be anything (a symlink to a secret, terminal
		 * escapes): a short, escaped excerpt of its first line. */
		small[strcspn(small, "\n")] = '\0';
		snprintf(
		    why, why_len,
		    "%s: expected \"LOW HIGH\" with 1 <= LOW <= HIGH <= "
		    "65535, got %s",
		    path,
		    eph_quote(small, strlen(small), 16, '"', got, sizeof(got)));
		return err;
	}

	snprintf(path, sizeof(path), "%s/sys/net/ipv4/ip_local_reserved_ports",
		 proc_root);
	reserved_buf = malloc(RESERVED_MAX);
	if (!reserved_buf) {
		snprintf(why, why_len, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	n = eph_read_file(path, reserved_buf, RESERVED_MAX);
	if (n < 0) {
		free(reserved_buf);
		snprintf(why, why_len, "%s: %s", path, eph_read_strerror(n));
		return n == -EFBIG ? -EINVAL : (int)n;
	}
	err =
	    eph_reserved_parse(reserved_buf, (size_t)n, out[EPH_TCP].reserved);
	free(reserved_buf);
	if (err < 0) {
		snprintf(why, why_len,
			 "%s: expected a comma-separated list of ports and "
			 "LOW-HIGH ranges",
			 path);
		return err;
	}
	/* Linux has one range for both protocols. */
	memcpy(&out[EPH_UDP], &out[EPH_TCP], sizeof(out[EPH_UDP]));
	return 0;
}
