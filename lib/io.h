/* Whole writes and copies that survive EINTR and short writes. */
#ifndef CW_IO_H
#define CW_IO_H

#include <stddef.h>
#include <sys/types.h>

/* 0 when all n bytes were written, -1 with errno (EPIPE, ENOSPC, …). */
int	io_write_all(int fd, const void *, size_t n);
/* Copies len bytes at offset off of `from` (pread) to `to`; 0 or -1. */
int	io_copy(int from, off_t off, off_t len, int to);

#endif
