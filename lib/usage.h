/*
 * What an attempt's process tree cost the machine: the largest sum of
 * its resident sets, the CPU time of every process in it, and the
 * descendants claudewrap had to collect itself. Figures come from the
 * rusage of wait4(2) as claudewrap reaps, and from samples of /proc
 * (tree.c) taken by the event loop.
 */
#ifndef CW_USAGE_H
#define CW_USAGE_H

#include <sys/types.h>

#include <stdint.h>

#include "tree.h"

#define USAGE_NAMES	8	/* distinct command names kept */

struct usage {
	int64_t		 peak_rss_kb;	/* 0: nothing measured */
	int64_t		 cpu_us;	/* user + system */
	int		 reaped;	/* descendants other than the CLI */
	int		 nnames;
	char		 names[USAGE_NAMES][TREE_COMM_LEN];
};

/*
 * waitpid(-1, status, WNOHANG) that also accounts for what it collects:
 * the rusage of every process (its own and that of the children it
 * waited for), the CLI's (cli) peak RSS, and the name of every other
 * descendant. Returns as waitpid does.
 */
pid_t	usage_reap(struct usage *, pid_t cli, int *status);
/*
 * Samples the tree's RSS sum now and keeps it if it is the largest;
 * returns the sum in KiB, or -1 if /proc could not be read.
 */
int64_t	usage_sample(struct usage *);
/* Adds one attempt's figures to a run's: peaks by max, the rest summed. */
void	usage_add(struct usage *to, const struct usage *from);

#endif
