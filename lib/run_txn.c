/*
 * The run's side of transactions: --rollback (the tree recorded before
 * the first attempt, put back after a failed one and at a failed end),
 * --resume-on-retry (a retry continues the failed attempt's session)
 * and --verify (a command that must accept an ok answer before it is
 * delivered). txn.c and verify.c do the work; this file decides when,
 * and logs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "io.h"
#include "run_int.h"
#include "txn.h"

/*
 * --rollback, before the first attempt: the tree recorded, or 125 when
 * there is no git or no work tree here (nothing has run yet).
 */
int
run_txn_begin(struct run *r)
{
	char err[600];
	cJSON *ev;

	if (!r->o->rollback)
		return 0;
	if ((r->tx.txn = txn_open(log_run_id(r->lg), &r->orig_mask, err,
	    sizeof(err))) == NULL || txn_snapshot(r->tx.txn, err,
	    sizeof(err)) == -1) {
		if (r->tx.txn != NULL) {
			(void)txn_close(r->tx.txn, 0, err + strlen(err) + 1,
			    sizeof(err) - strlen(err) - 1);
			txn_free(r->tx.txn);
			r->tx.txn = NULL;
		}
		set_end(r, ST_USAGE, "%s", err);
		return -1;
	}
	ev = log_begin(r->lg, LV_INFO, "snapshot");
	log_str(ev, "ref", txn_ref(r->tx.txn));
	log_int(ev, "duration_ms", txn_snapshot_ms(r->tx.txn));
	log_end(r->lg, ev);
	return 0;
}

/* The tree put back after the last attempt; -1 (logged) if it could not. */
static int
restore_tree(struct run *r)
{
	char err[600];
	int rc = txn_restore(r->tx.txn, err, sizeof(err));
	cJSON *ev;

	r->tx.restored_at = r->attempts;
	ev = log_begin(r->lg, rc == 0 ? LV_INFO : LV_ERROR, "restore");
	log_int(ev, "attempt", r->attempts);
	log_int(ev, "files_changed", txn_files_changed(r->tx.txn));
	log_int(ev, "duration_ms", txn_restore_ms(r->tx.txn));
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
	free(r->tx.resume_argv);
	r->tx.resume_argv = argv;
	r->tx.resumed++;
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
int
run_txn_between(struct run *r)
{
	if (resumable(r) && resume_args(r) == 0)
		return 0;
	free(r->tx.resume_argv);
	r->tx.resume_argv = NULL;
	if (r->tx.txn == NULL || restore_tree(r) == 0)
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
bool
run_txn_verified(struct run *r)
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
	    .envp = r->env.envp, .mask = &r->orig_mask, .sigfd = r->sigfd,
	    .timeout_ms = r->o->verify_timeout_ms,
	    .kill_after_ms = r->o->kill_after_ms, .log = r->lg };
	verify_run(&cfg, &r->tx.ver);
	(void)unlink(path);
	r->tx.have_ver = r->tx.ver.exit != -1;
	ev = log_begin(r->lg, r->tx.ver.exit == 0 ? LV_INFO : LV_WARN,
	    "verify");
	log_int(ev, "exit", r->tx.ver.exit);
	log_int(ev, "duration_ms", r->tx.ver.ms);
	log_end(r->lg, ev);
	if (r->tx.ver.sig != 0) {
		r->sig = r->tx.ver.sig;
		set_end(r, ST_SIGNAL, "got SIG%s during --verify",
		    sigabbrev_np(r->sig));
	} else if (r->tx.ver.exit == -1)
		set_end(r, ST_USAGE, "%s", r->tx.ver.detail);
	else if (r->tx.ver.timed_out)
		set_end(r, ST_VERIFY_FAILED, "--verify ran out of its %lld ms "
		    "and was killed", (long long)r->o->verify_timeout_ms);
	else if (r->tx.ver.exit != 0)
		set_end(r, ST_VERIFY_FAILED, "--verify exited %d",
		    r->tx.ver.exit);
	return r->st == ST_OK;
}

/*
 * The end of a --rollback run: on success the edits stay and the ref
 * goes; otherwise the tree is put back (unless it already is) and the
 * ref is kept, pointing at what the run left.
 */
void
run_txn_end(struct run *r)
{
	char err[600];
	bool ok = r->st == ST_OK;
	cJSON *ev;

	if (r->tx.txn == NULL)
		return;
	if (ok && txn_count(r->tx.txn, err, sizeof(err)) == -1) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "rollback_count");
		log_str(ev, "error", err);
		log_end(r->lg, ev);
	}
	if (!ok && r->attempts > r->tx.restored_at)
		(void)restore_tree(r);
	if (txn_close(r->tx.txn, !ok, err, sizeof(err)) == -1) {
		ev = log_begin(r->lg, LV_WARN, "warn");
		log_str(ev, "reason", "rollback_ref");
		log_str(ev, "error", err);
		log_end(r->lg, ev);
	}
}

/* What the done line and record say of --rollback, --verify, resumes. */
void
run_txn_fields(struct run *r, cJSON *obj)
{
	if (r->tx.txn != NULL) {
		log_int(obj, "files_changed", txn_files_changed(r->tx.txn));
		if (r->st != ST_OK)
			log_str(obj, "rollback_ref", txn_ref(r->tx.txn));
	}
	if (r->tx.have_ver)
		log_int(obj, "verify_exit", r->tx.ver.exit);
	if (r->tx.resumed > 0)
		log_int(obj, "resumed", r->tx.resumed);
}
