/*
 * Starting the CLI: vfork and execve, no shell. Why exec failed is learned
 * through a close-on-exec pipe, not from an exit status the program
 * itself could also have chosen (as git's run-command.c does).
 */
#ifndef CW_SPAWN_H
#define CW_SPAWN_H

#include <signal.h>
#include <sys/types.h>

struct spawn_req {
	const char	*path;
	char *const	*argv;
	char *const	*envp;
	int		 fd_in;		/* become the child's 0, 1, 2 */
	int		 fd_out;
	int		 fd_err;
	const sigset_t	*mask;		/* the signal mask to exec with */
};

/*
 * Starts the child in a session of its own (so its MCP servers share its
 * process group), with PR_SET_PDEATHSIG so it dies with claudewrap.
 * Returns its pid, or -1 with *err set to the errno of vfork or exec.
 * (claudewrap calls it in the guardian, guard.c, which is the CLI's
 * parent; run_version and cliversion call it directly.)
 */
pid_t	spawn_cli(const struct spawn_req *, int *err);

#endif
