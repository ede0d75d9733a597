/*
 * A fake `claude` for the integration tests. FAKE_MODE picks what it
 * does; FAKE_PIDS names a file where it appends the pids of the
 * processes it starts, so a test can check that none survives.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "note.h"

static void
note_pid(pid_t pid)
{
	note_pid_in("FAKE_PIDS", pid);
}

static void
forever(void)
{
	for (;;)
		pause();
}

static void
result(const char *text, int is_error, const char *extra)
{
	printf("{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\","
	    "\"model\":\"fake-model\"}\n");
	printf("{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":%s,"
	    "\"result\":\"%s\",\"session_id\":\"s-1\",\"num_turns\":1,"
	    "\"total_cost_usd\":0.001,\"usage\":{\"input_tokens\":5,"
	    "\"output_tokens\":12,\"cache_read_input_tokens\":0,"
	    "\"cache_creation_input_tokens\":0},\"modelUsage\":{\"fake-model\":"
	    "{\"outputTokens\":12}}%s}\n", is_error ? "true" : "false", text,
	    extra != NULL ? extra : "");
	fflush(stdout);
}

/* A child that ignores SIGTERM, and a grandchild that escapes the group. */
static void
spawn_tree(void)
{
	pid_t p;

	if ((p = fork()) == 0) {
		signal(SIGTERM, SIG_IGN);
		forever();
	}
	note_pid(p);
	if ((p = fork()) == 0) {
		setsid();
		if ((p = fork()) == 0) {
			signal(SIGTERM, SIG_IGN);
			note_pid(getpid());
			forever();
		}
		_exit(0);
	}
	waitpid(p, NULL, 0);
	/* Let the grandchild write its pid before anyone looks. */
	usleep(100000);
}

/* Counts the runs of this fake in FAKE_STATE; returns this run's number. */
static int
bump(void)
{
	const char *f = getenv("FAKE_STATE");
	int n = 0;
	FILE *fp;

	if (f == NULL)
		return 1;
	if ((fp = fopen(f, "r")) != NULL) {
		if (fscanf(fp, "%d", &n) != 1)
			n = 0;
		fclose(fp);
	}
	if ((fp = fopen(f, "w")) != NULL) {
		fprintf(fp, "%d\n", n + 1);
		fclose(fp);
	}
	return n + 1;
}

/* The stdin, hex-encoded, as the answer: a test can compare attempts. */
static void
echo_stdin(void)
{
	unsigned char buf[4096];
	char hex[8193];
	size_t n = fread(buf, 1, sizeof(buf), stdin);

	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	hex[2 * n] = '\0';
	result(n ? hex : "no-stdin", 0, NULL);
}

static void
late_answer(int sig)
{
	(void)sig;
	result("answer to a question cut short", 0, NULL);
	_exit(143);
}

/* A file written whole, its directories made as needed. */
static void
put_file(const char *path, const char *text)
{
	char dir[512], *slash;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
		*slash = '/';
	}
	if ((fp = fopen(path, "w")) != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

/*
 * What a model with edit tools does to the current directory: appends
 * to tracked.txt, creates files (one in new directories), deletes
 * delete-me.txt, writes edit.log (ignored in the tests). Then fails (529, after one assistant message) while
 * this run's number is at most FAKE_EDIT_FAIL, else answers "edited".
 */
static int
edit(void)
{
	int n = bump(), fails = atoi(getenv("FAKE_EDIT_FAIL") ?: "0");
	char name[64];
	FILE *fp;

	if ((fp = fopen("tracked.txt", "a")) != NULL) {
		fprintf(fp, "edited by attempt %d\n", n);
		fclose(fp);
	}
	snprintf(name, sizeof(name), "created-%d.txt", n);
	put_file(name, "new\n");
	snprintf(name, sizeof(name), "newdir/sub/created-%d.txt", n);
	put_file(name, "new\n");
	(void)unlink("delete-me.txt");
	put_file("edit.log", "an ignored file the model wrote\n");
	printf("{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":"
	    "\"s-1\",\"model\":\"fake-model\"}\n{\"type\":\"assistant\","
	    "\"message\":{\"id\":\"msg_%d\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"editing\"}]},\"session_id\":\"s-1\"}\n", n);
	if (n <= fails) {
		result("API Error: 529 Overloaded", 1, ",\"api_error_status\":529");
		return 1;
	}
	result("edited", 0, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = getenv("FAKE_MODE");

	/*
	 * Before note_pid: claudewrap asks a CLI it cannot place for its
	 * version (lib/cliversion.c), and that is not an attempt the tests
	 * count. FAKE_VERSION stands for another CLI's.
	 */
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("%s (Fake Claude)\n", getenv("FAKE_VERSION") != NULL ?
		    getenv("FAKE_VERSION") : "9.9.9");
		return 0;
	}
	note_pid(getpid());
	if (getenv("FAKE_ARGLOG") != NULL) {
		FILE *fp = fopen(getenv("FAKE_ARGLOG"), "a");
		for (int i = 1; fp != NULL && i < argc; i++)
			fprintf(fp, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
		if (fp != NULL)
			fclose(fp);
	}
	if (mode == NULL)
		mode = "ok";
	if (strcmp(mode, "ok") == 0)
		result("hello", 0, NULL);
	else if (strcmp(mode, "empty") == 0)
		result("  \\n", 0, NULL);
	else if (strcmp(mode, "args") == 0) {
		for (int i = 1; i < argc; i++)
			fprintf(stderr, "arg[%d]=%s\n", i, argv[i]);
		result("args", 0, NULL);
	} else if (strcmp(mode, "env") == 0) {
		fprintf(stderr, "MAX_RETRIES=%s WATCHDOG=%s RUN_ID=%s\n",
		    getenv("CLAUDE_CODE_MAX_RETRIES") ?: "-",
		    getenv("CLAUDE_CODE_RETRY_WATCHDOG") ?: "-",
		    getenv("CLAUDEWRAP_RUN_ID") ?: "-");
		result("env", 0, NULL);
	} else if (strcmp(mode, "stdin") == 0)
		echo_stdin();
	else if (strcmp(mode, "fail-once-stdin") == 0) {
		if (bump() == 1) {
			printf("{\"type\":\"system\",\"subtype\":\"init\"}\n"
			    "PARTIAL-OUTPUT-OF-FAILED-ATTEMPT\n");
			result("API Error: 529 Overloaded", 1,
			    ",\"api_error_status\":529");
			return 1;
		}
		echo_stdin();
	} else if (strcmp(mode, "partial") == 0) {
		printf("PARTIAL-OUTPUT\n");
		return 1;
	} else if (strcmp(mode, "hang") == 0) {
		printf("{\"type\":\"system\",\"subtype\":\"init\"}\n");
		fflush(stdout);
		forever();
	} else if (strcmp(mode, "tree-hang") == 0) {
		spawn_tree();
		forever();
	} else if (strcmp(mode, "tree-exit") == 0) {
		spawn_tree();
		result("tree", 0, NULL);
	} else if (strcmp(mode, "ignore-term") == 0) {
		signal(SIGTERM, SIG_IGN);
		forever();
	} else if (strcmp(mode, "late-result") == 0) {
		/* Killed mid-work, it still prints a "success" (as the real
		 * CLI does when a Bash tool is cut short). */
		signal(SIGTERM, late_answer);
		printf("{\"type\":\"system\",\"subtype\":\"init\"}\n");
		fflush(stdout);
		forever();
	} else if (strcmp(mode, "result-hang") == 0) {
		result("late", 0, NULL);
		forever();
	} else if (strcmp(mode, "stderr") == 0) {
		fprintf(stderr, "cli says hi\n");
		result("hello", 0, NULL);
	} else if (strcmp(mode, "fds") == 0) {
		/* Every descriptor it inherited, and what it is, on stderr. */
		for (int fd = 0; fd < 1024; fd++) {
			char link[64], to[512];
			ssize_t n;

			if (fcntl(fd, F_GETFD) == -1)
				continue;
			fprintf(stderr, "fd=%d\n", fd);
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			n = readlink(link, to, sizeof(to) - 1);
			to[n > 0 ? n : 0] = '\0';
			fprintf(stderr, "fdlink=%d %s\n", fd, to);
		}
		result("fds", 0, NULL);
	} else if (strcmp(mode, "exit") == 0)
		return atoi(getenv("FAKE_EXIT") ?: "1");
	else if (strcmp(mode, "trickle") == 0) {
		/* One event a second for FAKE_SECS: alive, though slow. */
		int secs = atoi(getenv("FAKE_SECS") ?: "3");
		for (int i = 0; i < secs; i++) {
			printf("{\"type\":\"system\",\"subtype\":\"tick\"}\n");
			fflush(stdout);
			sleep(1);
		}
		result("slow", 0, NULL);
	} else if (strcmp(mode, "gate") == 0) {
		/* Ticks until the file FAKE_GATE exists (60 s at most). */
		const char *gate = getenv("FAKE_GATE") ?: "/nonexistent";
		for (int i = 0; i < 600 && access(gate, F_OK) == -1; i++) {
			printf("{\"type\":\"system\",\"subtype\":\"tick\"}\n");
			fflush(stdout);
			usleep(100000);
		}
		result("gated", 0, NULL);
	} else if (strcmp(mode, "tool") == 0) {
		/* One tool_use block named FAKE_TOOL (input FAKE_TOOL_INPUT). */
		printf("{\"type\":\"system\",\"subtype\":\"init\","
		    "\"session_id\":\"s-1\",\"model\":\"fake-model\"}\n");
		printf("{\"type\":\"assistant\",\"message\":{\"content\":"
		    "[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"%s\","
		    "\"input\":%s}]}}\n", getenv("FAKE_TOOL") ?: "Write",
		    getenv("FAKE_TOOL_INPUT") ?: "{}");
		result("tooled", 0, NULL);
	} else if (strcmp(mode, "flood") == 0) {
		/* FAKE_MB MiB of 1 KiB stream events, then a result. */
		static char line[1024];
		long mb = atol(getenv("FAKE_MB") ?: "1");
		int head = snprintf(line, sizeof(line),
		    "{\"type\":\"system\",\"subtype\":\"tick\",\"pad\":\"");
		memset(line + head, 'x', sizeof(line) - head - 3);
		memcpy(line + sizeof(line) - 3, "\"}\n", 3);
		for (long i = 0; i < mb * 1024; i++)
			if (fwrite(line, 1, sizeof(line), stdout) != sizeof(line))
				return 3;
		result("flooded", 0, NULL);
	} else if (strcmp(mode, "close-stdout-hang") == 0) {
		/* Closes its stdout early but keeps running, with its tree. */
		printf("{\"type\":\"system\",\"subtype\":\"init\"}\n");
		fflush(stdout);
		close(1);
		spawn_tree();
		forever();
	} else if (strcmp(mode, "term-write") == 0) {
		/*
		 * On SIGTERM, waits for its two children (who die of it), then
		 * writes text and an event to stdout, and exits 0.
		 */
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		for (int i = 0; i < 2; i++) {
			pid_t p = fork();
			if (p == 0) {
				sigprocmask(SIG_UNBLOCK, &set, NULL);
				forever();
			}
			note_pid(p);
		}
		printf("{\"type\":\"system\",\"subtype\":\"init\"}\n");
		fflush(stdout);
		sigwait(&set, &sig);
		while (wait(NULL) > 0)
			;
		printf("MCP server exited unexpectedly\n"
		    "{\"type\":\"assistant\",\"message\":{\"content\":"
		    "[{\"type\":\"text\",\"text\":\"partial\"}]}}\n");
		fflush(stdout);
	} else if (strcmp(mode, "stop") == 0) {
		/* Stops itself (SIGSTOP); FAKE_IGNORE_TERM=1 also ignores TERM. */
		if (getenv("FAKE_IGNORE_TERM") != NULL)
			signal(SIGTERM, SIG_IGN);
		printf("{\"type\":\"system\",\"subtype\":\"init\"}\n");
		fflush(stdout);
		raise(SIGSTOP);
		forever();
	} else if (strcmp(mode, "big-result") == 0) {
		/* A result whose text is FAKE_BYTES (1 MiB) of 'x'. */
		static char chunk[65536];
		long left = atol(getenv("FAKE_BYTES") ?: "1048576");

		memset(chunk, 'x', sizeof(chunk));
		printf("{\"type\":\"system\",\"subtype\":\"init\"}\n"
		    "{\"type\":\"result\",\"subtype\":\"success\","
		    "\"is_error\":false,\"result\":\"");
		for (; left > 0; left -= (long)sizeof(chunk))
			if (fwrite(chunk, 1, left < (long)sizeof(chunk) ?
			    (size_t)left : sizeof(chunk), stdout) == 0)
				return 3;
		printf("\",\"session_id\":\"s-1\",\"usage\":{\"input_tokens\":5,"
		    "\"output_tokens\":12}}\n");
	} else if (strcmp(mode, "edit") == 0) {
		return edit();
	} else if (strcmp(mode, "file") == 0) {
		/* FAKE_FILE verbatim, then death by FAKE_SIG or FAKE_EXIT. */
		static char buf[65536];
		FILE *fp = fopen(getenv("FAKE_FILE") ?: "/nonexistent", "r");
		size_t n;

		if (fp == NULL)
			return 2;
		while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
			fwrite(buf, 1, n, stdout);
		fclose(fp);
		fflush(stdout);
		if (getenv("FAKE_SIG") != NULL) {
			signal(atoi(getenv("FAKE_SIG")), SIG_DFL);
			raise(atoi(getenv("FAKE_SIG")));
		}
		return atoi(getenv("FAKE_EXIT") ?: "0");
	} else {
		fprintf(stderr, "fakeclaude: unknown FAKE_MODE %s\n", mode);
		return 2;
	}
	return 0;
}
