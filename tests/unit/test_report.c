/*
 * Unit tests of claudewrap-report, run in-process through report_run
 * with memory streams: counts per day and status, lost runs, unreadable
 * lines, --since, text/JSON/Prometheus output, claudewrap's log lines on
 * stdin, --which and --explain.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check_main.h"
#include "clock.h"
#include "hash.h"
#include "report.h"

#define FIXTURE_NAME "test_report"
#include "fixture.h"

/* Runs of the main fixture; their prefixes are all distinct. */
#define A1	"a1a1a1a1-0000-4000-8000-000000000001"
#define A2	"a2a2a2a2-0000-4000-8000-000000000002"
#define A3	"a3a3a3a3-0000-4000-8000-000000000003"
#define B1	"b1b1b1b1-0000-4000-8000-000000000004"
#define B2	"b2b2b2b2-0000-4000-8000-000000000005"
#define B3	"b3b3b3b3-0000-4000-8000-000000000006"
#define C1	"c1c1c1c1-0000-4000-8000-000000000007"
#define C2	"c2c2c2c2-0000-4000-8000-000000000008"

struct res {
	int	 rc;
	char	*out;
	char	*err;
};

/* Nothing from the user's own ledger or state dir. */
static void
report_setup(void)
{
	setup();
	unsetenv("CLAUDEWRAP_LEDGER");
	unsetenv("CLAUDEWRAP_STATE_DIR");
	unsetenv("XDG_STATE_HOME");
	unsetenv("CLAUDEWRAP_LOW_OUTPUT_TOKENS");
}

/* tmp/name, in a static buffer of its own per slot. */
static const char *
at(const char *name)
{
	static char buf[4][PATH_MAX];
	static int slot;

	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmp, name);
	return buf[slot];
}

static void
put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void __attribute__((format(printf, 2, 3)))
add(const char *name, const char *fmt, ...)
{
	FILE *f = fopen(at(name), "a");
	va_list ap;

	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Runs the report with argv (NULL-terminated) and input on stdin. */
static struct res
report(const char *input, ...)
{
	char *argv[32] = { "claudewrap-report" };
	int argc = 1;
	size_t olen, elen;
	struct res r;
	FILE *in, *out, *err;
	va_list ap;

	va_start(ap, input);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	in = input != NULL && *input != '\0' ? fmemopen((void *)input,
	    strlen(input), "r") : fopen("/dev/null", "r");
	out = open_memstream(&r.out, &olen);
	err = open_memstream(&r.err, &elen);
	ck_assert(in != NULL && out != NULL && err != NULL);
	r.rc = report_run(argc, argv, in, out, err);
	fclose(in);
	fclose(out);
	fclose(err);
	return r;
}

static void
res_free(struct res *r)
{
	free(r->out);
	free(r->err);
}

/* Runs of blanks squeezed to one space: the table's columns, as words. */
static char *
squeeze(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;

	ck_assert_ptr_nonnull(o);
	for (; *s != '\0'; s++)
		if (*s != ' ' || (p > o && p[-1] != ' ' && p[-1] != '\n'))
			*p++ = *s;
	*p = '\0';
	return o;
}

/* Whether text has the line want exactly, blanks squeezed. */
static bool
has_line(const char *text, const char *want)
{
	char *sq = squeeze(text), *line, *save = NULL;
	bool found = false;

	for (line = strtok_r(sq, "\n", &save); line != NULL && !found;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		while (n > 0 && line[n - 1] == ' ')
			line[--n] = '\0';
		found = strcmp(line, want) == 0;
	}
	free(sq);
	return found;
}

#define ck_line(text, want) \
	ck_assert_msg(has_line((text), (want)), "no line '%s' in:\n%s", \
	    (want), (text))
#define ck_has(text, want) \
	ck_assert_msg(strstr((text), (want)) != NULL, "no '%s' in:\n%s", \
	    (want), (text))
#define ck_hasnt(text, want) \
	ck_assert_msg(strstr((text), (want)) == NULL, "'%s' in:\n%s", \
	    (want), (text))

/*
 * The main fixture: three days, five statuses (one unknown), a run
 * logged twice, two lost runs, three unreadable lines, a blank line, a
 * record with ts_ms only, and a tag that needs escaping.
 */
static const char *
fixture(void)
{
	const char *l = "ledger.jsonl";

	put(l, "");
	add(l, "{\"event\":\"start\",\"run\":\"" A1 "\",\"ts\":"
	    "\"2026-11-21T08:00:00.000Z\",\"tag\":\"nightly\",\"pid\":11}");
	add(l, "{\"event\":\"done\",\"run\":\"" A1 "\",\"ts\":"
	    "\"2026-11-21T08:01:00.000Z\",\"tag\":\"nightly\",\"status\":\"ok\","
	    "\"exit\":0,\"input_tokens\":100,\"output_tokens\":50,"
	    "\"cache_read\":1000,\"cache_creation\":200,\"cost_usd\":0.01}");
	add(l, "{\"event\":\"done\",\"run\":\"" A1 "\",\"ts\":"
	    "\"2026-11-21T08:01:00.000Z\",\"tag\":\"nightly\",\"status\":\"ok\","
	    "\"input_tokens\":100,\"output_tokens\":50,\"cost_usd\":0.01}");
	add(l, "garbage that is not JSON");
	add(l, "{\"event\":\"start\",\"run\":\"" A2 "\",\"ts\":"
	    "\"2026-11-21T09:00:00.000Z\",\"tag\":\"nightly\"}");
	add(l, "{\"event\":\"done\",\"run\":\"" A2 "\",\"ts\":"
	    "\"2026-11-21T09:02:00.500Z\",\"tag\":\"nightly\",\"status\":\"ok\","
	    "\"input_tokens\":200,\"output_tokens\":70,\"cost_usd\":0.02}");
	add(l, "{\"event\":\"start\",\"run\":\"" A3 "\",\"ts\":"
	    "\"2026-11-21T10:00:00.000Z\",\"tag\":\"nightly\"}");
	add(l, "{\"event\":\"done\",\"run\":\"" A3 "\",\"ts\":"
	    "\"2026-11-21T10:00:30.000Z\",\"tag\":\"nightly\","
	    "\"status\":\"empty_payload\",\"exit\":42,\"input_tokens\":30,"
	    "\"output_tokens\":0,\"cost_usd\":0.003}");
	add(l, "%s", "");
	add(l, "{\"event\":\"start\",\"run\":\"" B1 "\",\"ts\":"
	    "\"2026-11-22T09:59:00.000Z\",\"tag\":\"we\\\"ird\\\\tag\\nx\"}");
	add(l, "{\"event\":\"done\",\"run\":\"" B1 "\",\"ts\":"
	    "\"2026-11-22T10:00:00.000Z\",\"tag\":\"we\\\"ird\\\\tag\\nx\","
	    "\"status\":\"timeout\",\"exit\":124,\"input_tokens\":5}");
	add(l, "{\"event\":\"start\",\"run\":\"" B2 "\",\"ts\":"
	    "\"2026-11-22T09:00:00.000Z\",\"tag\":\"nightly\",\"pid\":22,"
	    "\"host\":\"elsewhere\"}");
	add(l, "{\"event\":\"done\",\"truncated");
	/* 2026-11-22T12:00:00Z, ts_ms only, no tag, no start. */
	add(l, "{\"event\":\"done\",\"run\":\"" B3 "\",\"ts_ms\":1795348800000,"
	    "\"status\":\"ok\",\"input_tokens\":7,\"output_tokens\":3,"
	    "\"cost_usd\":0.0005}");
	add(l, "[1,2]");
	add(l, "{\"event\":\"start\",\"run\":\"" C1 "\",\"ts\":"
	    "\"2026-11-23T07:00:00.000Z\",\"tag\":\"nightly\"}");
	add(l, "{\"event\":\"done\",\"run\":\"" C1 "\",\"ts\":"
	    "\"2026-11-23T07:10:00.000Z\",\"status\":\"mystery\"}");
	add(l, "{\"event\":\"start\",\"run\":\"" C2 "\",\"ts\":"
	    "\"2026-11-23T08:00:00.000Z\",\"tag\":\"other\"}");
	return at(l);
}

START_TEST(text_counts_per_day_and_status)
{
	const char *l = fixture();
	struct res r = report(NULL, "--ledger", l, NULL);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.err, "");
	ck_line(r.out, "day status runs input_tokens output_tokens cost_usd");
	ck_line(r.out, "2026-11-21 ok 2 300 120 0.0300");
	ck_line(r.out, "2026-11-21 empty_payload 1 30 0 0.0030");
	ck_line(r.out, "2026-11-22 ok 1 7 3 0.0005");
	ck_line(r.out, "2026-11-22 timeout 1 5 0 0.0000");
	ck_line(r.out, "2026-11-23 unknown 1 0 0 0.0000");
	ck_line(r.out, "total ok 3 307 123 0.0305");
	ck_line(r.out, "total empty_payload 1 30 0 0.0030");
	ck_line(r.out, "total timeout 1 5 0 0.0000");
	ck_line(r.out, "total unknown 1 0 0 0.0000");
	ck_line(r.out, "total all 6 342 123 0.0335");
	ck_line(r.out, "lost (started, never finished): 2");
	ck_line(r.out, B2 " 2026-11-22T09:00:00.000Z nightly");
	ck_line(r.out, C2 " 2026-11-23T08:00:00.000Z other");
	ck_hasnt(r.out, A1 " ");	/* finished runs are not lost */
	ck_line(r.out, "unreadable lines skipped: 3");
	/* Aligned: the day rows all put "runs" in the same column. */
	ck_has(r.out, "2026-11-21  ok                2");
	ck_has(r.out, "2026-11-21  empty_payload     1");
	res_free(&r);
}
END_TEST

static const cJSON *
day_entry(const cJSON *days, const char *day, const char *status)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, days)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(d, "day")),
		    day) == 0 && strcmp(cJSON_GetStringValue(
		    cJSON_GetObjectItem(d, "status")), status) == 0)
			return d;
	return NULL;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItem(o, key);

	ck_assert_msg(cJSON_IsNumber(it), "no number %s", key);
	return it->valuedouble;
}

START_TEST(json_counts_lost_unreadable)
{
	const char *l = fixture();
	struct res r = report(NULL, "--ledger", l, "--json", NULL);
	cJSON *j = cJSON_Parse(r.out), *days, *lost, *tot;
	const cJSON *d;

	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(j);
	days = cJSON_GetObjectItem(j, "days");
	ck_assert_int_eq(cJSON_GetArraySize(days), 5);
	d = day_entry(days, "2026-11-21", "ok");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(num(d, "runs"), 2);
	ck_assert_int_eq(num(d, "input_tokens"), 300);
	ck_assert_int_eq(num(d, "output_tokens"), 120);
	ck_assert_int_eq(num(d, "cache_read"), 1000);
	ck_assert_int_eq(num(d, "cache_creation"), 200);
	ck_assert_double_eq_tol(num(d, "cost_usd"), 0.03, 1e-9);
	ck_assert_int_eq(num(day_entry(days, "2026-11-22", "timeout"), "runs"),
	    1);
	ck_assert_int_eq(num(day_entry(days, "2026-11-23", "unknown"), "runs"),
	    1);
	tot = cJSON_GetObjectItem(j, "totals");
	ck_assert_int_eq(num(tot, "runs"), 6);
	ck_assert_int_eq(num(tot, "lost"), 2);
	ck_assert_int_eq(num(cJSON_GetObjectItem(tot, "by_status"), "ok"), 3);
	ck_assert_double_eq_tol(num(tot, "cost_usd"), 0.0335, 1e-9);
	lost = cJSON_GetObjectItem(j, "lost");
	ck_assert_int_eq(cJSON_GetArraySize(lost), 2);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(lost, 0), "run")), B2);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(lost, 0), "host")), "elsewhere");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(lost, 1), "run")), C2);
	ck_assert_int_eq(num(j, "unreadable"), 3);
	cJSON_Delete(j);
	res_free(&r);
}
END_TEST

START_TEST(prom_families_and_escaping)
{
	const char *l = fixture();
	struct res r = report(NULL, "--ledger", l, "--prom", NULL);
	static const char *const families[] = { "claudewrap_runs_total counter",
		"claudewrap_last_success_timestamp_seconds gauge",
		"claudewrap_tokens_total counter",
		"claudewrap_cost_usd_total counter",
		"claudewrap_lost_runs gauge" };
	char want[256];

	ck_assert_int_eq(r.rc, 0);
	for (size_t i = 0; i < sizeof(families) / sizeof(*families); i++) {
		snprintf(want, sizeof(want), "# TYPE %s", families[i]);
		ck_line(r.out, want);
		snprintf(want, sizeof(want), "# HELP %.*s ",
		    (int)strcspn(families[i], " "), families[i]);
		ck_has(r.out, want);
	}
	ck_line(r.out, "claudewrap_runs_total{tag=\"nightly\",status=\"ok\"} 2");
	ck_line(r.out, "claudewrap_runs_total{tag=\"nightly\","
	    "status=\"empty_payload\"} 1");
	ck_line(r.out, "claudewrap_runs_total{tag=\"nightly\","
	    "status=\"unknown\"} 1");
	ck_line(r.out, "claudewrap_runs_total{tag=\"\",status=\"ok\"} 1");
	/* we"ird\tag<newline>x, escaped as the exposition format says. */
	ck_line(r.out, "claudewrap_runs_total{tag=\"we\\\"ird\\\\tag\\nx\","
	    "status=\"timeout\"} 1");
	/* 2026-11-21T09:02:00.500Z, A2's done. */
	ck_line(r.out, "claudewrap_last_success_timestamp_seconds"
	    "{tag=\"nightly\"} 1795251720.500");
	ck_hasnt(r.out, "claudewrap_last_success_timestamp_seconds{tag=\"other\"}");
	ck_line(r.out, "claudewrap_tokens_total{tag=\"nightly\",kind=\"input\"} "
	    "330");
	ck_line(r.out, "claudewrap_tokens_total{tag=\"nightly\","
	    "kind=\"cache_read\"} 1000");
	ck_line(r.out, "claudewrap_tokens_total{tag=\"nightly\","
	    "kind=\"cache_creation\"} 200");
	ck_line(r.out, "claudewrap_cost_usd_total{tag=\"nightly\"} 0.033000");
	ck_line(r.out, "claudewrap_lost_runs{tag=\"nightly\"} 1");
	ck_line(r.out, "claudewrap_lost_runs{tag=\"other\"} 1");
	ck_line(r.out, "claudewrap_lost_runs{tag=\"\"} 0");
	ck_line(r.out, "claudewrap_ledger_unreadable_lines 3");
	res_free(&r);
}
END_TEST

START_TEST(prom_file_is_atomic)
{
	const char *l = fixture();
	struct res r = report(NULL, "--ledger", l, "--prom", NULL), w;
	char *file = strdup(at("metrics.prom")), *got;
	FILE *f;
	long n;

	umask(022);
	w = report(NULL, "--ledger", l, "--prom=", NULL);
	ck_assert_int_eq(w.rc, 125);
	res_free(&w);
	w = report(NULL, "--ledger", l, file, NULL);
	ck_assert_int_eq(w.rc, 125);	/* a FILE needs --prom=FILE */
	res_free(&w);
	char opt[PATH_MAX + 8];
	snprintf(opt, sizeof(opt), "--prom=%s", file);
	w = report(NULL, "--ledger", l, opt, NULL);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_str_eq(w.out, "");
	res_free(&w);
	ck_assert_ptr_nonnull(f = fopen(file, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	got = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(got, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	ck_assert_str_eq(got, r.out);
	free(got);
	/* node_exporter runs as another user: the umask decides. */
	struct stat st;
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	ck_assert_int_eq(umask(022), 022);
	ck_assert_int_eq(count_entries(tmp), 2);	/* ledger, metrics */
	/* rename onto a directory fails: an error, and no temp file left. */
	ck_assert_int_eq(mkdir(at("adir"), 0700), 0);
	snprintf(opt, sizeof(opt), "--prom=%s", at("adir"));
	w = report(NULL, "--ledger", l, opt, NULL);
	ck_assert_int_eq(w.rc, 1);
	ck_has(w.err, "adir: Is a directory");
	ck_assert_int_eq(count_entries(tmp), 3);
	res_free(&w);
	free(file);
	res_free(&r);
}
END_TEST

START_TEST(since_iso_filters)
{
	const char *l = fixture();
	struct res r = report(NULL, "--ledger", l, "--since=2026-11-22", NULL);

	ck_assert_int_eq(r.rc, 0);
	ck_hasnt(r.out, "2026-11-21");
	ck_line(r.out, "2026-11-22 ok 1 7 3 0.0005");
	ck_line(r.out, "2026-11-22 timeout 1 5 0 0.0000");
	ck_line(r.out, "total all 3 12 3 0.0005");
	ck_line(r.out, "lost (started, never finished): 2");
	res_free(&r);
	/* B1's done (10:00) and B2's start (09:00) are before 11:00. */
	r = report(NULL, "--ledger", l, "--since", "2026-11-22T11:00:00Z", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_line(r.out, "2026-11-22 ok 1 7 3 0.0005");
	ck_hasnt(r.out, "timeout");
	ck_line(r.out, "total all 2 7 3 0.0005");
	ck_line(r.out, "lost (started, never finished): 1");
	ck_hasnt(r.out, B2);
	ck_has(r.out, C2);
	res_free(&r);
}
END_TEST

START_TEST(since_duration_from_now)
{
	int64_t now = clock_real_ms();
	const char *l = at("ledger.jsonl");

	put("ledger.jsonl", "");
	add("ledger.jsonl", "{\"event\":\"done\",\"run\":\"r1\",\"ts_ms\":%lld,"
	    "\"status\":\"ok\",\"input_tokens\":1}", (long long)(now - 3600000));
	add("ledger.jsonl", "{\"event\":\"done\",\"run\":\"r2\",\"ts_ms\":%lld,"
	    "\"status\":\"ok\",\"input_tokens\":10}",
	    (long long)(now - 3 * 86400000LL));
	struct res r = report(NULL, "--ledger", l, "--since=90m", NULL);
	time_t t = (time_t)((now - 3600000) / 1000);
	struct tm tm;
	char want[64];

	gmtime_r(&t, &tm);
	strftime(want, sizeof(want), "%Y-%m-%d ok 1 1 0 0.0000", &tm);
	ck_assert_int_eq(r.rc, 0);
	ck_line(r.out, want);
	/* One day: a totals block would only repeat it. */
	ck_hasnt(r.out, "total");
	res_free(&r);
	r = report(NULL, "--ledger", l, "--since=24h", "--json", NULL);
	ck_has(r.out, "\"totals\":{\"runs\":1,");
	res_free(&r);
	r = report(NULL, "--ledger", l, "--since=7d", NULL);
	ck_line(r.out, "total all 2 11 0 0.0000");
	res_free(&r);
	r = report(NULL, "--ledger", l, "--since=30m", NULL);
	ck_line(r.out, "no runs in the period");
	ck_hasnt(r.out, "total");
	res_free(&r);
}
END_TEST

START_TEST(bad_values_are_usage_errors)
{
	static const char *const bad[] = { "--since=xyz", "--since=",
		"--since=2026-13-01", "--since=-1d", "--since=0" };
	const char *l = fixture();
	struct res r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char want[128];
		r = report(NULL, "--ledger", l, bad[i], NULL);
		ck_assert_msg(r.rc == 125, "%s: %d", bad[i], r.rc);
		snprintf(want, sizeof(want), "claudewrap-report: --since: bad "
		    "value '%s'\n", bad[i] + 8);
		ck_assert_str_eq(r.err, want);
		ck_assert_str_eq(r.out, "");
		res_free(&r);
	}
	r = report(NULL, "--ledger", l, "--json", "--prom", NULL);
	ck_assert_int_eq(r.rc, 125);
	res_free(&r);
	r = report(NULL, "--ledger", l, "--bogus", NULL);
	ck_assert_int_eq(r.rc, 125);
	ck_has(r.err, "'--bogus'");
	res_free(&r);
	r = report(NULL, "--ledger", l, "--explain=a1a1a1", NULL);
	ck_assert_int_eq(r.rc, 125);
	ck_assert_str_eq(r.err, "claudewrap-report: --explain: bad value "
	    "'a1a1a1'\n");
	res_free(&r);
	r = report(NULL, "--ledger", l, "extra", NULL);
	ck_assert_int_eq(r.rc, 125);
	res_free(&r);
}
END_TEST

START_TEST(unreadable_ledger_exit_1)
{
	struct res r = report(NULL, "--ledger", at("none.jsonl"), NULL);

	ck_assert_int_eq(r.rc, 1);
	ck_has(r.err, "none.jsonl: No such file or directory");
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	r = report(NULL, "--ledger", tmp, NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_has(r.err, ": Is a directory");
	res_free(&r);
}
END_TEST

START_TEST(ledger_found_by_env_and_state_dir)
{
	struct res r;

	ck_assert_int_eq(mkdir(at("sd"), 0700), 0);
	put("sd/ledger.jsonl", "{\"event\":\"done\",\"run\":\"x\",\"ts\":"
	    "\"2026-11-23T00:00:00Z\",\"status\":\"auth\"}\n");
	setenv("CLAUDEWRAP_STATE_DIR", at("sd"), 1);
	r = report(NULL, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_line(r.out, "2026-11-23 auth 1 0 0 0.0000");
	res_free(&r);
	unsetenv("CLAUDEWRAP_STATE_DIR");
	ck_assert_int_eq(mkdir(at("xdg"), 0700), 0);
	ck_assert_int_eq(mkdir(at("xdg/claudewrap"), 0700), 0);
	put("xdg/claudewrap/ledger.jsonl", "{\"event\":\"done\",\"run\":\"y\","
	    "\"ts\":\"2026-11-23T00:00:00Z\",\"status\":\"locked\"}\n");
	setenv("XDG_STATE_HOME", at("xdg"), 1);
	r = report(NULL, NULL);
	ck_line(r.out, "2026-11-23 locked 1 0 0 0.0000");
	res_free(&r);
	/* --state-dir beats the environment; CLAUDEWRAP_LEDGER beats both. */
	r = report(NULL, "--state-dir", at("sd"), NULL);
	ck_line(r.out, "2026-11-23 auth 1 0 0 0.0000");
	res_free(&r);
	setenv("CLAUDEWRAP_LEDGER", at("sd/ledger.jsonl"), 1);
	r = report(NULL, NULL);
	ck_line(r.out, "2026-11-23 auth 1 0 0 0.0000");
	res_free(&r);
}
END_TEST

static const char logtext[] =
    "cron: starting nightly\n"
    "claudewrap: ts=2026-11-23T08:00:00.000Z level=info "
    "run=d1d1d1d1-0000-4000-8000-000000000001 tag=\"my \\\"quoted\\\" job\" "
    "event=start prompt_bytes=10\n"
    "Error: the CLI's own stderr, event=done status=ok\n"
    "claudewrap: ts=2026-11-23T08:00:01.000Z level=warn "
    "run=d1d1d1d1-0000-4000-8000-000000000001 tag=\"my \\\"quoted\\\" job\" "
    "event=warn detail=\"low output = 3\"\n"
    "claudewrap: ts=2026-11-23T08:00:02.000Z level=info "
    "run=d1d1d1d1-0000-4000-8000-000000000001 tag=\"my \\\"quoted\\\" job\" "
    "event=done status=ok exit=0 input_tokens=5 output_tokens=3 "
    "cost_usd=0.001 detail=\"said \\\"hi\\\"\\tand \\\\ left\"\r\n"
    "claudewrap: {\"ts\":\"2026-11-23T09:00:00.000Z\",\"level\":\"info\","
    "\"run\":\"d2d2d2d2-0000-4000-8000-000000000002\",\"event\":\"start\","
    "\"tag\":\"json job\"}\n"
    "claudewrap: ts=2026-11-24T10:00:00.000Z event=done status=\"unterminated\n"
    "claudewrap: ts=2026-11-24T10:00:00.000Z event=done status=\"a\"b\n"
    "Nov 24 11:00:00 host claudewrap[4242]: ts=2026-11-24T11:00:00.000Z "
    "level=info run=d3d3d3d3-0000-4000-8000-000000000003 event=done "
    "tag=\"back\\\\slash\\ttab\" status=rate_limited exit=43 "
    "input_tokens=1\n"
    "claudewrap is not a log line\n";

START_TEST(logfmt_from_stdin)
{
	struct res r = report(logtext, "-", NULL);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.err, "");
	ck_line(r.out, "log (stdin)");
	ck_line(r.out, "2026-11-23 ok 1 5 3 0.0010");
	ck_line(r.out, "2026-11-24 rate_limited 1 1 0 0.0000");
	ck_line(r.out, "total all 2 6 3 0.0010");
	ck_line(r.out, "lost (started, never finished): 1");
	ck_line(r.out, "d2d2d2d2-0000-4000-8000-000000000002 "
	    "2026-11-23T09:00:00.000Z json job");
	ck_line(r.out, "unreadable lines skipped: 2");
	res_free(&r);
	/* The quoted tag was unescaped: it matches as the user typed it. */
	r = report(logtext, "--stdin", "--json", "--tag", "my \"quoted\" job",
	    NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_has(r.out, "\"by_status\":{\"ok\":1}");
	ck_has(r.out, "\"lost\":[]");
	res_free(&r);
	r = report(logtext, "--stdin", "--prom", NULL);
	ck_line(r.out, "claudewrap_runs_total{tag=\"my \\\"quoted\\\" job\","
	    "status=\"ok\"} 1");
	ck_line(r.out, "claudewrap_lost_runs{tag=\"json job\"} 1");
	/* back\slash<TAB>tab: unescaped from logfmt, escaped for Prometheus. */
	ck_line(r.out, "claudewrap_runs_total{tag=\"back\\\\slash\ttab\","
	    "status=\"rate_limited\"} 1");
	res_free(&r);
}
END_TEST

/* ---- --which and --explain ------------------------------------------- */

static void
sha_of(const char *text, char hex[HASH_HEX_LEN])
{
	struct hash *h = hash_new();

	ck_assert_ptr_nonnull(h);
	hash_update(h, text, strlen(text));
	hash_end(h, hex);
}

/* A done record that wrote path with content text, at ts. */
static void
wrote(const char *run, const char *ts, const char *tag, const char *path,
    const char *text)
{
	char sha[HASH_HEX_LEN];

	sha_of(text, sha);
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"%s\",\"ts\":\"%s\","
	    "\"tag\":\"%s\",\"pid\":1,\"host\":\"h\",\"prompt_bytes\":42,"
	    "\"prompt_sha\":\"0123456789ab\"}", run, ts, tag);
	add("ledger.jsonl", "{\"event\":\"done\",\"run\":\"%s\",\"ts\":\"%s\","
	    "\"tag\":\"%s\",\"status\":\"ok\",\"exit\":0,\"attempts\":1,"
	    "\"model\":\"claude-test-1\",\"output_tokens\":120,"
	    "\"prompt_sha\":\"0123456789ab\",\"prompt_bytes\":42,"
	    "\"output\":{\"path\":\"%s\",\"size\":%zu,\"sha256\":\"%s\"}}",
	    run, ts, tag, path, strlen(text), sha);
}

#define X3	"f3f3f3f3-0000-4000-8000-000000000003"
#define W1	"e1e1e1e1-0000-4000-8000-000000000001"
#define W2	"e2e2e2e2-0000-4000-8000-000000000002"

START_TEST(which_names_the_run)
{
	char out[PATH_MAX], other[PATH_MAX], rel[PATH_MAX + 8];
	struct res r;

	strlcpy(out, at("out.md"), sizeof(out));
	strlcpy(other, at("other.md"), sizeof(other));
	put("ledger.jsonl", "");
	wrote(W1, "2026-11-22T08:00:00.000Z", "report", out, "first\n");
	wrote(W2, "2026-11-23T08:00:00.000Z", "summary", other, "second\n");
	put("out.md", "first\n");
	setenv("CLAUDEWRAP_LEDGER", at("ledger.jsonl"), 1);
	r = report(NULL, "--which", out, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_has(r.out, "written by run " W1);
	ck_line(r.out, "tag report");
	ck_line(r.out, "prompt 0123456789ab (42 bytes)");
	ck_line(r.out, "model claude-test-1");
	ck_line(r.out, "status ok (exit 0)");
	ck_has(r.out, "2026-11-22T08:00:00.000Z");
	res_free(&r);
	/* The same file through another name (realpath). */
	snprintf(rel, sizeof(rel), "%s/./out.md", tmp);
	r = report(NULL, "--which", rel, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_has(r.out, "written by run " W1);
	res_free(&r);
	/* A record naming the file through a symbolic link is this path too. */
	ck_assert_int_eq(symlink(".", at("here")), 0);
	put("third.md", "third\n");
	wrote(X3, "2026-11-23T09:00:00.000Z", "third", at("here/third.md"),
	    "third\n");
	r = report(NULL, "--which", at("third.md"), NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_has(r.out, "third.md: written by run " X3 "\n");
	res_free(&r);
	/* A copy of W2's bytes at another path still names W2. */
	put("copy.md", "second\n");
	r = report(NULL, "--which", at("copy.md"), NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_has(r.out, "these bytes were written by run " W2 " to ");
	ck_has(r.out, "other.md");
	res_free(&r);
}
END_TEST

START_TEST(which_overwritten_file)
{
	char out[PATH_MAX];
	struct res r;

	strlcpy(out, at("out.md"), sizeof(out));
	put("ledger.jsonl", "");
	wrote(W1, "2026-11-22T08:00:00.000Z", "report", out, "first\n");
	put("out.md", "edited by hand\n");
	setenv("CLAUDEWRAP_LEDGER", at("ledger.jsonl"), 1);
	r = report(NULL, "--which", out, NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_has(r.out, "no run in the ledger wrote its current content");
	ck_has(r.out, "run " W1 " (tag report) wrote this path at "
	    "2026-11-22T08:00:00.000Z");
	ck_has(r.out, "changed or overwritten since");
	res_free(&r);
	/* A path no run ever wrote. */
	put("stranger.md", "x\n");
	r = report(NULL, "--which", at("stranger.md"), NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_has(r.out, "no run in the ledger wrote to this path either");
	res_free(&r);
	r = report(NULL, "--which", at("missing.md"), NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_has(r.err, "missing.md: No such file or directory");
	res_free(&r);
}
END_TEST

/* The line of the answer to question n, or fail. */
static char *
answer(const char *out, int n)
{
	char tag[8], *line, *copy = strdup(out), *save = NULL, *got = NULL;

	snprintf(tag, sizeof(tag), "%d. ", n);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, tag, strlen(tag)) == 0)
			got = strdup(line);
	free(copy);
	ck_assert_msg(got != NULL, "no answer %d in:\n%s", n, out);
	return got;
}

#define ck_answer(out, n, want) do {					\
	char *a_ = answer((out), (n));					\
	ck_assert_msg(strstr(a_, (want)) != NULL, "no '%s' in '%s'",	\
	    (want), a_);						\
	free(a_);							\
} while (0)

#define X1	"f1f1f1f1-0000-4000-8000-000000000001"
#define X2	"f2f2f2f2-0000-4000-8000-000000000002"
#define X4	"f4f4f4f4-0000-4000-8000-000000000004"
#define X5	"f5f5f5f5-0000-4000-8000-000000000005"
#define X6	"f6f6f6f6-0000-4000-8000-000000000006"

static void
transcript_x1(void)
{
	const char *t = "x1.jsonl";

	put(t, "");
	/* A transcript path shared with an earlier run. */
	add(t, "{\"attempt\":1,\"ts\":\"2026-11-21T08:00:01.000Z\",\"event\":"
	    "{\"type\":\"system\",\"subtype\":\"init\",\"model\":\"m\"}}");
	add(t, "{\"attempt\":1,\"ts\":\"2026-11-22T08:00:01.000Z\",\"event\":"
	    "{\"type\":\"system\",\"subtype\":\"init\",\"model\":\"m\"}}");
	add(t, "{\"attempt\":1,\"ts\":\"2026-11-22T08:00:02.000Z\",\"event\":"
	    "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_1\",\"content\":"
	    "[{\"type\":\"tool_use\",\"name\":\"Read\",\"input\":{}}]}}}");
	add(t, "{\"attempt\":1,\"ts\":\"2026-11-22T08:00:03.000Z\",\"event\":"
	    "{\"type\":\"user\"}}");
	add(t, "{\"attempt\":1,\"ts\":\"2026-11-22T08:00:04.000Z\",\"event\":"
	    "{\"type\":\"system\",\"subtype\":\"api_retry\"}}");
	add(t, "not json");
	add(t, "{\"attempt\":2,\"ts\":\"2026-11-22T08:01:00.000Z\",\"event\":"
	    "{\"type\":\"system\",\"subtype\":\"init\"}}");
	add(t, "{\"attempt\":2,\"ts\":\"2026-11-22T08:01:01.000Z\",\"event\":"
	    "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_2\",\"content\":"
	    "[{\"type\":\"tool_use\",\"name\":\"Skill\",\"input\":{}}]}}}");
	add(t, "{\"attempt\":2,\"ts\":\"2026-11-22T08:01:02.000Z\",\"event\":"
	    "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_2\",\"content\":"
	    "[{\"type\":\"text\",\"text\":\"hi\"}]}}}");
	add(t, "{\"attempt\":2,\"ts\":\"2026-11-22T08:01:03.000Z\",\"event\":"
	    "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"hi\"}}");
}

/* A finished run with every kind of evidence, and a lost one. */
static void
explain_fixture(void)
{
	char sha[HASH_HEX_LEN];

	put("ledger.jsonl", "");
	put("out.md", "the answer\n");
	sha_of("the answer\n", sha);
	transcript_x1();
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"" X1 "\",\"ts\":"
	    "\"2026-11-22T08:00:00.000Z\",\"tag\":\"nightly\",\"pid\":7,"
	    "\"host\":\"h\",\"prompt_bytes\":42,\"prompt_sha\":\"0123456789ab\","
	    "\"transcript\":\"%s\"}", at("x1.jsonl"));
	add("ledger.jsonl", "{\"event\":\"done\",\"run\":\"" X1 "\",\"ts\":"
	    "\"2026-11-22T08:01:04.000Z\",\"tag\":\"nightly\",\"status\":\"ok\","
	    "\"exit\":0,\"attempts\":2,\"requests\":3,\"duration_ms\":64000,"
	    "\"model\":\"claude-test-1\",\"output_tokens\":500,"
	    "\"tools_called\":[\"Read\",\"Skill\"],\"transcript\":\"%s\","
	    "\"output\":{\"path\":\"%s\",\"size\":11,\"sha256\":\"%s\"}}",
	    at("x1.jsonl"), at("out.md"), sha);
	/* X2's record names the directory: the file is DIR/RUN.jsonl. */
	put(X2 ".jsonl", "");
	add(X2 ".jsonl", "{\"attempt\":1,\"ts\":\"2026-11-22T09:00:01.000Z\","
	    "\"event\":{\"type\":\"system\",\"subtype\":\"init\"}}");
	add(X2 ".jsonl", "{\"attempt\":1,\"ts\":\"2026-11-22T09:00:09.000Z\","
	    "\"event\":{\"type\":\"assistant\",\"message\":{\"id\":\"m\","
	    "\"content\":[{\"type\":\"tool_use\",\"name\":\"Bash\"}]}}}");
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"" X2 "\",\"ts\":"
	    "\"2026-11-22T09:00:00.000Z\",\"tag\":\"nightly\",\"pid\":8,"
	    "\"host\":\"not-this-host\",\"transcript\":\"%s\"}", tmp);
	setenv("CLAUDEWRAP_LEDGER", at("ledger.jsonl"), 1);
}

START_TEST(explain_finished_run)
{
	struct res r;

	explain_fixture();
	r = report(NULL, "--explain", X1, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.err, "");
	ck_has(r.out, "run " X1 "  tag nightly");
	ck_answer(r.out, 1, "yes — start record at 2026-11-22T08:00:00.000Z");
	ck_answer(r.out, 1, "; 2 attempts; 3 API requests");
	ck_answer(r.out, 1, "attempt 1 4 events, 1 API responses (with CLI "
	    "retries), attempt 2 4 events, 1 API responses (other runs' "
	    "events skipped: 1)");
	ck_answer(r.out, 2, "yes — 500 output tokens from claude-test-1");
	ck_answer(r.out, 2, "tools called: Read, Skill");
	ck_answer(r.out, 2, "result event in attempt 2 (success)");
	ck_answer(r.out, 3, "yes — done record: status ok, exit 0, after "
	    "64.0 s");
	ck_answer(r.out, 4, "yes — ");
	ck_answer(r.out, 4, "out.md, 11 bytes, sha256 ");
	ck_answer(r.out, 4, "on disk now: that sha256");
	ck_answer(r.out, 5, "yes — ");
	ck_answer(r.out, 5, "still holds the bytes this run wrote");
	res_free(&r);
	/* A unique prefix of 8 characters is enough. */
	r = report(NULL, "--explain", "f1f1f1f1", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_has(r.out, "run " X1);
	res_free(&r);
}
END_TEST

START_TEST(explain_lost_run)
{
	char host[256], now[CLOCK_ISO_LEN], *a3;
	struct res r;
	pid_t dead;

	explain_fixture();
	r = report(NULL, "--explain", X2, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 1, "yes — start record at 2026-11-22T09:00:00.000Z");
	ck_answer(r.out, 1, "attempts unknown (no done record)");
	ck_answer(r.out, 1, "transcript: attempt 1 2 events");
	ck_answer(r.out, 2, "no — no output_tokens recorded");
	ck_answer(r.out, 2, "no result event in the transcript");
	ck_answer(r.out, 2, "tools called: Bash");
	ck_answer(r.out, 3, "no — the run never finished (lost): last known: "
	    "start at 2026-11-22T09:00:00.000Z, pid 8 on not-this-host");
	ck_answer(r.out, 3, "the transcript's last event: assistant (attempt "
	    "1, 2026-11-22T09:00:09.000Z)");
	ck_answer(r.out, 4, "no — the run never finished");
	ck_answer(r.out, 5, "no — nothing was delivered");
	a3 = answer(r.out, 3);
	ck_assert_ptr_null(strstr(a3, "alive"));
	free(a3);
	res_free(&r);
	/*
	 * A start from this host whose pid still lives, and lived when the
	 * record was written, is running; one whose pid began after the
	 * record is a reused pid: lost.
	 */
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	clock_iso(clock_real_ms(), now);
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"" X5 "\",\"ts\":"
	    "\"%s\",\"pid\":%d,\"host\":\"%s\"}", now, (int)getpid(), host);
	r = report(NULL, "--explain", X5, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 3, "not yet — the run is still running: start at");
	res_free(&r);
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"" X6 "\",\"ts\":"
	    "\"2026-11-22T09:00:00.000Z\",\"pid\":%d,\"host\":\"%s\"}",
	    (int)getpid(), host);
	r = report(NULL, "--explain", X6, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 3, "no — the run never finished (lost)");
	res_free(&r);
	/* The same with a pid that is gone. */
	if ((dead = fork()) == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"" X4 "\",\"ts\":"
	    "\"2026-11-22T09:00:00.000Z\",\"pid\":%d,\"host\":\"%s\"}",
	    (int)dead, host);
	r = report(NULL, "--explain", X4, NULL);
	a3 = answer(r.out, 3);
	ck_assert_ptr_null(strstr(a3, "alive"));
	free(a3);
	res_free(&r);
}
END_TEST

START_TEST(explain_changed_file_and_failures)
{
	struct res r;

	explain_fixture();
	/* X3 wrote out.md after X1: X1's artifact is gone. */
	wrote(X3, "2026-11-22T10:00:00.000Z", "other", at("out.md"), "newer\n");
	put("out.md", "newer\n");
	add("ledger.jsonl", "{\"event\":\"done\",\"run\":\"" X4 "\",\"ts\":"
	    "\"2026-11-22T11:00:00.000Z\",\"status\":\"empty_payload\","
	    "\"exit\":42,\"attempts\":1,\"output_tokens\":3,"
	    "\"detail\":\"empty result\",\"expect_missing\":[\"Skill\"]}");
	r = report(NULL, "--explain", X1, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 4, "on disk now: different bytes (see 5)");
	ck_answer(r.out, 5, "no — ");
	ck_answer(r.out, 5, "not what this run wrote; those bytes were written "
	    "by run " X3 " at 2026-11-22T10:00:00.000Z");
	res_free(&r);
	put("out.md", "by hand\n");
	r = report(NULL, "--explain", X1, NULL);
	ck_answer(r.out, 5, "no run in the ledger wrote those bytes");
	res_free(&r);
	r = report(NULL, "--explain", X4, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 1, "no start record; 1 attempt");
	ck_answer(r.out, 2, "low — only 3 output tokens");
	ck_answer(r.out, 3, "no — done record: status empty_payload, exit 42");
	ck_answer(r.out, 3, ": empty result; expected tools never called: "
	    "Skill");
	ck_answer(r.out, 4, "no — nothing written");
	ck_answer(r.out, 5, "no — nothing was delivered");
	res_free(&r);
}
END_TEST

START_TEST(explain_not_found_or_ambiguous)
{
	struct res r;

	explain_fixture();
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"f1f1f1f1-9999-4000-"
	    "8000-000000000009\",\"ts\":\"2026-11-22T08:00:00.000Z\"}");
	r = report(NULL, "--explain", "99999999", NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_has(r.err, "no run 99999999 in ");
	ck_assert_str_eq(r.out, "");
	res_free(&r);
	r = report(NULL, "--explain", "f1f1f1f1", NULL);
	ck_assert_int_eq(r.rc, 1);
	ck_has(r.err, "ambiguous");
	ck_has(r.err, X1);
	ck_has(r.err, "f1f1f1f1-9999-4000-8000-000000000009");
	res_free(&r);
	r = report(NULL, "--explain", "f1f1f1f1-0000", NULL);
	ck_assert_int_eq(r.rc, 0);
	res_free(&r);
}
END_TEST

/* A result event longer than the line limit is still seen as a result. */
START_TEST(explain_huge_result_line)
{
	size_t big = 1536 * 1024;
	char *text = malloc(big + 1);
	struct res r;
	FILE *f;

	ck_assert_ptr_nonnull(text);
	memset(text, 'z', big);
	text[big] = '\0';
	put("ledger.jsonl", "");
	ck_assert_ptr_nonnull(f = fopen(at(X5 ".jsonl"), "w"));
	fprintf(f, "{\"attempt\":1,\"ts\":\"t\",\"event\":{\"type\":\"system\","
	    "\"subtype\":\"init\"}}\n");
	fprintf(f, "{\"attempt\":3,\"ts\":\"t\",\"event\":{\"type\":\"result\","
	    "\"subtype\":\"success\",\"result\":\"%s\"}}\n", text);
	fclose(f);
	free(text);
	add("ledger.jsonl", "{\"event\":\"start\",\"run\":\"" X5 "\",\"ts\":"
	    "\"2026-11-22T08:00:00.000Z\",\"transcript\":\"%s\"}",
	    at(X5 ".jsonl"));
	setenv("CLAUDEWRAP_LEDGER", at("ledger.jsonl"), 1);
	r = report(NULL, "--explain", X5, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 1, "attempt 1 1 events, 0 API responses, attempt 3 "
	    "1 events");
	ck_answer(r.out, 2, "result event in attempt 3 (success)");
	res_free(&r);
}
END_TEST

/*
 * Question 2 calls output low by the threshold the run had: claudewrap's
 * --low-output-tokens, taken by the report as an option or from the
 * same variable (the record does not carry it).
 */
START_TEST(explain_low_output_threshold)
{
	struct res r;

	explain_fixture();
	add("ledger.jsonl", "{\"event\":\"done\",\"run\":\"" X4 "\",\"ts\":"
	    "\"2026-11-22T11:00:00.000Z\",\"status\":\"ok\",\"exit\":0,"
	    "\"attempts\":1,\"output_tokens\":15}");
	r = report(NULL, "--explain", X4, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 2, "yes — 15 output tokens");
	res_free(&r);
	r = report(NULL, "--explain", X4, "--low-output-tokens=20", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_answer(r.out, 2, "low — only 15 output tokens (under 20: the "
	    "low-output warning)");
	res_free(&r);
	setenv("CLAUDEWRAP_LOW_OUTPUT_TOKENS", "16", 1);
	r = report(NULL, "--explain", X4, NULL);
	ck_answer(r.out, 2, "low — only 15 output tokens (under 16:");
	res_free(&r);
	/* The option wins over the variable; 0 turns the warning off. */
	r = report(NULL, "--explain", X4, "--low-output-tokens=0", NULL);
	ck_answer(r.out, 2, "yes — 15 output tokens");
	res_free(&r);
	setenv("CLAUDEWRAP_LOW_OUTPUT_TOKENS", "x", 1);
	r = report(NULL, "--explain", X4, NULL);
	ck_assert_int_eq(r.rc, 125);
	ck_has(r.err, "CLAUDEWRAP_LOW_OUTPUT_TOKENS: bad value 'x'");
	res_free(&r);
	unsetenv("CLAUDEWRAP_LOW_OUTPUT_TOKENS");
	r = report(NULL, "--explain", X4, "--low-output-tokens=-1", NULL);
	ck_assert_int_eq(r.rc, 125);
	ck_has(r.err, "--low-output-tokens: bad value '-1'");
	res_free(&r);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_checked_fixture(tc, report_setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, text_counts_per_day_and_status);
	tcase_add_test(tc, json_counts_lost_unreadable);
	tcase_add_test(tc, prom_families_and_escaping);
	tcase_add_test(tc, prom_file_is_atomic);
	tcase_add_test(tc, since_iso_filters);
	tcase_add_test(tc, since_duration_from_now);
	tcase_add_test(tc, bad_values_are_usage_errors);
	tcase_add_test(tc, unreadable_ledger_exit_1);
	tcase_add_test(tc, ledger_found_by_env_and_state_dir);
	tcase_add_test(tc, logfmt_from_stdin);
	tcase_add_test(tc, which_names_the_run);
	tcase_add_test(tc, which_overwritten_file);
	tcase_add_test(tc, explain_finished_run);
	tcase_add_test(tc, explain_lost_run);
	tcase_add_test(tc, explain_changed_file_and_failures);
	tcase_add_test(tc, explain_not_found_or_ambiguous);
	tcase_add_test(tc, explain_huge_result_line);
	tcase_add_test(tc, explain_low_output_threshold);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(report_suite)
