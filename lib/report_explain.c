/*
 * --explain RUN (report_explain.h). The run's records come from one pass
 * over the ledger; its transcript, read line by line (a line too long to
 * hold is read again by jscan), tells attempts, API responses, tools and
 * where it stopped; question 5 asks the ledger again (report_which.c)
 * who wrote what the output file holds now.
 */
#include "report_explain.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "hash.h"
#include "io.h"
#include "jscan.h"
#include "ledger.h"
#include "report_rec.h"
#include "report_scan.h"
#include "report_which.h"

#define TX_MAX_ATT	64
#define TX_MAX_TOOLS	32

/*
 * The members of a transcript line ({"attempt","ts","event"}, the event
 * as the CLI wrote it) that a line too long to hold is reduced to.
 */
static const struct shape sh_leaf = { SH_LEAF, NULL, NULL, 0 };
static const struct field msg_fields[] = {
	{ "id", &sh_leaf },
	{ NULL, NULL },
};
static const struct shape sh_msg = { SH_OBJ, NULL, msg_fields, 0 };
static const struct field event_fields[] = {
	{ "type", &sh_leaf },
	{ "subtype", &sh_leaf },
	{ "message", &sh_msg },
	{ NULL, NULL },
};
static const struct shape sh_event = { SH_OBJ, NULL, event_fields, 0 };
static const struct field tx_fields[] = {
	{ "attempt", &sh_leaf },
	{ "ts", &sh_leaf },
	{ "event", &sh_event },
	{ NULL, NULL },
};
static const struct shape sh_tx = { SH_OBJ, NULL, tx_fields, 0 };

struct tx_att {
	int64_t	n;
	int64_t	events;
	int64_t	messages;	/* distinct assistant messages: API responses */
	int64_t	retries;	/* the CLI's own api_retry events */
	bool	result;
	char	result_sub[32];
};

/* What a transcript shows, read line by line. */
struct tx {
	bool		 read;		/* a transcript was named and opened */
	int		 err;		/* errno when it could not be */
	char		 path[PATH_MAX];
	struct tx_att	 att[TX_MAX_ATT];
	int		 natt;
	int64_t		 from_ms;	/* the run's window, TIME_NONE: open */
	int64_t		 to_ms;
	int64_t		 events;
	int64_t		 others;	/* events of other runs, skipped */
	int64_t		 unreadable;
	cJSON		*tools;		/* unique tool names */
	char		 last_type[64];
	int64_t		 last_att;
	char		 last_ts[CLOCK_ISO_LEN];
	char		 last_msg[128];
};

struct explain {
	const char	*prefix;
	size_t		 plen;
	char		 ids[8][64];	/* distinct matching run ids */
	int		 nids;
	int64_t		 low_output;	/* --low-output-tokens */
	cJSON		*start;
	cJSON		*done;
};

static void
explain_visit(void *ctx, const cJSON *rec)
{
	struct explain *x = ctx;
	const char *id = rec_str(rec, "run");
	int i;

	if (id == NULL || strncmp(id, x->prefix, x->plen) != 0)
		return;
	for (i = 0; i < x->nids && strcmp(x->ids[i], id) != 0; i++)
		;
	if (i == x->nids && x->nids < 8)
		strlcpy(x->ids[x->nids++], id, sizeof(x->ids[0]));
	if (i != 0)
		return;
	/* The first record wins: a duplicated line changes nothing. */
	if (rec_is(rec, "start") && x->start == NULL)
		x->start = cJSON_Duplicate(rec, true);
	else if (rec_is(rec, "done") && x->done == NULL)
		x->done = cJSON_Duplicate(rec, true);
}

static struct tx_att *
tx_attempt(struct tx *tx, int64_t n)
{
	for (int i = 0; i < tx->natt; i++)
		if (tx->att[i].n == n)
			return &tx->att[i];
	if (tx->natt == TX_MAX_ATT)
		return &tx->att[TX_MAX_ATT - 1];	/* lumped together */
	tx->att[tx->natt].n = n;
	return &tx->att[tx->natt++];
}

static void
tx_tool(struct tx *tx, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, tx->tools)
		if (strcmp(it->valuestring, name) == 0)
			return;
	if (cJSON_GetArraySize(tx->tools) < TX_MAX_TOOLS)
		cJSON_AddItemToArray(tx->tools, cJSON_CreateString(name));
}

/* An assistant message: a new API response, and the tools it called. */
static void
tx_assistant(struct tx *tx, struct tx_att *a, const cJSON *ev)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
	const char *id = rec_str(msg, "id");
	const cJSON *c;

	/* The CLI sends each content block as its own event, same id. */
	if (id == NULL || strcmp(id, tx->last_msg) != 0)
		a->messages++;
	strlcpy(tx->last_msg, id != NULL ? id : "", sizeof(tx->last_msg));
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(msg, "content")) {
		const char *type = rec_str(c, "type"), *name = rec_str(c, "name");
		if (type != NULL && strcmp(type, "tool_use") == 0 &&
		    name != NULL)
			tx_tool(tx, name);
	}
}

static void
tx_event(struct tx *tx, int64_t attempt, const char *ts, const cJSON *ev)
{
	struct tx_att *a = tx_attempt(tx, attempt);
	const char *type = rec_str(ev, "type"), *sub = rec_str(ev, "subtype");

	tx->events++;
	a->events++;
	snprintf(tx->last_type, sizeof(tx->last_type), "%s%s%s",
	    type != NULL ? type : "?", sub != NULL ? "/" : "",
	    sub != NULL ? sub : "");
	tx->last_att = attempt;
	strlcpy(tx->last_ts, ts != NULL ? ts : "", sizeof(tx->last_ts));
	if (type == NULL)
		return;
	if (strcmp(type, "result") == 0) {
		a->result = true;
		strlcpy(a->result_sub, sub != NULL ? sub : "?",
		    sizeof(a->result_sub));
	} else if (strcmp(type, "assistant") == 0)
		tx_assistant(tx, a, ev);
	else if (strcmp(type, "system") == 0 && sub != NULL &&
	    strcmp(sub, "api_retry") == 0)
		a->retries++;
}

/*
 * A transcript path reused across runs collects them all, and its lines
 * carry no run id: an event stamped outside the run's start and done
 * belongs to another run.
 */
static bool
tx_other_run(const struct tx *tx, const cJSON *r)
{
	int64_t t = rec_time(r);

	if (t == TIME_NONE)
		return false;
	return (tx->from_ms != TIME_NONE && t < tx->from_ms) ||
	    (tx->to_ms != TIME_NONE && t > tx->to_ms);
}

/* A transcript line as a record: its event, unless another run's. */
static void
tx_record(struct tx *tx, const cJSON *r)
{
	if (tx_other_run(tx, r))
		tx->others++;
	else
		tx_event(tx, rec_int(r, "attempt", 0), rec_str(r, "ts"),
		    cJSON_GetObjectItemCaseSensitive(r, "event"));
}

static void
tx_line(struct tx *tx, const char *line)
{
	cJSON *r;
	bool bad;

	if ((r = rscan_json(line, &bad)) == NULL) {
		tx->unreadable += bad;
		return;
	}
	tx_record(tx, r);
	cJSON_Delete(r);
}

/*
 * A line too long to hold (a huge result) is read again from the file,
 * bytes from to to: jscan, the one reader of stream-json lines, reduces
 * it to the members tx_record reads with bounded memory, and cJSON reads
 * that as any other line.
 */
static void
tx_long(struct tx *tx, struct jscan *js, off_t from, off_t to)
{
	struct js_line jl;
	cJSON *r = NULL;
	bool bad;

	if (js != NULL && from >= 0 && to > from && jscan_line(js, &sh_tx,
	    NULL, from, (size_t)(to - from), JS_STR_HOLD, &jl) == JS_OK)
		r = rscan_json(jl.json, &bad);
	if (r == NULL) {
		tx->unreadable++;
		return;
	}
	tx_record(tx, r);
	cJSON_Delete(r);
}

/* The transcript the record names (a directory holds RUN.jsonl). */
static void
tx_read(struct tx *tx, const char *path, const char *run)
{
	struct ledger_lines *lr;
	struct jscan *js;
	struct stat st;
	const char *line;
	off_t at = 0, next;
	size_t len;
	bool cut;
	FILE *f;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(tx->path, sizeof(tx->path), "%s/%s.jsonl", path, run);
	else
		strlcpy(tx->path, path, sizeof(tx->path));
	if ((f = io_fopen_read(tx->path)) == NULL) {
		tx->err = errno;
		return;
	}
	tx->read = true;
	tx->tools = cJSON_CreateArray();
	if ((lr = ledger_lines_new(f, RSCAN_LINE_MAX)) == NULL)
		tx->err = errno;
	js = jscan_new(fileno(f));
	/* Lines are read with getc: ftello is where the next one begins. */
	while (lr != NULL && (line = ledger_lines_next(lr, &len, &cut)) !=
	    NULL) {
		next = ftello(f);
		if (cut)
			tx_long(tx, js, at, next);
		else
			tx_line(tx, line);
		at = next;
	}
	if (ferror(f))
		tx->err = errno;
	jscan_free(js);
	ledger_lines_free(lr);
	fclose(f);
}

static const char *
qtext(int n)
{
	static const char *const q[5] = {
		"1. did the call happen?",
		"2. did it return content?",
		"3. did it reach the caller?",
		"4. did it write what it parsed?",
		"5. did downstream get it?",
	};

	return q[n - 1];
}

static void
q_begin(FILE *out, int n, const char *answer)
{
	fprintf(out, "%-33s %s", qtext(n), answer);
}

static void
tx_attempts(FILE *out, const struct tx *tx)
{
	if (!tx->read) {
		if (tx->err != 0)
			fprintf(out, "; transcript %s: %s", tx->path,
			    io_strerror(tx->err));
		return;
	}
	fprintf(out, "; transcript:");
	for (int i = 0; i < tx->natt; i++)
		fprintf(out, "%s attempt %" PRId64 " %" PRId64 " events, %"
		    PRId64 " API responses%s", i > 0 ? "," : "", tx->att[i].n,
		    tx->att[i].events, tx->att[i].messages,
		    tx->att[i].retries > 0 ? " (with CLI retries)" : "");
	if (tx->natt == 0)
		fprintf(out, " no events");
	if (tx->others > 0)
		fprintf(out, " (other runs' events skipped: %" PRId64 ")",
		    tx->others);
}

static void
q_call(FILE *out, const struct explain *x, const struct tx *tx)
{
	int64_t attempts = rec_int(x->done, "attempts", -1);
	int64_t requests = rec_int(x->done, "requests",
	    rec_int(x->start, "requests", -1));
	char ts[CLOCK_ISO_LEN];

	if (x->done != NULL && attempts == 0)
		q_begin(out, 1, "no — no attempt was made");
	else if (requests == 0)
		q_begin(out, 1, "no — no request reached the API");
	else
		q_begin(out, 1, "yes —");
	if (x->start != NULL) {
		rec_iso(rec_time(x->start), ts);
		fprintf(out, " start record at %s", ts);
	} else
		fprintf(out, " no start record");
	if (attempts >= 0)
		fprintf(out, "; %" PRId64 " attempt%s", attempts,
		    attempts == 1 ? "" : "s");
	else
		fprintf(out, "; attempts unknown (no done record)");
	if (requests >= 0)
		fprintf(out, "; %" PRId64 " API request%s", requests,
		    requests == 1 ? "" : "s");
	tx_attempts(out, tx);
	fputc('\n', out);
}

static void
tx_tools(FILE *out, const cJSON *done, const struct tx *tx)
{
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(done,
	    "tools_called"), *it;
	int n = 0;

	/* Older records name the list "tools". */
	if (!cJSON_IsArray(tools))
		tools = cJSON_GetObjectItemCaseSensitive(done, "tools");
	if (!cJSON_IsArray(tools))
		tools = tx->tools;
	if (cJSON_GetArraySize(tools) == 0)
		return;
	fprintf(out, "; tools called:");
	cJSON_ArrayForEach(it, tools)
		if (cJSON_IsString(it))
			fprintf(out, "%s %s", n++ > 0 ? "," : "",
			    it->valuestring);
}

static void
tx_results(FILE *out, const struct tx *tx)
{
	int n = 0;

	if (!tx->read)
		return;
	for (int i = 0; i < tx->natt; i++)
		if (tx->att[i].result)
			fprintf(out, "%s attempt %" PRId64 " (%s)", n++ == 0 ?
			    "; result event in" : ",", tx->att[i].n,
			    tx->att[i].result_sub);
	if (n == 0)
		fprintf(out, "; no result event in the transcript");
}

static bool
tx_has_result(const struct tx *tx)
{
	for (int i = 0; i < tx->natt; i++)
		if (tx->att[i].result)
			return true;
	return false;
}

static void
q_content(FILE *out, const struct explain *x, const struct tx *tx)
{
	int64_t n = rec_int(x->done, "output_tokens", -1);
	char buf[128];

	if (n > 0 && n < x->low_output)
		snprintf(buf, sizeof(buf), "low — only %" PRId64 " output token%s"
		    " (under %" PRId64 ": the low-output warning)", n,
		    n == 1 ? "" : "s", x->low_output);
	else if (n > 0)
		snprintf(buf, sizeof(buf), "yes — %" PRId64 " output tokens",
		    n);
	else if (n == 0)
		snprintf(buf, sizeof(buf), "no — 0 output tokens");
	else if (tx->read && !tx_has_result(tx))
		snprintf(buf, sizeof(buf), "no — no output_tokens recorded");
	else
		snprintf(buf, sizeof(buf), "unknown — no output_tokens "
		    "recorded");
	q_begin(out, 2, buf);
	if (rec_str(x->done, "model") != NULL)
		fprintf(out, " from %s", rec_str(x->done, "model"));
	tx_tools(out, x->done, tx);
	tx_results(out, tx);
	fputc('\n', out);
}

/* Where the transcript stops: the last event seen. */
static void
tx_stop(FILE *out, const struct tx *tx)
{
	if (!tx->read || tx->events == 0)
		return;
	fprintf(out, "; the transcript's last event: %s (attempt %" PRId64
	    "%s%s)", tx->last_type, tx->last_att,
	    tx->last_ts[0] != '\0' ? ", " : "", tx->last_ts);
}

static void
q_lost(FILE *out, const struct explain *x, const struct tx *tx)
{
	char ts[CLOCK_ISO_LEN];
	bool running = rec_still_running(rec_str(x->start, "host"),
	    rec_int(x->start, "pid", -1), rec_time(x->start));

	q_begin(out, 3, running ? "not yet — the run is still running: " :
	    "no — the run never finished (lost): last known: ");
	rec_iso(rec_time(x->start), ts);
	fprintf(out, "start at %s, pid %" PRId64 " on %s", ts,
	    rec_int(x->start, "pid", -1), rec_str(x->start, "host") ?
	    rec_str(x->start, "host") : "?");
	tx_stop(out, tx);
	fputc('\n', out);
}

static void
q_caller(FILE *out, const struct explain *x, const struct tx *tx)
{
	const cJSON *d = x->done, *miss, *it;
	const char *st = rec_str(d, "status");
	int n = 0;

	if (d == NULL) {
		q_lost(out, x, tx);
		return;
	}
	q_begin(out, 3, st != NULL && strcmp(st, "ok") == 0 ? "yes —" : "no —");
	fprintf(out, " done record: status %s, exit %" PRId64 ", after %.1f s",
	    st != NULL ? st : "?", rec_int(d, "exit", -1),
	    (double)rec_int(d, "duration_ms", 0) / 1000);
	if (rec_str(d, "detail") != NULL && rec_str(d, "detail")[0] != '\0')
		fprintf(out, ": %s", rec_str(d, "detail"));
	miss = cJSON_GetObjectItemCaseSensitive(d, "expect_missing");
	cJSON_ArrayForEach(it, miss)
		if (cJSON_IsString(it))
			/* cppcheck 2.10 takes cJSON_ArrayForEach to run once. */
			/* cppcheck-suppress knownConditionTrueFalse */
			fprintf(out, "%s %s", n++ == 0 ?
			    "; expected tools never called:" : ",",
			    it->valuestring);
	if (rec_str(d, "reset_at") != NULL)
		fprintf(out, "; the rate limit resets at %s",
		    rec_str(d, "reset_at"));
	if (rec_int(d, "signal", 0) > 0)
		fprintf(out, "; ended by signal %" PRId64,
		    rec_int(d, "signal", 0));
	if (st == NULL || strcmp(st, "ok") != 0)
		tx_stop(out, tx);
	fputc('\n', out);
}

/* The file named by an output record, as it is now. */
struct ondisk {
	int	 err;		/* errno of hashing it, or 0 */
	char	 sha[HASH_HEX_LEN];
	uint64_t size;
	bool	 same;		/* it still holds the recorded bytes */
};

static void
ondisk_read(const cJSON *o, struct ondisk *d)
{
	const char *path = rec_str(o, "path"), *sha = rec_str(o, "sha256");

	memset(d, 0, sizeof(*d));
	if (path == NULL || hash_file(path, d->sha, &d->size) == -1) {
		d->err = path == NULL ? ENOENT : errno;
		return;
	}
	d->same = sha != NULL && strcasecmp(sha, d->sha) == 0;
}

static void
q_wrote(FILE *out, const struct explain *x, const struct ondisk *d)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(x->done, "output");
	const char *st = rec_str(x->done, "status");

	if (x->done == NULL) {
		q_begin(out, 4, "no — the run never finished: it wrote "
		    "nothing it could vouch for\n");
		return;
	}
	if (o == NULL) {
		if (st != NULL && strcmp(st, "ok") == 0)
			q_begin(out, 4, "n/a — no --output file: the payload "
			    "went to stdout\n");
		else
			q_begin(out, 4, "no — nothing written: claudewrap "
			    "writes only a validated payload\n");
		return;
	}
	q_begin(out, 4, "yes —");
	fprintf(out, " %s, %" PRId64 " bytes, sha256 %.12s... recorded after "
	    "the atomic rename", rec_str(o, "path") ? rec_str(o, "path") : "?",
	    rec_int(o, "size", -1), rec_str(o, "sha256") ?
	    rec_str(o, "sha256") : "?");
	if (d->err != 0)
		fprintf(out, "; on disk now: %s", io_strerror(d->err));
	/* The run's directory is not recorded: only ours can resolve it. */
	if (rec_str(o, "path") != NULL && rec_str(o, "path")[0] != '/')
		fprintf(out, " (a relative path, read from the current "
		    "directory)");
	else
		fprintf(out, "; on disk now: %s", d->same ? "that sha256" :
		    "different bytes (see 5)");
	fputc('\n', out);
}

/* Who wrote what the file holds now, from a second pass over the ledger. */
static void
q_whose(FILE *out, FILE *ledger, const char *path, const struct ondisk *d)
{
	char real[PATH_MAX], ts[CLOCK_ISO_LEN];
	cJSON *r;

	rewind(ledger);
	if (realpath(path, real) == NULL ||
	    rwhich_writer(ledger, d->sha, real, &r) == -1) {
		fprintf(out, "; no ledger lookup: %s", strerror(errno));
		return;
	}
	if (r == NULL)
		fprintf(out, "; no run in the ledger wrote those bytes: changed "
		    "since by something else");
	else {
		rec_iso(rec_time(r), ts);
		fprintf(out, "; those bytes were written by run %s at %s",
		    rec_str(r, "run") ? rec_str(r, "run") : "?", ts);
	}
	cJSON_Delete(r);
}

static void
q_downstream(FILE *out, FILE *ledger, const struct explain *x,
    const struct ondisk *d)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(x->done, "output");
	const char *st = rec_str(x->done, "status"), *path = rec_str(o, "path");

	if (o == NULL) {
		if (st != NULL && strcmp(st, "ok") == 0)
			q_begin(out, 5, "unknown — delivered on stdout; "
			    "claudewrap cannot see who read it\n");
		else
			q_begin(out, 5, "no — nothing was delivered\n");
		return;
	}
	if (d->err != 0) {
		q_begin(out, 5, "no —");
		fprintf(out, " %s: %s\n", path != NULL ? path : "?",
		    io_strerror(d->err));
		return;
	}
	if (d->same) {
		q_begin(out, 5, "yes —");
		fprintf(out, " %s still holds the bytes this run wrote "
		    "(sha256 %.12s...)\n", path, d->sha);
		return;
	}
	q_begin(out, 5, "no —");
	fprintf(out, " %s now has sha256 %.12s..., %" PRIu64 " bytes, not "
	    "what this run wrote", path, d->sha, d->size);
	q_whose(out, ledger, path, d);
	fputc('\n', out);
}

static void
explain_head(FILE *out, const struct explain *x)
{
	const cJSON *r = x->start != NULL ? x->start : x->done;
	char ts[CLOCK_ISO_LEN];

	rec_iso(rec_time(r), ts);
	fprintf(out, "run %s  tag %s  %s %s  host %s  pid %" PRId64
	    "  prompt %s (%" PRId64 " bytes)\n", x->ids[0],
	    rec_str(r, "tag") ? rec_str(r, "tag") : "-",
	    x->start != NULL ? "started" : "finished", ts,
	    rec_str(r, "host") ? rec_str(r, "host") : "?",
	    rec_int(r, "pid", -1),
	    rec_str(r, "prompt_sha") ? rec_str(r, "prompt_sha") : "?",
	    rec_int(r, "prompt_bytes", 0));
}

static void
explain_print(FILE *out, FILE *ledger, const struct explain *x)
{
	const char *txp = rec_str(x->done, "transcript");
	struct tx tx = { 0 };
	struct ondisk d;

	if (txp == NULL)
		txp = rec_str(x->start, "transcript");
	tx.from_ms = x->start != NULL ? rec_time(x->start) : TIME_NONE;
	tx.to_ms = x->done != NULL ? rec_time(x->done) : TIME_NONE;
	if (txp != NULL)
		tx_read(&tx, txp, x->ids[0]);
	ondisk_read(cJSON_GetObjectItemCaseSensitive(x->done, "output"), &d);
	explain_head(out, x);
	q_call(out, x, &tx);
	q_content(out, x, &tx);
	q_caller(out, x, &tx);
	q_wrote(out, x, &d);
	q_downstream(out, ledger, x, &d);
	cJSON_Delete(tx.tools);
}

int
rexplain(const struct ropts *o, FILE *f, struct rio *io)
{
	struct explain x = { .prefix = o->explain, .plen = strlen(o->explain),
	    .low_output = o->low_output };
	struct rscan_stats ss = { 0 };
	int rc = EXIT_FAILURE;

	if (rscan(f, false, explain_visit, &x, &ss) == -1)
		rsay(io->err, "%s: %s", o->ledger, strerror(errno));
	else if (x.nids == 0)
		rsay(io->err, "no run %s in %s", o->explain, o->ledger);
	else if (x.nids > 1) {
		rsay(io->err, "run %s is ambiguous; it begins:", o->explain);
		for (int i = 0; i < x.nids; i++)
			fprintf(io->err, "  %s\n", x.ids[i]);
	} else {
		explain_print(io->out, f, &x);
		rc = EXIT_SUCCESS;
	}
	cJSON_Delete(x.start);
	cJSON_Delete(x.done);
	return rc;
}
