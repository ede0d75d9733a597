#include "usage.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <string.h>

static int64_t
tv_us(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void
add_name(struct usage *u, const char *name)
{
	for (int i = 0; i < u->nnames; i++)
		if (strcmp(u->names[i], name) == 0)
			return;
	if (u->nnames < USAGE_NAMES)
		strlcpy(u->names[u->nnames++], name, TREE_COMM_LEN);
}

pid_t
usage_reap(struct usage *u, pid_t cli, int *status)
{
	siginfo_t si;
	struct rusage ru;
	char comm[TREE_COMM_LEN];
	pid_t p;

	/*
	 * Look before collecting: a zombie still has its /proc entry, and
	 * so its name; once reaped, the pid may belong to anyone.
	 */
	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return -1;
	if (si.si_pid == 0)
		return 0;
	if (si.si_pid != cli && tree_comm(si.si_pid, comm, sizeof(comm)) == 0)
		add_name(u, comm);
	if ((p = wait4(si.si_pid, status, WNOHANG, &ru)) <= 0)
		return p;
	usage_account(u, p == cli, &ru, NULL);
	return p;
}

void
usage_account(struct usage *u, bool is_cli, const struct rusage *ru,
    const char *comm)
{
	/*
	 * wait4 reports the process and the children it waited for, and
	 * nobody else reports those: summed over what is reaped, every
	 * process of the tree is counted once.
	 */
	u->cpu_us += tv_us(ru->ru_utime) + tv_us(ru->ru_stime);
	if (is_cli) {
		if (ru->ru_maxrss > u->peak_rss_kb)
			u->peak_rss_kb = ru->ru_maxrss;
	} else
		u->reaped++;
	if (!is_cli && comm != NULL && comm[0] != '\0')
		add_name(u, comm);
}

int64_t
usage_sample(struct usage *u, struct usage_sampler *s, pid_t root,
    int64_t now_ms,
    int64_t full_every_ms)
{
	int64_t kb;
	int count;

	if (full_every_ms == 0 || s->partial || now_ms >= s->full_at) {
		kb = tree_rss_kb(root, s->pids, USAGE_PIDS, &count);
		s->npids = count < USAGE_PIDS ? count : USAGE_PIDS;
		s->partial = count > USAGE_PIDS;
		s->full_at = now_ms + full_every_ms;
	} else
		kb = tree_rss_kb_of(s->pids, &s->npids);

	if (kb > u->peak_rss_kb)
		u->peak_rss_kb = kb;
	return kb;
}

void
usage_add(struct usage *to, const struct usage *from)
{
	if (from->peak_rss_kb > to->peak_rss_kb)
		to->peak_rss_kb = from->peak_rss_kb;
	to->cpu_us += from->cpu_us;
	to->reaped += from->reaped;
	for (int i = 0; i < from->nnames; i++)
		add_name(to, from->names[i]);
}
