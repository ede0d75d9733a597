/*
 * The main of every unit test program: run one Check suite, exit 0 when
 * every test passed. CHECK_MAIN(name_suite) defines it.
 */
#ifndef CW_TEST_CHECK_MAIN_H
#define CW_TEST_CHECK_MAIN_H

#include <stdlib.h>

#include <check.h>

static int
run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define CHECK_MAIN(suite)			\
	int main(void);				\
	int					\
	main(void)				\
	{					\
		return run_suite(suite());	\
	}

#endif
