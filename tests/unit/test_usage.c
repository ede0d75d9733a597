/*
 * Unit tests of what a tree costs: sizes on the command line, the RSS
 * sum of the calling process's descendants, and the accounting done as
 * children are reaped (CPU of each, the CLI's peak, the others' names).
 */
#include <check.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "size.h"
#include "tree.h"
#include "usage.h"

START_TEST(size_good)
{
	static const struct { const char *s; int64_t b; } cases[] = {
		{ "0", 0 }, { "512", 512 }, { "1k", 1024 }, { "1K", 1024 },
		{ "512M", INT64_C(512) << 20 }, { "2G", INT64_C(2) << 30 },
		{ "1.5G", INT64_C(3) << 29 }, { "2GiB", INT64_C(2) << 30 },
		{ "64MB", INT64_C(64) << 20 }, { "1T", INT64_C(1) << 40 },
		{ ".5M", INT64_C(1) << 19 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int64_t b = -1;
		ck_assert_msg(size_parse(cases[i].s, &b) == 0, "%s", cases[i].s);
		ck_assert_msg(b == cases[i].b, "%s: %lld", cases[i].s,
		    (long long)b);
	}
}
END_TEST

START_TEST(size_bad)
{
	static const char *const cases[] = { "", "M", "-1M", "+1M", " 1M",
	    "1M ", "1x", "1MM", "1Mb", "0x10", "inf", "nan", "1e3", "2048T",
	    "99999999999999999999" };
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int64_t b = 7;
		ck_assert_msg(size_parse(cases[i], &b) == -1, "%s", cases[i]);
		ck_assert_int_eq(b, 7);
	}
}
END_TEST

/* A child that touches mb MiB, says so on fd, and waits to be killed. */
static pid_t
holder(long mb, const char *name, int *ready)
{
	int fds[2];
	pid_t p;

	ck_assert(pipe(fds) == 0);
	if ((p = fork()) == 0) {
		volatile char *m = malloc((size_t)mb << 20);
		prctl(PR_SET_NAME, name);
		for (size_t i = 0; m != NULL && i < (size_t)mb << 20; i += 4096)
			m[i] = 1;
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	*ready = fds[0];
	return p;
}

START_TEST(tree_rss_sums_descendants)
{
	int r1, r2, n = -1, nof;
	char c;
	pid_t pids[8];
	int64_t before = tree_rss_kb(getpid(), pids, 8, &n), kb, kb_of;
	pid_t a = holder(24, "h1", &r1), b = holder(40, "h2", &r2);

	ck_assert_int_eq(before, 0);
	ck_assert_int_eq(n, 0);
	ck_assert(read(r1, &c, 1) == 1 && read(r2, &c, 1) == 1);
	kb = tree_rss_kb(getpid(), pids, 8, &n);
	ck_assert_int_eq(n, 2);
	/* 64 MiB touched, plus what each process had before. */
	ck_assert_msg(kb >= 64 * 1024 && kb < 64 * 1024 + 16 * 1024,
	    "%lld KiB", (long long)kb);
	/* Reading only the pids found: the same sum; a dead one dropped. */
	nof = n;
	kb_of = tree_rss_kb_of(pids, &nof);
	ck_assert_int_eq(nof, 2);
	ck_assert_msg(kb_of > kb - 1024 && kb_of < kb + 1024, "%lld / %lld",
	    (long long)kb_of, (long long)kb);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	kb_of = tree_rss_kb_of(pids, &nof);
	ck_assert_int_eq(nof, 1);
	ck_assert_int_eq(pids[0], b);
	ck_assert_msg(kb_of >= 40 * 1024 && kb_of < 40 * 1024 + 8 * 1024,
	    "%lld KiB", (long long)kb_of);
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
	ck_assert_int_eq(tree_rss_kb(getpid(), pids, 8, &n), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

static long
burn_ms(long ms)
{
	struct rusage ru;
	volatile unsigned long x = 0;
	long used;

	do {
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
		getrusage(RUSAGE_SELF, &ru);
		used = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
	} while (used < ms);
	return used;
}

START_TEST(usage_reap_accounts)
{
	struct usage u, run;
	int st, r, left = 2;
	char c;
	pid_t cli, other, p;

	memset(&u, 0, sizeof(u));
	memset(&run, 0, sizeof(run));
	/* The "CLI" burns 150 ms; the other holds 16 MiB until killed. */
	if ((cli = fork()) == 0) {
		burn_ms(150);
		_exit(0);
	}
	other = holder(16, "mcp-x", &r);
	ck_assert(read(r, &c, 1) == 1);
	kill(other, SIGKILL);
	while (left > 0) {
		p = usage_reap(&u, cli, &st);
		ck_assert_int_ge(p, 0);
		if (p > 0)
			left--;
		else
			usleep(10000);
	}
	ck_assert_int_eq(usage_reap(&u, cli, &st), -1);
	ck_assert_int_eq(u.reaped, 1);
	ck_assert_int_eq(u.nnames, 1);
	ck_assert_str_eq(u.names[0], "mcp-x");
	ck_assert_msg(u.cpu_us >= 150000 && u.cpu_us < 250000, "%lld us",
	    (long long)u.cpu_us);
	ck_assert_int_gt(u.peak_rss_kb, 0);
	/* A run takes the largest peak and sums the rest. */
	run.peak_rss_kb = u.peak_rss_kb + 1;
	usage_add(&run, &u);
	usage_add(&run, &u);
	ck_assert_int_eq(run.peak_rss_kb, u.peak_rss_kb + 1);
	ck_assert_int_eq(run.cpu_us, 2 * u.cpu_us);
	ck_assert_int_eq(run.reaped, 2);
	ck_assert_int_eq(run.nnames, 1);
}
END_TEST

static Suite *
usage_suite(void)
{
	Suite *s = suite_create("usage");
	TCase *tc = tcase_create("usage");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, size_good);
	tcase_add_test(tc, size_bad);
	tcase_add_test(tc, tree_rss_sums_descendants);
	tcase_add_test(tc, usage_reap_accounts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(usage_suite)
