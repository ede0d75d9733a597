/*
 * Delivery: the bytes of the mode the caller asked for, taken from an
 * attempt that was judged good.
 */
#ifndef CW_DELIVER_H
#define CW_DELIVER_H

#include <stdbool.h>

#include "attempt.h"
#include "cliargs.h"

/* Writes the payload to fd; 0, or -1 with errno (EPIPE, ENOSPC, …). */
int	deliver_fd(const struct attempt_res *, const struct cliargs *,
	    bool passthrough, int fd);

#endif
