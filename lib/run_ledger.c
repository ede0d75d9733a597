/*
 * The ledger writer: a start record before the CLI starts (synced once
 * it runs) and a done record at the end, each with the fields both
 * carry; Redis gets a copy with --state-url. A ledger that cannot be
 * written is one warning, never the end of a run.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "clock.h"
#include "fleet.h"
#include "io.h"
#include "ledger.h"
#include "run_int.h"

/*
 * A state file found looser than 0600 (made by hand, by an older
 * version, by a umask) is narrowed, with a warning. fd, or path if -1.
 */
void
run_fix_mode(struct run *r, int fd, const char *path)
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
	log_int(rec, "prompt_bytes", (int64_t)r->pr.bytes);
	log_str(rec, "prompt_sha", r->pr.sha);
	log_str(rec, "transcript", run_transcript_name(r));
	cliversion_fields(rec, &r->cv, false);
	return rec;
}

/* A ledger that cannot be written is a warning, given once. */
void
run_ledger_warn(struct run *r)
{
	cJSON *ev;

	if (r->lw.warned)
		return;
	r->lw.warned = true;
	ev = log_begin(r->lg, LV_WARN, "warn");
	log_str(ev, "reason", "ledger");
	log_str(ev, "path", r->lw.path);
	log_str(ev, "error", io_strerror(errno));
	log_end(r->lg, ev);
}

/* Appends a record and waits for the disk. */
static void
ledger_write(struct run *r, cJSON *rec)
{
	if (rec != NULL && r->lw.path[0] != '\0' &&
	    ledger_append(r->lw.path, rec) == -1)
		run_ledger_warn(r);
	/* Redis gets its copy once the local record is on disk. */
	if (r->lw.path[0] != '\0')
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
void
run_ledger_start(struct run *r)
{
	cJSON *rec;

	if (r->lw.path[0] == '\0')
		return;
	rec = ledger_record(r, "start");
	log_ints_as_text(rec);
	if (rec == NULL ||
	    (r->lw.fd = ledger_append_nosync(r->lw.path, rec)) == -1)
		run_ledger_warn(r);
	else
		run_fix_mode(r, r->lw.fd, r->lw.path);
	fleet_ledger_hold(r->fl, rec);	/* sent by run_ledger_settle */
	cJSON_Delete(rec);
}

void
run_ledger_settle(struct run *r)
{
	if (r->lw.fd != -1 && ledger_sync(r->lw.fd) == -1)
		run_ledger_warn(r);
	r->lw.fd = -1;
	/* The local copy first, always: Redis never holds the only one. */
	fleet_ledger_flush(r->fl);
}

/* The done record, once the done line is written. */
void
run_ledger_done(struct run *r)
{
	cJSON *rec;

	if (r->lw.path[0] == '\0')
		return;
	rec = ledger_record(r, "done");
	run_add_outcome(r, rec);
	log_ints_as_text(rec);
	ledger_write(r, rec);
}
