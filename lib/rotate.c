#include "rotate.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "io.h"

int
rotate_name(const char *path, int n, char *buf, size_t size)
{
	char suffix[16];

	snprintf(suffix, sizeof(suffix), ".%d", n);
	return io_path(buf, size, path, suffix);
}

/* Whether path is a regular file larger than max; a missing one is not. */
static int
too_big(const char *path, int64_t max)
{
	struct stat sb;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : -1;
	return S_ISREG(sb.st_mode) && sb.st_size > max;
}

static int
lock_for(const char *path)
{
	char lk[PATH_MAX];
	int fd;

	if (io_path(lk, sizeof(lk), path, ".lock") == -1)
		return -1;
	fd = io_open_regular(lk, O_RDWR | O_CREAT, 0600);
	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			io_close_keep_errno(fd);
			return -1;
		}
	return fd;
}

static int
shift_files(const char *path)
{
	char from[PATH_MAX], to[PATH_MAX];

	for (int n = ROTATE_KEEP; n >= 1; n--) {
		if (rotate_name(path, n, to, sizeof(to)) == -1)
			return -1;
		if (n == 1) {
			if (io_path(from, sizeof(from), path, "") == -1)
				return -1;
		} else if (rotate_name(path, n - 1, from, sizeof(from)) == -1)
			return -1;
		if (rename(from, to) == -1 && errno != ENOENT)
			return -1;
	}
	return 0;
}

int
rotate_ledger(const char *path, int64_t max)
{
	int fd, rc;

	/* The common case, a ledger below its size, takes no lock. */
	if (max <= 0 || (rc = too_big(path, max)) <= 0)
		return max <= 0 ? 0 : rc;
	if ((fd = lock_for(path)) == -1)
		return -1;
	if ((rc = too_big(path, max)) == 1 && shift_files(path) == -1)
		rc = -1;
	io_close_keep_errno(fd);
	return rc;
}
