/*
 * The reading of standard input the stream benches share (read_stream.c,
 * read_jscan.c, read_stream_yajl.c), and what the two bench reducers
 * (read_jscan.c, read_stream_yajl.c) pull out
 * of one stream-json line, and the summary both print, so their outputs
 * can be compared with diff: the same struct filled by either reader,
 * the same counts, the same checksum over every field kept.
 *
 * The members are those of payload.c's sh_event shape: top-level leaves
 * (type, subtype, model, session_id, is_error, error, num_turns,
 * total_cost_usd, ...), rate_limit_info, message.id, message.content[]
 * tool_use blocks (name, input.skill/command/name), usage, modelUsage
 * (outputTokens of each model), the first string of errors, and result
 * (its length and head).
 */
#ifndef CW_BENCH_EV_H
#define CW_BENCH_EV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <err.h>
#include <errno.h>
#include <unistd.h>

#define EV_STR		64	/* a kept string, cut to this less one */
#define EV_TOOLS	8	/* tool_use names kept per line */
#define EV_TYPES	16	/* event types counted apart */

/* The top-level leaves of sh_event, in its order (a name each). */
static const char *const ev_top_keys[] = {
	"type", "subtype", "model", "session_id", "attempt", "max_retries",
	"retry_delay_ms", "error_status", "error", "fallback_model",
	"original_model", "status", "resetsAt", "resets_at", "isUsingOverage",
	"is_error", "api_error_status", "terminal_reason", "total_cost_usd",
	"num_turns", NULL
};
enum { T_TYPE, T_SUBTYPE, T_MODEL, T_SESSION, T_ATTEMPT, T_MAXRETRY,
	T_DELAY, T_ERRSTATUS, T_ERROR, T_FALLBACK, T_ORIGMODEL, T_STATUS,
	T_RESETSAT, T_RESETS_AT, T_OVERAGE, T_IS_ERROR, T_APISTATUS,
	T_TERMREASON, T_COST, T_TURNS, T_N };

static const char *const ev_limit_keys[] = {
	"status", "resetsAt", "resets_at", "isUsingOverage", NULL
};
static const char *const ev_usage_keys[] = {
	"input_tokens", "output_tokens", "cache_read_input_tokens",
	"cache_creation_input_tokens", NULL
};

struct ev_tool {
	char	 name[EV_STR];
	char	 skill[EV_STR];		/* input.skill, command or name */
};

struct ev {
	bool		 ok;			/* one JSON object: an event */
	uint32_t	 top_set;		/* bit per T_* */
	char		 top[T_N][EV_STR];	/* strings decoded, else text */
	char		 limit[4][EV_STR];
	char		 msg_id[EV_STR];
	int		 ntools;		/* tool_use blocks, all counted */
	struct ev_tool	 tools[EV_TOOLS];
	long long	 usage[4];		/* -1: absent */
	int		 nmodels;
	long long	 model_out;		/* sum of outputTokens */
	char		 first_error[EV_STR];
	bool		 has_result;
	long long	 result_len;		/* decoded bytes */
	char		 result_head[EV_STR];
};

static inline void
ev_clear(struct ev *e)
{
	e->ok = false;
	e->top_set = 0;
	e->msg_id[0] = e->first_error[0] = e->result_head[0] = '\0';
	for (int i = 0; i < 4; i++) {
		e->usage[i] = -1;
		e->limit[i][0] = '\0';
	}
	e->ntools = e->nmodels = 0;
	e->model_out = 0;
	e->has_result = false;
	e->result_len = 0;
}

static inline void
ev_copy(char *dst, const void *src, size_t n)
{
	if (n > EV_STR - 1)
		n = EV_STR - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct ev_sum {
	long long	 lines, bad, tools, msg_ids, results;
	long long	 usage_out, model_out, result_bytes;
	int		 ntypes;
	char		 type[EV_TYPES][EV_STR];
	long long	 count[EV_TYPES];
	long long	 other_types;
	char		 last_session[EV_STR], last_result_head[EV_STR];
	char		 first_tool[EV_STR];
	uint64_t	 hash;			/* FNV-1a over all kept */
};

static inline void
ev_hash(struct ev_sum *s, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ b[i]) * UINT64_C(1099511628211);
}

static inline void
ev_hash_str(struct ev_sum *s, const char *str)
{
	ev_hash(s, str, strlen(str) + 1);
}

static inline void
ev_sum_init(struct ev_sum *s)
{
	memset(s, 0, sizeof(*s));
	s->hash = UINT64_C(14695981039346656037);
}

static inline void
ev_add(struct ev_sum *s, const struct ev *e)
{
	int i;

	s->lines++;
	if (!e->ok) {
		s->bad++;
		return;
	}
	if (e->top_set & 1u << T_TYPE) {
		for (i = 0; i < s->ntypes; i++)
			if (strcmp(s->type[i], e->top[T_TYPE]) == 0)
				break;
		if (i == s->ntypes && i < EV_TYPES)
			strcpy(s->type[s->ntypes++], e->top[T_TYPE]);
		if (i < s->ntypes)
			s->count[i]++;
		else
			s->other_types++;
	} else
		s->other_types++;
	ev_hash(s, &e->top_set, sizeof(e->top_set));
	for (i = 0; i < T_N; i++)
		if (e->top_set & 1u << i)
			ev_hash_str(s, e->top[i]);
	for (i = 0; i < 4; i++)
		ev_hash_str(s, e->limit[i]);
	ev_hash_str(s, e->msg_id);
	if (e->msg_id[0] != '\0')
		s->msg_ids++;
	ev_hash(s, &e->ntools, sizeof(e->ntools));
	for (i = 0; i < e->ntools && i < EV_TOOLS; i++) {
		ev_hash_str(s, e->tools[i].name);
		ev_hash_str(s, e->tools[i].skill);
	}
	if (e->ntools > 0 && s->first_tool[0] == '\0')
		strcpy(s->first_tool, e->tools[0].name);
	s->tools += e->ntools;
	ev_hash(s, e->usage, sizeof(e->usage));
	if (e->usage[1] > 0)
		s->usage_out += e->usage[1];
	ev_hash(s, &e->nmodels, sizeof(e->nmodels));
	ev_hash(s, &e->model_out, sizeof(e->model_out));
	s->model_out += e->model_out;
	ev_hash_str(s, e->first_error);
	if (e->has_result) {
		s->results++;
		s->result_bytes += e->result_len;
		ev_hash(s, &e->result_len, sizeof(e->result_len));
		ev_hash_str(s, e->result_head);
		strcpy(s->last_result_head, e->result_head);
	}
	if (e->top_set & 1u << T_SESSION)
		strcpy(s->last_session, e->top[T_SESSION]);
}

static inline void
ev_print(const struct ev_sum *s)
{
	printf("lines %lld bad %lld\n", s->lines, s->bad);
	for (int i = 0; i < s->ntypes; i++)
		printf("type %s %lld\n", s->type[i], s->count[i]);
	printf("type (other) %lld\n", s->other_types);
	printf("tool_use %lld (first %s) message.id %lld\n", s->tools,
	    s->first_tool, s->msg_ids);
	printf("usage.output_tokens %lld modelUsage.outputTokens %lld\n",
	    s->usage_out, s->model_out);
	printf("results %lld, %lld bytes, last head \"%.40s\"\n", s->results,
	    s->result_bytes, s->last_result_head);
	printf("session %s\nchecksum %016llx\n", s->last_session,
	    (unsigned long long)s->hash);
}

/*
 * Standard input in 64 KiB pieces, cut into lines: piece gets a line's
 * bytes in as many calls as they arrive in, end is called at its
 * newline, and at the end of input when a last line had bytes.
 */
/* One read of standard input into buf: bytes read, 0 at its end. */
static inline size_t
ev_read_some(char *buf, size_t size)
{
	ssize_t n;

	while ((n = read(0, buf, size)) < 0 && errno == EINTR)
		;
	if (n < 0)
		err(2, "read");
	return (size_t)n;
}

static inline void
ev_read_lines(void (*piece)(void *, const char *, size_t),
    void (*end)(void *), void *ctx)
{
	static char buf[65536];
	bool open_line = false;
	size_t n;

	while ((n = ev_read_some(buf, sizeof(buf))) > 0) {
		const char *b = buf, *nl;

		while (n > 0) {
			size_t take;

			nl = memchr(b, '\n', n);
			take = nl != NULL ? (size_t)(nl - b) : n;
			if (take > 0) {
				piece(ctx, b, take);
				open_line = true;
			}
			b += take;
			n -= take;
			if (nl != NULL) {
				end(ctx);
				open_line = false;
				b++;
				n--;
			}
		}
	}
	if (open_line)
		end(ctx);
}

#endif
