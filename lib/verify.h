/*
 * --verify: the gate between "the model says it is done" and delivery.
 * The command runs under `sh -c` below a guardian (guard.h), in its own
 * process group, and its tree is killed on timeout as the CLI's is
 * (SIGTERM, --kill-after, SIGKILL). Its stdout and stderr go to ours,
 * each line prefixed "verify: ".
 */
#ifndef CW_VERIFY_H
#define CW_VERIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

struct verify_cfg {
	const char	*cmd;
	const char	*answer_path;	/* CLAUDEWRAP_ANSWER */
	char	       **envp;		/* the CLI's (CLAUDEWRAP_RUN_ID set) */
	const sigset_t	*mask;		/* the signal mask to exec with */
	int		 sigfd;		/* signalfd of the run */
	int64_t		 timeout_ms;	/* 0: none */
	int64_t		 kill_after_ms;
	struct log	*log;
};

struct verify_res {
	int		 exit;		/* as a shell says it: 128+N if killed */
	bool		 timed_out;
	int		 sig;		/* a signal claudewrap got meanwhile */
	int64_t		 ms;
	char		 detail[200];	/* why it could not run, or "" */
};

/* Runs the command; res is always filled (exit -1: it never ran). */
void	verify_run(const struct verify_cfg *, struct verify_res *);

#endif
