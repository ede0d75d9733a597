#include "size.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static int64_t
unit_bytes(const char *u)
{
	static const char units[] = "KMGT";
	const char *at;
	int64_t m = 1;

	if (*u == '\0')
		return 1;
	if ((at = strchr(units, toupper((unsigned char)*u))) == NULL)
		return -1;
	for (const char *p = units; p <= at; p++)
		m *= 1024;
	u++;
	if (strcmp(u, "") == 0 || strcmp(u, "B") == 0 || strcmp(u, "iB") == 0)
		return m;
	return -1;
}

/* Hand-written as duration_parse is: strtod takes signs, hex and "inf". */
int
size_parse(const char *s, int64_t *bytes)
{
	int64_t whole = 0, frac = 0, scale = 1, mult;
	bool digits = false;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++, digits = true) {
		whole = whole * 10 + (*p - '0');
		if (whole > SIZE_MAX_BYTES)
			return -1;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
			if (scale < INT64_C(1000000)) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		}
	}
	if (!digits || (mult = unit_bytes(p)) < 0 ||
	    whole > SIZE_MAX_BYTES / mult)
		return -1;
	/* frac < 1e6 and mult <= 2^40: the product fits. */
	*bytes = whole * mult + frac * mult / scale;
	if (*bytes > SIZE_MAX_BYTES)
		return -1;
	return 0;
}
