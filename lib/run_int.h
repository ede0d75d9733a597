/*
 * The parts of one run, private to them: run.c (the policy) and the
 * files it hands a concern to. Each part keeps its state in a struct of
 * its own inside struct run, and exports here only what the policy or
 * another part calls:
 *
 *   run_prompt.c   the prompt: positional arguments and stdin, hashed
 *   run_env.c      the environment the CLI is given
 *   run_beat.c     the --heartbeat file and how often the loops wake
 *   run_expect.c   --expect-tool: the tools the model called
 *   run_txn.c      --rollback, --verify and --resume-on-retry
 *   run_ledger.c   the ledger's start and done records
 *   run_done.c     the done line and what the done record shares with it
 *   run_direct.c   the paths that are no run: exec, --version, usage
 *
 * Nothing outside lib/run*.c includes this header.
 */
#ifndef CW_RUN_INT_H
#define CW_RUN_INT_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "attempt.h"
#include "cliargs.h"
#include "cliversion.h"
#include "hash.h"
#include "heartbeat.h"
#include "log.h"
#include "options.h"
#include "output.h"
#include "payload.h"
#include "status.h"
#include "usage.h"
#include "verify.h"

#define MAX_TOOLS	64

/* What the CLI reads: the prompt (run_prompt.c). */
struct run_prompt {
	int		 stdin_fd;	/* replayed to every attempt */
	uint64_t	 bytes;
	char		 sha[HASH_HEX_LEN];
};

/* The CLI's environment (run_env.c). */
struct run_env {
	char	       **envp;
	char		*own[3];	/* the variables we added */
};

/* --heartbeat (run_beat.c). */
struct run_beat {
	int64_t		 next;		/* monotonic: the next heartbeat */
	bool		 warned;
};

/* --expect-tool (run_expect.c). */
struct run_expect {
	char		*tools[MAX_TOOLS];	/* called in the last attempt */
	int		 ntools;
	const char	*missing[OPT_MAX_EXPECT];	/* not called */
	int		 nmissing;
};

/* --rollback, --verify, --resume-on-retry (run_txn.c). */
struct run_txn {
	struct txn	*txn;		/* --rollback, or NULL */
	int		 restored_at;	/* the attempt it was last put back after */
	char	       **resume_argv;	/* the next attempt's, or NULL */
	int		 resumed;	/* attempts that continued a session */
	struct verify_res ver;		/* --verify, when it ran */
	bool		 have_ver;
};

/* The ledger writer (run_ledger.c). */
struct run_ledger {
	char		 path[PATH_MAX + 16];	/* "": none */
	bool		 warned;
	int		 fd;		/* start record written, unsynced */
};

/* The state dir, and the --lock taken there (or in Redis). */
struct run_state {
	char		 dir[PATH_MAX];
	bool		 ok;		/* the state dir exists, and is ours */
	char		 why[128];	/* why not */
	bool		 lock_unreachable;	/* --state-url's lock service */
	int		 lock_fd;
};

/* --output, once delivered. */
struct run_out {
	bool		 wrote;
	char		 path[PATH_MAX];	/* absolute, for the records */
	struct output_info info;
};

struct run {
	const struct options *o;
	struct log	*lg;
	sigset_t	 orig_mask;
	int		 sigfd;
	char		 cli[PATH_MAX];
	struct cliargs	 ca;
	struct cli_version cv;		/* read once, in prepare */
	int64_t		 t0;		/* monotonic start */
	int64_t		 deadline_at;	/* monotonic, 0: none */
	/* The end so far: status, signal, detail, a reset time. */
	enum status	 st;
	int		 sig;
	char		 detail[320];
	int64_t		 reset_at;	/* epoch s */
	/* The attempts: the last one's result and what they all cost. */
	int		 attempts;
	int		 cli_retries;
	struct attempt_res res;		/* the last attempt */
	struct usage	 use;		/* of every attempt */
	bool		 have_res;
	int64_t		 requests;	/* API requests of finished attempts */
	int		 responses;	/* assistant messages of this attempt */
	char		 last_msg[64];	/* id of the last one */
	struct transcript *tr;		/* --transcript, or NULL */
	char		 tr_path[PATH_MAX];	/* kept after it is closed */
	struct fleet	*fl;		/* --state-url, or NULL */
	struct run_prompt pr;
	struct run_env	 env;
	struct run_beat	 hb;
	struct run_expect exp;
	struct run_txn	 tx;
	struct run_ledger lw;
	struct run_state state;
	struct run_out	 out;
};

/* run.c */
void	set_end(struct run *, enum status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A pending terminating signal (not SIGCHLD), or 0. */
int	pending_signal(struct run *);

/* run_prompt.c: the prompt hashed, stdin spooled; -1: errno, or r->sig. */
int	run_take_prompt(struct run *);

/* run_env.c: r->env made; -1 with errno. */
int	run_child_env(struct run *);

/* run_beat.c */
void	run_beat(struct run *, enum hb_phase, int64_t next_wake_ms);
void	run_beat_if_due(struct run *, enum hb_phase);
int64_t	run_tick_interval(const struct run *);

/* run_expect.c */
void	run_expect_note(struct run *, const struct pl_event *);
void	run_expect_forget(struct run *);
bool	run_expect_met(struct run *);

/* run_txn.c: each 0 (or true) to go on; otherwise the run's end is set. */
int	run_txn_begin(struct run *);
int	run_txn_between(struct run *);
bool	run_txn_verified(struct run *);
void	run_txn_end(struct run *);
void	run_txn_fields(struct run *, cJSON *);

/* run_ledger.c */
void	run_fix_mode(struct run *, int fd, const char *path);
void	run_ledger_warn(struct run *);
void	run_ledger_start(struct run *);
void	run_ledger_settle(struct run *);
void	run_ledger_done(struct run *);

/* run_done.c */
void	run_done_basics(cJSON *, enum status, int exit_code, int attempts,
	    int64_t duration_ms);
int	run_exit(const struct run *);
void	run_add_outcome(struct run *, cJSON *);
const char *run_transcript_name(const struct run *);
void	run_log_done(struct run *);

#endif
