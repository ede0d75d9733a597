/*
 * A fake `claude` for the kill benchmark: a tree of 20 processes, itself
 * included, that hangs. Shaped like a CLI with MCP servers: 10 children
 * in its process group, 6 of them ignoring SIGTERM; two servers in
 * sessions of their own (setsid), each with two helpers, all ignoring
 * SIGTERM; and three daemonised orphans (double fork, setsid, SIGTERM
 * ignored) that only the subreaper can still find. Every pid is appended
 * to BENCH_PIDS; the init event is printed once the whole tree is up.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TREE_PROCS	20

static int sync_fd[2];

/* Appends this process's pid to BENCH_PIDS and tells the top it is up. */
static void
note(void)
{
	const char *f = getenv("BENCH_PIDS");
	char buf[32];
	int fd, n;

	if (f != NULL &&
	    (fd = open(f, O_WRONLY | O_APPEND | O_CREAT, 0600)) != -1) {
		n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		(void)!write(fd, buf, (size_t)n);
		close(fd);
	}
	(void)!write(sync_fd[1], "x", 1);
}

static void
hang(int ignore_term)
{
	if (ignore_term)
		signal(SIGTERM, SIG_IGN);
	note();
	close(sync_fd[0]);
	close(sync_fd[1]);
	for (;;)
		pause();
}

/* A server in a session of its own, with helpers below it: 3 processes. */
static void
session(void)
{
	if (fork() != 0)
		return;
	close(sync_fd[0]);
	setsid();
	for (int i = 0; i < 2; i++)
		if (fork() == 0)
			hang(1);
	hang(1);
}

/* Double fork: the middle exits at once, the daemon is reparented. */
static void
orphan(void)
{
	pid_t mid = fork();

	if (mid == 0) {
		if (fork() == 0) {
			setsid();
			hang(1);
		}
		_exit(0);
	}
	while (waitpid(mid, NULL, 0) == -1)
		;
}

int
main(int argc, char **argv)
{
	char c;
	int up = 1;

	/*
	 * claudewrap asks a CLI it has not seen for its version first: that
	 * must not start the tree, whose pids the watcher would then time.
	 */
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts("2.1.332 (Claude Code)");
		return 0;
	}
	if (pipe(sync_fd) == -1)
		return 1;
	for (int i = 0; i < 10; i++)
		if (fork() == 0)
			hang(i < 6);
	session();
	session();
	for (int i = 0; i < 3; i++)
		orphan();
	note();
	close(sync_fd[1]);
	while (up < TREE_PROCS && read(sync_fd[0], &c, 1) == 1)
		up++;
	printf("{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":"
	    "\"s-1\",\"model\":\"bench-model\"}\n");
	fflush(stdout);
	for (;;)
		pause();
}
