/*
 * Unit tests of the payload classifier. The CLI outputs below are the
 * ones the CLI prints (its result objects and stream-json events, the
 * api_retry lines, the usage-limit texts, the model_fallback line; see
 * tests/e2e/cli-observations.md), byte for byte where they were
 * recorded.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "io.h"
#include "payload.h"
#include "spool.h"
#include "status.h"

#define SESSION	"0b7c5a1e-2f4d-4e8a-9c3b-1d2e3f4a5b6c"
#define UUID	"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"

#define INIT \
	"{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/tmp/w\"," \
	"\"session_id\":\"" SESSION "\",\"tools\":[\"Bash\",\"Read\"]," \
	"\"mcp_servers\":[{\"name\":\"stub\",\"status\":\"connected\"}]," \
	"\"model\":\"claude-opus-4-8[1m]\",\"permissionMode\":\"default\"," \
	"\"apiKeySource\":\"ANTHROPIC_API_KEY\"," \
	"\"claude_code_version\":\"2.1.197\",\"uuid\":\"" UUID "\"}\n"

#define ASSISTANT_TEXT(t) \
	"{\"type\":\"assistant\",\"message\":{\"id\":\"msg_1\"," \
	"\"type\":\"message\",\"role\":\"assistant\"," \
	"\"model\":\"claude-opus-4-8\",\"content\":[{\"type\":\"text\"," \
	"\"text\":\"" t "\"}],\"stop_reason\":\"end_turn\"," \
	"\"usage\":{\"input_tokens\":11,\"output_tokens\":7}}," \
	"\"parent_tool_use_id\":null,\"session_id\":\"" SESSION "\"," \
	"\"uuid\":\"" UUID "\"}\n"

/* The synthetic assistant line of an API error (stream-json table). */
#define ASSISTANT_ERR(kind, t) \
	"{\"type\":\"assistant\",\"message\":{\"id\":\"" UUID "\"," \
	"\"model\":\"<synthetic>\",\"role\":\"assistant\"," \
	"\"stop_reason\":\"stop_sequence\",\"type\":\"message\"," \
	"\"content\":[{\"type\":\"text\",\"text\":\"" t "\"}]}," \
	"\"parent_tool_use_id\":null,\"session_id\":\"" SESSION "\"," \
	"\"uuid\":\"" UUID "\",\"error\":\"" kind "\"}\n"

#define SYNTHETIC_USER \
	"{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":" \
	"[{\"type\":\"text\",\"text\":\"[Your previous response had no " \
	"visible output. Please continue and produce a user-visible " \
	"response.]\"}]},\"isSynthetic\":true,\"session_id\":\"" SESSION \
	"\",\"uuid\":\"" UUID "\"}\n"

#define TOOL_TURN \
	"{\"type\":\"assistant\",\"message\":{\"id\":\"msg_2\"," \
	"\"type\":\"message\",\"role\":\"assistant\",\"model\":" \
	"\"claude-opus-4-8\",\"content\":[{\"type\":\"tool_use\"," \
	"\"id\":\"toolu_01\",\"name\":\"Bash\",\"input\":{\"command\":" \
	"\"echo hi\"}}],\"stop_reason\":\"tool_use\"},\"parent_tool_use_id\"" \
	":null,\"session_id\":\"" SESSION "\",\"uuid\":\"" UUID "\"}\n" \
	"{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{" \
	"\"tool_use_id\":\"toolu_01\",\"type\":\"tool_result\",\"content\":" \
	"\"hi\",\"is_error\":false}]},\"session_id\":\"" SESSION "\"," \
	"\"uuid\":\"" UUID "\"}\n"

#define USAGE_ZERO \
	"\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0," \
	"\"cache_read_input_tokens\":0,\"output_tokens\":0," \
	"\"server_tool_use\":{\"web_search_requests\":0," \
	"\"web_fetch_requests\":0},\"service_tier\":\"standard\"}"

#define SUCCESS(text, turns) \
	"{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false," \
	"\"api_error_status\":null,\"duration_ms\":399," \
	"\"duration_api_ms\":45,\"ttft_ms\":389,\"num_turns\":" turns "," \
	"\"result\":\"" text "\",\"stop_reason\":\"end_turn\"," \
	"\"session_id\":\"" SESSION "\",\"total_cost_usd\":0.00023," \
	"\"usage\":{\"input_tokens\":11,\"cache_creation_input_tokens\":0," \
	"\"cache_read_input_tokens\":0,\"output_tokens\":7," \
	"\"server_tool_use\":{\"web_search_requests\":0," \
	"\"web_fetch_requests\":0},\"service_tier\":\"standard\"," \
	"\"cache_creation\":{\"ephemeral_1h_input_tokens\":0," \
	"\"ephemeral_5m_input_tokens\":0},\"inference_geo\":\"\"," \
	"\"iterations\":[],\"speed\":\"standard\"},\"modelUsage\":{" \
	"\"claude-opus-4-8[1m]\":{\"inputTokens\":11,\"outputTokens\":7," \
	"\"cacheReadInputTokens\":0,\"cacheCreationInputTokens\":0," \
	"\"webSearchRequests\":0,\"costUSD\":0.00023," \
	"\"contextWindow\":1000000,\"maxOutputTokens\":64000}}," \
	"\"permission_denials\":[],\"terminal_reason\":\"completed\"," \
	"\"fast_mode_state\":\"off\",\"uuid\":\"" UUID "\"}"

/* Every API error: subtype success, is_error true (facts section 2). */
#define ERR_RESULT(status, text, tr) \
	"{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true," \
	"\"api_error_status\":" status ",\"duration_ms\":120," \
	"\"duration_api_ms\":0,\"num_turns\":1,\"result\":\"" text "\"," \
	"\"stop_reason\":\"stop_sequence\",\"session_id\":\"" SESSION "\"," \
	"\"total_cost_usd\":0," USAGE_ZERO ",\"modelUsage\":{}," \
	"\"permission_denials\":[],\"terminal_reason\":\"" tr "\"," \
	"\"fast_mode_state\":\"off\",\"uuid\":\"" UUID "\"}"

#define MAX_TURNS \
	"{\"type\":\"result\",\"subtype\":\"error_max_turns\"," \
	"\"duration_ms\":536,\"duration_api_ms\":175,\"is_error\":true," \
	"\"num_turns\":2,\"stop_reason\":\"tool_use\",\"session_id\":\"" \
	SESSION "\",\"total_cost_usd\":0.00023," USAGE_ZERO "," \
	"\"modelUsage\":{\"claude-opus-4-8[1m]\":{\"inputTokens\":20," \
	"\"outputTokens\":9}},\"permission_denials\":[]," \
	"\"terminal_reason\":\"max_turns\",\"fast_mode_state\":\"off\"," \
	"\"uuid\":\"" UUID "\",\"errors\":[\"Reached maximum number of " \
	"turns (1)\"]}"

#define SIGINT_RESULT \
	"{\"type\":\"result\",\"subtype\":\"error_during_execution\"," \
	"\"duration_ms\":800,\"duration_api_ms\":300,\"is_error\":true," \
	"\"num_turns\":2,\"stop_reason\":null,\"session_id\":\"" SESSION \
	"\",\"total_cost_usd\":0," USAGE_ZERO ",\"modelUsage\":{}," \
	"\"permission_denials\":[],\"terminal_reason\":" \
	"\"aborted_streaming\",\"fast_mode_state\":\"off\",\"uuid\":\"" \
	UUID "\",\"errors\":[\"[ede_diagnostic] result_type=user " \
	"last_content_type=n/a stop_reason=null\"]}"

#define TAIL "This is a server-side issue, usually temporary — try " \
	"again in a moment. If it persists, check your inference gateway " \
	"(127.0.0.1:18080)."
#define T429 "API Error: Request rejected (429) · This request would " \
	"exceed your account's rate limit. Please try again later."
#define TOAUTH "You've hit your session limit · resets 10:16am (UTC)"
#define T529 "API Error: 529 Overloaded. " TAIL
#define T500 "API Error: 500 Internal server error. " TAIL
#define T503 "API Error: 503 Service unavailable. " TAIL
#define T401 "Invalid API key · Fix external API key"
#define T403 "Failed to authenticate. API Error: 403 Request not allowed"
#define T400 "Prompt is too long · the request is ~250000 tokens " \
	"(limit 200000) but this conversation is only ~1535 tokens — the " \
	"rest is system prompt, tool definitions, and attachment content. " \
	"A single-exchange conversation cannot be compacted; reduce " \
	"attached files/tools or start with less context."
#define T404 "There's an issue with the selected model " \
	"(claude-opus-4-8[1m]). It may not exist or you may not have " \
	"access to it. Run --model to pick a different model."
#define TSSE "API Error: API returned an empty or malformed response " \
	"(HTTP 200) — check for a proxy or gateway intercepting the request"
#define TRESET "API Error: Unable to connect to API (ECONNRESET)"
#define TREFUSED "API Error: Unable to connect to API (ConnectionRefused)"
#define TTIMEOUT "Request timed out"
#define TLOGIN "Not logged in · Please run /login"

#define OK_JTEXT "Line one\\nLigne deux: héllo ✓ 日本\\n"
#define OK_TEXT "Line one\nLigne deux: héllo ✓ 日本\n"

/* One row of the CLI's outcome table: what it printed, and the verdict. */
struct row {
	const char	*name;
	const char	*events;	/* stream lines before the result */
	const char	*result;	/* the result object, no newline */
	const char	*text;		/* what text mode prints */
	int		 exit;
	enum outcome	 oc;
	const char	*detail;	/* the detail must contain this */
};

#define API_ROW(name, st, t, tr, kind, oc, det) \
	{ name, INIT ASSISTANT_ERR(kind, t), ERR_RESULT(st, t, tr), t "\n", \
	    1, oc, det }
#define API_ROW_NOKIND(name, st, t, oc, det) \
	{ name, INIT, ERR_RESULT(st, t, "completed"), t "\n", 1, oc, det }

static const struct row rows[] = {
	{ "ok", INIT ASSISTANT_TEXT(OK_JTEXT), SUCCESS(OK_JTEXT, "1"),
	    OK_TEXT, 0, OC_OK, NULL },
	{ "empty", INIT SYNTHETIC_USER, SUCCESS("", "2"), "\n", 0,
	    OC_EMPTY, "empty" },
	{ "whitespace", INIT SYNTHETIC_USER, SUCCESS("  \\n\\t \\n", "2"),
	    "  \n\t \n", 0, OC_EMPTY, "white space" },
	API_ROW("429", "429", T429, "completed", "rate_limit",
	    OC_RATE_LIMIT, "api_error_status=429"),
	API_ROW("429-oauth", "429", TOAUTH, "completed", "rate_limit",
	    OC_RATE_LIMIT, "You've hit your session limit"),
	API_ROW("529", "529", T529, "completed", "server_error",
	    OC_OVERLOADED, "api_error_status=529"),
	API_ROW("500", "500", T500, "completed", "server_error",
	    OC_SERVER, "api_error_status=500"),
	API_ROW("503", "503", T503, "completed", "server_error",
	    OC_SERVER, "API Error: 503 Service unavailable"),
	API_ROW("401", "401", T401, "completed", "authentication_failed",
	    OC_AUTH, "api_error_status=401"),
	API_ROW("403", "403", T403, "completed", "authentication_failed",
	    OC_AUTH, "api_error_status=403"),
	API_ROW("400-too-long", "400", T400, "prompt_too_long",
	    "invalid_request", OC_ERROR, "terminal_reason=prompt_too_long"),
	API_ROW("404", "404", T404, "completed", "model_not_found",
	    OC_ERROR, "api_error_status=404"),
	API_ROW("sse-error", "null", TSSE, "completed", "unknown",
	    OC_SERVER, "is_error"),
	API_ROW("econnreset", "null", TRESET, "completed", "server_error",
	    OC_NETWORK, "ECONNRESET"),
	API_ROW("refused", "null", TREFUSED, "completed", "server_error",
	    OC_NETWORK, "ConnectionRefused"),
	API_ROW_NOKIND("request-timeout", "null", TTIMEOUT, OC_NETWORK,
	    "Request timed out"),
	API_ROW("not-logged-in", "null", TLOGIN, "completed",
	    "authentication_failed", OC_AUTH, "Not logged in"),
	{ "max-turns", INIT TOOL_TURN, MAX_TURNS,
	    "Error: Reached max turns (1)", 1, OC_ERROR,
	    "subtype=error_max_turns" },
	{ "sigint", INIT, SIGINT_RESULT, "Execution error", 0, OC_ERROR,
	    "terminal_reason=aborted_streaming" },
};
#define NROWS	((int)(sizeof(rows) / sizeof(rows[0])))

static const struct pl_end end_ok = { .exited = true, .exit_code = 0 };
static const struct pl_end end_1 = { .exited = true, .exit_code = 1 };
static const struct pl_end end_143 = { .exited = true, .exit_code = 143 };
static const struct pl_end end_kill = { .exited = false, .term_sig = 9 };
static const struct pl_end end_timeout = { .exited = false, .term_sig = 9,
	.timed_out = true };

static struct pl_end
end_code(int code)
{
	struct pl_end e = { .exited = true, .exit_code = code };

	return e;
}

/* What the hook saw, copied: its pointers die with the call. */
#define MAXEV	64
struct seen {
	enum pl_event_kind kind;
	char		 line[1024];
	size_t		 line_len;
	size_t		 line_size;
	bool		 line_null;	/* not held: read back from the spool */
	int64_t		 line_off;
	char		 model[128], session[64], from_model[128];
	char		 tool[64], skill[64], error[32], limit_status[32];
	char		 msg_id[64];
	int		 retry_attempt, retry_max, error_status;
	double		 retry_delay_ms;
	int64_t		 resets_at;
	bool		 had_result;
};

struct rec {
	struct payload	*p;
	int		 n;
	int		 dropped;
	struct seen	 ev[MAXEV];
};

static void
cp(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "<null>");
}

static void
record(void *ctx, const struct pl_event *ev)
{
	struct rec *r = ctx;
	struct seen *s;

	if (r->n == MAXEV) {
		r->dropped++;
		return;
	}
	s = &r->ev[r->n++];
	s->kind = ev->kind;
	s->line_len = ev->line_len;
	s->line_size = ev->line_size;
	s->line_null = ev->line == NULL;
	s->line_off = ev->line_off;
	if (ev->line != NULL && ev->line_len < sizeof(s->line)) {
		memcpy(s->line, ev->line, ev->line_len);
		s->line[ev->line_len] = '\0';
	}
	cp(s->model, sizeof(s->model), ev->model);
	cp(s->session, sizeof(s->session), ev->session);
	cp(s->from_model, sizeof(s->from_model), ev->from_model);
	cp(s->tool, sizeof(s->tool), ev->tool);
	cp(s->msg_id, sizeof(s->msg_id), ev->msg_id);
	cp(s->skill, sizeof(s->skill), ev->skill);
	cp(s->error, sizeof(s->error), ev->error);
	cp(s->limit_status, sizeof(s->limit_status), ev->limit_status);
	s->retry_attempt = ev->retry_attempt;
	s->retry_max = ev->retry_max;
	s->error_status = ev->error_status;
	s->retry_delay_ms = ev->retry_delay_ms;
	s->resets_at = ev->resets_at;
	/* A result string is kept before the hook hears of it. */
	s->had_result = r->p != NULL && payload_result_text(r->p, NULL) != NULL;
}

/* Feeds s in pieces of `chunk` bytes (0: all at once) and judges. */
static struct payload *
run_fmt(enum pl_format fmt, const char *s, size_t n, size_t chunk,
    const struct pl_end *end, struct verdict *v, struct rec *r)
{
	struct payload *p = payload_new(fmt, r != NULL ? record : NULL, r);

	ck_assert_ptr_nonnull(p);
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		r->p = p;
	}
	if (chunk == 0)
		chunk = n > 0 ? n : 1;
	for (size_t i = 0; i < n; i += chunk)
		ck_assert_int_eq(payload_feed(p, s + i,
		    n - i < chunk ? n - i : chunk), 0);
	payload_judge(p, end, v);
	return p;
}

static enum outcome
judge1(enum pl_format fmt, const char *s, const struct pl_end *end,
    struct verdict *v)
{
	struct payload *p = run_fmt(fmt, s, strlen(s), 0, end, v, NULL);

	payload_free(p);
	return v->oc;
}

static const char *
ocw(enum outcome oc)
{
	return outcome_word(oc);
}

#define ck_oc(got, want, what) \
	ck_assert_msg((got) == (want), "%s: got %s, want %s", (what), \
	    ocw(got), ocw(want))

static char *
cat3(const char *a, const char *b, const char *c)
{
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
	char *s = malloc(na + nb + nc + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, a, na);
	memcpy(s + na, b, nb);
	memcpy(s + na + nb, c, nc);
	s[na + nb + nc] = '\0';
	return s;
}

static struct pl_end
row_end(const struct row *r)
{
	return end_code(r->exit);
}

/* ---- the outcome table, in each of the three formats ---- */

START_TEST(table_stream)
{
	const struct row *r = &rows[_i];
	char *s = cat3(r->events, r->result, "\n");
	struct pl_end end = row_end(r);
	struct verdict v;
	struct rec rec;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 0, &end, &v,
	    &rec);

	ck_oc(v.oc, r->oc, r->name);
	ck_assert(v.have_result);
	if (r->detail != NULL)
		ck_assert_msg(strstr(v.detail, r->detail) != NULL,
		    "%s: detail '%s' lacks '%s'", r->name, v.detail, r->detail);
	/* The result line's exact bytes, for json delivery. */
	ck_assert_uint_eq(v.result_len, strlen(r->result));
	ck_assert_int_eq(v.result_off, (int64_t)strlen(r->events));
	ck_assert(memcmp(s + v.result_off, r->result, v.result_len) == 0);
	ck_assert_str_eq(v.usage.session, SESSION);
	/* The last event the hook saw is the result, and it was kept. */
	ck_assert_int_ge(rec.n, 2);
	ck_assert_int_eq(rec.ev[rec.n - 1].kind, PLE_RESULT);
	ck_assert(rec.ev[rec.n - 1].had_result ||
	    payload_result_text(p, NULL) == NULL);
	ck_assert_int_eq(rec.ev[rec.n - 2].kind, PLE_EVENT);
	ck_assert_int_eq(rec.ev[rec.n - 2].line_off, v.result_off);
	payload_free(p);
	free(s);
}
END_TEST

START_TEST(table_json)
{
	const struct row *r = &rows[_i];
	char *s = cat3(r->result, "\n", "");
	struct pl_end end = row_end(r);
	struct verdict v;

	ck_oc(judge1(PL_JSON, s, &end, &v), r->oc, r->name);
	ck_assert(v.have_result);
	if (r->detail != NULL)
		ck_assert_msg(strstr(v.detail, r->detail) != NULL,
		    "%s: detail '%s' lacks '%s'", r->name, v.detail, r->detail);
	free(s);
}
END_TEST

/* json with --verbose: the stream's events as one array. */
START_TEST(table_json_verbose)
{
	const struct row *r = &rows[_i];
	size_t n = strlen(r->events);
	char *ev = strdup(r->events), *s;
	struct pl_end end = row_end(r);
	struct verdict v;

	ck_assert_ptr_nonnull(ev);
	for (size_t i = 0; i < n; i++)
		if (ev[i] == '\n')
			ev[i] = ',';
	s = cat3("[", ev, r->result);
	free(ev);
	ev = cat3(s, "]\n", "");
	ck_oc(judge1(PL_JSON, ev, &end, &v), r->oc, r->name);
	ck_assert(v.have_result);
	ck_assert_str_eq(v.usage.session, SESSION);
	free(ev);
	free(s);
}
END_TEST

START_TEST(table_text)
{
	const struct row *r = &rows[_i];
	struct pl_end end = row_end(r);
	struct verdict v;
	struct payload *p = run_fmt(PL_TEXT, r->text, strlen(r->text), 0,
	    &end, &v, NULL);
	size_t len = 99;

	ck_oc(v.oc, r->oc, r->name);
	/* Text is delivered from the spool as it is. */
	ck_assert_ptr_null(payload_result_text(p, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert(!v.have_result);
	payload_free(p);
}
END_TEST

/* A usage limit is a usage limit whatever the exit code says. */
START_TEST(table_text_exit0_errors)
{
	static const char *const texts[] = {
		T429 "\n", T529 "\n", TRESET "\n", TLOGIN "\n",
		"Error: Reached max turns (1)", "Execution error",
		TOAUTH "\n", T400 "\n", "Request timed out",
	};
	static const enum outcome want[] = {
		OC_RATE_LIMIT, OC_OVERLOADED, OC_NETWORK, OC_AUTH,
		OC_ERROR, OC_ERROR, OC_RATE_LIMIT, OC_ERROR, OC_NETWORK,
	};
	struct verdict v;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		ck_oc(judge1(PL_TEXT, texts[i], &end_ok, &v), want[i],
		    texts[i]);
}
END_TEST

/* ---- chunking ---- */

static void
same_verdict(const struct verdict *a, const struct verdict *b, size_t at)
{
	ck_assert_msg(a->oc == b->oc, "split %zu: %s vs %s", at, ocw(a->oc),
	    ocw(b->oc));
	ck_assert_str_eq(a->detail, b->detail);
	ck_assert_int_eq(a->have_result, b->have_result);
	ck_assert_int_eq(a->result_off, b->result_off);
	ck_assert_uint_eq(a->result_len, b->result_len);
	ck_assert_int_eq(a->reset_at, b->reset_at);
	ck_assert_str_eq(a->usage.model, b->usage.model);
	ck_assert_str_eq(a->usage.session, b->usage.session);
	ck_assert_int_eq(a->usage.output_tokens, b->usage.output_tokens);
}

static void
same_events(const struct rec *a, const struct rec *b, size_t at)
{
	ck_assert_msg(a->n == b->n, "split %zu: %d vs %d events", at, a->n,
	    b->n);
	for (int i = 0; i < a->n; i++) {
		ck_assert_int_eq(a->ev[i].kind, b->ev[i].kind);
		ck_assert_int_eq(a->ev[i].line_off, b->ev[i].line_off);
		ck_assert_uint_eq(a->ev[i].line_len, b->ev[i].line_len);
		ck_assert_str_eq(a->ev[i].line, b->ev[i].line);
		ck_assert_str_eq(a->ev[i].tool, b->ev[i].tool);
	}
}

static const char chunk_stream[] =
    INIT
    "{\"type\":\"system\",\"subtype\":\"api_retry\",\"attempt\":1,"
    "\"max_retries\":10,\"retry_delay_ms\":563.16,\"error_status\":529,"
    "\"error\":\"overloaded\",\"session_id\":\"" SESSION "\"}\n"
    TOOL_TURN
    ASSISTANT_TEXT(OK_JTEXT)
    SUCCESS(OK_JTEXT, "2") "\n";

START_TEST(chunks_every_split)
{
	size_t n = strlen(chunk_stream);
	struct verdict whole, v;
	static struct rec rw, r;
	struct payload *p;

	p = run_fmt(PL_STREAM, chunk_stream, n, 0, &end_ok, &whole, &rw);
	payload_free(p);
	ck_oc(whole.oc, OC_OK, "whole");
	/* 6 lines, and init, api_retry, tool_use, result. */
	ck_assert_int_eq(rw.n, 10);
	ck_assert_int_eq(rw.ev[9].kind, PLE_RESULT);
	ck_assert_int_eq(rw.ev[5].kind, PLE_TOOL_USE);
	/* Byte by byte. */
	p = run_fmt(PL_STREAM, chunk_stream, n, 1, &end_ok, &v, &r);
	payload_free(p);
	same_verdict(&whole, &v, 1);
	same_events(&rw, &r, 1);
	/* Two pieces, split at every byte (inside UTF-8 sequences too). */
	for (size_t at = 1; at < n; at++) {
		p = payload_new(PL_STREAM, record, &r);
		memset(&r, 0, sizeof(r));
		r.p = p;
		ck_assert_int_eq(payload_feed(p, chunk_stream, at), 0);
		ck_assert_int_eq(payload_feed(p, chunk_stream + at, n - at), 0);
		payload_judge(p, &end_ok, &v);
		same_verdict(&whole, &v, at);
		same_events(&rw, &r, at);
		payload_free(p);
	}
}
END_TEST

START_TEST(chunks_other_formats)
{
	static const char json[] = SUCCESS(OK_JTEXT, "1") "\n";
	static const char text[] = TOAUTH "\n";
	struct verdict whole, v;
	struct payload *p;

	for (int f = 0; f < 2; f++) {
		enum pl_format fmt = f == 0 ? PL_JSON : PL_TEXT;
		const char *s = f == 0 ? json : text;
		size_t n = strlen(s);
		struct pl_end end = f == 0 ? end_ok : end_1;

		p = run_fmt(fmt, s, n, 0, &end, &whole, NULL);
		payload_free(p);
		ck_oc(whole.oc, f == 0 ? OC_OK : OC_RATE_LIMIT, "whole");
		for (size_t c = 1; c < 9; c++) {
			p = run_fmt(fmt, s, n, c, &end, &v, NULL);
			same_verdict(&whole, &v, c);
			payload_free(p);
		}
	}
}
END_TEST

/* ---- streams with and without a result ---- */

START_TEST(result_then_garbage)
{
	static const char s[] = INIT SUCCESS(OK_JTEXT, "1")
	    "\nnot json at all\n{\"type\":\"resu";
	struct verdict v;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_ok, &v,
	    NULL);
	size_t len;
	const char *t = payload_result_text(p, &len);

	ck_oc(v.oc, OC_OK, "result then garbage");
	ck_assert_int_eq(v.result_off, (int64_t)strlen(INIT));
	ck_assert_uint_eq(v.result_len, strlen(SUCCESS(OK_JTEXT, "1")));
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(len, strlen(OK_TEXT));
	ck_assert(memcmp(t, OK_TEXT, len) == 0);
	payload_free(p);
}
END_TEST

START_TEST(no_result)
{
	static const char s[] = INIT ASSISTANT_TEXT("partial");
	struct verdict v;

	ck_oc(judge1(PL_STREAM, s, &end_ok, &v), OC_BAD_PAYLOAD, "exit 0");
	ck_assert_str_eq(v.detail, "no result event");
	ck_assert(!v.have_result);
	/* What is known still reaches the done line. */
	ck_assert_str_eq(v.usage.model, "claude-opus-4-8[1m]");
	ck_assert_str_eq(v.usage.session, SESSION);
	ck_assert(!v.usage.have);
	ck_oc(judge1(PL_STREAM, s, &end_1, &v), OC_ERROR, "exit 1");
	ck_assert_str_eq(v.detail, "exit=1, no result event");
	/* SIGTERM: the CLI exits 143, no result line (facts section 5). */
	ck_oc(judge1(PL_STREAM, s, &end_143, &v), OC_ERROR, "exit 143");
	ck_oc(judge1(PL_STREAM, s, &end_kill, &v), OC_ERROR, "SIGKILL");
	ck_assert_str_eq(v.detail, "signal=9, no result event");
	ck_oc(judge1(PL_STREAM, s, &end_timeout, &v), OC_TIMEOUT, "timeout");
	ck_oc(judge1(PL_STREAM, "", &end_ok, &v), OC_BAD_PAYLOAD, "empty");
	ck_assert_str_eq(v.detail, "no output, no result event");
	ck_oc(judge1(PL_STREAM, "", &end_1, &v), OC_ERROR, "empty exit 1");
}
END_TEST

START_TEST(unparseable_only)
{
	struct verdict v;

	ck_oc(judge1(PL_STREAM, "Hello there\nsecond line\n", &end_ok, &v),
	    OC_BAD_PAYLOAD, "text in stream");
	ck_assert_str_eq(v.detail, "unparseable output, no result event");
	/* A JSON value that is not an object is no event either. */
	ck_oc(judge1(PL_STREAM, "[1,2]\n\"x\"\n42\n", &end_ok, &v),
	    OC_BAD_PAYLOAD, "non-objects");
	ck_assert_str_eq(v.detail, "unparseable output, no result event");
	/* An object with garbage after it on its line is not an event. */
	ck_oc(judge1(PL_STREAM, SUCCESS("hi", "1") "x\n", &end_ok, &v),
	    OC_BAD_PAYLOAD, "trailing garbage");
	/* A line no type of which is judged is still read to its end. */
	ck_oc(judge1(PL_STREAM, "{\"type\":\"user\",\"x\":[1,}\n"
	    "{\"type\":\"system\",\"subtype\":\"tick\",\"x\":tru}\n", &end_ok,
	    &v), OC_BAD_PAYLOAD, "bad after the type");
	ck_assert_str_eq(v.detail, "unparseable output, no result event");
	/* The CLI's own error printed where JSON was expected. */
	ck_oc(judge1(PL_STREAM, TREFUSED "\n", &end_1, &v), OC_NETWORK,
	    "error text in stream");
	ck_oc(judge1(PL_JSON, T429 "\n", &end_1, &v), OC_RATE_LIMIT,
	    "error text in json");
	ck_oc(judge1(PL_JSON, "Hello\n", &end_1, &v), OC_ERROR,
	    "garbage json, exit 1");
	ck_oc(judge1(PL_JSON, "Hello\n", &end_ok, &v), OC_BAD_PAYLOAD,
	    "garbage json, exit 0");
}
END_TEST

START_TEST(result_then_hang)
{
	static const char s[] = INIT SUCCESS(OK_JTEXT, "1") "\n";
	static const char e[] = INIT ERR_RESULT("529", T529, "completed") "\n";
	struct pl_end term = { .exited = true, .exit_code = 143,
		.timed_out = true };
	struct verdict v;

	ck_oc(judge1(PL_STREAM, s, &end_timeout, &v), OC_OK, "killed");
	ck_assert(v.have_result);
	ck_oc(judge1(PL_STREAM, s, &term, &v), OC_OK, "exit 143 after kill");
	ck_oc(judge1(PL_STREAM, e, &end_timeout, &v), OC_OVERLOADED,
	    "error result then hang");
	ck_oc(judge1(PL_JSON, SUCCESS("a", "1"), &end_timeout, &v), OC_OK,
	    "json then hang");
}
END_TEST

START_TEST(is_error_exit0)
{
	static const char r[] = "{\"type\":\"result\",\"subtype\":\"success\","
	    "\"is_error\":true,\"result\":\"Something went wrong\"}";
	struct verdict v;

	ck_oc(judge1(PL_JSON, r, &end_ok, &v), OC_ERROR, "is_error exit 0");
	ck_assert_str_eq(v.detail, "is_error: Something went wrong");
	ck_oc(judge1(PL_STREAM, r, &end_ok, &v), OC_ERROR, "stream");
}
END_TEST

START_TEST(max_turns_older_cli)
{
	static const char r[] = "{\"type\":\"result\","
	    "\"subtype\":\"error_max_turns\",\"is_error\":false,"
	    "\"num_turns\":3,\"result\":\"I was in the middle of it\"}";
	struct verdict v;

	ck_oc(judge1(PL_JSON, r, &end_ok, &v), OC_ERROR, "exit 0");
	ck_assert_str_eq(v.detail, "subtype=error_max_turns");
	ck_oc(judge1(PL_STREAM, r, &end_1, &v), OC_ERROR, "exit 1");
	ck_assert_str_eq(v.detail, "subtype=error_max_turns exit=1");
}
END_TEST

START_TEST(nonzero_exit_with_success)
{
	static const char r[] = SUCCESS("The secret answer", "1");
	struct verdict v;

	ck_oc(judge1(PL_JSON, r, &end_1, &v), OC_ERROR, "exit 1");
	/* Never the answer in the log. */
	ck_assert_ptr_null(strstr(v.detail, "secret"));
	ck_assert_str_eq(v.detail, "exit=1");
}
END_TEST

START_TEST(result_missing_or_odd)
{
	static const char s[] = "{\"type\":\"result\",\"subtype\":"
	    "\"success\",\"is_error\":false}\n";
	struct verdict v;
	struct payload *p;
	size_t len = 7;

	p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_ok, &v, NULL);
	ck_oc(v.oc, OC_EMPTY, "missing");
	ck_assert_str_eq(v.detail, "result has no text");
	ck_assert_ptr_null(payload_result_text(p, &len));
	ck_assert_uint_eq(len, 0);
	payload_free(p);
	ck_oc(judge1(PL_JSON, "{\"type\":\"result\",\"subtype\":\"success\","
	    "\"result\":null}", &end_ok, &v), OC_EMPTY, "null");
	ck_oc(judge1(PL_JSON, "{\"type\":\"result\",\"subtype\":\"success\","
	    "\"result\":42}", &end_ok, &v), OC_BAD_PAYLOAD, "number");
	ck_oc(judge1(PL_JSON, "{\"subtype\":\"success\",\"result\":\"hi\"}",
	    &end_ok, &v), OC_BAD_PAYLOAD, "no type");
	ck_assert_str_eq(v.detail, "json output has no type");
	ck_oc(judge1(PL_JSON, "\"hi\"\n", &end_ok, &v), OC_BAD_PAYLOAD,
	    "scalar");
	ck_assert_str_eq(v.detail, "json output is not an object or array");
	ck_oc(judge1(PL_JSON, "", &end_1, &v), OC_ERROR, "nothing, exit 1");
	ck_oc(judge1(PL_JSON, " \n", &end_ok, &v), OC_BAD_PAYLOAD,
	    "nothing, exit 0");
}
END_TEST

START_TEST(empty_and_white_space)
{
	static const char *const ws[] = { "", " ", "\\n", "\\t\\r\\n",
	    "\\u000b\\f", "  \\n\\t \\n" };
	char buf[256];
	struct verdict v;

	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"result\",\"subtype\":"
		    "\"success\",\"is_error\":false,\"result\":\"%s\"}", ws[i]);
		ck_oc(judge1(PL_JSON, buf, &end_ok, &v), OC_EMPTY, ws[i]);
		ck_oc(judge1(PL_STREAM, buf, &end_ok, &v), OC_EMPTY, ws[i]);
	}
	/* A no-break space is not white space to a reader: it is text. */
	ck_oc(judge1(PL_JSON, SUCCESS("\\u00a0", "1"), &end_ok, &v), OC_OK,
	    "nbsp");
	ck_oc(judge1(PL_JSON, SUCCESS(" .", "1"), &end_ok, &v), OC_OK, "dot");
	/* Text mode. */
	ck_oc(judge1(PL_TEXT, "", &end_ok, &v), OC_EMPTY, "text none");
	ck_assert_str_eq(v.detail, "no output");
	ck_oc(judge1(PL_TEXT, " \t\r\n\v\f", &end_ok, &v), OC_EMPTY,
	    "text ws");
	ck_oc(judge1(PL_TEXT, " \t\r\n\v\f", &end_1, &v), OC_ERROR,
	    "text ws exit 1");
	ck_oc(judge1(PL_TEXT, "\n", &end_kill, &v), OC_ERROR, "text killed");
	ck_oc(judge1(PL_TEXT, "answer\n", &end_timeout, &v), OC_TIMEOUT,
	    "text timeout");
	ck_oc(judge1(PL_TEXT, "answer\n", &end_1, &v), OC_ERROR,
	    "text exit 1");
	ck_assert_ptr_null(strstr(v.detail, "answer"));
	ck_oc(judge1(PL_TEXT, "   x", &end_ok, &v), OC_OK, "text ok");
}
END_TEST

/* Text mode keeps a head only: a long answer is judged all the same. */
START_TEST(text_long)
{
	size_t n = 3 << 20;
	char *s = malloc(n + 1);
	struct verdict v;

	ck_assert_ptr_nonnull(s);
	memset(s, ' ', n);
	s[n] = '\0';
	ck_oc(judge1(PL_TEXT, s, &end_ok, &v), OC_EMPTY, "3 MiB of spaces");
	s[n - 2] = 'x';
	ck_oc(judge1(PL_TEXT, s, &end_ok, &v), OC_OK, "x at the end");
	free(s);
}
END_TEST

START_TEST(verbose_array)
{
	static const char s[] = "[{\"type\":\"system\",\"subtype\":\"init\","
	    "\"model\":\"m1\",\"session_id\":\"s1\"},{\"type\":\"result\","
	    "\"subtype\":\"success\",\"is_error\":true,\"api_error_status\":"
	    "529,\"result\":\"API Error: 529 Overloaded.\"},{\"type\":\"result\","
	    "\"subtype\":\"success\",\"is_error\":false,\"result\":\"fine\","
	    "\"modelUsage\":{}}]\n";
	struct verdict v;
	struct payload *p;
	size_t len;
	const char *t;

	p = run_fmt(PL_JSON, s, strlen(s), 0, &end_ok, &v, NULL);
	ck_oc(v.oc, OC_OK, "last result wins");
	t = payload_result_text(p, &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(len, 4);
	ck_assert(memcmp(t, "fine", 4) == 0);
	/* modelUsage {}: the model from system/init. */
	ck_assert_str_eq(v.usage.model, "m1");
	ck_assert_str_eq(v.usage.session, "s1");
	payload_free(p);
	ck_oc(judge1(PL_JSON, "[{\"type\":\"result\",\"is_error\":false,"
	    "\"result\":\"fine\"},{\"type\":\"result\",\"is_error\":true,"
	    "\"api_error_status\":529,\"result\":\"API Error: 529 x\"}]",
	    &end_1, &v), OC_OVERLOADED, "last is the error");
	ck_oc(judge1(PL_JSON, "[{\"type\":\"system\",\"subtype\":\"init\"}]",
	    &end_ok, &v), OC_BAD_PAYLOAD, "no result in array");
	ck_assert_str_eq(v.detail, "no result event");
	ck_oc(judge1(PL_JSON, "[]", &end_1, &v), OC_ERROR, "[] exit 1");
}
END_TEST

START_TEST(non_ascii)
{
	static const char s[] = INIT
	    SUCCESS("日本語の答え: héllo ✓ \\u00e9\\ud83d\\ude00", "1") "\n";
	static const char want[] = "日本語の答え: héllo ✓ é\xf0\x9f\x98\x80";
	struct verdict v;
	struct payload *p;
	size_t len;
	const char *t;

	/* Split inside every multi-byte sequence along the way. */
	for (size_t c = 0; c < 4; c++) {
		p = run_fmt(PL_STREAM, s, strlen(s), c, &end_ok, &v, NULL);
		ck_oc(v.oc, OC_OK, "non-ASCII");
		t = payload_result_text(p, &len);
		ck_assert_ptr_nonnull(t);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert(memcmp(t, want, len) == 0);
		payload_free(p);
	}
	/* A quoted CLI error is never cut inside a UTF-8 sequence. */
	ck_oc(judge1(PL_JSON, ERR_RESULT("null", "API Error: "
	    "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé",
	    "completed"), &end_1, &v), OC_ERROR, "quote");
	len = strlen(v.detail);
	ck_assert_uint_gt(len, 60);
	ck_assert_msg(((unsigned char)v.detail[len - 1] & 0xc0) != 0xc0,
	    "detail ends in a lead byte: %s", v.detail);
	ck_assert_str_eq(v.detail + len - 2, "é");
}
END_TEST

/* Classes from the words alone, when no status is given. */
START_TEST(error_text_classes)
{
	static const struct { const char *t; enum outcome oc; } c[] = {
		{ "API Error: {\\\"type\\\":\\\"overloaded_error\\\"}",
		    OC_OVERLOADED },
		{ "API Error: 502 Bad gateway", OC_SERVER },
		{ "API Error: 504 Gateway timeout", OC_SERVER },
		{ "API Error: Request rejected (429) · slow down", OC_RATE_LIMIT },
		{ "API Error: fetch failed", OC_NETWORK },
		{ "API Error: getaddrinfo ENOTFOUND api.anthropic.com",
		    OC_NETWORK },
		{ "API Error: socket hang up", OC_NETWORK },
		{ "API Error: connect ETIMEDOUT 1.2.3.4:443", OC_NETWORK },
		{ "API Error: getaddrinfo EAI_AGAIN x", OC_NETWORK },
		{ "API Error: connect ECONNREFUSED 127.0.0.1:9", OC_NETWORK },
		{ "API Error: A network problem", OC_NETWORK },
		{ "API Error: 401 authentication_error", OC_AUTH },
		{ "Failed to authenticate. API Error: 403 x", OC_AUTH },
		{ "Invalid API key · Please run /login", OC_AUTH },
		{ "API Error: OAuth authentication is currently not supported",
		    OC_AUTH },
		{ "API Error: 400 bad request", OC_ERROR },
		{ "API Error: 5000 odd", OC_ERROR },
		{ "API Error: 520 odd", OC_ERROR },
	};
	char buf[512];
	struct verdict v;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"result\",\"subtype\":"
		    "\"success\",\"is_error\":true,\"api_error_status\":null,"
		    "\"result\":\"%s\"}", c[i].t);
		ck_oc(judge1(PL_JSON, buf, &end_1, &v), c[i].oc, c[i].t);
	}
	/* The status field wins over the words. */
	ck_oc(judge1(PL_JSON, ERR_RESULT("503", "API Error: it broke",
	    "completed"), &end_1, &v), OC_SERVER, "503 field");
	ck_oc(judge1(PL_JSON, ERR_RESULT("401", "Oops", "completed"), &end_1,
	    &v), OC_AUTH, "401 field");
	ck_oc(judge1(PL_JSON, ERR_RESULT("429", "Oops", "completed"), &end_1,
	    &v), OC_RATE_LIMIT, "429 field");
	ck_assert_str_eq(v.detail, "is_error exit=1 api_error_status=429: Oops");
	/* The assistant line's error kind, when the words say nothing. */
	ck_oc(judge1(PL_STREAM, ASSISTANT_ERR("rate_limit", "Oops")
	    ERR_RESULT("null", "Oops", "completed"), &end_1, &v),
	    OC_RATE_LIMIT, "kind rate_limit");
	ck_assert_str_eq(v.detail, "is_error exit=1 error=rate_limit: Oops");
	ck_oc(judge1(PL_STREAM, ASSISTANT_ERR("rate_limit", "Oops")
	    ASSISTANT_TEXT("later, fine") ERR_RESULT("null", "Oops",
	    "completed"), &end_1, &v), OC_ERROR, "kind cleared");
}
END_TEST

/* ---- the words of the model are not the CLI's errors ---- */

START_TEST(answer_mentions_errors)
{
	static const char *const answers[] = {
		"The server was overloaded yesterday.",
		"Overloaded",
		"Check the network and the authentication settings.",
		"It said API Error: 529 Overloaded, then recovered.",
		"Execution error occurs when a step fails.",
		"Not logged in users see the landing page.",
		"You've hit your stride; the limit is the sky.\\n\\nMore.",
		"Request timed outright refusals are rare.",
	};
	char buf[512];
	struct verdict v;

	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"result\",\"subtype\":"
		    "\"success\",\"is_error\":false,\"api_error_status\":null,"
		    "\"result\":\"%s\"}", answers[i]);
		ck_oc(judge1(PL_JSON, buf, &end_ok, &v), OC_OK, answers[i]);
		ck_assert_str_eq(v.detail, "");
		ck_oc(judge1(PL_STREAM, buf, &end_ok, &v), OC_OK, answers[i]);
	}
	/* The CLI's error form with is_error false (older CLIs) is not ok. */
	ck_oc(judge1(PL_JSON, "{\"type\":\"result\",\"subtype\":\"success\","
	    "\"is_error\":false,\"result\":\"" T529 "\"}", &end_ok, &v),
	    OC_OVERLOADED, "error text, is_error false");
	ck_assert_ptr_nonnull(strstr(v.detail, "cli error text"));
	ck_oc(judge1(PL_JSON, "{\"type\":\"result\",\"subtype\":\"success\","
	    "\"is_error\":false,\"result\":\"Execution error\"}", &end_ok, &v),
	    OC_ERROR, "Execution error, is_error false");
}
END_TEST

/* ---- usage limits (facts section 4) ---- */

START_TEST(usage_limit_forms)
{
	static const char *const forms[] = {
		"You've hit your session limit · resets 10:16am (UTC)",
		"You've hit your weekly limit · resets Nov 26, 8:17am (UTC)",
		"You've hit your Opus limit · resets 9:47am (UTC)",
		"You've hit your usage limit · resets 9:47am (UTC)",
		"You've hit your Fable 5 limit · resets 9:47am (UTC)",
		"You've hit your session limit",
		"Claude AI usage limit reached|1753441200",
		"Claude usage limit reached. Your limit will reset at 3pm "
		    "(America/Bogota).",
		"5-hour limit reached ∙ resets 5am",
		"5-hour limit reached · resets 3pm (Europe/Stockholm) · "
		    "/upgrade to Max 20x or turn on /extra-usage",
		"5 hour limit reached",
		"You've hit your limit · resets 1pm (Europe/Lisbon)",
		"You've hit your limit - resets Feb 7, 11am (Asia/Seoul)/login "
		    "to switch to an API usage-billed account.",
		"You've hit your limit · resets Apr 23 at 4pm (America/Recife)",
		"Error: {\\\"data\\\":{\\\"modal_data\\\":{\\\"elapsed_days\\\":1},"
		    "\\\"type\\\":\\\"unlock_full_access_notice\\\"},"
		    "\\\"error_type\\\":\\\"grace_daily_limit_reached\\\"}",
		"You're out of usage credits",
		"You've hit your org's monthly usage limit",
	};
	char buf[1024], text[512];
	struct verdict v;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"result\",\"subtype\":"
		    "\"success\",\"is_error\":true,\"api_error_status\":null,"
		    "\"result\":\"%s\"}", forms[i]);
		ck_oc(judge1(PL_JSON, buf, &end_1, &v), OC_RATE_LIMIT, forms[i]);
		/* Even with is_error false and exit 0: the form says it. */
		snprintf(buf, sizeof(buf), "{\"type\":\"result\",\"subtype\":"
		    "\"success\",\"is_error\":false,\"result\":\"%s\"}",
		    forms[i]);
		ck_oc(judge1(PL_STREAM, buf, &end_ok, &v), OC_RATE_LIMIT,
		    forms[i]);
		/* Text mode prints the same (JSON escapes undone). */
		size_t k = 0;
		for (const char *c = forms[i]; *c != '\0' && k + 2 < sizeof(text);
		    c++)
			if (!(c[0] == '\\' && c[1] == '"'))
				text[k++] = *c;
		text[k++] = '\n';
		text[k] = '\0';
		ck_oc(judge1(PL_TEXT, text, &end_1, &v), OC_RATE_LIMIT, text);
	}
}
END_TEST

START_TEST(usage_limit_epoch)
{
	struct verdict v;

	ck_oc(judge1(PL_JSON, ERR_RESULT("null",
	    "Claude AI usage limit reached|1753441200", "completed"), &end_1,
	    &v), OC_RATE_LIMIT, "epoch");
	ck_assert_int_eq(v.reset_at, 1753441200);
	ck_oc(judge1(PL_TEXT, "Claude AI usage limit reached|1753441200",
	    &end_1, &v), OC_RATE_LIMIT, "epoch text");
	ck_assert_int_eq(v.reset_at, 1753441200);
	/* Prose forms too: retry.c reads them for the classifier. */
	ck_oc(judge1(PL_JSON, ERR_RESULT("429", TOAUTH, "completed"), &end_1,
	    &v), OC_RATE_LIMIT, "prose");
	ck_assert_int_ne(v.reset_at, 0);
	/* A reset time only means something for a rate limit. */
	ck_oc(judge1(PL_JSON, ERR_RESULT("529",
	    "API Error: 529 Overloaded. usage limit reached|1753441200",
	    "completed"), &end_1, &v), OC_RATE_LIMIT, "first match");
	ck_oc(judge1(PL_JSON, ERR_RESULT("500", T500, "completed"), &end_1,
	    &v), OC_SERVER, "500");
	ck_assert_int_eq(v.reset_at, 0);
}
END_TEST

/* ---- hooks ---- */

static int
find_kind(const struct rec *r, enum pl_event_kind k, int from)
{
	for (int i = from; i < r->n; i++)
		if (r->ev[i].kind == k)
			return i;
	return -1;
}

/* The indexes of r's PLE_TOOL_USE events, at most max: how many. */
static int
tool_events(const struct rec *r, int *idx, int max)
{
	int i = -1, k = 0;

	while ((i = find_kind(r, PLE_TOOL_USE, i + 1)) != -1) {
		ck_assert_int_lt(k, max);
		idx[k++] = i;
	}
	return k;
}

START_TEST(hook_init_retry_fallback)
{
	static const char s[] = INIT
	    "{\"type\":\"system\",\"subtype\":\"api_retry\",\"attempt\":1,"
	    "\"max_retries\":10,\"retry_delay_ms\":563.16,\"error_status\":529,"
	    "\"error\":\"overloaded\",\"session_id\":\"s\",\"uuid\":\"u\"}\n"
	    "{\"type\":\"system\",\"subtype\":\"api_retry\",\"attempt\":2,"
	    "\"max_retries\":1,\"retry_delay_ms\":597.91,\"error_status\":null,"
	    "\"error\":\"unknown\",\"session_id\":\"s\",\"uuid\":\"u\"}\n"
	    "{\"type\":\"system\",\"subtype\":\"model_fallback\",\"trigger\":"
	    "\"overloaded\",\"original_model\":\"claude-opus-4-8[1m]\","
	    "\"fallback_model\":\"claude-sonnet-5\",\"content\":\"Switched to "
	    "Sonnet 5 due to high demand for Opus 4.8 (1M context)\"}\n";
	struct verdict v;
	struct rec r;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_1, &v,
	    &r);
	int i;

	ck_assert_int_eq(r.n, 8);
	ck_assert_int_eq(r.ev[0].kind, PLE_EVENT);
	ck_assert_int_eq(r.ev[0].line_off, 0);
	ck_assert_uint_eq(r.ev[0].line_len, strlen(INIT) - 1);
	ck_assert_int_eq(r.ev[1].kind, PLE_INIT);
	ck_assert_str_eq(r.ev[1].model, "claude-opus-4-8[1m]");
	ck_assert_str_eq(r.ev[1].session, SESSION);
	i = find_kind(&r, PLE_API_RETRY, 0);
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(r.ev[2].line_off, (int64_t)strlen(INIT));
	ck_assert_int_eq(r.ev[i].retry_attempt, 1);
	ck_assert_int_eq(r.ev[i].retry_max, 10);
	ck_assert_double_eq_tol(r.ev[i].retry_delay_ms, 563.16, 1e-9);
	ck_assert_int_eq(r.ev[i].error_status, 529);
	ck_assert_str_eq(r.ev[i].error, "overloaded");
	i = find_kind(&r, PLE_API_RETRY, i + 1);
	ck_assert_int_eq(i, 5);
	ck_assert_int_eq(r.ev[i].retry_attempt, 2);
	ck_assert_int_eq(r.ev[i].retry_max, 1);
	ck_assert_int_eq(r.ev[i].error_status, 0);	/* null */
	ck_assert_str_eq(r.ev[i].error, "unknown");
	i = find_kind(&r, PLE_FALLBACK, 0);
	ck_assert_int_eq(i, 7);
	ck_assert_str_eq(r.ev[i].model, "claude-sonnet-5");
	ck_assert_str_eq(r.ev[i].from_model, "claude-opus-4-8[1m]");
	/* No result yet: the model now answering is the fallback. */
	ck_assert_str_eq(v.usage.model, "claude-sonnet-5");
	ck_assert(!r.ev[7].had_result);
	payload_free(p);
}
END_TEST

static struct payload *run_spool(const char *, size_t, size_t, size_t,
		    size_t, struct verdict *, struct rec *, int *);

/*
 * Each assistant line's message id, one per API response (run.c counts
 * responses by it), however the line was read; none on other lines.
 */
START_TEST(hook_msg_id)
{
	static const char s[] = INIT ASSISTANT_TEXT("a") TOOL_TURN
	    ASSISTANT_ERR("rate_limit", "x") SUCCESS("done", "1");
	static const char *const want[] = { "<null>", "msg_1", "msg_2",
	    "<null>", UUID, "<null>" };
	struct verdict v;
	struct rec r;
	struct payload *p;
	int spool;

	for (int pass = 0; pass < 2; pass++) {
		int i = -1, k = 0;

		/* Held, then every line read back from the spool. */
		p = pass == 0 ? run_fmt(PL_STREAM, s, strlen(s), 7, &end_ok,
		    &v, &r) : run_spool(s, strlen(s), 7, 16, 16, &v, &r, &spool);
		while ((i = find_kind(&r, PLE_EVENT, i + 1)) != -1)
			ck_assert_str_eq(r.ev[i].msg_id, want[k++]);
		ck_assert_int_eq(k, 6);
		i = find_kind(&r, PLE_TOOL_USE, 0);
		ck_assert_str_eq(r.ev[i].msg_id, "msg_2");
		payload_free(p);
		if (pass == 1)
			close(spool);
	}
}
END_TEST

/* Names longer than the scanner hands over are read whole all the same. */
START_TEST(hook_long_names)
{
#define LONG_ID "msg_0123456789abcdefghijklmnopqrstuvwxyz"
	static const char s[] = "{\"type\":\"assistant\",\"message\":{\"id\":"
	    "\"" LONG_ID "\",\"content\":[]}}\n"
	    "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_2\","
	    "\"content\":[]},\"error\":"
	    "\"an_error_kind_longer_than_thirty_two_bytes\"}\n"
	    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
	    "\"result\":\"API Error: 500\"}\n";
	struct verdict v;
	struct rec r;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 7, &end_1, &v,
	    &r);
	int i = find_kind(&r, PLE_EVENT, 0);

	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(r.ev[i].msg_id, LONG_ID);
	ck_assert_msg(strstr(v.detail, "error=an_error_kind_longer_than_th")
	    != NULL, "detail: %s", v.detail);
	payload_free(p);
#undef LONG_ID
}
END_TEST

/*
 * A backslash more than 32 bytes into a run of plain bytes: past what
 * the word-at-a-time search looks at, found by memchr. A kept string (the
 * init's model) and the result both decode it.
 */
START_TEST(escape_past_the_first_32_bytes)
{
#define PLAIN40 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	static const char s[] = "{\"type\":\"system\",\"subtype\":\"init\","
	    "\"model\":\"" PLAIN40 "\\\"q\"}\n"
	    "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\""
	    PLAIN40 "\\\"q\\u00e9\"}\n";
	struct verdict v;
	struct rec r;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 4096, &end_ok, &v,
	    &r);
	size_t len;

	ck_assert_int_eq(v.oc, OC_OK);
	ck_assert_str_eq(v.usage.model, PLAIN40 "\"q");
	ck_assert_str_eq(payload_result_text(p, &len), PLAIN40 "\"q\xc3\xa9");
	payload_free(p);
#undef PLAIN40
}
END_TEST

START_TEST(hook_tool_use)
{
	static const char s[] =
	    "{\"type\":\"assistant\",\"message\":{\"content\":["
	    "{\"type\":\"text\",\"text\":\"Let me look.\"},"
	    "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Bash\",\"input\":"
	    "{\"command\":\"echo hi\"}},"
	    "{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"Skill\",\"input\":"
	    "{\"skill\":\"pdf\"}}]}}\n"
	    "{\"type\":\"assistant\",\"message\":{\"content\":["
	    "{\"type\":\"tool_use\",\"id\":\"t3\",\"name\":\"Skill\",\"input\":"
	    "{\"command\":\"review\"}},"
	    "{\"type\":\"tool_use\",\"id\":\"t4\",\"name\":\"Skill\",\"input\":"
	    "{\"name\":\"xlsx\"}},"
	    "{\"type\":\"tool_use\",\"id\":\"t5\",\"name\":\"mcp__stub__ping\","
	    "\"input\":{\"skill\":\"not-a-skill\"}},"
	    "{\"type\":\"tool_result\",\"name\":\"Nope\"}]},"
	    "\"parent_tool_use_id\":\"t0\"}\n"
	    "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_use\","
	    "\"name\":\"NotFromAssistant\"}]}}\n";
	static const char *const tool[] = { "Bash", "Skill", "Skill", "Skill",
	    "mcp__stub__ping" };
	static const char *const skill[] = { "<null>", "pdf", "review",
	    "xlsx", "<null>" };
	struct verdict v;
	struct rec r;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_ok, &v,
	    &r);
	int idx[5];

	ck_assert_int_eq(tool_events(&r, idx, 5), 5);
	for (int k = 0; k < 5; k++) {
		ck_assert_str_eq(r.ev[idx[k]].tool, tool[k]);
		ck_assert_str_eq(r.ev[idx[k]].skill, skill[k]);
		ck_assert_int_eq(r.ev[idx[k]].line_off, k < 2 ? 0 :
		    (int64_t)(strchr(s, '\n') - s + 1));
	}
	ck_assert_int_eq(r.n, 3 + 5);	/* 3 events, 5 tool uses */
	ck_oc(v.oc, OC_BAD_PAYLOAD, "no result");
	payload_free(p);
}
END_TEST

/*
 * A block is a tool_use when its first "type" member is a string that
 * reads "tool_use" as cJSON's C string: up to a NUL, escapes decoded,
 * the first of duplicate names; not a number, not an object's inner
 * "type", not a longer or shorter word.
 */
START_TEST(hook_tool_use_type_as_cjson_reads_it)
{
	static const char s[] =
	    "{\"type\":\"assistant\",\"message\":{\"content\":["
	    "{\"type\":\"tool_\\u0075se\",\"name\":\"Escaped\"},"
	    "{\"type\":\"tool_use\\u0000junk\",\"name\":\"Nul\"},"
	    "{\"type\":\"text\",\"type\":\"tool_use\",\"name\":\"SecondType\"},"
	    "{\"type\":\"tool_use\",\"type\":\"text\",\"name\":\"FirstType\"},"
	    "{\"type\":5,\"name\":\"Number\"},"
	    "{\"type\":\"tool_use2\",\"name\":\"Longer\"},"
	    "{\"type\":\"tool_us\",\"name\":\"Shorter\"},"
	    "{\"name\":\"Inner\",\"input\":{\"type\":\"tool_use\"}},"
	    "{\"type\":{\"type\":\"tool_use\"},\"name\":\"Object\"}]}}\n";
	static const char *const tool[] = { "Escaped", "Nul", "FirstType" };
	struct verdict v;
	struct rec r;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_ok, &v,
	    &r);
	int idx[3];

	ck_assert_int_eq(tool_events(&r, idx, 3), 3);
	for (int k = 0; k < 3; k++)
		ck_assert_str_eq(r.ev[idx[k]].tool, tool[k]);
	payload_free(p);
}
END_TEST

#define RL_NESTED(st, extra) \
	"{\"type\":\"rate_limit_event\",\"rate_limit_info\":{\"status\":\"" \
	st "\"" extra "},\"uuid\":\"" UUID "\",\"session_id\":\"" SESSION \
	"\"}\n"

START_TEST(hook_rate_limit)
{
	static const char s[] =
	    RL_NESTED("allowed", ",\"isUsingOverage\":false")
	    RL_NESTED("allowed_warning", ",\"resetsAt\":1700000000000,"
	    "\"utilization\":0.85,\"rateLimitType\":\"five_hour\"")
	    RL_NESTED("rejected", ",\"resetsAt\":1778565600,\"rateLimitType\":"
	    "\"five_hour\",\"overageStatus\":\"rejected\","
	    "\"overageDisabledReason\":\"org_level_disabled_until\","
	    "\"isUsingOverage\":false")
	    "{\"type\":\"rate_limit_event\",\"status\":\"rejected\","
	    "\"resetsAt\":\"1784238600\"}\n";
	static const char *const st[] = { "allowed", "allowed_warning",
	    "rejected", "rejected" };
	static const int64_t at[] = { 0, 1700000000, 1778565600, 1784238600 };
	struct verdict v;
	struct rec r;
	struct payload *p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_1, &v,
	    &r);
	int i = -1, k = 0;

	while ((i = find_kind(&r, PLE_RATE_LIMIT, i + 1)) != -1) {
		ck_assert_int_lt(k, 4);
		ck_assert_str_eq(r.ev[i].limit_status, st[k]);
		ck_assert_int_eq(r.ev[i].resets_at, at[k]);
		k++;
	}
	ck_assert_int_eq(k, 4);
	/* No result, a rejection seen: a rate limit, reset from the event. */
	ck_oc(v.oc, OC_RATE_LIMIT, "rejected");
	ck_assert_int_eq(v.reset_at, 1784238600);
	ck_assert_str_eq(v.detail, "rate_limit_event=rejected, no result event");
	payload_free(p);
}
END_TEST

START_TEST(rate_limit_event_judging)
{
	static const char rej[] = RL_NESTED("rejected",
	    ",\"resetsAt\":1778565600,\"isUsingOverage\":false");
	static const char warn[] = RL_NESTED("allowed_warning",
	    ",\"resetsAt\":1778565600");
	static const char overage[] = RL_NESTED("rejected",
	    ",\"resetsAt\":1778565600,\"overageStatus\":\"allowed\","
	    "\"isUsingOverage\":true");
	char *s;
	struct verdict v;

	/* Rejected, then the 429 result: its reset comes from the event. */
	s = cat3(rej, ASSISTANT_ERR("rate_limit", TOAUTH),
	    ERR_RESULT("429", TOAUTH, "completed"));
	ck_oc(judge1(PL_STREAM, s, &end_1, &v), OC_RATE_LIMIT, "429");
	ck_assert_int_eq(v.reset_at, 1778565600);
	free(s);
	/* Rejected, then an unclassified error result: still the limit. */
	s = cat3(INIT, rej, ERR_RESULT("null", "API Error: odd", "completed"));
	ck_oc(judge1(PL_STREAM, s, &end_1, &v), OC_RATE_LIMIT, "odd error");
	ck_assert_ptr_nonnull(strstr(v.detail, "rate_limit_event=rejected"));
	free(s);
	/* Rejected but the answer came (a result says so). */
	s = cat3(rej, SUCCESS("fine", "1"), "\n");
	ck_oc(judge1(PL_STREAM, s, &end_ok, &v), OC_OK, "answered");
	ck_assert_int_eq(v.reset_at, 0);
	free(s);
	/* A warning is no rejection. */
	s = cat3(INIT, warn, "");
	ck_oc(judge1(PL_STREAM, s, &end_1, &v), OC_ERROR, "warning");
	free(s);
	/* Overage billing covers the rejected window. */
	s = cat3(INIT, overage, "");
	ck_oc(judge1(PL_STREAM, s, &end_1, &v), OC_ERROR, "overage");
	free(s);
	/* A timeout stays a timeout. */
	ck_oc(judge1(PL_STREAM, rej, &end_timeout, &v), OC_TIMEOUT,
	    "timeout");
	/* In a --verbose json array too. */
	ck_oc(judge1(PL_JSON, "[{\"type\":\"rate_limit_event\","
	    "\"rate_limit_info\":{\"status\":\"rejected\",\"resetsAt\":5}}]",
	    &end_1, &v), OC_RATE_LIMIT, "json array");
	ck_assert_int_eq(v.reset_at, 5);
}
END_TEST

/* ---- offsets, usage, odd lines ---- */

START_TEST(result_offsets)
{
	static const char s[] = INIT
	    "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"first\"}\n"
	    "\n   \n"
	    "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"last\"}";
	static const char last[] =
	    "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"last\"}";
	static const char crlf[] = "{\"type\":\"result\",\"result\":\"a\"}\r\n";
	struct verdict v;
	struct payload *p;
	size_t len;

	/* The final line has no newline: it counts at judge time. */
	for (size_t c = 0; c < 3; c++) {
		p = run_fmt(PL_STREAM, s, strlen(s), c, &end_ok, &v, NULL);
		ck_oc(v.oc, OC_OK, "last");
		ck_assert_int_eq(v.result_off, (int64_t)(strlen(s) - strlen(last)));
		ck_assert_uint_eq(v.result_len, strlen(last));
		ck_assert(memcmp(s + v.result_off, last, v.result_len) == 0);
		ck_assert_str_eq(payload_result_text(p, &len), "last");
		payload_free(p);
	}
	/* CRLF lines parse; the length stops before the newline only. */
	p = run_fmt(PL_STREAM, crlf, strlen(crlf), 0, &end_ok, &v, NULL);
	ck_oc(v.oc, OC_OK, "crlf");
	ck_assert_int_eq(v.result_off, 0);
	ck_assert_uint_eq(v.result_len, strlen(crlf) - 1);
	payload_free(p);
}
END_TEST

START_TEST(usage_fields)
{
	static const char multi[] = INIT
	    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
	    "\"result\":\"ok\",\"num_turns\":4,\"total_cost_usd\":1.25,"
	    "\"session_id\":\"from-result\",\"usage\":{\"input_tokens\":100,"
	    "\"output_tokens\":50,\"cache_read_input_tokens\":9000,"
	    "\"cache_creation_input_tokens\":1200},\"modelUsage\":{"
	    "\"claude-haiku-4-5-20251001\":{\"outputTokens\":10},"
	    "\"claude-sonnet-5\":{\"outputTokens\":40},"
	    "\"claude-opus-4-8[1m]\":{\"outputTokens\":2}}}\n";
	struct verdict v;

	ck_oc(judge1(PL_STREAM, INIT SUCCESS(OK_JTEXT, "1") "\n", &end_ok, &v),
	    OC_OK, "facts success");
	ck_assert(v.usage.have);
	ck_assert_int_eq(v.usage.input_tokens, 11);
	ck_assert_int_eq(v.usage.output_tokens, 7);
	ck_assert_int_eq(v.usage.cache_read, 0);
	ck_assert_int_eq(v.usage.cache_creation, 0);
	ck_assert_int_eq(v.usage.num_turns, 1);
	ck_assert_double_eq_tol(v.usage.cost_usd, 0.00023, 1e-12);
	ck_assert_str_eq(v.usage.model, "claude-opus-4-8[1m]");
	ck_assert_str_eq(v.usage.session, SESSION);
	ck_assert_str_eq(v.detail, "");

	ck_oc(judge1(PL_STREAM, multi, &end_ok, &v), OC_OK, "multi");
	ck_assert_int_eq(v.usage.input_tokens, 100);
	ck_assert_int_eq(v.usage.output_tokens, 50);
	ck_assert_int_eq(v.usage.cache_read, 9000);
	ck_assert_int_eq(v.usage.cache_creation, 1200);
	ck_assert_int_eq(v.usage.num_turns, 4);
	ck_assert_double_eq_tol(v.usage.cost_usd, 1.25, 1e-12);
	ck_assert_str_eq(v.usage.model, "claude-sonnet-5");
	ck_assert_str_eq(v.usage.session, "from-result");

	/* modelUsage {} (every error result): the model from init. */
	ck_oc(judge1(PL_STREAM, INIT ERR_RESULT("529", T529, "completed"),
	    &end_1, &v), OC_OVERLOADED, "529");
	ck_assert_str_eq(v.usage.model, "claude-opus-4-8[1m]");
	ck_assert(v.usage.have);
	ck_assert_int_eq(v.usage.output_tokens, 0);
	/* Absurd numbers are not trusted into integers. */
	ck_oc(judge1(PL_JSON, "{\"type\":\"result\",\"result\":\"x\","
	    "\"usage\":{\"input_tokens\":1e999,\"output_tokens\":-1e300},"
	    "\"num_turns\":1e19,\"total_cost_usd\":1e999}", &end_ok, &v),
	    OC_OK, "absurd");
	ck_assert_int_eq(v.usage.input_tokens, 0);
	ck_assert_int_eq(v.usage.output_tokens, 0);
	ck_assert_int_eq(v.usage.num_turns, 0);
}
END_TEST

/*
 * Lines cut short after their names (never judged) that begin alike: the
 * scanner reads each one on from where the first was cut, so a bad rest
 * is still a bad line, a line that is only the head is one, and a name
 * that goes on past the head's is another head. Fed whole, a byte at a
 * time and read by cJSON (thorough), the same events; only good lines
 * are events.
 */
static const char cut_stream[] =
    "{\"type\":\"system\",\"subtype\":\"tick\",\"pad\":\"a\"}\n"
    "{\"type\":\"system\",\"subtype\":\"tick\",\"pad\":\"b\\\"}\"}\n"
    "{\"type\":\"system\",\"subtype\":\"tick\"}\n"
    "{\"type\":\"system\",\"subtype\":\"tick\"\n"
    "{\"type\":\"system\",\"subtype\":\"tick\",}\n"
    "{\"type\":\"system\",\"subtype\":\"tick\",\"pad\":\"c\"} x\n"
    "{\"type\":\"system\",\"subtype\":\"tick\" , \"n\":[1,{\"a\":null}]} \n"
    "{\"type\":\"system\",\"subtype\":\"tick\",\"pad\":\"open}\n"
    "{\"type\":\"system\",\"subtype\":\"tick\"}}\n"
    "{\"type\":\"system\",\"subtype\":\"ticks\",\"pad\":1}\n"
    "{\"type\":\"system\",\"subtype\":\"ticks\",\"pad\":tru}\n"
    "{\"type\":\"system\",\"subtype\":\"tick\",\"subtype\":\"init\"}\n"
    "\xef\xbb\xbf{\"type\":\"user\",\"a\":1}\n"
    "\xef\xbb\xbf{\"type\":\"user\",\"a\":}\n"
    "{\"type\":\"user\"}\n"
    INIT
    "{\"type\":\"user\",\"message\":{\"content\":[]}}\n"
    SUCCESS(OK_JTEXT, "2") "\n";

/* The lines of cut_stream that are events, in order. */
static const int cut_good[] = { 0, 1, 2, 6, 9, 11, 12, 14, 15, 16, 17 };

START_TEST(cut_heads_alike)
{
	size_t n = strlen(cut_stream);
	struct verdict whole, bytes, thorough;
	static struct rec rw, rb, rt;
	struct payload *p;
	const char *line = cut_stream;
	int k = 0, at = 0;

	payload_free(run_fmt(PL_STREAM, cut_stream, n, 0, &end_ok, &whole,
	    &rw));
	payload_free(run_fmt(PL_STREAM, cut_stream, n, 1, &end_ok, &bytes,
	    &rb));
	p = payload_new(PL_STREAM, record, &rt);
	ck_assert_ptr_nonnull(p);
	memset(&rt, 0, sizeof(rt));
	rt.p = p;
	payload_set_thorough(p);
	ck_assert_int_eq(payload_feed(p, cut_stream, n), 0);
	payload_judge(p, &end_ok, &thorough);
	payload_free(p);
	ck_oc(whole.oc, OC_OK, "whole");
	same_verdict(&whole, &bytes, 1);
	same_verdict(&whole, &thorough, 0);
	same_events(&rw, &rb, 1);
	same_events(&rw, &rt, 0);
	for (int i = 0; i < rw.n; i++) {
		if (rw.ev[i].kind != PLE_EVENT)
			continue;
		ck_assert_int_lt(k, (int)(sizeof(cut_good) / sizeof(cut_good[0])));
		while (at < cut_good[k]) {
			line = strchr(line, '\n') + 1;
			at++;
		}
		ck_assert_msg(rw.ev[i].line_off == line - cut_stream,
		    "event %d: line at %jd, want line %d", k,
		    (intmax_t)rw.ev[i].line_off, cut_good[k]);
		k++;
	}
	ck_assert_int_eq(k, (int)(sizeof(cut_good) / sizeof(cut_good[0])));
}
END_TEST

START_TEST(long_lines_and_streams)
{
	size_t big = 3 << 20, n;
	char *s = malloc(big + 4096), *q;
	struct verdict v;
	struct rec r;
	struct payload *p;

	ck_assert_ptr_nonnull(s);
	/* A 3 MiB assistant line, then the result. */
	q = s + sprintf(s, "{\"type\":\"assistant\",\"message\":{\"content\":"
	    "[{\"type\":\"text\",\"text\":\"");
	memset(q, 'a', big);
	q += big;
	q += sprintf(q, "\"}]}}\n%s\n", SUCCESS("done", "1"));
	n = (size_t)(q - s);
	p = run_fmt(PL_STREAM, s, n, 65536, &end_ok, &v, &r);
	ck_oc(v.oc, OC_OK, "big line");
	ck_assert_int_eq(r.n, 3);
	ck_assert_uint_eq(r.ev[0].line_len, (size_t)(strchr(s, '\n') - s));
	ck_assert_uint_gt(r.ev[0].line_len, big);
	ck_assert_int_eq(v.result_off, strchr(s, '\n') - s + 1);
	payload_free(p);
	free(s);

	/* Many lines: one payload, fed as a pipe would. */
	p = payload_new(PL_STREAM, NULL, NULL);
	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 30000; i++)
		ck_assert_int_eq(payload_feed(p, ASSISTANT_TEXT("tick"),
		    strlen(ASSISTANT_TEXT("tick"))), 0);
	ck_assert_int_eq(payload_feed(p, SUCCESS("fin", "1") "\n",
	    strlen(SUCCESS("fin", "1")) + 1), 0);
	payload_judge(p, &end_ok, &v);
	ck_oc(v.oc, OC_OK, "many lines");
	ck_assert_int_eq(v.result_off,
	    (int64_t)(30000 * strlen(ASSISTANT_TEXT("tick"))));
	payload_free(p);
}
END_TEST

START_TEST(judge_twice)
{
	static const char s[] = INIT SUCCESS("fin", "1");
	struct verdict a, b;
	struct payload *p;

	for (int f = 0; f < 3; f++) {
		p = run_fmt((enum pl_format)f, s, strlen(s), 7, &end_ok, &a,
		    NULL);
		payload_judge(p, &end_ok, &b);
		same_verdict(&a, &b, (size_t)f);
		payload_free(p);
	}
	payload_free(NULL);
}
END_TEST

/* ---- lines read back from the spool ---- */

/* As attempt.c feeds a payload: each chunk written to the spool first. */
static struct payload *
run_spool(const char *s, size_t n, size_t chunk, size_t line_hold,
    size_t str_hold, struct verdict *v, struct rec *r, int *spool)
{
	struct payload *p = payload_new(PL_STREAM, r != NULL ? record : NULL,
	    r);
	int fd = spool_open();

	ck_assert_ptr_nonnull(p);
	ck_assert_int_ne(fd, -1);
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		r->p = p;
	}
	payload_set_spool(p, fd);
	payload_set_limits(p, line_hold, str_hold);
	if (chunk == 0)
		chunk = n > 0 ? n : 1;
	for (size_t i = 0; i < n; i += chunk) {
		size_t k = n - i < chunk ? n - i : chunk;

		ck_assert_int_eq(write(fd, s + i, k), (ssize_t)k);
		ck_assert_int_eq(payload_feed(p, s + i, k), 0);
	}
	payload_judge(p, &end_ok, v);
	*spool = fd;
	return p;
}

/* What payload_write_result wrote, NUL-terminated; its length in *n. */
static char *
written(const struct payload *p, size_t *n, bool *ends_nl)
{
	int fd = spool_open();
	off_t end;
	char *b;

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(payload_write_result(p, fd, ends_nl), 0);
	end = lseek(fd, 0, SEEK_END);
	ck_assert_int_ge(end, 0);
	b = malloc((size_t)end + 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pread(fd, b, (size_t)end, 0), (ssize_t)end);
	b[end] = '\0';
	*n = (size_t)end;
	close(fd);
	return b;
}

/* Growing strings, for the long lines below. */
struct buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	ck_assert_int_eq(io_grow(&b->s, &b->cap, b->len + n + 1), 0);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/*
 * A string of at least n bytes as JSON text (into j) and decoded (into
 * t): every escape JSON has, \u ones with surrogate pairs, raw UTF-8,
 * in pieces of odd lengths so that they straddle every boundary.
 */
static void
long_string(struct buf *j, struct buf *t, size_t n)
{
	static const char *const units[][2] = {
		{ "plain words ", "plain words " },
		{ "\\n", "\n" },
		{ "\\\"q\\\"", "\"q\"" },
		{ "\\\\", "\\" },
		{ "\\/", "/" },
		{ "\\t", "\t" },
		{ "h\xc3\xa9llo ", "h\xc3\xa9llo " },
		{ "\\u00e9", "\xc3\xa9" },
		{ "\\u65E5\\u672c", "\xe6\x97\xa5\xe6\x9c\xac" },
		{ "\\ud83d\\ude00", "\xf0\x9f\x98\x80" },
		{ "\\uD834\\uDD1E", "\xf0\x9d\x84\x9e" },
		{ "\xe2\x9c\x93", "\xe2\x9c\x93" },
		{ "\\r\\b\\f", "\r\b\f" },
		{ "x", "x" },
	};
	const size_t nu = sizeof(units) / sizeof(units[0]);

	for (size_t i = 0; t->len < n; i++) {
		puts_(j, units[i % nu][0]);
		puts_(t, units[i % nu][1]);
	}
}

#define BIG_HEAD \
	"{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false," \
	"\"api_error_status\":null,\"result\":\""
#define BIG_TAIL \
	"\",\"session_id\":\"s-big\",\"num_turns\":1,\"total_cost_usd\":0.5," \
	"\"usage\":{\"input_tokens\":5,\"output_tokens\":12000}," \
	"\"modelUsage\":{\"claude-big\":{\"outputTokens\":12000}}}"

/* INIT, then a result whose text is the n-byte long_string, ending nl. */
static void
big_result_stream(struct buf *s, struct buf *t, size_t n)
{
	memset(s, 0, sizeof(*s));
	memset(t, 0, sizeof(*t));
	puts_(s, INIT BIG_HEAD);
	long_string(s, t, n);
	puts_(s, "\\n" BIG_TAIL "\n");
	puts_(t, "\n");
}

static const size_t big_sizes[] = { 1 << 20, 20 << 20 };

START_TEST(spool_big_result)
{
	struct buf s, t;
	struct verdict v, held;
	struct rec r;
	struct payload *p;
	size_t n, len = 1;
	char *w;
	bool nl;
	int fd;

	big_result_stream(&s, &t, big_sizes[_i]);
	/* Chunks of a prime size: escapes split across feeds and reads. */
	p = run_spool(s.s, s.len, 65521, 0, 0, &v, &r, &fd);
	ck_oc(v.oc, OC_OK, "big result");
	ck_assert(v.have_result);
	ck_assert_int_eq(v.result_off, (int64_t)strlen(INIT));
	ck_assert_uint_eq(v.result_len, s.len - strlen(INIT) - 1);
	ck_assert_int_eq(v.usage.output_tokens, 12000);
	ck_assert_str_eq(v.usage.session, "s-big");
	ck_assert_str_eq(v.usage.model, "claude-big");
	/* The line was not handed to the hook; its place was. */
	ck_assert_int_eq(r.n, 4);
	ck_assert_int_eq(r.ev[2].kind, PLE_EVENT);
	ck_assert(r.ev[2].line_null);
	ck_assert_uint_eq(r.ev[2].line_len, 0);
	ck_assert_uint_eq(r.ev[2].line_size, v.result_len);
	ck_assert_int_eq(r.ev[2].line_off, v.result_off);
	ck_assert_int_eq(r.ev[3].kind, PLE_RESULT);
	/* Not held: only written, decoded from the spool. */
	ck_assert_ptr_null(payload_result_text(p, &len));
	ck_assert_uint_eq(len, 0);
	w = written(p, &n, &nl);
	ck_assert_uint_eq(n, t.len);
	ck_assert(memcmp(w, t.s, n) == 0);
	ck_assert(nl);
	free(w);
	payload_free(p);
	close(fd);
	/* Held whole (no spool), it is judged and written the same. */
	p = run_fmt(PL_STREAM, s.s, s.len, 0, &end_ok, &held, NULL);
	same_verdict(&held, &v, 0);
	ck_assert_ptr_nonnull(payload_result_text(p, &len));
	ck_assert_uint_eq(len, t.len);
	w = written(p, &n, &nl);
	ck_assert(n == t.len && memcmp(w, t.s, n) == 0 && nl);
	free(w);
	payload_free(p);
	free(s.s);
	free(t.s);
}
END_TEST

/* INIT, then a result line: head, n bytes of `fill` (JSON), tail. */
static char *
padded(const char *head, const char *fill, size_t n, const char *tail)
{
	struct buf b;

	memset(&b, 0, sizeof(b));
	puts_(&b, INIT);
	puts_(&b, head);
	while (b.len < n)
		puts_(&b, fill);
	puts_(&b, tail);
	return b.s;
}

START_TEST(spool_big_blank_and_errors)
{
	static const char err_head[] =
	    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
	    "\"api_error_status\":null,\"num_turns\":1,\"result\":\"";
	static const char tail[] = "\",\"session_id\":\"s\"}\n";
	struct verdict v, held;
	struct payload *p;
	size_t n;
	char *s, *w;
	bool nl;
	int fd;

	/* 300 KiB of white space, escaped and not: empty, not ok. */
	s = padded(BIG_HEAD, " \\n\\t\\r \\u0020", 300 << 10, tail);
	p = run_spool(s, strlen(s), 4096, 0, 0, &v, NULL, &fd);
	ck_oc(v.oc, OC_EMPTY, "blank");
	ck_assert_str_eq(v.detail, "white space only result");
	w = written(p, &n, &nl);
	ck_assert_uint_gt(n, 100 << 10);
	ck_assert(!nl);		/* it ends in \u0020 */
	ck_assert_uint_eq(strspn(w, " \n\t\r"), n);
	free(w);
	payload_free(p);
	close(fd);
	free(s);

	/* An error whose text is long: its head is judged. */
	s = padded(err_head, "API Error: 529 Overloaded. padding padding ",
	    300 << 10, tail);
	p = run_spool(s, strlen(s), 0, 0, 0, &v, NULL, &fd);
	ck_oc(v.oc, OC_OVERLOADED, "529");
	ck_assert_ptr_nonnull(strstr(v.detail, "is_error: API Error: 529"));
	payload_free(p);
	close(fd);
	p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_ok, &held, NULL);
	same_verdict(&held, &v, 0);
	ck_assert_str_eq(held.detail, v.detail);
	payload_free(p);
	free(s);

	/* A usage limit: its reset epoch comes from the head too. */
	s = padded(err_head, "Claude AI usage limit reached|1753441200 ",
	    300 << 10, tail);
	p = run_spool(s, strlen(s), 0, 0, 0, &v, NULL, &fd);
	ck_oc(v.oc, OC_RATE_LIMIT, "usage limit");
	ck_assert_int_eq(v.reset_at, 1753441200);
	payload_free(p);
	close(fd);
	free(s);
}
END_TEST

START_TEST(spool_big_assistant)
{
	struct buf s;
	struct verdict v;
	struct rec r;
	struct payload *p;
	size_t first;
	int fd, i;

	/* A text block of 1 MiB, a Bash command of 300 KiB, a skill. */
	memset(&s, 0, sizeof(s));
	puts_(&s, "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_1\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"");
	for (i = 0; i < (1 << 20) / 16; i++)
		puts_(&s, "a \\\"long\\\" text ");
	puts_(&s, "\"},{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Bash\","
	    "\"input\":{\"command\":\"");
	for (i = 0; i < (300 << 10) / 16; i++)
		puts_(&s, "echo \\u00e9t\\u00e9;");
	puts_(&s, "\"}},{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"Skill\","
	    "\"input\":{\"skill\":\"pdf\"}}]},\"session_id\":\"" SESSION "\"}\n");
	first = s.len;
	puts_(&s, SUCCESS("done", "2") "\n");
	p = run_spool(s.s, s.len, 65536, 0, 0, &v, &r, &fd);
	ck_oc(v.oc, OC_OK, "after a long assistant line");
	ck_assert_int_eq(v.result_off, (int64_t)first);
	ck_assert_int_eq(r.n, 5);
	ck_assert(r.ev[0].line_null);
	ck_assert_uint_eq(r.ev[0].line_size, first - 1);
	ck_assert_int_eq(r.ev[1].kind, PLE_TOOL_USE);
	ck_assert_str_eq(r.ev[1].tool, "Bash");
	ck_assert_str_eq(r.ev[1].skill, "<null>");
	ck_assert_int_eq(r.ev[2].kind, PLE_TOOL_USE);
	ck_assert_str_eq(r.ev[2].tool, "Skill");
	ck_assert_str_eq(r.ev[2].skill, "pdf");
	/* The result line is short: held, and handed to the hook. */
	ck_assert(!r.ev[3].line_null);
	ck_assert_int_eq(r.ev[4].kind, PLE_RESULT);
	payload_free(p);
	close(fd);
	free(s.s);
}
END_TEST

START_TEST(spool_big_not_json)
{
	struct verdict v, held;
	struct payload *p;
	char *s;
	int fd;

	/* An error printed as text where JSON was expected. */
	s = padded("API Error: 500 Internal server error ", "more words ",
	    300 << 10, "\n");
	p = run_spool(s, strlen(s), 0, 0, 0, &v, NULL, &fd);
	ck_oc(v.oc, OC_SERVER, "text line");
	payload_free(p);
	close(fd);
	p = run_fmt(PL_STREAM, s, strlen(s), 0, &end_ok, &held, NULL);
	same_verdict(&held, &v, 0);
	payload_free(p);
	free(s);

	/* An object with garbage after it is no event. */
	s = padded("{\"type\":\"result\",\"result\":\"", "xxxxxxxx", 300 << 10,
	    "\"} tail\n");
	p = run_spool(s, strlen(s), 0, 0, 0, &v, NULL, &fd);
	ck_oc(v.oc, OC_BAD_PAYLOAD, "garbage after");
	ck_assert(!v.have_result);
	payload_free(p);
	close(fd);
	free(s);

	/* A long line of white space is skipped, as a short one. */
	s = padded("", "  \t  ", 300 << 10, "\n" SUCCESS("fin", "1"));
	p = run_spool(s, strlen(s), 0, 0, 0, &v, NULL, &fd);
	ck_oc(v.oc, OC_OK, "white line");
	payload_free(p);
	close(fd);
	free(s);
}
END_TEST

/* Every row of the table, each line and string read back: the same. */
START_TEST(spool_table)
{
	const struct row *r = &rows[_i];
	char *s = cat3(r->events, r->result, "\n");
	struct pl_end end = row_end(r);
	struct verdict held, v;
	struct payload *p, *q;
	size_t n, len;
	const char *t;
	char *w;
	bool nl;
	int fd;

	p = run_fmt(PL_STREAM, s, strlen(s), 0, &end, &held, NULL);
	q = run_spool(s, strlen(s), 7, 1, 1, &v, NULL, &fd);
	payload_judge(q, &end, &v);
	same_verdict(&held, &v, 0);
	ck_assert_str_eq(held.detail, v.detail);
	t = payload_result_text(p, &len);
	w = written(q, &n, &nl);
	ck_assert_uint_eq(n, t != NULL ? len : 0);
	ck_assert(n == 0 || memcmp(w, t, n) == 0);
	free(w);
	payload_free(p);
	payload_free(q);
	close(fd);
	free(s);
}
END_TEST

START_TEST(spool_short)
{
	static const char s[] = INIT SUCCESS("fin", "1") "\n";
	struct payload *p = payload_new(PL_STREAM, NULL, NULL);
	int fd = spool_open();

	/* A spool that lacks what was fed is an error, not a verdict. */
	ck_assert_ptr_nonnull(p);
	ck_assert_int_ne(fd, -1);
	payload_set_spool(p, fd);
	payload_set_limits(p, 16, 0);
	ck_assert_int_eq(payload_feed(p, s, strlen(s)), -1);
	ck_assert_int_eq(errno, EIO);
	payload_free(p);
	close(fd);
}
END_TEST

static Suite *
payload_suite(void)
{
	Suite *s = suite_create("payload");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, table_stream, 0, NROWS);
	tcase_add_loop_test(tc, table_json, 0, NROWS);
	tcase_add_loop_test(tc, table_json_verbose, 0, NROWS);
	tcase_add_loop_test(tc, table_text, 0, NROWS);
	tcase_add_test(tc, table_text_exit0_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, chunks_every_split);
	tcase_add_test(tc, cut_heads_alike);
	tcase_add_test(tc, chunks_other_formats);
	tcase_add_test(tc, result_then_garbage);
	tcase_add_test(tc, no_result);
	tcase_add_test(tc, unparseable_only);
	tcase_add_test(tc, result_then_hang);
	tcase_add_test(tc, result_offsets);
	tcase_add_test(tc, long_lines_and_streams);
	tcase_add_test(tc, judge_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("result");
	tcase_add_test(tc, is_error_exit0);
	tcase_add_test(tc, max_turns_older_cli);
	tcase_add_test(tc, nonzero_exit_with_success);
	tcase_add_test(tc, result_missing_or_odd);
	tcase_add_test(tc, empty_and_white_space);
	tcase_add_test(tc, text_long);
	tcase_add_test(tc, verbose_array);
	tcase_add_test(tc, non_ascii);
	tcase_add_test(tc, error_text_classes);
	tcase_add_test(tc, answer_mentions_errors);
	tcase_add_test(tc, usage_limit_forms);
	tcase_add_test(tc, usage_limit_epoch);
	tcase_add_test(tc, usage_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("hooks");
	tcase_add_test(tc, hook_init_retry_fallback);
	tcase_add_test(tc, hook_long_names);
	tcase_add_test(tc, escape_past_the_first_32_bytes);
	tcase_add_test(tc, hook_tool_use);
	tcase_add_test(tc, hook_tool_use_type_as_cjson_reads_it);
	tcase_add_test(tc, hook_msg_id);
	tcase_add_test(tc, hook_rate_limit);
	tcase_add_test(tc, rate_limit_event_judging);
	suite_add_tcase(s, tc);

	tc = tcase_create("spool");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, spool_big_result, 0,
	    (int)(sizeof(big_sizes) / sizeof(big_sizes[0])));
	tcase_add_test(tc, spool_big_blank_and_errors);
	tcase_add_test(tc, spool_big_assistant);
	tcase_add_test(tc, spool_big_not_json);
	tcase_add_loop_test(tc, spool_table, 0, NROWS);
	tcase_add_test(tc, spool_short);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(payload_suite)
