/*
 * A scratch directory per test, made before it and removed after it, for
 * the unit tests of modules that write files. Define FIXTURE_NAME (the
 * test's name) before including; use setup and teardown as the TCase's
 * checked fixture.
 */
#ifndef CW_TEST_FIXTURE_H
#define CW_TEST_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <string.h>

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

#endif
