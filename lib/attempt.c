#include "attempt.h"

#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "guard.h"
#include "io.h"
#include "locate.h"
#include "spawn.h"
#include "spool.h"
#include "tree.h"

#define LOG_PIDS	64	/* pids named in one kill or reaped line */
#define RESCAN_MS	250	/* while killing: look again for forks */
#define READS_PER_POLL	16	/* of stdout, while each brings bytes */
/*
 * How often the tree's RSS is summed. A scan of all of /proc (to find
 * new descendants) costs 2-4 ms on a host of 100 processes, so without
 * --max-memory it is done every FULL_SCAN_MS, and the samples between
 * read only the processes found; under --max-memory, every sample scans.
 */
#define SAMPLE_MS	500
#define SAMPLE_LIMIT_MS	250
#define FULL_SCAN_MS	2000

struct att {
	const struct attempt_cfg *cfg;
	struct attempt_res *res;
	pid_t		 pid;
	int		 out_fd;	/* read ends; -1 once at EOF */
	int		 err_fd;
	bool		 main_exited;
	int		 main_status;
	bool		 tree_empty;	/* no child of ours is left */
	int64_t		 timeout_at, idle_at, grace_at, kill_at, tick_at;
	int64_t		 rescan_at;	/* while killing: next look for forks */
	int64_t		 sample_at;	/* next RSS sum of the tree */
	int64_t		 over_kb;	/* the sum that passed --max-memory */
	struct usage_sampler sampler;
	bool		 term_sent;
	bool		 kill_sent;
	bool		 killed_by_us;	/* a time limit or a signal ended it */
	bool		 draining;	/* EAGAIN now means nothing is left */
	bool		 late_result;	/* a result came after our kill */
	const char	*kill_reason;
	int		 internal_errno;
	const char	*internal_what;
	pid_t		 reaped[LOG_PIDS];
	int		 nreaped;
	struct guard	 g;		/* the CLI's parent, see guard.h */
	bool		 guard_lost;	/* killed by someone: we reap */
};

/* Whose descendants the tree is: the guardian's, or ours without it. */
static pid_t
tree_root(const struct att *a)
{
	return a->guard_lost ? getpid() : a->g.pid;
}

static void
log_pids(cJSON *ev, const char *key, const pid_t *pids, int n)
{
	cJSON *arr = cJSON_AddArrayToObject(ev, key);

	for (int i = 0; arr != NULL && i < n && i < LOG_PIDS; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(pids[i]));
}

/* Signals the group and every descendant; logs it once per reason. */
static void
start_kill(struct att *a, int sig, const char *reason)
{
	pid_t pids[LOG_PIDS];
	int64_t now = clock_mono_ms();
	int n = tree_signal(tree_root(a), a->pid, sig, pids, LOG_PIDS);
	cJSON *ev = log_begin(a->cfg->log, LV_WARN, "kill");

	log_str(ev, "signal", sigabbrev_np(sig));
	log_str(ev, "reason", reason);
	log_int(ev, "pgid", a->pid);
	log_pids(ev, "pids", pids, n);
	log_end(a->cfg->log, ev);
	if (!a->term_sent)
		a->kill_reason = reason;
	a->term_sent = true;
	a->kill_sent = sig == SIGKILL;
	/* The grace runs from the signal, not from after the scan and log. */
	a->kill_at = now + a->cfg->kill_after_ms;
	a->rescan_at = now + RESCAN_MS;
}

/* A process below the guardian ended: its cost, and its pid for the log. */
static void
on_guard_report(void *ctx, const struct guard_msg *m)
{
	struct att *a = ctx;

	usage_account(&a->res->use, m->kind == GM_EXITED, &m->ru, m->comm);
	if (m->kind == GM_REAPED && a->nreaped < LOG_PIDS)
		a->reaped[a->nreaped++] = m->pid;
}

/*
 * The guardian's reports. Should it die (someone killed it), its
 * orphans come to us, the subreaper above it, and we reap as before.
 */
static void
reap_guarded(struct att *a)
{
	struct guard_state gs = { .exited = a->main_exited,
	    .status = a->main_status, .empty = a->tree_empty };

	guard_take(&a->g, &gs, on_guard_report, a);
	a->main_exited = gs.exited;
	a->main_status = gs.status;
	a->tree_empty = gs.empty;
	a->guard_lost = gs.lost;
}

/* Collects every child that has ended; notes when none is left. */
static void
reap(struct att *a)
{
	int st;
	pid_t p;

	if (!a->guard_lost) {
		reap_guarded(a);
		if (!a->guard_lost)
			return;
	}
	while ((p = usage_reap(&a->res->use, a->pid, &st)) > 0) {
		if (p == a->pid) {
			a->main_exited = true;
			a->main_status = st;
		} else if (a->nreaped < LOG_PIDS)
			a->reaped[a->nreaped++] = p;
	}
	/*
	 * As a subreaper, every live descendant has a live ancestor chain
	 * ending in one of our children: no children means no descendants.
	 */
	a->tree_empty = p == -1 && errno == ECHILD;
}

static void
on_signal(struct att *a, int sig)
{
	if (sig == SIGCHLD) {
		reap(a);
		return;
	}
	if (a->res->sig != 0 || a->main_exited) {
		/* A second signal, or leftovers only: no more grace. */
		if (a->res->sig == 0)
			a->res->sig = sig;
		if (!a->kill_sent)
			start_kill(a, SIGKILL, "signal");
		return;
	}
	a->res->sig = sig;
	a->killed_by_us = true;
	/* Forward the signal itself, as timeout(1) does, then escalate. */
	start_kill(a, sig, "signal");
}

static void
drain_signals(struct att *a)
{
	struct signalfd_siginfo si;

	while (read(a->cfg->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		on_signal(a, (int)si.ssi_signo);
}

static void
fail_internal(struct att *a, const char *what)
{
	if (a->internal_errno == 0) {
		a->internal_errno = errno;
		a->internal_what = what;
	}
	if (!a->term_sent)
		start_kill(a, SIGTERM, "internal_error");
}

/* One read of the CLI's stdout: true when it brought bytes. */
static bool
read_stdout(struct att *a)
{
	char buf[65536];
	ssize_t n = read(a->out_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || (errno == EAGAIN && !a->draining)))
		return false;
	if (n <= 0 || a->internal_errno != 0) {
		close(a->out_fd);
		a->out_fd = -1;
		return false;
	}
	if (a->cfg->keep_stream &&
	    io_write_all(a->res->spool_fd, buf, (size_t)n) == -1) {
		fail_internal(a, "spool");
		return false;
	}
	a->res->out_bytes += n;
	if (a->cfg->idle_ms > 0)
		a->idle_at = clock_mono_ms() + a->cfg->idle_ms;
	if (payload_feed(a->res->pl, buf, (size_t)n) == -1)
		fail_internal(a, payload_spool_failed(a->res->pl) ? "spool" :
		    "payload");
	return a->internal_errno == 0;
}

/*
 * While the CLI writes faster than it is read, the next read finds bytes
 * without a poll between: a poll per pipe write cost as much as the read.
 * Bounded, so that stderr, signals and timers are still seen.
 */
static void
read_stdout_run(struct att *a)
{
	for (int i = 0; i < READS_PER_POLL && read_stdout(a); i++)
		;
}

static void
read_stderr(struct att *a)
{
	char buf[16384];
	ssize_t n = read(a->err_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || (errno == EAGAIN && !a->draining)))
		return;
	if (n <= 0) {
		close(a->err_fd);
		a->err_fd = -1;
		return;
	}
	if (a->cfg->idle_ms > 0)
		a->idle_at = clock_mono_ms() + a->cfg->idle_ms;
	log_passthrough(a->cfg->log, buf, (size_t)n);
}

static void
on_stream_event(void *ctx, const struct pl_event *ev)
{
	struct att *a = ctx;

	if (ev->kind == PLE_API_RETRY) {
		cJSON *le = log_begin(a->cfg->log, LV_WARN, "cli_retry");
		log_int(le, "attempt", a->cfg->number);
		log_int(le, "cli_attempt", ev->retry_attempt);
		log_int(le, "cli_max", ev->retry_max);
		log_int(le, "delay_ms", (int64_t)ev->retry_delay_ms);
		if (ev->error_status != 0)
			log_int(le, "status", ev->error_status);
		log_str(le, "error", ev->error);
		log_end(a->cfg->log, le);
		a->res->cli_retries++;
	} else if (ev->kind == PLE_RESULT && a->killed_by_us && a->grace_at == 0)
		/*
		 * Killed mid-tool, the CLI may still send the tool's result to
		 * the API and print the next answer as a success: an answer
		 * to a question cut short, not the answer asked for.
		 */
		a->late_result = true;
	else if (ev->kind == PLE_RESULT && a->grace_at == 0)
		a->grace_at = clock_mono_ms() + a->cfg->kill_after_ms;
	if (a->cfg->observe != NULL)
		a->cfg->observe(a->cfg->observe_ctx, ev);
}

static const char *
phase(const struct att *a)
{
	return a->term_sent ? "killing" : "running";
}

/* Sums the tree's RSS; past --max-memory, kills it. */
static void
sample(struct att *a, int64_t now)
{
	int64_t kb = usage_sample(&a->res->use, &a->sampler, tree_root(a), now,
	    a->cfg->max_rss_kb > 0 ? 0 : FULL_SCAN_MS);

	a->sample_at = now + (a->cfg->max_rss_kb > 0 ? SAMPLE_LIMIT_MS :
	    SAMPLE_MS);
	if (a->cfg->max_rss_kb > 0 && kb > a->cfg->max_rss_kb) {
		a->over_kb = kb;
		a->killed_by_us = true;
		start_kill(a, SIGTERM, "max_memory");
	}
}

static void
check_timers(struct att *a, int64_t now)
{
	if (a->sample_at != 0 && now >= a->sample_at && !a->term_sent &&
	    !a->main_exited)
		sample(a, now);
	if (a->tick_at != 0 && now >= a->tick_at) {
		a->cfg->tick(a->cfg->hook_ctx, phase(a));
		a->tick_at = now + a->cfg->tick_ms;
	}
	if (!a->term_sent && !a->main_exited) {
		if (a->grace_at != 0 && now >= a->grace_at) {
			a->killed_by_us = true;
			start_kill(a, SIGKILL, "result_then_hang");
		} else if (a->grace_at == 0 && a->timeout_at != 0 &&
		    now >= a->timeout_at) {
			a->killed_by_us = true;
			start_kill(a, SIGTERM, a->cfg->timeout_is_deadline ?
			    "deadline" : "timeout");
		} else if (a->grace_at == 0 && a->idle_at != 0 &&
		    now >= a->idle_at) {
			a->killed_by_us = true;
			start_kill(a, SIGTERM, "idle");
		}
	}
	if (a->term_sent && !a->kill_sent && now >= a->kill_at)
		start_kill(a, SIGKILL, "kill_after");
	if (a->main_exited && !a->tree_empty && !a->term_sent)
		start_kill(a, SIGTERM, "leftovers");
}

static int
poll_timeout(const struct att *a, int64_t now)
{
	int64_t next = INT64_MAX;

#define SOONER(t) do { if ((t) != 0 && (t) < next) next = (t); } while (0)
	SOONER(a->tick_at);
	if (!a->term_sent && !a->main_exited) {
		SOONER(a->sample_at);
		SOONER(a->grace_at);
		if (a->grace_at == 0) {
			SOONER(a->timeout_at);
			SOONER(a->idle_at);
		}
	}
	if (a->term_sent && !a->kill_sent)
		SOONER(a->kill_at);
	if (a->kill_sent && !a->tree_empty)
		SOONER(a->rescan_at);
#undef SOONER
	if (next == INT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

/* After the tree is gone: whatever is still buffered in the pipes. */
static void
drain_pipes(struct att *a)
{
	a->draining = true;
	while (a->out_fd != -1)
		(void)read_stdout(a);
	while (a->err_fd != -1)
		read_stderr(a);
}

static void
event_loop(struct att *a)
{
	struct pollfd pfd[4];

	for (;;) {
		int64_t now = clock_mono_ms();
		int n = 0, r;

		check_timers(a, now);
		if (a->main_exited && a->tree_empty)
			break;
		/* A full /proc scan each: not on every SIGCHLD of the dying. */
		if (a->kill_sent && !a->tree_empty && now >= a->rescan_at) {
			(void)tree_signal(tree_root(a), a->pid, SIGKILL, NULL,
			    0);
			a->rescan_at = now + RESCAN_MS;
		}
		pfd[n++] = (struct pollfd){ .fd = a->cfg->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = a->out_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = a->err_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = a->g.st, .events = POLLIN };
		r = poll(pfd, (nfds_t)n, poll_timeout(a, now));
		if (r < 0 && errno != EINTR)
			fail_internal(a, "poll");
		if (r <= 0)
			continue;
		if (pfd[1].revents != 0)
			read_stdout_run(a);
		if (pfd[2].revents != 0)
			read_stderr(a);
		if (pfd[0].revents != 0)
			drain_signals(a);
		if (pfd[3].revents != 0)
			reap(a);
	}
	drain_pipes(a);
}

static void
judge(struct att *a)
{
	struct attempt_res *res = a->res;
	struct verdict *v = &res->v;
	struct pl_end end;
	int st = a->main_status;
	char interp[64];

	memset(&end, 0, sizeof(end));
	end.exited = WIFEXITED(st);
	end.exit_code = end.exited ? WEXITSTATUS(st) : 0;
	end.term_sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	/* The exit status is then claudewrap's doing, not the CLI's word. */
	end.timed_out = a->killed_by_us && res->sig == 0;
	payload_judge(res->pl, &end, v);
	res->oc = v->oc;
	if (res->sig != 0) {
		res->oc = OC_SIGNAL;
		snprintf(v->detail, sizeof(v->detail), "got SIG%s",
		    sigabbrev_np(res->sig));
	} else if (a->internal_errno != 0) {
		res->oc = OC_USAGE;
		snprintf(v->detail, sizeof(v->detail), "%s: %s",
		    a->internal_what, strerror(a->internal_errno));
	} else if (a->over_kb > 0) {
		res->oc = v->oc = OC_OVER_LIMIT;
		snprintf(v->detail, sizeof(v->detail), "the tree's RSS reached "
		    "%" PRId64 " KiB, over --max-memory (%" PRId64 " KiB)",
		    a->over_kb, a->cfg->max_rss_kb);
	} else if (a->late_result) {
		res->oc = v->oc = OC_TIMEOUT;
		snprintf(v->detail, sizeof(v->detail), "%s (a result came after "
		    "the kill and was not taken)", a->kill_reason);
	} else if (res->oc == OC_TIMEOUT) {
		snprintf(v->detail, sizeof(v->detail), "%s", a->kill_reason);
	} else if (!v->have_result && end.exited && res->out_bytes == 0 &&
	    (end.exit_code == 126 || end.exit_code == 127)) {
		/* `#!/usr/bin/env node` with no node on cron's PATH. */
		res->oc = end.exit_code == 127 ? OC_NOT_FOUND : OC_NOT_EXECUTABLE;
		if (locate_interpreter(a->cfg->path, interp, sizeof(interp)))
			snprintf(v->detail, sizeof(v->detail), "interpreter '%s' "
			    "of %s could not be run (not on PATH?)", interp,
			    a->cfg->path);
		else
			snprintf(v->detail, sizeof(v->detail), "the CLI exited "
			    "%d with no output", end.exit_code);
	}
}

static void
log_reaped(struct att *a)
{
	cJSON *ev, *names;

	if (a->nreaped == 0)
		return;
	ev = log_begin(a->cfg->log, LV_INFO, "reaped");
	log_int(ev, "attempt", a->cfg->number);
	log_int(ev, "count", a->nreaped);
	log_pids(ev, "pids", a->reaped, a->nreaped);
	if (a->res->use.nnames > 0 &&
	    (names = cJSON_AddArrayToObject(ev, "names")) != NULL)
		for (int i = 0; i < a->res->use.nnames; i++)
			cJSON_AddItemToArray(names,
			    cJSON_CreateString(a->res->use.names[i]));
	log_end(a->cfg->log, ev);
}

static void
log_attempt(struct att *a)
{
	cJSON *ev = log_begin(a->cfg->log, LV_INFO, "attempt");

	log_int(ev, "attempt", a->cfg->number);
	log_int(ev, "pid", a->pid);
	if (a->cfg->timeout_ms > 0)
		log_int(ev, "timeout_ms", a->cfg->timeout_ms);
	log_end(a->cfg->log, ev);
}

static void
spawn_failed(struct att *a, int err)
{
	struct attempt_res *res = a->res;

	if (err == EMFILE || err == ENFILE || err == ENOMEM || err == EAGAIN)
		/* claudewrap's own limits, not a fault of the CLI. */
		res->oc = OC_USAGE;
	else
		res->oc = err == ENOENT || err == ENOTDIR || err == ELOOP ?
		    OC_NOT_FOUND : OC_NOT_EXECUTABLE;
	snprintf(res->v.detail, sizeof(res->v.detail), "%s: %s", a->cfg->path,
	    strerror(err));
	res->v.oc = res->oc;
}

/* Opens the pipes and starts the child; -1 when it could not start. */
static int
start(struct att *a)
{
	int outp[2], errp[2], err;
	struct spawn_req rq;

	if (pipe2(outp, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(errp, O_CLOEXEC) == -1) {
		close(outp[0]);
		close(outp[1]);
		return -1;
	}
	(void)lseek(a->cfg->stdin_fd, 0, SEEK_SET);
	rq = (struct spawn_req){ .path = a->cfg->path, .argv = a->cfg->argv,
	    .envp = a->cfg->envp, .fd_in = a->cfg->stdin_fd,
	    .fd_out = outp[1], .fd_err = errp[1], .mask = a->cfg->child_mask };
	a->pid = guard_spawn(&rq, &a->g, &err);
	close(outp[1]);
	close(errp[1]);
	a->out_fd = outp[0];
	a->err_fd = errp[0];
	(void)fcntl(a->out_fd, F_SETFL, O_NONBLOCK);
	(void)fcntl(a->err_fd, F_SETFL, O_NONBLOCK);
	if (a->pid == -1) {
		close(a->out_fd);
		close(a->err_fd);
		a->out_fd = a->err_fd = -1;
		spawn_failed(a, err);
		return -1;
	}
	return 0;
}

void
attempt_run(const struct attempt_cfg *cfg, struct attempt_res *res)
{
	struct att a;
	int64_t now;

	memset(res, 0, sizeof(*res));
	memset(&a, 0, sizeof(a));
	a.g.pid = a.g.ctl = a.g.st = -1;
	a.cfg = cfg;
	a.res = res;
	a.out_fd = a.err_fd = -1;
	/* Without keep_stream, payload opens one if a line needs it. */
	res->spool_fd = cfg->keep_stream ? spool_open() : -1;
	res->pl = payload_new(cfg->format, on_stream_event, &a);
	if (res->pl != NULL) {
		if (cfg->keep_stream)
			payload_set_spool(res->pl, res->spool_fd);
		else
			payload_own_spool(res->pl);
		payload_set_placeholder(res->pl, cfg->empty_placeholder);
	}
	if ((cfg->keep_stream && res->spool_fd == -1) || res->pl == NULL) {
		res->oc = res->v.oc = OC_USAGE;
		snprintf(res->v.detail, sizeof(res->v.detail), "spool: %s",
		    strerror(errno));
		return;
	}
	if (start(&a) == -1) {
		if (res->oc == OC_OK) {
			res->oc = res->v.oc = OC_USAGE;
			snprintf(res->v.detail, sizeof(res->v.detail),
			    "pipe: %s", strerror(errno));
		}
		return;
	}
	log_attempt(&a);
	if (cfg->spawned != NULL)
		cfg->spawned(cfg->hook_ctx);
	now = clock_mono_ms();
	if (cfg->timeout_ms > 0)
		a.timeout_at = now + cfg->timeout_ms;
	if (cfg->idle_ms > 0)
		a.idle_at = now + cfg->idle_ms;
	if (cfg->tick_ms > 0 && cfg->tick != NULL)
		a.tick_at = now + cfg->tick_ms;
	a.sample_at = now + (cfg->max_rss_kb > 0 ? SAMPLE_LIMIT_MS : SAMPLE_MS);
	event_loop(&a);
	/*
	 * With nothing left below it, the guardian is only exiting: that
	 * overlaps delivery and the done record. Otherwise it kills what is
	 * left, and nothing of this attempt may outlive attempt_run.
	 */
	if (a.tree_empty)
		res->guard_pid = guard_close(&a.g);
	else
		guard_end(&a.g);
	judge(&a);
	log_reaped(&a);
}

void
attempt_res_free(struct attempt_res *res)
{
	guard_wait(res->guard_pid);
	res->guard_pid = -1;
	if (res->spool_fd != -1)
		close(res->spool_fd);
	res->spool_fd = -1;
	payload_free(res->pl);
	res->pl = NULL;
}
