#include "redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_MIN	8
#define MASK		"[redacted]"

static bool
ends_with(const char *name, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(name + n - k, suffix, k) == 0;
}

static bool
secret_name(const char *name, size_t n)
{
	return ends_with(name, n, "_KEY") || ends_with(name, n, "_TOKEN") ||
	    ends_with(name, n, "_SECRET") ||
	    memmem(name, n, "PASSWORD", 8) != NULL;
}

/* Replaces each occurrence of val (n bytes) in s by MASK. */
static void
mask_value(char *s, size_t size, const char *val, size_t n)
{
	const size_t m = sizeof(MASK) - 1;
	char *p = s;

	while ((p = strstr(p, val)) != NULL) {
		size_t at = (size_t)(p - s), tail = strlen(p + n);

		/* A short secret's mask is longer: what no longer fits goes. */
		if (at + m >= size) {
			*p = '\0';
			return;
		}
		if (at + m + tail + 1 > size)
			tail = size - at - m - 1;
		memmove(p + m, p + n, tail);
		p[m + tail] = '\0';
		memcpy(p, MASK, m);
		p += m;
	}
}

void
redact_secrets(char *s, size_t size)
{
	/* Nothing to hide (a good run's detail): no walk of the environment. */
	if (*s == '\0')
		return;
	for (char **e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t n;

		if (eq == NULL || !secret_name(*e, (size_t)(eq - *e)))
			continue;
		if ((n = strlen(eq + 1)) >= SECRET_MIN)
			mask_value(s, size, eq + 1, n);
	}
}
