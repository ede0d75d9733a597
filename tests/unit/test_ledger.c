/*
 * Unit tests of the ledger: the state dir, appends (modes, symlinks, a
 * short write, and many processes appending at once), time parsing and
 * the bounded line reader.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check_main.h"
#include "ledger.h"
#include "state.h"

#define NPROC	40
#define NREC	50

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
tmpdir(void)
{
	static char dir[64];

	strlcpy(dir, "/tmp/cwledger.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* The whole file; the caller frees. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static cJSON *
record(const char *event, int who, int seq, size_t pad)
{
	cJSON *r = cJSON_CreateObject();
	char *p = malloc(pad + 1);

	ck_assert_ptr_nonnull(p);
	memset(p, 'a' + (who + seq) % 26, pad);
	p[pad] = '\0';
	cJSON_AddStringToObject(r, "event", event);
	cJSON_AddNumberToObject(r, "who", who);
	cJSON_AddNumberToObject(r, "seq", seq);
	cJSON_AddStringToObject(r, "pad", p);
	free(p);
	return r;
}

START_TEST(open_dir_makes_parents_0700)
{
	char *dir = tmpdir(), path[256], file[300];
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/a/b//c/", dir);
	ck_assert_int_eq(state_make(path), 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	ck_assert_uint_eq(mode_of(path), 0700);
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	ck_assert_uint_eq(mode_of(path), 0700);
	/* An existing directory is fine and keeps its mode. */
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(state_make(path), 0);
	ck_assert_uint_eq(mode_of(path), 0755);
	/* A file in the way is ENOTDIR, whether last or a parent. */
	snprintf(file, sizeof(file), "%s/f", dir);
	fclose(fopen(file, "w"));
	errno = 0;
	ck_assert_int_eq(state_make(file), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	snprintf(file, sizeof(file), "%s/f/sub", dir);
	errno = 0;
	ck_assert_int_eq(state_make(file), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	errno = 0;
	ck_assert_int_eq(state_make(""), -1);
	ck_assert_int_eq(errno, ENOENT);
	umask(old);
	rm_rf(dir);
}
END_TEST

START_TEST(append_one_line_0600)
{
	char *dir = tmpdir(), path[256], *text, *want1, *want2, *all;
	cJSON *a = record("start", 1, 1, 3), *b = record("done", 1, 2, 3);
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/ledger.jsonl", dir);
	ck_assert_int_eq(ledger_append(path, a), 0);
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_int_eq(ledger_append(path, b), 0);
	want1 = cJSON_PrintUnformatted(a);
	want2 = cJSON_PrintUnformatted(b);
	ck_assert_int_ge(asprintf(&all, "%s\n%s\n", want1, want2), 0);
	text = slurp(path, NULL);
	ck_assert_str_eq(text, all);
	free(text);
	free(all);
	free(want1);
	free(want2);
	/* A looser mode the user chose is left alone. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(ledger_append(path, a), 0);
	ck_assert_uint_eq(mode_of(path), 0644);
	cJSON_Delete(a);
	cJSON_Delete(b);
	umask(old);
	rm_rf(dir);
}
END_TEST

/* The two halves: the line is there before the sync, which closes. */
START_TEST(append_nosync_then_sync)
{
	char *dir = tmpdir(), path[256], *text, *want;
	cJSON *a = record("start", 1, 1, 3);
	int fd;

	snprintf(path, sizeof(path), "%s/ledger.jsonl", dir);
	fd = ledger_append_nosync(path, a);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	want = cJSON_PrintUnformatted(a);
	text = slurp(path, NULL);
	ck_assert_int_eq(strlen(text), strlen(want) + 1);
	ck_assert_int_eq(strncmp(text, want, strlen(want)), 0);
	ck_assert_int_eq(ledger_sync(fd), 0);
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	/* A failed open gives -1 and no descriptor to sync. */
	snprintf(path, sizeof(path), "%s/missing/ledger.jsonl", dir);
	errno = 0;
	ck_assert_int_eq(ledger_append_nosync(path, a), -1);
	ck_assert_int_eq(errno, ENOENT);
	free(text);
	free(want);
	cJSON_Delete(a);
	rm_rf(dir);
}
END_TEST

START_TEST(append_refuses_symlink_and_reports_errors)
{
	char *dir = tmpdir(), path[256], target[256], *text;
	cJSON *a = record("start", 1, 1, 3);

	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(path, sizeof(path), "%s/ledger.jsonl", dir);
	fclose(fopen(target, "w"));
	ck_assert_int_eq(symlink(target, path), 0);
	errno = 0;
	ck_assert_int_eq(ledger_append(path, a), -1);
	ck_assert_int_eq(errno, ELOOP);
	text = slurp(target, NULL);
	ck_assert_str_eq(text, "");
	free(text);
	snprintf(path, sizeof(path), "%s/missing/ledger.jsonl", dir);
	errno = 0;
	ck_assert_int_eq(ledger_append(path, a), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* A directory where the file should be. */
	snprintf(path, sizeof(path), "%s", dir);
	errno = 0;
	ck_assert_int_eq(ledger_append(path, a), -1);
	ck_assert_int_eq(errno, EISDIR);
	cJSON_Delete(a);
	rm_rf(dir);
}
END_TEST

/*
 * RLIMIT_FSIZE makes the kernel write only up to the limit and return a
 * short count: the record must be reported, not completed by a second
 * write that could land after another run's record.
 */
START_TEST(append_short_write_is_enospc)
{
	char *dir = tmpdir(), path[256];
	cJSON *small = record("start", 1, 1, 10), *big = record("done", 1, 2,
	    8192);
	struct rlimit rl, old;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/ledger.jsonl", dir);
	ck_assert_int_eq(ledger_append(path, small), 0);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 4096;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	errno = 0;
	int rc = ledger_append(path, big), saved = errno;
	/* Restored before asserting: Check itself writes files. */
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(saved, ENOSPC);
	text = slurp(path, &len);
	ck_assert_uint_eq(len, 4096);	/* it was short, not refused */
	free(text);
	cJSON_Delete(small);
	cJSON_Delete(big);
	rm_rf(dir);
}
END_TEST

/* Sizes from tiny to well past PIPE_BUF (4 KiB) and a pipe's 64 KiB. */
static size_t
pad_for(int who, int seq)
{
	static const size_t sizes[] = { 1, 100, 3000, 4090, 8192, 20000,
		70000 };

	return sizes[(size_t)(who * 7 + seq) % (sizeof(sizes) /
	    sizeof(*sizes))];
}

static void
appender(const char *path, int who, int go_fd)
{
	char c;

	/* Everyone waits at the gate, so the appends overlap. */
	if (read(go_fd, &c, 1) != 0)
		_exit(3);
	for (int seq = 0; seq < NREC; seq++) {
		cJSON *r = record(seq % 2 ? "done" : "start", who, seq,
		    pad_for(who, seq));
		if (ledger_append(path, r) == -1)
			_exit(2);
		cJSON_Delete(r);
	}
	_exit(0);
}

/* Every line parses, is whole, and each (who, seq) is there once. */
static void
check_all_there(const char *path)
{
	static bool seen[NPROC][NREC];
	char *text = slurp(path, NULL), *line, *save = NULL;
	int n = 0;

	memset(seen, 0, sizeof(seen));
	/* No blank line either: strtok_r would pass over it. */
	ck_assert_msg(text[0] != '\n' && strstr(text, "\n\n") == NULL,
	    "a blank line");
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++) {
		cJSON *r = cJSON_Parse(line);
		ck_assert_msg(r != NULL, "line %d does not parse", n + 1);
		int who = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(r,
		    "who"));
		int seq = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(r,
		    "seq"));
		const char *pad = cJSON_GetStringValue(cJSON_GetObjectItem(r,
		    "pad"));
		ck_assert(who >= 0 && who < NPROC && seq >= 0 && seq < NREC);
		ck_assert_msg(!seen[who][seq], "%d/%d twice", who, seq);
		seen[who][seq] = true;
		ck_assert_uint_eq(strlen(pad), pad_for(who, seq));
		ck_assert_int_eq(pad[strlen(pad) - 1], 'a' + (who + seq) % 26);
		cJSON_Delete(r);
	}
	ck_assert_int_eq(n, NPROC * NREC);
	free(text);
}

START_TEST(append_concurrent_never_interleaves)
{
	char *dir = tmpdir(), path[256];
	int gate[2], status;
	pid_t pids[NPROC];

	snprintf(path, sizeof(path), "%s/ledger.jsonl", dir);
	ck_assert_int_eq(pipe(gate), 0);
	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		ck_assert_int_ne(pids[i], -1);
		if (pids[i] == 0) {
			close(gate[1]);
			appender(path, i, gate[0]);
		}
	}
	close(gate[0]);
	close(gate[1]);		/* open the gate */
	for (int i = 0; i < NPROC; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "appender %d failed: status %#x", i, status);
	}
	check_all_there(path);
	rm_rf(dir);
}
END_TEST

/* dir's ledger, into path, holding head and no newline: its fd. */
static int
ledger_begun(const char *dir, char *path, size_t size, const char *head)
{
	int fd;

	snprintf(path, size, "%s/ledger.jsonl", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	return fd;
}

/* A crash mid-append left a line open: the next record closes it first. */
START_TEST(append_after_torn_line)
{
	char *dir = tmpdir(), path[256], *text;
	cJSON *r = record("done", 1, 1, 3);

	close(ledger_begun(dir, path, sizeof(path), "{\"event\":\"sta"));
	ck_assert_int_eq(ledger_append(path, r), 0);
	text = slurp(path, NULL);
	ck_assert_str_eq(text, "{\"event\":\"sta\n{\"event\":\"done\","
	    "\"who\":1,\"seq\":1,\"pad\":\"ccc\"}\n");
	free(text);
	cJSON_Delete(r);
	rm_rf(dir);
}
END_TEST

/*
 * Another run's record caught half-written (it holds the lock) is not a
 * torn line: the append waits for it and adds no newline of its own.
 */
START_TEST(append_waits_for_a_record_being_written)
{
	char *dir = tmpdir(), path[256], *text;
	cJSON *r = record("done", 1, 1, 3);
	int fd, status, go[2];
	pid_t pid;
	char c;

	fd = ledger_begun(dir, path, sizeof(path), "{\"a\":");
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(pipe(go), 0);
	if ((pid = fork()) == 0) {
		close(fd);	/* the lock stays with the parent's */
		_exit(read(go[0], &c, 1) == 1 && ledger_append(path, r) == 0 ?
		    0 : 1);
	}
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	usleep(50000);
	ck_assert_int_eq(write(fd, "1}\n", 3), 3);
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	text = slurp(path, NULL);
	ck_assert_str_eq(text, "{\"a\":1}\n{\"event\":\"done\",\"who\":1,"
	    "\"seq\":1,\"pad\":\"ccc\"}\n");
	free(text);
	close(fd);
	close(go[0]);
	close(go[1]);
	cJSON_Delete(r);
	rm_rf(dir);
}
END_TEST

START_TEST(state_dir_resolution)
{
	char buf[PATH_MAX], path[PATH_MAX], small[16];

	ck_assert_int_eq(state_dir("/x/y", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/x/y");
	setenv("XDG_STATE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	ck_assert_int_eq(state_dir(NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/xdg/claudewrap");
	/* The XDG spec: a relative XDG_STATE_HOME is ignored. */
	setenv("XDG_STATE_HOME", "rel", 1);
	ck_assert_int_eq(state_dir(NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/home/u/.local/state/claudewrap");
	unsetenv("XDG_STATE_HOME");
	ck_assert_int_eq(state_dir("", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/home/u/.local/state/claudewrap");
	ck_assert_int_eq(ledger_path(buf, path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/home/u/.local/state/claudewrap/ledger.jsonl");
	errno = 0;
	ck_assert_int_eq(state_dir(NULL, small, sizeof(small)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	errno = 0;
	ck_assert_int_eq(ledger_path("/a/long/dir", small, sizeof(small)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(parse_time_good)
{
	static const struct { const char *s; int64_t ms; } cases[] = {
		{ "1970-01-01", 0 },
		{ "2026-11-20", INT64_C(1795132800000) },
		{ "2026-11-20T10:00", INT64_C(1795168800000) },
		{ "2026-11-20T10:00:00Z", INT64_C(1795168800000) },
		{ "2026-11-20T10:00:00.123Z", INT64_C(1795168800123) },
		{ "2026-11-20T10:00:00.5Z", INT64_C(1795168800500) },
		{ "2026-11-20T10:00:00.123456Z", INT64_C(1795168800123) },
		{ "2026-11-20 11:00:00+01:00", INT64_C(1795168800000) },
		{ "2026-11-20T05:30:00-0430", INT64_C(1795168800000) },
		{ "2024-02-29", INT64_C(1709164800000) },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int64_t ms = -1;
		ck_assert_msg(ledger_parse_time(cases[i].s, &ms) == 0, "%s",
		    cases[i].s);
		ck_assert_msg(ms == cases[i].ms, "%s: %lld", cases[i].s,
		    (long long)ms);
	}
}
END_TEST

START_TEST(parse_time_bad)
{
	static const char *bad[] = { "", "2026", "2026-11", "2026-11-2",
		"2026-13-01", "2026-00-10", "2026-02-30", "2025-02-29",
		"2026-11-20T", "2026-11-20T25:00", "2026-11-20T10:60",
		"2026-11-20T10:00:00.", "2026-11-20T10:00:00Zjunk",
		"2026-11-20x", "24h", "xyz", "2026-11-20T10:00:00+25:00",
		" 2026-11-20" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int64_t ms = 42;
		ck_assert_msg(ledger_parse_time(bad[i], &ms) == -1, "'%s'",
		    bad[i]);
		ck_assert_int_eq(ms, 42);
	}
}
END_TEST

START_TEST(lines_bounded)
{
	static const char text[] = "short\n\n0123456789abcdef\nx\0y\nlast";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct ledger_lines *lr = ledger_lines_new(f, 8);
	const char *line;
	size_t len;
	bool cut;

	ck_assert_ptr_nonnull(lr);
	line = ledger_lines_next(lr, &len, &cut);
	ck_assert_str_eq(line, "short");
	ck_assert(!cut);
	line = ledger_lines_next(lr, &len, &cut);
	ck_assert_str_eq(line, "");
	ck_assert_uint_eq(len, 0);
	/* Cut at 8 bytes; the rest of the line is skipped, not returned. */
	line = ledger_lines_next(lr, &len, &cut);
	ck_assert_str_eq(line, "01234567");
	ck_assert(cut);
	line = ledger_lines_next(lr, &len, &cut);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(line, "x\0y", 3), 0);
	ck_assert(!cut);
	line = ledger_lines_next(lr, &len, &cut);
	ck_assert_str_eq(line, "last");	/* no final newline */
	ck_assert_ptr_null(ledger_lines_next(lr, &len, &cut));
	ledger_lines_free(lr);
	fclose(f);
}
END_TEST

static Suite *
ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("ledger");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, open_dir_makes_parents_0700);
	tcase_add_test(tc, append_one_line_0600);
	tcase_add_test(tc, append_nosync_then_sync);
	tcase_add_test(tc, append_refuses_symlink_and_reports_errors);
	tcase_add_test(tc, append_short_write_is_enospc);
	tcase_add_test(tc, append_concurrent_never_interleaves);
	tcase_add_test(tc, append_after_torn_line);
	tcase_add_test(tc, append_waits_for_a_record_being_written);
	tcase_add_test(tc, state_dir_resolution);
	tcase_add_test(tc, parse_time_good);
	tcase_add_test(tc, parse_time_bad);
	tcase_add_test(tc, lines_bounded);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ledger_suite)
