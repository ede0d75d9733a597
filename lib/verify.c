#include "verify.h"

#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "guard.h"
#include "tree.h"

#define RESCAN_MS	250	/* while killing: look again for forks */
#define LINE_MAX_OUT	4096	/* a longer line is cut into pieces */

struct ver {
	const struct verify_cfg *cfg;
	struct verify_res *res;
	struct guard	 g;
	pid_t		 pid;
	int		 out;		/* -1 at EOF */
	bool		 exited;
	int		 status;
	bool		 empty;		/* nothing of its tree is left */
	bool		 term_sent, kill_sent;
	int64_t		 timeout_at, kill_at, rescan_at;
	char		 line[LINE_MAX_OUT];
	size_t		 len;
};

/* One line of its output on our stderr, prefixed. */
static void
emit(struct ver *v)
{
	char buf[LINE_MAX_OUT + 16];
	int n = snprintf(buf, sizeof(buf), "verify: %.*s\n", (int)v->len,
	    v->line);

	log_passthrough(v->cfg->log, buf, (size_t)n);
	v->len = 0;
}

/* Bytes of its output: whole lines out, the rest kept. */
static void
take(struct ver *v, const char *buf, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			emit(v);
			continue;
		}
		v->line[v->len++] = buf[i];
		if (v->len == sizeof(v->line))
			emit(v);
	}
}

static void
read_out(struct ver *v)
{
	char buf[8192];
	ssize_t n = read(v->out, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (v->len > 0)
			emit(v);
		close(v->out);
		v->out = -1;
		return;
	}
	take(v, buf, n);
}

/* At the end: what is buffered, without waiting for a leftover's EOF. */
static void
drain(struct ver *v)
{
	char buf[8192];
	ssize_t n;

	while (v->out != -1) {
		if ((n = read(v->out, buf, sizeof(buf))) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		take(v, buf, n);
	}
	if (v->len > 0)
		emit(v);
}

static void
kill_tree(struct ver *v, int sig, const char *reason)
{
	pid_t pids[32];
	int64_t now = clock_mono_ms();
	int n = tree_signal(v->g.pid, v->pid, sig, pids, 32);
	cJSON *ev = log_begin(v->cfg->log, LV_WARN, "kill");
	cJSON *arr;

	log_str(ev, "signal", sigabbrev_np(sig));
	log_str(ev, "reason", reason);
	log_int(ev, "pgid", v->pid);
	if ((arr = cJSON_AddArrayToObject(ev, "pids")) != NULL)
		for (int i = 0; i < n && i < 32; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateNumber(pids[i]));
	log_end(v->cfg->log, ev);
	v->term_sent = true;
	v->kill_sent = sig == SIGKILL;
	v->kill_at = now + v->cfg->kill_after_ms;
	v->rescan_at = now + RESCAN_MS;
}

static void
read_guard(struct ver *v)
{
	struct guard_state gs = { .exited = v->exited, .status = v->status,
	    .empty = v->empty };

	guard_take(&v->g, &gs, NULL, NULL);
	v->exited = gs.exited;
	v->status = gs.status;
	/* Killed, the guardian took the command with it: nothing to wait on. */
	v->empty = gs.empty || gs.lost;
}

static void
read_signals(struct ver *v)
{
	struct signalfd_siginfo si;

	while (read(v->cfg->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		if (v->res->sig == 0) {
			v->res->sig = (int)si.ssi_signo;
			kill_tree(v, (int)si.ssi_signo, "signal");
		} else if (!v->kill_sent)
			kill_tree(v, SIGKILL, "signal");
	}
}

static int
next_wake(const struct ver *v, int64_t now)
{
	int64_t next = INT64_MAX;

	if (!v->term_sent && v->timeout_at != 0)
		next = v->timeout_at;
	if (v->term_sent && !v->kill_sent && v->kill_at < next)
		next = v->kill_at;
	if (v->kill_sent && v->rescan_at < next)
		next = v->rescan_at;
	if (next == INT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void
loop(struct ver *v)
{
	for (;;) {
		int64_t now = clock_mono_ms();
		struct pollfd p[3] = {
			{ .fd = v->cfg->sigfd, .events = POLLIN },
			{ .fd = v->out, .events = POLLIN },
			{ .fd = v->g.st, .events = POLLIN } };

		/* Its output is read to EOF unless only leftovers hold it. */
		if (v->exited && (v->out == -1 || v->empty))
			break;
		if (!v->term_sent && v->timeout_at != 0 && now >= v->timeout_at) {
			v->res->timed_out = true;
			kill_tree(v, SIGTERM, "verify_timeout");
		} else if (v->term_sent && !v->kill_sent && now >= v->kill_at)
			kill_tree(v, SIGKILL, "kill_after");
		else if (v->kill_sent && now >= v->rescan_at) {
			(void)tree_signal(v->g.pid, v->pid, SIGKILL, NULL, 0);
			v->rescan_at = now + RESCAN_MS;
		}
		if (poll(p, 3, next_wake(v, clock_mono_ms())) <= 0)
			continue;
		if (p[1].revents != 0)
			read_out(v);
		if (p[2].revents != 0)
			read_guard(v);
		if (p[0].revents != 0)
			read_signals(v);
	}
	drain(v);
}

/* The environment of the CLI, with CLAUDEWRAP_ANSWER added. */
static char **
verify_env(const struct verify_cfg *cfg, char **own)
{
	size_t n = 0, k = 0;
	char **env;

	while (cfg->envp[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(char *))) == NULL ||
	    asprintf(own, "CLAUDEWRAP_ANSWER=%s", cfg->answer_path) == -1) {
		free(env);
		*own = NULL;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (strncmp(cfg->envp[i], "CLAUDEWRAP_ANSWER=", 18) != 0)
			env[k++] = cfg->envp[i];
	env[k++] = *own;
	env[k] = NULL;
	return env;
}

static int
start(struct ver *v, char **env)
{
	char *argv[] = { "sh", "-c", (char *)v->cfg->cmd, NULL };
	int op[2], in, err;
	struct spawn_req rq;

	if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (pipe2(op, O_CLOEXEC) == -1) {
		close(in);
		return -1;
	}
	rq = (struct spawn_req){ .path = "/bin/sh", .argv = argv, .envp = env,
	    .fd_in = in, .fd_out = op[1], .fd_err = op[1],
	    .mask = v->cfg->mask };
	v->pid = guard_spawn(&rq, &v->g, &err);
	close(in);
	close(op[1]);
	v->out = op[0];
	if (v->pid == -1) {
		close(v->out);
		v->out = -1;
		errno = err;
		return -1;
	}
	(void)fcntl(v->out, F_SETFL, O_NONBLOCK);
	return 0;
}

void
verify_run(const struct verify_cfg *cfg, struct verify_res *res)
{
	struct ver v;
	char *own = NULL, **env;
	int64_t t0 = clock_mono_ms();

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	res->exit = -1;
	v.cfg = cfg;
	v.res = res;
	v.out = -1;
	v.g.pid = v.g.ctl = v.g.st = -1;
	if ((env = verify_env(cfg, &own)) == NULL || start(&v, env) == -1) {
		snprintf(res->detail, sizeof(res->detail), "--verify: %s",
		    strerror(errno));
		free(env);
		free(own);
		return;
	}
	if (cfg->timeout_ms > 0)
		v.timeout_at = t0 + cfg->timeout_ms;
	loop(&v);
	/* Whatever it left running dies with the guardian. */
	guard_end(&v.g);
	if (v.out != -1)
		close(v.out);
	free(env);
	free(own);
	res->exit = WIFEXITED(v.status) ? WEXITSTATUS(v.status) :
	    128 + WTERMSIG(v.status);
	res->ms = clock_mono_ms() - t0;
}
