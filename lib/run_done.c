/*
 * The done line: exactly one per process, and the outcome fields the
 * done record shares with it. run_done_basics opens every done line,
 * the early ones of run_direct.c included.
 */
#include "clock.h"
#include "run_int.h"
#include "transcript.h"

/*
 * The fields every done line opens with, and the done record too: one
 * builder, so that a run's, a usage error's and a failed exec's agree.
 */
void
run_done_basics(cJSON *obj, enum status st, int exit_code, int attempts,
    int64_t duration_ms)
{
	log_str(obj, "status", status_word(st));
	log_int(obj, "exit", exit_code);
	cJSON_AddBoolToObject(obj, "transient", status_transient(st));
	log_int(obj, "attempts", attempts);
	log_int(obj, "duration_ms", duration_ms);
}

static void
log_usage_fields(cJSON *ev, const struct pl_usage *u)
{
	if (u->model[0] != '\0')
		log_str(ev, "model", u->model);
	if (u->session[0] != '\0')
		log_str(ev, "session", u->session);
	if (!u->have)
		return;
	log_int(ev, "input_tokens", u->input_tokens);
	log_int(ev, "output_tokens", u->output_tokens);
	log_int(ev, "cache_read", u->cache_read);
	log_int(ev, "cache_creation", u->cache_creation);
	cJSON_AddNumberToObject(ev, "cost_usd", u->cost_usd);
	log_int(ev, "num_turns", u->num_turns);
}

/* The transcript file of this run, or NULL. */
const char *
run_transcript_name(const struct run *r)
{
	if (r->tr != NULL)
		return transcript_path(r->tr);
	return r->tr_path[0] != '\0' ? r->tr_path : NULL;
}

static void
add_names(cJSON *obj, const char *key, char *const *names, int n)
{
	cJSON *arr;

	if (n == 0 || (arr = cJSON_AddArrayToObject(obj, key)) == NULL)
		return;
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
}

/*
 * The exit status: the table's, but --lock-exit-code for a busy lock
 * (a lock service that cannot be reached stays 75: a Redis outage must
 * not pass for a skip that was meant).
 */
int
run_exit(const struct run *r)
{
	if (r->st == ST_LOCKED && !r->state.lock_unreachable)
		return (int)r->o->lock_exit_code;
	return status_exit(r->st, r->sig);
}

/* What the done line and the done record share, beyond the basics. */
void
run_add_outcome(struct run *r, cJSON *obj)
{
	char iso[CLOCK_ISO_LEN];
	cJSON *out;

	run_done_basics(obj, r->st, run_exit(r), r->attempts,
	    clock_mono_ms() - r->t0);
	if (r->have_res)
		log_usage_fields(obj, &r->res.v.usage);
	if (r->cli_retries > 0)
		log_int(obj, "cli_retries", r->cli_retries);
	if (r->attempts > 0) {
		log_int(obj, "peak_rss_kb", r->use.peak_rss_kb);
		log_int(obj, "cpu_ms", (r->use.cpu_us + 500) / 1000);
		log_int(obj, "reaped", r->use.reaped);
	}
	if (r->reset_at != 0) {
		clock_iso((int64_t)r->reset_at * 1000, iso);
		log_str(obj, "reset_at", iso);
	}
	if (r->sig != 0)
		log_int(obj, "signal", r->sig);
	if (r->out.wrote && (out = cJSON_AddObjectToObject(obj,
	    "output")) != NULL) {
		log_str(out, "path", r->out.path);
		log_int(out, "size", (int64_t)r->out.info.size);
		log_str(out, "sha256", r->out.info.sha256);
	}
	add_names(obj, "tools_called", r->exp.tools, r->exp.ntools);
	add_names(obj, "expect_missing", (char *const *)r->exp.missing,
	    r->exp.nmissing);
	/*
	 * Each API response, and each retry the CLI made on its own; a CLI
	 * that retries without saying so (cliversion.h) makes it a floor.
	 */
	if (r->requests > 0)
		log_int(obj, r->cv.ignores_max_retries ? "requests_min" :
		    "requests", r->requests + r->cli_retries);
	run_txn_fields(r, obj);
	if (r->detail[0] != '\0')
		log_str(obj, "detail", r->detail);
}

/* A failed job is an error whether or not a retry may mend it. */
static enum log_level
done_level(const struct run *r)
{
	if (run_exit(r) != 0)
		return LV_ERROR;
	return r->st == ST_OK ? LV_INFO : LV_WARN;
}

void
run_log_done(struct run *r)
{
	cJSON *ev = log_begin(r->lg, done_level(r), "done");

	run_add_outcome(r, ev);
	/* Flat output_path= and output_sha256=, not JSON inside logfmt. */
	log_flatten(ev, "output");
	log_str(ev, "transcript", run_transcript_name(r));
	cliversion_fields(ev, &r->cv, false);
	log_end(r->lg, ev);
}
