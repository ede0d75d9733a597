/*
 * claudewrap-report: what the ledger says about past runs.
 *
 *   claudewrap-report [--ledger=PATH] [--state-dir=DIR] [--since=WHEN]
 *       [--tag=NAME] [--json | --prom[=FILE]] [LEDGER... | - | --stdin]
 *   claudewrap-report --state-url=URL [...]
 *   claudewrap-report --which FILE
 *   claudewrap-report --explain RUN
 *   claudewrap-report [--state-dir=DIR] --clear-cooldown
 *
 * The ledger is the files named as arguments, else --ledger, else
 * $CLAUDEWRAP_LEDGER, else ledger.jsonl in --state-dir,
 * $CLAUDEWRAP_STATE_DIR or the XDG state dir; each is read after its
 * rotated copies (report_files.c), its records by report_scan.c. This
 * file counts them; report_out.c prints the counts as text, --json or
 * --prom, with report_view.c's failures, tags, sparklines and cooldown.
 * --which is report_which.c's, --explain report_explain.c's. With `-` (or
 * --stdin) the summary reads claudewrap's stderr lines from stdin
 * instead (`claudewrap: ` then logfmt or JSON, or the syslog form
 * `claudewrap[PID]: `; bare ledger lines are taken too); every other
 * line is skipped. --which and --explain always read the ledger.
 * With --state-url the ledger is the fleet's copy in Redis (fleet.h),
 * and the summary adds a line per host.
 *
 * Records are read one line at a time with bounded memory; a line that
 * does not parse is counted as unreadable and skipped, and any field may
 * be missing. Exit status: see report.h.
 */
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "cooldown.h"
#include "duration.h"
#include "fleet.h"
#include "io.h"
#include "ledger.h"
#include "report_explain.h"
#include "report_files.h"
#include "report_map.h"
#include "report_opts.h"
#include "report_out.h"
#include "report_rec.h"
#include "report_scan.h"
#include "report_view.h"
#include "report_which.h"
#include "state.h"
#include "status.h"
#include "version.h"

#define PROG		"claudewrap-report"
#define EXPLAIN_MIN	8		/* characters of a run id prefix */
#define LOW_OUTPUT	10		/* claudewrap's --low-output-tokens */

void
rsay(FILE *err, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
}

static int
usage_error(FILE *err, const char *opt, const char *val)
{
	rsay(err, "%s: bad value '%s'", opt, val);
	return status_exit(ST_USAGE, 0);
}

/* ---- the summary ------------------------------------------------------- */

static void
run_free(void *v)
{
	struct run_seen *r = v;

	free(r->tag);
	free(r->host);
}

static void
sums_add(struct sums *s, const cJSON *rec)
{
	double cost;

	s->runs++;
	s->input += rec_int(rec, "input_tokens", 0);
	s->output += rec_int(rec, "output_tokens", 0);
	s->cache_read += rec_int(rec, "cache_read", 0);
	s->cache_creation += rec_int(rec, "cache_creation", 0);
	if (rec_num(rec, "cost_usd", &cost) && cost > 0 && cost < 1e9)
		s->cost_micro += (int64_t)(cost * 1e6 + 0.5);
}

static void
day_of(int64_t ms, char buf[16])
{
	time_t t;
	struct tm tm;

	if (ms == TIME_NONE) {
		strlcpy(buf, "unknown", 16);
		return;
	}
	t = (time_t)(ms / 1000 - (ms % 1000 < 0));
	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

static struct tagstat *
tag_get(struct agg *a, const char *tag)
{
	struct tagstat *ts = rmap_add(&a->tags, tag != NULL ? tag : "",
	    sizeof(*ts));

	if (ts == NULL)
		a->oom = true;
	return ts;
}

static bool
tag_wanted(const struct ropts *o, const char *tag)
{
	return o->tag == NULL || strcmp(o->tag, tag != NULL ? tag : "") == 0;
}

static void
agg_start(struct agg *a, const cJSON *rec, const char *id, int64_t t)
{
	struct run_seen *r;

	if (!tag_wanted(a->o, rec_str(rec, "tag")))
		return;
	if ((r = rmap_add(&a->runs, id, sizeof(*r))) == NULL) {
		a->oom = true;
		return;
	}
	if (r->started)
		return;
	r->started = true;
	r->start_ms = t;
	r->pid = rec_int(rec, "pid", -1);
	if (rec_str(rec, "tag") != NULL)
		r->tag = strdup(rec_str(rec, "tag"));
	if (rec_str(rec, "host") != NULL)
		r->host = strdup(rec_str(rec, "host"));
}

/* What the run's tree cost the machine (issue 17), where recorded. */
static void
machine_add(struct tagstat *ts, const cJSON *rec)
{
	int64_t kb = rec_int(rec, "peak_rss_kb", -1);

	if (kb < 0)
		return;
	ts->have_machine = true;
	if (kb > ts->peak_rss_kb)
		ts->peak_rss_kb = kb;
	ts->cpu_ms += rec_int(rec, "cpu_ms", 0);
}

/* The fleet's report: what each host's runs came to. */
static void
host_add(struct agg *a, const cJSON *rec, const struct run_seen *r, int st,
    int64_t t)
{
	const char *host = rec_str(rec, "host");
	struct tagstat *hs;

	if (host == NULL && r != NULL)
		host = r->host;
	if ((hs = rmap_add(&a->hosts, host != NULL ? host : "?",
	    sizeof(*hs))) == NULL) {
		a->oom = true;
		return;
	}
	sums_add(&hs->st[st], rec);
	if (st == ST_OK && t != TIME_NONE && (!hs->have_ok ||
	    t > hs->last_ok_ms)) {
		hs->have_ok = true;
		hs->last_ok_ms = t;
	}
}

static void
agg_done(struct agg *a, const cJSON *rec, const char *id, int64_t t)
{
	const char *tag = rec_str(rec, "tag");
	int st = rec_status_index(rec_str(rec, "status"));
	struct run_seen *r = id != NULL ? rmap_get(&a->runs, id) : NULL;
	struct tagstat *ts;
	struct day *d;
	char day[16];

	if (tag == NULL && r != NULL)
		tag = r->tag;
	if (!tag_wanted(a->o, tag))
		return;
	/* One done per run, even if a log was fed twice. */
	if (id != NULL && r == NULL && (r = rmap_add(&a->runs, id,
	    sizeof(*r))) == NULL) {
		a->oom = true;
		return;
	}
	if (r != NULL && r->done)
		return;
	if (r != NULL)
		r->done = true;
	day_of(t, day);
	if ((d = rmap_add(&a->days, day, sizeof(*d))) == NULL ||
	    (ts = tag_get(a, tag)) == NULL) {
		a->oom = true;
		return;
	}
	sums_add(&d->st[st], rec);
	sums_add(&ts->st[st], rec);
	sums_add(&a->total[st], rec);
	machine_add(ts, rec);
	rview_done(a->view, rec, id, tag, st, t);
	if (st == ST_OK && t != TIME_NONE && (!ts->have_ok ||
	    t > ts->last_ok_ms)) {
		ts->have_ok = true;
		ts->last_ok_ms = t;
	}
	if (a->o->state_url != NULL)
		host_add(a, rec, r, st, t);
}

static void
agg_visit(void *ctx, const cJSON *rec)
{
	struct agg *a = ctx;
	const char *id = rec_str(rec, "run");
	int64_t t = rec_time(rec);

	if (a->o->since_ms != TIME_NONE && (t == TIME_NONE ||
	    t < a->o->since_ms))
		return;
	if (rec_is(rec, "start")) {
		if (id != NULL)
			agg_start(a, rec, id, t);
	} else
		agg_done(a, rec, id, t);
}

static int
lost_cmp(const void *x, const void *y)
{
	const struct map_ent *const *a = x, *const *b = y;
	const struct run_seen *ra = (*a)->val, *rb = (*b)->val;

	if (ra->start_ms != rb->start_ms)
		return ra->start_ms < rb->start_ms ? -1 : 1;
	return strcmp((*a)->key, (*b)->key);
}

/*
 * Runs that started and never finished, oldest first; counts per tag.
 * Those still running here are counted apart: not lost, not yet done.
 */
static struct map_ent **
agg_lost(struct agg *a, size_t *n)
{
	struct map_ent **v = rmap_entries(&a->runs);
	struct tagstat *ts;
	struct run_seen *r;

	*n = 0;
	if (v == NULL)
		return NULL;
	/* Kept in place: v[*n] is never ahead of v[i]. */
	for (size_t i = 0; v[i] != NULL; i++) {
		r = v[i]->val;
		if (!r->started || r->done)
			continue;
		if (rec_still_running(r->host, r->pid, r->start_ms)) {
			a->running++;
			continue;
		}
		v[(*n)++] = v[i];
		if ((ts = tag_get(a, r->tag)) != NULL)
			ts->lost++;
	}
	qsort(v, *n, sizeof(struct map_ent *), lost_cmp);
	return v;
}

static int
summary_print(struct agg *a, const struct rscan_stats *ss, struct rio *io)
{
	struct map_ent **days = rmap_sorted(&a->days), **lost;
	size_t nlost;
	int rc = 0;

	lost = agg_lost(a, &nlost);
	if (days == NULL || lost == NULL || a->oom || !rview_ok(a->view)) {
		rsay(io->err, "%s", strerror(ENOMEM));
		rc = EXIT_FAILURE;
	} else
		rc = rout_print(a, days, lost, nlost, ss, io);
	free(days);
	free(lost);
	return rc;
}

static int
summary(const struct ropts *o, FILE *f, struct rio *io)
{
	struct agg a = { .o = o };
	struct rscan_stats ss = { 0 };
	int rc;

	if ((a.view = rview_new(clock_real_ms())) == NULL) {
		rsay(io->err, "%s", strerror(errno));
		return EXIT_FAILURE;
	}
	if (rscan(f, o->from_stdin, agg_visit, &a, &ss) == -1) {
		rsay(io->err, "%s: %s", o->from_stdin ? "stdin" : o->ledger,
		    strerror(errno));
		rc = EXIT_FAILURE;
	} else
		rc = summary_print(&a, &ss, io);
	rmap_free(&a.runs, run_free);
	rmap_free(&a.days, NULL);
	rmap_free(&a.tags, NULL);
	rview_free(a.view);
	rmap_free(&a.hosts, NULL);
	return rc;
}

/* ---- options ----------------------------------------------------------- */

static void
usage(FILE *out)
{
	fputs("usage: " PROG " [--ledger=PATH] [--state-dir=DIR] "
	    "[--since=WHEN] [--tag=NAME]\n"
	    "           [--json | --prom[=FILE]] [LEDGER... | - | --stdin]\n"
	    "       " PROG " --state-url=URL [--since=WHEN] [--tag=NAME] "
	    "[--json | --prom[=FILE]]\n"
	    "       " PROG " --which FILE\n"
	    "       " PROG " --explain RUN [--low-output-tokens=N]\n"
	    "       " PROG " --clear-cooldown [--state-dir=DIR]\n"
	    "\n"
	    "  LEDGER...      ledger files to read (each with its rotated "
	    ".1-.3)\n"
	    "  --since=WHEN   today, yesterday (UTC), 2026-11-20, "
	    "2026-11-20T10:00:00Z,\n"
	    "                 or back from now: 90m, 24h, 7d\n"
	    "  -, --stdin     read claudewrap's stderr lines instead of the "
	    "ledger\n"
	    "  --prom=FILE    write Prometheus text to FILE atomically\n"
	    "  --state-url=URL  the fleet's ledger in Redis, by host\n"
	    "  --which FILE   the run that wrote FILE's current content\n"
	    "  --explain RUN  the five questions of the debugging loop for "
	    "RUN\n"
	    "                 (a run id, or at least 8 of its first "
	    "characters)\n"
	    "  --low-output-tokens=N  --explain calls fewer output tokens "
	    "low (10)\n"
	    "  --clear-cooldown  end the shared cooldown or breaker by hand\n"
	    "  --version      print the version\n", out);
}

/*
 * --low-output-tokens, as claudewrap takes it: digits only (strtonum
 * alone would take " 7", "+7" and "-0").
 */
static int
parse_count(const char *v, int64_t *n)
{
	const char *errstr = NULL;

	if (v[0] == '\0' || v[strspn(v, "0123456789")] != '\0')
		return -1;
	*n = strtonum(v, 0, LLONG_MAX, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* --since: an ISO date or time, or a duration back from now. */
static int
parse_since(const char *v, int64_t *ms)
{
	int64_t d, day = INT64_C(86400) * 1000;

	if (strcmp(v, "today") == 0 || strcmp(v, "yesterday") == 0) {
		/* Midnight UTC: the report's days are UTC days. */
		*ms = clock_real_ms() / day * day - (v[0] == 'y' ? day : 0);
		return 0;
	}
	if (ledger_parse_time(v, ms) == 0)
		return 0;
	if (duration_parse(v, &d) == -1 || d == 0)
		return -1;
	*ms = clock_real_ms() - d;
	return 0;
}

static const struct option longopts[] = {
	{ "ledger",	required_argument,	NULL, 'l' },
	{ "state-dir",	required_argument,	NULL, 'd' },
	{ "since",	required_argument,	NULL, 's' },
	{ "tag",	required_argument,	NULL, 't' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "prom",	optional_argument,	NULL, 'p' },
	{ "stdin",	no_argument,		NULL, 'i' },
	{ "which",	required_argument,	NULL, 'w' },
	{ "explain",	required_argument,	NULL, 'e' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ "clear-cooldown", no_argument,	NULL, 'C' },
	{ "state-url",	required_argument,	NULL, 'u' },
	{ "low-output-tokens", required_argument, NULL, 'o' },
	{ NULL,		0,			NULL, 0 },
};

static int
take_opt(struct ropts *o, int c, const char *arg, FILE *err)
{
	switch (c) {
	case 'l':
		o->ledger = arg;
		break;
	case 'd':
		o->state_dir = arg;
		break;
	case 't':
		o->tag = arg;
		break;
	case 'j':
		o->fmt = FMT_JSON;
		break;
	case 'i':
		o->from_stdin = true;
		break;
	case 'w':
		o->which = arg;
		break;
	case 'h':
		o->help = true;
		break;
	case 'V':
		o->version = true;
		break;
	case 'C':
		o->clear_cooldown = true;
		break;
	case 'u':
		if (fleet_url_check(arg, o->where, sizeof(o->where)) == -1) {
			fleet_url_redact(arg, o->where, sizeof(o->where));
			return usage_error(err, "--state-url", o->where);
		}
		o->state_url = arg;
		fleet_url_redact(arg, o->where, sizeof(o->where));
		break;
	case 's':
		if (parse_since(arg, &o->since_ms) == -1)
			return usage_error(err, "--since", arg);
		break;
	case 'p':
		if (o->fmt == FMT_JSON)
			break;	/* reported by check_opts */
		o->fmt = FMT_PROM;
		if (arg != NULL && *arg == '\0')
			return usage_error(err, "--prom", arg);
		o->prom_file = arg;
		break;
	case 'o':
		if (parse_count(arg, &o->low_output) == -1)
			return usage_error(err, "--low-output-tokens", arg);
		break;
	case 'e':
		if (strlen(arg) < EXPLAIN_MIN)
			return usage_error(err, "--explain", arg);
		o->explain = arg;
		break;
	}
	return 0;
}

/* Combinations that make no sense; 0, or the usage status. */
static int
check_opts(const struct ropts *o, bool json, bool prom, FILE *err)
{
	if (json && prom) {
		rsay(err, "--json and --prom exclude each other");
		return status_exit(ST_USAGE, 0);
	}
	if (o->which != NULL && o->explain != NULL) {
		rsay(err, "--which and --explain exclude each other");
		return status_exit(ST_USAGE, 0);
	}
	if (o->nfiles > 0 && (o->from_stdin || o->ledger != NULL)) {
		rsay(err, "ledger files as arguments exclude %s",
		    o->from_stdin ? "stdin" : "--ledger");
		return status_exit(ST_USAGE, 0);
	}
	if (o->from_stdin && o->state_url != NULL) {
		rsay(err, "--state-url reads Redis, not stdin");
		return status_exit(ST_USAGE, 0);
	}
	if (o->from_stdin && (o->which != NULL || o->explain != NULL)) {
		rsay(err, "--%s reads the ledger, not stdin",
		    o->which != NULL ? "which" : "explain");
		return status_exit(ST_USAGE, 0);
	}
	return 0;
}

static int
bad_option(int c, char **argv, FILE *err)
{
	/* Short options are all unknown; optopt names the letter. */
	if (c == ':')
		rsay(err, "%s: missing value", argv[optind - 1]);
	else if (optopt != 0)
		rsay(err, "unknown option '-%c'", optopt);
	else
		rsay(err, "unknown option '%s'", argv[optind - 1]);
	fprintf(err, "Try '" PROG " --help'.\n");
	return status_exit(ST_USAGE, 0);
}

static int
parse_opts(struct ropts *o, int argc, char **argv, FILE *err)
{
	bool json = false, prom = false;
	const char *env;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->since_ms = TIME_NONE;
	/* The run's threshold is not in its record: ask the same knobs. */
	o->low_output = LOW_OUTPUT;
	if ((env = getenv("CLAUDEWRAP_LOW_OUTPUT_TOKENS")) != NULL &&
	    parse_count(env, &o->low_output) == -1)
		return usage_error(err, "CLAUDEWRAP_LOW_OUTPUT_TOKENS", env);
	optind = 0;	/* glibc: start afresh, report_run may run again */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_option(c, argv, err);
		json |= c == 'j';
		prom |= c == 'p';
		if ((rc = take_opt(o, c, optarg, err)) != 0)
			return rc;
	}
	/* Ledger files, as `last -f` takes one; `-` is stdin. */
	if (optind < argc && strcmp(argv[optind], "-") == 0 &&
	    optind + 1 == argc)
		o->from_stdin = true;
	else if (optind < argc) {
		o->files = (const char *const *)argv + optind;
		o->nfiles = (size_t)(argc - optind);
		for (size_t i = 0; i < o->nfiles; i++)
			if (strcmp(o->files[i], "-") == 0 || *o->files[i] == '\0') {
				rsay(err, "unexpected argument '%s'", o->files[i]);
				return status_exit(ST_USAGE, 0);
			}
	}
	return check_opts(o, json, prom, err);
}

/* --ledger, $CLAUDEWRAP_LEDGER, else the state dir's ledger.jsonl. */
static int
resolve_ledger(struct ropts *o, FILE *err)
{
	const char *env = getenv("CLAUDEWRAP_LEDGER");
	const char *dir = o->state_dir;
	char sd[PATH_MAX];

	if (o->nfiles > 0) {
		o->ledger = o->files[0];
		return 0;
	}
	if (o->ledger == NULL && env != NULL && *env != '\0')
		o->ledger = env;
	if (o->ledger != NULL) {
		if (strcmp(o->ledger, "off") == 0) {
			rsay(err, "the ledger is off (ledger=off): nothing to "
			    "read");
			return EXIT_FAILURE;
		}
		return 0;
	}
	if (dir == NULL && (env = getenv("CLAUDEWRAP_STATE_DIR")) != NULL &&
	    *env != '\0')
		dir = env;
	if (state_dir(dir, sd, sizeof(sd)) == -1 ||
	    ledger_path(sd, o->ledger_buf, sizeof(o->ledger_buf)) == -1) {
		rsay(err, "state dir: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	o->ledger = o->ledger_buf;
	return 0;
}

/*
 * Whose cooldown the report shows: --state-dir or $CLAUDEWRAP_STATE_DIR,
 * else the directory of the (first) ledger read, which is the state
 * dir unless --ledger put it elsewhere; none for stdin alone.
 */
static void
cooldown_dir(struct ropts *o)
{
	const char *dir = o->state_dir, *slash;

	if (dir == NULL && (dir = getenv("CLAUDEWRAP_STATE_DIR")) != NULL &&
	    *dir == '\0')
		dir = NULL;
	if (dir != NULL) {
		strlcpy(o->cd_dir, dir, sizeof(o->cd_dir));
		return;
	}
	if (o->from_stdin || o->ledger == NULL)
		return;
	if ((slash = strrchr(o->ledger, '/')) == NULL)
		strlcpy(o->cd_dir, ".", sizeof(o->cd_dir));
	else
		snprintf(o->cd_dir, sizeof(o->cd_dir), "%.*s",
		    slash == o->ledger ? 1 : (int)(slash - o->ledger), o->ledger);
}

/* --clear-cooldown: says what it ended, on stdout. */
static int
clear_cooldown(struct ropts *o, struct rio *io)
{
	char sd[PATH_MAX], why[256];
	int rc;

	/* The fleet's, with --state-url: it lives in Redis, not here. */
	if (o->state_url != NULL) {
		if ((rc = fleet_cooldown_clear(o->state_url, why,
		    sizeof(why))) == -1) {
			rsay(io->err, "%s: %s", o->where, why);
			return EXIT_FAILURE;
		}
		fprintf(io->out, rc == 1 ? "cleared: the fleet at %s no longer "
		    "waits\n" : "nothing to clear at %s\n", o->where);
		return EXIT_SUCCESS;
	}
	if (o->state_dir == NULL && getenv("CLAUDEWRAP_STATE_DIR") == NULL &&
	    state_dir(NULL, sd, sizeof(sd)) == 0)
		o->state_dir = sd;
	cooldown_dir(o);
	if (o->cd_dir[0] == '\0') {
		rsay(io->err, "state dir: %s", strerror(ENOENT));
		return EXIT_FAILURE;
	}
	rview_cooldown_text(io->out, o->cd_dir, clock_real_ms());
	if ((rc = cooldown_clear(o->cd_dir, clock_real_ms())) == -1) {
		rsay(io->err, "%s: %s", o->cd_dir, strerror(errno));
		return EXIT_FAILURE;
	}
	fprintf(io->out, rc == 1 ? "cleared: runs of %s no longer wait\n" :
	    "nothing to clear in %s\n", o->cd_dir);
	return EXIT_SUCCESS;
}

/* --state-url: the same reports, from the fleet's copy of the ledger. */
static int
fleet_report(struct ropts *o, struct rio *io)
{
	char why[256];
	FILE *f;
	int rc;

	o->ledger = o->where;
	if ((f = fleet_stream_open(o->state_url, why, sizeof(why))) == NULL) {
		rsay(io->err, "%s: %s", o->where, why);
		return EXIT_FAILURE;
	}
	if (o->which != NULL)
		rc = rwhich(o, f, io);
	else if (o->explain != NULL)
		rc = rexplain(o, f, io);
	else
		rc = summary(o, f, io);
	fclose(f);
	return rc;
}

int
report_run(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	struct rio io = { out, err };
	struct ropts o;
	const char *bad;
	FILE *f;
	int rc;

	if ((rc = parse_opts(&o, argc, argv, err)) != 0)
		return rc;
	if (o.help || o.version) {
		if (o.help)
			usage(out);
		else
			fprintf(out, PROG " %s\n", CLAUDEWRAP_VERSION);
		return EXIT_SUCCESS;
	}
	if (o.clear_cooldown)
		return clear_cooldown(&o, &io);
	cooldown_dir(&o);
	if (o.from_stdin)
		return summary(&o, in, &io);
	if (o.state_url != NULL)
		return fleet_report(&o, &io);
	if ((rc = resolve_ledger(&o, err)) != 0)
		return rc;
	if (o.cd_dir[0] == '\0')
		cooldown_dir(&o);
	f = rfiles_open(o.nfiles > 0 ? o.files : (const char *const *)&o.ledger,
	    o.nfiles > 0 ? o.nfiles : 1, &bad);
	if (f == NULL) {
		rsay(err, "%s: %s", bad != NULL ? bad : o.ledger,
		    io_strerror(errno));
		return EXIT_FAILURE;
	}
	if (o.which != NULL)
		rc = rwhich(&o, f, &io);
	else if (o.explain != NULL)
		rc = rexplain(&o, f, &io);
	else
		rc = summary(&o, f, &io);
	fclose(f);
	return rc;
}

int
report_main(int argc, char **argv)
{
	int rc = report_run(argc, argv, stdin, stdout, stderr);

	/* A full disk or a closed pipe must not look like success. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (rc == EXIT_SUCCESS)
			rsay(stderr, "stdout: %s", strerror(errno));
		return rc == EXIT_SUCCESS ? EXIT_FAILURE : rc;
	}
	return rc;
}

