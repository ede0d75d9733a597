/* Unit tests of the pure parts of the core: durations, options, logfmt
 * quoting, locating the CLI, and reading the CLI's arguments. */
#include <check.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "cliargs.h"
#include <time.h>

#include "clock.h"
#include "duration.h"
#include "locate.h"
#include "log.h"
#include "options.h"
#include "status.h"
#include "tree.h"

START_TEST(duration_good)
{
	static const struct { const char *s; int64_t ms; } cases[] = {
		{ "0", 0 }, { "90", 90000 }, { "1.5s", 1500 }, { "500ms", 500 },
		{ "10m", 600000 }, { "2h", 7200000 }, { "1d", 86400000 },
		{ "0.5", 500 }, { ".25s", 250 }, { "3.", 3000 },
		{ "0.0001s", 1 },	/* never rounds down to "off" */
		{ "1.0005s", 1001 }, { "0ms", 0 }, { "36500d", INT64_C(3153600000000) },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int64_t ms = -1;
		ck_assert_msg(duration_parse(cases[i].s, &ms) == 0, "%s", cases[i].s);
		ck_assert_msg(ms == cases[i].ms, "%s: %lld", cases[i].s,
		    (long long)ms);
	}
}
END_TEST

START_TEST(duration_bad)
{
	static const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "s",
	    ".", "1e3", "0x10", "nan", "inf", "1.5.5", "1sm", "36501d",
	    "99999999999999999999", "1,5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int64_t ms = 42;
		ck_assert_msg(duration_parse(bad[i], &ms) == -1, "'%s'", bad[i]);
		ck_assert_int_eq(ms, 42);
	}
}
END_TEST

static int
parse(struct options *o, char **argv, char *err)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	options_defaults(o);
	return options_parse(o, argc, argv, false, err, 256);
}

START_TEST(options_front_only)
{
	struct options o;
	char err[256];
	char *argv[] = { "claudewrap", "--timeout=2m", "--quiet", "--tag", "job",
	    "-p", "--timeout=5", "hi", NULL };

	ck_assert_int_eq(parse(&o, argv, err), 0);
	ck_assert_int_eq(o.timeout_ms, 120000);
	ck_assert(o.quiet);
	ck_assert_str_eq(o.tag, "job");
	/* Everything from the first argument not ours, unchanged. */
	ck_assert_int_eq(o.cli_argc, 3);
	ck_assert_str_eq(o.cli_argv[0], "-p");
	ck_assert_str_eq(o.cli_argv[1], "--timeout=5");
	options_free(&o);
}
END_TEST

START_TEST(options_double_dash_and_cli_long)
{
	struct options o;
	char err[256];
	char *a1[] = { "claudewrap", "--retries=2", "--", "--retries=9", NULL };
	char *a2[] = { "claudewrap", "--model", "sonnet", "-p", "x", NULL };

	ck_assert_int_eq(parse(&o, a1, err), 0);
	ck_assert_int_eq(o.retries, 2);
	ck_assert_int_eq(o.cli_argc, 1);
	ck_assert_str_eq(o.cli_argv[0], "--retries=9");
	ck_assert_int_eq(parse(&o, a2, err), 0);
	ck_assert_int_eq(o.cli_argc, 4);
	ck_assert_str_eq(o.cli_argv[0], "--model");
}
END_TEST

/* The transaction options (#16): defaults, values, the bad ones named. */
START_TEST(options_transactions)
{
	struct options o;
	char err[256];
	char *a1[] = { "claudewrap", "-p", "x", NULL };
	char *a2[] = { "claudewrap", "--rollback", "--verify", "make test",
	    "--verify-timeout=90", "--resume-on-retry", "-p", "x", NULL };
	char *a3[] = { "claudewrap", "--verify-timeout=soon", "-p", NULL };
	char *a4[] = { "claudewrap", "--verify=", "-p", NULL };

	ck_assert_int_eq(parse(&o, a1, err), 0);
	ck_assert(!o.rollback && !o.resume_on_retry && o.verify == NULL);
	ck_assert_int_eq(o.verify_timeout_ms, 600000);
	ck_assert_int_eq(parse(&o, a2, err), 0);
	ck_assert(o.rollback && o.resume_on_retry);
	ck_assert_str_eq(o.verify, "make test");
	ck_assert_int_eq(o.verify_timeout_ms, 90000);
	ck_assert_int_eq(o.cli_argc, 2);
	ck_assert_int_eq(parse(&o, a3, err), -1);
	ck_assert_msg(strstr(err, "--verify-timeout") != NULL, "%s", err);
	ck_assert_int_eq(parse(&o, a4, err), -1);
	ck_assert_msg(strstr(err, "--verify") != NULL, "%s", err);
	ck_assert_int_eq(status_exit(ST_VERIFY_FAILED, 0), 49);
	ck_assert_str_eq(status_word(ST_VERIFY_FAILED), "verify_failed");
	ck_assert(!status_transient(ST_VERIFY_FAILED));
}
END_TEST

START_TEST(options_env_and_cli_wins)
{
	struct options o;
	char err[256];
	char *argv[] = { "claudewrap", "--kill-after=1s", "-p", NULL };

	setenv("CLAUDEWRAP_KILL_AFTER", "9s", 1);
	setenv("CLAUDEWRAP_BACKOFF", "2s", 1);
	setenv("CLAUDEWRAP_EXPECT_TOOL", "Write,Skill", 1);
	ck_assert_int_eq(parse(&o, argv, err), 0);
	ck_assert_int_eq(o.kill_after_ms, 1000);
	ck_assert_int_eq(o.backoff_ms, 2000);
	ck_assert_int_eq(o.n_expect_tool, 2);
	ck_assert_str_eq(o.expect_tool[1], "Skill");
	options_free(&o);
	unsetenv("CLAUDEWRAP_KILL_AFTER");
	unsetenv("CLAUDEWRAP_BACKOFF");
	unsetenv("CLAUDEWRAP_EXPECT_TOOL");
	setenv("CLAUDEWRAP_RETRIES", "zero", 1);
	ck_assert_int_eq(parse(&o, argv, err), -1);
	ck_assert_msg(strstr(err, "--retries: bad value 'zero'") != NULL &&
	    strstr(err, "CLAUDEWRAP_RETRIES") != NULL, "%s", err);
	unsetenv("CLAUDEWRAP_RETRIES");
}
END_TEST

/*
 * More CLAUDEWRAP_ variables than options.c gathers in one pass (64): it
 * falls back to getenv, and still reads every option and reports a bad
 * value.
 */
START_TEST(options_env_many_variables)
{
	struct options o;
	char err[256], name[64];
	char *argv[] = { "claudewrap", "-p", NULL };
	int i;

	for (i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "CLAUDEWRAP_UNUSED_%d", i);
		setenv(name, "x", 1);
	}
	setenv("CLAUDEWRAP_KILL_AFTER", "9s", 1);
	setenv("CLAUDEWRAP_EXPECT_TOOL", "Write,Skill", 1);
	ck_assert_int_eq(parse(&o, argv, err), 0);
	ck_assert_int_eq(o.kill_after_ms, 9000);
	ck_assert_int_eq(o.n_expect_tool, 2);
	options_free(&o);
	setenv("CLAUDEWRAP_RETRIES", "zero", 1);
	ck_assert_int_eq(parse(&o, argv, err), -1);
	ck_assert_msg(strstr(err, "CLAUDEWRAP_RETRIES") != NULL, "%s", err);
	/* As claudewrap.c does: what was read before the bad one is owned. */
	options_free(&o);
	unsetenv("CLAUDEWRAP_RETRIES");
	unsetenv("CLAUDEWRAP_KILL_AFTER");
	unsetenv("CLAUDEWRAP_EXPECT_TOOL");
	for (i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "CLAUDEWRAP_UNUSED_%d", i);
		unsetenv(name);
	}
}
END_TEST

START_TEST(options_bad_values_named)
{
	static char *bad[] = { "--retries=0", "--retries=101", "--breaker=-1",
	    "--retry-on=auth", "--retry-on=", "--retry-on=rate_limit,,server",
	    "--log-format=text", "--cache-ratio-warn=abc", "--quiet=maybe",
	    "--output=", "--expect-tool=a,b", "--max-prompt-bytes=1k" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct options o;
		char err[256], name[64];
		char *argv[] = { "claudewrap", bad[i], "-p", NULL };
		ck_assert_msg(parse(&o, argv, err) == -1, "%s", bad[i]);
		snprintf(name, sizeof(name), "%.*s: bad value",
		    (int)strcspn(bad[i], "="), bad[i]);
		ck_assert_msg(strstr(err, name) != NULL, "%s -> %s", bad[i], err);
		options_free(&o);
	}
}
END_TEST

START_TEST(options_retry_on)
{
	struct options o;
	char err[256];
	char *argv[] = { "claudewrap", "--retry-on=empty,timeout", "-p", NULL };

	ck_assert_int_eq(parse(&o, argv, err), 0);
	ck_assert_uint_eq(o.retry_on, 1u << OC_EMPTY | 1u << OC_TIMEOUT);
}
END_TEST

START_TEST(options_masquerade_ignores_argv)
{
	struct options o;
	char err[256];
	char *argv[] = { "claude", "--timeout=1s", "-p", "x", NULL };

	options_defaults(&o);
	setenv("CLAUDEWRAP_TIMEOUT", "7s", 1);
	ck_assert_int_eq(options_parse(&o, 4, argv, true, err, sizeof(err)), 0);
	unsetenv("CLAUDEWRAP_TIMEOUT");
	ck_assert_int_eq(o.timeout_ms, 7000);
	ck_assert_int_eq(o.cli_argc, 3);
	ck_assert_str_eq(o.cli_argv[0], "--timeout=1s");
}
END_TEST

START_TEST(logfmt_quoting)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain", "plain" }, { "", "\"\"" }, { "two words", "\"two words\"" },
		{ "a=b", "\"a=b\"" }, { "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "back\\slash", "\"back\\\\slash\"" }, { "l1\nl2", "\"l1\\nl2\"" },
		{ "tab\there", "\"tab\\there\"" }, { "bell\a", "\"bell\\x07\"" },
		{ "h\xc3\xa9llo", "h\xc3\xa9llo" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char buf[64];
		size_t n = log_fmt_value(cases[i].in, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].out);
		ck_assert_uint_eq(n, strlen(cases[i].out));
	}
}
END_TEST

START_TEST(logfmt_truncates_safely)
{
	char buf[5];
	size_t n = log_fmt_value("a long value", buf, sizeof(buf));

	ck_assert_uint_eq(n, 14);
	ck_assert_str_eq(buf, "\"a l");
}
END_TEST

/* The line as log_end writes it, read back through a temporary file. */
static void
log_line_of(cJSON *ev, struct log *lg, char *buf, size_t size)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	log_end(lg, ev);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* A number in a logfmt line reads as cJSON prints it, integer or not. */
START_TEST(logfmt_numbers_as_cjson)
{
	static const double cases[] = { 0, 1, -1, 7, 42, 1000, -65536,
	    1795979667188.0, 999999999999999.0, -999999999999999.0, 1e15,
	    -1e15, 1e16, 9007199254740993.0, 1e20, -0.0, 0.5, 0.001, -2.25,
	    1e-7, 123456.789 };
	struct log *lg = log_open(LOGF_LOGFMT, false, false, NULL);

	ck_assert_ptr_nonnull(lg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		cJSON *ev = log_begin(lg, LV_INFO, "n");
		cJSON *one = cJSON_CreateNumber(cases[i]);
		cJSON *arr = cJSON_AddArrayToObject(ev, "a");
		char line[512], want[128], *text = cJSON_PrintUnformatted(one);

		ck_assert_ptr_nonnull(text);
		cJSON_AddNumberToObject(ev, "v", cases[i]);
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(cases[i]));
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(3));
		log_line_of(ev, lg, line, sizeof(line));
		ck_assert_int_lt(snprintf(want, sizeof(want), " a=%s,3 v=%s\n",
		    text, text), (int)sizeof(want));
		ck_assert_msg(strstr(line, want) != NULL, "%g: %s", cases[i],
		    line);
		cJSON_Delete(one);
		free(text);
	}
	log_close(lg);
}
END_TEST

/* A record printed after log_ints_as_text reads as it did before. */
START_TEST(log_ints_as_text_prints_the_same)
{
	static const double nums[] = { 0, 1, -1, 42, 1795979667188.0,
	    999999999999999.0, -999999999999999.0, 1e15, 1e20, -0.0, 0.001,
	    -2.25 };
	cJSON *rec = cJSON_CreateObject(), *in, *arr;
	char *before, *after;

	log_str(rec, "event", "done");
	for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++) {
		char key[16];

		snprintf(key, sizeof(key), "n%zu", i);
		cJSON_AddNumberToObject(rec, key, nums[i]);
	}
	cJSON_AddBoolToObject(rec, "transient", false);
	in = cJSON_AddObjectToObject(rec, "output");
	log_int(in, "size", 12345);
	log_str(in, "sha256", "ab");
	arr = cJSON_AddArrayToObject(rec, "pids");
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(17));
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(0.5));
	cJSON_AddItemToArray(arr, cJSON_CreateString("x"));
	cJSON_AddItemToObjectCS(rec, "const_key", cJSON_CreateNumber(7));
	before = cJSON_PrintUnformatted(rec);
	log_ints_as_text(rec);
	after = cJSON_PrintUnformatted(rec);
	ck_assert_ptr_nonnull(before);
	ck_assert_ptr_nonnull(after);
	ck_assert_str_eq(after, before);
	ck_assert(cJSON_IsRaw(cJSON_GetObjectItem(rec, "n1")));
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(rec, "n10")));
	free(before);
	free(after);
	cJSON_Delete(rec);
}
END_TEST

START_TEST(log_str_keeps_utf8_valid)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "caf\xc3\xa9", "caf\xc3\xa9" },		/* valid: as is */
		{ "caf\xe9!", "caf\xef\xbf\xbd!" },	/* Latin-1 byte */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },	/* U+1F600 */
		{ "cut\xe2\x9c", "cut\xef\xbf\xbd\xef\xbf\xbd" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		cJSON *o = cJSON_CreateObject();
		log_str(o, "k", cases[i].in);
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "k")),
		    cases[i].out);
		cJSON_Delete(o);
	}
}
END_TEST

static char tmpdir[64];

static void
make_exec(const char *dir, const char *name, const char *body, int mode)
{
	char p[PATH_MAX];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(body, fp);
	fclose(fp);
	chmod(p, (mode_t)mode);
}

START_TEST(locate_path_skips_self_and_noexec)
{
	char path[PATH_MAX], why[2048], a[128], b[128], env[512];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cwlocate.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(a, sizeof(a), "%s/a", tmpdir);
	snprintf(b, sizeof(b), "%s/b", tmpdir);
	mkdir(a, 0700);
	mkdir(b, 0700);
	/* a/claude is ourselves through a symlink: skipped by inode. */
	{
		char self[PATH_MAX], link[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		ck_assert(n > 0);
		self[n] = '\0';
		snprintf(link, sizeof(link), "%s/claude", a);
		ck_assert_int_eq(symlink(self, link), 0);
	}
	make_exec(b, "claude", "#!/bin/sh\n", 0755);
	snprintf(env, sizeof(env), "%s:%s", a, b);
	setenv("PATH", env, 1);
	setenv("HOME", tmpdir, 1);
	ck_assert_int_eq(locate_cli(NULL, path, sizeof(path), why, sizeof(why)),
	    LOC_OK);
	snprintf(env, sizeof(env), "%s/claude", b);
	ck_assert_str_eq(path, env);
	/* Only a non-executable one: 126 territory, named. */
	chmod(env, 0644);
	ck_assert_int_eq(locate_cli(NULL, path, sizeof(path), why, sizeof(why)),
	    LOC_NOT_EXECUTABLE);
	ck_assert_msg(strstr(why, env) != NULL, "%s", why);
	/* Nothing at all: 127, with the places tried. */
	unlink(env);
	ck_assert_int_eq(locate_cli(NULL, path, sizeof(path), why, sizeof(why)),
	    LOC_NOT_FOUND);
	ck_assert_msg(strstr(why, "tried PATH") != NULL &&
	    strstr(why, ".local/bin/claude") != NULL, "%s", why);
}
END_TEST

START_TEST(locate_prefers_native_and_names_interpreter)
{
	char base[64], launcher[PATH_MAX], native[PATH_MAX];
	char path[PATH_MAX], why[2048], interp[64];
	struct utsname u;
	const char *arch;

	ck_assert_int_eq(uname(&u), 0);
	arch = strcmp(u.machine, "aarch64") == 0 ? "arm64" : "x64";

	snprintf(base, sizeof(base), "/tmp/cwnative.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(launcher, sizeof(launcher), "%s/@anthropic-ai", base);
	mkdir(launcher, 0700);
	snprintf(launcher, sizeof(launcher), "%s/@anthropic-ai/claude-code", base);
	mkdir(launcher, 0700);
	snprintf(native, sizeof(native), "%s/@anthropic-ai/claude-code-linux-%s",
	    base, arch);
	mkdir(native, 0700);
	make_exec(launcher, "cli.js", "#!/usr/bin/env node\n", 0755);
	make_exec(native, "claude", "\x7f" "ELF", 0755);
	strlcat(launcher, "/cli.js", sizeof(launcher));
	ck_assert_ptr_nonnull(locate_interpreter(launcher, interp, sizeof(interp)));
	ck_assert_str_eq(interp, "node");
	setenv("PATH", "/nonexistent", 1);
	/* An explicit --claude is taken as given. */
	ck_assert_int_eq(locate_cli(launcher, path, sizeof(path), why,
	    sizeof(why)), LOC_OK);
	ck_assert_str_eq(path, launcher);
	ck_assert_int_eq(locate_cli(base, path, sizeof(path), why, sizeof(why)),
	    LOC_NOT_EXECUTABLE);
	ck_assert_msg(strstr(why, "is a directory") != NULL, "%s", why);
}
END_TEST

static int
build(struct cliargs *ca, char **argv, bool passthrough)
{
	char err[256];
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return cliargs_build(ca, "/bin/claude", argc, argv, passthrough, err,
	    sizeof(err));
}

START_TEST(cliargs_rewrite)
{
	struct cliargs ca;
	char *argv[] = { "-p", "--output-format", "json", "--verbose", "--model",
	    "sonnet", "--allowedTools", "Read", "Write", "--max-turns=3",
	    "the prompt", NULL };

	ck_assert_int_eq(build(&ca, argv, false), 0);
	ck_assert(ca.print);
	ck_assert_int_eq(ca.user_format, PL_JSON);
	ck_assert(ca.user_verbose);
	ck_assert_str_eq(ca.model, "sonnet");
	ck_assert_int_eq(ca.nprompt, 1);
	ck_assert_str_eq(ca.prompt[0], "the prompt");
	ck_assert_uint_eq(ca.prompt_bytes, 10);
	ck_assert_str_eq(ca.argv[0], "/bin/claude");
	ck_assert_str_eq(ca.argv[1], "--output-format");
	ck_assert_str_eq(ca.argv[2], "stream-json");
	ck_assert_str_eq(ca.argv[3], "--verbose");
	ck_assert_str_eq(ca.argv[4], "-p");
	ck_assert_str_eq(ca.argv[5], "--model");
	ck_assert_int_eq(ca.argc, 12);
	ck_assert_ptr_null(ca.argv[ca.argc]);
	cliargs_free(&ca);
	ck_assert_int_eq(build(&ca, argv, true), 0);
	ck_assert_int_eq(ca.argc, 12);
	ck_assert_str_eq(ca.argv[2], "--output-format");
	cliargs_free(&ca);
}
END_TEST

START_TEST(cliargs_fallback_and_bad_format)
{
	struct cliargs ca;
	char *a1[] = { "--fallback-model=sonnet", "-p", "x", NULL };
	char *a2[] = { "-p", "--output-format", "yaml", NULL };
	char *a3[] = { "mcp", "list", NULL };

	ck_assert_int_eq(build(&ca, a1, false), 0);
	ck_assert(ca.fallback);
	cliargs_free(&ca);
	ck_assert_int_eq(build(&ca, a2, false), -1);
	cliargs_free(&ca);
	ck_assert_int_eq(build(&ca, a3, false), 0);
	ck_assert(!ca.print);
	cliargs_free(&ca);
}
END_TEST

/* Our own start is in the past, and recent; a zombie or a reaped pid has none. */
START_TEST(tree_started_ms_self_zombie_gone)
{
	int64_t now = clock_real_ms(), t = tree_started_ms(getpid());
	pid_t kid;

	ck_assert_int_ne(t, -1);
	/* The boot time is to the second. */
	ck_assert_int_le(t, now + 1000);
	ck_assert_int_ge(t, now - 10 * 60 * 1000);
	if ((kid = fork()) == 0)
		_exit(0);
	ck_assert_int_gt(kid, 0);
	/* A zombie until reaped: waitid with WNOWAIT leaves it one. */
	ck_assert_int_eq(waitid(P_PID, (id_t)kid, &(siginfo_t){ 0 },
	    WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(tree_started_ms(kid), -1);
	ck_assert_int_eq(waitpid(kid, NULL, 0), kid);
	ck_assert_int_eq(tree_started_ms(kid), -1);
}
END_TEST

/* The UTC stamp, computed without gmtime_r, agrees with it. */
START_TEST(clock_iso_matches_gmtime)
{
	static const int64_t fixed[] = { 0, 999, 951782400000, 951868799999,
	    4102444800000, 4107542399123, 253402300799999, 1795970648798 };
	uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
	char got[CLOCK_ISO_LEN], want[64], date[40];

	for (size_t i = 0; i < 2000 + sizeof(fixed) / sizeof(fixed[0]); i++) {
		int64_t ms;
		time_t secs;
		struct tm tm;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Up to the year 9999, the last with four digits. */
		ms = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i] :
		    (int64_t)(x % UINT64_C(253402300800000));
		secs = (time_t)(ms / 1000);
		ck_assert_ptr_nonnull(gmtime_r(&secs, &tm));
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want, sizeof(want), "%s.%03dZ", date, (int)(ms % 1000));
		clock_iso(ms, got);
		ck_assert_str_eq(got, want);
	}
}
END_TEST

START_TEST(status_table)
{
	ck_assert_int_eq(status_exit(ST_EMPTY_PAYLOAD, 0), 42);
	ck_assert_int_eq(status_exit(ST_SIGNAL, 15), 143);
	ck_assert_str_eq(status_word(ST_LOCKED), "locked");
	ck_assert(status_transient(ST_TIMEOUT));
	ck_assert(!status_transient(ST_AUTH));
	ck_assert_int_eq(outcome_status(OC_NETWORK), ST_UNAVAILABLE);
}
END_TEST

/* The man page's EXIT STATUS table says what status.c says, row by row. */
START_TEST(manpage_exit_status)
{
	FILE *fp = fopen("man/claudewrap.1", "r");
	char line[512], want[128];
	int found = 0;

	ck_assert_msg(fp != NULL, "run from the source tree");
	for (int st = 0; st < ST__COUNT; st++) {
		bool seen = false;
		if (st == ST_SIGNAL)
			snprintf(want, sizeof(want), ".It 128+N Ta %s Ta ",
			    status_word(st));
		else
			snprintf(want, sizeof(want), ".It %d Ta %s Ta ",
			    status_exit(st, 0), status_word(st));
		rewind(fp);
		while (fgets(line, sizeof(line), fp) != NULL)
			seen = seen || strncmp(line, want, strlen(want)) == 0;
		ck_assert_msg(seen, "man page lacks '%s'", want);
		found++;
	}
	/* And no row the table does not have. */
	rewind(fp);
	int rows = 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, ".It ", 4) == 0 && line[4] >= '0' &&
		    line[4] <= '9' && strstr(line, " Ta ") != NULL)
			rows++;
	fclose(fp);
	ck_assert_int_eq(rows, found);
}
END_TEST

static Suite *
core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, duration_good);
	tcase_add_test(tc, duration_bad);
	tcase_add_test(tc, options_front_only);
	tcase_add_test(tc, options_double_dash_and_cli_long);
	tcase_add_test(tc, options_env_and_cli_wins);
	tcase_add_test(tc, options_env_many_variables);
	tcase_add_test(tc, options_transactions);
	tcase_add_test(tc, options_bad_values_named);
	tcase_add_test(tc, options_retry_on);
	tcase_add_test(tc, options_masquerade_ignores_argv);
	tcase_add_test(tc, logfmt_quoting);
	tcase_add_test(tc, logfmt_truncates_safely);
	tcase_add_test(tc, logfmt_numbers_as_cjson);
	tcase_add_test(tc, log_ints_as_text_prints_the_same);
	tcase_add_test(tc, log_str_keeps_utf8_valid);
	tcase_add_test(tc, locate_path_skips_self_and_noexec);
	tcase_add_test(tc, locate_prefers_native_and_names_interpreter);
	tcase_add_test(tc, cliargs_rewrite);
	tcase_add_test(tc, cliargs_fallback_and_bad_format);
	tcase_add_test(tc, tree_started_ms_self_zombie_gone);
	tcase_add_test(tc, clock_iso_matches_gmtime);
	tcase_add_test(tc, status_table);
	tcase_add_test(tc, manpage_exit_status);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(core_suite)
