#include "spawn.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/*
 * Runs in the child, between vfork and exec, on our memory: system calls
 * only, nothing written but errno. Never returns.
 */
static void
child_exec(const struct spawn_req *rq, pid_t parent, int errfd)
{
	struct sigaction dfl;
	int e;

	dfl.sa_handler = SIG_DFL;
	dfl.sa_flags = 0;
	sigemptyset(&dfl.sa_mask);
	/*
	 * An ignored disposition survives exec: claudewrap ignores SIGPIPE,
	 * and a shell starts background jobs with SIGINT and SIGQUIT
	 * ignored, which would make the signals we forward do nothing.
	 */
	(void)sigaction(SIGPIPE, &dfl, NULL);
	(void)sigaction(SIGINT, &dfl, NULL);
	(void)sigaction(SIGQUIT, &dfl, NULL);
	(void)sigaction(SIGTERM, &dfl, NULL);
	(void)sigaction(SIGHUP, &dfl, NULL);
	(void)sigaction(SIGXFSZ, &dfl, NULL);
	(void)sigprocmask(SIG_SETMASK, rq->mask, NULL);
	if (setsid() == -1)
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		goto fail;
	/* The parent may have died before prctl: then nothing would fire. */
	if (getppid() != parent)
		_exit(127);
	if (dup2(rq->fd_in, 0) == -1 || dup2(rq->fd_out, 1) == -1 ||
	    dup2(rq->fd_err, 2) == -1)
		goto fail;
	execve(rq->path, rq->argv, rq->envp);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

pid_t
spawn_cli(const struct spawn_req *rq, int *err)
{
	int ep[2], e;
	pid_t parent = getpid(), pid;
	ssize_t n;

	if (pipe2(ep, O_CLOEXEC) == -1) {
		*err = errno;
		return -1;
	}
	/*
	 * vfork, not fork: the child shares our memory until it execs,
	 * so no page tables are copied and no copy-on-write faults follow,
	 * about a millisecond per run (BENCHMARKS.md, budgets). child_exec only
	 * reads rq and makes system calls, never returns, and no signal
	 * handler can run in it (ours are all default, ignored or read from
	 * a signalfd), which is what makes vfork safe here.
	 */
	if ((pid = vfork()) == -1) {	// NOLINT(clang-analyzer-security.insecureAPI.vfork)
		*err = errno;
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	/* ep[0] is close-on-exec: nothing to close in the child. */
	if (pid == 0)	/* see above: system calls only, then exec or exit */
		child_exec(rq, parent, ep[1]);	// NOLINT(clang-analyzer-unix.Vfork)
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		/* exec failed: the child has exited, collect it here. */
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		*err = e;
		return -1;
	}
	return pid;
}
