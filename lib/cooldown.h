/*
 * The cooldown shared by every run using one state dir: a rate limit
 * seen by one run, and the circuit breaker for outages.
 */
#ifndef CW_COOLDOWN_H
#define CW_COOLDOWN_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

struct cooldown {
	int64_t	until_ms;	/* epoch ms; 0 when none is in force */
	char	cause[32];	/* "rate_limit" or "breaker" */
	bool	probe;		/* the caller is the breaker's probe */
};

/*
 * Reads the cooldown in force at now_ms. When the breaker's cooldown has
 * run out and no probe is under way, the caller becomes the probe
 * (probe = true). 0 on success, -1 with errno when the file cannot be
 * read (a missing file is no cooldown, not an error).
 */
int	cooldown_check(const char *dir, int64_t now_ms, struct cooldown *);
/*
 * Records an attempt's outcome: a rate limit sets the cooldown until
 * reset_ms (or now + wait_ms if no reset is known); overloaded/server
 * outcomes count towards the breaker, which opens for open_ms after
 * `breaker` in a row (0: off); anything that reached the API and
 * succeeded closes it. 0 on success, -1 with errno.
 */
int	cooldown_note(const char *dir, enum outcome, int64_t now_ms,
	    int64_t reset_ms, int64_t open_ms, int breaker);

#endif
