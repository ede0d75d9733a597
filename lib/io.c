#include "io.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* All n bytes: at off with pwrite, or (off -1) where fd stands. */
static int
write_loop(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = off == -1 ? write(fd, p, n) : pwrite(fd, p, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		if (off != -1)
			off += w;
	}
	return 0;
}

int
io_write_all(int fd, const void *buf, size_t n)
{
	return write_loop(fd, buf, n, -1);
}

int
io_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	return write_loop(fd, buf, n, off);
}

int
io_grow(char **buf, size_t *cap, size_t want)
{
	size_t c = *cap < 4096 ? 4096 : *cap;
	char *nb;

	if (want <= *cap)
		return 0;
	while (c < want)
		c *= 2;
	if ((nb = realloc(*buf, c)) == NULL)
		return -1;
	*buf = nb;
	*cap = c;
	return 0;
}

ssize_t
io_pread_some(int fd, void *buf, size_t want, off_t off)
{
	ssize_t n;

	do
		n = pread(fd, buf, want, off);
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		errno = EIO;	/* the spool is shorter than recorded */
		return -1;
	}
	return n;
}

int
io_copy(int from, off_t off, off_t len, int to)
{
	char buf[65536];

	while (len > 0) {
		size_t want = len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t r = io_pread_some(from, buf, want, off);
		if (r < 0)
			return -1;
		if (io_write_all(to, buf, (size_t)r) == -1)
			return -1;
		off += r;
		len -= r;
	}
	return 0;
}

void
io_close_keep_errno(int fd)
{
	int saved = errno;

	(void)close(fd);
	errno = saved;
}

int
io_path(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir that is content when a directory is already there. */
static int
mkdir_one(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
io_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	char *p;

	if (*dir == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (io_path(path, sizeof(path), dir, "") == -1)
		return -1;
	/*
	 * Already there, as on every run but the first: one stat instead
	 * of a mkdir and a stat per component.
	 */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	/* Each parent in turn; "/" itself is skipped. */
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		if (mkdir_one(path) == -1)
			return -1;
		*p = '/';
	}
	return mkdir_one(path);
}

int
io_open_regular(const char *path, int flags, mode_t mode)
{
	struct stat st;
	int fd;

	flags |= O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	if (flags & O_CREAT)
		flags |= O_NOFOLLOW;
	if ((fd = open(path, flags, mode)) == -1) {
		/* A FIFO with no reader, a device with no driver. */
		if (errno == ENXIO)
			errno = IO_ENOTREG;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		io_close_keep_errno(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : IO_ENOTREG;
		return -1;
	}
	return fd;
}

FILE *
io_fopen_read(const char *path)
{
	int fd = io_open_regular(path, O_RDONLY, 0);
	FILE *f;

	if (fd == -1)
		return NULL;
	if ((f = fdopen(fd, "r")) == NULL)
		io_close_keep_errno(fd);
	return f;
}

const char *
io_strerror(int e)
{
	return e == IO_ENOTREG ? "not a regular file" : strerror(e);
}

int
io_fix_mode(int fd, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((st.st_mode & 0777 & ~mode) == 0 || st.st_uid != geteuid())
		return 0;
	return fchmod(fd, mode) == -1 ? -1 : 1;
}
