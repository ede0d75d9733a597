/*
 * Unit tests of lib/retry.c: the backoff window and its draw, and every
 * reset-time form listed in lib/retry.c at a fixed `now`.
 */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "retry.h"

/* Epoch seconds of a UTC calendar time. */
static time_t
utc(int y, int mon, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/*
 * Parses s from a heap copy of exactly its length, without a NUL, so
 * that AddressSanitizer catches any read past len.
 */
static int
parse(const char *s, time_t now, time_t *when)
{
	size_t n = strlen(s);
	char *copy = malloc(n > 0 ? n : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, s, n);
	rc = retry_parse_reset(copy, n, now, when);
	free(copy);
	return rc;
}

static void
expect(const char *s, time_t now, time_t want)
{
	time_t when = 0;

	ck_assert_msg(parse(s, now, &when) == 0, "no reset found in '%s'", s);
	ck_assert_msg(when == want, "'%s': got %lld, want %lld (%+lld s)", s,
	    (long long)when, (long long)want, (long long)(when - want));
}

static void
expect_none(const char *s, time_t now)
{
	time_t when = 12345;

	ck_assert_msg(parse(s, now, &when) == -1, "'%s' gave %lld", s,
	    (long long)when);
}

/* The named-zone cases need the IANA database (Debian: tzdata). */
static void
need_tzdata(void)
{
	ck_assert_msg(access("/usr/share/zoneinfo/Asia/Tokyo", R_OK) == 0 ||
	    getenv("TZDIR") != NULL, "no /usr/share/zoneinfo: install tzdata");
}

/* ---- retry_window ---- */

START_TEST(window_doubles_to_cap)
{
	static const int64_t want[] = { 15000, 30000, 60000, 120000, 240000,
	    480000, 600000, 600000, 600000 };

	for (int done = 1; done <= 9; done++)
		ck_assert_int_eq(retry_window(15000, 600000, done),
		    want[done - 1]);
	ck_assert_int_eq(retry_window(15000, 600000, 0), 15000);
	ck_assert_int_eq(retry_window(15000, 600000, -7), 15000);
	ck_assert_int_eq(retry_window(15000, 600000, INT_MIN), 15000);
	ck_assert_int_eq(retry_window(15000, 600000, INT_MAX), 600000);
	ck_assert_int_eq(retry_window(1000, 1000, 1), 1000);
	ck_assert_int_eq(retry_window(1000, 500, 1), 500);
}
END_TEST

START_TEST(window_saturates)
{
	const int64_t top = (int64_t)1 << 62;

	ck_assert_int_eq(retry_window(1, INT64_MAX, 62), (int64_t)1 << 61);
	ck_assert_int_eq(retry_window(1, INT64_MAX, 63), top);
	ck_assert_int_eq(retry_window(1, INT64_MAX, 64), top);
	ck_assert_int_eq(retry_window(1, INT64_MAX, INT_MAX), top);
	ck_assert_int_eq(retry_window(3, INT64_MAX, 62), top);
	ck_assert_int_eq(retry_window(INT64_MAX, INT64_MAX, 1), top);
	ck_assert_int_eq(retry_window(INT64_MAX, INT64_MAX, INT_MAX), top);
	ck_assert_int_eq(retry_window(INT64_MAX, 600000, INT_MAX), 600000);
	ck_assert_int_eq(retry_window(INT64_C(3153600000000), 600000, 40),
	    600000);
	/* The largest duration option (36500d) doubled past 2^62. */
	ck_assert_int_eq(retry_window(INT64_C(3153600000000), INT64_MAX, 22),
	    top);
	ck_assert_int_eq(retry_window(INT64_C(3153600000000), INT64_MAX, 2),
	    INT64_C(6307200000000));
}
END_TEST

START_TEST(window_odd_arguments)
{
	/* A backoff of 0 is no wait; a cap of 0 ("off") is no cap. */
	ck_assert_int_eq(retry_window(0, 600000, 5), 0);
	ck_assert_int_eq(retry_window(-5, 600000, 5), 0);
	ck_assert_int_eq(retry_window(INT64_MIN, 600000, 5), 0);
	ck_assert_int_eq(retry_window(1000, 0, 11), 1024000);
	ck_assert_int_eq(retry_window(1000, -1, 11), 1024000);
	ck_assert_int_eq(retry_window(1000, 0, INT_MAX), (int64_t)1 << 62);
}
END_TEST

/* ---- retry_draw ---- */

START_TEST(draw_edges)
{
	ck_assert_int_eq(retry_draw(0), 0);
	ck_assert_int_eq(retry_draw(-1), 0);
	ck_assert_int_eq(retry_draw(INT64_MIN), 0);
}
END_TEST

START_TEST(draw_small_reaches_both_ends)
{
	for (int64_t w = 1; w <= 5; w++) {
		bool lo = false, hi = false;

		for (int i = 0; i < 2000; i++) {
			int64_t d = retry_draw(w);

			ck_assert_int_ge(d, w / 2);
			ck_assert_int_le(d, w);
			lo |= d == w / 2;
			hi |= d == w;
		}
		ck_assert_msg(lo && hi, "w=%lld: lo %d hi %d", (long long)w,
		    lo, hi);
	}
}
END_TEST

START_TEST(draw_within_bounds)
{
	static const int64_t ws[] = { 15000, 600000, INT64_C(4294967295),
	    INT64_C(4294967296), INT64_C(8589934593), INT64_C(1) << 40,
	    (INT64_C(1) << 62) + 1, INT64_MAX };

	for (size_t k = 0; k < sizeof(ws) / sizeof(ws[0]); k++) {
		int64_t w = ws[k];
		double sum = 0;
		bool low_half = false, high_half = false;
		const int n = 20000;

		for (int i = 0; i < n; i++) {
			int64_t d = retry_draw(w);

			ck_assert_int_ge(d, w / 2);
			ck_assert_int_le(d, w);
			sum += (double)d / (double)w;
			low_half |= d < w / 2 + w / 4;
			high_half |= d > w / 2 + w / 4;
		}
		/* Uniform on [w/2, w]: the mean is 3w/4. */
		ck_assert_msg(sum / n > 0.74 && sum / n < 0.76,
		    "w=%lld mean %.4f", (long long)w, sum / n);
		ck_assert(low_half && high_half);
	}
}
END_TEST

/* ---- retry_parse_reset: the forms ---- */

/* Wednesday 2026-11-25 10:00:00 UTC. */
#define NOW	utc(2026, 11, 25, 10, 0, 0)

START_TEST(reset_epoch)
{
	expect("Claude AI usage limit reached|1753441200", NOW, 1753441200);
	expect("Claude AI usage limit reached|1753441200\n", NOW, 1753441200);
	expect("Claude AI usage limit reached | 1753441200", NOW, 1753441200);
	/* Thirteen digits are milliseconds. */
	expect("Claude AI usage limit reached|1753441200123", NOW, 1753441200);
}
END_TEST

START_TEST(reset_time_utc)
{
	expect("You've hit your session limit \xc2\xb7 resets 10:16am (UTC)",
	    NOW, utc(2026, 11, 25, 10, 16, 0));
	/* Already passed today: tomorrow. */
	expect("You've hit your Opus limit \xc2\xb7 resets 9:47am (UTC)", NOW,
	    utc(2026, 11, 26, 9, 47, 0));
	/* Minute precision: a time shown as this minute is today's. */
	expect("resets 10:00am (UTC)", NOW + 30, utc(2026, 11, 25, 10, 0, 0));
	expect("resets 9:59am (UTC)", NOW, utc(2026, 11, 25, 9, 59, 0));
	expect("resets 9:59am (UTC)", NOW + 30, utc(2026, 11, 26, 9, 59, 0));
	expect("resets 9:58am (UTC)", NOW + 30, utc(2026, 11, 26, 9, 58, 0));
	expect("resets 12pm (UTC)", NOW, utc(2026, 11, 25, 12, 0, 0));
	expect("resets 12am (UTC)", NOW, utc(2026, 11, 26, 0, 0, 0));
	expect("resets 12:30am (UTC)", NOW, utc(2026, 11, 26, 0, 30, 0));
	expect("resets 11:59pm (GMT)", NOW, utc(2026, 11, 25, 23, 59, 0));
	expect("resets 15:50 (UTC)", NOW, utc(2026, 11, 25, 15, 50, 0));
	expect("resets 3:30 PM (UTC)", NOW, utc(2026, 11, 25, 15, 30, 0));
	expect("resets 3:30\xe2\x80\xafpm (UTC)", NOW,
	    utc(2026, 11, 25, 15, 30, 0));
	expect("Resets at 3pm (Etc/UTC)", NOW, utc(2026, 11, 25, 15, 0, 0));
	/* Month end and year end carry. */
	expect("resets 9am (UTC)", utc(2026, 12, 31, 23, 0, 0),
	    utc(2027, 1, 1, 9, 0, 0));
	expect("resets 9am (UTC)", utc(2028, 2, 28, 12, 0, 0),
	    utc(2028, 2, 29, 9, 0, 0));
}
END_TEST

START_TEST(reset_time_zones)
{
	need_tzdata();
	/* CET in November. */
	expect("5-hour limit reached \xc2\xb7 resets 3pm (Europe/Stockholm) "
	    "\xc2\xb7 /upgrade to Max 20x or turn on /extra-usage", NOW,
	    utc(2026, 11, 25, 14, 0, 0));
	/* 19:00 in Tokyo: 3pm is tomorrow's. */
	expect("You've hit your limit \xc2\xb7 resets 3pm (Asia/Tokyo)", NOW,
	    utc(2026, 11, 26, 6, 0, 0));
	/* 15:30 in Kolkata: 3:30am is tomorrow's. */
	expect("You've hit your limit \xc2\xb7 resets 3:30am (Asia/Calcutta)",
	    NOW, utc(2026, 11, 25, 22, 0, 0));
	/* 02:00 in Los Angeles: 12:50am passed an hour ago. */
	expect("You've hit your session limit \xc2\xb7 resets 12:50am "
	    "(America/Los_Angeles)", NOW, utc(2026, 11, 26, 8, 50, 0));
	expect("You've hit your limit \xc2\xb7 resets 1pm (Europe/Lisbon)",
	    NOW, utc(2026, 11, 25, 13, 0, 0));
	expect("Claude usage limit reached. Your limit will reset at 3pm "
	    "(America/Bogota).", NOW, utc(2026, 11, 25, 20, 0, 0));
	/* 11:00 in Berlin. */
	expect("resets 11:47am (Europe/Berlin)", NOW,
	    utc(2026, 11, 25, 10, 47, 0));
	expect("resets 10:47am (Europe/Berlin)", NOW,
	    utc(2026, 11, 26, 9, 47, 0));
	expect("resets 4:47am (America/New_York)", NOW,
	    utc(2026, 11, 26, 9, 47, 0));
}
END_TEST

START_TEST(reset_dates)
{
	need_tzdata();
	expect("You've hit your weekly limit \xc2\xb7 resets Nov 26, 8:17am "
	    "(UTC)", NOW, utc(2026, 11, 26, 8, 17, 0));
	/* CET in February, CEST in April. */
	expect("You've hit your limit \xc2\xb7 resets Feb 16, 11am "
	    "(Europe/Berlin)", NOW, utc(2027, 2, 16, 10, 0, 0));
	expect("resets Apr 23 at 4pm (Europe/Berlin)", NOW,
	    utc(2027, 4, 23, 14, 0, 0));
	expect("You've hit your limit \xc2\xb7 resets Apr 23 at 4pm "
	    "(America/Recife)", NOW, utc(2027, 4, 23, 19, 0, 0));
	expect("You've hit your limit - resets Feb 7, 11am (Asia/Seoul)/login "
	    "to switch to an API usage-billed account.", NOW,
	    utc(2027, 2, 7, 2, 0, 0));
	expect("resets November 26th, 8:17am (UTC)", NOW,
	    utc(2026, 11, 26, 8, 17, 0));
	expect("resets Sept. 3, 8am (UTC)", NOW, utc(2027, 9, 3, 8, 0, 0));
	expect("resets Nov 26,8am (UTC)", NOW, utc(2026, 11, 26, 8, 0, 0));
}
END_TEST

START_TEST(reset_date_year)
{
	/* Seen the day before: this year. */
	expect("resets Nov 26, 8:17am (UTC)", utc(2026, 11, 25, 23, 0, 0),
	    utc(2026, 11, 26, 8, 17, 0));
	/* Seen on Dec 30: next year. */
	expect("resets Jan 2, 9am (UTC)", utc(2026, 12, 30, 12, 0, 0),
	    utc(2027, 1, 2, 9, 0, 0));
	/* Less than a day ago: still this year's (a late message). */
	expect("resets Nov 24, 11am (UTC)", NOW, utc(2026, 11, 24, 11, 0, 0));
	/* More than a day ago: next year's. */
	expect("resets Nov 24, 9am (UTC)", NOW, utc(2027, 11, 24, 9, 0, 0));
	/* Dec 31 seen on Jan 1 (a few hours later): last year's. */
	expect("resets Dec 31, 11pm (UTC)", utc(2027, 1, 1, 2, 0, 0),
	    utc(2026, 12, 31, 23, 0, 0));
	/* Feb 29: the next leap year. */
	expect("resets Feb 29, 1am (UTC)", NOW, utc(2028, 2, 29, 1, 0, 0));
}
END_TEST

START_TEST(reset_local_zone)
{
	need_tzdata();
	/* No zone: the process's own, here Tokyo, where it is 19:00. */
	ck_assert_int_eq(setenv("TZ", "Asia/Tokyo", 1), 0);
	tzset();
	expect("5-hour limit reached \xe2\x88\x99 resets 5am", NOW,
	    utc(2026, 11, 25, 20, 0, 0));
	expect("5-hour limit reached \xe2\x88\x99 resets 8pm", NOW,
	    utc(2026, 11, 25, 11, 0, 0));
	/* An unknown zone falls back to the process's own. */
	expect("resets 8pm (Mars/Olympus_Mons)", NOW,
	    utc(2026, 11, 25, 11, 0, 0));
	expect("resets 8pm (../../../etc/passwd)", NOW,
	    utc(2026, 11, 25, 11, 0, 0));
	expect("resets 8pm (Europe/../Asia/Tokyo)", NOW,
	    utc(2026, 11, 25, 11, 0, 0));
	expect("resets 8pm ()", NOW, utc(2026, 11, 25, 11, 0, 0));
	/* The named zone wins, and TZ is restored exactly afterwards. */
	expect("resets 8pm (Europe/Berlin)", NOW, utc(2026, 11, 25, 19, 0, 0));
	ck_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
	{
		time_t t = NOW;
		struct tm tm;

		ck_assert_ptr_nonnull(localtime_r(&t, &tm));
		ck_assert_int_eq(tm.tm_hour, 19);
	}
}
END_TEST

START_TEST(reset_tz_unset_restored)
{
	need_tzdata();
	ck_assert_int_eq(unsetenv("TZ"), 0);
	tzset();
	expect("resets 8pm (Asia/Tokyo)", NOW, utc(2026, 11, 25, 11, 0, 0));
	ck_assert_ptr_null(getenv("TZ"));
	ck_assert_int_eq(setenv("TZ", "", 1), 0);
	expect("resets 8pm (Asia/Tokyo)", NOW, utc(2026, 11, 25, 11, 0, 0));
	ck_assert_str_eq(getenv("TZ"), "");
}
END_TEST

START_TEST(reset_retry_after)
{
	expect("retry-after: 20", NOW, NOW + 20);
	expect("Retry-After: 20\r\n", NOW, NOW + 20);
	expect("retry after 20s", NOW, NOW + 20);
	expect("Rate limited. Please try again in 20 seconds.", NOW, NOW + 20);
	expect("try again in 5 minutes", NOW, NOW + 300);
	expect("try again in 1.5s", NOW, NOW + 2);
	expect("try again in 2 hours", NOW, NOW + 7200);
	expect("try again in 2 days", NOW, NOW + 2 * 86400);
	expect("retry-after: 20\nnext line", NOW, NOW + 20);
	expect("limit reached, resets in 3h", NOW, NOW + 3 * 3600);
	/* The 529 text asks for "a moment": no time. */
	expect_none("API Error: 529 Overloaded. This is a server-side issue, "
	    "usually temporary \xe2\x80\x94 try again in a moment. If it "
	    "persists, check your inference gateway (127.0.0.1:18080).", NOW);
	expect_none("This request would exceed your account's rate limit. "
	    "Please try again later.", NOW);
}
END_TEST

START_TEST(reset_first_valid_wins)
{
	/* An unparseable "reset" earlier does not hide a later one. */
	expect("ECONNRESET; connection reset by peer \xc2\xb7 resets 3pm (UTC)",
	    NOW, utc(2026, 11, 25, 15, 0, 0));
	expect("limit reached \xe2\x88\x99 resets 11am (UTC)", NOW,
	    utc(2026, 11, 25, 11, 0, 0));
}
END_TEST

/* ---- retry_parse_reset: what names no reset ---- */

START_TEST(reset_none)
{
	static const char *none[] = {
		"", "resets", "resets ", "resets at", "resets at ",
		"You've hit your session limit", "5 hour limit reached",
		"API Error: Request rejected (429) \xc2\xb7 rate limited",
		"API Error: Unable to connect to API (ECONNRESET)",
		"Request timed out", "presets 3pm (UTC)", "resets3pm",
		"resets 25:99pm", "resets 13pm", "resets 0am", "resets 3",
		"resets 3:5pm", "resets 10:61am", "resets 24:00",
		"resets 123:00", "resets 3:000pm", "resets 3pmx",
		"resets Foo 26, 8am", "resets Nov 32, 8am", "resets Nov 0, 8am",
		"resets Nov 26 8", "resets Feb 30, 8am (UTC)",
		"resets Nov", "resets Nov 26", "resets Nov 26, ",
		"limit reached|", "limit reached|abc", "limit reached|12",
		"limit reached|99999999999999999999999",
		"limit reached|17534412001234567", "limit reached|1753441200x",
		"retry-after:", "retry-after: soon", "retry-after: 20x",
		"retry-after: 99999999999999999", "try again in",
		"try again in 100000 hours", "try again in 20 lightyears",
		"try again in 20 ms", "retry-after: 20 and more",
		"try again in -5 seconds", "resets in forever",
		"resets in 999999999999 s",
	};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		expect_none(none[i], NOW);
	{
		time_t when = 7;

		ck_assert_int_eq(retry_parse_reset(NULL, 5, NOW, &when), -1);
		ck_assert_int_eq(retry_parse_reset("resets 3pm", 10, NOW, NULL),
		    -1);
		/* len bounds the text: "resets 3pm (UTC)" cut at "resets 3". */
		ck_assert_int_eq(retry_parse_reset("resets 3pm (UTC)", 8, NOW,
		    &when), -1);
		ck_assert_int_eq(when, 7);
	}
}
END_TEST

START_TEST(reset_truncated_everywhere)
{
	static const char *forms[] = {
		"Claude AI usage limit reached|1753441200",
		"You've hit your session limit \xc2\xb7 resets 10:16am (UTC)",
		"resets Nov 26, 8:17am (UTC)",
		"resets Apr 23 at 4pm (America/Recife)",
		"Your limit will reset at 3pm (America/Bogota).",
		"- resets Feb 7, 11am (Asia/Seoul)/login to switch",
		"resets 3:30\xe2\x80\xafpm (UTC)", "retry-after: 20",
		"try again in 1.5 seconds",
	};

	/* Every prefix, each from an exactly sized buffer: no overread. */
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t n = strlen(forms[i]);

		for (size_t k = 0; k <= n; k++) {
			char *copy = malloc(k > 0 ? k : 1);
			time_t when;

			ck_assert_ptr_nonnull(copy);
			memcpy(copy, forms[i], k);
			(void)retry_parse_reset(copy, k, NOW, &when);
			free(copy);
		}
	}
}
END_TEST

START_TEST(reset_odd_now)
{
	time_t when;

	/* A clock far outside the calendar: no crash, no overflow. */
	(void)retry_parse_reset("resets 3pm (UTC)", 16, (time_t)INT64_MAX,
	    &when);
	(void)retry_parse_reset("resets 3pm (Asia/Tokyo)", 23,
	    (time_t)INT64_MAX, &when);
	(void)retry_parse_reset("resets Nov 26, 3pm", 18, (time_t)INT64_MIN,
	    &when);
	ck_assert_int_eq(retry_parse_reset("retry-after: 20", 15,
	    (time_t)INT64_MAX, &when), -1);
	ck_assert_int_eq(retry_parse_reset("retry-after: 20", 15,
	    (time_t)INT64_MIN, &when), -1);
}
END_TEST

static Suite *
retry_suite(void)
{
	Suite *s = suite_create("retry");
	TCase *w = tcase_create("backoff");
	TCase *r = tcase_create("reset");

	tcase_set_timeout(w, 60);
	tcase_set_timeout(r, 60);
	tcase_add_test(w, window_doubles_to_cap);
	tcase_add_test(w, window_saturates);
	tcase_add_test(w, window_odd_arguments);
	tcase_add_test(w, draw_edges);
	tcase_add_test(w, draw_small_reaches_both_ends);
	tcase_add_test(w, draw_within_bounds);
	suite_add_tcase(s, w);

	tcase_add_test(r, reset_epoch);
	tcase_add_test(r, reset_time_utc);
	tcase_add_test(r, reset_time_zones);
	tcase_add_test(r, reset_dates);
	tcase_add_test(r, reset_date_year);
	tcase_add_test(r, reset_local_zone);
	tcase_add_test(r, reset_tz_unset_restored);
	tcase_add_test(r, reset_retry_after);
	tcase_add_test(r, reset_first_valid_wins);
	tcase_add_test(r, reset_none);
	tcase_add_test(r, reset_truncated_everywhere);
	tcase_add_test(r, reset_odd_now);
	suite_add_tcase(s, r);
	return s;
}

int
main(void)
{
	/* Tests set TZ; run each in a known zone unless it sets its own. */
	(void)setenv("TZ", "UTC", 1);
	tzset();
	return run_suite(retry_suite());
}
