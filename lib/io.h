/* Whole writes and copies that survive EINTR and short writes. */
#ifndef CW_IO_H
#define CW_IO_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* 0 when all n bytes were written, -1 with errno (EPIPE, ENOSPC, …). */
int	io_write_all(int fd, const void *, size_t n);
/* pwrite(2) of all n bytes at off; 0, or -1 with errno (ENOSPC, …). */
int	io_pwrite_all(int fd, const void *, size_t n, off_t off);
/*
 * One pread of at most want bytes at off from a file known to hold them
 * (the spool): bytes read (> 0), or -1 with errno (EIO when the file is
 * shorter than that). Retries EINTR.
 */
ssize_t	io_pread_some(int fd, void *buf, size_t want, off_t off);
/* Copies len bytes at offset off of `from` (pread) to `to`; 0 or -1. */
int	io_copy(int from, off_t off, off_t len, int to);

/*
 * Room for want bytes in *buf, of *cap bytes: doubled from 4 KiB until
 * it fits. 0, or -1 with ENOMEM (then *buf is as it was).
 */
int	io_grow(char **buf, size_t *cap, size_t want);
/* close(2) that keeps the errno of the failure being reported. */
void	io_close_keep_errno(int fd);
/* buf = a + b; -1 with ENAMETOOLONG when it does not fit (never cut). */
int	io_path(char *buf, size_t size, const char *a, const char *b);
/* mkdir -p: each directory it makes 0700 (XDG asks that of state). */
int	io_mkdir_p(const char *dir);

/*
 * Every state file and every file a user names is opened through this:
 * never blocking (O_NONBLOCK: a FIFO does not wait for its other end),
 * close-on-exec, O_NOFOLLOW when creating (a link there is ELOOP), and
 * refused unless it is a regular file (errno IO_ENOTREG; io_strerror
 * says so; EISDIR for a directory). -1 with errno.
 */
#define IO_ENOTREG	EMEDIUMTYPE
int	io_open_regular(const char *path, int flags, mode_t mode);
/* io_open_regular for reading, as a stdio stream; NULL with errno. */
FILE	*io_fopen_read(const char *path);
/* strerror, with IO_ENOTREG said as "not a regular file". */
const char *io_strerror(int e);
/*
 * A state file looser than mode (0600) is narrowed to it: 1 when it was
 * (the caller warns), 0 when it was fine, -1 with errno.
 */
int	io_fix_mode(int fd, mode_t mode);

#endif
