/*
 * Unit tests of lib/cooldown.c in a temporary state dir: the rate-limit
 * cooldown, the breaker and its probe, damaged files, and many runs
 * noting at the same moment.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "check_main.h"
#include "cooldown.h"
#include "status.h"

#define NOW	INT64_C(1795600800000)	/* 2026-11-25T10:00Z, in ms */
#define WINDOW	INT64_C(15000)
#define NCHILD	16

static char dir[PATH_MAX];
static char file[PATH_MAX + 16];
static char lockpath[PATH_MAX + 16];

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	(void)snprintf(dir, sizeof(dir), "%s/cw-cooldown-XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(file, sizeof(file), "%s/cooldown", dir);
	(void)snprintf(lockpath, sizeof(lockpath), "%s/cooldown.lock", dir);
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	/* Test-only cleanup of a directory this test made. */
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* The cooldown file as JSON; fails the test when it does not parse. */
static cJSON *
load(void)
{
	static char buf[8192];
	FILE *f = fopen(file, "r");
	size_t n;
	cJSON *o;

	ck_assert_msg(f != NULL, "%s: %s", file, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	o = cJSON_Parse(buf);
	ck_assert_msg(cJSON_IsObject(o), "not JSON: %s", buf);
	return o;
}

static double
num(const char *name)
{
	cJSON *o = load();
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;

	ck_assert_msg(cJSON_IsNumber(v), "%s missing", name);
	d = v->valuedouble;
	cJSON_Delete(o);
	return d;
}

static struct cooldown
check_at(int64_t now)
{
	struct cooldown cd;

	ck_assert_int_eq(cooldown_check(dir, now, &cd), 0);
	return cd;
}

static void
note(enum outcome oc, int64_t now, int64_t reset, int breaker)
{
	ck_assert_msg(cooldown_note(dir, oc, now, reset, WINDOW, breaker) == 0,
	    "note %s: %s", outcome_word(oc), strerror(errno));
}

static ino_t
inode(void)
{
	struct stat sb;

	ck_assert_int_eq(stat(file, &sb), 0);
	return sb.st_ino;
}

/* Opens the breaker (3 in a row) at NOW and returns when it may probe. */
static int64_t
open_breaker(void)
{
	for (int i = 0; i < 3; i++)
		note(OC_OVERLOADED, NOW, 0, 3);
	return NOW + WINDOW;
}

/* ---- Nothing recorded ---- */

START_TEST(none_when_missing)
{
	struct cooldown cd = check_at(NOW);

	ck_assert_int_eq(cd.kind, CD_NONE);
	ck_assert(!cd.probe);
	ck_assert_int_eq(cd.until_ms, 0);
	/* Success with nothing recorded writes nothing at all. */
	note(OC_OK, NOW, 0, 3);
	note(OC_TIMEOUT, NOW, 0, 3);
	note(OC_NETWORK, NOW, 0, 3);
	ck_assert_int_eq(access(file, F_OK), -1);
	ck_assert_int_eq(access(lockpath, F_OK), -1);
}
END_TEST

START_TEST(missing_dir)
{
	struct cooldown cd;
	char gone[PATH_MAX + 8];

	(void)snprintf(gone, sizeof(gone), "%s/nope", dir);
	ck_assert_int_eq(cooldown_check(gone, NOW, &cd), 0);
	ck_assert_int_eq(cd.kind, CD_NONE);
	ck_assert_int_eq(cooldown_note(gone, OC_OK, NOW, 0, WINDOW, 3), 0);
	errno = 0;
	ck_assert_int_eq(cooldown_note(gone, OC_SERVER, NOW, 0, WINDOW, 3),
	    -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(access(gone, F_OK), -1);
	/* A clock reading that would overflow is refused. */
	errno = 0;
	ck_assert_int_eq(cooldown_check(dir, -1, &cd), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cd.kind, CD_NONE);
	ck_assert_int_eq(cooldown_note(dir, OC_SERVER, INT64_MAX, 0, WINDOW,
	    3), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- Rate limit ---- */

START_TEST(rate_limit_then_check)
{
	struct cooldown cd;
	struct stat sb;

	note(OC_RATE_LIMIT, NOW, NOW + 60000, 3);
	cd = check_at(NOW + 1000);
	ck_assert_int_eq(cd.kind, CD_RATE_LIMIT);
	ck_assert_int_eq(cd.until_ms, NOW + 60000);
	ck_assert_str_eq(cd.cause, "rate_limit");
	ck_assert(!cd.probe);
	/* Over at its time. */
	cd = check_at(NOW + 60000);
	ck_assert_int_eq(cd.kind, CD_NONE);
	/* Files are the user's alone. */
	ck_assert_int_eq(stat(file, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(lockpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(num("until_ms"), (double)(NOW + 60000));
	{
		cJSON *o = load();

		ck_assert_str_eq(cJSON_GetStringValue(
		    cJSON_GetObjectItem(o, "cause")), "rate_limit");
		ck_assert_str_eq(cJSON_GetStringValue(
		    cJSON_GetObjectItem(o, "until")), "2026-11-25T10:01:00Z");
		cJSON_Delete(o);
	}
}
END_TEST

START_TEST(rate_limit_never_shorter)
{
	ino_t ino;

	note(OC_RATE_LIMIT, NOW, NOW + 60000, 3);
	ino = inode();
	/* An earlier reset, seen later, does not shorten it or rewrite. */
	note(OC_RATE_LIMIT, NOW + 10, NOW + 30000, 3);
	ck_assert(inode() == ino);
	ck_assert_int_eq(check_at(NOW).until_ms, NOW + 60000);
	/* A later one extends it. */
	note(OC_RATE_LIMIT, NOW, NOW + 90000, 3);
	ck_assert_int_eq(check_at(NOW).until_ms, NOW + 90000);
	/* An unknown reset is now + window. */
	note(OC_RATE_LIMIT, NOW + 100000, 0, 3);
	ck_assert_int_eq(check_at(NOW + 100000).until_ms,
	    NOW + 100000 + WINDOW);
	/* Absurdly far is clamped to 40 days. */
	note(OC_RATE_LIMIT, NOW, INT64_MAX / 2, 3);
	ck_assert_int_eq(check_at(NOW).until_ms,
	    NOW + INT64_C(40) * 86400 * 1000);
}
END_TEST

START_TEST(success_keeps_rate_limit)
{
	note(OC_RATE_LIMIT, NOW, NOW + 60000, 3);
	/* An attempt that began before the limit may still succeed. */
	note(OC_OK, NOW + 10, 0, 3);
	ck_assert_int_eq(check_at(NOW + 20).kind, CD_RATE_LIMIT);
}
END_TEST

/* ---- Breaker ---- */

START_TEST(breaker_opens_after_n)
{
	struct cooldown cd;

	note(OC_OVERLOADED, NOW, 0, 3);
	note(OC_SERVER, NOW, 0, 3);
	cd = check_at(NOW);
	ck_assert_int_eq(cd.kind, CD_NONE);
	ck_assert_int_eq(cd.streak, 2);
	ck_assert(!cd.probe);
	note(OC_OVERLOADED, NOW, 0, 3);
	cd = check_at(NOW + 1);
	ck_assert_int_eq(cd.kind, CD_BREAKER);
	ck_assert_int_eq(cd.until_ms, NOW + WINDOW);
	ck_assert_str_eq(cd.cause, "breaker");
	ck_assert_int_eq(cd.streak, 3);
	ck_assert(!cd.probe);
	/* Still open up to its last millisecond. */
	ck_assert_int_eq(check_at(NOW + WINDOW - 1).kind, CD_BREAKER);
}
END_TEST

START_TEST(breaker_streak_broken)
{
	note(OC_OVERLOADED, NOW, 0, 3);
	note(OC_OVERLOADED, NOW, 0, 3);
	note(OC_EMPTY, NOW, 0, 3);
	note(OC_OVERLOADED, NOW, 0, 3);
	note(OC_OVERLOADED, NOW, 0, 3);
	ck_assert_int_eq(check_at(NOW).kind, CD_NONE);
	ck_assert_int_eq(check_at(NOW).streak, 2);
	/* Timeouts and network failures neither count nor break it. */
	note(OC_TIMEOUT, NOW, 0, 3);
	note(OC_NETWORK, NOW, 0, 3);
	note(OC_SIGNAL, NOW, 0, 3);
	ck_assert_int_eq(check_at(NOW).streak, 2);
	note(OC_SERVER, NOW, 0, 3);
	ck_assert_int_eq(check_at(NOW).kind, CD_BREAKER);
}
END_TEST

START_TEST(breaker_off)
{
	for (int i = 0; i < 10; i++)
		note(OC_OVERLOADED, NOW, 0, 0);
	ck_assert_int_eq(check_at(NOW).kind, CD_NONE);
	ck_assert_int_eq(check_at(NOW).streak, 10);
}
END_TEST

/* Runs cooldown_check in a child; its exit status says what it got. */
static int
child_check(int64_t now)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct cooldown cd;

		if (cooldown_check(dir, now, &cd) == -1)
			_exit(99);
		_exit(cd.probe ? 10 : (int)cd.kind);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(probe_chosen_once)
{
	int64_t t = open_breaker();
	struct cooldown cd;
	pid_t blocker;
	int p[2];

	cd = check_at(t);
	ck_assert_int_eq(cd.kind, CD_NONE);
	ck_assert(cd.probe);
	ck_assert_str_eq(cd.cause, "probe");
	ck_assert_int_eq(num("probe_pid"), getpid());
	/* Asking again, the probe is still this process. */
	cd = check_at(t + 5);
	ck_assert(cd.probe);
	/* Another live process is refused while this one probes. */
	ck_assert_int_eq(child_check(t + 10), CD_BREAKER);
	/* And this process is refused while another live one probes. */
	ck_assert_int_eq(pipe(p), 0);
	blocker = fork();
	ck_assert_int_ne(blocker, -1);
	if (blocker == 0) {
		char c;

		/* Void the parent's claim by failing, then probe ourselves. */
		close(p[1]);
		if (cooldown_note(dir, OC_OVERLOADED, t, 0, WINDOW, 3) == -1 ||
		    cooldown_check(dir, t + 2 * WINDOW, &cd) == -1 || !cd.probe)
			_exit(1);
		(void)read(p[0], &c, 1);	/* the parent tells when */
		_exit(0);
	}
	close(p[0]);
	for (int i = 0; i < 200 && num("probe_pid") != blocker; i++)
		usleep(10000);
	ck_assert_int_eq(num("probe_pid"), blocker);
	cd = check_at(t + 2 * WINDOW);
	ck_assert_int_eq(cd.kind, CD_BREAKER);
	ck_assert_str_eq(cd.cause, "probe");
	ck_assert_int_eq(cd.probe_pid, blocker);
	ck_assert(!cd.probe);
	close(p[1]);
	{
		int status;

		ck_assert_int_eq(waitpid(blocker, &status, 0), blocker);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* Its process gone, its claim is void: this one probes now. */
	cd = check_at(t + 2 * WINDOW);
	ck_assert(cd.probe);
	ck_assert_int_eq(num("probe_pid"), getpid());
}
END_TEST

START_TEST(probe_dead_pid_void)
{
	int64_t t = open_breaker();

	/* A child becomes the probe and dies without a note. */
	ck_assert_int_eq(child_check(t), 10);
	ck_assert_int_ne(num("probe_pid"), getpid());
	ck_assert(check_at(t + 1).probe);
	ck_assert_int_eq(num("probe_pid"), getpid());
}
END_TEST

START_TEST(probe_reused_pid_void)
{
	char text[256];

	/* A claim naming a live pid (our parent) with another start time. */
	(void)snprintf(text, sizeof(text), "{\"breaker_open\":true,"
	    "\"breaker_until_ms\":%lld,\"streak\":3,\"probe_pid\":%ld,"
	    "\"probe_start\":1,\"probe_ms\":%lld}", (long long)NOW,
	    (long)getppid(), (long long)NOW);
	put(file, text);
	ck_assert(check_at(NOW + 1).probe);
	ck_assert_int_eq(num("probe_pid"), getpid());
	/* The same pid with an unknown start time is taken as alive. */
	(void)snprintf(text, sizeof(text), "{\"breaker_open\":true,"
	    "\"breaker_until_ms\":%lld,\"streak\":3,\"probe_pid\":%ld}",
	    (long long)NOW, (long)getppid());
	put(file, text);
	ck_assert_int_eq(check_at(NOW + 1).kind, CD_BREAKER);
}
END_TEST

START_TEST(failed_probe_reopens)
{
	int64_t t = open_breaker();
	struct cooldown cd;

	ck_assert(check_at(t).probe);
	note(OC_OVERLOADED, t + 500, 0, 3);
	cd = check_at(t + 600);
	ck_assert_int_eq(cd.kind, CD_BREAKER);
	ck_assert_int_eq(cd.until_ms, t + 500 + WINDOW);
	ck_assert_int_eq(num("probe_pid"), 0);
	ck_assert_int_eq(cd.streak, 4);
	/* The next window's first check probes again. */
	ck_assert(check_at(t + 500 + WINDOW).probe);
}
END_TEST

START_TEST(success_closes)
{
	int64_t t = open_breaker();
	struct cooldown cd;
	ino_t ino;

	ck_assert(check_at(t).probe);
	note(OC_OK, t + 500, 0, 3);
	cd = check_at(t + 600);
	ck_assert_int_eq(cd.kind, CD_NONE);
	ck_assert(!cd.probe);
	ck_assert_int_eq(cd.streak, 0);
	ck_assert_int_eq(num("probe_pid"), 0);
	ck_assert_int_eq(num("streak"), 0);
	/* The next successes only read: the file is not replaced. */
	ino = inode();
	note(OC_OK, t + 700, 0, 3);
	note(OC_ERROR, t + 800, 0, 3);
	ck_assert(inode() == ino);
	/* A child goes straight through. */
	ck_assert_int_eq(child_check(t + 900), CD_NONE);
}
END_TEST

START_TEST(rate_limit_closes_breaker)
{
	int64_t t = open_breaker();
	struct cooldown cd;

	ck_assert(check_at(t).probe);
	note(OC_RATE_LIMIT, t + 100, t + 60000, 3);
	cd = check_at(t + 200);
	ck_assert_int_eq(cd.kind, CD_RATE_LIMIT);
	ck_assert_int_eq(cd.streak, 0);
	ck_assert_int_eq(check_at(t + 60000).kind, CD_NONE);
	ck_assert(!check_at(t + 60000).probe);
}
END_TEST

START_TEST(breaker_before_rate_limit)
{
	int64_t t;

	note(OC_RATE_LIMIT, NOW, NOW + 60000, 3);
	t = open_breaker();
	/* Open breaker: refuse at once rather than wait for the limit. */
	ck_assert_int_eq(check_at(NOW + 1).kind, CD_BREAKER);
	/* Breaker time over, limit still on: wait first, probe after. */
	ck_assert_int_eq(check_at(t).kind, CD_RATE_LIMIT);
	ck_assert_int_eq(num("probe_pid"), 0);
	ck_assert(check_at(NOW + 60000).probe);
}
END_TEST

/* The scenario: 529 to everything, runs with --retries=1. */
START_TEST(twenty_runs_against_an_outage)
{
	int64_t t = NOW;
	int requests = 0, refused = 0, probes = 0;

	for (int run = 0; run < 20; run++, t += 4000) {
		struct cooldown cd = check_at(t);
		bool mock_up = run >= 14;

		if (cd.kind == CD_BREAKER) {
			refused++;
			continue;
		}
		ck_assert_int_eq(cd.kind, CD_NONE);
		probes += cd.probe;
		requests++;
		note(mock_up ? OC_OK : OC_OVERLOADED, t + 1000, 0, 3);
		if (mock_up && run > 16)
			ck_assert(!cd.probe);
	}
	/*
	 * Runs 0-2 fail and open it at 9000 until 24000; runs 3-5 are
	 * refused; run 6 (24000) probes, fails: open until 40000; 7-9
	 * refused; run 10 (40000) probes, fails: until 56000; 11-13
	 * refused; run 14 (56000) probes, the mock is up: closed; 15-19
	 * go straight through.
	 */
	ck_assert_int_eq(probes, 3);
	ck_assert_int_eq(refused, 9);
	ck_assert_int_eq(requests, 11);
}
END_TEST

/* ---- Damaged state ---- */

START_TEST(corrupt_file)
{
	static const char *bad[] = {
		"", "garbage", "{", "[1,2,3]", "null", "{\"streak\":",
		"{\"breaker_open\":\"yes\",\"breaker_until_ms\":\"soon\"}",
		"{\"rate_limit_until_ms\":-5}",
		"{\"rate_limit_until_ms\":1e300}",
		/* A year 2290 until: not believed. */
		"{\"rate_limit_until_ms\":10000000000000}",
		"{\"breaker_open\":true,\"breaker_until_ms\":10000000000000}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cooldown cd;

		put(file, bad[i]);
		cd = check_at(NOW);
		ck_assert_msg(cd.kind == CD_NONE, "'%s' gave kind %d", bad[i],
		    cd.kind);
		/* The next change overwrites it with a good file. */
		note(OC_SERVER, NOW, 0, 3);
		ck_assert_int_eq(num("streak"), 1);
		(void)unlink(file);
	}
	{
		/* Too big to be ours. */
		char *big = malloc(10000);

		ck_assert_ptr_nonnull(big);
		memset(big, ' ', 9999);
		big[0] = '{';
		memcpy(big + 9990, "}", 2);
		put(file, big);
		free(big);
		ck_assert_int_eq(check_at(NOW).kind, CD_NONE);
		note(OC_SERVER, NOW, 0, 3);
		ck_assert_int_eq(num("streak"), 1);
	}
}
END_TEST

START_TEST(planted_symlinks)
{
	char target[PATH_MAX + 16];
	struct stat sb;

	(void)snprintf(target, sizeof(target), "%s/target", dir);
	put(target, "{\"rate_limit_until_ms\":1795600860000}");
	ck_assert_int_eq(symlink(target, file), 0);
	/* Not followed for reading… */
	ck_assert_int_eq(check_at(NOW).kind, CD_NONE);
	/* …and replaced, not written through, on the next change. */
	note(OC_SERVER, NOW, 0, 3);
	ck_assert_int_eq(lstat(file, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(num("streak"), 1);
	ck_assert_int_eq(stat(target, &sb), 0);
	ck_assert_int_eq(sb.st_size, 37);

	/* A symlink as the lock file is refused, its target not made. */
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(unlink(lockpath), 0);
	ck_assert_int_eq(unlink(target), 0);
	ck_assert_int_eq(symlink(target, lockpath), 0);
	errno = 0;
	ck_assert_int_eq(cooldown_note(dir, OC_SERVER, NOW, 0, WINDOW, 3), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

START_TEST(planted_fifo)
{
	ck_assert_int_eq(mkfifo(file, 0600), 0);
	/* Must not block on open or read. */
	alarm(5);
	ck_assert_int_eq(check_at(NOW).kind, CD_NONE);
	note(OC_SERVER, NOW, 0, 3);
	alarm(0);
	ck_assert_int_eq(num("streak"), 1);
}
END_TEST

/* ---- Many runs at once ---- */

/*
 * Forks NCHILD children that wait on a pipe, releases them together,
 * and has each run fn; each child reports one byte on `out` and then
 * stays alive until `hold` is closed, so a probe's claim stays live.
 */
static void
together(int (*fn)(void), int *results)
{
	int go[2], out[2], hold[2];
	pid_t pids[NCHILD];

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(hold), 0);
	for (int i = 0; i < NCHILD; i++) {
		pids[i] = fork();
		ck_assert_int_ne(pids[i], -1);
		if (pids[i] == 0) {
			char c;
			unsigned char r;

			close(go[1]);
			close(out[0]);
			close(hold[1]);
			(void)read(go[0], &c, 1);	/* EOF: go */
			r = (unsigned char)fn();
			(void)write(out[1], &r, 1);
			(void)read(hold[0], &c, 1);
			_exit(0);
		}
	}
	close(go[0]);
	close(out[1]);
	close(hold[0]);
	close(go[1]);
	for (int i = 0; i < NCHILD; i++) {
		unsigned char r;

		ck_assert_int_eq(read(out[0], &r, 1), 1);
		results[i] = r;
	}
	close(hold[1]);
	close(out[0]);
	for (int i = 0; i < NCHILD; i++) {
		int status;

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

static int
note_overloaded(void)
{
	return cooldown_note(dir, OC_OVERLOADED, NOW, 0, WINDOW, 0) == 0 ?
	    0 : 1;
}

static int
check_probe(void)
{
	struct cooldown cd;

	if (cooldown_check(dir, NOW + WINDOW, &cd) == -1)
		return 99;
	return cd.probe ? 10 : (int)cd.kind;
}

static int
note_then_check(void)
{
	struct cooldown cd;

	if (cooldown_note(dir, OC_SERVER, NOW, 0, WINDOW, NCHILD) == -1 ||
	    cooldown_check(dir, NOW, &cd) == -1)
		return 99;
	return 0;
}

START_TEST(concurrent_notes_lose_nothing)
{
	int r[NCHILD];

	for (int round = 1; round <= 3; round++) {
		together(note_overloaded, r);
		for (int i = 0; i < NCHILD; i++)
			ck_assert_int_eq(r[i], 0);
		ck_assert_int_eq(num("streak"), round * NCHILD);
	}
}
END_TEST

START_TEST(concurrent_checks_one_probe)
{
	int r[NCHILD], probes = 0, refused = 0;

	(void)open_breaker();
	together(check_probe, r);
	for (int i = 0; i < NCHILD; i++) {
		probes += r[i] == 10;
		refused += r[i] == CD_BREAKER;
	}
	ck_assert_int_eq(probes, 1);
	ck_assert_int_eq(refused, NCHILD - 1);
}
END_TEST

START_TEST(concurrent_mixed_opens_once)
{
	int r[NCHILD];

	together(note_then_check, r);
	for (int i = 0; i < NCHILD; i++)
		ck_assert_int_eq(r[i], 0);
	ck_assert_int_eq(num("streak"), NCHILD);
	ck_assert_int_eq(check_at(NOW).kind, CD_BREAKER);
	{
		/* No temporary file left behind. */
		char cmd[PATH_MAX + 64];

		(void)snprintf(cmd, sizeof(cmd),
		    "test $(ls -A '%s' | wc -l) -eq 2", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* ---- Cost on every run's path ---- */

static double
per_call_us(int64_t now, bool checks)
{
	struct timespec a, b;
	const int n = 2000;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		if (checks)
			(void)check_at(now);
		else
			note(OC_OK, now, 0, 3);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / n / 1000;
}

START_TEST(cheap_common_path)
{
	double missing_check, missing_note, clean_check, clean_note;
	ino_t ino;

	missing_check = per_call_us(NOW, true);
	missing_note = per_call_us(NOW, false);
	note(OC_SERVER, NOW, 0, 3);
	note(OC_OK, NOW, 0, 3);
	ino = inode();
	clean_check = per_call_us(NOW, true);
	clean_note = per_call_us(NOW, false);
	ck_assert(inode() == ino);
	fprintf(stderr, "cooldown cost (us/call, sanitized build): "
	    "check %.1f / note %.1f without a file, check %.1f / note %.1f "
	    "with a clean file\n", missing_check, missing_note, clean_check,
	    clean_note);
	/* Generous: a lock or write would not make these fail, a fsync would. */
	ck_assert(missing_check < 1000 && clean_check < 1000);
	ck_assert(missing_note < 1000 && clean_note < 1000);
}
END_TEST

static Suite *
cooldown_suite(void)
{
	Suite *s = suite_create("cooldown");
	TCase *b = tcase_create("basic");
	TCase *d = tcase_create("damaged");
	TCase *c = tcase_create("concurrent");

	tcase_add_checked_fixture(b, setup, teardown);
	tcase_set_timeout(b, 60);
	tcase_add_test(b, none_when_missing);
	tcase_add_test(b, missing_dir);
	tcase_add_test(b, rate_limit_then_check);
	tcase_add_test(b, rate_limit_never_shorter);
	tcase_add_test(b, success_keeps_rate_limit);
	tcase_add_test(b, breaker_opens_after_n);
	tcase_add_test(b, breaker_streak_broken);
	tcase_add_test(b, breaker_off);
	tcase_add_test(b, probe_chosen_once);
	tcase_add_test(b, probe_dead_pid_void);
	tcase_add_test(b, probe_reused_pid_void);
	tcase_add_test(b, failed_probe_reopens);
	tcase_add_test(b, success_closes);
	tcase_add_test(b, rate_limit_closes_breaker);
	tcase_add_test(b, breaker_before_rate_limit);
	tcase_add_test(b, twenty_runs_against_an_outage);
	tcase_add_test(b, cheap_common_path);
	suite_add_tcase(s, b);

	tcase_add_checked_fixture(d, setup, teardown);
	tcase_add_test(d, corrupt_file);
	tcase_add_test(d, planted_symlinks);
	tcase_add_test(d, planted_fifo);
	suite_add_tcase(s, d);

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_set_timeout(c, 60);
	tcase_add_test(c, concurrent_notes_lose_nothing);
	tcase_add_test(c, concurrent_checks_one_probe);
	tcase_add_test(c, concurrent_mixed_opens_once);
	suite_add_tcase(s, c);
	return s;
}

CHECK_MAIN(cooldown_suite)
