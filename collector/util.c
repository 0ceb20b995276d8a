/* util.c - small file helpers shared by the Linux sources. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "range.h"

long eph_read_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	int fd;

	if (len == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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
