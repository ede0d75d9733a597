/*
 * Payload: reads what the CLI printed on stdout and judges it. Bytes in,
 * events to a hook, a verdict out; no processes, and no I/O but reading
 * back the caller's spool and writing a result where it is told to.
 *
 * The shapes handled here are the CLI's outputs as observed
 * (tests/e2e/cli-observations.md; tests/unit/test_payload.c holds each
 * byte for byte), and the order of judgement is payload_judge's and
 * classify's, first match wins. stream-json is read a line at a time through
 * one reused buffer, so memory stays flat however long the stream; only
 * the last result object is kept. A line too long for that buffer is
 * read back from the spool instead and reduced to what is judged (see
 * "Lines read back from the spool"), so memory stays flat however long
 * a line. json is one value, so it is gathered and parsed at the end.
 * Text keeps its head and whether it is all white space, nothing more.
 */
#include "payload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "retry.h"

/* A stream line or a json document longer than this is not held. */
#define LINE_MAX_BYTES	((size_t)128 << 20)
/* After a line that grew the buffer past this, the buffer is let go. */
#define LINE_KEEP_BYTES	((size_t)1 << 20)
/* With a spool, a longer stream line is read back from it instead. */
#define LINE_HOLD_BYTES	((size_t)256 << 10)
/* In a line read back, a longer string (escaped) is kept as its head. */
#define STR_HOLD_BYTES	((size_t)64 << 10)
/* Bytes kept of text output, and of the first line that did not parse. */
#define HEAD_BYTES	512
/* Error texts are searched for keywords only this far. */
#define SCAN_BYTES	8192
/* Bytes of the CLI's own error message quoted in a verdict's detail. */
#define QUOTE_BYTES	120

/*
 * A string of a line read back from the spool that was too long to hold:
 * where its escaped text lies (between the quotes), and what judging
 * asks of it.
 */
struct bigstr {
	bool		 set;
	int64_t		 off;
	int64_t		 len;
	bool		 empty;		/* as cJSON's C string: up to a NUL */
	bool		 blank;		/* white space only, likewise */
};

struct payload {
	enum pl_format	 fmt;
	pl_hook		*hook;
	void		*ctx;
	int64_t		 off;		/* bytes fed so far */

	/* The current stream line, or the whole json document. */
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int64_t		 line_off;
	struct rd	*rd;		/* the scanner's reader, reused */
	char		*scan_out;	/* and its reduction's buffer */
	size_t		 scan_cap;
	bool		 overlong;	/* the current line is being skipped */
	bool		 skipped_long;	/* some line was */
	bool		 spooled;	/* the current line is left in the spool */
	bool		 skipped_odd;	/* one read back could not be reduced */
	int		 spool_fd;	/* -1: every line is held */
	size_t		 line_hold;
	size_t		 str_hold;
	bool		 json_done;
	bool		 quiet;		/* json: the hook is not told */

	/* Text: its head, and whether all of it so far is white space. */
	char		 head[HEAD_BYTES];
	size_t		 head_len;
	bool		 all_space;
	/* What this CLI version prints for an empty answer (cliversion.c). */
	const char	*placeholder;

	/* What the events said. */
	cJSON		*result;	/* the last type:"result" object */
	int64_t		 result_off;
	size_t		 result_len;
	struct bigstr	 big;		/* its `result`, when not held */
	const char	*bad_why;	/* why a JSON line was refused */
	const char	*malformed;	/* json: a value that is no result */
	size_t		 nparsed;	/* lines (or elements) that parsed */
	size_t		 nbad;		/* lines that did not */
	char		 bad_head[HEAD_BYTES];	/* the first of those */
	size_t		 bad_head_len;
	bool		 limit_rejected;
	int64_t		 limit_reset;
	char		 asst_error[32];	/* "error" of the last assistant */
	char		 model[128];
	char		 session[64];
};

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

static bool
all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space((unsigned char)s[i]))
			return false;
	return true;
}

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
 * A JSON number as an integer. Doubles out of range (1e999 parses as
 * infinity) would make the conversion undefined, so they count as absent.
 */
static bool
num_i64(const cJSON *it, int64_t *out)
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

static int64_t
get_i64(const cJSON *obj, const char *key)
{
	int64_t v = 0;

	(void)num_i64(cJSON_GetObjectItemCaseSensitive(obj, key), &v);
	return v;
}

static int
get_int(const cJSON *obj, const char *key)
{
	int64_t v = get_i64(obj, key);

	return v < -1000000000 || v > 1000000000 ? 0 : (int)v;
}

static double
get_double(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return 0;
	return it->valuedouble;
}

static const char *
get_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool
str_is(const cJSON *obj, const char *key, const char *want)
{
	const char *s = get_str(obj, key);

	return s != NULL && strcmp(s, want) == 0;
}

/*
 * Parses one JSON value that must fill s[0..len) but for white space
 * (`{...}garbage` is not an event: see anthropics/claude-code#49640, where
 * a rate_limit_event was written into the middle of another line).
 * s[len] must be readable; callers keep a NUL there.
 */
static cJSON *
parse_whole(const char *s, size_t len)
{
	const char *end = NULL;
	cJSON *v;

	if (len == 0)
		return NULL;
	v = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (v == NULL)
		return NULL;
	if (end == NULL || end < s || end > s + len ||
	    !all_space(end, (size_t)(s + len - end))) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* Epoch seconds; values that look like milliseconds are scaled down. */
static int64_t
epoch_s(int64_t t)
{
	if (t >= INT64_C(100000000000))
		t /= 1000;
	return t > 0 ? t : 0;
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

static bool
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
static int
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

/* What an error is made of, for classify(). */
struct errsig {
	int		 status;	/* HTTP status, 0 unknown */
	const char	*text;		/* the CLI's error message, or NULL */
	size_t		 len;
	bool		 rejected;	/* a rate_limit_event rejected */
	const char	*kind;		/* "error" of the assistant event */
};

/* The class of an error: the first rule that matches wins. */
static enum outcome
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

static void	detail_add(struct verdict *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Appends a word to the detail, space-separated. */
static void
detail_add(struct verdict *v, const char *fmt, ...)
{
	size_t used = strlen(v->detail);
	va_list ap;

	if (used > 0 && used + 1 < sizeof(v->detail))
		v->detail[used++] = ' ';
	if (used + 1 >= sizeof(v->detail))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(v->detail + used, sizeof(v->detail) - used, fmt, ap);
	va_end(ap);
}

/*
 * Appends ": " and the first QUOTE_BYTES of the CLI's message, control
 * bytes made spaces, never cut inside a UTF-8 sequence. Only ever given
 * the CLI's own words, never a model answer.
 */
static void
detail_quote(struct verdict *v, const char *s, size_t n)
{
	size_t used = strlen(v->detail), lim, k;

	if (s == NULL || n == 0 || used + 3 >= sizeof(v->detail))
		return;
	memcpy(v->detail + used, ": ", 2);
	used += 2;
	lim = sizeof(v->detail) - used - 1;
	if (lim > QUOTE_BYTES)
		lim = QUOTE_BYTES;
	if (n > lim) {
		n = lim;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];

		v->detail[used + k] = c < 0x20 || c == 0x7f ?
		    ' ' : (char)c;
	}
	v->detail[used + k] = '\0';
}

static void
call_hook(struct payload *p, const struct pl_event *ev)
{
	if (p->hook != NULL && !p->quiet)
		p->hook(p->ctx, ev);
}

static void
on_system(struct payload *p, const cJSON *ev, struct pl_event *e)
{
	const char *sub = get_str(ev, "subtype");

	if (sub == NULL)
		return;
	if (strcmp(sub, "init") == 0) {
		e->kind = PLE_INIT;
		e->model = get_str(ev, "model");
		e->session = get_str(ev, "session_id");
		if (e->model != NULL)
			strlcpy(p->model, e->model, sizeof(p->model));
		if (e->session != NULL)
			strlcpy(p->session, e->session, sizeof(p->session));
	} else if (strcmp(sub, "api_retry") == 0) {
		e->kind = PLE_API_RETRY;
		e->retry_attempt = get_int(ev, "attempt");
		e->retry_max = get_int(ev, "max_retries");
		e->retry_delay_ms = get_double(ev, "retry_delay_ms");
		/* The caller turns it into an integer: keep that defined. */
		if (e->retry_delay_ms < 0 || e->retry_delay_ms > 1e15)
			e->retry_delay_ms = 0;
		e->error_status = get_int(ev, "error_status");
		e->error = get_str(ev, "error");
	} else if (strcmp(sub, "model_fallback") == 0) {
		e->kind = PLE_FALLBACK;
		e->model = get_str(ev, "fallback_model");
		e->from_model = get_str(ev, "original_model");
		if (e->model != NULL)
			strlcpy(p->model, e->model, sizeof(p->model));
	} else
		return;
	call_hook(p, e);
}

/*
 * {"type":"rate_limit_event","rate_limit_info":{"status":"rejected",
 * "resetsAt":1778565600,"rateLimitType":"five_hour","overageStatus":…,
 * "isUsingOverage":false},"uuid":…,"session_id":…} (CLI 2.1.45 and later;
 * status is allowed, allowed_warning or rejected, resetsAt epoch seconds
 * and absent on some allowed events). A flat shape, the same keys on the
 * event itself, is read too. A rejected window that overage billing
 * covers does not stop the request, so it is not counted as rejected.
 */
static void
on_rate_limit(struct payload *p, const cJSON *ev, struct pl_event *e)
{
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(ev,
	    "rate_limit_info");
	const cJSON *at;
	int64_t t = 0;

	if (!cJSON_IsObject(info))
		info = ev;
	e->kind = PLE_RATE_LIMIT;
	e->limit_status = get_str(info, "status");
	if ((at = cJSON_GetObjectItemCaseSensitive(info, "resetsAt")) == NULL)
		at = cJSON_GetObjectItemCaseSensitive(info, "resets_at");
	if (num_i64(at, &t))
		e->resets_at = epoch_s(t);
	else if (cJSON_IsString(at) && at->valuestring[0] != '\0' &&
	    strspn(at->valuestring, "0123456789") == strlen(at->valuestring) &&
	    strlen(at->valuestring) < 16)
		e->resets_at = epoch_s(strtoll(at->valuestring, NULL, 10));
	if (e->limit_status != NULL &&
	    strcmp(e->limit_status, "rejected") == 0 &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info,
	    "isUsingOverage"))) {
		p->limit_rejected = true;
		if (e->resets_at != 0)
			p->limit_reset = e->resets_at;
	}
	call_hook(p, e);
}

/* Every tool_use block of an assistant message, and its error kind. */
static void
on_assistant(struct payload *p, const cJSON *ev, struct pl_event *e)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	const cJSON *block;
	const char *err = get_str(ev, "error");

	if (err != NULL)
		strlcpy(p->asst_error, err, sizeof(p->asst_error));
	else
		p->asst_error[0] = '\0';
	if (!cJSON_IsArray(content))
		return;
	cJSON_ArrayForEach(block, content) {
		const cJSON *in;

		if (!str_is(block, "type", "tool_use"))
			continue;
		e->kind = PLE_TOOL_USE;
		e->tool = get_str(block, "name");
		e->skill = NULL;
		in = cJSON_GetObjectItemCaseSensitive(block, "input");
		if (e->tool != NULL && strcmp(e->tool, "Skill") == 0 &&
		    cJSON_IsObject(in)) {
			if ((e->skill = get_str(in, "skill")) == NULL &&
			    (e->skill = get_str(in, "command")) == NULL)
				e->skill = get_str(in, "name");
		}
		call_hook(p, e);
	}
}

/*
 * Everything but results: remembers what judging needs and tells the
 * hook. e arrives filled with the line.
 */
static void
observe(struct payload *p, const cJSON *ev, struct pl_event *e)
{
	const char *type = get_str(ev, "type");

	if (type == NULL)
		return;
	if (strcmp(type, "system") == 0)
		on_system(p, ev, e);
	else if (strcmp(type, "rate_limit_event") == 0)
		on_rate_limit(p, ev, e);
	else if (strcmp(type, "assistant") == 0)
		on_assistant(p, ev, e);
}

/* Keeps the first bytes of something that should have been JSON. */
static void
note_bad(struct payload *p, const char *s, size_t n)
{
	p->nbad++;
	if (p->bad_head_len > 0)
		return;
	while (n > 0 && is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	p->bad_head_len = n < sizeof(p->bad_head) ? n : sizeof(p->bad_head);
	memcpy(p->bad_head, s, p->bad_head_len);
}

/* big: where its `result` string lies when it was not held, or NULL. */
static void
keep_result(struct payload *p, cJSON *r, int64_t off, size_t len,
    const struct bigstr *big)
{
	cJSON_Delete(p->result);
	p->result = r;
	p->result_off = off;
	p->result_len = len;
	if (big != NULL)
		p->big = *big;
	else
		memset(&p->big, 0, sizeof(p->big));
}

/*
 * A stream line that parsed as an object (ev, which this takes): the
 * raw line s, or NULL when it was not held; len is its length anyway.
 */
static void
on_event(struct payload *p, cJSON *ev, const char *s, size_t len,
    int64_t off, const struct bigstr *big)
{
	struct pl_event e;

	p->nparsed++;
	memset(&e, 0, sizeof(e));
	e.kind = PLE_EVENT;
	e.line = s;
	e.line_len = s != NULL ? len : 0;
	e.line_size = len;
	e.line_off = off;
	call_hook(p, &e);
	if (str_is(ev, "type", "result")) {
		keep_result(p, ev, off, len, big);
		e.kind = PLE_RESULT;
		call_hook(p, &e);
		return;
	}
	observe(p, ev, &e);
	cJSON_Delete(ev);
}

static int	scanned_line(struct payload *, const char *, size_t, int64_t);

/*
 * One complete stream line held in memory, without its newline: read by
 * the scanner from there, as a long one is from the spool. 0, or -1
 * with errno.
 */
static int
stream_line(struct payload *p, const char *s, size_t len, int64_t off)
{
	if (all_space(s, len))
		return 0;
	return scanned_line(p, s, len, off);
}

/*
 * ---- Lines read back from the spool ----
 *
 * With a spool, a stream line longer than line_hold is not held: at its
 * newline it is read back in RD_BYTES pieces and reduced, as it streams
 * by, to the JSON text of an object that has only the members the code
 * above reads (the shapes below), which cJSON then parses; from there
 * the line is judged as a held one. A kept string longer than
 * STR_HOLD_BYTES as escaped JSON (str_hold for the `result` string) is
 * cut to about its first STR_HEAD_BYTES decoded bytes, more than judging
 * ever searches (SCAN_BYTES); for the `result` string its place in the
 * spool and whether it is blank are kept too.
 *
 * Judging must not depend on which way a line was read (the fuzz harness
 * compares both on every input), so what is read as JSON here is what
 * cJSON 1.7 reads, quirks included: white space is any byte up to 0x20,
 * a UTF-8 byte order mark is skipped, numbers are as scan_number reads
 * them, nesting stops at CJSON_NESTING_LIMIT, and strings are read as
 * struct jdec reads them. Only the trailing white space after the object
 * is parse_whole's. A line whose reduction outgrows OUT_MAX_BYTES (tens
 * of thousands of tool_use blocks) is skipped, as an overlong held one.
 */

#define RD_BYTES	65536			/* one read of the spool */
#define OUT_MAX_BYTES	((size_t)256 << 10)	/* a reduced line, at most */
#define STR_HEAD_BYTES	((size_t)16 << 10)	/* kept of a long string */
#define KEY_BYTES	31			/* longer keys are never read */

/*
 * cJSON reads a string in two passes, both copied here as machines fed
 * a byte at a time: the first finds the closing quote (a backslash
 * escapes the next byte, whatever it is), the second decodes what lies
 * before it. They can disagree, as on "\u12\"x", whose \u takes in the
 * escaped quote. Also kept: a \u with a bad hex digit is U+0000. Not
 * kept: cJSON refuses a lone UTF-16 surrogate, which Node's
 * JSON.stringify writes for a cut emoji and prints, in text mode, as
 * U+FFFD; so do we (JDEC_OUT bytes at most per input byte).
 */
#define JDEC_OUT	8
enum jd_state { JD_CHAR, JD_ESC, JD_HEX, JD_LOW_BS, JD_LOW_U, JD_LOW_HEX };

struct jdec {
	bool		 esc;		/* first pass: this byte is escaped */
	enum jd_state	 st;		/* second pass */
	int		 nhex;
	bool		 badhex;
	unsigned	 code;
	unsigned	 high;		/* the high surrogate read */
};

/* First pass: does byte c close the string? */
static bool
jdec_closes(struct jdec *d, unsigned char c)
{
	if (!d->esc && c == '"')
		return true;
	d->esc = !d->esc && c == '\\';
	return false;
}

static int
utf8_put(unsigned long cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void
jdec_start_hex(struct jdec *d, enum jd_state st)
{
	d->st = st;
	d->nhex = 0;
	d->code = 0;
	d->badhex = false;
}

#define REPLACEMENT	0xfffdUL	/* what Node prints for a lone one */

/* A code point on its own (not the low half of a pair). */
static int
jdec_code(struct jdec *d, unsigned code, unsigned char *out)
{
	if (code >= 0xd800 && code <= 0xdbff) {
		d->high = code;
		d->st = JD_LOW_BS;
		return 0;
	}
	d->st = JD_CHAR;
	return utf8_put(code >= 0xdc00 && code <= 0xdfff ? REPLACEMENT : code,
	    out);
}

/* Four hex digits are in: a code point, or a high surrogate to pair. */
static int
jdec_hex_done(struct jdec *d, unsigned char *out)
{
	unsigned code = d->badhex ? 0 : d->code;
	int k;

	if (d->st == JD_HEX)
		return jdec_code(d, code, out);
	if (code >= 0xdc00 && code <= 0xdfff) {
		d->st = JD_CHAR;
		return utf8_put(0x10000 + (((unsigned long)(d->high & 0x3ff) <<
		    10) | (code & 0x3ff)), out);
	}
	/* The high one was alone; this code stands on its own. */
	k = utf8_put(REPLACEMENT, out);
	return k + jdec_code(d, code, out + k);
}

static int
jdec_hex(struct jdec *d, unsigned char c, unsigned char *out)
{
	int v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		v = (c | 0x20) - 'a' + 10;
	if (v < 0)
		d->badhex = true;
	else
		d->code = d->code << 4 | (unsigned)v;
	if (++d->nhex < 4)
		return 0;
	return jdec_hex_done(d, out);
}

static int
jdec_escape(struct jdec *d, unsigned char c, unsigned char *out)
{
	static const char from[] = "bfnrt\"\\/", to[] = "\b\f\n\r\t\"\\/";
	const char *k;

	d->st = JD_CHAR;
	if (c == 'u') {
		jdec_start_hex(d, JD_HEX);
		return 0;
	}
	if (c == '\0' || (k = strchr(from, c)) == NULL)
		return -1;
	out[0] = (unsigned char)to[k - from];
	return 1;
}

/* Second pass: the bytes c decodes to, into out[JDEC_OUT]: how many, or -1. */
static int
jdec_put(struct jdec *d, unsigned char c, unsigned char *out)
{
	int k;

	switch (d->st) {
	case JD_CHAR:
		if (c == '\\') {
			d->st = JD_ESC;
			return 0;
		}
		out[0] = c;
		return 1;
	case JD_ESC:
		return jdec_escape(d, c, out);
	case JD_HEX:
	case JD_LOW_HEX:
		return jdec_hex(d, c, out);
	case JD_LOW_BS:
		if (c != '\\') {
			/* A lone high surrogate, then a plain byte. */
			k = utf8_put(REPLACEMENT, out);
			out[k] = c;
			d->st = JD_CHAR;
			return k + 1;
		}
		d->st = JD_LOW_U;
		return 0;
	case JD_LOW_U:
		if (c != 'u') {
			/* A lone high surrogate, then another escape. */
			k = utf8_put(REPLACEMENT, out);
			int e = jdec_escape(d, c, out + k);
			return e < 0 ? -1 : k + e;
		}
		jdec_start_hex(d, JD_LOW_HEX);
		return 0;
	}
	return -1;
}

/* The closing quote came: what is still to decode, or -1. */
static int
jdec_end(const struct jdec *d, unsigned char *out)
{
	if (d->st == JD_CHAR)
		return 0;
	if (d->st == JD_LOW_BS)
		return utf8_put(REPLACEMENT, out);
	if (d->st != JD_ESC)
		return -1;
	/* The passes disagreed: cJSON decodes the closing quote itself. */
	out[0] = '"';
	return 1;
}

/* Cut here and closed with a quote, the string decodes as so far. */
static bool
jdec_at_rest(const struct jdec *d)
{
	return !d->esc && d->st == JD_CHAR;
}

/* A line in the spool, read a piece at a time. */
struct rd {
	int		 fd;
	int64_t		 off;		/* spool offset of buf[0] */
	int64_t		 end;		/* of the line */
	size_t		 i;		/* the next byte is buf[i] */
	size_t		 n;		/* bytes in buf */
	int		 err;		/* errno of a failed read, else 0 */
	const unsigned char *mem;	/* the line in memory (at off), or NULL */
	int64_t		 mem_off;
	const unsigned char *buf;	/* the piece: in mem, or store */
	unsigned char	 store[RD_BYTES];
};

static struct rd *
rd_open(int fd, int64_t off, int64_t len)
{
	struct rd *r = malloc(sizeof(*r));

	if (r == NULL)
		return NULL;
	r->fd = fd;
	r->off = off;
	r->end = off + len;
	r->i = r->n = 0;
	r->err = 0;
	r->mem = NULL;
	r->mem_off = 0;
	r->buf = r->store;
	return r;
}

/*
 * Points r at a line: len bytes at spool offset off, also in memory at
 * mem unless that is NULL.
 */
static void
rd_reset(struct rd *r, const char *mem, int64_t off, int64_t len)
{
	r->off = off;
	r->end = off + len;
	r->i = r->n = 0;
	r->err = 0;
	r->mem = (const unsigned char *)mem;
	r->mem_off = off;
	r->buf = r->store;
}

static void
rd_seek(struct rd *r, int64_t off)
{
	r->off = off;
	r->i = r->n = 0;
}

/* The next piece; -1 at the end of the line, or on an error (err). */
static int
rd_fill(struct rd *r)
{
	size_t want;
	ssize_t got;

	r->off += (int64_t)r->n;
	r->i = r->n = 0;
	if (r->err != 0 || r->off >= r->end)
		return -1;
	if (r->mem != NULL) {
		/* A line in memory is one piece, read where it lies. */
		r->buf = r->mem + (r->off - r->mem_off);
		r->n = (size_t)(r->end - r->off);
		return 0;
	}
	want = r->end - r->off < RD_BYTES ? (size_t)(r->end - r->off) :
	    RD_BYTES;
	r->buf = r->store;
	do {
		got = pread(r->fd, r->store + r->n, want - r->n,
		    (off_t)(r->off + (int64_t)r->n));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* Short: the spool lacks what was fed. */
			r->err = got == 0 ? EIO : errno;
			r->n = 0;
			return -1;
		}
		r->n += (size_t)got;
	} while (r->n < want);
	return 0;
}

static int
rd_peek(struct rd *r)
{
	if (r->i == r->n && rd_fill(r) == -1)
		return -1;
	return r->buf[r->i];
}

static int
rd_get(struct rd *r)
{
	int c = rd_peek(r);

	if (c >= 0)
		r->i++;
	return c;
}

static int64_t
rd_pos(const struct rd *r)
{
	return r->off + (int64_t)r->i;
}

/*
 * What is kept of a value: a shape names, for an object, the members
 * read (SH_OBJ: the first of each name, as cJSON finds it) or a shape
 * for every member (SH_MAP); for an array, the tool_use blocks of a
 * message (SH_TOOLS) or its first string (SH_FIRST_STR, `errors`). A
 * value of another type than its shape expects is kept as a leaf: a
 * scalar whole, an object as {}, an array as []. Every key read above
 * (get_*, cJSON_GetObjectItemCaseSensitive) must be here.
 */
enum sh_kind { SH_LEAF, SH_RESULT, SH_OBJ, SH_MAP, SH_TOOLS, SH_FIRST_STR };

struct field;

struct shape {
	enum sh_kind		 kind;
	const struct shape	*sub;		/* SH_MAP, SH_TOOLS */
	const struct field	*fields;	/* SH_OBJ, NULL-terminated */
};

struct field {
	const char		*key;
	const struct shape	*sh;
};

static const struct shape sh_leaf = { SH_LEAF, NULL, NULL };
static const struct shape sh_result = { SH_RESULT, NULL, NULL };
static const struct shape sh_errors = { SH_FIRST_STR, NULL, NULL };

static const struct field f_input[] = {
	{ "skill", &sh_leaf }, { "command", &sh_leaf }, { "name", &sh_leaf },
	{ NULL, NULL }
};
static const struct shape sh_input = { SH_OBJ, NULL, f_input };
static const struct field f_block[] = {
	{ "type", &sh_leaf }, { "name", &sh_leaf }, { "input", &sh_input },
	{ NULL, NULL }
};
static const struct shape sh_block = { SH_OBJ, NULL, f_block };
static const struct shape sh_content = { SH_TOOLS, &sh_block, NULL };
static const struct field f_message[] = {
	{ "content", &sh_content }, { NULL, NULL }
};
static const struct shape sh_message = { SH_OBJ, NULL, f_message };

static const struct field f_usage[] = {
	{ "input_tokens", &sh_leaf }, { "output_tokens", &sh_leaf },
	{ "cache_read_input_tokens", &sh_leaf },
	{ "cache_creation_input_tokens", &sh_leaf }, { NULL, NULL }
};
static const struct shape sh_usage = { SH_OBJ, NULL, f_usage };
static const struct field f_model[] = {
	{ "outputTokens", &sh_leaf }, { NULL, NULL }
};
static const struct shape sh_model = { SH_OBJ, NULL, f_model };
static const struct shape sh_model_usage = { SH_MAP, &sh_model, NULL };

static const struct field f_limit[] = {
	{ "status", &sh_leaf }, { "resetsAt", &sh_leaf },
	{ "resets_at", &sh_leaf }, { "isUsingOverage", &sh_leaf },
	{ NULL, NULL }
};
static const struct shape sh_limit = { SH_OBJ, NULL, f_limit };

/* At most 32: a bit each in scan_object's `seen`. */
static const struct field f_event[] = {
	{ "type", &sh_leaf }, { "subtype", &sh_leaf },
	/* system: init, api_retry, model_fallback */
	{ "model", &sh_leaf }, { "session_id", &sh_leaf },
	{ "attempt", &sh_leaf }, { "max_retries", &sh_leaf },
	{ "retry_delay_ms", &sh_leaf }, { "error_status", &sh_leaf },
	{ "error", &sh_leaf }, { "fallback_model", &sh_leaf },
	{ "original_model", &sh_leaf },
	/* rate_limit_event, nested or flat */
	{ "rate_limit_info", &sh_limit }, { "status", &sh_leaf },
	{ "resetsAt", &sh_leaf }, { "resets_at", &sh_leaf },
	{ "isUsingOverage", &sh_leaf },
	/* assistant */
	{ "message", &sh_message },
	/* result */
	{ "is_error", &sh_leaf }, { "api_error_status", &sh_leaf },
	{ "result", &sh_result }, { "terminal_reason", &sh_leaf },
	{ "errors", &sh_errors }, { "usage", &sh_usage },
	{ "total_cost_usd", &sh_leaf }, { "num_turns", &sh_leaf },
	{ "modelUsage", &sh_model_usage },
	{ NULL, NULL }
};
static const struct shape sh_event = { SH_OBJ, NULL, f_event };

/* One line being read back and reduced. */
struct scan {
	struct rd	*rd;
	char		*out;		/* the reduced line, JSON text */
	size_t		 len;
	size_t		 cap;
	size_t		 out_max;	/* it may grow to (with its NUL) */
	bool		 full;		/* it outgrew out_max */
	int		 err;		/* ENOMEM */
	size_t		 depth;
	bool		 deep;		/* past cJSON's nesting limit */
	size_t		 str_hold;
	struct bigstr	 big;
};

/* Appends to the reduced line; once full, nothing more is kept. */
static void
out_put(struct scan *sc, const void *b, size_t n)
{
	size_t cap;
	char *nb;

	if (sc->full)
		return;
	if (sc->len + n + 1 > sc->out_max) {
		sc->full = true;
		return;
	}
	if (sc->len + n + 1 > sc->cap) {
		cap = sc->cap < 1024 ? 1024 : sc->cap;
		while (cap < sc->len + n + 1)
			cap *= 2;
		if ((nb = realloc(sc->out, cap)) == NULL) {
			sc->full = true;
			sc->err = ENOMEM;
			return;
		}
		sc->out = nb;
		sc->cap = cap;
	}
	memcpy(sc->out + sc->len, b, n);
	sc->len += n;
}

static void
out_str(struct scan *sc, const char *s)
{
	out_put(sc, s, strlen(s));
}

static void
skip_ws(struct scan *sc)
{
	int c;

	while ((c = rd_peek(sc->rd)) >= 0 && c <= ' ')
		sc->rd->i++;
}

static int	scan_value(struct scan *, const struct shape *);

/* What a string decodes to, as far as anything here asks. */
struct strstat {
	int64_t		 ndec;		/* bytes decoded */
	bool		 nul;		/* cJSON's C string ended at a NUL */
	bool		 nul_text;	/* the result: a NUL is text, as the
					   CLI prints it (delivered whole) */
	bool		 has_nul;	/* a NUL was decoded */
	bool		 empty;		/* before it */
	bool		 blank;
	size_t		 nkey;
};

static bool	str_settled(const struct strstat *, const char *);

/*
 * Decoded bytes: looked at one by one until nothing more can change
 * what is noted, then, for the result, only searched for a NUL.
 */
static void
str_note(struct strstat *ss, const unsigned char *b, size_t k, char *key)
{
	size_t i;

	ss->ndec += (int64_t)k;
	for (i = 0; i < k && !ss->nul && !str_settled(ss, key); i++) {
		if (b[i] == '\0')
			ss->has_nul = true;
		if (b[i] == '\0' && !ss->nul_text) {
			ss->nul = true;
			break;
		}
		ss->empty = false;
		if (!is_space(b[i]))
			ss->blank = false;
		if (key != NULL && ss->nkey < KEY_BYTES)
			key[ss->nkey] = (char)b[i];
		ss->nkey++;
	}
	if (i < k && ss->nul_text && !ss->has_nul &&
	    memchr(b + i, '\0', k - i) != NULL)
		ss->has_nul = true;
}

/* Nothing more decoded can change what str_note found. */
static bool
str_settled(const struct strstat *ss, const char *key)
{
	return ss->nul || (!ss->empty && !ss->blank &&
	    (key == NULL || ss->nkey > KEY_BYTES));
}

enum str_mode { STR_DROP, STR_KEY, STR_KEEP, STR_RESULT };

/* A string being read. */
struct strscan {
	enum str_mode	 mode;
	bool		 emit;		/* appended: STR_KEEP, STR_RESULT */
	int64_t		 hold;		/* raw bytes appended whole */
	int64_t		 off;		/* of its first byte in the spool */
	int64_t		 raw;		/* its bytes so far */
	size_t		 cut;		/* where its head may end in sc->out */
	char		*key;
	struct jdec	 d;
	struct strstat	 ss;
};

/*
 * Decoded bytes as JSON string text that cJSON reads back to the same
 * bytes: an escape is written again, not copied, so that what cJSON
 * would refuse (a lone surrogate) reaches it as the U+FFFD we decoded.
 */
static void
out_json_bytes(struct scan *sc, const unsigned char *b, size_t k)
{
	char e[8];

	for (size_t i = 0; i < k; i++) {
		if (b[i] == '"' || b[i] == '\\') {
			e[0] = '\\';
			e[1] = (char)b[i];
			out_put(sc, e, 2);
		} else if (b[i] < 0x20) {
			snprintf(e, sizeof(e), "\\u%04x", b[i]);
			out_put(sc, e, 6);
		} else
			out_put(sc, b + i, 1);
	}
}

/* One byte of a string, not its closing quote. 0, or -1. */
static int
str_byte(struct scan *sc, struct strscan *st, unsigned char c)
{
	unsigned char dec[JDEC_OUT];
	int k;

	if ((k = jdec_put(&st->d, c, dec)) < 0)
		return -1;
	st->raw++;
	str_note(&st->ss, dec, (size_t)k, st->key);
	/* Everything up to hold, and at least the head. */
	if (st->emit && (st->raw <= st->hold ||
	    st->ss.ndec <= (int64_t)STR_HEAD_BYTES)) {
		out_json_bytes(sc, dec, (size_t)k);
		if (jdec_at_rest(&st->d) &&
		    st->ss.ndec <= (int64_t)STR_HEAD_BYTES)
			st->cut = sc->len;
	}
	return 0;
}

/*
 * m bytes at the reader, none a quote or a backslash, the string at
 * rest: they decode to themselves, so str_byte's work is done at once.
 */
static void
str_plain(struct scan *sc, struct strscan *st, size_t m)
{
	const unsigned char *b = sc->rd->buf + sc->rd->i;
	int64_t head = (int64_t)STR_HEAD_BYTES - st->ss.ndec;
	int64_t keep = st->hold - st->raw;
	int64_t k = keep > head ? keep : head;
	size_t before = sc->len;

	str_note(&st->ss, b, m, st->key);
	if (st->emit && k > 0) {
		out_put(sc, b, k < (int64_t)m ? (size_t)k : m);
		if (head > 0 && !sc->full)
			st->cut = before + (head < (int64_t)m ? (size_t)head : m);
	}
	st->raw += (int64_t)m;
	sc->rd->i += m;
}

/*
 * Plain bytes ahead in the reader's piece: up to the first quote, then
 * up to the first backslash before it; memchr reads them many at a time.
 */
static size_t
plain_run(const struct rd *r)
{
	const unsigned char *b = r->buf + r->i, *q;
	size_t m = r->n - r->i;

	if ((q = memchr(b, '"', m)) != NULL)
		m = (size_t)(q - b);
	if ((q = memchr(b, '\\', m)) != NULL)
		m = (size_t)(q - b);
	return m;
}

/* The string is over: what is left to decode, and its head if cut. */
static int
str_end(struct scan *sc, struct strscan *st)
{
	unsigned char dec[JDEC_OUT];
	int k;

	if ((k = jdec_end(&st->d, dec)) < 0)
		return -1;
	if (st->emit)
		out_json_bytes(sc, dec, (size_t)k);
	str_note(&st->ss, dec, (size_t)k, st->key);
	if (st->key != NULL)
		st->key[st->ss.nkey <= KEY_BYTES ? st->ss.nkey : 0] = '\0';
	if (!st->emit)
		return 0;
	/* A result with a NUL is never held: cJSON's copy would end there. */
	if (st->raw > st->hold || (st->mode == STR_RESULT && st->ss.has_nul)) {
		if (!sc->full)
			sc->len = st->cut;
		if (st->mode == STR_RESULT) {
			sc->big.set = true;
			sc->big.off = st->off;
			sc->big.len = st->raw;
			sc->big.empty = st->ss.empty;
			sc->big.blank = st->ss.blank;
		}
	}
	out_put(sc, "\"", 1);
	return 0;
}

/*
 * A string, the reader at its opening quote. STR_KEY decodes it into
 * key[KEY_BYTES + 1] (as cJSON's C string; "" when longer); STR_KEEP and
 * STR_RESULT append it, or its head when it is longer than they hold
 * (and STR_RESULT says where it lies in sc->big). 0, or -1: not a string
 * as cJSON reads it.
 */
static int
scan_string(struct scan *sc, enum str_mode mode, char *key)
{
	struct strscan st;
	size_t m;
	int c;

	memset(&st, 0, sizeof(st));
	st.mode = mode;
	st.emit = mode == STR_KEEP || mode == STR_RESULT;
	st.hold = (int64_t)(mode == STR_RESULT ? sc->str_hold :
	    STR_HOLD_BYTES);
	st.key = key;
	st.ss.empty = st.ss.blank = true;
	st.ss.nul_text = mode == STR_RESULT;
	(void)rd_get(sc->rd);
	st.off = rd_pos(sc->rd);
	if (st.emit)
		out_put(sc, "\"", 1);
	st.cut = sc->len;
	for (;;) {
		if (jdec_at_rest(&st.d) && (m = plain_run(sc->rd)) > 0) {
			str_plain(sc, &st, m);
			continue;
		}
		if ((c = rd_get(sc->rd)) < 0)
			return -1;
		if (jdec_closes(&st.d, (unsigned char)c))
			return str_end(sc, &st);
		if (str_byte(sc, &st, (unsigned char)c) == -1)
			return -1;
	}
}

/*
 * Numbers as cJSON reads them since the fix of CVE-2023-26819 (1.7.18,
 * and Debian's 1.7.15+deb12u3): the run of [-+.0-9eE] bytes, any length,
 * is a number if strtod takes all of it (else what is left of it is
 * garbage after the value). For a run that starts with - or a digit,
 * strtod takes all of -?(D+(.D*)?|.D+)([eE][+-]?D+)? and nothing longer.
 */
enum num_state { NS_START, NS_SIGN, NS_INT, NS_DOT, NS_LEAD_DOT, NS_FRAC,
	NS_E, NS_E_SIGN, NS_EXP, NS_BAD };

static bool
is_num_byte(int c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
	    c == 'e' || c == 'E';
}

static enum num_state
num_step(enum num_state s, int c)
{
	bool digit = c >= '0' && c <= '9', e = c == 'e' || c == 'E';

	switch (s) {
	case NS_START:
		return c == '-' ? NS_SIGN : digit ? NS_INT : NS_BAD;
	case NS_SIGN:
		return digit ? NS_INT : c == '.' ? NS_LEAD_DOT : NS_BAD;
	case NS_INT:
		return digit ? NS_INT : c == '.' ? NS_DOT : e ? NS_E : NS_BAD;
	case NS_DOT:
	case NS_FRAC:
		return digit ? NS_FRAC : e ? NS_E : NS_BAD;
	case NS_LEAD_DOT:
		return digit ? NS_FRAC : NS_BAD;
	case NS_E:
		return digit ? NS_EXP : c == '-' || c == '+' ? NS_E_SIGN :
		    NS_BAD;
	case NS_E_SIGN:
	case NS_EXP:
		return digit ? NS_EXP : NS_BAD;
	case NS_BAD:
		break;
	}
	return NS_BAD;
}

static int
scan_number(struct scan *sc, bool keep)
{
	enum num_state s = NS_START;
	char ch;
	int c;

	while ((c = rd_peek(sc->rd)) >= 0 && is_num_byte(c)) {
		s = num_step(s, c);
		sc->rd->i++;
		if (keep) {
			ch = (char)c;
			out_put(sc, &ch, 1);
		}
	}
	return s == NS_INT || s == NS_DOT || s == NS_FRAC || s == NS_EXP ?
	    0 : -1;
}

static int
scan_word(struct scan *sc, const char *w, bool keep)
{
	for (const char *q = w; *q != '\0'; q++)
		if (rd_get(sc->rd) != (unsigned char)*q)
			return -1;
	if (keep)
		out_str(sc, w);
	return 0;
}

/* The shape of member `key`, NULL unless read and the first of its name. */
static const struct shape *
field_shape(const struct shape *sh, const char *key, uint32_t *seen)
{
	for (size_t i = 0; sh->fields[i].key != NULL; i++) {
		if (sh->fields[i].key[0] != key[0] ||
		    strcmp(sh->fields[i].key, key) != 0)
			continue;
		if ((*seen & UINT32_C(1) << i) != 0)
			return NULL;
		*seen |= UINT32_C(1) << i;
		return sh->fields[i].sh;
	}
	return NULL;
}

/* One member of an object; *kept counts those appended. */
static int
scan_member(struct scan *sc, const struct shape *sh, uint32_t *seen,
    size_t *kept)
{
	bool obj = sh != NULL && sh->kind == SH_OBJ;
	const struct shape *vsh = NULL;
	char key[KEY_BYTES + 1];

	skip_ws(sc);
	if (rd_peek(sc->rd) != '"')
		return -1;
	if (sh != NULL && sh->kind == SH_MAP) {
		if (*kept > 0)
			out_put(sc, ",", 1);
		if (scan_string(sc, STR_KEEP, NULL) == -1)
			return -1;
		vsh = sh->sub;
	} else {
		if (scan_string(sc, obj ? STR_KEY : STR_DROP, key) == -1)
			return -1;
		if (obj && (vsh = field_shape(sh, key, seen)) != NULL) {
			if (*kept > 0)
				out_put(sc, ",", 1);
			/* The name as looked up: it matched, escapes or not. */
			out_put(sc, "\"", 1);
			out_str(sc, key);
			out_put(sc, "\"", 1);
		}
	}
	skip_ws(sc);
	if (rd_get(sc->rd) != ':')
		return -1;
	if (vsh != NULL)
		out_put(sc, ":", 1);
	skip_ws(sc);
	if (scan_value(sc, vsh) == -1)
		return -1;
	if (vsh != NULL)
		(*kept)++;
	return 0;
}

static int
scan_object(struct scan *sc, const struct shape *sh)
{
	uint32_t seen = 0;
	size_t kept = 0;
	int c;

	if (sc->depth >= CJSON_NESTING_LIMIT) {
		sc->deep = true;
		return -1;
	}
	sc->depth++;
	(void)rd_get(sc->rd);
	if (sh != NULL)
		out_put(sc, "{", 1);
	skip_ws(sc);
	if (rd_peek(sc->rd) == '}')
		(void)rd_get(sc->rd);
	else {
		do {
			if (scan_member(sc, sh, &seen, &kept) == -1)
				return -1;
			skip_ws(sc);
		} while ((c = rd_get(sc->rd)) == ',');
		if (c != '}')
			return -1;
	}
	if (sh != NULL)
		out_put(sc, "}", 1);
	sc->depth--;
	return 0;
}

/* A reduced content block: is it a tool_use, as on_assistant asks? */
static bool
is_tool_use(const char *s, size_t n)
{
	cJSON *b = cJSON_ParseWithLength(s, n);
	bool yes = str_is(b, "type", "tool_use");

	cJSON_Delete(b);
	return yes;
}

/* One element of an array; *kept counts those appended. */
static int
scan_element(struct scan *sc, const struct shape *sh, size_t *kept)
{
	size_t mark = sc->len, el;
	int c = rd_peek(sc->rd);

	if (sh != NULL && sh->kind == SH_TOOLS && c == '{') {
		if (*kept > 0)
			out_put(sc, ",", 1);
		el = sc->len;
		if (scan_value(sc, sh->sub) == -1)
			return -1;
		if (sc->full)
			return 0;
		if (is_tool_use(sc->out + el, sc->len - el))
			(*kept)++;
		else
			sc->len = mark;
		return 0;
	}
	if (sh != NULL && sh->kind == SH_FIRST_STR && c == '"' && *kept == 0) {
		(*kept)++;
		return scan_string(sc, STR_KEEP, NULL);
	}
	return scan_value(sc, NULL);
}

static int
scan_array(struct scan *sc, const struct shape *sh)
{
	size_t kept = 0;
	int c;

	if (sc->depth >= CJSON_NESTING_LIMIT) {
		sc->deep = true;
		return -1;
	}
	sc->depth++;
	(void)rd_get(sc->rd);
	if (sh != NULL)
		out_put(sc, "[", 1);
	skip_ws(sc);
	if (rd_peek(sc->rd) == ']')
		(void)rd_get(sc->rd);
	else {
		do {
			skip_ws(sc);
			if (scan_element(sc, sh, &kept) == -1)
				return -1;
			skip_ws(sc);
		} while ((c = rd_get(sc->rd)) == ',');
		if (c != ']')
			return -1;
	}
	if (sh != NULL)
		out_put(sc, "]", 1);
	sc->depth--;
	return 0;
}

/* One value: appended as its shape says, or only read (sh NULL). */
static int
scan_value(struct scan *sc, const struct shape *sh)
{
	int c = rd_peek(sc->rd);

	switch (c) {
	case 'n':
		return scan_word(sc, "null", sh != NULL);
	case 'f':
		return scan_word(sc, "false", sh != NULL);
	case 't':
		return scan_word(sc, "true", sh != NULL);
	case '"':
		return scan_string(sc, sh == NULL ? STR_DROP :
		    sh->kind == SH_RESULT ? STR_RESULT : STR_KEEP, NULL);
	case '[':
		return scan_array(sc, sh);
	case '{':
		return scan_object(sc, sh);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return scan_number(sc, sh != NULL);
	return -1;
}

enum scan_end { SCAN_OK, SCAN_BAD, SCAN_FULL, SCAN_ERR };

/* The whole line, as parse_whole reads it, reduced to sc->out. */
static enum scan_end
scan_line(struct scan *sc)
{
	struct rd *r = sc->rd;
	int c;

	/* cJSON skips a UTF-8 byte order mark in 5 bytes or more. */
	if (rd_peek(r) >= 0 && r->n >= 5 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
		r->i = 3;
	skip_ws(sc);
	if (rd_peek(r) != '{' || scan_object(sc, &sh_event) == -1)
		return r->err != 0 ? SCAN_ERR : SCAN_BAD;
	while ((c = rd_get(r)) >= 0)
		if (!is_space((unsigned char)c))
			return SCAN_BAD;
	if (r->err != 0 || sc->err != 0)
		return SCAN_ERR;
	return sc->full ? SCAN_FULL : SCAN_OK;
}

/* A line that is no JSON object: its head noted as a held one's is. */
static int
spooled_bad(struct payload *p, struct rd *r, int64_t off)
{
	char head[HEAD_BYTES];
	size_t n = 0;
	int c;

	rd_seek(r, off);
	while ((c = rd_peek(r)) >= 0 && is_space((unsigned char)c))
		r->i++;
	while (n < sizeof(head) && (c = rd_get(r)) >= 0)
		head[n++] = (char)c;
	if (r->err != 0) {
		errno = r->err;
		return -1;
	}
	/* All white space: skipped, as stream_line does. */
	if (n > 0)
		note_bad(p, head, n);
	return 0;
}

static int
spooled_judge(struct payload *p, struct scan *sc, const char *mem,
    int64_t off, size_t len)
{
	enum scan_end how = scan_line(sc);
	cJSON *ev;

	switch (how) {
	case SCAN_OK:
		sc->out[sc->len] = '\0';
		if (cJSON_IsObject(ev = parse_whole(sc->out, sc->len))) {
			on_event(p, ev, mem, len, off, &sc->big);
			return 0;
		}
		/* Out of memory, or a reduction cJSON does not read. */
		cJSON_Delete(ev);
		break;
	case SCAN_BAD:
		if (sc->deep && p->bad_why == NULL)
			p->bad_why = "nesting deeper than 1000 levels";
		return spooled_bad(p, sc->rd, off);
	case SCAN_FULL:
		break;
	case SCAN_ERR:
		errno = sc->rd->err != 0 ? sc->rd->err : sc->err;
		return -1;
	}
	p->nbad++;
	p->skipped_odd = true;
	return 0;
}

/*
 * A line read by the scanner: from the spool at off, or (mem not NULL)
 * from memory, where the same bytes also lie in the spool at off.
 * 0, or -1 with errno.
 */
static int
scan_judge(struct payload *p, const char *mem, int64_t off, size_t len)
{
	struct scan sc;
	int rc;

	if (p->rd == NULL && (p->rd = rd_open(p->spool_fd, off, 0)) == NULL)
		return -1;
	rd_reset(p->rd, mem, off, (int64_t)len);
	memset(&sc, 0, sizeof(sc));
	sc.rd = p->rd;
	sc.out = p->scan_out;
	sc.cap = p->scan_cap;
	/*
	 * A held line keeps its result whole, as it was held, and may need
	 * more room for it (an escape is written again at most six bytes
	 * for one); a line left in the spool is reduced to what is judged.
	 */
	sc.str_hold = mem != NULL ? (size_t)INT64_MAX : p->str_hold;
	sc.out_max = mem != NULL ? OUT_MAX_BYTES + 6 * len : OUT_MAX_BYTES;
	rc = spooled_judge(p, &sc, mem, off, len);
	p->scan_out = sc.out;
	p->scan_cap = sc.cap;
	if (p->scan_cap > LINE_KEEP_BYTES) {
		free(p->scan_out);
		p->scan_out = NULL;
		p->scan_cap = 0;
	}
	return rc;
}

/* A line left in the spool, at its end. */
static int
spooled_line(struct payload *p, int64_t off, size_t len)
{
	return scan_judge(p, NULL, off, len);
}

/* A held line the scanner must read (see stream_line). */
static int
scanned_line(struct payload *p, const char *s, size_t len, int64_t off)
{
	return scan_judge(p, s, off, len);
}

/* Makes room for n more bytes and a NUL after them. */
static int
reserve(struct payload *p, size_t n)
{
	size_t want = p->len + n + 1, cap;
	char *nb;

	if (want <= p->cap)
		return 0;
	cap = p->cap < 4096 ? 4096 : p->cap;
	while (cap < want)
		cap *= 2;
	if ((nb = realloc(p->buf, cap)) == NULL)
		return -1;
	p->buf = nb;
	p->cap = cap;
	return 0;
}

static void
drop_buffer(struct payload *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
}

/* The line ends at p->off. 0, or -1 with errno (reading the spool). */
static int
end_line(struct payload *p)
{
	int rc = 0;

	if (p->overlong) {
		p->overlong = false;
		p->skipped_long = true;
		p->nbad++;
	} else if (p->spooled) {
		p->spooled = false;
		rc = spooled_line(p, p->line_off, (size_t)(p->off - p->line_off));
	} else if (p->len > 0)
		rc = stream_line(p, p->buf, p->len, p->line_off);
	p->len = 0;
	if (p->cap > LINE_KEEP_BYTES)
		drop_buffer(p);
	return rc;
}

/* Whether the current line, take bytes longer, is still held. */
static bool
still_held(struct payload *p, size_t take)
{
	if (p->overlong || p->spooled)
		return false;
	if (p->spool_fd != -1 && p->len + take > p->line_hold) {
		/* Its bytes are in the spool: read there at its end. */
		p->spooled = true;
		drop_buffer(p);
		return false;
	}
	if (p->len + take > LINE_MAX_BYTES) {
		/* Held, it would break the flat-memory promise. */
		p->overlong = true;
		drop_buffer(p);
		return false;
	}
	return true;
}

static int
feed_stream(struct payload *p, const char *b, size_t n)
{
	int rc;

	while (n > 0) {
		const char *nl = memchr(b, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - b) : n;

		if (still_held(p, take) && take > 0) {
			if (reserve(p, take) == -1)
				return -1;
			memcpy(p->buf + p->len, b, take);
			p->len += take;
		}
		p->off += (int64_t)take;
		b += take;
		n -= take;
		if (nl != NULL) {
			rc = end_line(p);
			b++;
			n--;
			p->off++;
			p->line_off = p->off;
			if (rc == -1)
				return -1;
		}
	}
	return 0;
}

static int
feed_json(struct payload *p, const char *b, size_t n)
{
	if (p->len + n > LINE_MAX_BYTES) {
		errno = EFBIG;
		return -1;
	}
	if (reserve(p, n) == -1)
		return -1;
	memcpy(p->buf + p->len, b, n);
	p->len += n;
	p->off += (int64_t)n;
	return 0;
}

static void
feed_text(struct payload *p, const char *b, size_t n)
{
	size_t k;

	if (p->all_space && !all_space(b, n))
		p->all_space = false;
	k = sizeof(p->head) - p->head_len;
	if (k > n)
		k = n;
	memcpy(p->head + p->head_len, b, k);
	p->head_len += k;
	p->off += (int64_t)n;
}

struct payload *
payload_new(enum pl_format fmt, pl_hook *hook, void *ctx)
{
	struct payload *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->fmt = fmt;
	p->hook = hook;
	p->ctx = ctx;
	p->all_space = true;
	p->spool_fd = -1;
	p->line_hold = LINE_HOLD_BYTES;
	p->str_hold = STR_HOLD_BYTES;
	return p;
}

void
payload_set_spool(struct payload *p, int fd)
{
	if (p->fmt == PL_STREAM)
		p->spool_fd = fd;
}

void
payload_set_limits(struct payload *p, size_t line_hold, size_t str_hold)
{
	if (line_hold != 0)
		p->line_hold = line_hold;
	if (str_hold != 0)
		p->str_hold = str_hold;
}

void
payload_set_placeholder(struct payload *p, const char *text)
{
	p->placeholder = text;
}

/* The exact text the CLI substitutes for an answer with no text at all. */
static bool
is_placeholder(const struct payload *p, const char *s, size_t n)
{
	return p->placeholder != NULL && s != NULL &&
	    strlen(p->placeholder) == n && memcmp(p->placeholder, s, n) == 0;
}

void
payload_free(struct payload *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	free(p->rd);
	free(p->scan_out);
	cJSON_Delete(p->result);
	free(p);
}

/*
 * 0, or -1 with errno (ENOMEM; EFBIG for json past LINE_MAX_BYTES; a
 * failed read of the spool).
 */
int
payload_feed(struct payload *p, const char *b, size_t n)
{
	switch (p->fmt) {
	case PL_STREAM:
		return feed_stream(p, b, n);
	case PL_JSON:
		return feed_json(p, b, n);
	case PL_TEXT:
		feed_text(p, b, n);
		return 0;
	}
	return 0;
}

bool
payload_has_result(const struct payload *p)
{
	return p->result != NULL;
}

/*
 * json mode: one object, or with --verbose an array of the stream's
 * events judged by its last type:"result" element.
 */
static void
json_finish(struct payload *p)
{
	cJSON *root, *el, *last = NULL;
	struct pl_event e;

	/* The process is over: nothing is live, so the hook is not told. */
	p->json_done = true;
	p->quiet = true;
	memset(&e, 0, sizeof(e));
	if (p->len == 0 || all_space(p->buf, p->len)) {
		drop_buffer(p);
		return;
	}
	p->buf[p->len] = '\0';
	if ((root = parse_whole(p->buf, p->len)) == NULL) {
		note_bad(p, p->buf, p->len);
		drop_buffer(p);
		return;
	}
	drop_buffer(p);
	if (cJSON_IsObject(root)) {
		p->nparsed = 1;
		if (get_str(root, "type") == NULL)
			p->malformed = "json output has no type";
		else if (str_is(root, "type", "result")) {
			keep_result(p, root, 0, 0, NULL);
			return;
		}
	} else if (cJSON_IsArray(root)) {
		cJSON_ArrayForEach(el, root) {
			if (!cJSON_IsObject(el))
				continue;
			p->nparsed++;
			if (str_is(el, "type", "result"))
				last = el;
			else
				observe(p, el, &e);
		}
		if (last != NULL)
			keep_result(p, cJSON_DetachItemViaPointer(root, last), 0,
			    0, NULL);
	} else
		p->malformed = "json output is not an object or array";
	cJSON_Delete(root);
}

static void
set_reset(struct payload *p, struct verdict *v, const char *text, size_t n)
{
	if (v->oc != OC_RATE_LIMIT)
		return;
	time_t when;

	if (p->limit_rejected && p->limit_reset != 0)
		v->reset_at = p->limit_reset;
	else if (text != NULL && retry_parse_reset(text, n > SCAN_BYTES ?
	    SCAN_BYTES : n, time(NULL), &when) == 0)
		/* Every form the CLI prints, read by retry.c alone. */
		v->reset_at = when;
}

static void
judge_text(struct payload *p, const struct pl_end *end, struct verdict *v)
{
	struct errsig e;

	if (end->timed_out) {
		v->oc = OC_TIMEOUT;
		detail_add(v, "timed out");
	} else if (cli_error_form(p->head, p->head_len)) {
		/* The CLI's error on stdout is never an answer. */
		memset(&e, 0, sizeof(e));
		e.text = p->head;
		e.len = p->head_len;
		e.status = text_status(p->head, p->head_len);
		v->oc = classify(&e);
		if (!end->exited)
			detail_add(v, "signal=%d", end->term_sig);
		else if (end->exit_code != 0)
			detail_add(v, "exit=%d", end->exit_code);
		detail_add(v, "cli error text");
		detail_quote(v, p->head, p->head_len);
		set_reset(p, v, p->head, p->head_len);
	} else if (!end->exited) {
		v->oc = OC_ERROR;
		detail_add(v, "signal=%d", end->term_sig);
	} else if (end->exit_code != 0) {
		v->oc = OC_ERROR;
		detail_add(v, "exit=%d", end->exit_code);
	} else if (p->off == 0) {
		v->oc = OC_EMPTY;
		detail_add(v, "no output");
	} else if (p->all_space) {
		v->oc = OC_EMPTY;
		detail_add(v, "white space only (%lld bytes)",
		    (long long)p->off);
	} else if ((size_t)p->off == p->head_len && p->head_len > 0 &&
	    p->head[p->head_len - 1] == '\n' &&
	    is_placeholder(p, p->head, p->head_len - 1)) {
		/* Text mode prints the placeholder plus its newline. */
		v->oc = OC_EMPTY;
		detail_add(v, "placeholder result");
		detail_quote(v, p->head, p->head_len - 1);
	} else
		v->oc = OC_OK;
}

static void
judge_no_result(struct payload *p, const struct pl_end *end,
    struct verdict *v)
{
	struct errsig e;

	if (end->timed_out) {
		v->oc = OC_TIMEOUT;
		detail_add(v, "timed out, no result event");
	} else if (p->limit_rejected) {
		v->oc = OC_RATE_LIMIT;
		v->reset_at = p->limit_reset;
		detail_add(v, "rate_limit_event=rejected, no result event");
	} else if (cli_error_form(p->bad_head, p->bad_head_len)) {
		/* An error printed as text where JSON was expected. */
		memset(&e, 0, sizeof(e));
		e.text = p->bad_head;
		e.len = p->bad_head_len;
		e.status = text_status(p->bad_head, p->bad_head_len);
		v->oc = classify(&e);
		detail_add(v, "no result event, cli error text");
		detail_quote(v, p->bad_head, p->bad_head_len);
		set_reset(p, v, p->bad_head, p->bad_head_len);
	} else if (!end->exited) {
		v->oc = OC_ERROR;
		detail_add(v, "signal=%d, no result event", end->term_sig);
	} else if (end->exit_code != 0) {
		v->oc = OC_ERROR;
		detail_add(v, "exit=%d, no result event", end->exit_code);
	} else {
		v->oc = OC_BAD_PAYLOAD;
		if (p->malformed != NULL)
			detail_add(v, "%s", p->malformed);
		else if (p->nparsed == 0 && p->nbad > 0)
			detail_add(v, "unparseable output, no result event");
		else if (p->nparsed == 0)
			detail_add(v, "no output, no result event");
		else
			detail_add(v, "no result event");
		if (p->bad_why != NULL)
			detail_add(v, "(a line was not read: %s)", p->bad_why);
		if (p->skipped_long)
			detail_add(v, "(a line over %zu MiB was skipped)",
			    LINE_MAX_BYTES >> 20);
		if (p->skipped_odd)
			detail_add(v, "(a long line could not be read back "
			    "and was skipped)");
	}
}

/* The first string of the result's `errors` array (max turns, aborts). */
static const char *
first_error(const cJSON *r)
{
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(r, "errors");
	const cJSON *el;

	if (!cJSON_IsArray(errs))
		return NULL;
	cJSON_ArrayForEach(el, errs) {
		if (cJSON_IsString(el))
			return el->valuestring;
	}
	return NULL;
}

static void
judge_error(struct payload *p, const struct pl_end *end, struct verdict *v,
    bool is_error, bool sub_bad, bool cli_form)
{
	const cJSON *r = p->result;
	const char *sub = get_str(r, "subtype");
	const char *text = get_str(r, "result");
	const char *tr = get_str(r, "terminal_reason");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(r,
	    "api_error_status");
	struct errsig e;
	int64_t status = 0;

	memset(&e, 0, sizeof(e));
	/*
	 * The result text is the CLI's message when it says so (is_error on
	 * a success subtype, as every API error is) or has its form; else it
	 * may be the model's words, which are never searched or quoted.
	 */
	if (text != NULL && (cli_form || (is_error && !sub_bad)))
		e.text = text;
	else
		e.text = first_error(r);
	e.len = e.text != NULL ? strlen(e.text) : 0;
	if (num_i64(st, &status) && status >= 100 && status <= 599)
		e.status = (int)status;
	else
		e.status = text_status(e.text, e.len);
	e.rejected = p->limit_rejected;
	e.kind = p->asst_error[0] != '\0' ? p->asst_error : NULL;
	v->oc = classify(&e);

	if (is_error)
		detail_add(v, "is_error");
	if (sub_bad)
		detail_add(v, "subtype=%.40s", sub != NULL ? sub : "?");
	if (end->exited && end->exit_code != 0 && !end->timed_out)
		detail_add(v, "exit=%d", end->exit_code);
	if (!end->exited && end->term_sig != 0 && !end->timed_out)
		detail_add(v, "killed by SIG%s after its result",
		    sigabbrev_np(end->term_sig) != NULL ?
		    sigabbrev_np(end->term_sig) : "?");
	if (status != 0)
		detail_add(v, "api_error_status=%lld", (long long)status);
	if (tr != NULL && strcmp(tr, "completed") != 0)
		detail_add(v, "terminal_reason=%.40s", tr);
	if (e.kind != NULL)
		detail_add(v, "error=%.32s", e.kind);
	if (p->limit_rejected)
		detail_add(v, "rate_limit_event=rejected");
	if (cli_form && !is_error)
		detail_add(v, "cli error text");
	detail_quote(v, e.text, e.len);
	set_reset(p, v, e.text, e.len);
}

static void
judge_result(struct payload *p, const struct pl_end *end, struct verdict *v)
{
	const cJSON *r = p->result;
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(r, "subtype");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
	bool is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r,
	    "is_error"));
	bool sub_bad = sub != NULL && !cJSON_IsNull(sub) &&
	    !str_is(r, "subtype", "success");
	/*
	 * Killed by us after the result: its exit status is ours. A death
	 * by a signal we did not send (SIGSEGV, the OOM killer) fails the
	 * attempt as an exit 1 would: the answer may be cut short.
	 */
	bool exit_bad = !end->timed_out && (end->exited ? end->exit_code != 0 :
	    end->term_sig != 0);
	const char *text = cJSON_IsString(res) ? res->valuestring : NULL;
	size_t n = text != NULL ? strlen(text) : 0;
	bool cli_form = cli_error_form(text, n);
	/* Not held, text is only its head, but its blankness is known. */
	bool empty = p->big.set ? p->big.empty : n == 0;
	bool blank = p->big.set ? p->big.blank : all_space(text, n);

	v->have_result = true;
	if (is_error || sub_bad || exit_bad || cli_form)
		judge_error(p, end, v, is_error, sub_bad, cli_form);
	else if (res == NULL || cJSON_IsNull(res)) {
		v->oc = OC_EMPTY;
		detail_add(v, "result has no text");
	} else if (text == NULL) {
		v->oc = OC_BAD_PAYLOAD;
		detail_add(v, "result is not a string");
	} else if (blank) {
		v->oc = OC_EMPTY;
		detail_add(v, empty ? "empty result" :
		    "white space only result");
	} else if (!p->big.set && is_placeholder(p, text, n)) {
		v->oc = OC_EMPTY;
		detail_add(v, "placeholder result");
		detail_quote(v, text, n);
	} else
		v->oc = OC_OK;
}

static void
fill_usage(const struct payload *p, struct verdict *v)
{
	struct pl_usage *u = &v->usage;
	const cJSON *r = p->result, *us, *mu, *m;
	const char *best = NULL, *s;
	double best_out = -1;

	strlcpy(u->model, p->model, sizeof(u->model));
	strlcpy(u->session, p->session, sizeof(u->session));
	if (r == NULL)
		return;
	if ((s = get_str(r, "session_id")) != NULL)
		strlcpy(u->session, s, sizeof(u->session));
	us = cJSON_GetObjectItemCaseSensitive(r, "usage");
	if (cJSON_IsObject(us)) {
		u->have = true;
		u->input_tokens = get_i64(us, "input_tokens");
		u->output_tokens = get_i64(us, "output_tokens");
		u->cache_read = get_i64(us, "cache_read_input_tokens");
		u->cache_creation = get_i64(us, "cache_creation_input_tokens");
	}
	u->num_turns = get_i64(r, "num_turns");
	u->cost_usd = get_double(r, "total_cost_usd");
	/* The model that wrote most; after a fallback the only one. */
	mu = cJSON_GetObjectItemCaseSensitive(r, "modelUsage");
	if (!cJSON_IsObject(mu))
		mu = NULL;
	cJSON_ArrayForEach(m, mu) {
		double out = get_double(m, "outputTokens");

		if (m->string != NULL && out > best_out) {
			best = m->string;
			best_out = out;
		}
	}
	if (best != NULL)
		strlcpy(u->model, best, sizeof(u->model));
}

void
payload_judge(struct payload *p, const struct pl_end *end, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (p->fmt == PL_TEXT) {
		judge_text(p, end, v);
		return;
	}
	if (p->fmt == PL_STREAM && (p->len > 0 || p->overlong ||
	    p->spooled)) {
		/* A last line without its newline still counts. */
		if (end_line(p) == -1) {
			p->nbad++;
			p->skipped_odd = true;
		}
		p->line_off = p->off;
	}
	if (p->fmt == PL_JSON && !p->json_done)
		json_finish(p);
	if (p->result != NULL)
		judge_result(p, end, v);
	else if (p->malformed != NULL && !end->timed_out) {
		v->oc = OC_BAD_PAYLOAD;
		detail_add(v, "%s", p->malformed);
	} else
		judge_no_result(p, end, v);
	if (p->fmt == PL_STREAM && p->result != NULL) {
		v->result_off = p->result_off;
		v->result_len = p->result_len;
	}
	fill_usage(p, v);
}

const char *
payload_result_text(const struct payload *p, size_t *len)
{
	const char *s;

	if (p->fmt == PL_TEXT || p->result == NULL || p->big.set ||
	    (s = get_str(p->result, "result")) == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = strlen(s);
	return s;
}

static int
write_all(int fd, const void *b, size_t n)
{
	const char *q = b;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, q, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Decodes a result string not held from the spool to fd, a piece at a
 * time; runs without a backslash decode to themselves.
 */
static int
write_big(struct rd *r, unsigned char *out, int fd, bool *ends_nl)
{
	const unsigned char *b, *bs;
	struct jdec d;
	size_t n = 0, m;
	int c, k;

	memset(&d, 0, sizeof(d));
	while ((c = rd_peek(r)) >= 0) {
		if (d.st == JD_CHAR && c != '\\') {
			b = r->buf + r->i;
			bs = memchr(b, '\\', r->n - r->i);
			m = bs != NULL ? (size_t)(bs - b) : r->n - r->i;
			if (m > RD_BYTES - n)
				m = RD_BYTES - n;
			memcpy(out + n, b, m);
			k = (int)m;
			r->i += m;
		} else {
			k = jdec_put(&d, (unsigned char)c, out + n);
			r->i++;
		}
		/* It was read whole once: the spool changed since. */
		if (k < 0) {
			errno = EIO;
			return -1;
		}
		n += (size_t)k;
		if (k > 0)
			*ends_nl = out[n - 1] == '\n';
		if (n >= RD_BYTES) {
			if (write_all(fd, out, n) == -1)
				return -1;
			n = 0;
		}
	}
	if (r->err != 0) {
		errno = r->err;
		return -1;
	}
	if ((k = jdec_end(&d, out + n)) < 0) {
		errno = EIO;
		return -1;
	}
	n += (size_t)k;
	if (k > 0)
		*ends_nl = out[n - 1] == '\n';
	return write_all(fd, out, n);
}

int
payload_write_result(const struct payload *p, int fd, bool *ends_nl)
{
	const char *s;
	unsigned char *out;
	struct rd *r;
	size_t n;
	int rc;

	*ends_nl = false;
	if (p->result != NULL && p->big.set) {
		r = rd_open(p->spool_fd, p->big.off, p->big.len);
		out = malloc(RD_BYTES + JDEC_OUT);
		rc = r != NULL && out != NULL ? write_big(r, out, fd, ends_nl) : -1;
		free(r);
		free(out);
		return rc;
	}
	if ((s = payload_result_text(p, &n)) == NULL || n == 0)
		return 0;
	*ends_nl = s[n - 1] == '\n';
	return write_all(fd, s, n);
}
