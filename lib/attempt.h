/*
 * One attempt: spawn the CLI, run the event loop (stdout to the spool
 * and the payload reader, stderr through, signals, timeouts), kill and
 * reap the whole tree, judge. Knows nothing of retries.
 */
#ifndef CW_ATTEMPT_H
#define CW_ATTEMPT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "payload.h"
#include "usage.h"

typedef void	attempt_tick(void *ctx, const char *phase);
typedef void	attempt_hook(void *ctx);

struct attempt_cfg {
	const char	*path;
	char	       **argv;
	char	       **envp;
	int		 stdin_fd;	/* replayed from offset 0 */
	int		 sigfd;		/* signalfd of the run */
	const sigset_t	*child_mask;
	int64_t		 timeout_ms;	/* 0: none */
	bool		 timeout_is_deadline;
	int64_t		 idle_ms;	/* 0: none */
	int64_t		 kill_after_ms;
	enum pl_format	 format;
	bool		 keep_stream;	/* delivery needs every byte spooled */
	const char	*empty_placeholder;	/* payload_set_placeholder */
	int		 number;	/* 1 for the first attempt */
	struct log	*log;
	pl_hook		*observe;	/* every stream event, after ours */
	void		*observe_ctx;
	int64_t		 tick_ms;	/* 0: no ticks */
	attempt_tick	*tick;
	attempt_hook	*spawned;	/* once the CLI runs; may be NULL */
	void		*hook_ctx;	/* passed to tick and spawned */
	int64_t		 max_rss_kb;	/* --max-memory; 0: off */
};

struct attempt_res {
	enum outcome	 oc;
	struct verdict	 v;
	int		 sig;		/* a signal claudewrap got, or 0 */
	int		 spool_fd;	/* stdout (keep_stream), else -1 */
	pid_t		 guard_pid;	/* the guardian, collected by _free */
	int64_t		 out_bytes;
	int		 cli_retries;	/* api_retry events seen */
	struct payload	*pl;		/* caller frees */
	struct usage	 use;		/* what the tree cost the machine */
};

/* Runs one attempt; the result is always filled. */
void	attempt_run(const struct attempt_cfg *, struct attempt_res *);
/* Frees what attempt_run left to the caller. */
void	attempt_res_free(struct attempt_res *);

#endif
