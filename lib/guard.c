#include "guard.h"

#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree.h"

#define KILL_PAUSE_MS	10	/* between sweeps of what is left */

static void
report(int st, enum guard_kind kind, pid_t pid, int status,
    const struct rusage *ru, const char *comm, int last)
{
	struct guard_msg m;

	memset(&m, 0, sizeof(m));
	m.last = last;
	if (comm != NULL)
		strlcpy(m.comm, comm, sizeof(m.comm));
	m.kind = kind;
	m.pid = pid;
	m.status = status;
	if (ru != NULL)
		m.ru = *ru;
	/* EPIPE when claudewrap is gone: nothing to tell then. */
	while (write(st, &m, sizeof(m)) == -1 && errno == EINTR)
		;
}

/* Everything but the descriptors the guardian keeps (sorted, 3). */
static void
close_others(int keep[3])
{
	unsigned lo = 0;

	for (int i = 0; i < 3; i++) {
		if ((unsigned)keep[i] > lo)
			(void)close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	(void)close_range(lo, ~0U, 0);
}

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * No child at all, dead or alive. Said with the CLI's end in one report:
 * else claudewrap, between two reports, would take the CLI's end for one
 * with leftovers and send a needless kill.
 */
static bool
no_children(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 &&
	    errno == ECHILD;
}

/*
 * Collects every child that ended; GM_EMPTY once none is left. true once
 * a report said so: nothing can come below us again (no_children).
 */
static bool
reap_all(int st, pid_t cli, bool *cli_done)
{
	char comm[TREE_COMM_LEN];
	struct rusage ru;
	siginfo_t si;
	pid_t p;
	int status;
	bool last;

	for (;;) {
		/* Its name while the zombie still has its /proc entry. */
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
			break;
		if (si.si_pid == 0)
			return false;
		comm[0] = '\0';
		if (si.si_pid != cli)
			(void)tree_comm(si.si_pid, comm, sizeof(comm));
		if ((p = wait4(si.si_pid, &status, WNOHANG, &ru)) <= 0)
			return false;
		if (p == cli)
			*cli_done = true;
		last = *cli_done && no_children();
		report(st, p == cli ? GM_EXITED : GM_REAPED, p, status, &ru,
		    comm, last);
		/* Said: no GM_EMPTY after it, no waitid to find ECHILD again. */
		if (last)
			return true;
	}
	if (errno == ECHILD && *cli_done) {
		report(st, GM_EMPTY, 0, 0, NULL, NULL, 1);
		return true;
	}
	return false;
}

/* claudewrap let go (or died): nothing below us may outlive it. */
static void __attribute__((noreturn))
kill_all(pid_t cli)
{
	/* The common end: all collected already, no /proc scan to pay. */
	if (no_children())
		_exit(0);
	for (;;) {
		(void)tree_signal(getpid(), cli, SIGKILL, NULL, 0);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD)
			_exit(0);
		(void)poll(NULL, 0, KILL_PAUSE_MS);
	}
}

static void __attribute__((noreturn))
guard_main(const struct spawn_req *rq, int ctl, int st)
{
	sigset_t chld;
	int sfd, err = 0, keep[3];
	bool cli_done = false;
	pid_t cli;

	/* In claudewrap's process group: a terminal's ^C is not for us. */
	(void)signal(SIGTERM, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGQUIT, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1 ||
	    sigprocmask(SIG_BLOCK, &chld, NULL) == -1 ||
	    (sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		report(st, GM_SPAWNED, -1, errno, NULL, NULL, 0);
		_exit(0);
	}
	cli = spawn_cli(rq, &err);
	report(st, GM_SPAWNED, cli, err, NULL, NULL, 0);
	if (cli == -1)
		_exit(0);
	/* Above all the pipes' write ends: claudewrap waits for their EOF. */
	keep[0] = ctl;
	keep[1] = st;
	keep[2] = sfd;
	qsort(keep, 3, sizeof(int), cmp_int);
	close_others(keep);
	for (;;) {
		struct pollfd p[2] = { { .fd = ctl, .events = POLLIN },
		    { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) == -1 && errno != EINTR)
			kill_all(cli);
		if (p[1].revents != 0) {
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			/*
			 * Nothing left to guard: go now, so that claudewrap
			 * need not wake us to end (one scheduling round trip
			 * less on every run).
			 */
			if (reap_all(st, cli, &cli_done) ||
			    (cli_done && no_children()))
				_exit(0);
		}
		if (p[0].revents != 0)
			kill_all(cli);
	}
}

pid_t
guard_spawn(const struct spawn_req *rq, struct guard *g, int *err)
{
	int ctl[2], st[2];
	struct guard_msg m;
	ssize_t n;

	g->pid = -1;
	g->ctl = g->st = -1;
	if (pipe2(ctl, O_CLOEXEC) == -1) {
		*err = errno;
		return -1;
	}
	if (pipe2(st, O_CLOEXEC) == -1) {
		*err = errno;
		close(ctl[0]);
		close(ctl[1]);
		return -1;
	}
	if ((g->pid = fork()) == -1) {
		*err = errno;
		close(ctl[0]);
		close(ctl[1]);
		close(st[0]);
		close(st[1]);
		return -1;
	}
	if (g->pid == 0)
		guard_main(rq, ctl[0], st[1]);
	close(ctl[0]);
	close(st[1]);
	g->ctl = ctl[1];
	g->st = st[0];
	do
		n = read(g->st, &m, sizeof(m));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(m) || m.kind != GM_SPAWNED || m.pid == -1) {
		*err = n == (ssize_t)sizeof(m) && m.status != 0 ? m.status : EIO;
		guard_end(g);
		return -1;
	}
	(void)fcntl(g->st, F_SETFL, O_NONBLOCK);
	return m.pid;
}

static int
guard_read(struct guard *g, struct guard_msg *m)
{
	ssize_t n;

	if (g->st == -1)
		return -1;
	do
		n = read(g->st, m, sizeof(*m));
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(*m))
		return 1;
	if (n == -1 && errno == EAGAIN)
		return 0;
	return -1;
}

void
guard_take(struct guard *g, struct guard_state *s, guard_each_fn *each,
    void *ctx)
{
	struct guard_msg m;
	int r;

	while ((r = guard_read(g, &m)) == 1) {
		if ((m.kind == GM_EXITED || m.kind == GM_REAPED) && each != NULL)
			each(ctx, &m);
		if (m.kind == GM_EXITED) {
			s->exited = true;
			s->status = m.status;
			s->empty = m.last != 0;
		} else if (m.kind == GM_EMPTY)
			s->empty = s->exited;
	}
	if (r == 0)
		return;
	if (!(s->exited && s->empty)) {
		s->lost = true;
		if (!s->exited) {
			s->exited = true;
			s->status = SIGKILL;	/* as a wait status */
		}
	}
	guard_end(g);
}

void
guard_end(struct guard *g)
{
	guard_wait(guard_close(g));
}

pid_t
guard_close(struct guard *g)
{
	pid_t pid = g->pid;

	if (g->ctl != -1)
		close(g->ctl);
	if (g->st != -1)
		close(g->st);
	g->ctl = g->st = -1;
	g->pid = -1;
	return pid;
}

void
guard_wait(pid_t pid)
{
	if (pid > 0)
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
}
