/*
 * jget: members of a cJSON object read as the payload reads them (see
 * jget.h). One copy for payload.c and judge.c, so that an event and the
 * result are read by the same rules.
 */
#include "jget.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

bool
jget_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

bool
jget_all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!jget_is_space((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * A JSON number as an integer. Doubles out of range (1e999 parses as
 * infinity) would make the conversion undefined, so they count as absent.
 */
bool
jget_num_i64(const cJSON *it, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(it))
		return false;
	d = it->valuedouble;
	if (!isfinite(d) || d <= -9.2e18 || d >= 9.2e18)
		return false;
	*out = (int64_t)d;
	return true;
}

int64_t
jget_i64(const cJSON *obj, const char *key)
{
	int64_t v = 0;

	(void)jget_num_i64(cJSON_GetObjectItemCaseSensitive(obj, key), &v);
	return v;
}

int
jget_int(const cJSON *obj, const char *key)
{
	int64_t v = jget_i64(obj, key);

	return v < -1000000000 || v > 1000000000 ? 0 : (int)v;
}

double
jget_double(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return 0;
	return it->valuedouble;
}

const char *
jget_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

bool
jget_str_is(const cJSON *obj, const char *key, const char *want)
{
	const char *s = jget_str(obj, key);

	return s != NULL && strcmp(s, want) == 0;
}
