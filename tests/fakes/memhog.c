/*
 * A fake `claude` that costs the machine known amounts, for the tests of
 * peak_rss_kb, cpu_ms, reaped and --max-memory. It starts one child,
 * named HOG_NAME ("mcp-hog") as an MCP server would be, and does not
 * wait for it.
 *
 * HOG_MODE=measure: the CLI touches HOG_CLI_MB MiB and burns HOG_CLI_CPU
 * ms of CPU; the child touches HOG_CHILD_MB MiB, burns HOG_CHILD_CPU ms,
 * and then holds its memory until it is killed. Once both are at their
 * peak, the CLI holds its own for HOG_HOLD_MS, then prints a result and
 * exits, leaving the child behind. Each appends "rss_kb cpu_ms" (its own
 * getrusage at its peak) to HOG_REPORT, so a test knows what the tree
 * cost without asking claudewrap.
 *
 * HOG_MODE=grow: the child ignores SIGTERM and touches 4 MiB more every
 * 20 ms, up to HOG_CHILD_MB (a net should the limit fail), and holds.
 *
 * HOG_PIDS: a file where every pid started is appended.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "note.h"

static long
env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? atol(v) : dflt;
}

static void
note_pid(pid_t pid)
{
	note_pid_in("HOG_PIDS", pid);
}

/* Allocates mb MiB and writes every page, so that all of it is resident. */
static void
touch_mb(long mb)
{
	size_t n = (size_t)mb << 20;
	/* volatile: pages written and never read are otherwise elided. */
	volatile char *p;

	if (n == 0)
		return;
	if ((p = malloc(n)) == NULL) {
		perror("memhog: malloc");
		exit(3);
	}
	for (size_t i = 0; i < n; i += 4096)
		p[i] = (char)i | 1;
}

static long
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
}

/* Spins until this process has used ms of CPU in all. */
static void
burn(long ms)
{
	volatile unsigned long x = 0;

	while (cpu_ms() < ms)
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
}

static void
report(void)
{
	const char *f = getenv("HOG_REPORT");
	struct rusage ru;
	FILE *fp;

	if (f == NULL || (fp = fopen(f, "a")) == NULL)
		return;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(fp, "%ld %ld\n", ru.ru_maxrss, cpu_ms());
	fclose(fp);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		;
}

static void
child(int ready, int grow)
{
	long mb = env_long("HOG_CHILD_MB", 64);

	prctl(PR_SET_NAME, getenv("HOG_NAME") ?: "mcp-hog");
	if (grow) {
		signal(SIGTERM, SIG_IGN);
		if (write(ready, "r", 1) != 1)
			_exit(3);
		for (long have = 0; have < mb; have += 4) {
			touch_mb(4);
			sleep_ms(20);
		}
	} else {
		touch_mb(mb);
		burn(env_long("HOG_CHILD_CPU", 0));
		report();
		if (write(ready, "r", 1) != 1)
			_exit(3);
	}
	for (;;)
		pause();
}

int
main(int argc, char **argv)
{
	const char *mode = getenv("HOG_MODE") ?: "measure";
	int grow = strcmp(mode, "grow") == 0, fds[2];
	char c;
	pid_t p;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("9.9.9 (Memory Hog)\n");
		return 0;
	}
	note_pid(getpid());
	if (pipe(fds) == -1)
		return 3;
	if ((p = fork()) == 0) {
		close(fds[0]);
		child(fds[1], grow);
	}
	note_pid(p);
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		return 3;
	printf("{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\","
	    "\"model\":\"fake-model\"}\n");
	fflush(stdout);
	if (grow)
		for (;;)
			pause();
	touch_mb(env_long("HOG_CLI_MB", 32));
	burn(env_long("HOG_CLI_CPU", 0));
	report();
	sleep_ms(env_long("HOG_HOLD_MS", 1500));
	printf("{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
	    "\"result\":\"hogged\",\"session_id\":\"s-1\",\"usage\":"
	    "{\"input_tokens\":5,\"output_tokens\":12}}\n");
	return 0;
}
