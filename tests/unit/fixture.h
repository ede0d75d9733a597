/*
 * A scratch directory per test, made before it and removed after it, for
 * the unit tests of modules that write files. Define FIXTURE_NAME (the
 * test's name) before including; use setup and teardown as the TCase's
 * checked fixture.
 */
#ifndef CW_TEST_FIXTURE_H
#define CW_TEST_FIXTURE_H

#include <sys/mount.h>
#include <sys/wait.h>

#include <dirent.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* snprintf into an array, failing the test on truncation. */
#define fmt(buf, ...) \
	ck_assert_int_lt(snprintf(buf, sizeof(buf), __VA_ARGS__), \
	    (int)sizeof(buf))

static char tmp[64];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
setup(void)
{
	strlcpy(tmp, "/tmp/" FIXTURE_NAME ".XXXXXX", sizeof(tmp));
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
teardown(void)
{
	(void)nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries of dir other than . and .. */
static int __attribute__((unused))
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/*
 * Runs body(dir) in a child with its own mount namespace and a tmpfs of
 * the given size ("64k") on the scratch dir, which goes away with the
 * child: a disk that fills. body returns 0 when it passed, else the
 * number of the step that failed. Skipped, and said so, where no tmpfs
 * can be mounted.
 */
static void __attribute__((unused))
on_tiny_tmpfs(const char *size, int (*body)(const char *dir))
{
	char opt[32];
	int status;
	pid_t pid;

	fmt(opt, "size=%s", size);
	if ((pid = fork()) == 0) {
		if (unshare(CLONE_NEWNS) == -1 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
		    mount("tmpfs", tmp, "tmpfs", 0, opt) == -1)
			_exit(77);
		_exit(body(tmp));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		fprintf(stderr, FIXTURE_NAME ": no tmpfs mount here, ENOSPC "
		    "test skipped\n");
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

#endif
