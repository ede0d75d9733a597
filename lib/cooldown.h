/*
 * The cooldown shared by every run using one state dir: a rate limit
 * seen by one run, and the circuit breaker for outages.
 *
 * The state is the file DIR/cooldown (JSON, 0600), replaced atomically
 * (temporary file in DIR, fsync, rename), so a reader always sees a
 * whole file; every read-modify-write holds an exclusive flock on
 * DIR/cooldown.lock. A missing, unreadable or corrupt file is no
 * cooldown, and the next change overwrites it. The caller makes DIR;
 * if it is missing, cooldown_check finds no cooldown and a
 * cooldown_note that has something to record fails with ENOENT.
 *
 * The run loop, around every attempt:
 *
 *	again:
 *	cooldown_check(dir, now, &cd);
 *	switch (cd.kind) {
 *	case CD_RATE_LIMIT:	wait until cd.until_ms and goto again,
 *				or end 43 now if that is past the deadline;
 *	case CD_BREAKER:	end 44 now, without a request;
 *	case CD_NONE:		attempt (cd.probe: this one is the probe);
 *	}
 *	cooldown_note(dir, outcome, now, reset_ms, window_ms, breaker);
 *
 * logging each wait or refusal with cd.cause. window_ms is the backoff
 * window of the attempt just made, retry_window(backoff, cap, done).
 */
#ifndef CW_COOLDOWN_H
#define CW_COOLDOWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "status.h"

enum cooldown_kind {
	CD_NONE,	/* go ahead (as the probe if probe is set) */
	CD_RATE_LIMIT,	/* a rate limit is in force until until_ms: wait */
	CD_BREAKER,	/* the breaker is open, or another run probes: 44 */
};

struct cooldown {
	enum cooldown_kind kind;
	int64_t	until_ms;	/* epoch ms the cooldown ends; 0 for none
				   or while a probe (probe_pid) is out */
	char	cause[32];	/* "rate_limit", "breaker", "probe" or "" */
	bool	probe;		/* CD_NONE: the caller is the breaker's probe */
	pid_t	probe_pid;	/* CD_BREAKER: the live run probing, else 0 */
	int	streak;		/* overloaded/server outcomes in a row */
};

/*
 * What the cooldown at now_ms asks of the calling process. A breaker
 * that is open and whose time has run out, with no live probe, makes
 * the caller its probe (recorded with getpid(); a probe whose process
 * is gone no longer counts, and a run that is the probe stays it on
 * later checks). A rate limit in force comes before probing: the
 * caller waits it out first. Only claiming the probe takes the lock
 * and writes; otherwise this is one open(2) of a missing file, or a
 * read of a small one. 0, or -1 with errno (then cd says CD_NONE).
 */
int	cooldown_check(const char *dir, int64_t now_ms, struct cooldown *cd);

/*
 * Records the outcome of an attempt made at about now_ms:
 *  - OC_RATE_LIMIT: the rate-limit cooldown runs until reset_ms when it
 *    is known (> 0), else now_ms + window_ms, and never gets shorter.
 *    The API answered, so the breaker also closes as below.
 *  - OC_OVERLOADED, OC_SERVER: one more in the streak; when breaker > 0
 *    and the streak reaches it, the breaker opens (or, after a failed
 *    probe, reopens) until now_ms + window_ms and the probe is cleared.
 *  - OC_OK, OC_EMPTY, OC_ERROR, OC_AUTH, OC_EXPECTATION (the API
 *    answered): the streak ends, the breaker closes, the probe is
 *    cleared. A rate-limit cooldown in force stays: the attempt may
 *    have started before it.
 *  - anything else (timeout, network, signal, …) changes nothing; a
 *    probe that ends so keeps its claim until its process exits.
 * The file is written only when something changes, so the common case
 * (success, nothing open) is a read, or a failed open(2), and no lock.
 * 0, or -1 with errno.
 */
int	cooldown_note(const char *dir, enum outcome, int64_t now_ms,
	    int64_t reset_ms, int64_t window_ms, int breaker);

/*
 * For claudewrap-report: what is in force at now_ms, read only (never a
 * claim of the probe). cd->kind is CD_BREAKER while the breaker is open
 * (until_ms 0 when it waits for a probe, probe_pid the live one),
 * CD_RATE_LIMIT while a rate limit lasts, else CD_NONE; cd->streak the
 * overloaded/server outcomes in a row. 0, or -1 with errno.
 */
int	cooldown_peek(const char *dir, int64_t now_ms, struct cooldown *cd);

/*
 * Ends by hand whatever is in force: the rate limit, the breaker, its
 * streak and probe, under the writers' lock. 1 when there was
 * something to end, 0 when not, -1 with errno.
 */
int	cooldown_clear(const char *dir, int64_t now_ms);

#endif
