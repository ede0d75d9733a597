/*
 * The CLI's error texts: which text is one of its error messages, the
 * HTTP status it names, and the class of an error (rate limit, overload,
 * server, network, auth, other). Pure functions of their arguments;
 * judge.c decides which text is the CLI's and asks here.
 */
#include "clierror.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool
starts(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);

	return n >= m && memcmp(s, prefix, m) == 0;
}

/* Case-insensitive search for an ASCII needle in n bytes of s. */
static bool
has_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	if (n > SCAN_BYTES)
		n = SCAN_BYTES;
	for (size_t i = 0; i + m <= n; i++)
		if (strncasecmp(s + i, needle, m) == 0)
			return true;
	return false;
}

static bool
has_any_ci(const char *s, size_t n, const char *const *needles)
{
	for (; *needles != NULL; needles++)
		if (has_ci(s, n, *needles))
			return true;
	return false;
}

/* Bytes up to the first newline. */
static size_t
first_line(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);

	return nl != NULL ? (size_t)(nl - s) : n;
}

/*
 * `You've hit your [a few words] limit`: "your session limit", "your org's
 * monthly usage limit", "your Fable 5 limit". Only words between, so that
 * "You've hit your stride; the limit is…" is not one.
 */
static bool
hit_your_limit(const char *s, size_t n, const char *key)
{
	size_t m = strlen(key);

	if (n > SCAN_BYTES)
		n = SCAN_BYTES;
	for (size_t i = 0; i + m <= n; i++) {
		if (strncasecmp(s + i, key, m) != 0)
			continue;
		for (size_t j = i + m; j < n && j < i + m + 48; j++) {
			unsigned char c = (unsigned char)s[j];

			if (n - j >= 5 && strncasecmp(s + j, "limit", 5) == 0)
				return true;
			if (!(c == ' ' || c == '\'' || c == '-' || c >= 0x80 ||
			    (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' &&
			    (c | 0x20) <= 'z')))
				break;
		}
	}
	return false;
}

/*
 * Usage-limit forms the CLI prints (lib/retry.c lists them), and the strings the
 * 2.1.197 binary holds. Only ever applied to a text already known to be an
 * error, or to the start of one (cli_error_form).
 */
static bool
usage_limit_text(const char *s, size_t n)
{
	static const char *const forms[] = {
		"usage limit reached",		/* Claude (AI) usage limit reached */
		"hour limit reached",		/* 5-hour / 5 hour limit reached */
		"weekly limit reached",
		"limit reached \xe2\x88\x99 resets",	/* U+2219 */
		"limit reached \xc2\xb7 resets",	/* U+00B7 */
		"out of usage credits",
		"out of extra usage",
		"monthly usage limit",
		"grace_daily_limit_reached",
		NULL
	};

	if (s == NULL)
		return false;
	return hit_your_limit(s, n, "you've hit your ") ||
	    hit_your_limit(s, n, "you\xe2\x80\x99ve hit your ") ||
	    has_any_ci(s, n, forms);
}

/*
 * Does this text start with one of the CLI's own error messages? A model
 * answer could begin with the same words, so the short forms must be the
 * whole first line or be followed by the CLI's separators.
 */
static bool
term_form(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);
	const char *r;
	size_t rn;

	if (!starts(s, n, prefix))
		return false;
	r = s + m;
	rn = n - m;
	return rn == 0 || *r == '\n' || *r == '\r' || *r == '.' ||
	    starts(r, rn, " \xc2\xb7") || starts(r, rn, " \xe2\x88\x99") ||
	    starts(r, rn, " -") || starts(r, rn, " (");
}

bool
cli_error_form(const char *s, size_t n)
{
	static const char *const prefixes[] = {
		"API Error: ",
		"Claude AI usage limit reached",
		"Claude usage limit reached",
		"5-hour limit reached",
		"5 hour limit reached",
		"Failed to authenticate. ",
		"Error: Reached max turns",
		"There's an issue with the selected model",
		NULL
	};
	static const char *const terms[] = {
		"Not logged in", "Invalid API key", "Prompt is too long",
		"Execution error", "Request timed out", NULL
	};
	static const char *const limit_starts[] = {
		"You've hit your ", "You\xe2\x80\x99ve hit your ",
		"You're out of ", "You\xe2\x80\x99re out of ", NULL
	};
	size_t line;

	if (s == NULL)
		return false;
	for (const char *const *p = prefixes; *p != NULL; p++)
		if (starts(s, n, *p))
			return true;
	for (const char *const *p = terms; *p != NULL; p++)
		if (term_form(s, n, *p))
			return true;
	line = first_line(s, n);
	for (const char *const *p = limit_starts; *p != NULL; p++)
		if (starts(s, n, *p) && usage_limit_text(s, line))
			return true;
	/* `Error: {"data":…,"error_type":"grace_daily_limit_reached"}` */
	return starts(s, n, "Error: {") &&
	    has_ci(s, line, "grace_daily_limit_reached");
}

/* The HTTP status an error text names (`API Error: 529 …`), or 0. */
int
text_status(const char *s, size_t n)
{
	static const char key[] = "API Error: ";
	static const char rej[] = "Request rejected (";
	const size_t m = sizeof(key) - 1;
	const char *p = NULL;
	size_t rn;
	int st;

	if (s == NULL)
		return 0;
	if (n > SCAN_BYTES)
		n = SCAN_BYTES;
	for (size_t i = 0; i + m <= n; i++) {
		if (memcmp(s + i, key, m) == 0) {
			p = s + i + m;
			break;
		}
	}
	if (p == NULL)
		return 0;
	rn = (size_t)(s + n - p);
	if (starts(p, rn, rej)) {
		p += sizeof(rej) - 1;
		rn -= sizeof(rej) - 1;
	}
	if (rn < 3 || p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' || (rn > 3 && p[3] >= '0' && p[3] <= '9'))
		return 0;
	st = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	return st;
}


/* The class of an error: the first rule that matches wins. */
enum outcome
classify(const struct errsig *e)
{
	static const char *const network[] = {
		"Unable to connect to API", "ECONNRESET", "ECONNREFUSED",
		"ConnectionRefused", "ConnectionClosed", "FailedToOpenSocket",
		"ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "socket hang up",
		"fetch failed", "Request timed out", "Connection error",
		"network", NULL
	};
	static const char *const auth[] = {
		"Not logged in", "Invalid API key", "Failed to authenticate",
		"authentication", NULL
	};
	const char *t = e->text != NULL ? e->text : "";
	size_t n = e->text != NULL ? e->len : 0;
	bool kind_limit = e->kind != NULL && strcmp(e->kind, "rate_limit") == 0;
	bool kind_auth = e->kind != NULL &&
	    strcmp(e->kind, "authentication_failed") == 0;

	if (e->status == 429 || usage_limit_text(t, n) || e->rejected ||
	    kind_limit)
		return OC_RATE_LIMIT;
	if (e->status == 529 || has_ci(t, n, "overloaded"))
		return OC_OVERLOADED;
	/*
	 * The malformed-response text is what the CLI prints when the SSE
	 * stream broke mid-way (an `event: error`, seen for overloads):
	 * the server's failure, and as transient as a 5xx.
	 */
	if (e->status == 500 || e->status == 502 || e->status == 503 ||
	    e->status == 504 || has_ci(t, n, "empty or malformed response"))
		return OC_SERVER;
	if (has_any_ci(t, n, network))
		return OC_NETWORK;
	if (e->status == 401 || e->status == 403 || has_any_ci(t, n, auth) ||
	    kind_auth)
		return OC_AUTH;
	return OC_ERROR;
}
