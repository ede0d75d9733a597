/*
 * Unit tests of lib/fleet.c that need no server: --state-url's syntax,
 * the redaction of its password, and a NULL fleet (no --state-url),
 * which must be cooldown.c's behaviour exactly and touch no network.
 * The server side is tests/integ/t_fleet.sh, against a real Redis.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "clock.h"
#include "cooldown.h"
#include "fleet.h"

START_TEST(urls_taken)
{
	static const char *const ok[] = {
		"redis://127.0.0.1", "redis://127.0.0.1:6380",
		"redis://localhost:6380/2", "redis://:pw@h", "redis://u:pw@h:1/0",
		"redis://:p@ss@h:7", "redis://[::1]:6379/1", "redis://h/",
		"unix:///run/redis.sock", "unix://:pw@/run/redis.sock",
	};
	char err[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		ck_assert_msg(fleet_url_check(ok[i], err, sizeof(err)) == 0,
		    "%s: %s", ok[i], err);
}
END_TEST

START_TEST(urls_refused)
{
	static const char *const bad[] = {
		"", "http://h", "redis://", "redis://:1", "redis://h:0",
		"redis://h:65536", "redis://h:x", "redis://h/x", "redis://h/-1",
		"redis://user@h", "unix://", "unix:///", "unix://relative",
		"redis://[::1", "rediss://h",
	};
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		ck_assert_msg(fleet_url_check(bad[i], err, sizeof(err)) == -1,
		    "%s taken", bad[i]);
		ck_assert_msg(err[0] != '\0', "%s: no reason", bad[i]);
	}
}
END_TEST

START_TEST(password_redacted)
{
	char buf[256];

	fleet_url_redact("redis://:hunter22@h:1/2", buf, sizeof(buf));
	ck_assert_str_eq(buf, "redis://:[redacted]@h:1/2");
	fleet_url_redact("redis://me:hunter22@h", buf, sizeof(buf));
	ck_assert_str_eq(buf, "redis://me:[redacted]@h");
	/* An '@' in the password: the whole password still goes. */
	fleet_url_redact("redis://:a@b@h", buf, sizeof(buf));
	ck_assert_str_eq(buf, "redis://:[redacted]@h");
	fleet_url_redact("unix://:hunter22@/run/r.sock", buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix://:[redacted]@/run/r.sock");
	fleet_url_redact("redis://h:1", buf, sizeof(buf));
	ck_assert_str_eq(buf, "redis://h:1");
	fleet_url_redact("unix:///a@b/r.sock", buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:///a@b/r.sock");
}
END_TEST

/* No --state-url: the state dir's cooldown, as before. */
START_TEST(null_fleet_is_local)
{
	char dir[] = "/tmp/test_fleet.XXXXXX";
	struct cooldown cd;
	int64_t now = clock_real_ms();
	char path[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_null(fleet_open(NULL, NULL));
	ck_assert_int_eq(fleet_tick_ms(NULL), 0);
	ck_assert_ptr_null(fleet_where(NULL));
	ck_assert_int_eq(fleet_cooldown_note(NULL, dir, OC_RATE_LIMIT, now, 0,
	    5000, 3), 0);
	ck_assert_int_eq(fleet_cooldown_check(NULL, dir, now, &cd), 0);
	ck_assert_int_eq(cd.kind, CD_RATE_LIMIT);
	ck_assert_int_eq(cd.until_ms, now + 5000);
	/* No state dir and no fleet: nothing to consult. */
	ck_assert_int_eq(fleet_cooldown_check(NULL, NULL, now, &cd), -1);
	ck_assert_int_eq(cd.kind, CD_NONE);
	fleet_ledger_add(NULL, NULL);
	fleet_tick(NULL);
	fleet_close(NULL);
	snprintf(path, sizeof(path), "%s/cooldown", dir);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/cooldown.lock", dir);
	(void)unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A Redis that is not there: --lock fails closed, at once. */
START_TEST(unreachable_falls_back)
{
	char holder[128];
	struct fleet *f = fleet_open("unix:///nonexistent/redis.sock", NULL);
	int64_t t0 = clock_mono_ms();

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fleet_lock_acquire(f, "job", 0, -1, holder,
	    sizeof(holder)), LOCK_ERROR);
	ck_assert_msg(strstr(holder, "No such file") != NULL, "%s", holder);
	ck_assert_ptr_null(fleet_where(f));
	ck_assert_int_eq(fleet_tick_ms(f), 0);
	fleet_close(f);
	ck_assert_int_lt(clock_mono_ms() - t0, 1000);
}
END_TEST

static Suite *
fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("fleet");

	tcase_add_test(tc, urls_taken);
	tcase_add_test(tc, urls_refused);
	tcase_add_test(tc, password_redacted);
	tcase_add_test(tc, null_fleet_is_local);
	tcase_add_test(tc, unreachable_falls_back);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(fleet_suite)
