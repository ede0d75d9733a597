#include "duration.h"

#include <stdbool.h>
#include <string.h>

static int64_t
unit_ms(const char *u)
{
	if (*u == '\0' || strcmp(u, "s") == 0)
		return 1000;
	if (strcmp(u, "ms") == 0)
		return 1;
	if (strcmp(u, "m") == 0)
		return 60 * 1000;
	if (strcmp(u, "h") == 0)
		return 3600 * 1000;
	if (strcmp(u, "d") == 0)
		return 86400 * 1000;
	return -1;
}

/*
 * Hand-written rather than strtod: strtod accepts white space, signs,
 * hex, "inf" and "nan", none of which is a duration.
 */
int
duration_parse(const char *s, int64_t *ms)
{
	int64_t whole = 0, frac = 0, scale = 1, mult;
	bool digits = false;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++, digits = true) {
		whole = whole * 10 + (*p - '0');
		if (whole > DURATION_MAX_MS)
			return -1;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
			if (scale < INT64_C(1000000000)) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		}
	}
	if (!digits || (mult = unit_ms(p)) < 0)
		return -1;
	if (whole > DURATION_MAX_MS / mult)
		return -1;
	/* frac < 1e9 and mult <= 8.64e7: the product fits. Round up. */
	int64_t part = (frac * mult + scale - 1) / scale;
	*ms = whole * mult + part;
	if (*ms > DURATION_MAX_MS)
		return -1;
	if (*ms == 0 && (whole != 0 || frac != 0))
		*ms = 1;
	return 0;
}
