/*
 * The guardian: a small process between claudewrap and the CLI, so that
 * the CLI's tree dies with claudewrap even when claudewrap is killed
 * with SIGKILL. It is the CLI's parent and a child subreaper, so every
 * descendant (a setsid'd grandchild included) stays below it; it reaps
 * them and reports each end on a pipe; when claudewrap's end of its
 * control pipe closes (claudewrap is done with it, or died), it kills
 * whatever is left below it, reaps it, and exits. Once the CLI has
 * ended and nothing is left below it, it exits on its own.
 */
#ifndef CW_GUARD_H
#define CW_GUARD_H

#include <sys/resource.h>
#include <sys/types.h>

#include <stdbool.h>

#include "spawn.h"
#include "tree.h"

enum guard_kind { GM_SPAWNED, GM_EXITED, GM_REAPED, GM_EMPTY };

/* One report; far below PIPE_BUF, so every write lands whole. */
struct guard_msg {
	enum guard_kind	 kind;
	pid_t		 pid;
	int		 status;	/* wait status; for GM_SPAWNED, errno */
	struct rusage	 ru;		/* of the process that ended */
	char		 comm[TREE_COMM_LEN];	/* its name, for the log */
	int		 last;		/* nothing is left below the guardian */
};

struct guard {
	pid_t	pid;	/* the guardian, -1 when none */
	int	ctl;	/* ours to close: the guardian's cue to finish */
	int	st;	/* its reports, non-blocking */
};

/*
 * Starts the guardian, which starts the CLI as spawn_cli does. Returns
 * the CLI's pid, or -1 with *err the errno of fork or exec (then no
 * guardian is left).
 */
pid_t	guard_spawn(const struct spawn_req *, struct guard *, int *err);
/* What the reports said so far. */
struct guard_state {
	bool	exited;		/* the child ended, with status */
	int	status;		/* a wait status */
	bool	empty;		/* and nothing is left below the guardian */
	bool	lost;		/* the guardian died before that (killed) */
};

typedef void	guard_each_fn(void *ctx, const struct guard_msg *);

/*
 * Takes every report waiting into *s; each GM_EXITED and GM_REAPED is
 * also passed to each (may be NULL). When the guardian is gone it is
 * collected: after the child's end and nothing left, it left on its
 * own; before, it was killed: lost, and a child whose end was not
 * reported died of its parent-death signal (status SIGKILL).
 */
void	guard_take(struct guard *, struct guard_state *s, guard_each_fn *each,
	    void *ctx);
/* Closes the control pipe and collects the guardian. */
void	guard_end(struct guard *);
/*
 * Closes the control pipe only; the guardian, pid, is then collected
 * later with guard_wait: its exit overlaps what we do meanwhile.
 */
pid_t	guard_close(struct guard *);
void	guard_wait(pid_t);

#endif
