#include "io.h"

#include <errno.h>
#include <unistd.h>

int
io_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
io_copy(int from, off_t off, off_t len, int to)
{
	char buf[65536];

	while (len > 0) {
		size_t want = len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t r = pread(from, buf, want, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;	/* the spool is shorter than recorded */
			return -1;
		}
		if (io_write_all(to, buf, (size_t)r) == -1)
			return -1;
		off += r;
		len -= r;
	}
	return 0;
}
