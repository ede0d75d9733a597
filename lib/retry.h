/*
 * Retry arithmetic: the backoff schedule and the reset times the CLI
 * names in its messages. No state of its own; placing a time in a named
 * zone ("3:50pm (Asia/Tokyo)") looks the zone up in the tz database
 * (a stat) and sets TZ around mktime, then restores it.
 */
#ifndef CW_RETRY_H
#define CW_RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * w = min(backoff * 2^(done-1), cap) for the wait after `done` attempts
 * (done < 1 counts as 1; cap <= 0 means no cap). Saturates at 2^62 ms,
 * so adding it to a clock cannot overflow.
 */
int64_t	retry_window(int64_t backoff_ms, int64_t cap_ms, int done);
/* A wait drawn uniformly from [w/2, w]. */
int64_t	retry_draw(int64_t w_ms);
/*
 * The reset time named in a CLI message (every form listed at the
 * top of retry.c), as epoch seconds; 0 when found,
 * -1 when the text names none. A time without a date is its next
 * occurrence, but one that passed less than 60 s ago is today's: the
 * CLI prints minutes only.
 */
int	retry_parse_reset(const char *text, size_t len, time_t now,
	    time_t *when);

#endif
