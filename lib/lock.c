#include "lock.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

#include "clock.h"

/* The pause between tries doubles from the first to the last. */
#define LOCK_PAUSE_MIN_MS	10
#define LOCK_PAUSE_MAX_MS	250

enum try_result { TRY_LOCKED, TRY_BUSY, TRY_ERROR };

/*
 * Explicit ranges, not isalnum(3): the locale must not widen what ends up
 * in a file name.
 */
static bool
name_ok(const char *name)
{
	const char *p;

	if (*name == '\0' || *name == '.')
		return false;
	for (p = name; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-')
			continue;
		return false;
	}
	return true;
}

bool
lock_name_ok(const char *name)
{
	return name[0] == '/' || name_ok(name);
}

static int
resolve_path(const char *state_dir, const char *name, char *path,
    size_t size)
{
	char dir[PATH_MAX];

	/* Filled first: the caller names it in its error, whatever failed. */
	if (strlcpy(path, name, size) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!lock_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if (name[0] == '/') {
		if (strlcpy(path, name, size) >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	if (!name_ok(name) || state_dir == NULL || *state_dir == '\0') {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/locks", state_dir) >=
	    sizeof(dir) ||
	    (size_t)snprintf(path, size, "%s/%s.lock", dir, name) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return io_mkdir_p(dir);
}

/*
 * O_NOFOLLOW: a symlink planted at the path must not make us create or
 * truncate its target. O_RDWR because the holder writes its pid; a lock
 * file someone else made and we may only read (a path shared between
 * users) is locked all the same, as flock(1) would, without the pid.
 */
static int
open_lock(const char *path)
{
	int fd;

	fd = io_open_regular(path, O_RDWR | O_CREAT, 0600);
	if (fd == -1 && (errno == EACCES || errno == EROFS))
		fd = io_open_regular(path, O_RDONLY | O_CREAT, 0600);
	return fd;
}

static enum try_result
try_lock(int fd)
{
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return TRY_LOCKED;
		if (errno == EWOULDBLOCK)
			return TRY_BUSY;
		if (errno != EINTR)
			return TRY_ERROR;
	}
}

/*
 * Whether fd is still the file at path. Someone may have removed or
 * replaced the file while we waited on it; a lock on an inode nobody else
 * can open again excludes nobody. 1 same, 0 not, -1 error.
 */
static int
still_linked(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) == -1)
		return -1;
	if (lstat(path, &b) == -1)
		return errno == ENOENT ? 0 : -1;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Best effort: the pid is for people who look, the lock is the flock. */
static void
write_pid(int fd)
{
	char buf[32];
	int n;

	if (ftruncate(fd, 0) == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (pwrite(fd, buf, (size_t)n, 0) == -1)
		return;
}

/* Best effort too: closing releases the lock all the same. */
static void
clear_pid(int fd)
{
	if (ftruncate(fd, 0) == -1)
		return;
}

/*
 * Sleeps ms, or less if sigfd becomes readable: 1 then, 0 after the
 * sleep (or an EINTR: the caller's loop re-checks the clock), -1 error.
 */
static int
pause_ms(int sigfd, int64_t ms)
{
	struct pollfd p = { .fd = sigfd, .events = POLLIN };
	int n;

	/* poll(2) ignores a negative fd, so sigfd -1 is a plain sleep. */
	n = poll(&p, 1, (int)ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	if (n > 0 && (p.revents & POLLNVAL) != 0) {
		errno = EBADF;
		return -1;
	}
	return n > 0;
}

/*
 * One try on the open fd (or a fresh open when *fd is -1): TRY_LOCKED
 * only when the lock is held on the file that is at path now.
 */
static enum try_result
try_path(const char *path, int *fd)
{
	enum try_result r;
	int same;

	for (;;) {
		if (*fd == -1 && (*fd = open_lock(path)) == -1)
			return TRY_ERROR;
		if ((r = try_lock(*fd)) != TRY_LOCKED)
			return r;
		if ((same = still_linked(*fd, path)) == 1)
			return TRY_LOCKED;
		io_close_keep_errno(*fd);
		*fd = -1;
		if (same == -1)
			return TRY_ERROR;
	}
}

enum lock_result
lock_acquire(const char *state_dir, const char *name, int64_t wait_ms,
    int sigfd, int *fd_out, char *path_out, size_t path_size)
{
	int64_t start = clock_mono_ms(), pause = LOCK_PAUSE_MIN_MS;
	int fd = -1;

	*fd_out = -1;
	if (wait_ms < 0)
		wait_ms = 0;
	if (resolve_path(state_dir, name, path_out, path_size) == -1)
		return LOCK_ERROR;
	for (;;) {
		enum try_result r = try_path(path_out, &fd);
		int64_t left;
		int woke;

		if (r == TRY_LOCKED) {
			write_pid(fd);
			*fd_out = fd;
			return LOCK_OK;
		}
		if (r == TRY_ERROR) {
			if (fd != -1)
				io_close_keep_errno(fd);
			return LOCK_ERROR;
		}
		/* Elapsed time, not an end time: no overflow for any wait. */
		if ((left = wait_ms - (clock_mono_ms() - start)) <= 0) {
			(void)close(fd);
			return LOCK_BUSY;
		}
		if ((woke = pause_ms(sigfd, left < pause ? left : pause)) != 0) {
			io_close_keep_errno(fd);
			return woke == 1 ? LOCK_INTERRUPTED : LOCK_ERROR;
		}
		if ((pause *= 2) > LOCK_PAUSE_MAX_MS)
			pause = LOCK_PAUSE_MAX_MS;
	}
}

void
lock_release(int fd)
{
	if (fd < 0)
		return;
	/* Still held here, so no later holder's pid can be cleared. */
	clear_pid(fd);
	(void)close(fd);
}

pid_t
lock_holder(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	fd = io_open_regular(path, O_RDONLY | O_NOFOLLOW, 0);
	if (fd == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    pid <= 0 || pid > INT_MAX)
		return -1;
	return (pid_t)pid;
}
