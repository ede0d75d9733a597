/*
 * Judge: the verdict on an attempt, from the facts payload.c gathered
 * while reading stdout (struct pl_facts, judge.h) and from how the
 * process ended; it never sees the bytes themselves. The order of
 * judgement is judge_facts's and classify's (clierror.c), first match
 * wins. A detail quotes only the CLI's own words, never the model's
 * answer. No I/O: the clock is read only to place a reset time the CLI
 * gave in prose (retry.c).
 */
#include "judge.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clierror.h"
#include "jget.h"
#include "lines.h"
#include "retry.h"

/* Bytes of the CLI's own error message quoted in a verdict's detail. */
#define QUOTE_BYTES	120

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

/* The exact text the CLI substitutes for an answer with no text at all. */
static bool
is_placeholder(const struct pl_facts *f, const char *s, size_t n)
{
	return f->placeholder != NULL && s != NULL &&
	    strlen(f->placeholder) == n && memcmp(f->placeholder, s, n) == 0;
}

static void
set_reset(const struct pl_facts *f, struct verdict *v, const char *text,
    size_t n)
{
	if (v->oc != OC_RATE_LIMIT)
		return;
	time_t when;

	if (f->limit_rejected && f->limit_reset != 0)
		v->reset_at = f->limit_reset;
	else if (text != NULL && retry_parse_reset(text, n > SCAN_BYTES ?
	    SCAN_BYTES : n, time(NULL), &when) == 0)
		/* Every form the CLI prints, read by retry.c alone. */
		v->reset_at = when;
}

/*
 * The CLI's own error printed as text (cli_error_form): classified by
 * its words, which the detail quotes after what.
 */
static void
judge_cli_text(const struct pl_facts *f, struct verdict *v, const char *s,
    size_t n, const char *what)
{
	struct errsig e;

	memset(&e, 0, sizeof(e));
	e.text = s;
	e.len = n;
	e.status = text_status(s, n);
	v->oc = classify(&e);
	detail_add(v, "%s", what);
	detail_quote(v, s, n);
	set_reset(f, v, s, n);
}

static void
judge_text(const struct pl_facts *f, const struct pl_end *end,
    struct verdict *v)
{
	if (end->timed_out) {
		v->oc = OC_TIMEOUT;
		detail_add(v, "timed out");
	} else if (cli_error_form(f->head, f->head_len)) {
		/* The CLI's error on stdout is never an answer. */
		if (!end->exited)
			detail_add(v, "signal=%d", end->term_sig);
		else if (end->exit_code != 0)
			detail_add(v, "exit=%d", end->exit_code);
		judge_cli_text(f, v, f->head, f->head_len, "cli error text");
	} else if (!end->exited) {
		v->oc = OC_ERROR;
		detail_add(v, "signal=%d", end->term_sig);
	} else if (end->exit_code != 0) {
		v->oc = OC_ERROR;
		detail_add(v, "exit=%d", end->exit_code);
	} else if (f->off == 0) {
		v->oc = OC_EMPTY;
		detail_add(v, "no output");
	} else if (f->all_space) {
		v->oc = OC_EMPTY;
		detail_add(v, "white space only (%lld bytes)",
		    (long long)f->off);
	} else if ((size_t)f->off == f->head_len && f->head_len > 0 &&
	    f->head[f->head_len - 1] == '\n' &&
	    is_placeholder(f, f->head, f->head_len - 1)) {
		/* Text mode prints the placeholder plus its newline. */
		v->oc = OC_EMPTY;
		detail_add(v, "placeholder result");
		detail_quote(v, f->head, f->head_len - 1);
	} else
		v->oc = OC_OK;
}

static void
judge_no_result(const struct pl_facts *f, const struct pl_end *end,
    struct verdict *v)
{
	if (end->timed_out) {
		v->oc = OC_TIMEOUT;
		detail_add(v, "timed out, no result event");
	} else if (f->limit_rejected) {
		v->oc = OC_RATE_LIMIT;
		v->reset_at = f->limit_reset;
		detail_add(v, "rate_limit_event=rejected, no result event");
	} else if (cli_error_form(f->bad_head, f->bad_head_len)) {
		/* An error printed as text where JSON was expected. */
		judge_cli_text(f, v, f->bad_head, f->bad_head_len,
		    "no result event, cli error text");
	} else if (!end->exited) {
		v->oc = OC_ERROR;
		detail_add(v, "signal=%d, no result event", end->term_sig);
	} else if (end->exit_code != 0) {
		v->oc = OC_ERROR;
		detail_add(v, "exit=%d, no result event", end->exit_code);
	} else {
		v->oc = OC_BAD_PAYLOAD;
		if (f->malformed != NULL)
			detail_add(v, "%s", f->malformed);
		else if (f->nparsed == 0 && f->nbad > 0)
			detail_add(v, "unparseable output, no result event");
		else if (f->nparsed == 0)
			detail_add(v, "no output, no result event");
		else
			detail_add(v, "no result event");
		if (f->bad_why != NULL)
			detail_add(v, "(a line was not read: %s)", f->bad_why);
		if (f->skipped_long)
			detail_add(v, "(a line over %zu MiB was skipped)",
			    LINES_MAX_BYTES >> 20);
		if (f->skipped_odd)
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
judge_error(const struct pl_facts *f, const struct pl_end *end,
    struct verdict *v, bool is_error, bool sub_bad, bool cli_form)
{
	const cJSON *r = f->result;
	const char *sub = jget_str(r, "subtype");
	const char *text = jget_str(r, "result");
	const char *tr = jget_str(r, "terminal_reason");
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
	if (jget_num_i64(st, &status) && status >= 100 && status <= 599)
		e.status = (int)status;
	else
		e.status = text_status(e.text, e.len);
	e.rejected = f->limit_rejected;
	e.kind = f->asst_error[0] != '\0' ? f->asst_error : NULL;
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
	if (f->limit_rejected)
		detail_add(v, "rate_limit_event=rejected");
	if (cli_form && !is_error)
		detail_add(v, "cli error text");
	detail_quote(v, e.text, e.len);
	set_reset(f, v, e.text, e.len);
}

static void
judge_result(const struct pl_facts *f, const struct pl_end *end,
    struct verdict *v)
{
	const cJSON *r = f->result;
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(r, "subtype");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
	bool is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r,
	    "is_error"));
	bool sub_bad = sub != NULL && !cJSON_IsNull(sub) &&
	    !jget_str_is(r, "subtype", "success");
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
	bool empty = f->big.set ? f->big.empty : n == 0;
	bool blank = f->big.set ? f->big.blank : jget_all_space(text, n);

	v->have_result = true;
	if (is_error || sub_bad || exit_bad || cli_form)
		judge_error(f, end, v, is_error, sub_bad, cli_form);
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
	} else if (!f->big.set && is_placeholder(f, text, n)) {
		v->oc = OC_EMPTY;
		detail_add(v, "placeholder result");
		detail_quote(v, text, n);
	} else
		v->oc = OC_OK;
}

static void
fill_usage(const struct pl_facts *f, struct verdict *v)
{
	struct pl_usage *u = &v->usage;
	const cJSON *r = f->result, *us, *mu, *m;
	const char *best = NULL, *s;
	double best_out = -1;

	strlcpy(u->model, f->model, sizeof(u->model));
	strlcpy(u->session, f->session, sizeof(u->session));
	if (r == NULL)
		return;
	if ((s = jget_str(r, "session_id")) != NULL)
		strlcpy(u->session, s, sizeof(u->session));
	us = cJSON_GetObjectItemCaseSensitive(r, "usage");
	if (cJSON_IsObject(us)) {
		u->have = true;
		u->input_tokens = jget_i64(us, "input_tokens");
		u->output_tokens = jget_i64(us, "output_tokens");
		u->cache_read = jget_i64(us, "cache_read_input_tokens");
		u->cache_creation = jget_i64(us, "cache_creation_input_tokens");
	}
	u->num_turns = jget_i64(r, "num_turns");
	u->cost_usd = jget_double(r, "total_cost_usd");
	/* The model that wrote most; after a fallback the only one. */
	mu = cJSON_GetObjectItemCaseSensitive(r, "modelUsage");
	if (!cJSON_IsObject(mu))
		mu = NULL;
	cJSON_ArrayForEach(m, mu) {
		double out = jget_double(m, "outputTokens");

		if (m->string != NULL && out > best_out) {
			best = m->string;
			best_out = out;
		}
	}
	if (best != NULL)
		strlcpy(u->model, best, sizeof(u->model));
}

void
judge_facts(const struct pl_facts *f, const struct pl_end *end,
    struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (f->fmt == PL_TEXT) {
		judge_text(f, end, v);
		return;
	}
	if (f->result != NULL)
		judge_result(f, end, v);
	else if (f->malformed != NULL && !end->timed_out) {
		v->oc = OC_BAD_PAYLOAD;
		detail_add(v, "%s", f->malformed);
	} else
		judge_no_result(f, end, v);
	if (f->fmt == PL_STREAM && f->result != NULL) {
		v->result_off = f->result_off;
		v->result_len = f->result_len;
	}
	fill_usage(f, v);
}
