/*
 * One run's policy: prepare, the attempts with retries and the shared
 * cooldown, the judgement of each, delivery and the end. The parts it
 * hands a concern to are listed in run_int.h.
 */
#include "run.h"

#include <sys/signalfd.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attempt.h"
#include "cliargs.h"
#include "cliversion.h"
#include "clock.h"
#include "cooldown.h"
#include "deliver.h"
#include "fleet.h"
#include "heartbeat.h"
#include "io.h"
#include "ledger.h"
#include "locate.h"
#include "lock.h"
#include "output.h"
#include "redact.h"
#include "retry.h"
#include "rotate.h"
#include "run_int.h"
#include "state.h"
#include "status.h"
#include "transcript.h"
#include "tree.h"
#include "txn.h"

static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT,
	SIGCHLD };

/*
 * Signals are blocked and read from a signalfd in the event loop, so no
 * handler ever runs; SIGPIPE is ignored so a closed reader is EPIPE.
 */
static int
signals_init(struct run *r)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled_signals) / sizeof(int); i++)
		sigaddset(&set, handled_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, &r->orig_mask) == -1)
		return -1;
	(void)signal(SIGPIPE, SIG_IGN);
	/* Past `ulimit -f`, a write fails with EFBIG: reported, not fatal. */
	(void)signal(SIGXFSZ, SIG_IGN);
	r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return r->sigfd == -1 ? -1 : 0;
}

/* A pending terminating signal (not SIGCHLD), or 0. */
int
pending_signal(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo != SIGCHLD)
			return (int)si.ssi_signo;
	return 0;
}

/*
 * Sleeps up to ms, or until a signal; returns the signal or 0. On a
 * terminal, a countdown is shown, once a second; the heartbeat goes on.
 */
static int
wait_interruptible(struct run *r, int64_t ms, const char *why)
{
	int64_t end = clock_mono_ms() + ms;
	bool live = log_live(r->lg);

	run_ledger_settle(r);
	for (;;) {
		int64_t left = end - clock_mono_ms();
		struct pollfd p = { .fd = r->sigfd, .events = POLLIN };
		int64_t tick = run_tick_interval(r);
		int64_t slice = tick > 0 ? tick : 60000;
		char line[128];
		int sig;

		if (left <= 0) {
			log_status(r->lg, NULL);
			return 0;
		}
		if (live) {
			snprintf(line, sizeof(line), "%s: %llds left", why,
			    (long long)(left + 999) / 1000);
			log_status(r->lg, line);
		}
		run_beat_if_due(r, HB_WAITING);
		if (poll(&p, 1, (int)(left < slice ? left : slice)) > 0 &&
		    (sig = pending_signal(r)) != 0) {
			log_status(r->lg, NULL);
			return sig;
		}
	}
}

/* Called once the CLI runs: see run_ledger_start. */
static void
on_spawned(void *ctx)
{
	run_ledger_settle(ctx);
}

/* Called by the attempt's loop: the status line and the heartbeat. */
static void
on_tick(void *ctx, const char *phase)
{
	struct run *r = ctx;
	char line[128];

	snprintf(line, sizeof(line), "attempt %d/%lld %s, %llds", r->attempts,
	    (long long)r->o->retries, phase,
	    (long long)(clock_mono_ms() - r->t0) / 1000);
	log_status(r->lg, line);
	run_beat_if_due(r, strcmp(phase, "killing") == 0 ? HB_KILLING :
	    HB_RUNNING);
}

void
set_end(struct run *r, enum status st, const char *fmt, ...)
{
	va_list ap;

	r->st = st;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	redact_secrets(r->detail, sizeof(r->detail));
}

static void
log_start(struct run *r)
{
	cJSON *ev = log_begin(r->lg, LV_INFO, "start");
	const char *mr = getenv("CLAUDE_CODE_MAX_RETRIES");

	log_str(ev, "claude", r->cli);
	log_int(ev, "prompt_bytes", (int64_t)r->pr.bytes);
	log_str(ev, "prompt_sha", r->pr.sha);
	log_int(ev, "retries", r->o->retries);
	if (r->o->timeout_ms > 0)
		log_int(ev, "timeout_ms", r->o->timeout_ms);
	if (r->o->deadline_ms > 0)
		log_int(ev, "deadline_ms", r->o->deadline_ms);
	if (mr != NULL)
		log_str(ev, "cli_retries", mr);
	else
		log_int(ev, "cli_retries", r->o->cli_retries);
	if (getenv("CLAUDE_CODE_RETRY_WATCHDOG") != NULL)
		log_str(ev, "retry_watchdog", "removed");
	log_str(ev, "mode", r->o->passthrough ? "passthrough" : "stream-json");
	cliversion_fields(ev, &r->cv, true);
	log_end(r->lg, ev);
}

/* Counts the API responses of the attempt, one per distinct message. */
static void
count_response(struct run *r, const struct pl_event *ev)
{
	/*
	 * One API response may come as several assistant lines, one per
	 * content block, all with its id (the payload reader's msg_id).
	 */
	if (ev->msg_id == NULL || strcmp(ev->msg_id, r->last_msg) == 0)
		return;
	strlcpy(r->last_msg, ev->msg_id, sizeof(r->last_msg));
	r->responses++;
}

/* Every stream event of an attempt: responses, the transcript, tools. */
static void
observe(void *ctx, const struct pl_event *ev)
{
	struct run *r = ctx;

	if (ev->kind == PLE_EVENT) {
		count_response(r, ev);
		if (r->tr != NULL && ev->line != NULL)
			(void)transcript_event(r->tr, r->attempts, ev->line,
			    ev->line_len);
		else if (r->tr != NULL && ev->line_size > 0)
			(void)transcript_event_spool(r->tr, r->attempts,
			    payload_spool_fd(r->res.pl), (off_t)ev->line_off,
			    ev->line_size);
	}
	run_expect_note(r, ev);
}

/* The time an attempt may take: --timeout, within what --deadline leaves. */
static int64_t
attempt_limit(const struct run *r, bool *is_deadline)
{
	int64_t t = r->o->timeout_ms;

	*is_deadline = false;
	if (r->deadline_at != 0) {
		int64_t left = r->deadline_at - clock_mono_ms();
		if (left < 1)
			left = 1;
		if (t == 0 || left < t) {
			t = left;
			*is_deadline = true;
		}
	}
	return t;
}

static void
run_attempt(struct run *r)
{
	struct attempt_cfg cfg;
	bool is_deadline;

	if (r->have_res)
		attempt_res_free(&r->res);
	run_expect_forget(r);
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = r->cli;
	cfg.argv = r->tx.resume_argv != NULL ? r->tx.resume_argv : r->ca.argv;
	cfg.envp = r->env.envp;
	cfg.stdin_fd = r->pr.stdin_fd;
	cfg.sigfd = r->sigfd;
	cfg.child_mask = &r->orig_mask;
	cfg.timeout_ms = attempt_limit(r, &is_deadline);
	cfg.timeout_is_deadline = is_deadline;
	cfg.idle_ms = r->o->idle_timeout_ms;
	cfg.kill_after_ms = r->o->kill_after_ms;
	cfg.format = r->o->passthrough ? r->ca.user_format : PL_STREAM;
	/* Text delivery needs only the lines too long to hold. */
	cfg.keep_stream = r->o->passthrough || r->ca.user_format != PL_TEXT;
	cfg.empty_placeholder = r->cv.empty_placeholder;
	cfg.number = ++r->attempts;
	cfg.log = r->lg;
	cfg.observe = observe;
	cfg.observe_ctx = r;
	cfg.spawned = on_spawned;
	cfg.hook_ctx = r;
	if ((cfg.tick_ms = run_tick_interval(r)) > 0)
		cfg.tick = on_tick;
	cfg.max_rss_kb = (r->o->max_memory + 1023) / 1024;
	run_beat(r, HB_RUNNING, clock_real_ms() + (cfg.tick_ms > 0 ?
	    r->o->heartbeat_interval_ms : 0));
	r->responses = 0;
	r->last_msg[0] = '\0';
	attempt_run(&cfg, &r->res);
	r->have_res = true;
	redact_secrets(r->res.v.detail, sizeof(r->res.v.detail));
	r->cli_retries += r->res.cli_retries;
	usage_add(&r->use, &r->res.use);
	/*
	 * An attempt that started made at least one request; an empty
	 * answer has no assistant line, and the CLI asked a second time
	 * (one that prints a placeholder instead asks once: cliversion.c).
	 */
	if (r->res.oc != OC_NOT_FOUND && r->res.oc != OC_NOT_EXECUTABLE &&
	    r->res.oc != OC_USAGE)
		r->requests += (r->responses > 0 ? r->responses : 1) +
		    (r->res.oc == OC_EMPTY && r->cv.empty_placeholder == NULL);
}

/* The outcome of the last attempt, as a run status (48 and 42 decided). */
static void
judge_attempt(struct run *r)
{
	enum outcome oc = r->res.oc;

	if (oc == OC_SIGNAL) {
		r->sig = r->res.sig;
		set_end(r, ST_SIGNAL, "%s", r->res.v.detail);
		return;
	}
	if (oc == OC_EMPTY && r->o->allow_empty)
		oc = OC_OK;
	set_end(r, outcome_status(oc), "%s", r->res.v.detail);
	if (r->res.v.reset_at != 0)
		r->reset_at = r->res.v.reset_at;
	if (oc == OC_OK)
		(void)run_expect_met(r);
}

/*
 * Whether a wait of ms goes past what the run has left: its deadline,
 * or without one the waits its backoff schedule still allows. A reset
 * time and a shared cooldown are both held to it.
 */
static bool
past_schedule(const struct run *r, int64_t ms)
{
	if (r->deadline_at != 0)
		return clock_mono_ms() + ms >= r->deadline_at;
	return ms > r->o->backoff_max_ms * (r->o->retries - r->attempts);
}

/* What past_schedule held a wait to, for the detail. */
static const char *
schedule_word(const struct run *r)
{
	return r->deadline_at != 0 ? "deadline" : "backoff schedule";
}

/* How long to wait before the next attempt, or -1: stop now. */
static int64_t
next_wait(struct run *r, enum outcome oc)
{
	const struct options *o = r->o;
	int64_t w, wait, until = 0;
	time_t reset;
	char iso[CLOCK_ISO_LEN];

	if ((o->retry_on & (1u << oc)) == 0 || r->attempts >= o->retries)
		return -1;
	w = retry_window(o->backoff_ms, o->backoff_max_ms, r->attempts);
	wait = retry_draw(w);
	if (oc == OC_RATE_LIMIT && (reset = (time_t)r->res.v.reset_at) != 0) {
		r->reset_at = reset;
		until = (int64_t)reset * 1000 - clock_real_ms();
		if (until > wait)
			wait = until;
	}
	/*
	 * With a deadline, any wait that outlasts it; without one, a reset
	 * further off than all the waits left allow.
	 */
	if (past_schedule(r, r->deadline_at != 0 ? wait : until)) {
		if (until > 0) {
			clock_iso((int64_t)r->reset_at * 1000, iso);
			set_end(r, r->st, "%s; resets %s, beyond the %s",
			    r->res.v.detail, iso, schedule_word(r));
		}
		return -1;
	}
	return wait;
}

static void
log_retry(struct run *r, enum outcome oc, int64_t wait)
{
	cJSON *ev = log_begin(r->lg, LV_WARN, "retry");
	char iso[CLOCK_ISO_LEN];

	log_int(ev, "attempt", r->attempts);
	log_str(ev, "reason", outcome_word(oc));
	log_int(ev, "wait_ms", wait);
	if (r->reset_at != 0) {
		clock_iso((int64_t)r->reset_at * 1000, iso);
		log_str(ev, "reset_at", iso);
	}
	log_str(ev, "detail", r->res.v.detail);
	log_end(r->lg, ev);
}

/*
 * The records name the file absolutely, so that `claudewrap-report
 * --which` works from any directory: the directory resolved, the name
 * as written (the file itself is never a link we followed).
 */
static void
absolute_path(const char *path, char *out, size_t size)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;

	if (slash == path)
		strlcpy(dir, "/", sizeof(dir));
	else
		snprintf(dir, sizeof(dir), "%.*s", slash != NULL ?
		    (int)(slash - path) : 1, slash != NULL ? path : ".");
	if (realpath(dir, real) == NULL ||
	    snprintf(out, size, "%s%s%s", real, strcmp(real, "/") ? "/" : "",
	    base) >= (int)size)
		strlcpy(out, path, size);
}

struct fill_ctx {
	const struct run *r;
};

static int
fill_output(void *ctx, int fd)
{
	const struct run *r = ((struct fill_ctx *)ctx)->r;

	return deliver_fd(&r->res, &r->ca, r->o->passthrough, fd);
}

static void
deliver(struct run *r)
{
	struct fill_ctx ctx = { r };

	/* Stdout may be the terminal the status line is on. */
	log_status(r->lg, NULL);
	if (r->o->output == NULL) {
		if (deliver_fd(&r->res, &r->ca, r->o->passthrough,
		    STDOUT_FILENO) == -1)
			set_end(r, ST_USAGE, "delivery to stdout: %s",
			    strerror(errno));
		return;
	}
	if (output_commit(r->o->output, fill_output, &ctx, &r->out.info) == -1)
		set_end(r, ST_USAGE, "--output: %s: %s", r->o->output,
		    strerror(errno));
	else {
		r->out.wrote = true;
		absolute_path(r->o->output, r->out.path, sizeof(r->out.path));
	}
}

/*
 * The shared cooldown before an attempt: wait out a rate limit another
 * run met (or end 43 if it outlasts the deadline), end 44 while the
 * breaker is open. 0: go ahead; -1: the run ends here, no request made.
 */
static int
cooldown_gate(struct run *r)
{
	struct cooldown cd;
	char iso[CLOCK_ISO_LEN];
	int64_t wait;
	cJSON *ev;
	int sig;

	for (;;) {
		if (fleet_cooldown_check(r->fl, r->state.ok ? r->state.dir :
		    NULL, clock_real_ms(), &cd) == -1)
			return 0;
		if (cd.kind == CD_NONE) {
			if (cd.probe) {
				ev = log_begin(r->lg, LV_WARN, "warn");
				log_str(ev, "reason", "breaker_probe");
				log_int(ev, "streak", cd.streak);
				log_end(r->lg, ev);
			}
			return 0;
		}
		clock_iso(cd.until_ms, iso);
		if (cd.kind == CD_BREAKER) {
			set_end(r, ST_UNAVAILABLE, "circuit breaker open (%d "
			    "outages in a row among runs sharing %s)%s%s; no "
			    "request made", cd.streak, fleet_where(r->fl) != NULL ?
			    fleet_where(r->fl) : r->state.dir,
			    cd.until_ms ? " until " : ", a probe is running",
			    cd.until_ms ? iso : "");
			return -1;
		}
		wait = cd.until_ms - clock_real_ms();
		/* As for a reset time: no wait past what the schedule allows. */
		if (past_schedule(r, wait)) {
			r->reset_at = cd.until_ms / 1000;
			set_end(r, ST_RATE_LIMITED, "shared rate-limit cooldown "
			    "until %s is past the %s; no request made", iso,
			    schedule_word(r));
			return -1;
		}
		ev = log_begin(r->lg, LV_WARN, "retry");
		log_int(ev, "attempt", r->attempts);
		log_str(ev, "reason", "cooldown");
		log_str(ev, "cause", cd.cause);
		log_int(ev, "wait_ms", wait);
		log_str(ev, "until", iso);
		log_end(r->lg, ev);
		if ((sig = wait_interruptible(r, wait, "shared cooldown")) != 0) {
			r->sig = sig;
			set_end(r, ST_SIGNAL, "got SIG%s in the shared cooldown",
			    sigabbrev_np(sig));
			return -1;
		}
	}
}

/* Tells the other runs what this attempt met. */
static void
cooldown_record(struct run *r, enum outcome oc, int64_t wait)
{
	int64_t window = wait > 0 ? wait :
	    retry_window(r->o->backoff_ms, r->o->backoff_max_ms, r->attempts);
	int64_t reset_ms = oc == OC_RATE_LIMIT && r->reset_at != 0 ?
	    (int64_t)r->reset_at * 1000 : 0;

	(void)fleet_cooldown_note(r->fl, r->state.ok ? r->state.dir : NULL, oc,
	    clock_real_ms(), reset_ms, window, (int)r->o->breaker);
}

/*
 * --lock with --state-url: the key in Redis (fleet.h). A Redis that
 * cannot be reached fails closed: one run per name is the promise.
 */
/*
 * The next piece of a lock wait: what is left of it, cut into heartbeat
 * intervals so that a watchdog sees a run waiting, not a hung one.
 */
static int64_t
lock_slice(const struct run *r, int64_t end)
{
	int64_t left = end - clock_mono_ms(), slice = left > 0 ? left : 0;

	if (r->o->heartbeat != NULL && slice > r->o->heartbeat_interval_ms)
		slice = r->o->heartbeat_interval_ms;
	return slice;
}

/* The lock is busy: true (and a heartbeat when due) while time is left. */
static bool
lock_wait_on(struct run *r, int64_t end)
{
	if (clock_mono_ms() >= end)
		return false;
	run_beat_if_due(r, HB_WAITING);
	return true;
}

/* A signal came while waiting for the lock: true when the run ends. */
static bool
lock_wait_signalled(struct run *r)
{
	if ((r->sig = pending_signal(r)) == 0)
		return false;
	set_end(r, ST_SIGNAL, "got SIG%s waiting for the lock",
	    sigabbrev_np(r->sig));
	return true;
}

static int
take_fleet_lock(struct run *r)
{
	char holder[320];
	int64_t end = clock_mono_ms() + r->o->lock_wait_ms;

	for (;;) {
		int64_t slice = lock_slice(r, end);

		switch (fleet_lock_acquire(r->fl, r->o->lock, slice, r->sigfd,
		    holder, sizeof(holder))) {
		case LOCK_OK:
			return 0;
		case LOCK_BUSY:
			if (lock_wait_on(r, end))
				break;
			set_end(r, ST_LOCKED, "lock %s is held by %s (host:pid:"
			    "token)", r->o->lock, holder);
			return -1;
		case LOCK_ERROR:
			set_end(r, ST_LOCKED, "lock service unreachable: %s",
			    holder);
			/* Not a skip by design: --lock-exit-code is not for it. */
			r->state.lock_unreachable = true;
			return -1;
		case LOCK_INTERRUPTED:
			if (lock_wait_signalled(r))
				return -1;
			break;
		}
	}
}

/*
 * --lock: 0 when held (or not asked for), -1 when the run ends here.
 * The wait is cut into heartbeat intervals, so that a watchdog sees a
 * run waiting for its lock, not a hung one.
 */
static int
take_lock(struct run *r)
{
	char path[PATH_MAX];
	int64_t end = clock_mono_ms() + r->o->lock_wait_ms;

	if (r->o->lock == NULL)
		return 0;
	if (r->fl != NULL)
		return take_fleet_lock(r);
	for (;;) {
		int64_t slice = lock_slice(r, end);

		switch (lock_acquire(r->state.dir, r->o->lock, slice, r->sigfd,
		    &r->state.lock_fd, path, sizeof(path))) {
		case LOCK_OK:
			return 0;
		case LOCK_BUSY:
			if (lock_wait_on(r, end))
				break;
			set_end(r, ST_LOCKED, "lock %s is held by pid %d", path,
			    (int)lock_holder(path));
			return -1;
		case LOCK_ERROR:
			set_end(r, ST_USAGE, "--lock: %s: %s", path,
			    strerror(errno));
			return -1;
		case LOCK_INTERRUPTED:
			if (lock_wait_signalled(r))
				return -1;
			break;
		}
	}
}

static void
attempts(struct run *r)
{
	for (;;) {
		enum outcome oc;
		int64_t wait;
		int sig;

		if (cooldown_gate(r) == -1)
			return;
		run_attempt(r);
		judge_attempt(r);
		oc = r->res.oc;
		wait = r->st == ST_OK || r->st == ST_SIGNAL ||
		    r->st == ST_EXPECTATION_FAILED ? -1 : next_wait(r, oc);
		cooldown_record(r, oc, wait);
		if (wait < 0 || run_txn_between(r) == -1)
			break;
		log_retry(r, oc, wait);
		if ((sig = wait_interruptible(r, wait, "waiting to retry")) != 0) {
			r->sig = sig;
			set_end(r, ST_SIGNAL, "got SIG%s while waiting to retry",
			    sigabbrev_np(sig));
			break;
		}
	}
	if (r->st == ST_OK && run_txn_verified(r))
		deliver(r);
	run_txn_end(r);
}

/*
 * The state dir (--state-dir, $XDG_STATE_HOME/claudewrap or
 * ~/.local/state/claudewrap), made 0700 if missing. A run goes on
 * without it: the ledger, locks and cooldown then warn or refuse.
 */
static void
open_state(struct run *r)
{
	const struct options *o = r->o;
	cJSON *ev;

	if (o->ledger != NULL && strcmp(o->ledger, "off") != 0)
		strlcpy(r->lw.path, o->ledger, sizeof(r->lw.path));
	if (state_dir(o->state_dir, r->state.dir,
	    sizeof(r->state.dir)) == -1 || state_make(r->state.dir) == -1)
		strlcpy(r->state.why, strerror(errno), sizeof(r->state.why));
	else
		/* As ssh's StrictModes: state others can write is not ours. */
		r->state.ok = state_trusted(r->state.dir, r->state.why,
		    sizeof(r->state.why)) == 0;
	r->fl = fleet_open(o->state_url, r->lg);
	if (r->state.ok && o->ledger == NULL &&
	    ledger_path(r->state.dir, r->lw.path, sizeof(r->lw.path)) == -1)
		r->lw.path[0] = '\0';
	if (!r->state.ok) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "state_dir");
		log_str(ev, "path", r->state.dir);
		log_str(ev, "error", r->state.why);
		log_end(r->lg, ev);
	}
}

/*
 * "verbose": true in the user's settings makes the CLI's json mode print
 * the array of every event, as --verbose does (observed with 2.1.197).
 */
static bool
settings_verbose(void)
{
	const char *dir = getenv("CLAUDE_CONFIG_DIR"), *home = getenv("HOME");
	char path[PATH_MAX], buf[65536];
	cJSON *j;
	ssize_t n;
	bool v;
	int fd;

	if (dir != NULL && *dir != '\0')
		snprintf(path, sizeof(path), "%s/settings.json", dir);
	else if (home != NULL && *home != '\0')
		snprintf(path, sizeof(path), "%s/.claude/settings.json", home);
	else
		return false;
	if ((fd = io_open_regular(path, O_RDONLY, 0)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || (j = cJSON_ParseWithLength(buf, (size_t)n)) == NULL)
		return false;
	v = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "verbose"));
	cJSON_Delete(j);
	return v;
}

/*
 * What the options alone show to be wrong or impossible, refused before
 * the CLI is even looked for: no token is spent to learn it.
 */
static int
refuse_early(struct run *r)
{
	const struct options *o = r->o;
	char why[128], url[256];

	if (o->passthrough && (o->transcript != NULL || o->n_expect_tool > 0)) {
		set_end(r, ST_USAGE, "--passthrough: %s needs the event stream",
		    o->transcript != NULL ? "--transcript" : "--expect-tool");
		return -1;
	}
	if (o->lock != NULL && !lock_name_ok(o->lock)) {
		set_end(r, ST_USAGE, "--lock: bad name '%s' (want letters, "
		    "digits, '.', '_' or '-', not starting with '.'; or an "
		    "absolute path)", o->lock);
		return -1;
	}
	if (o->output != NULL && output_check(o->output) == -1) {
		set_end(r, ST_USAGE, "--output: %s: %s", o->output,
		    strerror(errno));
		return -1;
	}
	if (o->state_url != NULL && fleet_url_check(o->state_url, why,
	    sizeof(why)) == -1) {
		fleet_url_redact(o->state_url, url, sizeof(url));
		set_end(r, ST_USAGE, "--state-url: bad value '%s' (%s)", url, why);
		return -1;
	}
	if (o->output == NULL && o->stdout_closed) {
		set_end(r, ST_USAGE, "stdout is closed and there is no --output: "
		    "the answer could go nowhere");
		return -1;
	}
	return 0;
}

/* Everything before the first attempt; -1 when the run ends here. */
static int
prepare(struct run *r)
{
	const struct options *o = r->o;
	char why[1200], err[256];

	/* First: a refusal is a run too, and gets its done record. */
	open_state(r);
	if (refuse_early(r) == -1)
		return -1;
	switch (locate_cli(o->claude, r->cli, sizeof(r->cli), why, sizeof(why))) {
	case LOC_NOT_FOUND:
		set_end(r, ST_NOT_FOUND, "%s", why);
		return -1;
	case LOC_NOT_EXECUTABLE:
		set_end(r, ST_NOT_EXECUTABLE, "%s", why);
		return -1;
	case LOC_OK:
		break;
	}
	if (cliargs_build(&r->ca, r->cli, o->cli_argc, o->cli_argv,
	    o->passthrough, err, sizeof(err)) == -1) {
		set_end(r, ST_USAGE, "%s", err);
		return -1;
	}
	if (r->ca.fallback && !o->allow_fallback) {
		set_end(r, ST_USAGE, "--fallback-model: refused (a silent model "
		    "swap); pass --allow-fallback to allow it");
		return -1;
	}
	if (run_child_env(r) == -1) {
		set_end(r, ST_USAGE, "environment: %s", strerror(errno));
		return -1;
	}
	if (run_take_prompt(r) == -1) {
		if (r->sig != 0)
			set_end(r, ST_SIGNAL, "got SIG%s reading stdin",
			    sigabbrev_np(r->sig));
		else if (errno == ETIMEDOUT)
			set_end(r, ST_TIMEOUT, "stdin was not closed in time");
		else
			set_end(r, ST_USAGE, "stdin: %s", strerror(errno));
		return -1;
	}
	if (o->max_prompt_bytes > 0 &&
	    r->pr.bytes > (uint64_t)o->max_prompt_bytes) {
		set_end(r, ST_CLAUDE_ERROR, "prompt of %llu bytes is over "
		    "--max-prompt-bytes=%lld", (unsigned long long)r->pr.bytes,
		    (long long)o->max_prompt_bytes);
		return -1;
	}
	if (o->lock != NULL && o->lock[0] != '/' && !r->state.ok &&
	    r->fl == NULL) {
		set_end(r, ST_USAGE, "--lock=%s: the state dir %s is not used "
		    "(%s)", o->lock, r->state.dir, r->state.why);
		return -1;
	}
	cliversion_detect(&r->cv, r->cli, r->state.ok ? r->state.dir : NULL,
	    &r->orig_mask);
	if (r->ca.user_format == PL_JSON && !r->ca.user_verbose &&
	    !r->cv.ignores_settings_verbose)
		r->ca.user_verbose = settings_verbose();
	if (o->transcript != NULL &&
	    (r->tr = transcript_open(o->transcript, log_run_id(r->lg))) == NULL) {
		set_end(r, ST_USAGE, "--transcript: %s: %s", o->transcript,
		    io_strerror(errno));
		return -1;
	}
	if (r->tr != NULL)
		run_fix_mode(r, -1, transcript_path(r->tr));
	log_start(r);
	cliversion_warn(r->lg, &r->cv);
	if (r->lw.path[0] != '\0' &&
	    rotate_ledger(r->lw.path, o->ledger_max) == -1)
		run_ledger_warn(r);
	run_ledger_start(r);
	run_beat(r, HB_STARTING, 0);
	if (o->lock != NULL)
		run_ledger_settle(r);
	return take_lock(r) == -1 ? -1 : run_txn_begin(r);
}

/* On a good answer: the signs of silent degradation. */
static void
warn_degraded(struct run *r)
{
	const struct pl_usage *u = &r->res.v.usage;
	cJSON *ev;

	if (r->st != ST_OK || !r->have_res || !u->have)
		return;
	if (u->output_tokens < r->o->low_output_tokens) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "low_output_tokens");
		log_int(ev, "output_tokens", u->output_tokens);
		log_int(ev, "threshold", r->o->low_output_tokens);
		log_end(r->lg, ev);
	}
	if (u->cache_creation > 0 && r->o->cache_ratio_warn > 0 &&
	    (double)u->cache_read / (double)u->cache_creation <
	    r->o->cache_ratio_warn) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "cache_ratio");
		log_int(ev, "cache_read", u->cache_read);
		log_int(ev, "cache_creation", u->cache_creation);
		cJSON_AddNumberToObject(ev, "threshold", r->o->cache_ratio_warn);
		log_end(r->lg, ev);
	}
	if (r->ca.model != NULL && u->model[0] != '\0' &&
	    strncmp(u->model, r->ca.model, strlen(r->ca.model)) != 0 &&
	    r->ca.fallback) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "model_fallback");
		log_str(ev, "asked", r->ca.model);
		log_str(ev, "answered", u->model);
		log_end(r->lg, ev);
	}
}

/* fsync'd at the end; a transcript that could not be kept is a warning. */
static void
close_transcript(struct run *r)
{
	cJSON *ev;

	if (r->tr == NULL)
		return;
	strlcpy(r->tr_path, transcript_path(r->tr), sizeof(r->tr_path));
	if (transcript_close(r->tr) == -1) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "transcript");
		log_str(ev, "path", r->tr_path);
		log_str(ev, "error", io_strerror(errno));
		log_end(r->lg, ev);
	}
	r->tr = NULL;
}

static void
cleanup(struct run *r)
{
	if (r->have_res)
		attempt_res_free(&r->res);
	run_expect_forget(r);
	cliargs_free(&r->ca);
	free(r->env.envp);
	free(r->env.own[0]);
	free(r->env.own[1]);
	free(r->env.own[2]);
	if (r->pr.stdin_fd != -1)
		close(r->pr.stdin_fd);
	if (r->sigfd != -1)
		close(r->sigfd);
	lock_release(r->state.lock_fd);
	fleet_close(r->fl);
	if (r->tx.txn != NULL)
		txn_free(r->tx.txn);
	free(r->tx.resume_argv);
}

struct run_end
run_main(const struct options *o, struct log *lg)
{
	struct run r;
	struct run_end end;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.lg = lg;
	r.pr.stdin_fd = r.sigfd = r.state.lock_fd = r.lw.fd = -1;
	r.t0 = clock_mono_ms();
	if (o->deadline_ms > 0)
		r.deadline_at = r.t0 + o->deadline_ms;
	if (signals_init(&r) == -1)
		set_end(&r, ST_USAGE, "signals: %s", strerror(errno));
	else {
		if (tree_make_subreaper() == -1)
			set_end(&r, ST_USAGE, "subreaper: %s", strerror(errno));
		else if (prepare(&r) == 0)
			attempts(&r);
	}
	close_transcript(&r);
	warn_degraded(&r);
	run_log_done(&r);
	run_ledger_settle(&r);
	run_ledger_done(&r);
	run_beat(&r, HB_DONE, 0);
	end.exit = run_exit(&r);
	end.sig = r.st == ST_SIGNAL ? r.sig : 0;
	cleanup(&r);
	return end;
}
