/* parse.c - numbers given by people: command-line options, config files. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ephport.h"

int eph_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	/* strtoul() would take leading blanks, a sign and wrap "-1". */
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int eph_parse_percent(const char *s, uint32_t *bp)
{
	const char *dot = strchr(s, '.');
	unsigned whole, frac = 0;
	char buf[16];

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (dot) {
		size_t n = strlen(dot + 1);

		buf[dot - s] = '\0';
		if (n < 1 || n > 2 || eph_parse_uint(dot + 1, 0, 99, &frac) < 0)
			return -EINVAL;
		if (n == 1)
			frac *= 10;
	}
	if (eph_parse_uint(buf, 0, 100, &whole) < 0 || (whole == 100 && frac))
		return -EINVAL;
	*bp = whole * 100 + frac;
	return 0;
}
