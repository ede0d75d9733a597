/* redact_secrets: secrets from the environment out of logged text. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "redact.h"

START_TEST(masks_every_occurrence)
{
	char s[128] = "key sk-ant-12345678 and again sk-ant-12345678.";

	ck_assert_int_eq(setenv("ANTHROPIC_API_KEY", "sk-ant-12345678", 1), 0);
	redact_secrets(s, sizeof(s));
	ck_assert_str_eq(s, "key [redacted] and again [redacted].");
	unsetenv("ANTHROPIC_API_KEY");
}
END_TEST

START_TEST(names_that_count)
{
	char s[128] = "a=hunter22 b=tok-abcdefgh c=plainvalue1 d=pass-word-1";

	setenv("X_TOKEN", "tok-abcdefgh", 1);
	setenv("MY_PASSWORD_FILE", "pass-word-1", 1);
	setenv("NOT_A_SECRET_NAME", "plainvalue1", 1);
	setenv("SHORT_KEY", "hunter2", 1);	/* 7 bytes: too short */
	redact_secrets(s, sizeof(s));
	ck_assert_str_eq(s, "a=hunter22 b=[redacted] c=plainvalue1 d=[redacted]");
	unsetenv("X_TOKEN");
	unsetenv("MY_PASSWORD_FILE");
	unsetenv("NOT_A_SECRET_NAME");
	unsetenv("SHORT_KEY");
}
END_TEST

START_TEST(a_longer_mask_never_overflows)
{
	/* An 8-byte secret at the very end of a full buffer. */
	char s[16] = "0123456abcdefgh";
	char big[32];

	setenv("Z_SECRET", "abcdefgh", 1);
	redact_secrets(s, sizeof(s));
	ck_assert_uint_lt(strlen(s), sizeof(s));
	ck_assert_ptr_null(strstr(s, "abcdefgh"));
	memset(big, 'x', sizeof(big));
	memcpy(big, "abcdefgh", 8);
	big[sizeof(big) - 1] = '\0';
	redact_secrets(big, sizeof(big));
	ck_assert_uint_lt(strlen(big), sizeof(big));
	ck_assert_int_eq(strncmp(big, "[redacted]", 10), 0);
	unsetenv("Z_SECRET");
}
END_TEST

static Suite *
redact_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("redact");

	tcase_add_test(tc, masks_every_occurrence);
	tcase_add_test(tc, names_that_count);
	tcase_add_test(tc, a_longer_mask_never_overflows);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(redact_suite)
