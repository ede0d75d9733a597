/*
 * read_stream_yajl: what reading the CLI's stream-json with yajl (Debian's
 * libyajl-dev 2.1) instead of lib/jscan.c + cJSON would cost; see YAJL.md.
 * Not part of the product. Reads standard input in 64 KiB pieces, cuts
 * it at newlines and feeds each line's bytes to yajl's event API as they
 * come (no line is held), with callbacks that keep, at the right depth
 * only, the members of payload.c's sh_event shape into struct ev
 * (bench_ev.h): top-level leaves (type, subtype, is_error, session_id,
 * ...), rate_limit_info, message.id, the tool_use blocks of
 * message.content (name, input.skill/command/name), usage, modelUsage
 * (outputTokens), the first string of errors, and the result string's
 * length and head. A line is an event when it is one JSON object and
 * nothing else (nesting up to 1000, as cJSON), as jscan reads it.
 * Prints the same summary as read_jscan; compare the two with diff.
 *
 * One yajl handle (yajl_allow_multiple_values) is reused from line to
 * line, yajl_complete_parse closing each; it is replaced after a bad
 * line. Flags: -1 a new handle for every line; -u let yajl check UTF-8
 * (off by default: cJSON does not check it either).
 *
 * Build (from the top of the tree):
 *   cc -std=gnu11 -D_GNU_SOURCE -O2 $(pkg-config --cflags yajl) \
 *     -o build/rel/read_stream_yajl tests/bench/read_stream_yajl.c \
 *     $(pkg-config --libs yajl)
 * Run:
 *   build/rel/read_stream_yajl [-1] [-u] < FILE
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl_parse.h>

#include "bench_ev.h"

#define NEST_MAX	1000	/* CJSON_NESTING_LIMIT */
#define KEPT_MAX	8	/* kept containers nest at most 5 deep */

/* The containers something is kept of. */
enum ctx { C_TOP, C_MSG, C_CONTENT, C_BLOCK, C_INPUT, C_USAGE, C_MUSAGE,
	C_MODEL, C_LIMIT, C_ERRORS };

/* What a value is for: a T_* top-level leaf (bench_ev.h), or one of these. */
enum {
	W_NONE = -1,
	W_LIMIT = T_N, W_MESSAGE, W_RESULT, W_ERRORS, W_USAGE, W_MUSAGE,
	W_CONTENT, W_MSGID, W_BTYPE, W_BNAME, W_INPUT, W_IN0, W_IN1, W_IN2,
	W_U0, W_U1, W_U2, W_U3, W_MOUT, W_L0, W_L1, W_L2, W_L3, W_MODEL
};

struct key {
	const char	*k;
	size_t		 n;
	int		 what;
};
#define K(s, w)	{ s, sizeof(s) - 1, w }

/* sh_event's members in its order (the seen bit is the index). */
static const struct key k_top[] = {
	K("type", T_TYPE), K("subtype", T_SUBTYPE), K("model", T_MODEL),
	K("session_id", T_SESSION), K("attempt", T_ATTEMPT),
	K("max_retries", T_MAXRETRY), K("retry_delay_ms", T_DELAY),
	K("error_status", T_ERRSTATUS), K("error", T_ERROR),
	K("fallback_model", T_FALLBACK), K("original_model", T_ORIGMODEL),
	K("rate_limit_info", W_LIMIT), K("status", T_STATUS),
	K("resetsAt", T_RESETSAT), K("resets_at", T_RESETS_AT),
	K("isUsingOverage", T_OVERAGE), K("message", W_MESSAGE),
	K("is_error", T_IS_ERROR), K("api_error_status", T_APISTATUS),
	K("result", W_RESULT), K("terminal_reason", T_TERMREASON),
	K("errors", W_ERRORS), K("usage", W_USAGE), K("total_cost_usd", T_COST),
	K("num_turns", T_TURNS), K("modelUsage", W_MUSAGE), { NULL, 0, 0 }
};
static const struct key k_msg[] = {
	K("content", W_CONTENT), K("id", W_MSGID), { NULL, 0, 0 }
};
static const struct key k_block[] = {
	K("type", W_BTYPE), K("name", W_BNAME), K("input", W_INPUT),
	{ NULL, 0, 0 }
};
static const struct key k_input[] = {
	K("skill", W_IN0), K("command", W_IN1), K("name", W_IN2), { NULL, 0, 0 }
};
static const struct key k_usage[] = {
	K("input_tokens", W_U0), K("output_tokens", W_U1),
	K("cache_read_input_tokens", W_U2),
	K("cache_creation_input_tokens", W_U3), { NULL, 0, 0 }
};
static const struct key k_model[] = { K("outputTokens", W_MOUT), { NULL, 0, 0 } };
static const struct key k_limit[] = {
	K("status", W_L0), K("resetsAt", W_L1), K("resets_at", W_L2),
	K("isUsingOverage", W_L3), { NULL, 0, 0 }
};

static const struct key *const ctx_keys[] = {
	[C_TOP] = k_top, [C_MSG] = k_msg, [C_BLOCK] = k_block,
	[C_INPUT] = k_input, [C_USAGE] = k_usage, [C_MODEL] = k_model,
	[C_LIMIT] = k_limit,
};

/* A content block being read. */
struct blk {
	bool		 tool_use;
	bool		 in_set[3];
	char		 name[EV_STR];
	char		 in[3][EV_STR];
};

struct st {
	int		 depth;		/* containers open on the line */
	int		 skip;		/* >0: depth inside one nothing is kept of */
	int		 nk;		/* kept containers open */
	enum ctx	 ctx[KEPT_MAX];
	uint32_t	 seen[KEPT_MAX];
	int		 want;		/* what the next value in a map is for */
	int		 tops;		/* top-level values on the line */
	bool		 top_obj;	/* ... the first an object */
	bool		 any;		/* a callback came */
	bool		 err_done;	/* errors' first string read */
	struct blk	 blk;
	struct ev	 ev;
};

enum sk { S_STR, S_NUM, S_TRUE, S_FALSE, S_NULL, S_MAP, S_ARR };

/* A leaf as text, as read_jscan's leaf() writes it. */
static void
leaf_text(char *dst, enum sk k, const unsigned char *s, size_t n)
{
	char num[64];

	switch (k) {
	case S_STR:
		ev_copy(dst, s, n);
		break;
	case S_NUM:
		ev_copy(num, s, n < sizeof(num) ? n : sizeof(num) - 1);
		snprintf(dst, EV_STR, "%.17g", strtod(num, NULL));
		break;
	case S_TRUE:
		strcpy(dst, "true");
		break;
	case S_FALSE:
		strcpy(dst, "false");
		break;
	case S_NULL:
		strcpy(dst, "null");
		break;
	case S_MAP:
		strcpy(dst, "{}");
		break;
	case S_ARR:
		strcpy(dst, "[]");
		break;
	}
}

static long long
num_of(const unsigned char *s, size_t n)
{
	char num[64];

	ev_copy(num, s, n < sizeof(num) ? n : sizeof(num) - 1);
	return (long long)strtod(num, NULL);
}

/* What the value now starting is for; W_NONE also when it is a line's. */
static int
slot(struct st *st, enum sk k)
{
	int w;

	if (st->nk == 0)
		return W_NONE;
	switch (st->ctx[st->nk - 1]) {
	case C_CONTENT:
		return k == S_MAP ? W_BTYPE : W_NONE;	/* a block */
	case C_ERRORS:
		if (k == S_STR && !st->err_done) {
			st->err_done = true;
			return W_ERRORS;
		}
		return W_NONE;
	default:
		w = st->want;
		st->want = W_NONE;
		return w;
	}
}

/* A scalar (or, k S_MAP/S_ARR, a container not read into) for w. */
static void
put(struct st *st, int w, enum sk k, const unsigned char *s, size_t n)
{
	struct ev *e = &st->ev;

	if (w >= 0 && w < T_N) {
		e->top_set |= 1u << w;
		leaf_text(e->top[w], k, s, n);
		return;
	}
	if (w >= W_L0 && w <= W_L3) {
		leaf_text(e->limit[w - W_L0], k, s, n);
		return;
	}
	if (w == W_MODEL) {
		e->nmodels++;
		return;
	}
	if (k == S_NUM) {
		if (w >= W_U0 && w <= W_U3)
			e->usage[w - W_U0] = num_of(s, n);
		else if (w == W_MOUT)
			e->model_out += num_of(s, n);
		return;
	}
	if (k != S_STR)
		return;
	switch (w) {
	case W_RESULT:
		e->has_result = true;
		/* As cJSON's C string: up to a NUL. */
		e->result_len = (long long)strnlen((const char *)s, n);
		ev_copy(e->result_head, s, n);
		break;
	case W_ERRORS:
		ev_copy(e->first_error, s, n);
		break;
	case W_MSGID:
		ev_copy(e->msg_id, s, n);
		break;
	case W_BTYPE:
		st->blk.tool_use = n == 8 && memcmp(s, "tool_use", 8) == 0;
		break;
	case W_BNAME:
		ev_copy(st->blk.name, s, n);
		break;
	case W_IN0:
	case W_IN1:
	case W_IN2:
		st->blk.in_set[w - W_IN0] = true;
		ev_copy(st->blk.in[w - W_IN0], s, n);
		break;
	}
}

static int
scalar(struct st *st, enum sk k, const unsigned char *s, size_t n)
{
	st->any = true;
	if (st->skip > 0)
		return 1;
	if (st->nk == 0) {		/* a line that is no object */
		st->tops++;
		return 1;
	}
	put(st, slot(st, k), k, s, n);
	return 1;
}

static int
cb_null(void *c)
{
	return scalar(c, S_NULL, NULL, 0);
}

static int
cb_bool(void *c, int v)
{
	return scalar(c, v ? S_TRUE : S_FALSE, NULL, 0);
}

static int
cb_number(void *c, const char *s, size_t n)
{
	return scalar(c, S_NUM, (const unsigned char *)s, n);
}

static int
cb_string(void *c, const unsigned char *s, size_t n)
{
	return scalar(c, S_STR, s, n);
}

static void
push(struct st *st, enum ctx c)
{
	st->ctx[st->nk] = c;
	st->seen[st->nk] = 0;
	st->nk++;
	st->want = W_NONE;
	if (c == C_BLOCK)
		memset(&st->blk, 0, sizeof(st->blk));
}

static int
start(struct st *st, enum sk k)
{
	int w;

	st->any = true;
	if (st->depth >= NEST_MAX)
		return 0;		/* as cJSON: the line is refused */
	st->depth++;
	if (st->skip > 0) {
		st->skip++;
		return 1;
	}
	if (st->nk == 0) {
		if (st->tops++ == 0 && k == S_MAP) {
			st->top_obj = true;
			push(st, C_TOP);
		} else
			st->skip = 1;
		return 1;
	}
	w = slot(st, k);
	if (k == S_MAP && st->ctx[st->nk - 1] == C_CONTENT)
		push(st, C_BLOCK);
	else if (k == S_MAP && w == W_MESSAGE)
		push(st, C_MSG);
	else if (k == S_MAP && w == W_USAGE)
		push(st, C_USAGE);
	else if (k == S_MAP && w == W_MUSAGE)
		push(st, C_MUSAGE);
	else if (k == S_MAP && w == W_LIMIT)
		push(st, C_LIMIT);
	else if (k == S_MAP && w == W_INPUT)
		push(st, C_INPUT);
	else if (k == S_MAP && w == W_MODEL) {
		st->ev.nmodels++;
		push(st, C_MODEL);
	} else if (k == S_ARR && w == W_CONTENT)
		push(st, C_CONTENT);
	else if (k == S_ARR && w == W_ERRORS)
		push(st, C_ERRORS);
	else {
		put(st, w, k, NULL, 0);	/* a leaf: kept as {} or [] */
		st->skip = 1;
	}
	return 1;
}

static int
finish(struct st *st)
{
	struct ev *e = &st->ev;

	st->depth--;
	if (st->skip > 0) {
		st->skip--;
		return 1;
	}
	st->nk--;
	if (st->ctx[st->nk] == C_BLOCK && st->blk.tool_use) {
		if (e->ntools++ < EV_TOOLS) {
			struct ev_tool *t = &e->tools[e->ntools - 1];
			int i;

			strcpy(t->name, st->blk.name);
			for (i = 0; i < 3 && !st->blk.in_set[i]; i++)
				;
			strcpy(t->skill, i < 3 ? st->blk.in[i] : "");
		}
	}
	st->want = W_NONE;
	return 1;
}

static int
cb_start_map(void *c)
{
	return start(c, S_MAP);
}

static int
cb_start_array(void *c)
{
	return start(c, S_ARR);
}

static int
cb_end(void *c)
{
	return finish(c);
}

static int
cb_key(void *c, const unsigned char *s, size_t n)
{
	struct st *st = c;
	const struct key *k;
	enum ctx cx;

	if (st->skip > 0)
		return 1;
	cx = st->ctx[st->nk - 1];
	st->want = W_NONE;
	if (cx == C_MUSAGE) {		/* every member */
		st->want = W_MODEL;
		return 1;
	}
	if ((k = ctx_keys[cx]) == NULL)
		return 1;
	for (int i = 0; k[i].k != NULL; i++) {
		if (k[i].n != n || k[i].k[0] != s[0] ||
		    memcmp(k[i].k, s, n) != 0)
			continue;
		if ((st->seen[st->nk - 1] & UINT32_C(1) << i) == 0) {
			st->seen[st->nk - 1] |= UINT32_C(1) << i;
			st->want = k[i].what;
		}
		break;
	}
	return 1;
}

static const yajl_callbacks cbs = {
	cb_null, cb_bool, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_key, cb_end, cb_start_array, cb_end
};

static bool	 per_line, check_utf8;

static yajl_handle
new_handle(struct st *st)
{
	yajl_handle h = yajl_alloc(&cbs, NULL, st);

	if (h == NULL)
		err(2, "yajl_alloc");
	if (!per_line)
		yajl_config(h, yajl_allow_multiple_values, 1);
	yajl_config(h, yajl_dont_validate_strings, !check_utf8);
	return h;
}

static void
line_start(struct st *st)
{
	st->depth = st->skip = st->nk = st->tops = 0;
	st->top_obj = st->any = st->err_done = false;
	st->want = W_NONE;
	ev_clear(&st->ev);
}

struct rdr {
	yajl_handle	 h;
	bool		 dead;		/* the line is bad: the rest not fed */
	bool		 fed;		/* bytes since the line began */
	struct st	 st;
	struct ev_sum	 sum;
};

static void
line_bytes(struct rdr *r, const char *b, size_t n)
{
	r->fed = true;
	if (!r->dead && yajl_parse(r->h, (const unsigned char *)b, n) !=
	    yajl_status_ok)
		r->dead = true;
}

static void
line_end(struct rdr *r)
{
	bool fresh = per_line || r->dead;

	if (!r->dead && yajl_complete_parse(r->h) != yajl_status_ok) {
		fresh = true;
		r->dead = r->st.any;
	}
	/* No value began (white space only): no line, as payload.c. */
	if (r->fed && (r->st.any || r->dead)) {
		r->st.ev.ok = !r->dead && r->st.tops == 1 && r->st.top_obj;
		ev_add(&r->sum, &r->st.ev);
	}
	if (fresh) {
		yajl_free(r->h);
		r->h = new_handle(&r->st);
	}
	line_start(&r->st);
	r->dead = r->fed = false;
}

static void
on_piece(void *ctx, const char *b, size_t n)
{
	line_bytes(ctx, b, n);
}

static void
on_end(void *ctx)
{
	line_end(ctx);
}

int
main(int argc, char **argv)
{
	static struct rdr r;
	int ch;

	while ((ch = getopt(argc, argv, "1u")) != -1)
		switch (ch) {
		case '1':
			per_line = true;
			break;
		case 'u':
			check_utf8 = true;
			break;
		default:
			fprintf(stderr, "usage: read_stream_yajl [-1] [-u]\n");
			return 2;
		}
	ev_sum_init(&r.sum);
	line_start(&r.st);
	r.h = new_handle(&r.st);
	ev_read_lines(on_piece, on_end, &r);
	yajl_free(r.h);
	ev_print(&r.sum);
	return 0;
}
