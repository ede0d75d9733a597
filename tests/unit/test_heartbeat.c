/* Unit tests of lib/heartbeat.c: --heartbeat. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "check_main.h"
#include "clock.h"
#include "heartbeat.h"

#define FIXTURE_NAME "test_heartbeat"
#include "fixture.h"

/* The file's content into buf; its length, or -1. */
static ssize_t
slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The file as a JSON object, checked to be exactly one line. */
static cJSON *
read_beat(const char *path)
{
	char buf[4096];
	ssize_t n = slurp(path, buf, sizeof(buf));
	cJSON *o;

	ck_assert_int_gt(n, 1);
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	o = cJSON_Parse(buf);
	ck_assert_ptr_nonnull(o);
	ck_assert(cJSON_IsObject(o));
	return o;
}

static const char *
str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsString(v), "%s", key);
	return v->valuestring;
}

static double
num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsNumber(v), "%s", key);
	return v->valuedouble;
}

START_TEST(fields)
{
	struct heartbeat hb = {
		.run = "0b7c9c2e-4f7a-4c8e-9d55-3f1f8f1c2a10",
		.tag = "nightly \"report\"\n",
		.pid = 4242,
		.attempt = 2,
		.phase = HB_WAITING,
		.ts_ms = INT64_C(1763887200123),
		.next_wake_ms = INT64_C(1763887215000),
	};
	char path[PATH_MAX], iso[CLOCK_ISO_LEN];
	cJSON *o;

	fmt(path, "%s/hb.json", tmp);
	ck_assert_int_eq(heartbeat_write(path, &hb), 0);
	o = read_beat(path);
	ck_assert_str_eq(str_of(o, "run"), hb.run);
	ck_assert_str_eq(str_of(o, "tag"), hb.tag);
	ck_assert_int_eq((int)num_of(o, "pid"), 4242);
	ck_assert_int_eq((int)num_of(o, "attempt"), 2);
	ck_assert_str_eq(str_of(o, "phase"), "waiting");
	ck_assert_str_eq(str_of(o, "ts"), "2025-11-23T08:40:00.123Z");
	ck_assert(num_of(o, "ts_ms") == 1763887200123.0);
	ck_assert(num_of(o, "next_wake_ms") == 1763887215000.0);
	clock_iso(hb.ts_ms, iso);
	ck_assert_str_eq(str_of(o, "ts"), iso);
	cJSON_Delete(o);
	ck_assert_int_eq(count_entries(tmp), 1);
}
END_TEST

START_TEST(rewrite)
{
	struct heartbeat hb = { .run = "r1", .pid = getpid(), .attempt = 1,
	    .phase = HB_RUNNING, .next_wake_ms = 5 };
	char path[PATH_MAX];
	int64_t t0, t1;
	double ts;
	cJSON *o;

	fmt(path, "%s/hb.json", tmp);
	ck_assert_int_eq(heartbeat_write(path, &hb), 0);
	hb.phase = HB_DONE;
	hb.attempt = 3;
	hb.next_wake_ms = 0;
	t0 = clock_real_ms();
	ck_assert_int_eq(heartbeat_write(path, &hb), 0);
	t1 = clock_real_ms();
	o = read_beat(path);
	ck_assert_str_eq(str_of(o, "phase"), "done");
	ck_assert_int_eq((int)num_of(o, "attempt"), 3);
	ck_assert_int_eq((int)num_of(o, "pid"), getpid());
	/* Optional fields are left out, not written as null. */
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "tag"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o,
	    "next_wake_ms"));
	/* ts_ms 0 means now. */
	ts = num_of(o, "ts_ms");
	ck_assert(ts >= (double)t0 && ts <= (double)t1);
	cJSON_Delete(o);
	ck_assert_int_eq(count_entries(tmp), 1);
}
END_TEST

START_TEST(phase_names)
{
	static const char *const want[] = { "starting", "running", "waiting",
	    "killing", "done" };
	struct heartbeat hb = { .run = "r", .pid = 1 };
	char path[PATH_MAX];
	cJSON *o;

	fmt(path, "%s/hb", tmp);
	for (int i = HB_STARTING; i <= HB_DONE; i++) {
		hb.phase = (enum hb_phase)i;
		ck_assert_str_eq(heartbeat_phase_name(hb.phase), want[i]);
		ck_assert_int_eq(heartbeat_write(path, &hb), 0);
		o = read_beat(path);
		ck_assert_str_eq(str_of(o, "phase"), want[i]);
		cJSON_Delete(o);
	}
	ck_assert_ptr_null(heartbeat_phase_name((enum hb_phase)99));
}
END_TEST

START_TEST(bad_input_keeps_file)
{
	struct heartbeat hb = { .run = "r", .pid = 1, .phase = HB_RUNNING };
	char path[PATH_MAX], before[4096], after[4096];

	fmt(path, "%s/hb", tmp);
	ck_assert_int_eq(heartbeat_write(path, &hb), 0);
	ck_assert_int_gt(slurp(path, before, sizeof(before)), 0);
	hb.phase = (enum hb_phase)99;
	errno = 0;
	ck_assert_int_eq(heartbeat_write(path, &hb), -1);
	ck_assert_int_eq(errno, EINVAL);
	hb.phase = HB_RUNNING;
	hb.run = NULL;
	errno = 0;
	ck_assert_int_eq(heartbeat_write(path, &hb), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_gt(slurp(path, after, sizeof(after)), 0);
	ck_assert_str_eq(before, after);

	hb.run = "r";
	fmt(path, "%s/no/hb", tmp);
	errno = 0;
	ck_assert_int_eq(heartbeat_write(path, &hb), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(count_entries(tmp), 1);
}
END_TEST

/* A reader racing the writer never sees a missing, empty or torn file. */
START_TEST(reader_always_parses)
{
	struct heartbeat hb = { .run = "r", .pid = 1, .phase = HB_RUNNING };
	char path[PATH_MAX], buf[4096];
	int status, reads = 0;
	pid_t pid;

	fmt(path, "%s/hb", tmp);
	ck_assert_int_eq(heartbeat_write(path, &hb), 0);
	if ((pid = fork()) == 0) {
		for (int i = 0; i < 300; i++) {
			hb.attempt = i;
			if (heartbeat_write(path, &hb) == -1)
				_exit(1);
		}
		_exit(0);
	}
	for (;;) {
		cJSON *o;
		pid_t r;

		ck_assert_int_gt(slurp(path, buf, sizeof(buf)), 0);
		o = cJSON_Parse(buf);
		ck_assert_msg(o != NULL, "torn: '%s'", buf);
		cJSON_Delete(o);
		reads++;
		if ((r = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		ck_assert_int_eq(r, 0);
	}
	ck_assert_int_gt(reads, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(count_entries(tmp), 1);
}
END_TEST

static Suite *
heartbeat_suite(void)
{
	Suite *s = suite_create("heartbeat");
	TCase *tc = tcase_create("heartbeat");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, fields);
	tcase_add_test(tc, rewrite);
	tcase_add_test(tc, phase_names);
	tcase_add_test(tc, bad_input_keeps_file);
	tcase_add_test(tc, reader_always_parses);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(heartbeat_suite)
