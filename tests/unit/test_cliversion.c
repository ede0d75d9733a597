/*
 * Unit tests of lib/cliversion.c (the version table, reading the
 * version), the placeholder rule in lib/judge.c it feeds, and json
 * delivery leaving out the stream-only keys (lib/deliver.c). The CLI
 * lines are the ones 2.0.77 and 2.1.332 printed against the e2e mock
 * (tests/e2e/cli-observations.md).
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "attempt.h"
#include "cliargs.h"
#include "cliversion.h"
#include "clock.h"
#include "deliver.h"
#include "payload.h"
#include "spool.h"

/* 2.0.77's answer to a whitespace-only reply (output_tokens 1). */
#define RESULT_077(t, tok) \
	"{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false," \
	"\"duration_ms\":123,\"duration_api_ms\":53,\"num_turns\":1," \
	"\"result\":\"" t "\",\"session_id\":\"s\",\"total_cost_usd\":0.000048," \
	"\"usage\":{\"input_tokens\":11,\"output_tokens\":" tok "}," \
	"\"modelUsage\":{},\"permission_denials\":[],\"uuid\":\"u\"}\n"

#define ASSISTANT_077(t) \
	"{\"type\":\"assistant\",\"message\":{\"id\":\"msg_1\",\"type\":" \
	"\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\"," \
	"\"text\":\"" t "\"}]},\"session_id\":\"s\"}\n"

START_TEST(cmp_numeric)
{
	ck_assert_int_lt(cliversion_cmp("2.0.77", "2.1.9"), 0);
	ck_assert_int_lt(cliversion_cmp("2.1.9", "2.1.10"), 0);
	ck_assert_int_gt(cliversion_cmp("2.1.332", "2.1.197"), 0);
	ck_assert_int_eq(cliversion_cmp("2.1.0", "2.1"), 0);
	ck_assert_int_eq(cliversion_cmp("2.0.77-beta", "2.0.77"), 0);
	ck_assert_int_gt(cliversion_cmp("10.0.0", "9.99.99"), 0);
}
END_TEST

START_TEST(rules_table)
{
	struct cli_version v;

	cliversion_rules(&v, "2.0.77");
	ck_assert_str_eq(v.version, "2.0.77");
	ck_assert(v.in_range);
	ck_assert_ptr_nonnull(v.empty_placeholder);
	ck_assert_str_eq(v.empty_placeholder, "(no content)");
	ck_assert(v.ignores_max_retries);
	ck_assert(v.ignores_settings_verbose);

	cliversion_rules(&v, "2.0.50");		/* the 2.0.x line, too old */
	ck_assert(!v.in_range);
	ck_assert_ptr_nonnull(v.empty_placeholder);

	cliversion_rules(&v, "2.1.197");
	ck_assert(v.in_range);
	ck_assert_ptr_null(v.empty_placeholder);
	ck_assert(!v.ignores_max_retries);
	ck_assert(!v.ignores_settings_verbose);

	cliversion_rules(&v, CLIV_PINNED);
	ck_assert(v.in_range);
	ck_assert_ptr_null(v.empty_placeholder);

	cliversion_rules(&v, "2.1.333");	/* newer than tested */
	ck_assert(!v.in_range);
	ck_assert_ptr_null(v.empty_placeholder);

	cliversion_rules(&v, NULL);
	ck_assert_str_eq(v.version, "");
	ck_assert(!v.in_range);
	ck_assert_ptr_null(v.empty_placeholder);
}
END_TEST

static enum outcome
judge_stream(const char *s, const char *placeholder, struct verdict *v)
{
	struct payload *p = payload_new(PL_STREAM, NULL, NULL);
	struct pl_end end = { .exited = true };

	ck_assert_ptr_nonnull(p);
	payload_set_placeholder(p, placeholder);
	ck_assert_int_eq(payload_feed(p, s, strlen(s)), 0);
	payload_judge(p, &end, v);
	payload_free(p);
	return v->oc;
}

static enum outcome
judge_fmt(enum pl_format fmt, const char *s, const char *placeholder)
{
	struct payload *p = payload_new(fmt, NULL, NULL);
	struct pl_end end = { .exited = true };
	struct verdict v;

	ck_assert_ptr_nonnull(p);
	payload_set_placeholder(p, placeholder);
	ck_assert_int_eq(payload_feed(p, s, strlen(s)), 0);
	payload_judge(p, &end, &v);
	payload_free(p);
	return v.oc;
}

/* Both sides: empty where the version substitutes it, an answer elsewhere. */
START_TEST(placeholder_rule)
{
	struct cli_version old, cur;
	struct verdict v;
	const char *ws = ASSISTANT_077("(no content)")
	    RESULT_077("(no content)", "1");
	const char *none = RESULT_077("(no content)", "0");

	cliversion_rules(&old, "2.0.77");
	cliversion_rules(&cur, "2.1.332");
	ck_assert_int_eq(judge_stream(ws, old.empty_placeholder, &v), OC_EMPTY);
	ck_assert_msg(strstr(v.detail, "placeholder") != NULL, "%s", v.detail);
	ck_assert_int_eq(judge_stream(none, old.empty_placeholder, &v),
	    OC_EMPTY);
	ck_assert_int_eq(judge_stream(ws, cur.empty_placeholder, &v), OC_OK);
	/* Only that exact text: a longer answer that contains it is one. */
	ck_assert_int_eq(judge_stream(RESULT_077("(no content) here", "3"),
	    old.empty_placeholder, &v), OC_OK);
	ck_assert_int_eq(judge_stream(RESULT_077("(no content)\\n", "3"),
	    old.empty_placeholder, &v), OC_OK);
	/* json mode, and --passthrough's text mode (text plus newline). */
	ck_assert_int_eq(judge_fmt(PL_JSON, none, old.empty_placeholder),
	    OC_EMPTY);
	ck_assert_int_eq(judge_fmt(PL_JSON, none, NULL), OC_OK);
	ck_assert_int_eq(judge_fmt(PL_TEXT, "(no content)\n",
	    old.empty_placeholder), OC_EMPTY);
	ck_assert_int_eq(judge_fmt(PL_TEXT, "(no content)\n", NULL), OC_OK);
	ck_assert_int_eq(judge_fmt(PL_TEXT, "(no content)\nmore\n",
	    old.empty_placeholder), OC_OK);
}
END_TEST

/* The spool an attempt leaves, judged, for deliver_fd. */
static void
attempt_of(const char *stream, struct attempt_res *res)
{
	struct pl_end end = { .exited = true };

	memset(res, 0, sizeof(*res));
	res->spool_fd = spool_open();
	ck_assert_int_ne(res->spool_fd, -1);
	ck_assert_int_eq(write(res->spool_fd, stream, strlen(stream)),
	    (ssize_t)strlen(stream));
	res->out_bytes = (int64_t)strlen(stream);
	res->pl = payload_new(PL_STREAM, NULL, NULL);
	payload_set_spool(res->pl, res->spool_fd);
	ck_assert_int_eq(payload_feed(res->pl, stream, strlen(stream)), 0);
	payload_judge(res->pl, &end, &res->v);
	res->oc = res->v.oc;
}

static char *
delivered(const struct attempt_res *res, bool verbose)
{
	struct cliargs ca;
	static char buf[8192];
	int fd = spool_open();
	ssize_t n;

	memset(&ca, 0, sizeof(ca));
	ca.user_format = PL_JSON;
	ca.user_verbose = verbose;
	ck_assert_int_eq(deliver_fd(res, &ca, false, fd), 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

#define INIT_332 "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s\"}"
#define MU "{\"m\":{\"inputTokens\":11,\"costUSD\":0.000064}}"

START_TEST(json_leaves_out_stream_only_keys)
{
	struct attempt_res res;
	/* Where 2.1.332 puts it: last; and the other places it could be. */
	static const struct {
		const char *line, *want;
	} t[] = {
	    { "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
	      "\"result\":\"a,\\\"b\\\"}\",\"total_cost_usd\":0.000064,"
	      "\"model_usage_since_last_result\":" MU "}",
	      "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
	      "\"result\":\"a,\\\"b\\\"}\",\"total_cost_usd\":0.000064}" },
	    { "{\"model_usage_since_last_result\":" MU ",\"type\":\"result\","
	      "\"subtype\":\"success\",\"result\":\"x\"}",
	      "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"x\"}" },
	    { "{\"type\":\"result\",\"model_usage_since_last_result\":[1,{}],"
	      "\"subtype\":\"success\",\"result\":\"x\"}",
	      "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"x\"}" },
	    /* Nested, or as a value: not a top-level key, kept. */
	    { "{\"type\":\"result\",\"subtype\":\"success\",\"result\":"
	      "\"model_usage_since_last_result\",\"u\":{"
	      "\"model_usage_since_last_result\":1}}",
	      "{\"type\":\"result\",\"subtype\":\"success\",\"result\":"
	      "\"model_usage_since_last_result\",\"u\":{"
	      "\"model_usage_since_last_result\":1}}" },
	};
	char stream[2048], want[2048];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(stream, sizeof(stream), "%s\n%s\n", INIT_332, t[i].line);
		attempt_of(stream, &res);
		ck_assert_int_eq(res.oc, OC_OK);
		snprintf(want, sizeof(want), "%s\n", t[i].want);
		ck_assert_str_eq(delivered(&res, false), want);
		snprintf(want, sizeof(want), "[%s,%s]\n", INIT_332, t[i].want);
		ck_assert_str_eq(delivered(&res, true), want);
		attempt_res_free(&res);
	}
}
END_TEST

static char tmp[PATH_MAX];

static void
put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
setup(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(tmp, sizeof(tmp), "%s/cw-cliv.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "%s/state", tmp);
	ck_assert_int_eq(mkdir(cmd, 0700), 0);
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	(void)system(cmd);
}

static void
detect(struct cli_version *v, const char *path, bool state)
{
	char st[PATH_MAX + 8];
	sigset_t mask;

	snprintf(st, sizeof(st), "%s/state", tmp);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	cliversion_detect(v, path, state ? st : NULL, &mask);
}

START_TEST(detect_npm_package)
{
	char dir[PATH_MAX + 64], p[PATH_MAX + 128], link[PATH_MAX + 64];
	struct cli_version v;

	/* 2.0.x: node_modules/.bin/claude -> ../@anthropic-ai/claude-code/cli.js */
	snprintf(dir, sizeof(dir), "%s/claude-code", tmp);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(p, sizeof(p), "%s/package.json", dir);
	put(p, "{\"name\":\"@anthropic-ai/claude-code\",\"version\":\"2.0.77\"}",
	    0644);
	snprintf(p, sizeof(p), "%s/cli.js", dir);
	put(p, "#!/bin/sh\necho 9.9.9\n", 0755);
	snprintf(link, sizeof(link), "%s/claude", tmp);
	ck_assert_int_eq(symlink(p, link), 0);
	detect(&v, link, true);
	ck_assert_str_eq(v.version, "2.0.77");
	ck_assert_str_eq(v.source, "package.json");
	ck_assert_ptr_nonnull(v.empty_placeholder);

	/* Another package's package.json is not ours: --version is asked. */
	snprintf(p, sizeof(p), "%s/package.json", dir);
	put(p, "{\"name\":\"left-pad\",\"version\":\"1.3.0\"}", 0644);
	detect(&v, link, false);
	ck_assert_str_eq(v.version, "9.9.9");
	ck_assert_str_eq(v.source, "exec");
	ck_assert(!v.in_range);
}
END_TEST

START_TEST(detect_native_name)
{
	char dir[PATH_MAX + 64], p[PATH_MAX + 128];
	struct cli_version v;

	snprintf(dir, sizeof(dir), "%s/versions", tmp);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(p, sizeof(p), "%s/2.1.197", dir);
	put(p, "#!/bin/sh\nexit 1\n", 0755);
	detect(&v, p, true);
	ck_assert_str_eq(v.version, "2.1.197");
	ck_assert_str_eq(v.source, "path");
}
END_TEST

/* Asked once, then cached by path and mtime; a new binary is asked again. */
START_TEST(detect_exec_cached)
{
	char p[PATH_MAX + 64], count[PATH_MAX + 64], script[PATH_MAX * 2];
	struct cli_version v;
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char buf[16] = "";
	FILE *fp;

	snprintf(p, sizeof(p), "%s/claude", tmp);
	snprintf(count, sizeof(count), "%s/asked", tmp);
	snprintf(script, sizeof(script), "#!/bin/sh\necho x >>'%s'\n"
	    "echo '2.1.332 (Claude Code)'\n", count);
	put(p, script, 0755);
	detect(&v, p, true);
	ck_assert_str_eq(v.version, "2.1.332");
	ck_assert_str_eq(v.source, "exec");
	detect(&v, p, true);
	ck_assert_str_eq(v.version, "2.1.332");
	ck_assert_str_eq(v.source, "cache");
	ck_assert_ptr_nonnull(fp = fopen(count, "r"));
	ck_assert_int_eq(fread(buf, 1, sizeof(buf) - 1, fp), 2);
	fclose(fp);
	/* Replaced (another mtime): asked again. */
	snprintf(script, sizeof(script), "#!/bin/sh\necho '2.0.77 (Claude Code)'\n");
	put(p, script, 0755);
	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
	detect(&v, p, true);
	ck_assert_str_eq(v.version, "2.0.77");
	ck_assert_str_eq(v.source, "exec");
}
END_TEST

/* A --version that hangs costs 5 s, not the run. */
START_TEST(detect_exec_bounded)
{
	char p[PATH_MAX + 64];
	struct cli_version v;
	int64_t t0;

	snprintf(p, sizeof(p), "%s/claude", tmp);
	put(p, "#!/bin/sh\nexec sleep 30\n", 0755);
	t0 = clock_mono_ms();
	detect(&v, p, true);
	ck_assert_int_lt(clock_mono_ms() - t0, 7000);
	ck_assert_int_ge(clock_mono_ms() - t0, 4900);
	ck_assert_str_eq(v.version, "");
	ck_assert(!v.in_range);
	ck_assert_ptr_null(v.empty_placeholder);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cliversion");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, cmp_numeric);
	tcase_add_test(tc, rules_table);
	tcase_add_test(tc, placeholder_rule);
	tcase_add_test(tc, json_leaves_out_stream_only_keys);
	tcase_add_test(tc, detect_npm_package);
	tcase_add_test(tc, detect_native_name);
	tcase_add_test(tc, detect_exec_cached);
	tcase_add_test(tc, detect_exec_bounded);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
