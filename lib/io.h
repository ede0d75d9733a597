/* Whole writes and copies that survive EINTR and short writes. */
#ifndef CW_IO_H
#define CW_IO_H

#include <stddef.h>
#include <sys/types.h>

/* 0 when all n bytes were written, -1 with errno (EPIPE, ENOSPC, …). */
int	io_write_all(int fd, const void *, size_t n);
/* Copies len bytes at offset off of `from` (pread) to `to`; 0 or -1. */
int	io_copy(int from, off_t off, off_t len, int to);

/* close(2) that keeps the errno of the failure being reported. */
void	io_close_keep_errno(int fd);
/* buf = a + b; -1 with ENAMETOOLONG when it does not fit (never cut). */
int	io_path(char *buf, size_t size, const char *a, const char *b);
/* mkdir -p: each directory it makes 0700 (XDG asks that of state). */
int	io_mkdir_p(const char *dir);

#endif
