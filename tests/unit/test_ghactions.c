/*
 * Unit tests of lib/ghactions.c: the workflow command's escaping (the
 * runner decodes %25, %0D, %0A, and in a property %3A, %2C), and the
 * step summary: one header, a row per run, cells that cannot break the
 * table. Standard error is a file for the duration of each call.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check_main.h"
#include "ghactions.h"

#define FIXTURE_NAME "test_ghactions"
#include "fixture.h"

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* gha_done(ev) with stderr sent to DIR/err; returns what it got. */
static char *
done_stderr(const char *json)
{
	char path[128];
	cJSON *ev = cJSON_Parse(json);
	int fd, saved;

	ck_assert_ptr_nonnull(ev);
	fmt(path, "%s/err", tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	gha_done(ev);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	cJSON_Delete(ev);
	return slurp(path);
}

static const char failed[] = "{\"run\":\"0123456789ab-cd\",\"tag\":\"a|b\","
    "\"status\":\"claude_error\",\"exit\":45,\"attempts\":2,"
    "\"duration_ms\":1500,\"cost_usd\":0.25,"
    "\"detail\":\"bad: x, 100%\\nnext\\rline\"}";
static const char good[] = "{\"run\":\"fedcba98-0000\",\"status\":\"ok\","
    "\"exit\":0,\"attempts\":1,\"duration_ms\":200}";

START_TEST(error_line_escaped)
{
	char sum[128];

	fmt(sum, "%s/summary.md", tmp);
	setenv("GITHUB_ACTIONS", "true", 1);
	setenv("GITHUB_STEP_SUMMARY", sum, 1);
	ck_assert_str_eq(done_stderr(failed), "::error title=claudewrap "
	    "claude_error::bad: x, 100%25%0Anext%0Dline\n");
	/* A run that exits 0 is no error. */
	ck_assert_str_eq(done_stderr(good), "");
}
END_TEST

START_TEST(summary_rows)
{
	char sum[128];

	fmt(sum, "%s/summary.md", tmp);
	setenv("GITHUB_ACTIONS", "true", 1);
	setenv("GITHUB_STEP_SUMMARY", sum, 1);
	done_stderr(failed);
	done_stderr(good);
	ck_assert_str_eq(slurp(sum),
	    "| run | tag | status | exit | attempts | duration | cost (USD) "
	    "| detail |\n"
	    "|---|---|---|---:|---:|---:|---:|---|\n"
	    "| `01234567` | a\\|b | **claude_error** | 45 | 2 | 1.5 s | "
	    "0.2500 | bad: x, 100% next line |\n"
	    "| `fedcba98` |  | ok | 0 | 1 | 0.2 s |  |  |\n");
}
END_TEST

START_TEST(outside_actions_nothing)
{
	char sum[128];

	fmt(sum, "%s/summary.md", tmp);
	unsetenv("GITHUB_ACTIONS");
	setenv("GITHUB_STEP_SUMMARY", sum, 1);
	ck_assert_str_eq(done_stderr(failed), "");
	ck_assert_int_eq(access(sum, F_OK), -1);
	setenv("GITHUB_ACTIONS", "false", 1);
	ck_assert_str_eq(done_stderr(failed), "");
	ck_assert_int_eq(access(sum, F_OK), -1);
}
END_TEST

static Suite *
ghactions_suite(void)
{
	Suite *s = suite_create("ghactions");
	TCase *tc = tcase_create("ghactions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, error_line_escaped);
	tcase_add_test(tc, summary_rows);
	tcase_add_test(tc, outside_actions_nothing);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ghactions_suite)
