/* claudewrap's own options: from the front of argv and CLAUDEWRAP_*. */
#ifndef CW_OPTIONS_H
#define CW_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define OPT_MAX_EXPECT	32

enum opt_action { ACT_RUN, ACT_HELP, ACT_VERSION };

struct options {
	enum opt_action	 action;
	int64_t		 timeout_ms;
	int64_t		 deadline_ms;
	int64_t		 kill_after_ms;
	int64_t		 idle_timeout_ms;
	int64_t		 retries;
	int64_t		 backoff_ms;
	int64_t		 backoff_max_ms;
	unsigned	 retry_on;		/* bit (1 << enum outcome) */
	bool		 allow_empty;
	bool		 allow_fallback;
	const char	*output;
	const char	*lock;
	int64_t		 lock_wait_ms;
	const char	*heartbeat;
	int64_t		 heartbeat_interval_ms;
	const char	*tag;
	const char	*ledger;		/* NULL: state dir; "off" */
	const char	*state_dir;		/* NULL: XDG default */
	const char	*state_url;		/* --state-url, NULL: off */
	enum log_format	 log_format;
	bool		 quiet;
	bool		 syslog;
	int64_t		 max_prompt_bytes;	/* 0: off */
	int64_t		 low_output_tokens;
	double		 cache_ratio_warn;
	bool		 passthrough;
	int64_t		 cli_retries;
	const char	*transcript;
	const char	*expect_tool[OPT_MAX_EXPECT];
	size_t		 n_expect_tool;
	int64_t		 breaker;
	int64_t		 max_memory;		/* bytes, 0: off */
	bool		 quiet_ok;		/* hold stderr unless the run fails */
	int64_t		 lock_exit_code;	/* exit when --lock is busy */
	int64_t		 ledger_max;		/* bytes; 0: never rotate */
	bool		 rollback;		/* --rollback: see txn.h */
	const char	*verify;		/* --verify=CMD */
	int64_t		 verify_timeout_ms;
	bool		 resume_on_retry;
	const char	*claude;		/* --claude=PATH */
	int		 cli_argc;		/* what the real CLI gets */
	char	       **cli_argv;
	char		*expect_env;		/* owned copy for expect_tool */
	bool		 stdout_closed;		/* fd 1 was closed at start (>&-) */
};

void	options_defaults(struct options *);
/*
 * Reads CLAUDEWRAP_* from the environment, then (unless masquerade)
 * leading wrapper options from argv. On a bad value, writes a one-line
 * message naming the option and value to err and returns -1.
 */
int	options_parse(struct options *, int argc, char **argv,
	    bool masquerade, char *err, size_t errlen);
void	options_free(struct options *);
void	options_usage(FILE *);

#endif
