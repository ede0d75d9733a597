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

#include <stdbool.h>
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
 * The same accounting for a process reaped elsewhere (the guardian):
 * its rusage, whether it was the CLI, and its name (or NULL).
 */
struct rusage;
void	usage_account(struct usage *, bool is_cli, const struct rusage *,
	    const char *comm);
#define USAGE_PIDS	256	/* descendants a sampler follows */

/*
 * Which processes the tree had at the last full scan. A full scan reads
 * /proc/PID/stat of every process on the host (about 20 us each here);
 * between them only these are read again.
 */
struct usage_sampler {
	pid_t		 pids[USAGE_PIDS];
	int		 npids;
	bool		 partial;	/* more descendants than pids holds */
	int64_t		 full_at;	/* monotonic ms: the next full scan */
};

/*
 * Samples the RSS sum of root's tree (root not counted) and keeps it if it is the largest: a full
 * scan when full_every_ms has passed since the last one (0: each time),
 * else the processes it found. Returns the sum in KiB, or -1.
 */
int64_t	usage_sample(struct usage *, struct usage_sampler *, pid_t root,
	    int64_t now_ms, int64_t full_every_ms);
/* Adds one attempt's figures to a run's: peaks by max, the rest summed. */
void	usage_add(struct usage *to, const struct usage *from);

#endif
