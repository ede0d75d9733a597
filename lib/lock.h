/*
 * --lock: one run per name at a time, through flock(2) on a lock file.
 * The lock lives as long as the descriptor, which is close-on-exec: an
 * inherited lock fd held by an orphaned descendant would lock out every
 * later run.
 */
#ifndef CW_LOCK_H
#define CW_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum lock_result {
	LOCK_OK,		/* held; *fd_out is the lock */
	LOCK_BUSY,		/* held by someone else past wait_ms */
	LOCK_INTERRUPTED,	/* sigfd became readable while waiting */
	LOCK_ERROR		/* errno says why */
};

/*
 * A name starting with '/' is a path, used as given (its directory is
 * not created); any other name must match [A-Za-z0-9._-]+, not start with '.',
 * and means <state_dir>/locks/<name>.lock (directories created 0700).
 * The file is opened O_NOFOLLOW: a symlink at the path is ELOOP, a
 * non-regular file EINVAL, a bad name EINVAL.
 *
 * Waits up to wait_ms (0: one try) for a busy lock, sleeping in poll(2)
 * on sigfd (-1: none) with growing intervals. A readable sigfd ends the
 * wait with LOCK_INTERRUPTED; the signalfd is not read, so the caller
 * reads it and, for a signal it does not act on, may call again with
 * what is left of the wait.
 *
 * The path is in path_out whatever the result (for the caller's log),
 * unless it does not fit (LOCK_ERROR, ENAMETOOLONG). Once locked, the
 * holder's pid is written into the file for people who look; failing to
 * write it is not an error.
 */
enum lock_result lock_acquire(const char *state_dir, const char *name,
		    int64_t wait_ms, int sigfd, int *fd_out, char *path_out,
		    size_t path_size);
/*
 * A lock name claudewrap takes: an absolute path, or a plain name that
 * stays inside <state_dir>/locks ([A-Za-z0-9._-]+, not starting '.').
 */
bool		 lock_name_ok(const char *name);
/* Clears the pid and closes fd, which releases the lock; -1 is a no-op. */
void		 lock_release(int fd);
/* The pid written into the lock file at path, or -1 (none, unreadable). */
pid_t		 lock_holder(const char *path);

#endif
