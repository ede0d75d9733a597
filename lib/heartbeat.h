/*
 * --heartbeat: a small JSON file rewritten while the run lives, so a
 * watcher (a monitoring check, a person) can tell a slow run from a stuck
 * or dead one without parsing logs.
 */
#ifndef CW_HEARTBEAT_H
#define CW_HEARTBEAT_H

#include <stdint.h>
#include <sys/types.h>

enum hb_phase {
	HB_STARTING,	/* before the first attempt */
	HB_RUNNING,	/* an attempt is running */
	HB_WAITING,	/* between attempts, or for the lock or cooldown */
	HB_KILLING,	/* the attempt's tree is being terminated */
	HB_DONE		/* the run is over */
};

struct heartbeat {
	const char	*run;		/* the run's id */
	const char	*tag;		/* NULL: not written */
	pid_t		 pid;
	int		 attempt;	/* 0 before the first */
	enum hb_phase	 phase;
	int64_t		 ts_ms;		/* epoch ms; 0: now */
	/*
	 * Epoch ms by which the writer means to write again (the next
	 * beat, the end of a wait); past it, a watcher may call the run
	 * stuck. 0: not written.
	 */
	int64_t		 next_wake_ms;
};

/*
 * Replaces path atomically (output_commit) with one JSON object and a
 * newline: {"run","tag"?,"pid","attempt","phase","ts","ts_ms",
 * "next_wake_ms"?}, ts ISO 8601 UTC with ms. 0, or -1 with errno (EINVAL
 * for a NULL run or an unknown phase).
 */
int		 heartbeat_write(const char *path, const struct heartbeat *);
/* "starting", "running", "waiting", "killing", "done"; NULL if unknown. */
const char	*heartbeat_phase_name(enum hb_phase);

#endif
