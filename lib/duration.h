/* Durations on the command line: N[ms|s|m|h|d], decimals allowed. */
#ifndef CW_DURATION_H
#define CW_DURATION_H

#include <stdint.h>

#define DURATION_MAX_MS	(INT64_C(100) * 365 * 86400 * 1000)	/* 100 years */

/*
 * Parses s into milliseconds. A bare number is seconds; 0 means off.
 * A non-zero value shorter than 1 ms rounds up to 1 ms, so that it never
 * reads as "off". 0 on success, -1 on a malformed or too large value.
 */
int	duration_parse(const char *s, int64_t *ms);

#endif
