/*
 * Payload: reads what the CLI printed on stdout and judges it. Pure: bytes
 * in, events to a hook, a verdict out; no processes and no I/O.
 *
 * The shapes handled here are the ones in claude-cli-facts.md (section 2,
 * the stream-json table, section 4) and the order of judgement is the one
 * in design.md, "Payload". stream-json is read a line at a time through
 * one reused buffer, so memory stays flat however long the stream; only
 * the last result object is kept. json is one value, so it is gathered
 * and parsed at the end. Text keeps its head and whether it is all white
 * space, nothing more.
 */
#include "payload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A stream line or a json document longer than this is not held. */
#define LINE_MAX_BYTES	((size_t)128 << 20)
/* After a line that grew the buffer past this, the buffer is let go. */
#define LINE_KEEP_BYTES	((size_t)1 << 20)
/* Bytes kept of text output, and of the first line that did not parse. */
#define HEAD_BYTES	512
/* Error texts are searched for keywords only this far. */
#define SCAN_BYTES	8192
/* Bytes of the CLI's own error message quoted in a verdict's detail. */
#define QUOTE_BYTES	120

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
	bool		 overlong;	/* the current line is being skipped */
	bool		 skipped_long;	/* some line was */
	bool		 json_done;
	bool		 quiet;		/* json: the hook is not told */

	/* Text: its head, and whether all of it so far is white space. */
	char		 head[HEAD_BYTES];
	size_t		 head_len;
	bool		 all_space;

	/* What the events said. */
	cJSON		*result;	/* the last type:"result" object */
	int64_t		 result_off;
	size_t		 result_len;
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
 * Usage-limit forms of claude-cli-facts.md section 4, and the strings the
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

/* `Claude AI usage limit reached|1753441200`: the reset epoch, or 0. */
static int64_t
usage_limit_epoch(const char *s, size_t n)
{
	static const char key[] = "usage limit reached|";
	const size_t m = sizeof(key) - 1;
	int64_t t = 0;
	size_t i, j;

	if (s == NULL)
		return 0;
	if (n > SCAN_BYTES)
		n = SCAN_BYTES;
	for (i = 0; i + m <= n; i++)
		if (strncasecmp(s + i, key, m) == 0)
			break;
	if (i + m > n)
		return 0;
	for (j = i + m; j < n && j < i + m + 15; j++) {
		if (s[j] < '0' || s[j] > '9')
			break;
		t = t * 10 + (s[j] - '0');
	}
	return j == i + m ? 0 : epoch_s(t);
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

/* The class of an error, first match as in design.md. */
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

		v->detail[used + k] = c < 0x20 || c == 0x7f || c == '\0' ?
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

static void
keep_result(struct payload *p, cJSON *r, int64_t off, size_t len)
{
	cJSON_Delete(p->result);
	p->result = r;
	p->result_off = off;
	p->result_len = len;
}

/* One complete stream line, without its newline; s[len] is a NUL. */
static void
stream_line(struct payload *p, const char *s, size_t len, int64_t off)
{
	struct pl_event e;
	cJSON *ev;

	if (all_space(s, len))
		return;
	ev = parse_whole(s, len);
	if (!cJSON_IsObject(ev)) {
		cJSON_Delete(ev);
		note_bad(p, s, len);
		return;
	}
	p->nparsed++;
	memset(&e, 0, sizeof(e));
	e.kind = PLE_EVENT;
	e.line = s;
	e.line_len = len;
	e.line_off = off;
	call_hook(p, &e);
	if (str_is(ev, "type", "result")) {
		keep_result(p, ev, off, len);
		e.kind = PLE_RESULT;
		call_hook(p, &e);
		return;
	}
	observe(p, ev, &e);
	cJSON_Delete(ev);
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

static void
end_line(struct payload *p)
{
	if (p->overlong) {
		p->overlong = false;
		p->skipped_long = true;
		p->nbad++;
	} else if (p->len > 0) {
		p->buf[p->len] = '\0';
		stream_line(p, p->buf, p->len, p->line_off);
	}
	p->len = 0;
	if (p->cap > LINE_KEEP_BYTES)
		drop_buffer(p);
}

static int
feed_stream(struct payload *p, const char *b, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(b, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - b) : n;

		if (!p->overlong && p->len + take > LINE_MAX_BYTES) {
			/* Held, it would break the flat-memory promise. */
			p->overlong = true;
			drop_buffer(p);
		}
		if (!p->overlong && take > 0) {
			if (reserve(p, take) == -1)
				return -1;
			memcpy(p->buf + p->len, b, take);
			p->len += take;
		}
		p->off += (int64_t)take;
		b += take;
		n -= take;
		if (nl != NULL) {
			end_line(p);
			b++;
			n--;
			p->off++;
			p->line_off = p->off;
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
	return p;
}

void
payload_free(struct payload *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	cJSON_Delete(p->result);
	free(p);
}

/* 0, or -1 with errno (ENOMEM; EFBIG for json past LINE_MAX_BYTES). */
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
			keep_result(p, root, 0, 0);
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
			    0);
	} else
		p->malformed = "json output is not an object or array";
	cJSON_Delete(root);
}

static void
set_reset(struct payload *p, struct verdict *v, const char *text, size_t n)
{
	if (v->oc != OC_RATE_LIMIT)
		return;
	if (p->limit_rejected && p->limit_reset != 0)
		v->reset_at = p->limit_reset;
	else
		v->reset_at = usage_limit_epoch(text, n);
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
		if (p->skipped_long)
			detail_add(v, "(a line over %zu MiB was skipped)",
			    LINE_MAX_BYTES >> 20);
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
	/* Killed by us after the result: its exit status is ours. */
	bool exit_bad = end->exited && end->exit_code != 0 && !end->timed_out;
	const char *text = cJSON_IsString(res) ? res->valuestring : NULL;
	size_t n = text != NULL ? strlen(text) : 0;
	bool cli_form = cli_error_form(text, n);

	v->have_result = true;
	if (is_error || sub_bad || exit_bad || cli_form)
		judge_error(p, end, v, is_error, sub_bad, cli_form);
	else if (res == NULL || cJSON_IsNull(res)) {
		v->oc = OC_EMPTY;
		detail_add(v, "result has no text");
	} else if (text == NULL) {
		v->oc = OC_BAD_PAYLOAD;
		detail_add(v, "result is not a string");
	} else if (all_space(text, n)) {
		v->oc = OC_EMPTY;
		detail_add(v, n == 0 ? "empty result" :
		    "white space only result");
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
	if (p->fmt == PL_STREAM && (p->len > 0 || p->overlong)) {
		/* A last line without its newline still counts. */
		end_line(p);
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

	if (p->fmt == PL_TEXT || p->result == NULL ||
	    (s = get_str(p->result, "result")) == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = strlen(s);
	return s;
}
