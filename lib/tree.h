/*
 * The process tree of an attempt. claudewrap is a child subreaper, so a
 * descendant that leaves the CLI's group (the Bash tool's commands call
 * setsid; daemons double-fork) is reparented to claudewrap, not to init,
 * and can still be found by walking /proc from our own pid.
 */
#ifndef CW_TREE_H
#define CW_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TREE_COMM_LEN	16	/* TASK_COMM_LEN: 15 bytes and a NUL */

int	tree_make_subreaper(void);
/*
 * Sends sig to the process group pgid and to every live descendant of
 * root (not root itself), and SIGCONT after it so that stopped processes
 * act on it. Returns the number of descendants signalled (their pids
 * into pids, up to max).
 */
int	tree_signal(pid_t root, pid_t pgid, int sig, pid_t *pids, size_t max);
/*
 * The resident set of every live descendant of root, summed, in KiB (pages
 * shared between them counted in each, as ru_maxrss counts them), from
 * one scan of all of /proc; the descendants' pids into pids (up to max)
 * and their number into *count. -1 if /proc cannot be read.
 */
int64_t	tree_rss_kb(pid_t root, pid_t *pids, size_t max, int *count);
/*
 * The same for the *n processes in pids only (a list tree_rss_kb made),
 * reading no other; the ones gone or zombies are dropped from the list.
 * A pid reused since that scan is counted until the next one.
 */
int64_t	tree_rss_kb_of(pid_t *pids, int *n);
/* The command name (comm) of pid, a zombie included; -1 if it is gone. */
int	tree_comm(pid_t pid, char *buf, size_t size);
/*
 * When process pid started, in epoch ms (to the second of the boot time
 * in /proc/stat), or -1 if it is gone, a zombie, or cannot be read.
 */
int64_t	tree_started_ms(pid_t pid);

#endif
