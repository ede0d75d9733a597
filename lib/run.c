#include "run.h"

#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

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
#include "hash.h"
#include "ledger.h"
#include "heartbeat.h"
#include "io.h"
#include "locate.h"
#include "lock.h"
#include "output.h"
#include "redact.h"
#include "retry.h"
#include "rotate.h"
#include "spawn.h"
#include "spool.h"
#include "status.h"
#include "transcript.h"
#include "tree.h"
#include "txn.h"
#include "verify.h"
#include "version.h"

#define MAX_TOOLS	64
#define VERSION_WAIT_MS	5000	/* for the real CLI's --version */
#define STDIN_SILENT_MS	3000	/* the CLI's own wait for a first byte */

struct run {
	const struct options *o;
	struct log	*lg;
	sigset_t	 orig_mask;
	int		 sigfd;
	char		 cli[PATH_MAX];
	struct cliargs	 ca;
	struct cli_version cv;		/* read once, in prepare */
	char	       **envp;
	char		*env_own[3];	/* the variables we added */
	int		 stdin_fd;
	uint64_t	 prompt_bytes;
	char		 prompt_sha[HASH_HEX_LEN];
	int64_t		 t0;		/* monotonic start */
	int64_t		 deadline_at;	/* monotonic, 0: none */
	int		 attempts;
	int		 cli_retries;
	enum status	 st;
	int		 sig;
	char		 detail[320];
	int64_t		 reset_at;	/* epoch s */
	struct attempt_res res;		/* the last attempt */
	struct usage	 use;		/* of every attempt */
	bool		 have_res;
	int64_t		 requests;	/* API requests of the finished attempts */
	int		 responses;	/* assistant messages of this attempt */
	char		 last_msg[64];	/* id of the last one */
	char		*tools[MAX_TOOLS];	/* called in the last attempt */
	int		 ntools;
	char		 state_dir[PATH_MAX];
	bool		 state_ok;	/* the state dir exists, and is ours */
	char		 state_why[128];	/* why not */
	bool		 lock_unreachable;	/* --state-url's lock service */
	int		 lock_fd;
	bool		 wrote_output;
	char		 out_path[PATH_MAX];	/* absolute, for the records */
	const char	*missing[OPT_MAX_EXPECT];	/* --expect-tool, not called */
	int		 nmissing;
	struct output_info out_info;
	char		 ledger[PATH_MAX + 16];	/* "": none */
	bool		 ledger_warned;
	int		 ledger_fd;	/* start record written, not yet synced */
	int64_t		 hb_next;	/* monotonic: the next heartbeat */
	bool		 hb_warned;
	struct transcript *tr;		/* --transcript, or NULL */
	char		 tr_path[PATH_MAX];	/* kept after it is closed */
	struct fleet	*fl;		/* --state-url, or NULL */
	struct txn	*txn;		/* --rollback, or NULL */
	int		 restored_at;	/* the attempt the tree was last put back after */
	char	       **resume_argv;	/* --resume-on-retry: the next attempt's */
	int		 resumed;	/* attempts that continued a session */
	struct verify_res ver;		/* --verify, when it ran */
	bool		 have_ver;
};

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
static int
pending_signal(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo != SIGCHLD)
			return (int)si.ssi_signo;
	return 0;
}

static void	beat_if_due(struct run *, enum hb_phase);
static int64_t	tick_interval(const struct run *);
static void	ledger_settle(struct run *);

/*
 * Sleeps up to ms, or until a signal; returns the signal or 0. On a
 * terminal, a countdown is shown, once a second; the heartbeat goes on.
 */
static int
wait_interruptible(struct run *r, int64_t ms, const char *why)
{
	int64_t end = clock_mono_ms() + ms;
	bool live = log_live(r->lg);

	ledger_settle(r);
	for (;;) {
		int64_t left = end - clock_mono_ms();
		struct pollfd p = { .fd = r->sigfd, .events = POLLIN };
		int64_t tick = tick_interval(r);
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
		beat_if_due(r, HB_WAITING);
		if (poll(&p, 1, (int)(left < slice ? left : slice)) > 0 &&
		    (sig = pending_signal(r)) != 0) {
			log_status(r->lg, NULL);
			return sig;
		}
	}
}

/* Rewrites the --heartbeat file; a failure is one warning, not an end. */
static void
beat(struct run *r, enum hb_phase ph, int64_t next_wake_ms)
{
	struct heartbeat hb;
	cJSON *ev;

	if (r->o->heartbeat == NULL)
		return;
	memset(&hb, 0, sizeof(hb));
	hb.run = log_run_id(r->lg);
	hb.tag = r->o->tag;
	hb.pid = getpid();
	hb.attempt = r->attempts;
	hb.phase = ph;
	hb.next_wake_ms = next_wake_ms;
	r->hb_next = clock_mono_ms() + r->o->heartbeat_interval_ms;
	if (heartbeat_write(r->o->heartbeat, &hb) == -1 && !r->hb_warned) {
		r->hb_warned = true;
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "heartbeat");
		log_str(ev, "path", r->o->heartbeat);
		log_str(ev, "error", io_strerror(errno));
		log_end(r->lg, ev);
	}
}

/* A heartbeat when one is due; the next is promised an interval on. */
static void
beat_if_due(struct run *r, enum hb_phase ph)
{
	/* Every loop that beats also renews the fleet's leases. */
	fleet_tick(r->fl);
	if (r->o->heartbeat != NULL && clock_mono_ms() >= r->hb_next)
		beat(r, ph, clock_real_ms() + r->o->heartbeat_interval_ms);
}

/* How often the loops must wake for the status line and the heartbeat. */
static int64_t
tick_interval(const struct run *r)
{
	int64_t t = log_live(r->lg) ? 1000 : 0;

	if (r->o->heartbeat != NULL && (t == 0 || r->o->heartbeat_interval_ms < t))
		t = r->o->heartbeat_interval_ms;
	if (fleet_tick_ms(r->fl) > 0 && (t == 0 || fleet_tick_ms(r->fl) < t))
		t = fleet_tick_ms(r->fl);
	return t;
}

/* Called once the CLI runs: see ledger_start. */
static void
on_spawned(void *ctx)
{
	ledger_settle(ctx);
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
	beat_if_due(r, strcmp(phase, "killing") == 0 ? HB_KILLING : HB_RUNNING);
}

static void
set_end(struct run *r, enum status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_end(struct run *r, enum status st, const char *fmt, ...)
{
	va_list ap;

	r->st = st;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	redact_secrets(r->detail, sizeof(r->detail));
}

/* The environment of the CLI: ours, with the run id and retry bounds. */
static int
child_env(struct run *r)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 4, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* The watchdog makes the CLI wait for hours: our clock rules. */
		if (strncmp(environ[i], "CLAUDE_CODE_RETRY_WATCHDOG=", 27) == 0 ||
		    strncmp(environ[i], "CLAUDEWRAP_RUN_ID=", 18) == 0 ||
		    /* Its password is no business of the model's tools. */
		    strncmp(environ[i], "CLAUDEWRAP_STATE_URL=", 21) == 0 ||
		    strncmp(environ[i], LOCATE_SKIP_ENV "=",
		    sizeof(LOCATE_SKIP_ENV)) == 0)
			continue;
		env[k++] = environ[i];
	}
	/* A claudewrap the CLI's tree runs must not find us again. */
	if ((r->env_own[2] = malloc(PATH_MAX)) == NULL ||
	    locate_skip_entry(r->env_own[2], PATH_MAX) == -1) {
		free(env);
		return -1;
	}
	env[k++] = r->env_own[2];
	if (asprintf(&r->env_own[0], "CLAUDEWRAP_RUN_ID=%s",
	    log_run_id(r->lg)) == -1) {
		r->env_own[0] = NULL;
		free(env);
		return -1;
	}
	env[k++] = r->env_own[0];
	if (getenv("CLAUDE_CODE_MAX_RETRIES") == NULL) {
		if (asprintf(&r->env_own[1], "CLAUDE_CODE_MAX_RETRIES=%lld",
		    (long long)r->o->cli_retries) == -1) {
			r->env_own[1] = NULL;
			free(env);
			return -1;
		}
		env[k++] = r->env_own[1];
	}
	env[k] = NULL;
	r->envp = env;
	return 0;
}

/* What the CLI gets for stdin when there is nothing to replay. */
static int
stdin_null(struct run *r)
{
	r->stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return r->stdin_fd == -1 ? -1 : 0;
}

/*
 * stdin is read once, if it is not a terminal, and replayed to every
 * attempt; an empty one is /dev/null. A terminal is not handed on: the
 * CLI would wait on it. As the CLI does, a stdin that says nothing for
 * STDIN_SILENT_MS (ssh without -n, docker exec -i, a parent's unused
 * pipe) is given up; once bytes flow, reading stops only at EOF, a
 * signal or the attempt's time limit.
 */
static int
read_stdin(struct run *r, struct hash *h)
{
	char buf[65536];
	int64_t limit = r->o->timeout_ms, t0 = clock_mono_ms();
	int64_t end = limit > 0 ? t0 + limit : 0;

	if (isatty(STDIN_FILENO) || fcntl(STDIN_FILENO, F_GETFD) == -1)
		return stdin_null(r);
	for (;;) {
		struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
		    { .fd = r->sigfd, .events = POLLIN } };
		int64_t left = end ? end - clock_mono_ms() : -1;
		ssize_t n;

		if (r->stdin_fd == -1) {
			int64_t quiet = t0 + STDIN_SILENT_MS - clock_mono_ms();
			if (quiet <= 0 || (end && left <= 0))
				return stdin_null(r);
			if (left < 0 || quiet < left)
				left = quiet;
		} else if (end && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(p, 2, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
		    errno != EINTR)
			return -1;
		if (p[1].revents != 0 && (r->sig = pending_signal(r)) != 0)
			return -1;
		if (p[0].revents == 0)
			continue;
		if ((n = read(STDIN_FILENO, buf, sizeof(buf))) == 0)
			return r->stdin_fd != -1 ? 0 : stdin_null(r);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		/* Made at the first byte: an empty stdin costs no file. */
		if (r->stdin_fd == -1 && (r->stdin_fd = spool_open()) == -1)
			return -1;
		if (io_write_all(r->stdin_fd, buf, (size_t)n) == -1)
			return -1;
		hash_update(h, buf, (size_t)n);
		r->prompt_bytes += (uint64_t)n;
	}
}

/* The prompt: positional arguments, then stdin; hashed, never logged. */
static int
take_prompt(struct run *r)
{
	struct hash *h = hash_new();
	int rc;

	if (h == NULL)
		return -1;
	for (int i = 0; i < r->ca.nprompt; i++)
		hash_update(h, r->ca.prompt[i], strlen(r->ca.prompt[i]));
	r->prompt_bytes = r->ca.prompt_bytes;
	rc = read_stdin(r, h);
	hash_end(h, r->prompt_sha);
	r->prompt_sha[12] = '\0';
	return rc;
}

static void
log_start(struct run *r)
{
	cJSON *ev = log_begin(r->lg, LV_INFO, "start");
	const char *mr = getenv("CLAUDE_CODE_MAX_RETRIES");

	log_str(ev, "claude", r->cli);
	log_int(ev, "prompt_bytes", (int64_t)r->prompt_bytes);
	log_str(ev, "prompt_sha", r->prompt_sha);
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

/* Every stream event of an attempt: the tools the model called. */
static void
observe(void *ctx, const struct pl_event *ev)
{
	struct run *r = ctx;
	const char *name;

	if (ev->kind == PLE_EVENT) {
		count_response(r, ev);
		if (r->tr != NULL && ev->line != NULL)
			(void)transcript_event(r->tr, r->attempts, ev->line,
			    ev->line_len);
		else if (r->tr != NULL && ev->line_size > 0)
			(void)transcript_event_spool(r->tr, r->attempts,
			    r->res.spool_fd, (off_t)ev->line_off, ev->line_size);
	}
	if (ev->kind != PLE_TOOL_USE)
		return;
	name = ev->skill != NULL ? ev->skill : ev->tool;
	if (name == NULL || r->ntools == MAX_TOOLS)
		return;
	for (int i = 0; i < r->ntools; i++)
		if (strcmp(r->tools[i], name) == 0)
			return;
	if (ev->skill != NULL && ev->tool != NULL && r->ntools + 1 < MAX_TOOLS &&
	    (r->tools[r->ntools] = strdup(ev->tool)) != NULL)
		r->ntools++;
	if ((r->tools[r->ntools] = strdup(name)) != NULL)
		r->ntools++;
}

static void
forget_tools(struct run *r)
{
	for (int i = 0; i < r->ntools; i++)
		free(r->tools[i]);
	r->ntools = 0;
}

static bool
tool_called(const struct run *r, const char *name)
{
	for (int i = 0; i < r->ntools; i++)
		if (strcmp(r->tools[i], name) == 0)
			return true;
	return false;
}

/* After a good answer: every --expect-tool was called, or 48. */
static bool
expectations_met(struct run *r)
{
	char names[160] = "", called[160] = "none";

	r->nmissing = 0;
	for (size_t i = 0; i < r->o->n_expect_tool; i++) {
		if (tool_called(r, r->o->expect_tool[i]))
			continue;
		if (r->nmissing > 0)
			strlcat(names, ",", sizeof(names));
		strlcat(names, r->o->expect_tool[i], sizeof(names));
		r->missing[r->nmissing++] = r->o->expect_tool[i];
	}
	if (r->nmissing == 0)
		return true;
	for (int i = 0; i < r->ntools; i++) {
		if (i == 0)
			called[0] = '\0';
		else
			strlcat(called, ",", sizeof(called));
		strlcat(called, r->tools[i], sizeof(called));
	}
	set_end(r, ST_EXPECTATION_FAILED, "expected tool not called: %s "
	    "(called: %s)", names, called);
	return false;
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
	forget_tools(r);
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = r->cli;
	cfg.argv = r->resume_argv != NULL ? r->resume_argv : r->ca.argv;
	cfg.envp = r->envp;
	cfg.stdin_fd = r->stdin_fd;
	cfg.sigfd = r->sigfd;
	cfg.child_mask = &r->orig_mask;
	cfg.timeout_ms = attempt_limit(r, &is_deadline);
	cfg.timeout_is_deadline = is_deadline;
	cfg.idle_ms = r->o->idle_timeout_ms;
	cfg.kill_after_ms = r->o->kill_after_ms;
	cfg.format = r->o->passthrough ? r->ca.user_format : PL_STREAM;
	cfg.empty_placeholder = r->cv.empty_placeholder;
	cfg.number = ++r->attempts;
	cfg.log = r->lg;
	cfg.observe = observe;
	cfg.observe_ctx = r;
	cfg.spawned = on_spawned;
	cfg.hook_ctx = r;
	if ((cfg.tick_ms = tick_interval(r)) > 0)
		cfg.tick = on_tick;
	cfg.max_rss_kb = (r->o->max_memory + 1023) / 1024;
	beat(r, HB_RUNNING, clock_real_ms() + (cfg.tick_ms > 0 ?
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
		(void)expectations_met(r);
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
	if (r->deadline_at != 0 && clock_mono_ms() + wait >= r->deadline_at) {
		if (until > 0) {
			clock_iso((int64_t)r->reset_at * 1000, iso);
			set_end(r, r->st, "%s; resets %s, beyond the deadline",
			    r->res.v.detail, iso);
		}
		return -1;
	}
	/* No deadline: a reset further off than all the waits left allow. */
	if (r->deadline_at == 0 && until > 0 &&
	    until > o->backoff_max_ms * (o->retries - r->attempts)) {
		clock_iso((int64_t)r->reset_at * 1000, iso);
		set_end(r, r->st, "%s; resets %s, beyond the backoff schedule",
		    r->res.v.detail, iso);
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
	if (output_commit(r->o->output, fill_output, &ctx, &r->out_info) == -1)
		set_end(r, ST_USAGE, "--output: %s: %s", r->o->output,
		    strerror(errno));
	else {
		r->wrote_output = true;
		absolute_path(r->o->output, r->out_path, sizeof(r->out_path));
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
		if (fleet_cooldown_check(r->fl, r->state_ok ? r->state_dir :
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
			    fleet_where(r->fl) : r->state_dir,
			    cd.until_ms ? " until " : ", a probe is running",
			    cd.until_ms ? iso : "");
			return -1;
		}
		wait = cd.until_ms - clock_real_ms();
		/* As for a reset time: no wait past what the schedule allows. */
		if ((r->deadline_at != 0 &&
		    clock_mono_ms() + wait >= r->deadline_at) ||
		    (r->deadline_at == 0 && wait > r->o->backoff_max_ms *
		    (r->o->retries - r->attempts))) {
			r->reset_at = cd.until_ms / 1000;
			set_end(r, ST_RATE_LIMITED, "shared rate-limit cooldown "
			    "until %s is past the %s; no request made", iso,
			    r->deadline_at != 0 ? "deadline" : "backoff schedule");
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

	(void)fleet_cooldown_note(r->fl, r->state_ok ? r->state_dir : NULL, oc,
	    clock_real_ms(), reset_ms, window, (int)r->o->breaker);
}

/*
 * --lock with --state-url: the key in Redis (fleet.h). A Redis that
 * cannot be reached fails closed: one run per name is the promise.
 */
static int
take_fleet_lock(struct run *r)
{
	char holder[320];
	int64_t end = clock_mono_ms() + r->o->lock_wait_ms;

	for (;;) {
		int64_t left = end - clock_mono_ms(), slice = left > 0 ? left : 0;

		if (r->o->heartbeat != NULL &&
		    slice > r->o->heartbeat_interval_ms)
			slice = r->o->heartbeat_interval_ms;
		switch (fleet_lock_acquire(r->fl, r->o->lock, slice, r->sigfd,
		    holder, sizeof(holder))) {
		case LOCK_OK:
			return 0;
		case LOCK_BUSY:
			if (clock_mono_ms() < end) {
				beat_if_due(r, HB_WAITING);
				break;
			}
			set_end(r, ST_LOCKED, "lock %s is held by %s (host:pid:"
			    "token)", r->o->lock, holder);
			return -1;
		case LOCK_ERROR:
			set_end(r, ST_LOCKED, "lock service unreachable: %s",
			    holder);
			/* Not a skip by design: --lock-exit-code is not for it. */
			r->lock_unreachable = true;
			return -1;
		case LOCK_INTERRUPTED:
			if ((r->sig = pending_signal(r)) != 0) {
				set_end(r, ST_SIGNAL, "got SIG%s waiting for the "
				    "lock", sigabbrev_np(r->sig));
				return -1;
			}
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
		int64_t left = end - clock_mono_ms(), slice = left > 0 ? left : 0;

		if (r->o->heartbeat != NULL &&
		    slice > r->o->heartbeat_interval_ms)
			slice = r->o->heartbeat_interval_ms;
		switch (lock_acquire(r->state_dir, r->o->lock, slice, r->sigfd,
		    &r->lock_fd, path, sizeof(path))) {
		case LOCK_OK:
			return 0;
		case LOCK_BUSY:
			if (clock_mono_ms() < end) {
				beat_if_due(r, HB_WAITING);
				break;
			}
			set_end(r, ST_LOCKED, "lock %s is held by pid %d", path,
			    (int)lock_holder(path));
			return -1;
		case LOCK_ERROR:
			set_end(r, ST_USAGE, "--lock: %s: %s", path,
			    strerror(errno));
			return -1;
		case LOCK_INTERRUPTED:
			if ((r->sig = pending_signal(r)) != 0) {
				set_end(r, ST_SIGNAL, "got SIG%s waiting for the "
				    "lock", sigabbrev_np(r->sig));
				return -1;
			}
			break;
		}
	}
}

/*
 * --rollback, before the first attempt: the tree recorded, or 125 when
 * there is no git or no work tree here (nothing has run yet).
 */
static int
txn_begin(struct run *r)
{
	char err[600];
	cJSON *ev;

	if (!r->o->rollback)
		return 0;
	if ((r->txn = txn_open(log_run_id(r->lg), &r->orig_mask, err,
	    sizeof(err))) == NULL || txn_snapshot(r->txn, err,
	    sizeof(err)) == -1) {
		if (r->txn != NULL) {
			(void)txn_close(r->txn, 0, err + strlen(err) + 1,
			    sizeof(err) - strlen(err) - 1);
			txn_free(r->txn);
			r->txn = NULL;
		}
		set_end(r, ST_USAGE, "%s", err);
		return -1;
	}
	ev = log_begin(r->lg, LV_INFO, "snapshot");
	log_str(ev, "ref", txn_ref(r->txn));
	log_int(ev, "duration_ms", txn_snapshot_ms(r->txn));
	log_end(r->lg, ev);
	return 0;
}

/* The tree put back after the last attempt; -1 (logged) if it could not. */
static int
restore_tree(struct run *r)
{
	char err[600];
	int rc = txn_restore(r->txn, err, sizeof(err));
	cJSON *ev;

	r->restored_at = r->attempts;
	ev = log_begin(r->lg, rc == 0 ? LV_INFO : LV_ERROR, "restore");
	log_int(ev, "attempt", r->attempts);
	log_int(ev, "files_changed", txn_files_changed(r->txn));
	log_int(ev, "duration_ms", txn_restore_ms(r->txn));
	if (rc == -1)
		log_str(ev, "error", err);
	log_end(r->lg, ev);
	return rc;
}

/*
 * --resume-on-retry: the failed attempt reported a session and got at
 * least one answer from the API, so its turns are in the session and
 * need not be paid for again. Not when the caller already chose a
 * session: theirs is not ours to replace.
 */
static bool
resumable(const struct run *r)
{
	static const char *const own[] = { "--resume", "-r", "--continue",
	    "-c", "--session-id", "--fork-session" };

	if (!r->o->resume_on_retry || r->o->passthrough || !r->have_res ||
	    r->res.v.usage.session[0] == '\0' || r->responses < 1)
		return false;
	for (int i = 1; i < r->ca.argc; i++)
		for (size_t j = 0; j < sizeof(own) / sizeof(own[0]); j++)
			if (strcmp(r->ca.argv[i], own[j]) == 0 ||
			    (strncmp(r->ca.argv[i], own[j], strlen(own[j])) == 0 &&
			    r->ca.argv[i][strlen(own[j])] == '='))
				return false;
	return true;
}

/* The CLI's argv with `--resume SESSION` after the program name. */
static int
resume_args(struct run *r)
{
	static char session[sizeof(r->res.v.usage.session)];
	char **argv = calloc((size_t)r->ca.argc + 3, sizeof(char *));
	cJSON *ev;

	if (argv == NULL)
		return -1;
	strlcpy(session, r->res.v.usage.session, sizeof(session));
	argv[0] = r->ca.argv[0];
	argv[1] = "--resume";
	argv[2] = session;
	for (int i = 1; i < r->ca.argc; i++)
		argv[i + 2] = r->ca.argv[i];
	free(r->resume_argv);
	r->resume_argv = argv;
	r->resumed++;
	ev = log_begin(r->lg, LV_INFO, "resume");
	log_int(ev, "attempt", r->attempts + 1);
	log_int(ev, "from_attempt", r->attempts);
	log_str(ev, "session", session);
	log_int(ev, "responses", r->responses);
	log_end(r->lg, ev);
	return 0;
}

/*
 * Before a retry: continue the failed session (its edits stay: they
 * are part of it), or start over on the tree as it was before the run.
 * -1 when the run must stop here.
 */
static int
between_attempts(struct run *r)
{
	if (resumable(r) && resume_args(r) == 0)
		return 0;
	free(r->resume_argv);
	r->resume_argv = NULL;
	if (r->txn == NULL || restore_tree(r) == 0)
		return 0;
	/* Another attempt would edit on top of the last one's edits. */
	set_end(r, ST_USAGE, "--rollback: the tree could not be restored "
	    "after attempt %d; see the restore line", r->attempts);
	return -1;
}

/* The answer, as it would be delivered, into a file for --verify. */
static int
answer_file(struct run *r, char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (snprintf(path, size, "%s/claudewrap-answer.XXXXXX", dir) >=
	    (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) == -1)
		return -1;
	if (deliver_fd(&r->res, &r->ca, r->o->passthrough, fd) == -1) {
		io_close_keep_errno(fd);
		(void)unlink(path);
		return -1;
	}
	return close(fd);
}

/* --verify after an ok answer: true when it may be delivered. */
static bool
verified(struct run *r)
{
	struct verify_cfg cfg;
	char path[PATH_MAX];
	cJSON *ev;

	if (r->o->verify == NULL)
		return true;
	if (answer_file(r, path, sizeof(path)) == -1) {
		set_end(r, ST_USAGE, "--verify: answer file: %s", strerror(errno));
		return false;
	}
	cfg = (struct verify_cfg){ .cmd = r->o->verify, .answer_path = path,
	    .envp = r->envp, .mask = &r->orig_mask, .sigfd = r->sigfd,
	    .timeout_ms = r->o->verify_timeout_ms,
	    .kill_after_ms = r->o->kill_after_ms, .log = r->lg };
	verify_run(&cfg, &r->ver);
	(void)unlink(path);
	r->have_ver = r->ver.exit != -1;
	ev = log_begin(r->lg, r->ver.exit == 0 ? LV_INFO : LV_WARN, "verify");
	log_int(ev, "exit", r->ver.exit);
	log_int(ev, "duration_ms", r->ver.ms);
	log_end(r->lg, ev);
	if (r->ver.sig != 0) {
		r->sig = r->ver.sig;
		set_end(r, ST_SIGNAL, "got SIG%s during --verify",
		    sigabbrev_np(r->sig));
	} else if (r->ver.exit == -1)
		set_end(r, ST_USAGE, "%s", r->ver.detail);
	else if (r->ver.timed_out)
		set_end(r, ST_VERIFY_FAILED, "--verify ran out of its %lld ms "
		    "and was killed", (long long)r->o->verify_timeout_ms);
	else if (r->ver.exit != 0)
		set_end(r, ST_VERIFY_FAILED, "--verify exited %d", r->ver.exit);
	return r->st == ST_OK;
}

/*
 * The end of a --rollback run: on success the edits stay and the ref
 * goes; otherwise the tree is put back (unless it already is) and the
 * ref is kept, pointing at what the run left.
 */
static void
txn_end(struct run *r)
{
	char err[600];
	bool ok = r->st == ST_OK;
	cJSON *ev;

	if (r->txn == NULL)
		return;
	if (ok && txn_count(r->txn, err, sizeof(err)) == -1) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "rollback_count");
		log_str(ev, "error", err);
		log_end(r->lg, ev);
	}
	if (!ok && r->attempts > r->restored_at)
		(void)restore_tree(r);
	if (txn_close(r->txn, !ok, err, sizeof(err)) == -1) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "rollback_ref");
		log_str(ev, "error", err);
		log_end(r->lg, ev);
	}
}

/* What the done line and record say of --rollback, --verify, resumes. */
static void
txn_fields(struct run *r, cJSON *obj)
{
	if (r->txn != NULL) {
		log_int(obj, "files_changed", txn_files_changed(r->txn));
		if (r->st != ST_OK)
			log_str(obj, "rollback_ref", txn_ref(r->txn));
	}
	if (r->have_ver)
		log_int(obj, "verify_exit", r->ver.exit);
	if (r->resumed > 0)
		log_int(obj, "resumed", r->resumed);
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
		if (wait < 0 || between_attempts(r) == -1)
			break;
		log_retry(r, oc, wait);
		if ((sig = wait_interruptible(r, wait, "waiting to retry")) != 0) {
			r->sig = sig;
			set_end(r, ST_SIGNAL, "got SIG%s while waiting to retry",
			    sigabbrev_np(sig));
			break;
		}
	}
	if (r->st == ST_OK && verified(r))
		deliver(r);
	txn_end(r);
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
static const char *
transcript_name(const struct run *r)
{
	if (r->tr != NULL)
		return transcript_path(r->tr);
	return r->tr_path[0] != '\0' ? r->tr_path : NULL;
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
		strlcpy(r->ledger, o->ledger, sizeof(r->ledger));
	if (ledger_state_dir(o->state_dir, r->state_dir,
	    sizeof(r->state_dir)) == -1 || ledger_open_dir(r->state_dir) == -1)
		strlcpy(r->state_why, strerror(errno), sizeof(r->state_why));
	else
		/* As ssh's StrictModes: state others can write is not ours. */
		r->state_ok = io_dir_trusted(r->state_dir, r->state_why,
		    sizeof(r->state_why)) == 0;
	r->fl = fleet_open(o->state_url, r->lg);
	if (r->state_ok && o->ledger == NULL &&
	    ledger_path(r->state_dir, r->ledger, sizeof(r->ledger)) == -1)
		r->ledger[0] = '\0';
	if (!r->state_ok) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "state_dir");
		log_str(ev, "path", r->state_dir);
		log_str(ev, "error", r->state_why);
		log_end(r->lg, ev);
	}
}

/*
 * A state file found looser than 0600 (made by hand, by an older
 * version, by a umask) is narrowed, with a warning. fd, or path if -1.
 */
static void
fix_mode(struct run *r, int fd, const char *path)
{
	int own = fd == -1 ? io_open_regular(path, O_RDONLY, 0) : fd;
	cJSON *ev;

	if (own != -1 && io_fix_mode(own, 0600) == 1) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "mode_fixed");
		log_str(ev, "path", path);
		log_str(ev, "mode", "0600");
		log_end(r->lg, ev);
	}
	if (fd == -1 && own != -1)
		(void)close(own);
}

/* The fields both ledger records carry. */
static cJSON *
ledger_record(struct run *r, const char *event)
{
	cJSON *rec = cJSON_CreateObject();
	char iso[CLOCK_ISO_LEN], host[256];
	int64_t now = clock_real_ms();

	if (rec == NULL)
		return NULL;
	clock_iso(now, iso);
	log_str(rec, "event", event);
	log_str(rec, "run", log_run_id(r->lg));
	log_str(rec, "ts", iso);
	log_int(rec, "ts_ms", now);
	log_str(rec, "tag", r->o->tag);
	log_int(rec, "pid", getpid());
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		log_str(rec, "host", host);
	}
	log_str(rec, "claude", r->cli);
	log_int(rec, "prompt_bytes", (int64_t)r->prompt_bytes);
	log_str(rec, "prompt_sha", r->prompt_sha);
	log_str(rec, "transcript", transcript_name(r));
	cliversion_fields(rec, &r->cv, false);
	return rec;
}

/* A ledger that cannot be written is a warning, given once. */
static void
ledger_warn(struct run *r)
{
	cJSON *ev;

	if (r->ledger_warned)
		return;
	r->ledger_warned = true;
	ev = log_begin(r->lg, LV_WARN, "warn");
	log_str(ev, "reason", "ledger");
	log_str(ev, "path", r->ledger);
	log_str(ev, "error", io_strerror(errno));
	log_end(r->lg, ev);
}

/* Appends a record and waits for the disk. */
static void
ledger_write(struct run *r, cJSON *rec)
{
	if (rec != NULL && r->ledger[0] != '\0' &&
	    ledger_append(r->ledger, rec) == -1)
		ledger_warn(r);
	/* Redis gets its copy once the local record is on disk. */
	if (r->ledger[0] != '\0')
		fleet_ledger_add(r->fl, rec);
	cJSON_Delete(rec);
}

/*
 * The start record is written before the CLI starts but synced once it
 * runs, so that the disk's wait overlaps the CLI's start-up instead of
 * adding to the run (BENCHMARKS.md, budgets). It is synced before anything
 * that can wait (a lock, a cooldown) as well, and the CLI takes far
 * longer to reach the API than the fsync takes.
 */
static void
ledger_start(struct run *r)
{
	cJSON *rec;

	if (r->ledger[0] == '\0')
		return;
	rec = ledger_record(r, "start");
	if (rec == NULL ||
	    (r->ledger_fd = ledger_append_nosync(r->ledger, rec)) == -1)
		ledger_warn(r);
	else
		fix_mode(r, r->ledger_fd, r->ledger);
	fleet_ledger_hold(r->fl, rec);	/* sent by ledger_settle */
	cJSON_Delete(rec);
}

static void
ledger_settle(struct run *r)
{
	if (r->ledger_fd != -1 && ledger_sync(r->ledger_fd) == -1)
		ledger_warn(r);
	r->ledger_fd = -1;
	/* The local copy first, always: Redis never holds the only one. */
	fleet_ledger_flush(r->fl);
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
static int
run_exit(const struct run *r)
{
	if (r->st == ST_LOCKED && !r->lock_unreachable)
		return (int)r->o->lock_exit_code;
	return status_exit(r->st, r->sig);
}

/* What the done line and the done record share, beyond the basics. */
static void
add_outcome(struct run *r, cJSON *obj)
{
	char iso[CLOCK_ISO_LEN];
	cJSON *out;

	log_str(obj, "status", status_word(r->st));
	log_int(obj, "exit", run_exit(r));
	cJSON_AddBoolToObject(obj, "transient", status_transient(r->st));
	log_int(obj, "attempts", r->attempts);
	log_int(obj, "duration_ms", clock_mono_ms() - r->t0);
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
	if (r->wrote_output && (out = cJSON_AddObjectToObject(obj,
	    "output")) != NULL) {
		log_str(out, "path", r->out_path);
		log_int(out, "size", (int64_t)r->out_info.size);
		log_str(out, "sha256", r->out_info.sha256);
	}
	add_names(obj, "tools_called", r->tools, r->ntools);
	add_names(obj, "expect_missing", (char *const *)r->missing, r->nmissing);
	/*
	 * Each API response, and each retry the CLI made on its own; a CLI
	 * that retries without saying so (cliversion.h) makes it a floor.
	 */
	if (r->requests > 0)
		log_int(obj, r->cv.ignores_max_retries ? "requests_min" :
		    "requests", r->requests + r->cli_retries);
	txn_fields(r, obj);
	if (r->detail[0] != '\0')
		log_str(obj, "detail", r->detail);
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
	if (child_env(r) == -1) {
		set_end(r, ST_USAGE, "environment: %s", strerror(errno));
		return -1;
	}
	if (take_prompt(r) == -1) {
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
	    r->prompt_bytes > (uint64_t)o->max_prompt_bytes) {
		set_end(r, ST_CLAUDE_ERROR, "prompt of %llu bytes is over "
		    "--max-prompt-bytes=%lld", (unsigned long long)r->prompt_bytes,
		    (long long)o->max_prompt_bytes);
		return -1;
	}
	if (o->lock != NULL && o->lock[0] != '/' && !r->state_ok &&
	    r->fl == NULL) {
		set_end(r, ST_USAGE, "--lock=%s: the state dir %s is not used "
		    "(%s)", o->lock, r->state_dir, r->state_why);
		return -1;
	}
	cliversion_detect(&r->cv, r->cli, r->state_ok ? r->state_dir : NULL,
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
		fix_mode(r, -1, transcript_path(r->tr));
	log_start(r);
	cliversion_warn(r->lg, &r->cv);
	if (r->ledger[0] != '\0' && rotate_ledger(r->ledger, o->ledger_max) == -1)
		ledger_warn(r);
	ledger_start(r);
	beat(r, HB_STARTING, 0);
	if (o->lock != NULL)
		ledger_settle(r);
	return take_lock(r) == -1 ? -1 : txn_begin(r);
}

/* A failed job is an error whether or not a retry may mend it. */
static enum log_level
done_level(const struct run *r)
{
	if (run_exit(r) != 0)
		return LV_ERROR;
	return r->st == ST_OK ? LV_INFO : LV_WARN;
}

static void
log_done(struct run *r)
{
	cJSON *ev = log_begin(r->lg, done_level(r), "done");

	add_outcome(r, ev);
	/* Flat output_path= and output_sha256=, not JSON inside logfmt. */
	log_flatten(ev, "output");
	log_str(ev, "transcript", transcript_name(r));
	cliversion_fields(ev, &r->cv, false);
	log_end(r->lg, ev);
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
	forget_tools(r);
	cliargs_free(&r->ca);
	free(r->envp);
	free(r->env_own[0]);
	free(r->env_own[1]);
	free(r->env_own[2]);
	if (r->stdin_fd != -1)
		close(r->stdin_fd);
	if (r->sigfd != -1)
		close(r->sigfd);
	lock_release(r->lock_fd);
	fleet_close(r->fl);
	if (r->txn != NULL)
		txn_free(r->txn);
	free(r->resume_argv);
}

struct run_end
run_main(const struct options *o, struct log *lg)
{
	struct run r;
	struct run_end end;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.lg = lg;
	r.stdin_fd = r.sigfd = r.lock_fd = r.ledger_fd = -1;
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
	log_done(&r);
	ledger_settle(&r);
	if (r.ledger[0] != '\0') {
		cJSON *rec = ledger_record(&r, "done");
		add_outcome(&r, rec);
		ledger_write(&r, rec);
	}
	beat(&r, HB_DONE, 0);
	end.exit = run_exit(&r);
	end.sig = r.st == ST_SIGNAL ? r.sig : 0;
	cleanup(&r);
	return end;
}

struct run_end
run_usage_error(struct log *lg, const char *msg)
{
	cJSON *ev = log_begin(lg, LV_ERROR, "done");
	struct run_end end = { status_exit(ST_USAGE, 0), 0 };

	log_str(ev, "status", status_word(ST_USAGE));
	log_int(ev, "exit", end.exit);
	cJSON_AddFalseToObject(ev, "transient");
	log_int(ev, "attempts", 0);
	log_int(ev, "duration_ms", 0);
	log_str(ev, "detail", msg);
	log_end(lg, ev);
	return end;
}

struct run_end
run_exec_direct(const struct options *o, struct log *lg)
{
	/* cli_argv points into main's argv, after at least argv[0]. */
	char **argv = o->cli_argv - 1;
	static char skip[PATH_MAX];
	char cli[PATH_MAX], why[PATH_MAX + 1200];
	struct run_end end = { 0, 0 };
	int64_t t0 = clock_mono_ms();

	switch (locate_cli(o->claude, cli, sizeof(cli), why, sizeof(why))) {
	case LOC_OK:
		/* Were cli another claudewrap, it must not come back to us. */
		if (locate_skip_entry(skip, sizeof(skip)) == 0)
			(void)putenv(skip);
		argv[0] = cli;
		execv(cli, argv);
		snprintf(why, sizeof(why), "%s: %s", cli, strerror(errno));
		end.exit = status_exit(errno == ENOENT ? ST_NOT_FOUND :
		    ST_NOT_EXECUTABLE, 0);
		break;
	case LOC_NOT_FOUND:
		end.exit = status_exit(ST_NOT_FOUND, 0);
		break;
	case LOC_NOT_EXECUTABLE:
		end.exit = status_exit(ST_NOT_EXECUTABLE, 0);
		break;
	}
	cJSON *ev = log_begin(lg, LV_ERROR, "done");
	log_str(ev, "status", status_word(end.exit == 127 ? ST_NOT_FOUND :
	    ST_NOT_EXECUTABLE));
	log_int(ev, "exit", end.exit);
	cJSON_AddFalseToObject(ev, "transient");
	log_int(ev, "attempts", 0);
	log_int(ev, "duration_ms", clock_mono_ms() - t0);
	log_str(ev, "detail", why);
	log_end(lg, ev);
	return end;
}

/*
 * Waits up to ms for pid; then kills its group (spawn_cli made it a
 * session of its own) and every descendant, and returns -1.
 */
static int
wait_bounded(pid_t pid, int64_t ms)
{
	int64_t end = clock_mono_ms() + ms, pause = 1;

	while (clock_mono_ms() < end) {
		pid_t p = waitpid(pid, NULL, WNOHANG);
		if (p == pid || (p == -1 && errno != EINTR))
			return 0;
		(void)poll(NULL, 0, (int)pause);
		pause = pause < 64 ? pause * 2 : 64;
	}
	(void)tree_signal(getpid(), pid, SIGKILL, NULL, 0);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return -1;
}

int
run_version(const struct options *o)
{
	char cli[PATH_MAX], why[PATH_MAX + 1200];
	char *argv[3] = { cli, "--version", NULL };
	sigset_t mask;
	pid_t pid;
	int err;

	printf("claudewrap %s\n", CLAUDEWRAP_VERSION);
	if (locate_cli(o->claude, cli, sizeof(cli), why, sizeof(why)) != LOC_OK) {
		printf("claude: %s\n", why);
		return 0;
	}
	printf("claude: %s\n", cli);
	fflush(stdout);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	struct spawn_req rq = { .path = cli, .argv = argv, .envp = environ,
	    .fd_in = STDIN_FILENO, .fd_out = STDOUT_FILENO,
	    .fd_err = STDERR_FILENO, .mask = &mask };
	(void)tree_make_subreaper();	/* its escaped children are ours */
	if ((pid = spawn_cli(&rq, &err)) == -1)
		printf("claude: %s\n", strerror(err));
	else if (wait_bounded(pid, VERSION_WAIT_MS) == -1)
		printf("claude: no answer to --version in %d s\n",
		    VERSION_WAIT_MS / 1000);
	return 0;
}
