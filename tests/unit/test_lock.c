/* Unit tests of lib/lock.c: --lock and --lock-wait. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "clock.h"
#include "io.h"
#include "lock.h"

#define FIXTURE_NAME "test_lock"
#include "fixture.h"

/* What a child that tried the lock reports through a pipe. */
struct try_report {
	int	result;
	int	err;
	int64_t	ms;
	pid_t	holder;
};

static void
write_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void
read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, size - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
}

/*
 * Forks a child that closes close_fd (its copy of our lock would keep the
 * lock alive after we release it), tries the lock and reports.
 */
static pid_t
spawn_waiter(const char *path, int64_t wait_ms, int close_fd, int *rd)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		struct try_report rep = { 0 };
		char got[PATH_MAX];
		int64_t t0;
		int fd;

		if (close_fd >= 0)
			close(close_fd);
		t0 = clock_mono_ms();
		rep.result = lock_acquire(NULL, path, wait_ms, -1, &fd, got,
		    sizeof(got));
		rep.err = errno;
		rep.ms = clock_mono_ms() - t0;
		rep.holder = lock_holder(path);
		if (write(p[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			_exit(2);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(p[1]);
	*rd = p[0];
	return pid;
}

static struct try_report
reap_waiter(pid_t pid, int rd)
{
	struct try_report rep;
	int status;

	ck_assert_int_eq(read(rd, &rep, sizeof(rep)), (ssize_t)sizeof(rep));
	close(rd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return rep;
}

/*
 * Forks a child that takes the lock, says so with a byte on the returned
 * pipe, and releases it after hold_ms.
 */
static pid_t
spawn_holder(const char *path, int64_t hold_ms, int *rd)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		char got[PATH_MAX];
		int fd;

		if (lock_acquire(NULL, path, 0, -1, &fd, got, sizeof(got)) !=
		    LOCK_OK)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(2);
		usleep((useconds_t)hold_ms * 1000);
		lock_release(fd);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(p[1]);
	*rd = p[0];
	return pid;
}

START_TEST(acquire_named)
{
	char state[PATH_MAX], path[PATH_MAX], want[PATH_MAX], buf[64];
	struct stat st;
	int fd, fd2;

	fmt(state, "%s/a/b", tmp);
	ck_assert_int_eq(lock_acquire(state, "job-1.x_Y", 0, -1, &fd, path,
	    sizeof(path)), LOCK_OK);
	fmt(want, "%s/locks/job-1.x_Y.lock", state);
	ck_assert_str_eq(path, want);
	fmt(want, "%s/locks", state);
	ck_assert_int_eq(stat(want, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(lock_holder(path), getpid());
	fmt(want, "%ld\n", (long)getpid());
	read_file(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);

	lock_release(fd);
	ck_assert_int_eq(lock_holder(path), -1);
	ck_assert_int_eq(lock_acquire(state, "job-1.x_Y", 0, -1, &fd2, path,
	    sizeof(path)), LOCK_OK);
	lock_release(fd2);
	lock_release(-1);
}
END_TEST

START_TEST(busy_no_wait)
{
	char path[PATH_MAX], got[PATH_MAX];
	struct try_report rep;
	pid_t pid;
	int fd, rd;

	fmt(path, "%s/x.lock", tmp);
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd, got,
	    sizeof(got)), LOCK_OK);
	ck_assert_str_eq(got, path);
	pid = spawn_waiter(path, 0, -1, &rd);
	rep = reap_waiter(pid, rd);
	ck_assert_int_eq(rep.result, LOCK_BUSY);
	ck_assert_int_lt(rep.ms, 1000);
	ck_assert_int_eq(rep.holder, getpid());
	lock_release(fd);
}
END_TEST

START_TEST(busy_after_wait)
{
	char path[PATH_MAX], got[PATH_MAX];
	struct try_report rep;
	pid_t pid;
	int fd, rd;

	fmt(path, "%s/x.lock", tmp);
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd, got,
	    sizeof(got)), LOCK_OK);
	pid = spawn_waiter(path, 200, -1, &rd);
	rep = reap_waiter(pid, rd);
	ck_assert_int_eq(rep.result, LOCK_BUSY);
	ck_assert_int_ge(rep.ms, 190);
	ck_assert_int_lt(rep.ms, 3000);
	lock_release(fd);
}
END_TEST

START_TEST(ok_when_released_during_wait)
{
	char path[PATH_MAX], got[PATH_MAX], c;
	int64_t t0, ms;
	pid_t pid;
	int fd, rd, status;

	fmt(path, "%s/x.lock", tmp);
	pid = spawn_holder(path, 150, &rd);
	ck_assert_int_eq(read(rd, &c, 1), 1);
	close(rd);
	t0 = clock_mono_ms();
	ck_assert_int_eq(lock_acquire(NULL, path, 5000, -1, &fd, got,
	    sizeof(got)), LOCK_OK);
	ms = clock_mono_ms() - t0;
	ck_assert_int_ge(ms, 50);
	ck_assert_int_lt(ms, 4500);
	ck_assert_int_eq(lock_holder(path), getpid());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	lock_release(fd);
}
END_TEST

START_TEST(interrupted_by_signal)
{
	char path[PATH_MAX], got[PATH_MAX], c;
	struct signalfd_siginfo si;
	sigset_t set;
	int64_t t0, ms;
	pid_t pid, parent = getpid();
	int fd = 42, rd, sfd, p[2], status;

	fmt(path, "%s/x.lock", tmp);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	ck_assert_int_ge(sfd, 0);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		int lfd;

		if (lock_acquire(NULL, path, 0, -1, &lfd, got, sizeof(got)) !=
		    LOCK_OK)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(2);
		usleep(150 * 1000);
		kill(parent, SIGUSR1);
		pause();
		_exit(0);
	}
	close(p[1]);
	rd = p[0];
	ck_assert_int_eq(read(rd, &c, 1), 1);
	close(rd);

	t0 = clock_mono_ms();
	ck_assert_int_eq(lock_acquire(NULL, path, 10000, sfd, &fd, got,
	    sizeof(got)), LOCK_INTERRUPTED);
	ms = clock_mono_ms() - t0;
	ck_assert_int_eq(fd, -1);
	ck_assert_int_lt(ms, 5000);
	/* The signal is left for the caller to read. */
	ck_assert_int_eq(read(sfd, &si, sizeof(si)), (ssize_t)sizeof(si));
	ck_assert_int_eq(si.ssi_signo, SIGUSR1);

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	/* Once the holder is gone the lock is free again. */
	ck_assert_int_eq(lock_acquire(NULL, path, 1000, sfd, &fd, got,
	    sizeof(got)), LOCK_OK);
	lock_release(fd);
	close(sfd);
}
END_TEST

START_TEST(symlink_refused)
{
	char target[PATH_MAX], link[PATH_MAX], got[PATH_MAX], buf[64];
	char state[PATH_MAX], locks[PATH_MAX], dangling[PATH_MAX];
	struct stat st;
	int fd = 42;

	fmt(target, "%s/precious", tmp);
	fmt(link, "%s/x.lock", tmp);
	write_file(target, "precious\n", 0644);
	ck_assert_int_eq(symlink(target, link), 0);

	errno = 0;
	ck_assert_int_eq(lock_acquire(NULL, link, 0, -1, &fd, got,
	    sizeof(got)), LOCK_ERROR);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(got, link);
	read_file(target, buf, sizeof(buf));
	ck_assert_str_eq(buf, "precious\n");
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);

	/* The same for a named lock in the state dir. */
	fmt(state, "%s/state", tmp);
	fmt(locks, "%s/state/locks", tmp);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(mkdir(locks, 0700), 0);
	fmt(link, "%s/job.lock", locks);
	ck_assert_int_eq(symlink(target, link), 0);
	errno = 0;
	ck_assert_int_eq(lock_acquire(state, "job", 0, -1, &fd, got,
	    sizeof(got)), LOCK_ERROR);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_str_eq(got, link);
	read_file(target, buf, sizeof(buf));
	ck_assert_str_eq(buf, "precious\n");

	/* A dangling link must not create its target either. */
	fmt(dangling, "%s/created", tmp);
	fmt(link, "%s/d.lock", tmp);
	ck_assert_int_eq(symlink(dangling, link), 0);
	errno = 0;
	ck_assert_int_eq(lock_acquire(NULL, link, 0, -1, &fd, got,
	    sizeof(got)), LOCK_ERROR);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(lstat(dangling, &st), -1);
}
END_TEST

START_TEST(bad_names)
{
	static const char *bad[] = { "", ".", "..", ".hidden", "a b", "a*b",
	    "a\nb", "caf\xc3\xa9", "a:b", "$HOME", "a\\b" };
	char got[PATH_MAX], locks[PATH_MAX];
	struct stat st;
	int fd;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		errno = 0;
		ck_assert_msg(lock_acquire(tmp, bad[i], 0, -1, &fd, got,
		    sizeof(got)) == LOCK_ERROR, "'%s'", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(fd, -1);
	}
	/* Rejected before anything is created. */
	fmt(locks, "%s/locks", tmp);
	ck_assert_int_eq(stat(locks, &st), -1);
	/* A name needs a state dir. */
	errno = 0;
	ck_assert_int_eq(lock_acquire(NULL, "job", 0, -1, &fd, got,
	    sizeof(got)), LOCK_ERROR);
	ck_assert_int_eq(errno, EINVAL);
	/* A path that does not fit. */
	errno = 0;
	ck_assert_int_eq(lock_acquire(tmp, "job", 0, -1, &fd, got, 8),
	    LOCK_ERROR);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(not_regular)
{
	char path[PATH_MAX], got[PATH_MAX];
	int fd;

	fmt(path, "%s/fifo", tmp);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	errno = 0;
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd, got,
	    sizeof(got)), LOCK_ERROR);
	ck_assert_int_eq(errno, IO_ENOTREG);

	fmt(path, "%s/dir", tmp);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	errno = 0;
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd, got,
	    sizeof(got)), LOCK_ERROR);
	ck_assert_int_eq(errno, EISDIR);

	/* An explicit path's directory is not created. */
	fmt(path, "%s/no/such.lock", tmp);
	errno = 0;
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd, got,
	    sizeof(got)), LOCK_ERROR);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/*
 * The lock file is removed and recreated while a waiter waits on the old
 * one: when the old one is released the waiter must not count it as the
 * lock, since the new file (held by us) is what everyone else opens.
 */
START_TEST(replaced_while_waiting)
{
	char path[PATH_MAX], got[PATH_MAX];
	struct try_report rep;
	pid_t pid;
	int fd1, fd2, rd;

	fmt(path, "%s/x.lock", tmp);
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd1, got,
	    sizeof(got)), LOCK_OK);
	pid = spawn_waiter(path, 1500, fd1, &rd);
	usleep(200 * 1000);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd2, got,
	    sizeof(got)), LOCK_OK);
	lock_release(fd1);
	rep = reap_waiter(pid, rd);
	ck_assert_int_eq(rep.result, LOCK_BUSY);
	ck_assert_int_ge(rep.ms, 1400);
	lock_release(fd2);
}
END_TEST

/*
 * A lock file made by another user, which we may only read, is locked
 * all the same (as flock(1) does). Root drops to nobody in a child to
 * see it; other users cannot, and skip.
 */
START_TEST(read_only_file)
{
	char path[PATH_MAX], got[PATH_MAX], c;
	int fd, status, up[2], down[2], res[2];
	pid_t pid;

	if (geteuid() != 0)
		return;
	fmt(path, "%s/shared.lock", tmp);
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	ck_assert_int_eq(lock_acquire(NULL, path, 0, -1, &fd, got,
	    sizeof(got)), LOCK_OK);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	ck_assert_int_eq(pipe2(up, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(down, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		int lfd;

		close(fd);
		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(3);
		/* Busy while the parent holds it... */
		res[0] = lock_acquire(NULL, path, 0, -1, &lfd, got,
		    sizeof(got));
		if (write(up[1], "x", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(4);
		/* ...and ours once it is released. */
		res[1] = lock_acquire(NULL, path, 2000, -1, &lfd, got,
		    sizeof(got));
		lock_release(lfd);
		if (write(up[1], res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(2);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	lock_release(fd);
	ck_assert_int_eq(write(down[1], "x", 1), 1);
	ck_assert_int_eq(read(up[0], res, sizeof(res)), (ssize_t)sizeof(res));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(res[0], LOCK_BUSY);
	ck_assert_int_eq(res[1], LOCK_OK);
	close(up[0]);
	close(down[1]);
}
END_TEST

static Suite *
lock_suite(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("lock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, acquire_named);
	tcase_add_test(tc, busy_no_wait);
	tcase_add_test(tc, busy_after_wait);
	tcase_add_test(tc, ok_when_released_during_wait);
	tcase_add_test(tc, interrupted_by_signal);
	tcase_add_test(tc, symlink_refused);
	tcase_add_test(tc, bad_names);
	tcase_add_test(tc, not_regular);
	tcase_add_test(tc, replaced_while_waiting);
	tcase_add_test(tc, read_only_file);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(lock_suite)
