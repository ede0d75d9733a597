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
 * rotated copies (report_files.c). The failures, tags, sparklines and
 * cooldown of the summary are report_view.c's. With `-` (or
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

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "duration.h"
#include "fleet.h"
#include "hash.h"
#include "io.h"
#include "ledger.h"
#include "cooldown.h"
#include "output.h"
#include "report_rec.h"
#include "report_view.h"
#include "report_files.h"
#include "status.h"
#include "tree.h"
#include "version.h"

#define PROG		"claudewrap-report"
#define LINE_MAX_BYTES	(1024 * 1024)	/* a longer line is unreadable */
#define LOW_OUTPUT	10		/* claudewrap's --low-output-tokens */
#define LOST_SHOWN	20		/* the text report lists at most these */
#define TX_MAX_ATT	64
#define TX_MAX_TOOLS	32
#define EXPLAIN_MIN	8		/* characters of a run id prefix */

enum fmt { FMT_TEXT, FMT_JSON, FMT_PROM };

struct ropts {
	const char	*ledger;	/* the (first) path read, unless stdin */
	char		 ledger_buf[PATH_MAX];
	const char *const *files;	/* ledgers named as arguments */
	size_t		 nfiles;
	const char	*state_dir;
	char		 cd_dir[PATH_MAX];	/* whose cooldown; "": none */
	bool		 clear_cooldown;
	bool		 version;
	bool		 from_stdin;
	int64_t		 since_ms;	/* TIME_NONE: everything */
	const char	*tag;
	enum fmt	 fmt;
	const char	*prom_file;
	const char	*which;
	const char	*explain;
	bool		 help;
	const char	*state_url;	/* the fleet's stream, not a file */
	char		 where[PATH_MAX];	/* state_url, redacted */
};

struct rio {
	FILE	*out;
	FILE	*err;
};

/* Prints "claudewrap-report: ..." on err. */
static void __attribute__((format(printf, 2, 3)))
say(FILE *err, const char *fmt, ...)
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
	say(err, "%s: bad value '%s'", opt, val);
	return status_exit(ST_USAGE, 0);
}

/* ---- claudewrap's stderr lines ---------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One value: quoted with \" \\ \n \t \xNN escapes, or up to a space. */
static const char *
logfmt_value(const char *s, const char *end, char *out)
{
	size_t n = 0;

	if (s >= end || *s != '"') {
		while (s < end && *s != ' ')
			out[n++] = *s++;
		out[n] = '\0';
		return s;
	}
	for (s++; s < end && *s != '"'; s++) {
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		if (++s == end)
			return NULL;
		if (*s == 'n')
			out[n++] = '\n';
		else if (*s == 't')
			out[n++] = '\t';
		else if (*s == 'x' && end - s > 2 && hexval(s[1]) >= 0 &&
		    hexval(s[2]) >= 0) {
			out[n++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else
			out[n++] = *s;
	}
	if (s == end)
		return NULL;	/* the closing quote is missing */
	out[n] = '\0';
	return s + 1;
}

static void
set_str(cJSON *obj, const char *key, const char *val)
{
	cJSON *v = cJSON_CreateString(val);

	if (v == NULL)
		return;
	if (cJSON_HasObjectItem(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

/* `key=value ...` as an object of strings; NULL when malformed. */
static cJSON *
logfmt_parse(const char *s, size_t len)
{
	const char *end = s + len, *k;
	char *key = malloc(len + 1), *val = malloc(len + 1);
	cJSON *obj = cJSON_CreateObject();

	while (obj != NULL && key != NULL && val != NULL) {
		while (s < end && *s == ' ')
			s++;
		if (s == end)
			break;
		for (k = s; s < end && *s != '=' && *s != ' '; s++)
			;
		if (s == k || s == end || *s != '=')
			goto bad;
		memcpy(key, k, (size_t)(s - k));
		key[s - k] = '\0';
		if ((s = logfmt_value(s + 1, end, val)) == NULL)
			goto bad;
		if (s < end && *s != ' ')
			goto bad;	/* text glued to a closing quote */
		set_str(obj, key, val);
	}
	free(key);
	free(val);
	return obj;
bad:
	free(key);
	free(val);
	cJSON_Delete(obj);
	return NULL;
}

/*
 * Where claudewrap's part of a log line starts: after "claudewrap: " at
 * the start, or after "claudewrap[PID]: " anywhere (syslog, journalctl).
 */
static const char *
log_body(const char *line)
{
	const char *p = line, *q;

	if (strncmp(line, "claudewrap: ", 12) == 0)
		return line + 12;
	while ((p = strstr(p, "claudewrap[")) != NULL) {
		for (q = p + 11; *q >= '0' && *q <= '9'; q++)
			;
		if (q > p + 11 && strncmp(q, "]: ", 3) == 0)
			return q + 3;
		p += 11;
	}
	return NULL;
}

static cJSON *
json_object(const char *s)
{
	cJSON *r = cJSON_ParseWithOpts(s, NULL, true);

	if (r != NULL && !cJSON_IsObject(r)) {
		cJSON_Delete(r);
		r = NULL;
	}
	return r;
}

/*
 * A stdin line as a record: ours and readable, ours and unreadable
 * (*bad), or someone else's (NULL, not bad).
 */
static cJSON *
log_record(const char *line, size_t len, bool cut, bool *bad)
{
	const char *body = log_body(line);
	cJSON *r;

	*bad = false;
	if (len > 0 && line[len - 1] == '\r')
		len--;	/* cJSON takes it for white space */
	if (cut) {
		/* Too long to judge: unreadable if it is ours. */
		*bad = body != NULL;
		return NULL;
	}
	if (body == NULL) {
		/* A bare ledger line is taken: `ssh host cat ledger | ... -`. */
		if (line[0] != '{' || (r = json_object(line)) == NULL)
			return NULL;
		if (rec_str(r, "run") == NULL) {
			cJSON_Delete(r);
			return NULL;
		}
		return r;
	}
	r = *body == '{' ? json_object(body) :
	    logfmt_parse(body, len - (size_t)(body - line));
	*bad = r == NULL;
	return r;
}

/* ---- reading a source -------------------------------------------------- */

typedef void	visit_fn(void *ctx, const cJSON *rec);

struct scan_stats {
	int64_t	records;
	int64_t	unreadable;
};

static bool
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r')
			return false;
	return true;
}

/* Every start and done record of f, in order; -1 on a read error. */
static int
scan(FILE *f, bool logs, visit_fn *fn, void *ctx, struct scan_stats *st)
{
	struct ledger_lines *lr = ledger_lines_new(f, LINE_MAX_BYTES);
	const char *line;
	size_t len;
	bool cut, bad;
	cJSON *r;

	if (lr == NULL)
		return -1;
	while ((line = ledger_lines_next(lr, &len, &cut)) != NULL) {
		if (logs)
			r = log_record(line, len, cut, &bad);
		else if (blank(line))
			continue;
		else if (cut) {
			r = NULL;
			bad = true;
		} else
			bad = (r = json_object(line)) == NULL;
		if (r == NULL) {
			st->unreadable += bad;
			continue;
		}
		if (rec_is(r, "start") || rec_is(r, "done")) {
			st->records++;
			fn(ctx, r);
		}
		cJSON_Delete(r);
	}
	ledger_lines_free(lr);
	return ferror(f) ? -1 : 0;
}

/* ---- a small string map ------------------------------------------------ */

struct map_ent {
	char	*key;
	void	*val;
};

struct map {
	struct map_ent	*e;
	size_t		 n;
	size_t		 cap;
};

static size_t
map_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (size_t)h;
}

static struct map_ent *
map_find(const struct map *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = map_hash(key) & (m->cap - 1); m->e[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (strcmp(m->e[i].key, key) == 0)
			return &m->e[i];
	return &m->e[i];
}

static int
map_grow(struct map *m)
{
	struct map old = *m;
	struct map_ent *slot;

	m->cap = old.cap == 0 ? 64 : old.cap * 2;
	if ((m->e = calloc(m->cap, sizeof(*m->e))) == NULL) {
		*m = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (old.e[i].key == NULL)
			continue;
		slot = map_find(m, old.e[i].key);
		*slot = old.e[i];
	}
	free(old.e);
	return 0;
}

static void *
map_get(const struct map *m, const char *key)
{
	struct map_ent *e = map_find(m, key);

	return e != NULL ? e->val : NULL;
}

/* The value under key, created zeroed (size bytes) if new; NULL: ENOMEM. */
static void *
map_add(struct map *m, const char *key, size_t size)
{
	struct map_ent *e;

	if ((m->n + 1) * 2 > m->cap && map_grow(m) == -1)
		return NULL;
	e = map_find(m, key);
	if (e->key != NULL)
		return e->val;
	if ((e->key = strdup(key)) == NULL)
		return NULL;
	if ((e->val = calloc(1, size)) == NULL) {
		free(e->key);
		e->key = NULL;
		return NULL;
	}
	m->n++;
	return e->val;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct map_ent *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* The entries sorted by key; NULL on ENOMEM. */
static struct map_ent **
map_sorted(const struct map *m)
{
	struct map_ent **v = calloc(m->n + 1, sizeof(struct map_ent *));
	size_t k = 0;

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->e[i].key != NULL)
			v[k++] = &m->e[i];
	qsort(v, k, sizeof(struct map_ent *), ent_cmp);
	return v;
}

static void
map_free(struct map *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->e[i].key == NULL)
			continue;
		if (free_val != NULL)
			free_val(m->e[i].val);
		free(m->e[i].val);
		free(m->e[i].key);
	}
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* ---- the summary ------------------------------------------------------- */

struct sums {
	int64_t	runs;
	int64_t	input;
	int64_t	output;
	int64_t	cache_read;
	int64_t	cache_creation;
	int64_t	cost_micro;	/* US dollars * 1e6: sums stay exact */
};

struct day {
	struct sums	st[NST];
};

struct tagstat {
	struct sums	st[NST];
	bool		have_ok;
	int64_t		last_ok_ms;
	int64_t		lost;
	bool		have_machine;	/* a record carried the two below */
	int64_t		peak_rss_kb;	/* the largest of one run's tree */
	int64_t		cpu_ms;		/* of every run's tree */
};

struct run {
	bool	started;
	bool	done;
	int64_t	start_ms;
	int64_t	pid;
	char	*tag;
	char	*host;
};

struct agg {
	const struct ropts *o;
	struct map	 runs;
	struct map	 days;
	struct map	 tags;
	struct map	 hosts;		/* --state-url only: tagstat by host */
	struct sums	 total[NST];
	int64_t		 running;	/* no done record, and still running */
	struct rview	*view;		/* failures, tags, sparklines */
	bool		 oom;
};

static void
run_free(void *v)
{
	struct run *r = v;

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
	struct tagstat *ts = map_add(&a->tags, tag != NULL ? tag : "",
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
	struct run *r;

	if (!tag_wanted(a->o, rec_str(rec, "tag")))
		return;
	if ((r = map_add(&a->runs, id, sizeof(*r))) == NULL) {
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
host_add(struct agg *a, const cJSON *rec, const struct run *r, int st,
    int64_t t)
{
	const char *host = rec_str(rec, "host");
	struct tagstat *hs;

	if (host == NULL && r != NULL)
		host = r->host;
	if ((hs = map_add(&a->hosts, host != NULL ? host : "?",
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
	struct run *r = id != NULL ? map_get(&a->runs, id) : NULL;
	struct tagstat *ts;
	struct day *d;
	char day[16];

	if (tag == NULL && r != NULL)
		tag = r->tag;
	if (!tag_wanted(a->o, tag))
		return;
	/* One done per run, even if a log was fed twice. */
	if (id != NULL && r == NULL && (r = map_add(&a->runs, id,
	    sizeof(*r))) == NULL) {
		a->oom = true;
		return;
	}
	if (r != NULL && r->done)
		return;
	if (r != NULL)
		r->done = true;
	day_of(t, day);
	if ((d = map_add(&a->days, day, sizeof(*d))) == NULL ||
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

/*
 * Whether a run with a start record and no done may still be running:
 * its pid is alive on this host and began no later than the record (a
 * later one reused the pid). The boot time is to the second: that much
 * slack.
 */
static bool
still_running(const char *host, int64_t pid, int64_t start_ms)
{
	char me[256];
	int64_t began;

	if (host == NULL || pid <= 0 || pid > INT_MAX || start_ms == TIME_NONE ||
	    gethostname(me, sizeof(me)) == -1)
		return false;
	me[sizeof(me) - 1] = '\0';
	if (strcmp(me, host) != 0)
		return false;
	began = tree_started_ms((pid_t)pid);
	return began != -1 && began <= start_ms + 1000;
}

static int
lost_cmp(const void *x, const void *y)
{
	const struct map_ent *const *a = x, *const *b = y;
	const struct run *ra = (*a)->val, *rb = (*b)->val;

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
	struct map_ent **v = calloc(a->runs.n + 1,
	    sizeof(struct map_ent *));
	struct tagstat *ts;
	struct run *r;

	*n = 0;
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < a->runs.cap; i++) {
		if (a->runs.e[i].key == NULL)
			continue;
		r = a->runs.e[i].val;
		if (!r->started || r->done)
			continue;
		if (still_running(r->host, r->pid, r->start_ms)) {
			a->running++;
			continue;
		}
		v[(*n)++] = &a->runs.e[i];
		if ((ts = tag_get(a, r->tag)) != NULL)
			ts->lost++;
	}
	qsort(v, *n, sizeof(struct map_ent *), lost_cmp);
	return v;
}

/* ---- text -------------------------------------------------------------- */

struct row {
	char	cell[6][32];
};

static const char *const heads[6] = { "day", "status", "runs",
	"input_tokens", "output_tokens", "cost_usd" };

static void
row_fill(struct row *r, const char *day, const char *status,
    const struct sums *s)
{
	strlcpy(r->cell[0], day, sizeof(r->cell[0]));
	strlcpy(r->cell[1], status, sizeof(r->cell[1]));
	snprintf(r->cell[2], sizeof(r->cell[2]), "%" PRId64, s->runs);
	snprintf(r->cell[3], sizeof(r->cell[3]), "%" PRId64, s->input);
	snprintf(r->cell[4], sizeof(r->cell[4]), "%" PRId64, s->output);
	snprintf(r->cell[5], sizeof(r->cell[5]), "%.4f",
	    (double)s->cost_micro / 1e6);
}

static void
row_width(const struct row *r, int w[6])
{
	for (int i = 0; i < 6; i++)
		if ((int)strlen(r->cell[i]) > w[i])
			w[i] = (int)strlen(r->cell[i]);
}

/* Day and status left-aligned, numbers right-aligned. */
static void
row_print(FILE *out, const struct row *r, const int w[6])
{
	fprintf(out, "%-*s  %-*s", w[0], r->cell[0], w[1], r->cell[1]);
	for (int i = 2; i < 6; i++)
		fprintf(out, "  %*s", w[i], r->cell[i]);
	fputc('\n', out);
}

static struct sums
sums_all(const struct sums st[NST])
{
	struct sums all = { 0 };

	for (int i = 0; i < NST; i++) {
		all.runs += st[i].runs;
		all.input += st[i].input;
		all.output += st[i].output;
		all.cache_read += st[i].cache_read;
		all.cache_creation += st[i].cache_creation;
		all.cost_micro += st[i].cost_micro;
	}
	return all;
}

/* The rows of the table: per day and status, then the totals. */
static struct row *
text_rows(const struct agg *a, struct map_ent **days, size_t *n)
{
	size_t cap = (a->days.n + 1) * NST + 1, k = 0;
	struct row *rows = calloc(cap, sizeof(*rows));
	struct sums all = sums_all(a->total);
	const struct day *d;

	if (rows == NULL)
		return NULL;
	for (size_t i = 0; days[i] != NULL; i++) {
		d = days[i]->val;
		for (int st = 0; st < NST; st++)
			if (d->st[st].runs > 0)
				row_fill(&rows[k++], days[i]->key,
				    rec_status_name(st), &d->st[st]);
	}
	/* One day's totals would only repeat it. */
	if (a->days.n > 1) {
		for (int st = 0; st < NST; st++)
			if (a->total[st].runs > 0)
				row_fill(&rows[k++], "total",
				    rec_status_name(st), &a->total[st]);
		row_fill(&rows[k++], "total", "all", &all);
	}
	*n = k;
	return rows;
}

static void
text_header(FILE *out, const struct ropts *o)
{
	char since[CLOCK_ISO_LEN];

	fprintf(out, "%s %s", o->from_stdin ? "log" : "ledger",
	    o->from_stdin ? "(stdin)" : o->ledger);
	if (!o->from_stdin && o->nfiles > 1)
		fprintf(out, " and %zu more", o->nfiles - 1);
	if (o->since_ms != TIME_NONE) {
		rec_iso(o->since_ms, since);
		fprintf(out, "  since %s", since);
	}
	if (o->tag != NULL)
		fprintf(out, "  tag %s", o->tag);
	fputc('\n', out);
}

static void
text_lost(FILE *out, struct map_ent **lost, size_t nlost)
{
	char ts[CLOCK_ISO_LEN];
	const struct run *r;

	if (nlost == 0)
		return;
	fprintf(out, "\nlost (started, never finished): %zu\n", nlost);
	for (size_t i = 0; i < nlost && i < LOST_SHOWN; i++) {
		r = lost[i]->val;
		rec_iso(r->start_ms, ts);
		fprintf(out, "  %s  %s  %s\n", lost[i]->key, ts,
		    r->tag != NULL ? r->tag : "-");
	}
	if (nlost > LOST_SHOWN)
		fprintf(out, "  ... and %zu more (--json lists all)\n",
		    nlost - LOST_SHOWN);
}

/* Per tag: the largest tree of one run, and the CPU of them all. */
static void
text_machine(FILE *out, const struct agg *a)
{
	struct map_ent **tags = map_sorted(&a->tags);
	const struct tagstat *ts;
	bool head = false;

	for (size_t i = 0; tags != NULL && tags[i] != NULL; i++) {
		ts = tags[i]->val;
		if (!ts->have_machine)
			continue;
		if (!head)
			fprintf(out, "\nmachine, by tag (peak RSS of one run's "
			    "tree, CPU of all runs):\n");
		head = true;
		fprintf(out, "  %-16s %10.1f MiB %10.1f s\n",
		    tags[i]->key[0] != '\0' ? tags[i]->key : "-",
		    (double)ts->peak_rss_kb / 1024,
		    (double)ts->cpu_ms / 1000);
	}
	free(tags);
}

/* --state-url: a line per host of the fleet. */
static void
text_hosts(FILE *out, const struct agg *a)
{
	struct map_ent **hosts = map_sorted(&a->hosts);
	const struct tagstat *hs;
	char ts[CLOCK_ISO_LEN];
	struct sums all;

	for (size_t i = 0; hosts != NULL && hosts[i] != NULL; i++) {
		hs = hosts[i]->val;
		all = sums_all(hs->st);
		if (i == 0)
			fprintf(out, "\nby host (runs, ok, failed, last ok):\n");
		if (hs->have_ok)
			rec_iso(hs->last_ok_ms, ts);
		fprintf(out, "  %-24s %6" PRId64 " %6" PRId64 " %6" PRId64
		    "  %s\n", hosts[i]->key, all.runs, hs->st[ST_OK].runs,
		    all.runs - hs->st[ST_OK].runs, hs->have_ok ? ts : "-");
	}
	free(hosts);
}

static int
print_text(FILE *out, const struct agg *a, struct map_ent **days,
    struct map_ent **lost, size_t nlost, const struct scan_stats *ss)
{
	struct row head, *rows;
	int w[6] = { 0 };
	size_t n;

	if ((rows = text_rows(a, days, &n)) == NULL)
		return -1;
	for (int i = 0; i < 6; i++)
		strlcpy(head.cell[i], heads[i], sizeof(head.cell[i]));
	row_width(&head, w);
	for (size_t i = 0; i < n; i++)
		row_width(&rows[i], w);
	text_header(out, a->o);
	if (a->o->cd_dir[0] != '\0')
		rview_cooldown_text(out, a->o->cd_dir, clock_real_ms());
	fputc('\n', out);
	if (n == 0)
		fputs("no runs in the period\n", out);
	else
		row_print(out, &head, w);
	for (size_t i = 0; i < n; i++) {
		/* A blank line sets the totals apart. */
		if (i > 0 && strcmp(rows[i].cell[0], "total") == 0 &&
		    strcmp(rows[i - 1].cell[0], "total") != 0)
			fputc('\n', out);
		row_print(out, &rows[i], w);
	}
	rview_text(out, a->view, rview_utf8_locale());
	text_lost(out, lost, nlost);
	text_machine(out, a);
	text_hosts(out, a);
	if (a->running > 0)
		fprintf(out, "\nrunning now (started, no done record yet, "
		    "pid alive on this host): %" PRId64 "\n", a->running);
	if (ss->unreadable > 0)
		fprintf(out, "\nunreadable lines skipped: %" PRId64 "\n",
		    ss->unreadable);
	free(rows);
	return 0;
}

/* ---- JSON -------------------------------------------------------------- */

static cJSON *
json_sums(cJSON *obj, const struct sums *s)
{
	cJSON_AddNumberToObject(obj, "runs", (double)s->runs);
	cJSON_AddNumberToObject(obj, "input_tokens", (double)s->input);
	cJSON_AddNumberToObject(obj, "output_tokens", (double)s->output);
	cJSON_AddNumberToObject(obj, "cache_read", (double)s->cache_read);
	cJSON_AddNumberToObject(obj, "cache_creation",
	    (double)s->cache_creation);
	cJSON_AddNumberToObject(obj, "cost_usd", (double)s->cost_micro / 1e6);
	return obj;
}

static cJSON *
json_days(struct map_ent **days)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	const struct day *d;

	for (size_t i = 0; arr != NULL && days[i] != NULL; i++) {
		d = days[i]->val;
		for (int st = 0; st < NST; st++) {
			if (d->st[st].runs == 0 ||
			    (o = cJSON_CreateObject()) == NULL)
				continue;
			cJSON_AddStringToObject(o, "day", days[i]->key);
			cJSON_AddStringToObject(o, "status", rec_status_name(st));
			cJSON_AddItemToArray(arr, json_sums(o, &d->st[st]));
		}
	}
	return arr;
}

static cJSON *
json_lost(struct map_ent **lost, size_t nlost)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	char ts[CLOCK_ISO_LEN];
	const struct run *r;

	for (size_t i = 0; arr != NULL && i < nlost; i++) {
		if ((o = cJSON_CreateObject()) == NULL)
			continue;
		r = lost[i]->val;
		cJSON_AddStringToObject(o, "run", lost[i]->key);
		if (r->start_ms != TIME_NONE) {
			rec_iso(r->start_ms, ts);
			cJSON_AddStringToObject(o, "start", ts);
		}
		if (r->tag != NULL)
			cJSON_AddStringToObject(o, "tag", r->tag);
		if (r->host != NULL)
			cJSON_AddStringToObject(o, "host", r->host);
		if (r->pid >= 0)
			cJSON_AddNumberToObject(o, "pid", (double)r->pid);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *
json_totals(const struct agg *a, size_t nlost)
{
	struct sums all = sums_all(a->total);
	cJSON *t = json_sums(cJSON_CreateObject(), &all);
	cJSON *by = cJSON_AddObjectToObject(t, "by_status");

	for (int st = 0; st < NST; st++)
		if (a->total[st].runs > 0)
			cJSON_AddNumberToObject(by, rec_status_name(st),
			    (double)a->total[st].runs);
	cJSON_AddNumberToObject(t, "lost", (double)nlost);
	cJSON_AddNumberToObject(t, "running", (double)a->running);
	return t;
}

/* --state-url: { HOST: { runs, by_status, last_ok }, ... } */
static cJSON *
json_hosts(const struct agg *a)
{
	struct map_ent **hosts = map_sorted(&a->hosts);
	cJSON *obj = cJSON_CreateObject(), *h, *by;
	const struct tagstat *hs;
	char ts[CLOCK_ISO_LEN];
	struct sums all;

	for (size_t i = 0; obj != NULL && hosts != NULL && hosts[i] != NULL;
	    i++) {
		hs = hosts[i]->val;
		all = sums_all(hs->st);
		if ((h = cJSON_AddObjectToObject(obj, hosts[i]->key)) == NULL)
			continue;
		json_sums(h, &all);
		by = cJSON_AddObjectToObject(h, "by_status");
		for (int st = 0; st < NST; st++)
			if (hs->st[st].runs > 0)
				cJSON_AddNumberToObject(by, rec_status_name(st),
				    (double)hs->st[st].runs);
		if (hs->have_ok) {
			rec_iso(hs->last_ok_ms, ts);
			cJSON_AddStringToObject(h, "last_ok", ts);
		}
	}
	free(hosts);
	return obj;
}

static int
print_json(FILE *out, const struct agg *a, struct map_ent **days,
    struct map_ent **lost, size_t nlost, const struct scan_stats *ss)
{
	cJSON *j = cJSON_CreateObject();
	char since[CLOCK_ISO_LEN], *s;

	if (j == NULL)
		return -1;
	cJSON_AddStringToObject(j, "source", a->o->from_stdin ? "-" :
	    a->o->ledger);
	if (a->o->since_ms != TIME_NONE) {
		rec_iso(a->o->since_ms, since);
		cJSON_AddStringToObject(j, "since", since);
	}
	if (a->o->tag != NULL)
		cJSON_AddStringToObject(j, "tag", a->o->tag);
	cJSON_AddItemToObject(j, "days", json_days(days));
	cJSON_AddItemToObject(j, "totals", json_totals(a, nlost));
	cJSON_AddItemToObject(j, "lost", json_lost(lost, nlost));
	rview_json(j, a->view);
	if (a->o->cd_dir[0] != '\0')
		rview_cooldown_json(j, a->o->cd_dir, clock_real_ms());
	if (a->o->state_url != NULL)
		cJSON_AddItemToObject(j, "hosts", json_hosts(a));
	cJSON_AddNumberToObject(j, "unreadable", (double)ss->unreadable);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (s == NULL)
		return -1;
	fprintf(out, "%s\n", s);
	free(s);
	return 0;
}

/* ---- Prometheus -------------------------------------------------------- */

/* A label value as the text exposition format wants it. */
static void
prom_label(FILE *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			fputs("\\\\", out);
		else if (*v == '"')
			fputs("\\\"", out);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void
prom_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_tag(FILE *out, const char *name, const char *tag)
{
	fprintf(out, "%s{tag=\"", name);
	prom_label(out, tag);
	fputc('"', out);
}

static void
prom_runs(FILE *out, struct map_ent **tags)
{
	const struct tagstat *ts;

	prom_family(out, "claudewrap_runs_total", "counter",
	    "Runs that finished (a done record), by tag and status.");
	for (size_t i = 0; tags[i] != NULL; i++) {
		ts = tags[i]->val;
		for (int st = 0; st < NST; st++) {
			/* ok is always there, so a rate of it can be taken. */
			if (ts->st[st].runs == 0 && st != ST_OK)
				continue;
			prom_tag(out, "claudewrap_runs_total", tags[i]->key);
			fprintf(out, ",status=\"%s\"} %" PRId64 "\n",
			    rec_status_name(st), ts->st[st].runs);
		}
	}
}

static void
prom_last_ok(FILE *out, struct map_ent **tags)
{
	const struct tagstat *ts;

	prom_family(out, "claudewrap_last_success_timestamp_seconds", "gauge",
	    "When the last run that ended ok finished, by tag.");
	for (size_t i = 0; tags[i] != NULL; i++) {
		ts = tags[i]->val;
		if (!ts->have_ok)
			continue;
		prom_tag(out, "claudewrap_last_success_timestamp_seconds",
		    tags[i]->key);
		fprintf(out, "} %.3f\n", (double)ts->last_ok_ms / 1000);
	}
}

static void
prom_tokens(FILE *out, struct map_ent **tags)
{
	static const char *const kind[4] = { "input", "output", "cache_read",
		"cache_creation" };
	struct sums all;
	int64_t v[4];

	prom_family(out, "claudewrap_tokens_total", "counter",
	    "Tokens used by finished runs, by tag and kind.");
	for (size_t i = 0; tags[i] != NULL; i++) {
		all = sums_all(((const struct tagstat *)tags[i]->val)->st);
		v[0] = all.input;
		v[1] = all.output;
		v[2] = all.cache_read;
		v[3] = all.cache_creation;
		for (int k = 0; k < 4; k++) {
			prom_tag(out, "claudewrap_tokens_total", tags[i]->key);
			fprintf(out, ",kind=\"%s\"} %" PRId64 "\n", kind[k],
			    v[k]);
		}
	}
}

static void
prom_cost_lost(FILE *out, struct map_ent **tags)
{
	struct sums all;

	prom_family(out, "claudewrap_cost_usd_total", "counter",
	    "Cost the CLI reported for finished runs, in US dollars, by tag.");
	for (size_t i = 0; tags[i] != NULL; i++) {
		all = sums_all(((const struct tagstat *)tags[i]->val)->st);
		prom_tag(out, "claudewrap_cost_usd_total", tags[i]->key);
		fprintf(out, "} %.6f\n", (double)all.cost_micro / 1e6);
	}
	prom_family(out, "claudewrap_lost_runs", "gauge",
	    "Runs with a start record and no done record (the process died), "
	    "by tag.");
	for (size_t i = 0; tags[i] != NULL; i++) {
		prom_tag(out, "claudewrap_lost_runs", tags[i]->key);
		fprintf(out, "} %" PRId64 "\n",
		    ((const struct tagstat *)tags[i]->val)->lost);
	}
}

static void
prom_machine(FILE *out, struct map_ent **tags)
{
	const struct tagstat *ts;

	prom_family(out, "claudewrap_peak_rss_bytes", "gauge",
	    "The largest RSS sum of one run's process tree, by tag.");
	for (size_t i = 0; tags[i] != NULL; i++) {
		ts = tags[i]->val;
		if (!ts->have_machine)
			continue;
		prom_tag(out, "claudewrap_peak_rss_bytes", tags[i]->key);
		fprintf(out, "} %" PRId64 "\n", ts->peak_rss_kb * 1024);
	}
	prom_family(out, "claudewrap_cpu_seconds_total", "counter",
	    "User and system CPU time of the runs' process trees, by tag.");
	for (size_t i = 0; tags[i] != NULL; i++) {
		ts = tags[i]->val;
		if (!ts->have_machine)
			continue;
		prom_tag(out, "claudewrap_cpu_seconds_total", tags[i]->key);
		fprintf(out, "} %.3f\n", (double)ts->cpu_ms / 1000);
	}
}

/* --state-url: runs by host and status. */
static void
prom_hosts(FILE *out, const struct agg *a)
{
	struct map_ent **hosts = map_sorted(&a->hosts);
	const struct tagstat *hs;

	prom_family(out, "claudewrap_host_runs_total", "counter",
	    "Runs that finished, by host and status (the fleet's ledger).");
	for (size_t i = 0; hosts != NULL && hosts[i] != NULL; i++) {
		hs = hosts[i]->val;
		for (int st = 0; st < NST; st++) {
			if (hs->st[st].runs == 0 && st != ST_OK)
				continue;
			fputs("claudewrap_host_runs_total{host=\"", out);
			prom_label(out, hosts[i]->key);
			fprintf(out, "\",status=\"%s\"} %" PRId64 "\n",
			    rec_status_name(st), hs->st[st].runs);
		}
	}
	free(hosts);
}

static int
print_prom(FILE *out, const struct agg *a, const struct scan_stats *ss)
{
	struct map_ent **tags = map_sorted(&a->tags);

	if (tags == NULL)
		return -1;
	prom_runs(out, tags);
	prom_last_ok(out, tags);
	prom_tokens(out, tags);
	prom_cost_lost(out, tags);
	prom_machine(out, tags);
	if (a->o->state_url != NULL)
		prom_hosts(out, a);
	prom_family(out, "claudewrap_ledger_unreadable_lines", "gauge",
	    "Ledger lines that could not be read.");
	fprintf(out, "claudewrap_ledger_unreadable_lines %" PRId64 "\n",
	    ss->unreadable);
	free(tags);
	return 0;
}

struct membuf {
	const char	*data;
	size_t		 len;
};

static int
fill_membuf(void *ctx, int fd)
{
	const struct membuf *m = ctx;

	return io_write_all(fd, m->data, m->len);
}

/*
 * --prom=FILE: the whole text built in memory, then put in place by
 * output_commit (a temp file node_exporter does not read, fsync,
 * rename), so the collector never sees half a file.
 */
static int
prom_to_file(const struct ropts *o, const struct agg *a,
    const struct scan_stats *ss, FILE *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int rc;

	if (mem == NULL) {
		say(err, "%s: %s", o->prom_file, strerror(errno));
		return EXIT_FAILURE;
	}
	rc = print_prom(mem, a, ss);
	if (fclose(mem) != 0)
		rc = -1;
	if (rc == 0) {
		struct membuf m = { buf, len };
		rc = output_commit(o->prom_file, fill_membuf, &m, NULL);
	}
	if (rc == -1)
		say(err, "%s: %s", o->prom_file, strerror(errno));
	free(buf);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
summary_print(const struct ropts *o, struct agg *a,
    const struct scan_stats *ss, struct rio *io)
{
	struct map_ent **days = map_sorted(&a->days), **lost;
	size_t nlost;
	int rc = 0;

	lost = agg_lost(a, &nlost);
	if (days == NULL || lost == NULL || a->oom || !rview_ok(a->view)) {
		say(io->err, "%s", strerror(ENOMEM));
		rc = EXIT_FAILURE;
	} else if (o->fmt == FMT_PROM && o->prom_file != NULL)
		rc = prom_to_file(o, a, ss, io->err);
	else if (o->fmt == FMT_PROM)
		rc = print_prom(io->out, a, ss) == 0 ? 0 : EXIT_FAILURE;
	else if (o->fmt == FMT_JSON)
		rc = print_json(io->out, a, days, lost, nlost, ss) == 0 ? 0 :
		    EXIT_FAILURE;
	else
		rc = print_text(io->out, a, days, lost, nlost, ss) == 0 ? 0 :
		    EXIT_FAILURE;
	free(days);
	free(lost);
	return rc;
}

static int
summary(const struct ropts *o, FILE *f, struct rio *io)
{
	struct agg a = { .o = o };
	struct scan_stats ss = { 0 };
	int rc;

	if ((a.view = rview_new(clock_real_ms())) == NULL) {
		say(io->err, "%s", strerror(errno));
		return EXIT_FAILURE;
	}
	if (scan(f, o->from_stdin, agg_visit, &a, &ss) == -1) {
		say(io->err, "%s: %s", o->from_stdin ? "stdin" : o->ledger,
		    strerror(errno));
		rc = EXIT_FAILURE;
	} else
		rc = summary_print(o, &a, &ss, io);
	map_free(&a.runs, run_free);
	map_free(&a.days, NULL);
	map_free(&a.tags, NULL);
	rview_free(a.view);
	map_free(&a.hosts, NULL);
	return rc;
}

/* ---- --which ----------------------------------------------------------- */

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
	struct scan_stats ss = { 0 };

	memset(w, 0, sizeof(*w));
	w->sha = sha;
	w->real = real;
	return scan(f, false, which_visit, w, &ss);
}

static int
which(const struct ropts *o, FILE *f, struct rio *io)
{
	char sha[HASH_HEX_LEN], real[PATH_MAX];
	struct which w;
	uint64_t size;
	int rc;

	if (hash_file(o->which, sha, &size) == -1 ||
	    realpath(o->which, real) == NULL) {
		say(io->err, "%s: %s", o->which, io_strerror(errno));
		return EXIT_FAILURE;
	}
	if (which_scan(f, sha, real, &w) == -1) {
		say(io->err, "%s: %s", o->ledger, strerror(errno));
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

/* ---- --explain --------------------------------------------------------- */

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
 * A line too long to keep (a huge result): its head still names the
 * attempt and, as the transcript writes "event" last and the CLI writes
 * "type" first, the event's type. A guess, only for such lines.
 */
static void
tx_sniff(struct tx *tx, const char *head)
{
	const char *a = strstr(head, "\"attempt\":"), *t;
	char type[32] = "?", sub[32] = "";
	cJSON *ev;

	t = strstr(head, "\"event\":{\"type\":\"");
	if (t != NULL)
		sscanf(t + 17, "%31[^\"]", type);
	if (t != NULL && (t = strstr(t, "\"subtype\":\"")) != NULL)
		sscanf(t + 11, "%31[^\"]", sub);
	if ((ev = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(ev, "type", type);
	if (sub[0] != '\0')
		cJSON_AddStringToObject(ev, "subtype", sub);
	tx_event(tx, a != NULL ? strtoll(a + 10, NULL, 10) : tx->last_att,
	    NULL, ev);
	cJSON_Delete(ev);
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

static void
tx_line(struct tx *tx, const char *line, bool cut)
{
	cJSON *r;

	if (cut) {
		tx_sniff(tx, line);
		return;
	}
	if (blank(line))
		return;
	if ((r = json_object(line)) == NULL) {
		tx->unreadable++;
		return;
	}
	if (tx_other_run(tx, r))
		tx->others++;
	else
		tx_event(tx, rec_int(r, "attempt", 0), rec_str(r, "ts"),
		    cJSON_GetObjectItemCaseSensitive(r, "event"));
	cJSON_Delete(r);
}

/* The transcript the record names (a directory holds RUN.jsonl). */
static void
tx_read(struct tx *tx, const char *path, const char *run)
{
	struct ledger_lines *lr;
	struct stat st;
	const char *line;
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
	if ((lr = ledger_lines_new(f, LINE_MAX_BYTES)) == NULL)
		tx->err = errno;
	while (lr != NULL && (line = ledger_lines_next(lr, &len, &cut)) != NULL)
		tx_line(tx, line, cut);
	if (ferror(f))
		tx->err = errno;
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

	if (n > 0 && n < LOW_OUTPUT)
		snprintf(buf, sizeof(buf), "low — only %" PRId64 " output token%s"
		    " (under %d: the low-output warning)", n, n == 1 ? "" : "s",
		    LOW_OUTPUT);
	else if (n >= LOW_OUTPUT)
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
	bool running = still_running(rec_str(x->start, "host"),
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
	struct which w;

	rewind(ledger);
	if (realpath(path, real) == NULL ||
	    which_scan(ledger, d->sha, real, &w) == -1) {
		fprintf(out, "; no ledger lookup: %s", strerror(errno));
		return;
	}
	if (w.here == NULL && w.elsewhere == NULL)
		fprintf(out, "; no run in the ledger wrote those bytes: changed "
		    "since by something else");
	else {
		const cJSON *r = w.here != NULL ? w.here : w.elsewhere;
		rec_iso(rec_time(r), ts);
		fprintf(out, "; those bytes were written by run %s at %s",
		    rec_str(r, "run") ? rec_str(r, "run") : "?", ts);
	}
	which_free(&w);
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

static int
explain(const struct ropts *o, FILE *f, struct rio *io)
{
	struct explain x = { .prefix = o->explain, .plen = strlen(o->explain) };
	struct scan_stats ss = { 0 };
	int rc = EXIT_FAILURE;

	if (scan(f, false, explain_visit, &x, &ss) == -1)
		say(io->err, "%s: %s", o->ledger, strerror(errno));
	else if (x.nids == 0)
		say(io->err, "no run %s in %s", o->explain, o->ledger);
	else if (x.nids > 1) {
		say(io->err, "run %s is ambiguous; it begins:", o->explain);
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
	    "       " PROG " --explain RUN\n"
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
	    "  --clear-cooldown  end the shared cooldown or breaker by hand\n"
	    "  --version      print the version\n", out);
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
		say(err, "--json and --prom exclude each other");
		return status_exit(ST_USAGE, 0);
	}
	if (o->which != NULL && o->explain != NULL) {
		say(err, "--which and --explain exclude each other");
		return status_exit(ST_USAGE, 0);
	}
	if (o->nfiles > 0 && (o->from_stdin || o->ledger != NULL)) {
		say(err, "ledger files as arguments exclude %s",
		    o->from_stdin ? "stdin" : "--ledger");
		return status_exit(ST_USAGE, 0);
	}
	if (o->from_stdin && o->state_url != NULL) {
		say(err, "--state-url reads Redis, not stdin");
		return status_exit(ST_USAGE, 0);
	}
	if (o->from_stdin && (o->which != NULL || o->explain != NULL)) {
		say(err, "--%s reads the ledger, not stdin",
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
		say(err, "%s: missing value", argv[optind - 1]);
	else if (optopt != 0)
		say(err, "unknown option '-%c'", optopt);
	else
		say(err, "unknown option '%s'", argv[optind - 1]);
	fprintf(err, "Try '" PROG " --help'.\n");
	return status_exit(ST_USAGE, 0);
}

static int
parse_opts(struct ropts *o, int argc, char **argv, FILE *err)
{
	bool json = false, prom = false;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->since_ms = TIME_NONE;
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
				say(err, "unexpected argument '%s'", o->files[i]);
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
			say(err, "the ledger is off (ledger=off): nothing to "
			    "read");
			return EXIT_FAILURE;
		}
		return 0;
	}
	if (dir == NULL && (env = getenv("CLAUDEWRAP_STATE_DIR")) != NULL &&
	    *env != '\0')
		dir = env;
	if (ledger_state_dir(dir, sd, sizeof(sd)) == -1 ||
	    ledger_path(sd, o->ledger_buf, sizeof(o->ledger_buf)) == -1) {
		say(err, "state dir: %s", strerror(errno));
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
	char sd[PATH_MAX];
	int rc;

	if (o->state_dir == NULL && getenv("CLAUDEWRAP_STATE_DIR") == NULL &&
	    ledger_state_dir(NULL, sd, sizeof(sd)) == 0)
		o->state_dir = sd;
	cooldown_dir(o);
	if (o->cd_dir[0] == '\0') {
		say(io->err, "state dir: %s", strerror(ENOENT));
		return EXIT_FAILURE;
	}
	rview_cooldown_text(io->out, o->cd_dir, clock_real_ms());
	if ((rc = cooldown_clear(o->cd_dir, clock_real_ms())) == -1) {
		say(io->err, "%s: %s", o->cd_dir, strerror(errno));
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
		say(io->err, "%s: %s", o->where, why);
		return EXIT_FAILURE;
	}
	if (o->which != NULL)
		rc = which(o, f, io);
	else if (o->explain != NULL)
		rc = explain(o, f, io);
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
		say(err, "%s: %s", bad != NULL ? bad : o.ledger,
		    io_strerror(errno));
		return EXIT_FAILURE;
	}
	if (o.which != NULL)
		rc = which(&o, f, &io);
	else if (o.explain != NULL)
		rc = explain(&o, f, &io);
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
			say(stderr, "stdout: %s", strerror(errno));
		return rc == EXIT_SUCCESS ? EXIT_FAILURE : rc;
	}
	return rc;
}
