/*
 * Payload: reads what the CLI printed on stdout. Bytes in, events to a
 * hook, and on the way the facts judging needs (struct pl_facts);
 * payload_judge finishes the reading and hands them to judge.c, which
 * gives the verdict. No processes, and no I/O but reading back the
 * caller's spool and writing a result where it is told to.
 *
 * The shapes handled here are the CLI's outputs as observed
 * (tests/e2e/cli-observations.md; tests/unit/test_payload.c holds each
 * byte for byte). stream-json is cut into lines by lines.c; each line
 * is read by jscan.c, held ones from memory, one too long to hold back
 * from the spool, and reduced to the members read here and in judge.c
 * (sh_event), so memory stays flat however long the stream or a line;
 * only the last result object is kept. json is one value, so it is
 * gathered and parsed by cJSON at the end. Text keeps its head and
 * whether it is all white space.
 */
#include "payload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "jget.h"
#include "jscan.h"
#include "judge.h"
#include "lines.h"

/* A json document longer than this is not held. */
#define JSON_MAX_BYTES	((size_t)128 << 20)

struct payload {
	/* What judging reads (judge.h), gathered as the bytes are read. */
	struct pl_facts	 facts;
	pl_hook		*hook;
	void		*ctx;

	/* The whole json document. */
	char		*buf;
	size_t		 len;
	size_t		 cap;
	struct lines	*ln;		/* stream-json cut into lines */
	struct jscan	*js;		/* the reader of every line */
	bool		 thorough;	/* tests: every line parsed by cJSON */
	size_t		 str_hold;
	bool		 json_done;
	bool		 quiet;		/* json: the hook is not told */
};

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
	    !jget_all_space(end, (size_t)(s + len - end))) {
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

static void
call_hook(struct payload *p, const struct pl_event *ev)
{
	if (p->hook != NULL && !p->quiet)
		p->hook(p->ctx, ev);
}

static void
on_system(struct payload *p, const cJSON *ev, struct pl_event *e)
{
	struct pl_facts *f = &p->facts;
	const char *sub = jget_str(ev, "subtype");

	if (sub == NULL)
		return;
	if (strcmp(sub, "init") == 0) {
		e->kind = PLE_INIT;
		e->model = jget_str(ev, "model");
		e->session = jget_str(ev, "session_id");
		if (e->model != NULL)
			strlcpy(f->model, e->model, sizeof(f->model));
		if (e->session != NULL)
			strlcpy(f->session, e->session, sizeof(f->session));
	} else if (strcmp(sub, "api_retry") == 0) {
		e->kind = PLE_API_RETRY;
		e->retry_attempt = jget_int(ev, "attempt");
		e->retry_max = jget_int(ev, "max_retries");
		e->retry_delay_ms = jget_double(ev, "retry_delay_ms");
		/* The caller turns it into an integer: keep that defined. */
		if (e->retry_delay_ms < 0 || e->retry_delay_ms > 1e15)
			e->retry_delay_ms = 0;
		e->error_status = jget_int(ev, "error_status");
		e->error = jget_str(ev, "error");
	} else if (strcmp(sub, "model_fallback") == 0) {
		e->kind = PLE_FALLBACK;
		e->model = jget_str(ev, "fallback_model");
		e->from_model = jget_str(ev, "original_model");
		if (e->model != NULL)
			strlcpy(f->model, e->model, sizeof(f->model));
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
	e->limit_status = jget_str(info, "status");
	if ((at = cJSON_GetObjectItemCaseSensitive(info, "resetsAt")) == NULL)
		at = cJSON_GetObjectItemCaseSensitive(info, "resets_at");
	if (jget_num_i64(at, &t))
		e->resets_at = epoch_s(t);
	else if (cJSON_IsString(at) && at->valuestring[0] != '\0' &&
	    strspn(at->valuestring, "0123456789") == strlen(at->valuestring) &&
	    strlen(at->valuestring) < 16)
		e->resets_at = epoch_s(strtoll(at->valuestring, NULL, 10));
	if (e->limit_status != NULL &&
	    strcmp(e->limit_status, "rejected") == 0 &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info,
	    "isUsingOverage"))) {
		p->facts.limit_rejected = true;
		if (e->resets_at != 0)
			p->facts.limit_reset = e->resets_at;
	}
	call_hook(p, e);
}

/* The error kind of the last assistant message (NULL: none), as judged. */
static void
set_asst_error(struct payload *p, const char *err)
{
	struct pl_facts *f = &p->facts;

	strlcpy(f->asst_error, err != NULL ? err : "", sizeof(f->asst_error));
}

/* Every tool_use block of an assistant message, and its error kind. */
static void
on_assistant(struct payload *p, const cJSON *ev, struct pl_event *e)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	const cJSON *block;
	set_asst_error(p, jget_str(ev, "error"));
	if (!cJSON_IsArray(content))
		return;
	cJSON_ArrayForEach(block, content) {
		const cJSON *in;

		if (!jget_str_is(block, "type", "tool_use"))
			continue;
		e->kind = PLE_TOOL_USE;
		e->tool = jget_str(block, "name");
		e->skill = NULL;
		in = cJSON_GetObjectItemCaseSensitive(block, "input");
		if (e->tool != NULL && strcmp(e->tool, "Skill") == 0 &&
		    cJSON_IsObject(in)) {
			if ((e->skill = jget_str(in, "skill")) == NULL &&
			    (e->skill = jget_str(in, "command")) == NULL)
				e->skill = jget_str(in, "name");
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
	const char *type = jget_str(ev, "type");

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
	struct pl_facts *f = &p->facts;

	f->nbad++;
	if (f->bad_head_len > 0)
		return;
	while (n > 0 && jget_is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	f->bad_head_len = n < sizeof(f->bad_head) ? n : sizeof(f->bad_head);
	memcpy(f->bad_head, s, f->bad_head_len);
}

/* big: where its `result` string lies when it was not held, or NULL. */
static void
keep_result(struct payload *p, cJSON *r, int64_t off, size_t len,
    const struct js_str *big)
{
	cJSON_Delete(p->facts.result);
	p->facts.result = r;
	p->facts.result_off = off;
	p->facts.result_len = len;
	if (big != NULL)
		p->facts.big = *big;
	else
		memset(&p->facts.big, 0, sizeof(p->facts.big));
}

/* Every line that is an object is counted, and e made its PLE_EVENT. */
static void
event_seen(struct payload *p, struct pl_event *e, const char *s, size_t len,
    int64_t off)
{
	p->facts.nparsed++;
	memset(e, 0, sizeof(*e));
	e->kind = PLE_EVENT;
	e->line = s;
	e->line_len = s != NULL ? len : 0;
	e->line_size = len;
	e->line_off = off;
}

/*
 * A stream line that parsed as an object (ev, which this takes): the
 * raw line s, or NULL when it was not held; len is its length anyway.
 */
static void
on_event(struct payload *p, cJSON *ev, const char *s, size_t len,
    int64_t off, const struct js_str *big)
{
	struct pl_event e;

	event_seen(p, &e, s, len, off);
	if (jget_str_is(ev, "type", "assistant"))
		e.msg_id = jget_str(cJSON_GetObjectItemCaseSensitive(ev,
		    "message"), "id");
	call_hook(p, &e);
	if (jget_str_is(ev, "type", "result")) {
		keep_result(p, ev, off, len, big);
		e.kind = PLE_RESULT;
		call_hook(p, &e);
		return;
	}
	observe(p, ev, &e);
	cJSON_Delete(ev);
}

/*
 * What is kept of a value: a shape names, for an object, the members
 * read (SH_OBJ: the first of each name, as cJSON finds it) or a shape
 * for every member (SH_MAP); for an array, the tool_use blocks of a
 * message (SH_TOOLS) or its first string (SH_FIRST_STR, `errors`). A
 * value of another type than its shape expects is kept as a leaf: a
 * scalar whole, an object as {}, an array as []. Every key read above
 * or by judge.c (jget_*, cJSON_GetObjectItemCaseSensitive) must be here:
 * the scanner (jscan.c) keeps nothing else of a stream line.
 */
static const struct shape sh_leaf = { SH_LEAF, NULL, NULL, 0 };
enum { NAME_TYPE, NAME_SUBTYPE, NAME_BLOCK_TYPE, NAME_MSG_ID, NAME_ERROR };
_Static_assert(NAME_ERROR < JS_NAMES, "a slot each");
static const struct shape sh_type = { SH_NAME, NULL, NULL, NAME_TYPE };
static const struct shape sh_subtype = { SH_NAME, NULL, NULL, NAME_SUBTYPE };
static const struct shape sh_result = { SH_RESULT, NULL, NULL, 0 };
static const struct shape sh_errors = { SH_FIRST_STR, NULL, NULL, 0 };

static const struct field f_input[] = {
	{ "skill", &sh_leaf }, { "command", &sh_leaf }, { "name", &sh_leaf },
	{ NULL, NULL }
};
static const struct shape sh_input = { SH_OBJ, NULL, f_input, 0 };
static const struct shape sh_block_type = { SH_NAME, NULL, NULL,
	NAME_BLOCK_TYPE };
static const struct field f_block[] = {
	{ "type", &sh_block_type }, { "name", &sh_leaf },
	{ "input", &sh_input }, { NULL, NULL }
};
static const struct shape sh_block = { SH_OBJ, NULL, f_block, 0 };
static const struct shape sh_content = { SH_TOOLS, &sh_block, NULL,
	NAME_BLOCK_TYPE };
static const struct shape sh_msg_id = { SH_NAME, NULL, NULL, NAME_MSG_ID };
static const struct field f_message[] = {
	{ "content", &sh_content }, { "id", &sh_msg_id }, { NULL, NULL }
};
static const struct shape sh_message = { SH_OBJ, NULL, f_message, 0 };

static const struct field f_usage[] = {
	{ "input_tokens", &sh_leaf }, { "output_tokens", &sh_leaf },
	{ "cache_read_input_tokens", &sh_leaf },
	{ "cache_creation_input_tokens", &sh_leaf }, { NULL, NULL }
};
static const struct shape sh_usage = { SH_OBJ, NULL, f_usage, 0 };
static const struct field f_model[] = {
	{ "outputTokens", &sh_leaf }, { NULL, NULL }
};
static const struct shape sh_model = { SH_OBJ, NULL, f_model, 0 };
static const struct shape sh_model_usage = { SH_MAP, &sh_model, NULL, 0 };

static const struct field f_limit[] = {
	{ "status", &sh_leaf }, { "resetsAt", &sh_leaf },
	{ "resets_at", &sh_leaf }, { "isUsingOverage", &sh_leaf },
	{ NULL, NULL }
};
static const struct shape sh_limit = { SH_OBJ, NULL, f_limit, 0 };

static const struct shape sh_error = { SH_NAME, NULL, NULL, NAME_ERROR };

/* At most 32: a bit each in scan_object's `seen`. */
static const struct field f_event[] = {
	{ "type", &sh_type }, { "subtype", &sh_subtype },
	/* system: init, api_retry, model_fallback */
	{ "model", &sh_leaf }, { "session_id", &sh_leaf },
	{ "attempt", &sh_leaf }, { "max_retries", &sh_leaf },
	{ "retry_delay_ms", &sh_leaf }, { "error_status", &sh_leaf },
	{ "error", &sh_error }, { "fallback_model", &sh_leaf },
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
static const struct shape sh_event = { SH_OBJ, NULL, f_event, 0 };

const struct shape *
payload_event_shape(void)
{
	return &sh_event;
}

/* A line that is no JSON object: its head noted as a held one's is. */
static int
scanned_bad(struct payload *p)
{
	char head[JUDGE_HEAD_BYTES];
	size_t n;

	if (jscan_head(p->js, head, sizeof(head), &n) == -1)
		return -1;
	/* All white space: skipped, as stream_line does. */
	if (n > 0)
		note_bad(p, head, n);
	return 0;
}

static bool
is_one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (s[0] == (*set)[0] && strcmp(s, *set) == 0)
			return true;
	return false;
}

/* The types of line on_event reads more of, and a system line's subtypes. */
static const char *const judged_types[] = { "assistant", "result",
    "rate_limit_event", NULL };
static const char *const judged_subs[] = { "init", "api_retry",
    "model_fallback", NULL };

/*
 * Whether on_event would read more of the line than that it is an
 * object: by its type (and a system event's subtype), as on_event and
 * observe read them (jget_str: cJSON's C string of the first member of
 * the name, when a string). Any other line is counted and told to the
 * hook without cJSON: most of a long stream is such lines (tool results,
 * partial messages, ticks), and parsing each cost more than reading it.
 * UNDECIDED while the type (or a system line's subtype) is yet to come:
 * at the line's end, not judged. Only the first member of a name counts,
 * so JUDGED and NEVER_JUDGED hold whatever follows.
 */
enum judging { UNDECIDED, JUDGED, NEVER_JUDGED };

static enum judging
judging(const struct js_line *l)
{
	if (!l->named[NAME_TYPE])
		return UNDECIDED;
	if (strcmp(l->name[NAME_TYPE], "system") != 0)
		return is_one_of(l->name[NAME_TYPE], judged_types) ? JUDGED :
		    NEVER_JUDGED;
	if (!l->named[NAME_SUBTYPE])
		return UNDECIDED;
	return is_one_of(l->name[NAME_SUBTYPE], judged_subs) ? JUDGED :
	    NEVER_JUDGED;
}

/* The scanner asks this after each name it hands over: the rest is read. */
static bool
never_judged(const struct js_line *l)
{
	return judging(l) == NEVER_JUDGED;
}

/*
 * A name as jget_str reads it, when the scanner's copy is that: not named
 * (no string), or named and not "" ("" also stands for a longer name).
 */
static bool
name_whole(const struct js_line *l, int slot)
{
	return !l->named[slot] || l->name[slot][0] != '\0';
}

/*
 * An assistant message without tool_use blocks, whose id and error the
 * scanner handed over whole: what on_event and on_assistant would do
 * with it, without cJSON. Most of a long stream's judged lines are such.
 */
static bool
plain_assistant(struct payload *p, const struct js_line *l, const char *mem,
    size_t len, int64_t off)
{
	struct pl_event e;

	if (p->thorough || l->tools > 0 || !l->named[NAME_TYPE] ||
	    strcmp(l->name[NAME_TYPE], "assistant") != 0 ||
	    !name_whole(l, NAME_MSG_ID) || !name_whole(l, NAME_ERROR))
		return false;
	event_seen(p, &e, mem, len, off);
	e.msg_id = l->named[NAME_MSG_ID] ? l->name[NAME_MSG_ID] : NULL;
	call_hook(p, &e);
	set_asst_error(p, l->named[NAME_ERROR] ? l->name[NAME_ERROR] : NULL);
	return true;
}

/*
 * A line read by the scanner: from the spool at off, or (mem not NULL)
 * from memory, where the same bytes also lie in the spool at off.
 * 0, or -1 with errno.
 */
static int
scan_judge(struct payload *p, const char *mem, int64_t off, size_t len)
{
	struct js_line l;
	struct pl_event e;
	cJSON *ev;

	if (p->js == NULL) {
		if ((p->js = jscan_new(-1)) == NULL)
			return -1;
		if (p->thorough)
			jscan_set_thorough(p->js);
		jscan_set_enough(p->js, never_judged);
	}
	/* Our own spool is opened when a line first needs it. */
	jscan_set_spool(p->js, lines_spool_fd(p->ln));
	switch (jscan_line(p->js, &sh_event, mem, off, len, p->str_hold, &l)) {
	case JS_OK:
		/* A result not kept (it has a NUL) is delivered from there. */
		if (mem != NULL && l.big.set &&
		    lines_keep(p->ln, mem, off, len) == -1)
			return -1;
		if (l.cut || (!p->thorough && judging(&l) != JUDGED)) {
			event_seen(p, &e, mem, len, off);
			call_hook(p, &e);
			return 0;
		}
		if (plain_assistant(p, &l, mem, len, off))
			return 0;
		if (cJSON_IsObject(ev = parse_whole(l.json, l.len))) {
			on_event(p, ev, mem, len, off, &l.big);
			return 0;
		}
		/* Out of memory, or a reduction cJSON does not read. */
		cJSON_Delete(ev);
		break;
	case JS_BAD:
		if (l.deep && p->facts.bad_why == NULL)
			p->facts.bad_why = "nesting deeper than 1000 levels";
		return scanned_bad(p);
	case JS_FULL:
		break;
	case JS_ERR:
		return -1;
	}
	p->facts.nbad++;
	p->facts.skipped_odd = true;
	return 0;
}

/*
 * One complete stream line (lines.c), without its newline: read by the
 * scanner from memory, or (mem NULL) from the spool. 0, or -1 with errno.
 */
static int
on_line(void *ctx, const char *mem, int64_t off, size_t len)
{
	struct payload *p = ctx;

	if (mem != NULL && jget_all_space(mem, len))
		return 0;
	return scan_judge(p, mem, off, len);
}

/* A line too long to hold, with no spool to read it from. */
static void
on_skip(void *ctx)
{
	struct payload *p = ctx;

	p->facts.skipped_long = true;
	p->facts.nbad++;
}

static void
drop_buffer(struct payload *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
}

static int
feed_json(struct payload *p, const char *b, size_t n)
{
	if (p->len + n > JSON_MAX_BYTES) {
		errno = EFBIG;
		return -1;
	}
	/* And a NUL after it. */
	if (io_grow(&p->buf, &p->cap, p->len + n + 1) == -1)
		return -1;
	memcpy(p->buf + p->len, b, n);
	p->len += n;
	p->facts.off += (int64_t)n;
	return 0;
}

static void
feed_text(struct payload *p, const char *b, size_t n)
{
	size_t k;

	if (p->facts.all_space && !jget_all_space(b, n))
		p->facts.all_space = false;
	k = sizeof(p->facts.head) - p->facts.head_len;
	if (k > n)
		k = n;
	memcpy(p->facts.head + p->facts.head_len, b, k);
	p->facts.head_len += k;
	p->facts.off += (int64_t)n;
}

struct payload *
payload_new(enum pl_format fmt, pl_hook *hook, void *ctx)
{
	struct payload *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->facts.fmt = fmt;
	p->hook = hook;
	p->ctx = ctx;
	p->facts.all_space = true;
	p->str_hold = JS_STR_HOLD;
	if (fmt == PL_STREAM &&
	    (p->ln = lines_new(on_line, on_skip, p)) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

void
payload_set_spool(struct payload *p, int fd)
{
	if (p->ln != NULL)
		lines_set_spool(p->ln, fd);
}

void
payload_own_spool(struct payload *p)
{
	if (p->ln != NULL)
		lines_own_spool(p->ln);
}

int
payload_spool_fd(const struct payload *p)
{
	return p->ln != NULL ? lines_spool_fd(p->ln) : -1;
}

bool
payload_spool_failed(const struct payload *p)
{
	return p->ln != NULL && lines_spool_failed(p->ln);
}

void
payload_set_limits(struct payload *p, size_t line_hold, size_t str_hold)
{
	if (line_hold != 0 && p->ln != NULL)
		lines_set_hold(p->ln, line_hold);
	if (str_hold != 0)
		p->str_hold = str_hold;
}

void
payload_set_thorough(struct payload *p)
{
	p->thorough = true;
}

void
payload_set_placeholder(struct payload *p, const char *text)
{
	p->facts.placeholder = text;
}

void
payload_free(struct payload *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	lines_free(p->ln);
	jscan_free(p->js);
	cJSON_Delete(p->facts.result);
	free(p);
}

/*
 * 0, or -1 with errno (ENOMEM; EFBIG for json past JSON_MAX_BYTES; a
 * failed read of the spool).
 */
int
payload_feed(struct payload *p, const char *b, size_t n)
{
	switch (p->facts.fmt) {
	case PL_STREAM:
		return lines_feed(p->ln, b, n);
	case PL_JSON:
		return feed_json(p, b, n);
	case PL_TEXT:
		feed_text(p, b, n);
		return 0;
	}
	return 0;
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
	if (p->len == 0 || jget_all_space(p->buf, p->len)) {
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
		p->facts.nparsed = 1;
		if (jget_str(root, "type") == NULL)
			p->facts.malformed = "json output has no type";
		else if (jget_str_is(root, "type", "result")) {
			keep_result(p, root, 0, 0, NULL);
			return;
		}
	} else if (cJSON_IsArray(root)) {
		cJSON_ArrayForEach(el, root) {
			if (!cJSON_IsObject(el))
				continue;
			p->facts.nparsed++;
			if (jget_str_is(el, "type", "result"))
				last = el;
			else
				observe(p, el, &e);
		}
		if (last != NULL)
			keep_result(p, cJSON_DetachItemViaPointer(root, last), 0,
			    0, NULL);
	} else
		p->facts.malformed = "json output is not an object or array";
	cJSON_Delete(root);
}

void
payload_judge(struct payload *p, const struct pl_end *end, struct verdict *v)
{
	/* A last line without its newline still counts. */
	if (p->facts.fmt == PL_STREAM && lines_end(p->ln) == -1) {
		p->facts.nbad++;
		p->facts.skipped_odd = true;
	}
	if (p->facts.fmt == PL_JSON && !p->json_done)
		json_finish(p);
	judge_facts(&p->facts, end, v);
}

const char *
payload_result_text(const struct payload *p, size_t *len)
{
	const struct pl_facts *f = &p->facts;
	const char *s;

	if (f->fmt == PL_TEXT || f->result == NULL || f->big.set ||
	    (s = jget_str(f->result, "result")) == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = strlen(s);
	return s;
}

int
payload_write_result(const struct payload *p, int fd, bool *ends_nl)
{
	const char *s;
	size_t n;

	*ends_nl = false;
	if (p->facts.result != NULL && p->facts.big.set)
		return jscan_write_str(lines_spool_fd(p->ln), &p->facts.big, fd,
		    ends_nl);
	if ((s = payload_result_text(p, &n)) == NULL || n == 0)
		return 0;
	*ends_nl = s[n - 1] == '\n';
	return io_write_all(fd, s, n);
}
