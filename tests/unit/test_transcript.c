/* Unit tests of lib/transcript.c: --transcript. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "check_main.h"
#include "io.h"
#include "transcript.h"

#define FIXTURE_NAME "test_transcript"
#include "fixture.h"

#ifdef __SANITIZE_ADDRESS__
/* From <sanitizer/allocator_interface.h>, which gcc does not ship. */
size_t	__sanitizer_get_current_allocated_bytes(void);
#endif

/*
 * Bytes the heap holds now. Under ASan, freed memory sits in quarantine
 * and RSS says little, so ask the sanitizer's allocator what is live.
 */
static size_t
heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

/* VmHWM of /proc/self/status in KiB, or -1. */
static long
peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kib = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Feeds a NUL-terminated line (strlen is the length). */
static int
ev(struct transcript *t, int attempt, const char *line)
{
	return transcript_event(t, attempt, line, strlen(line));
}

/*
 * Checks that line is {"attempt":N,"ts":"<24>","event":<event>} with the
 * event's bytes exactly, and that it parses.
 */
static void
check_line(const char *line, int attempt, const char *event)
{
	char head[64];
	size_t hl, el = strlen(event);
	cJSON *o;
	const cJSON *ts;

	fmt(head, "{\"attempt\":%d,\"ts\":\"", attempt);
	hl = strlen(head);
	ck_assert_msg(strncmp(line, head, hl) == 0, "%s", line);
	ck_assert_int_eq(line[hl + 24], '"');
	ck_assert_int_eq(line[hl + 23], 'Z');
	ck_assert_msg(strncmp(line + hl + 25, ",\"event\":", 9) == 0, "%s",
	    line);
	ck_assert_msg(strncmp(line + hl + 34, event, el) == 0, "%s", line);
	ck_assert_str_eq(line + hl + 34 + el, "}");
	o = cJSON_Parse(line);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(o,
	    "attempt")->valueint, attempt);
	ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
	ck_assert(cJSON_IsString(ts) && strlen(ts->valuestring) == 24);
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o,
	    "event")));
	cJSON_Delete(o);
}

/* Reads the next line of f without its newline into *buf; false at EOF. */
static bool
next_line(FILE *f, char **buf, size_t *cap)
{
	ssize_t n = getline(buf, cap, f);

	if (n <= 0)
		return false;
	ck_assert_int_eq((*buf)[n - 1], '\n');
	(*buf)[n - 1] = '\0';
	return true;
}

START_TEST(lines_keep_event_bytes)
{
	static const char *const events[] = {
		"{\"type\":\"system\",\"subtype\":\"init\"}",
		"{ \"spaced\" : [ 1 , 2 ] ,\t\"tab\":true }",
		"{\"n\":1.0e+10,\"m\":-0.0,\"big\":123456789012345678901234567890}",
		"{\"esc\":\"\\u00e9\\n\\\"\\/\",\"utf8\":\"caf\xc3\xa9 \xe2\x9c\x93\"}",
		"{\"z\":1,\"a\":2,\"z\":3}",
		"{}",
	};
	size_t n = sizeof(events) / sizeof(*events);
	char path[PATH_MAX], with_nl[256];
	struct transcript *t;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	fmt(path, "%s/t.jsonl", tmp);
	ck_assert_ptr_nonnull(t = transcript_open(path, "run"));
	ck_assert_str_eq(transcript_path(t), path);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(ev(t, (int)i + 1, events[i]), 0);
	/* One trailing newline is dropped; an empty line is skipped. */
	fmt(with_nl, "%s\n", events[0]);
	ck_assert_int_eq(ev(t, 9, with_nl), 0);
	ck_assert_int_eq(ev(t, 9, ""), 0);
	ck_assert_int_eq(ev(t, 9, "\n"), 0);
	/* Not a line: refused, nothing written. */
	errno = 0;
	ck_assert_int_eq(ev(t, 9, "{\"a\":\n1}"), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(transcript_event(t, 9, "{\"a\":1}\0x", 9), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Not NUL-terminated: only len bytes are taken. */
	ck_assert_int_eq(transcript_event(t, 10, "{\"cut\":1}garbage", 9), 0);
	/* Refused events do not make close fail. */
	ck_assert_int_eq(transcript_close(t), 0);

	ck_assert_ptr_nonnull(f = fopen(path, "re"));
	for (size_t i = 0; i < n; i++) {
		ck_assert(next_line(f, &line, &cap));
		check_line(line, (int)i + 1, events[i]);
	}
	ck_assert(next_line(f, &line, &cap));
	check_line(line, 9, events[0]);
	ck_assert(next_line(f, &line, &cap));
	check_line(line, 10, "{\"cut\":1}");
	ck_assert(!next_line(f, &line, &cap));
	fclose(f);
	free(line);
}
END_TEST

/* The descriptor open on path in this process, or -1. */
static int
fd_of(const char *path)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			return fd;
	}
	return -1;
}

START_TEST(dir_or_file)
{
	char dir[PATH_MAX], want[PATH_MAX], file[PATH_MAX];
	struct transcript *t;
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int fd;

	/* A directory: <dir>/<run>.jsonl, 0600 whatever the umask. */
	umask(0);
	fmt(dir, "%s/d", tmp);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_ptr_nonnull(t = transcript_open(dir, "abc-123"));
	fmt(want, "%s/abc-123.jsonl", dir);
	ck_assert_str_eq(transcript_path(t), want);
	ck_assert_int_eq(stat(want, &st), 0);
	ck_assert_int_eq(st.st_mode, S_IFREG | 0600);
	ck_assert_int_ge(fd = fd_of(want), 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(ev(t, 1, "{\"r\":1}"), 0);
	ck_assert_int_eq(transcript_close(t), 0);
	umask(022);

	/* A file: itself, appended to by a later run. */
	fmt(file, "%s/all.jsonl", tmp);
	ck_assert_ptr_nonnull(t = transcript_open(file, "r1"));
	ck_assert_str_eq(transcript_path(t), file);
	ck_assert_int_eq(ev(t, 1, "{\"r\":1}"), 0);
	ck_assert_int_eq(transcript_close(t), 0);
	ck_assert_ptr_nonnull(t = transcript_open(file, "r2"));
	ck_assert_int_eq(ev(t, 1, "{\"r\":2}"), 0);
	ck_assert_int_eq(transcript_close(t), 0);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode, S_IFREG | 0600);
	ck_assert_ptr_nonnull(f = fopen(file, "re"));
	ck_assert(next_line(f, &line, &cap));
	check_line(line, 1, "{\"r\":1}");
	ck_assert(next_line(f, &line, &cap));
	check_line(line, 1, "{\"r\":2}");
	ck_assert(!next_line(f, &line, &cap));
	fclose(f);
	free(line);

	/* A directory needs a run that is a plain name. */
	errno = 0;
	ck_assert_ptr_null(transcript_open(dir, "../x"));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(transcript_open(dir, ""));
	ck_assert_ptr_null(transcript_open(dir, NULL));
}
END_TEST

START_TEST(refuses_links_and_specials)
{
	char target[PATH_MAX], link[PATH_MAX], fifo[PATH_MAX], buf[64];
	struct stat st;
	ssize_t n;
	int fd;

	fmt(target, "%s/precious", tmp);
	fmt(link, "%s/t.jsonl", tmp);
	fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "precious\n", 9), 9);
	close(fd);
	ck_assert_int_eq(symlink(target, link), 0);
	errno = 0;
	ck_assert_ptr_null(transcript_open(link, "r"));
	ck_assert_int_eq(errno, ELOOP);
	fd = open(target, O_RDONLY | O_CLOEXEC);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(n, 9);
	ck_assert_int_eq(memcmp(buf, "precious\n", 9), 0);

	/* A FIFO is refused at once, not waited on for a reader. */
	fmt(fifo, "%s/fifo", tmp);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	errno = 0;
	ck_assert_ptr_null(transcript_open(fifo, "r"));
	ck_assert_int_eq(errno, IO_ENOTREG);

	/* A missing directory is not created. */
	fmt(link, "%s/no/t.jsonl", tmp);
	errno = 0;
	ck_assert_ptr_null(transcript_open(link, "r"));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(lstat(link, &st), -1);
	ck_assert_int_eq(transcript_close(NULL), 0);
}
END_TEST

/* An event of about size bytes, numbered i. */
static size_t
make_event(char *buf, size_t size, long i)
{
	int head = snprintf(buf, size, "{\"type\":\"assistant\",\"i\":%ld,"
	    "\"pad\":\"", i);
	size_t len = size - 1;

	memset(buf + head, 'x', len - (size_t)head - 2);
	memcpy(buf + len - 2, "\"}", 2);
	buf[len] = '\0';
	return len;
}

/*
 * 100 MiB of events, some larger than the buffer, through one
 * transcript: the live heap must not grow with the stream.
 */
START_TEST(long_stream_flat_memory)
{
	static char small[4096], large[300 * 1024];
	const size_t total = (size_t)100 << 20;
	size_t fed = 0, base, peak = 0, lines = 0;
	char path[PATH_MAX];
	struct transcript *t;
	long rss0, rss1;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f;
	long i;

	fmt(path, "%s/big.jsonl", tmp);
	ck_assert_ptr_nonnull(t = transcript_open(path, "r"));
	base = heap_in_use();
	rss0 = peak_rss_kib();
	for (i = 0; fed < total; i++) {
		bool big = i % 500 == 499;
		size_t len = big ? make_event(large, sizeof(large), i) :
		    make_event(small, sizeof(small), i);

		ck_assert_int_eq(transcript_event(t, 1 + (int)(i % 3),
		    big ? large : small, len), 0);
		fed += len;
		if (i % 64 == 0 && heap_in_use() > peak)
			peak = heap_in_use();
	}
	rss1 = peak_rss_kib();
	ck_assert_int_eq(transcript_close(t), 0);
	ck_assert_msg((peak > base ? peak - base : 0) < 1 << 20,
	    "live heap grew by %zu bytes over %ld events",
	    peak - base, i);
#ifdef __SANITIZE_ADDRESS__
	(void)rss0;
	(void)rss1;
#else
	/* ASan's quarantine holds freed memory: RSS means nothing there. */
	ck_assert_msg(rss1 - rss0 < 32 * 1024, "VmHWM %ld -> %ld KiB", rss0,
	    rss1);
#endif

	/* Every line is whole, in order, and parses. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_gt((uint64_t)st.st_size, total);
	ck_assert_ptr_nonnull(f = fopen(path, "re"));
	while (next_line(f, &line, &cap)) {
		cJSON *o = cJSON_Parse(line);
		const cJSON *e;

		ck_assert_ptr_nonnull(o);
		e = cJSON_GetObjectItemCaseSensitive(o, "event");
		ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(e,
		    "i")->valueint, (int)lines);
		ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(o,
		    "attempt")->valueint, 1 + (int)(lines % 3));
		cJSON_Delete(o);
		lines++;
	}
	ck_assert_int_eq(lines, (size_t)i);
	fclose(f);
	free(line);
}
END_TEST

/*
 * Feeds n events of about 1 KiB; returns how many calls failed, and
 * the errno of the last failure in *err.
 */
static int
feed(struct transcript *t, long from, long n, int *err)
{
	char buf[1024];
	int fails = 0;

	for (long i = from; i < from + n; i++) {
		size_t len = make_event(buf, sizeof(buf), i);

		if (transcript_event(t, 1, buf, len) == -1) {
			fails++;
			*err = errno;
		}
	}
	return fails;
}

/*
 * Counts the lines of path that do not parse: -1 if the file cannot be
 * read, if its last line is bad, or if a bad line runs into the next
 * (two line starts in it: the cut line was not ended).
 */
static int
bad_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int bad = 0;
	bool last_ok = false, merged = false;

	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		cJSON *o = cJSON_Parse(line);
		char *second;

		last_ok = o != NULL;
		if (o == NULL) {
			bad++;
			second = strstr(line + 1, "{\"attempt\":");
			merged = merged || second != NULL;
		}
		cJSON_Delete(o);
	}
	fclose(f);
	free(line);
	return last_ok && !merged ? bad : -1;
}

/*
 * In a child: the file size limit makes writes fail with EFBIG (SIGXFSZ
 * ignored); every later event still fails, and close says so. Exit 0
 * when all went as it should.
 */
static int
efbig_child(const char *path)
{
	struct rlimit rl = { 200000, 200000 };
	struct transcript *t;
	int err = 0;

	signal(SIGXFSZ, SIG_IGN);
	if ((t = transcript_open(path, "r")) == NULL)
		return 1;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 2;
	if (feed(t, 0, 1000, &err) == 0 || err != EFBIG)
		return 3;
	errno = 0;
	if (transcript_close(t) != -1 || errno != EFBIG)
		return 4;
	return 0;
}

START_TEST(write_error_remembered)
{
	char path[PATH_MAX];
	struct stat st;
	int status;
	pid_t pid;

	fmt(path, "%s/t.jsonl", tmp);
	if ((pid = fork()) == 0)
		_exit(efbig_child(path));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_le(st.st_size, 200000);
	ck_assert_int_gt(st.st_size, 100000);
}
END_TEST

/*
 * On a 256 KiB disk (on_tiny_tmpfs): the disk fills, then space comes
 * back. Lines written after that are whole and parse; the one cut short
 * is the only bad line, and ends where it was cut; close reports ENOSPC.
 * 0 passed, other values the step that failed.
 */
static int
enospc_child(const char *dir)
{
	char path[PATH_MAX], filler[PATH_MAX];
	struct transcript *t;
	int fd, err = 0, bad;

	if (snprintf(path, sizeof(path), "%s/t.jsonl", dir) >=
	    (int)sizeof(path) ||
	    snprintf(filler, sizeof(filler), "%s/filler", dir) >=
	    (int)sizeof(filler))
		return 1;
	/*
	 * All but 32 KiB of the disk, to be given back later: the first
	 * 64 KiB flush stops half way.
	 */
	if ((fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    posix_fallocate(fd, 0, 224 * 1024) != 0 || close(fd) == -1)
		return 2;
	if ((t = transcript_open(path, "r")) == NULL)
		return 3;
	if (feed(t, 0, 100, &err) == 0 || err != ENOSPC)
		return 4;
	if (unlink(filler) == -1)
		return 5;
	if (feed(t, 100, 10, &err) != 0 || transcript_flush(t) == -1)
		return 6;
	errno = 0;
	if (transcript_close(t) != -1 || errno != ENOSPC)
		return 7;
	/* Exactly the one cut short by ENOSPC. */
	bad = bad_lines(path);
	if (bad < 0)
		return 8;
	if (bad != 1)
		return 9;
	return 0;
}

START_TEST(enospc_then_recovers)
{
	on_tiny_tmpfs("256k", enospc_child);
}
END_TEST

static Suite *
transcript_suite(void)
{
	Suite *s = suite_create("transcript");
	TCase *tc = tcase_create("transcript");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lines_keep_event_bytes);
	tcase_add_test(tc, dir_or_file);
	tcase_add_test(tc, refuses_links_and_specials);
	tcase_add_test(tc, long_stream_flat_memory);
	tcase_add_test(tc, write_error_remembered);
	tcase_add_test(tc, enospc_then_recovers);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(transcript_suite)
