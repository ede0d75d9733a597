/*
 * read_jscan: the project's scanner alone, for comparing with yajl
 * (read_stream_yajl.c, YAJL.md). Reads stream-json from standard input
 * in 64 KiB pieces and cuts it into lines as payload.c does: a line is
 * held in memory up to 256 KiB (LINE_HOLD_BYTES), a longer one is
 * written to a spool (an unlinked file in /tmp) and read back from there.
 * Each line goes through jscan_line with payload.c's sh_event shape
 * (copied below: it is static there), then cJSON parses the reduction
 * (as parse_whole does) and the fields are read into struct ev
 * (bench_ev.h). Unlike read_stream it writes no spool for short lines
 * and judges nothing: parse work alone. Prints the summary of bench_ev.h.
 * With -n the fields are not read into struct ev (only whether the line
 * is an event): the cost of jscan_line and cJSON_Parse alone.
 *
 * Build (from the top of the tree, after `make build/rel/read_stream`):
 *   cc -std=gnu11 -D_GNU_SOURCE -O2 -Ilib -I/usr/include/cjson \
 *     -o build/rel/read_jscan tests/bench/read_jscan.c \
 *     $(find build/rel -name '*.o' ! -name claudewrap.o) -lcjson -lbsd -lmd -lhiredis
 * Run:
 *   build/rel/read_jscan [-n] < FILE
 */
#include <cJSON.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jscan.h"
#include "payload.h"
#include "bench_ev.h"

#define LINE_HOLD_BYTES	((size_t)256 << 10)	/* as payload.c */


/* A leaf as text: a string decoded, a number as %.17g, else its word. */
static void
leaf(char *dst, const cJSON *v)
{
	if (cJSON_IsString(v))
		ev_copy(dst, v->valuestring, strlen(v->valuestring));
	else if (cJSON_IsNumber(v))
		snprintf(dst, EV_STR, "%.17g", v->valuedouble);
	else if (cJSON_IsTrue(v))
		strcpy(dst, "true");
	else if (cJSON_IsFalse(v))
		strcpy(dst, "false");
	else if (cJSON_IsNull(v))
		strcpy(dst, "null");
	else
		strcpy(dst, cJSON_IsArray(v) ? "[]" : "{}");
}

static const char *
str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The reduced event into e, as payload.c reads it. */
static void
fill(struct ev *e, const cJSON *ev, const struct js_str *big)
{
	const cJSON *v, *b, *msg;
	const char *s;
	int i;

	e->ok = true;
	for (i = 0; i < T_N; i++)
		if ((v = cJSON_GetObjectItemCaseSensitive(ev,
		    ev_top_keys[i])) != NULL) {
			e->top_set |= 1u << i;
			leaf(e->top[i], v);
		}
	v = cJSON_GetObjectItemCaseSensitive(ev, "rate_limit_info");
	if (cJSON_IsObject(v))
		for (i = 0; i < 4; i++)
			if ((b = cJSON_GetObjectItemCaseSensitive(v,
			    ev_limit_keys[i])) != NULL)
				leaf(e->limit[i], b);
	msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
	if ((s = str_of(msg, "id")) != NULL)
		ev_copy(e->msg_id, s, strlen(s));
	v = cJSON_GetObjectItemCaseSensitive(msg, "content");
	cJSON_ArrayForEach(b, (cJSON_IsArray(v) ? v : NULL)) {
		const cJSON *in;
		struct ev_tool *t;

		if ((s = str_of(b, "type")) == NULL || strcmp(s, "tool_use") != 0)
			continue;
		if (e->ntools++ >= EV_TOOLS)
			continue;
		t = &e->tools[e->ntools - 1];
		t->name[0] = t->skill[0] = '\0';
		if ((s = str_of(b, "name")) != NULL)
			ev_copy(t->name, s, strlen(s));
		in = cJSON_GetObjectItemCaseSensitive(b, "input");
		if (((s = str_of(in, "skill")) != NULL ||
		    (s = str_of(in, "command")) != NULL ||
		    (s = str_of(in, "name")) != NULL))
			ev_copy(t->skill, s, strlen(s));
	}
	v = cJSON_GetObjectItemCaseSensitive(ev, "usage");
	for (i = 0; i < 4; i++) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(v,
		    ev_usage_keys[i]);

		if (cJSON_IsNumber(n))
			e->usage[i] = (long long)n->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(ev, "modelUsage");
	if (cJSON_IsObject(v))
		cJSON_ArrayForEach(b, v) {
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(b,
			    "outputTokens");

			e->nmodels++;
			if (cJSON_IsNumber(n))
				e->model_out += (long long)n->valuedouble;
		}
	v = cJSON_GetObjectItemCaseSensitive(ev, "errors");
	cJSON_ArrayForEach(b, (cJSON_IsArray(v) ? v : NULL))
		if (cJSON_IsString(b)) {
			ev_copy(e->first_error, b->valuestring,
			    strlen(b->valuestring));
			break;
		}
	if ((s = str_of(ev, "result")) != NULL) {
		e->has_result = true;
		/* Left in the spool: its escaped length (the head is kept). */
		e->result_len = big->set ? big->len : (long long)strlen(s);
		ev_copy(e->result_head, s, strlen(s));
	}
}

static bool	 no_fill;

struct rd_line {
	struct jscan	*js;
	int		 spool;
	char		*buf;
	size_t		 len, cap;
	size_t		 spooled;	/* >0: the line is in the spool */
	struct ev_sum	 sum;
	struct ev	 ev;
};

static bool
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
			return false;
	return true;
}

static void
end_line(struct rd_line *r)
{
	struct js_line l;
	const char *end = NULL;
	cJSON *ev;
	enum js_end how;

	if (r->spooled == 0 && blank(r->buf, r->len))
		return;
	ev_clear(&r->ev);
	if (r->spooled > 0)
		how = jscan_line(r->js, payload_event_shape(), NULL, 0, r->spooled,
		    JS_STR_HOLD, &l);
	else {
		r->buf[r->len] = '\0';
		how = jscan_line(r->js, payload_event_shape(), r->buf, 0, r->len,
		    JS_STR_HOLD, &l);
	}
	if (how == JS_ERR)
		err(2, "jscan_line");
	if (how == JS_OK) {
		ev = cJSON_ParseWithLengthOpts(l.json, l.len, &end, false);
		if (!cJSON_IsObject(ev) ||
		    !blank(end, (size_t)(l.json + l.len - end)))
			;
		else if (no_fill)
			r->ev.ok = true;
		else
			fill(&r->ev, ev, &l.big);
		cJSON_Delete(ev);
	}
	ev_add(&r->sum, &r->ev);
	r->len = r->spooled = 0;
}

/* n more bytes of the current line. */
static void
add(struct rd_line *r, const char *b, size_t n)
{
	if (r->spooled == 0 && r->len + n > LINE_HOLD_BYTES) {
		if (ftruncate(r->spool, 0) == -1 ||
		    pwrite(r->spool, r->buf, r->len, 0) != (ssize_t)r->len)
			err(2, "spool");
		r->spooled = r->len;
		r->len = 0;
		if (r->cap > ((size_t)1 << 20)) {
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	}
	if (r->spooled > 0) {
		if (pwrite(r->spool, b, n, (off_t)r->spooled) != (ssize_t)n)
			err(2, "spool");
		r->spooled += n;
		return;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap < 4096 ? 4096 : r->cap;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((r->buf = realloc(r->buf, cap)) == NULL)
			err(2, "realloc");
		r->cap = cap;
	}
	memcpy(r->buf + r->len, b, n);
	r->len += n;
}

static void
on_piece(void *ctx, const char *b, size_t n)
{
	add(ctx, b, n);
}

static void
on_end(void *ctx)
{
	end_line(ctx);
}

int
main(int argc, char **argv)
{
	static struct rd_line r;
	char tmpl[] = "/tmp/read_jscan.XXXXXX";

	if (argc == 2 && strcmp(argv[1], "-n") == 0)
		no_fill = true;
	else if (argc != 1) {
		fprintf(stderr, "usage: read_jscan [-n]\n");
		return 2;
	}
	if ((r.spool = mkstemp(tmpl)) == -1)
		err(2, "mkstemp");
	(void)unlink(tmpl);
	if ((r.js = jscan_new(r.spool)) == NULL)
		err(2, "jscan_new");
	ev_sum_init(&r.sum);
	ev_read_lines(on_piece, on_end, &r);
	ev_print(&r.sum);
	jscan_free(r.js);
	free(r.buf);
	return 0;
}
