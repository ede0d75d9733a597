/*
 * One run: locate the CLI, read stdin once, attempts with retries and
 * the shared cooldown, delivery, the ledger and exactly one done line.
 * Only this module decides what happens next.
 */
#ifndef CW_RUN_H
#define CW_RUN_H

#include "log.h"
#include "options.h"

struct run_end {
	int	exit;		/* the process's exit status */
	int	sig;		/* re-raise this signal, or 0 */
};

/* A usage error found before the run: the error and done lines. */
struct run_end	run_usage_error(struct log *, const char *msg);
struct run_end	run_main(const struct options *, struct log *);
/*
 * Masquerade without -p, or a run nested in another: exec the real CLI
 * with the CLI's arguments, never another claudewrap.
 */
struct run_end	run_exec_direct(const struct options *, struct log *);
/* --version: ours, then the real CLI's. */
int	run_version(const struct options *);

#endif
