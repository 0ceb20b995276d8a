/* util.c - small file helpers shared by the Linux sources. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "range.h"

long eph_read_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	struct stat sb;
	int fd;

	if (len == 0)
		return -EINVAL;
	/* Non-blocking, and only regular files (procfs files are): a FIFO
	 * or a device put where a sysctl file should be would otherwise
	 * block open() or read() forever, and the collection with it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == len - 1) {
			char extra;

			/* Full buffer: only fine if the file ends here. */
			n = read(fd, &extra, 1);
			close(fd);
			if (n != 0)
				return -EFBIG;
			buf[got] = '\0';
			return (long)got;
		}
	}
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

const char *eph_read_strerror(long err)
{
	if (err == -EINVAL)
		return "not a regular file";
	if (err == -EFBIG)
		return "too large";
	return strerror((int)-err);
}

char *eph_quote(const char *s, size_t len, size_t max, char q, char *out,
		size_t out_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, shown = len < max ? len : max;

	if (out_len < 8) {
		if (out_len)
			out[0] = '\0';
		return out;
	}
	out[o++] = q;
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Room for an escape, the quote, "..." and the NUL. */
		if (o + 9 >= out_len) {
			shown = i;
			break;
		}
		if (c == (unsigned char)q || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = q;
	if (shown < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
