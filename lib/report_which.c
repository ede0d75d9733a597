/*
 * --which FILE (report_which.h). Paths in the ledger are compared with
 * FILE resolved, so a relative or linked name still matches; and the
 * newest record wins, a later line breaking a tie.
 */
#include "report_which.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "hash.h"
#include "io.h"
#include "report_rec.h"
#include "report_scan.h"

struct which {
	const char	*sha;		/* the file's current content */
	const char	*real;		/* the file, resolved */
	cJSON		*here;		/* latest: these bytes, this path */
	cJSON		*elsewhere;	/* latest: these bytes, another path */
	cJSON		*path_last;	/* latest to write this path at all */
	char		 last_cmp[PATH_MAX];	/* a one-entry realpath cache */
	bool		 last_same;
};

static bool
same_file(struct which *w, const char *p)
{
	char rp[PATH_MAX];

	if (strcmp(p, w->real) == 0)
		return true;
	if (strcmp(p, w->last_cmp) == 0)
		return w->last_same;
	strlcpy(w->last_cmp, p, sizeof(w->last_cmp));
	w->last_same = realpath(p, rp) != NULL && strcmp(rp, w->real) == 0;
	return w->last_same;
}

/* Keeps rec in *slot when it is at least as late (a later line wins ties). */
static void
keep_latest(cJSON **slot, const cJSON *rec)
{
	int64_t t = rec_time(rec);

	if (*slot != NULL && t != TIME_NONE && rec_time(*slot) > t)
		return;
	cJSON_Delete(*slot);
	*slot = cJSON_Duplicate(rec, true);
}

static void
which_visit(void *ctx, const cJSON *rec)
{
	struct which *w = ctx;
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(rec, "output");
	const char *path = rec_str(out, "path"), *sha = rec_str(out, "sha256");
	bool here;

	if (!rec_is(rec, "done") || path == NULL)
		return;
	here = same_file(w, path);
	if (here)
		keep_latest(&w->path_last, rec);
	if (sha == NULL || strcasecmp(sha, w->sha) != 0)
		return;
	keep_latest(here ? &w->here : &w->elsewhere, rec);
}

static void
which_free(struct which *w)
{
	cJSON_Delete(w->here);
	cJSON_Delete(w->elsewhere);
	cJSON_Delete(w->path_last);
}

/* "3h 12m ago" for a person deciding whether an artifact is stale. */
static void
age(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms == TIME_NONE ? -1 : (clock_real_ms() - ms) / 1000;

	if (s < 0)
		snprintf(buf, size, "?");
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m ago", s / 60);
	else if (s < 86400 * 2)
		snprintf(buf, size, "%" PRId64 "h %" PRId64 "m ago", s / 3600,
		    s / 60 % 60);
	else
		snprintf(buf, size, "%" PRId64 "d ago", s / 86400);
}

static void
field(FILE *out, const char *name, const char *val)
{
	fprintf(out, "  %-8s %s\n", name, val != NULL ? val : "-");
}

static void
which_found(FILE *out, const char *file, const cJSON *rec, bool here,
    const cJSON *path_last)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(rec, "output");
	char ts[CLOCK_ISO_LEN], ago[32], buf[PATH_MAX + 64];
	int64_t t = rec_time(rec);

	if (here)
		fprintf(out, "%s: written by run %s\n", file,
		    rec_str(rec, "run") ? rec_str(rec, "run") : "-");
	else
		fprintf(out, "%s: these bytes were written by run %s to %s\n",
		    file, rec_str(rec, "run") ? rec_str(rec, "run") : "-",
		    rec_str(o, "path"));
	rec_iso(t, ts);
	age(t, ago, sizeof(ago));
	snprintf(buf, sizeof(buf), "%s (%s)", ts, ago);
	field(out, "time", buf);
	field(out, "tag", rec_str(rec, "tag"));
	snprintf(buf, sizeof(buf), "%s (%" PRId64 " bytes)",
	    rec_str(rec, "prompt_sha") ? rec_str(rec, "prompt_sha") : "-",
	    rec_int(rec, "prompt_bytes", 0));
	field(out, "prompt", buf);
	field(out, "model", rec_str(rec, "model"));
	snprintf(buf, sizeof(buf), "%s (exit %" PRId64 ")",
	    rec_str(rec, "status") ? rec_str(rec, "status") : "-",
	    rec_int(rec, "exit", -1));
	field(out, "status", buf);
	/* The design's fifth lie: an earlier run's artifact read as new. */
	if (here && path_last != NULL && path_last != rec &&
	    rec_time(path_last) > t) {
		rec_iso(rec_time(path_last), ts);
		fprintf(out, "note: run %s wrote other content to this path "
		    "later, at %s: this file is older than that\n",
		    rec_str(path_last, "run"), ts);
	}
}

static void
which_none(FILE *out, const char *file, const struct which *w,
    uint64_t size)
{
	char ts[CLOCK_ISO_LEN], ago[32];
	const char *sha;

	fprintf(out, "%s: no run in the ledger wrote its current content "
	    "(sha256 %.12s..., %" PRIu64 " bytes)\n", file, w->sha, size);
	if (w->path_last == NULL) {
		fprintf(out, "%s: no run in the ledger wrote to this path "
		    "either\n", file);
		return;
	}
	rec_iso(rec_time(w->path_last), ts);
	age(rec_time(w->path_last), ago, sizeof(ago));
	sha = rec_str(cJSON_GetObjectItemCaseSensitive(w->path_last,
	    "output"), "sha256");
	fprintf(out, "%s: run %s (tag %s) wrote this path at %s (%s), "
	    "sha256 %.12s...: the file was changed or overwritten since\n",
	    file, rec_str(w->path_last, "run") ? rec_str(w->path_last, "run") :
	    "-", rec_str(w->path_last, "tag") ? rec_str(w->path_last, "tag") :
	    "-", ts, ago, sha != NULL ? sha : "?");
}

/* Scans f for who wrote real's content sha; -1 on a read error. */
static int
which_scan(FILE *f, const char *sha, const char *real, struct which *w)
{
	struct rscan_stats ss = { 0 };

	memset(w, 0, sizeof(*w));
	w->sha = sha;
	w->real = real;
	return rscan(f, false, which_visit, w, &ss);
}

int
rwhich_writer(FILE *f, const char *sha, const char *real, cJSON **rec)
{
	struct which w;
	int rc, e;

	*rec = NULL;
	rc = which_scan(f, sha, real, &w);
	e = errno;
	if (rc == 0 && w.here != NULL) {
		*rec = w.here;
		w.here = NULL;
	} else if (rc == 0) {
		*rec = w.elsewhere;
		w.elsewhere = NULL;
	}
	which_free(&w);
	errno = e;
	return rc;
}

int
rwhich(const struct ropts *o, FILE *f, struct rio *io)
{
	char sha[HASH_HEX_LEN], real[PATH_MAX];
	struct which w;
	uint64_t size;
	int rc;

	if (hash_file(o->which, sha, &size) == -1 ||
	    realpath(o->which, real) == NULL) {
		rsay(io->err, "%s: %s", o->which, io_strerror(errno));
		return EXIT_FAILURE;
	}
	if (which_scan(f, sha, real, &w) == -1) {
		rsay(io->err, "%s: %s", o->ledger, strerror(errno));
		which_free(&w);
		return EXIT_FAILURE;
	}
	rc = EXIT_SUCCESS;
	if (w.here != NULL)
		which_found(io->out, o->which, w.here, true, w.path_last);
	else if (w.elsewhere != NULL)
		which_found(io->out, o->which, w.elsewhere, false, NULL);
	else {
		which_none(io->out, o->which, &w, size);
		rc = EXIT_FAILURE;
	}
	which_free(&w);
	return rc;
}
