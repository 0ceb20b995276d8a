/*
 * knobs_linux.c - the per-namespace sysctls the model depends on, read
 * from PROC_ROOT/sys/net/ipv4.  A file this kernel does not have (an older
 * kernel: tcp_tw_reuse_delay appeared in 6.14) keeps the kernel's default;
 * one that exists but does not hold a number in range is an error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "range.h"

int eph_knob_parse(const char *buf, size_t len, unsigned max, unsigned *out)
{
	char tmp[32];

	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	return eph_parse_uint(tmp, 0, max, out);
}

static const struct {
	const char *file;
	unsigned max;
	size_t offset, size;
} knobs[] = {
#define KNOB(f, m, field)                                                      \
	{                                                                      \
		f, m, offsetof(struct eph_knobs, field),                       \
		    sizeof(((struct eph_knobs *)0)->field)                     \
	}
    KNOB("tcp_tw_reuse", 2, tw_reuse),
    KNOB("tcp_tw_reuse_delay", 3600000, tw_reuse_delay_ms),
    KNOB("tcp_timestamps", 2, timestamps),
    KNOB("ip_autobind_reuse", 1, autobind_reuse),
#undef KNOB
};

int eph_knobs_read(const char *proc_root, struct eph_knobs *k, char *why,
		   size_t why_len)
{
	char path[4096], buf[64];

	eph_knobs_default(k);
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		unsigned v;
		long n;

		snprintf(path, sizeof(path), "%s/sys/net/ipv4/%s", proc_root,
			 knobs[i].file);
		n = eph_read_file(path, buf, sizeof(buf));
		if (n == -ENOENT)
			continue;
		if (n < 0) {
			snprintf(why, why_len, "%s: %s", path,
				 eph_read_strerror(n));
			return n == -EFBIG ? -EINVAL : (int)n;
		}
		if (eph_knob_parse(buf, (size_t)n, knobs[i].max, &v) < 0) {
			snprintf(why, why_len,
				 "%s: expected a number from 0 to %u", path,
				 knobs[i].max);
			return -EINVAL;
		}
		if (knobs[i].size == sizeof(uint8_t))
			*((uint8_t *)k + knobs[i].offset) = (uint8_t)v;
		else
			memcpy((char *)k + knobs[i].offset, &(uint32_t){v},
			       sizeof(uint32_t));
		k->read = true;
	}
	return 0;
}
