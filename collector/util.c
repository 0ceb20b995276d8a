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
