/* Unit tests of lib/output.c: atomic delivery for --output. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "io.h"
#include "output.h"

#define FIXTURE_NAME "test_output"
#include "fixture.h"

#define SHA_HELLO \
	"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define SHA_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* What fill writes: len bytes of data (repeated), then maybe fails. */
struct src {
	const char	*data;
	size_t		 len;
	int		 fail_errno;	/* 0: succeed */
	bool		 fail_silent;	/* fail without setting errno */
};

static int
fill_src(void *ctx, int fd)
{
	struct src *s = ctx;
	size_t left = s->len, n;

	if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
		errno = ENOTRECOVERABLE;
		return -1;
	}
	while (left > 0) {
		n = strlen(s->data);
		if (n > left)
			n = left;
		if (io_write_all(fd, s->data, n) == -1)
			return -1;
		left -= n;
	}
	if (s->fail_silent) {
		errno = 0;
		return -1;
	}
	if (s->fail_errno != 0) {
		errno = s->fail_errno;
		return -1;
	}
	return 0;
}

static int
commit_str(const char *path, const char *s, struct output_info *info)
{
	struct src src = { .data = s, .len = strlen(s) };

	return output_commit(path, fill_src, &src, info);
}

static void
write_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(io_write_all(fd, s, strlen(s)), 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* The file's content, or "<errno>" when it cannot be read. */
static const char *
slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1) {
		snprintf(buf, sizeof(buf), "<%s>", strerror(errno));
		return buf;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	return st.st_mode;
}

START_TEST(new_file)
{
	struct output_info info;
	char path[PATH_MAX];

	fmt(path, "%s/out.txt", tmp);
	umask(022);
	memset(&info, 'x', sizeof(info));
	ck_assert_int_eq(commit_str(path, "hello\n", &info), 0);
	ck_assert_str_eq(slurp(path), "hello\n");
	ck_assert_uint_eq(info.size, 6);
	ck_assert_str_eq(info.sha256, SHA_HELLO);
	ck_assert_int_eq(mode_of(path), S_IFREG | 0644);
	ck_assert_int_eq(count_entries(tmp), 1);

	/* A new file follows the umask. */
	fmt(path, "%s/private", tmp);
	umask(077);
	ck_assert_int_eq(commit_str(path, "x", NULL), 0);
	ck_assert_int_eq(mode_of(path), S_IFREG | 0600);
	fmt(path, "%s/open", tmp);
	umask(0);
	ck_assert_int_eq(commit_str(path, "x", NULL), 0);
	ck_assert_int_eq(mode_of(path), S_IFREG | 0666);
	umask(022);
	ck_assert_int_eq(count_entries(tmp), 3);
}
END_TEST

START_TEST(replace_keeps_mode)
{
	struct output_info info;
	char path[PATH_MAX];
	struct stat before, after;

	fmt(path, "%s/out", tmp);
	write_file(path, "old content\n", 0640);
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_int_eq(commit_str(path, "hello\n", &info), 0);
	ck_assert_str_eq(slurp(path), "hello\n");
	ck_assert_str_eq(info.sha256, SHA_HELLO);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_eq(after.st_mode, S_IFREG | 0640);
	/* Replaced by rename, not rewritten in place. */
	ck_assert(before.st_ino != after.st_ino);
	ck_assert_int_eq(count_entries(tmp), 1);
}
END_TEST

START_TEST(fill_fails)
{
	struct src src = { .data = "partial ", .len = 100000,
	    .fail_errno = EPIPE };
	struct output_info info;
	char path[PATH_MAX], fresh[PATH_MAX];
	struct stat before, after;

	fmt(path, "%s/out", tmp);
	write_file(path, "old content\n", 0644);
	ck_assert_int_eq(stat(path, &before), 0);
	errno = 0;
	ck_assert_int_eq(output_commit(path, fill_src, &src, &info), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_str_eq(slurp(path), "old content\n");
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert(before.st_ino == after.st_ino);
	ck_assert(before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
	ck_assert_int_eq(count_entries(tmp), 1);

	/* A fill that fails without saying why still fails. */
	src.fail_errno = 0;
	src.fail_silent = true;
	errno = 0;
	ck_assert_int_eq(output_commit(path, fill_src, &src, NULL), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_str_eq(slurp(path), "old content\n");

	/* A failed first delivery leaves no file at all. */
	fmt(fresh, "%s/fresh", tmp);
	ck_assert_int_eq(output_commit(fresh, fill_src, &src, NULL), -1);
	ck_assert_int_eq(access(fresh, F_OK), -1);
	ck_assert_int_eq(count_entries(tmp), 1);
}
END_TEST

START_TEST(missing_dir)
{
	char path[PATH_MAX];

	fmt(path, "%s/no/such/out", tmp);
	errno = 0;
	ck_assert_int_eq(commit_str(path, "x", NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(count_entries(tmp), 0);
}
END_TEST

START_TEST(path_is_dir)
{
	char dir[PATH_MAX], inner[PATH_MAX], slash[PATH_MAX];

	fmt(dir, "%s/sub", tmp);
	fmt(inner, "%s/sub/keep", tmp);
	fmt(slash, "%s/sub/", tmp);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_file(inner, "keep", 0644);
	errno = 0;
	ck_assert_int_eq(commit_str(dir, "x", NULL), -1);
	ck_assert_int_eq(errno, EISDIR);
	errno = 0;
	ck_assert_int_eq(commit_str(slash, "x", NULL), -1);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_str_eq(slurp(inner), "keep");
	ck_assert_int_eq(count_entries(tmp), 1);
	ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

START_TEST(symlink_replaced_not_followed)
{
	char target[PATH_MAX], link[PATH_MAX];

	fmt(target, "%s/precious", tmp);
	fmt(link, "%s/out", tmp);
	write_file(target, "precious\n", 0600);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(commit_str(link, "hello\n", NULL), 0);
	ck_assert(S_ISREG(mode_of(link)));
	ck_assert_str_eq(slurp(link), "hello\n");
	ck_assert_str_eq(slurp(target), "precious\n");
	ck_assert_int_eq(count_entries(tmp), 2);
}
END_TEST

START_TEST(empty_and_long_names)
{
	struct output_info info;
	char path[PATH_MAX], name[NAME_MAX + 1];

	fmt(path, "%s/empty", tmp);
	ck_assert_int_eq(commit_str(path, "", &info), 0);
	ck_assert_uint_eq(info.size, 0);
	ck_assert_str_eq(info.sha256, SHA_EMPTY);
	ck_assert_str_eq(slurp(path), "");

	/* The temp name must be shortened to fit NAME_MAX. */
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	fmt(path, "%s/%s", tmp, name);
	ck_assert_int_eq(commit_str(path, "hello\n", &info), 0);
	ck_assert_str_eq(slurp(path), "hello\n");
	ck_assert_int_eq(count_entries(tmp), 2);

	/* A bare name is in the current directory. */
	ck_assert_int_eq(chdir(tmp), 0);
	ck_assert_int_eq(commit_str("bare", "hello\n", &info), 0);
	ck_assert_str_eq(info.sha256, SHA_HELLO);
	ck_assert_str_eq(slurp("bare"), "hello\n");
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(count_entries(tmp), 3);
}
END_TEST

START_TEST(large_content)
{
	struct src src = { .data = "0123456789abcdef", .len = 5 << 20 };
	struct output_info info;
	char path[PATH_MAX];
	struct stat st;

	fmt(path, "%s/big", tmp);
	ck_assert_int_eq(output_commit(path, fill_src, &src, &info), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(info.size, 5 << 20);
	ck_assert_int_eq(st.st_size, 5 << 20);
	ck_assert_int_eq(strlen(info.sha256), 64);
}
END_TEST

/*
 * Runs in a child: the file size limit turns the 1 MiB write into EFBIG
 * (SIGXFSZ ignored). Exit 0 when it failed as it should.
 */
static int
efbig_child(const char *path)
{
	struct src src = { .data = "0123456789abcdef", .len = 1 << 20 };
	struct rlimit rl = { 65536, 65536 };

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 10;
	errno = 0;
	if (output_commit(path, fill_src, &src, NULL) != -1)
		return 11;
	return errno == EFBIG ? 0 : 12;
}

START_TEST(efbig_leaves_old)
{
	char path[PATH_MAX];
	int status;
	pid_t pid;

	fmt(path, "%s/out", tmp);
	write_file(path, "old content\n", 0644);
	if ((pid = fork()) == 0)
		_exit(efbig_child(path));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_str_eq(slurp(path), "old content\n");
	ck_assert_int_eq(count_entries(tmp), 1);
}
END_TEST

/*
 * On a 64 KiB disk (on_tiny_tmpfs): 0 passed, other values the step
 * that failed.
 */
static int
enospc_child(const char *dir)
{
	struct src src = { .data = "0123456789abcdef", .len = 1 << 20 };
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/out", dir) >= (int)sizeof(path))
		return 1;
	if (commit_str(path, "old content\n", NULL) == -1)
		return 2;
	errno = 0;
	if (output_commit(path, fill_src, &src, NULL) != -1)
		return 3;
	if (errno != ENOSPC)
		return 4;
	if (strcmp(slurp(path), "old content\n") != 0)
		return 5;
	if (count_entries(dir) != 1)
		return 6;
	return 0;
}

START_TEST(enospc_leaves_old)
{
	on_tiny_tmpfs("64k", enospc_child);
}
END_TEST

static Suite *
output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("output");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, new_file);
	tcase_add_test(tc, replace_keeps_mode);
	tcase_add_test(tc, fill_fails);
	tcase_add_test(tc, missing_dir);
	tcase_add_test(tc, path_is_dir);
	tcase_add_test(tc, symlink_replaced_not_followed);
	tcase_add_test(tc, empty_and_long_names);
	tcase_add_test(tc, large_content);
	tcase_add_test(tc, efbig_leaves_old);
	tcase_add_test(tc, enospc_leaves_old);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(output_suite)
