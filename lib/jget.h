/*
 * jget: members of a cJSON object read as the payload reads them, by
 * payload.c (the events) and judge.c (the result) alike. A member that
 * is absent or of another type reads as 0 or NULL, never as an error:
 * the CLI's output is judged by what it says, not refused for its form.
 */
#ifndef CW_JGET_H
#define CW_JGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* it as an integer, when a number in range (1e999 is not). */
bool		 jget_num_i64(const struct cJSON *it, int64_t *out);
int64_t		 jget_i64(const struct cJSON *obj, const char *key);
/* 0 outside +-1e9, as for an absent member. */
int		 jget_int(const struct cJSON *obj, const char *key);
/* 0 when not a finite number. */
double		 jget_double(const struct cJSON *obj, const char *key);
/* cJSON's valuestring, or NULL when not a string. */
const char	*jget_str(const struct cJSON *obj, const char *key);
bool		 jget_str_is(const struct cJSON *obj, const char *key,
		    const char *want);

/*
 * C's white space (isspace in the C locale), which is more than JSON's;
 * jscan.c's too, so that a result read back from the spool is blank
 * exactly when a held one is.
 */
bool		 jget_is_space(unsigned char c);
bool		 jget_all_space(const char *s, size_t n);

#endif
