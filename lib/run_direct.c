/*
 * The paths that are no run: a usage error found before one, the real
 * CLI exec'd in our place (masquerade without -p, or nested), and
 * --version. Each that fails writes the one done line itself.
 */
#include "run.h"

#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "locate.h"
#include "run_int.h"
#include "spawn.h"
#include "tree.h"
#include "version.h"

#define VERSION_WAIT_MS	5000	/* for the real CLI's --version */

/* The done line of a process that made no attempt. */
static struct run_end
done_early(struct log *lg, enum status st, int64_t duration_ms,
    const char *detail)
{
	cJSON *ev = log_begin(lg, LV_ERROR, "done");
	struct run_end end = { status_exit(st, 0), 0 };

	run_done_basics(ev, st, end.exit, 0, duration_ms);
	log_str(ev, "detail", detail);
	log_end(lg, ev);
	return end;
}

struct run_end
run_usage_error(struct log *lg, const char *msg)
{
	return done_early(lg, ST_USAGE, 0, msg);
}

struct run_end
run_exec_direct(const struct options *o, struct log *lg)
{
	/* cli_argv points into main's argv, after at least argv[0]. */
	char **argv = o->cli_argv - 1;
	static char skip[PATH_MAX];
	char cli[PATH_MAX], why[PATH_MAX + 1200];
	enum status st = ST_NOT_EXECUTABLE;
	int64_t t0 = clock_mono_ms();

	if (locate_looped())
		return done_early(lg, ST_NOT_FOUND, clock_mono_ms() - t0,
		    "the claude found runs claudewrap again (a wrapper script "
		    "named claude?): name the real CLI with --claude or "
		    "CLAUDEWRAP_CLAUDE");
	switch (locate_cli(o->claude, cli, sizeof(cli), why, sizeof(why))) {
	case LOC_OK:
		/* Were cli another claudewrap, it must not come back to us. */
		if (locate_skip_entry(skip, sizeof(skip), true) == 0)
			(void)putenv(skip);
		argv[0] = cli;
		execv(cli, argv);
		snprintf(why, sizeof(why), "%s: %s", cli, strerror(errno));
		st = errno == ENOENT ? ST_NOT_FOUND : ST_NOT_EXECUTABLE;
		break;
	case LOC_NOT_FOUND:
		st = ST_NOT_FOUND;
		break;
	case LOC_NOT_EXECUTABLE:
		st = ST_NOT_EXECUTABLE;
		break;
	}
	return done_early(lg, st, clock_mono_ms() - t0, why);
}

/*
 * Waits up to ms for pid; then kills its group (spawn_cli made it a
 * session of its own) and every descendant, and returns -1.
 */
static int
wait_bounded(pid_t pid, int64_t ms)
{
	int64_t end = clock_mono_ms() + ms, pause = 1;

	while (clock_mono_ms() < end) {
		pid_t p = waitpid(pid, NULL, WNOHANG);
		if (p == pid || (p == -1 && errno != EINTR))
			return 0;
		(void)poll(NULL, 0, (int)pause);
		pause = pause < 64 ? pause * 2 : 64;
	}
	(void)tree_signal(getpid(), pid, SIGKILL, NULL, 0);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return -1;
}

int
run_version(const struct options *o)
{
	char cli[PATH_MAX], why[PATH_MAX + 1200];
	char *argv[3] = { cli, "--version", NULL };
	sigset_t mask;
	pid_t pid;
	int err;

	printf("claudewrap %s\n", CLAUDEWRAP_VERSION);
	if (locate_looped()) {
		printf("claude: the claude found runs claudewrap again (a "
		    "wrapper script named claude?)\n");
		return 0;
	}
	if (locate_cli(o->claude, cli, sizeof(cli), why, sizeof(why)) != LOC_OK) {
		printf("claude: %s\n", why);
		return 0;
	}
	printf("claude: %s\n", cli);
	fflush(stdout);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	struct spawn_req rq = { .path = cli, .argv = argv, .envp = environ,
	    .fd_in = STDIN_FILENO, .fd_out = STDOUT_FILENO,
	    .fd_err = STDERR_FILENO, .mask = &mask };
	(void)tree_make_subreaper();	/* its escaped children are ours */
	if ((pid = spawn_cli(&rq, &err)) == -1)
		printf("claude: %s\n", strerror(err));
	else if (wait_bounded(pid, VERSION_WAIT_MS) == -1)
		printf("claude: no answer to --version in %d s\n",
		    VERSION_WAIT_MS / 1000);
	return 0;
}
