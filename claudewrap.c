/*
 * claudewrap — run `claude -p` for a machine, not a person: an honest
 * exit code for each way the CLI fails, one grep-able done line per run,
 * the whole process tree killed on timeout, rate limits retried against
 * the same runner. The contract is man/claudewrap.1.
 *
 * Under the name `claude` (a symlink earlier in PATH) it takes its
 * settings from CLAUDEWRAP_* only; under `claudewrap-report` it reads the
 * ledger.
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliargs.h"
#include "log.h"
#include "options.h"
#include "report.h"
#include "run.h"
#include "status.h"

/*
 * Descriptors 0-2 closed by the caller would be reused by our own
 * files, and the CLI would then write its answer into the spool of
 * stdin, or a lock file. Returns whether stdout was one of them.
 */
static bool
ensure_std_fds(void)
{
	bool out_closed = false;

	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1) {
			out_closed = out_closed || fd == STDOUT_FILENO;
			(void)open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		}
	return out_closed;
}

static bool
asks_print(const struct options *o)
{
	struct cliargs ca;
	char err[256];
	bool print;

	if (cliargs_build(&ca, "claude", o->cli_argc, o->cli_argv, true, err,
	    sizeof(err)) == -1)
		return true;	/* let the run report the bad argument */
	print = ca.print;
	cliargs_free(&ca);
	return print;
}

/* Dies of sig as timeout(1) does, so a calling shell loop stops too. */
static void
reraise(int sig)
{
	struct rlimit none = { 0, 0 };
	sigset_t set;

	/* No core file for a signal that was only passed on. */
	(void)setrlimit(RLIMIT_CORE, &none);
	(void)signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
}

/* --help, to a stdout that may be full or closed. */
static int
help(void)
{
	options_usage(stdout);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "claudewrap: --help: %s\n", strerror(errno));
		return status_exit(ST_USAGE, 0);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	bool masquerade = strcmp(base, "claude") == 0;
	/* Started by another claudewrap's tree: never supervise twice. */
	bool nested = getenv("CLAUDEWRAP_RUN_ID") != NULL;
	struct options o;
	struct log *lg;
	struct run_end end;
	char err[512];
	int rc;

	if (strcmp(base, "claudewrap-report") == 0)
		return report_main(argc, argv);
	options_defaults(&o);
	o.stdout_closed = ensure_std_fds();
	rc = options_parse(&o, argc, argv, masquerade, err, sizeof(err));
	if (rc == 0 && o.action == ACT_HELP)
		return help();
	if (rc == 0 && o.action == ACT_VERSION)
		return run_version(&o);
	if ((lg = log_open(o.log_format, o.quiet, o.syslog, o.tag)) == NULL) {
		perror("claudewrap");
		return status_exit(ST_USAGE, 0);
	}
	/* Unheld, a failure to hold only costs cron one needless mail. */
	if (rc == 0 && o.quiet_ok && !nested && asks_print(&o))
		(void)log_hold(lg);
	/* A bad CLAUDEWRAP_* matters only when supervising. */
	if (nested || (masquerade && !asks_print(&o)))
		end = run_exec_direct(&o, lg);
	else if (rc == -1)
		end = run_usage_error(lg, err);
	else if (!asks_print(&o))
		end = run_usage_error(lg, "nothing to supervise: claudewrap runs "
		    "print mode, give -p or --print (e.g. claudewrap -p PROMPT)");
	else
		end = run_main(&o, lg);
	log_close(lg);
	options_free(&o);
	if (end.sig != 0)
		reraise(end.sig);
	return end.exit;
}
