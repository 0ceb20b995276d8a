/*
 * range.h - where the configured ephemeral range comes from.
 *
 * One implementation file per OS (range_linux.c, ...), chosen by
 * configure.  Parsers take a buffer and never touch the file system.
 */
#ifndef EPH_RANGE_H
#define EPH_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "ephport.h"

#define EPH_HIDDEN __attribute__((visibility("hidden")))

/* The range of one protocol plus the reserved-port bitmap (bit p set:
 * port p is reserved; ports outside [low, high] may be set too). */
struct eph_range {
	uint16_t low, high;
	uint8_t reserved[EPH_BITMAP_BYTES];
};

/*
 * eph_range_parse_pair - parse "LOW<ws>HIGH\n" (ip_local_port_range).
 * Returns 0, or -EINVAL: not two integers, trailing garbage, a value
 * outside 1..65535, or high < low.
 */
EPH_HIDDEN int eph_range_parse_pair(const char *buf, size_t len, uint16_t *low,
				    uint16_t *high);

/*
 * eph_reserved_parse - parse a reserved-port list ("" or "P,A-B,...",
 * optional trailing newline; ip_local_reserved_ports) into bitmap,
 * which is cleared first.  Returns 0, or -EINVAL (syntax, a port above
 * 65535, a reversed a-b range), leaving bitmap cleared.
 */
EPH_HIDDEN int eph_reserved_parse(const char *buf, size_t len,
				  uint8_t bitmap[EPH_BITMAP_BYTES]);

/* Reserved ports inside [low, high]. */
EPH_HIDDEN uint32_t eph_reserved_count(const uint8_t bitmap[EPH_BITMAP_BYTES],
				       uint16_t low, uint16_t high);

/*
 * eph_range_read - read the range of each protocol below proc_root
 * ("/proc" on Linux).  why (>= 256 bytes) receives a message naming the
 * file on failure.  Returns 0, -ENOENT (file missing), -EACCES,
 * -EINVAL (malformed), other -errno from read.
 */
EPH_HIDDEN int eph_range_read(const char *proc_root,
			      struct eph_range out[EPH_PROTO_COUNT], char *why,
			      size_t why_len);

/*
 * eph_knobs_read - the model's sysctls (tcp_tw_reuse, tcp_tw_reuse_delay,
 * tcp_timestamps, ip_autobind_reuse) below proc_root.  A missing file
 * keeps the kernel's default (eph_knobs_default()); k->read says whether
 * any was found.  Returns 0, or -EINVAL (not a number in range) / -errno,
 * with why naming the file.
 */
EPH_HIDDEN int eph_knobs_read(const char *proc_root, struct eph_knobs *k,
			      char *why, size_t why_len);

/* One sysctl value: decimal, 0..max, an optional newline.  0 or -EINVAL. */
EPH_HIDDEN int eph_knob_parse(const char *buf, size_t len, unsigned max,
			      unsigned *out);

/* Read a whole small file into buf (NUL-terminated); returns its length
 * or -errno: -EFBIG when it does not fit, -EINVAL when it is not a regular
 * file (a FIFO, a device, a directory: opened non-blocking, never read). */
EPH_HIDDEN long eph_read_file(const char *path, char *buf, size_t len);
/* eph_read_file's error in words ("not a regular file", "too large"...). */
EPH_HIDDEN const char *eph_read_strerror(long err);
/* Bytes from outside (a file, a config token) fit for a message: at most
 * max of the len bytes of s, between q quotes, with q, backslash and
 * control or non-ASCII bytes escaped (\\, \xNN), "..." after the closing
 * quote when shortened.  Returns out (always NUL-terminated). */
EPH_HIDDEN char *eph_quote(const char *s, size_t len, size_t max, char q,
			   char *out, size_t out_len);

static inline int eph_bit_test(const uint8_t *bm, unsigned p)
{
	return bm[p >> 3] & (1u << (p & 7));
}

static inline void eph_bit_set(uint8_t *bm, unsigned p)
{
	bm[p >> 3] |= (uint8_t)(1u << (p & 7));
}

#endif
