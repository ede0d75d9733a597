#include "report_view.h"

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "cooldown.h"
#include "report_rec.h"

#define DAY_MS		(INT64_C(86400) * 1000)
#define FAILS_SHOWN	20	/* the text lists the latest of these */
#define DETAIL_SHOWN	72	/* bytes of detail on a text line */
#define CELL		96
#define MAX_COLS	8

struct fail {
	int64_t	 t;
	char	*run;
	char	*tag;
	int	 st;
	int64_t	 exit;
	char	*detail;
};

struct tagrow {
	char	*tag;
	int64_t	 runs;
	int64_t	 fails;
	int64_t	 last_ok;
	int64_t	 last_fail;
	int64_t	*dur;		/* duration_ms of each run that had one */
	size_t	 ndur;
	size_t	 capdur;
	int64_t	 cost_micro;
};

struct rview {
	int64_t		 first_day;	/* epoch ms, 00:00 UTC, 13 days back */
	int64_t		 spark[SPARK_DAYS][NST];
	struct fail	*fails;
	size_t		 nfails;
	size_t		 capfails;
	struct tagrow	*tags;
	size_t		 ntags;
	size_t		 captags;
	bool		 oom;
};

/* Grows *v to hold one more element of size sz; false on ENOMEM. */
static bool
grow(void **v, size_t *cap, size_t n, size_t sz)
{
	void *p;

	if (n < *cap)
		return true;
	if ((p = reallocarray(*v, *cap * 2 + 8, sz)) == NULL)
		return false;
	*v = p;
	*cap = *cap * 2 + 8;
	return true;
}

static int64_t
day_floor(int64_t ms)
{
	return ms - ((ms % DAY_MS) + DAY_MS) % DAY_MS;
}

struct rview *
rview_new(int64_t now_ms)
{
	struct rview *v = calloc(1, sizeof(*v));

	if (v != NULL)
		v->first_day = day_floor(now_ms) - (SPARK_DAYS - 1) * DAY_MS;
	return v;
}

void
rview_free(struct rview *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nfails; i++) {
		free(v->fails[i].run);
		free(v->fails[i].tag);
		free(v->fails[i].detail);
	}
	for (size_t i = 0; i < v->ntags; i++) {
		free(v->tags[i].tag);
		free(v->tags[i].dur);
	}
	free(v->fails);
	free(v->tags);
	free(v);
}

bool
rview_ok(const struct rview *v)
{
	return !v->oom;
}

/* Tags are few (one per job): a list searched in order will do. */
static struct tagrow *
tag_row(struct rview *v, const char *tag)
{
	struct tagrow *r;

	for (size_t i = 0; i < v->ntags; i++)
		if (strcmp(v->tags[i].tag, tag) == 0)
			return &v->tags[i];
	if (!grow((void **)&v->tags, &v->captags, v->ntags, sizeof(*r)))
		return NULL;
	r = &v->tags[v->ntags];
	memset(r, 0, sizeof(*r));
	if ((r->tag = strdup(tag)) == NULL)
		return NULL;
	r->last_ok = r->last_fail = TIME_NONE;
	v->ntags++;
	return r;
}

static bool
tag_add(struct tagrow *r, const cJSON *rec, bool failed, int64_t t)
{
	int64_t *last = failed ? &r->last_fail : &r->last_ok;
	int64_t d = rec_int(rec, "duration_ms", -1);
	double cost;

	r->runs++;
	r->fails += failed;
	if (t != TIME_NONE && (*last == TIME_NONE || t > *last))
		*last = t;
	if (rec_num(rec, "cost_usd", &cost) && cost > 0 && cost < 1e9)
		r->cost_micro += (int64_t)(cost * 1e6 + 0.5);
	if (d < 0)
		return true;
	if (!grow((void **)&r->dur, &r->capdur, r->ndur, sizeof(*r->dur)))
		return false;
	r->dur[r->ndur++] = d;
	return true;
}

static bool
fail_add(struct rview *v, const cJSON *rec, const char *id, const char *tag,
    int st, int64_t t)
{
	const char *detail = rec_str(rec, "detail");
	struct fail *f;

	if (!grow((void **)&v->fails, &v->capfails, v->nfails, sizeof(*f)))
		return false;
	f = &v->fails[v->nfails++];
	memset(f, 0, sizeof(*f));
	f->t = t;
	f->st = st;
	f->exit = rec_int(rec, "exit", -1);
	f->run = strdup(id != NULL ? id : "");
	f->tag = strdup(tag);
	f->detail = strdup(detail != NULL ? detail : "");
	return f->run != NULL && f->tag != NULL && f->detail != NULL;
}

void
rview_done(struct rview *v, const cJSON *rec, const char *id,
    const char *tag, int st, int64_t t)
{
	/* A skip that exits 0 (--lock-exit-code=0) is not a failure. */
	bool failed = st != ST_OK && rec_int(rec, "exit", -1) != 0;
	struct tagrow *r;
	int64_t day;

	if (tag == NULL)
		tag = "";
	if ((r = tag_row(v, tag)) == NULL || !tag_add(r, rec, failed, t))
		v->oom = true;
	if (failed && !fail_add(v, rec, id, tag, st, t))
		v->oom = true;
	if (t == TIME_NONE || t < v->first_day)
		return;
	day = (t - v->first_day) / DAY_MS;
	if (day < SPARK_DAYS)
		v->spark[day][st]++;
}

bool
rview_utf8_locale(void)
{
	char *old = setlocale(LC_CTYPE, NULL), saved[128];
	bool utf8 = false;

	strlcpy(saved, old != NULL ? old : "C", sizeof(saved));
	if (setlocale(LC_CTYPE, "") != NULL)
		utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	(void)setlocale(LC_CTYPE, saved);
	return utf8;
}

/* ---- text ------------------------------------------------------------ */

/* "2026-11-21 09:00:30" (UTC), or "-". */
static void
when(int64_t ms, char *buf, size_t size)
{
	char t[CLOCK_ISO_LEN];

	if (ms == TIME_NONE) {
		strlcpy(buf, "-", size);
		return;
	}
	rec_iso(ms, t);
	t[10] = ' ';
	t[19] = '\0';
	strlcpy(buf, t, size);
}

static void
dur_text(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		strlcpy(buf, "-", size);
	else if (ms < 60000)
		snprintf(buf, size, "%.1fs", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60,
		    s % 60);
	else
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    s / 60 % 60);
}

/*
 * s in at most max bytes, cut before a character and marked "...", on
 * one line: a newline in a detail would break the list.
 */
static void
cut(const char *s, char *buf, size_t size, size_t max)
{
	if (strlen(s) <= max)
		strlcpy(buf, s, size);
	else {
		while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
			max--;
		snprintf(buf, size, "%.*s...", (int)max, s);
	}
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

static int
dur_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile p of the sorted durations, or -1. */
static int64_t
pct(const struct tagrow *r, double p)
{
	size_t k;

	if (r->ndur == 0)
		return -1;
	k = (size_t)(p * (double)r->ndur + 0.999999);
	return r->dur[k > 0 ? k - 1 : 0];
}

struct table {
	char	(*cell)[MAX_COLS][CELL];
	size_t	 n;
	int	 ncols;
	unsigned right;		/* bit i: column i is a number */
};

static int
width(const char *s)
{
	int w = 0;

	/* Columns of a terminal: UTF-8 continuation bytes take none. */
	for (; *s != '\0'; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Left-aligned text, right-aligned numbers, no blanks at line ends. */
static void
table_print(FILE *out, const struct table *t)
{
	int w[MAX_COLS] = { 0 }, len, pad;
	char line[MAX_COLS * (CELL + 64)];
	bool right;

	for (size_t i = 0; i < t->n; i++)
		for (int c = 0; c < t->ncols; c++)
			if (width(t->cell[i][c]) > w[c])
				w[c] = width(t->cell[i][c]);
	for (size_t i = 0; i < t->n; i++) {
		len = snprintf(line, sizeof(line), " ");
		for (int c = 0; c < t->ncols && len < (int)sizeof(line); c++) {
			pad = w[c] - width(t->cell[i][c]);
			right = t->right & (1u << c);
			len += snprintf(line + len, sizeof(line) - (size_t)len,
			    " %*s%s%*s", right ? pad : 0, "", t->cell[i][c],
			    right ? 0 : pad, "");
		}
		if (len >= (int)sizeof(line))
			len = (int)sizeof(line) - 1;
		while (len > 0 && line[len - 1] == ' ')
			len--;
		fprintf(out, "%.*s\n", len, line);
	}
}

static int
tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tagrow *)a)->tag,
	    ((const struct tagrow *)b)->tag);
}

static int
fail_cmp(const void *a, const void *b)
{
	const struct fail *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return strcmp(x->run, y->run);
}

static void
text_fails(FILE *out, const struct rview *v)
{
	struct table t = { .ncols = 5 };
	size_t first = v->nfails > FAILS_SHOWN ? v->nfails - FAILS_SHOWN : 0;

	fprintf(out, "\nfailed runs: %zu\n", v->nfails);
	if (v->nfails == 0)
		return;
	if (first > 0)
		fprintf(out, "  ... %zu earlier (--json lists all)\n", first);
	if ((t.cell = calloc(v->nfails - first, sizeof(*t.cell))) == NULL)
		return;
	for (size_t i = first; i < v->nfails; i++) {
		const struct fail *f = &v->fails[i];
		char (*row)[CELL] = t.cell[t.n++];

		when(f->t, row[0], CELL);
		snprintf(row[1], CELL, "%.8s", f->run[0] != '\0' ? f->run : "-");
		cut(f->tag[0] != '\0' ? f->tag : "-", row[2], CELL, 24);
		strlcpy(row[3], rec_status_name(f->st), CELL);
		cut(f->detail, row[4], CELL, DETAIL_SHOWN);
	}
	table_print(out, &t);
	free(t.cell);
}

static void
tag_cells(const struct tagrow *r, char row[MAX_COLS][CELL])
{
	cut(r->tag[0] != '\0' ? r->tag : "-", row[0], CELL, 24);
	snprintf(row[1], CELL, "%" PRId64, r->runs);
	snprintf(row[2], CELL, "%" PRId64, r->fails);
	when(r->last_ok, row[3], CELL);
	when(r->last_fail, row[4], CELL);
	dur_text(pct(r, 0.50), row[5], CELL);
	dur_text(pct(r, 0.95), row[6], CELL);
	snprintf(row[7], CELL, "%.4f", (double)r->cost_micro / 1e6);
}

static void
text_tags(FILE *out, const struct rview *v)
{
	static const char *const head[MAX_COLS] = { "tag", "runs", "failed",
	    "last ok", "last failure", "p50", "p95", "cost_usd" };
	struct table t = { .ncols = 8, .right = 0xe6 };

	if (v->ntags == 0)
		return;
	if ((t.cell = calloc(v->ntags + 1, sizeof(*t.cell))) == NULL)
		return;
	for (int c = 0; c < MAX_COLS; c++)
		strlcpy(t.cell[0][c], head[c], CELL);
	for (t.n = 1; t.n <= v->ntags; t.n++)
		tag_cells(&v->tags[t.n - 1], t.cell[t.n]);
	fprintf(out, "\nby tag:\n");
	table_print(out, &t);
	free(t.cell);
}

/*
 * One status over 14 days, each day a block scaled to the status's own
 * busiest day (a day of 400 against a usual 3 to 8 stands out), a
 * space for none, so that no run is ever drawn as nothing.
 */
static void
spark_line(FILE *out, const struct rview *v, int st, bool utf8, int namew)
{
	static const char *const blocks[2][5] = {
		{ ".", ":", "-", "=", "#" },
		{ "\u2581", "\u2582", "\u2583", "\u2585", "\u2587" },
	};
	int64_t max = 0, total = 0, c;

	for (int d = 0; d < SPARK_DAYS; d++) {
		c = v->spark[d][st];
		total += c;
		max = c > max ? c : max;
	}
	if (total == 0)
		return;
	fprintf(out, "  %-*s |", namew, rec_status_name(st));
	for (int d = 0; d < SPARK_DAYS; d++) {
		c = v->spark[d][st];
		fputs(c == 0 ? " " : blocks[utf8][(c * 5 + max - 1) / max - 1],
		    out);
	}
	fprintf(out, "|  %" PRId64 " runs, at most %" PRId64 " a day\n", total,
	    max);
}

static void
text_sparks(FILE *out, const struct rview *v, bool utf8)
{
	char a[32], b[32];
	int namew = 0;
	bool any = false;

	for (int st = 0; st < NST; st++)
		for (int d = 0; d < SPARK_DAYS; d++)
			if (v->spark[d][st] > 0) {
				any = true;
				if ((int)strlen(rec_status_name(st)) > namew)
					namew = (int)strlen(rec_status_name(st));
			}
	if (!any)
		return;
	when(v->first_day, a, sizeof(a));
	when(v->first_day + (SPARK_DAYS - 1) * DAY_MS, b, sizeof(b));
	a[10] = b[10] = '\0';	/* the days, not their midnights */
	fprintf(out, "\nlast %d days, %s to %s (UTC), runs a day:\n",
	    SPARK_DAYS, a, b);
	for (int st = 0; st < NST; st++)
		spark_line(out, v, st, utf8, namew);
}

/* The order the output needs: failures by time, durations for pct. */
static void
settle(const struct rview *v)
{
	/* qsort(NULL, 0, …) is undefined, however harmless in practice. */
	if (v->nfails > 0)
		qsort(v->fails, v->nfails, sizeof(*v->fails), fail_cmp);
	if (v->ntags > 0)
		qsort(v->tags, v->ntags, sizeof(*v->tags), tag_cmp);
	for (size_t i = 0; i < v->ntags; i++)
		if (v->tags[i].ndur > 0)
			qsort(v->tags[i].dur, v->tags[i].ndur,
			    sizeof(int64_t), dur_cmp);
}

void
rview_text(FILE *out, const struct rview *v, bool utf8)
{
	settle(v);
	text_fails(out, v);
	text_tags(out, v);
	text_sparks(out, v, utf8);
}

/* ---- JSON ------------------------------------------------------------ */

static void
add_time(cJSON *o, const char *key, int64_t ms)
{
	char t[CLOCK_ISO_LEN];

	if (ms == TIME_NONE) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	rec_iso(ms, t);
	cJSON_AddStringToObject(o, key, t);
}

static cJSON *
json_fails(const struct rview *v)
{
	cJSON *arr = cJSON_CreateArray(), *o;

	for (size_t i = 0; arr != NULL && i < v->nfails; i++) {
		const struct fail *f = &v->fails[i];

		if ((o = cJSON_CreateObject()) == NULL)
			continue;
		add_time(o, "ts", f->t);
		cJSON_AddStringToObject(o, "run", f->run);
		cJSON_AddStringToObject(o, "tag", f->tag);
		cJSON_AddStringToObject(o, "status", rec_status_name(f->st));
		if (f->exit >= 0)
			cJSON_AddNumberToObject(o, "exit", (double)f->exit);
		cJSON_AddStringToObject(o, "detail", f->detail);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *
json_tags(const struct rview *v)
{
	cJSON *arr = cJSON_CreateArray(), *o;

	for (size_t i = 0; arr != NULL && i < v->ntags; i++) {
		const struct tagrow *r = &v->tags[i];

		if ((o = cJSON_CreateObject()) == NULL)
			continue;
		cJSON_AddStringToObject(o, "tag", r->tag);
		cJSON_AddNumberToObject(o, "runs", (double)r->runs);
		cJSON_AddNumberToObject(o, "failures", (double)r->fails);
		add_time(o, "last_ok", r->last_ok);
		add_time(o, "last_failure", r->last_fail);
		if (r->ndur > 0) {
			cJSON_AddNumberToObject(o, "p50_ms", (double)pct(r, 0.5));
			cJSON_AddNumberToObject(o, "p95_ms", (double)pct(r, 0.95));
		}
		cJSON_AddNumberToObject(o, "cost_usd",
		    (double)r->cost_micro / 1e6);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *
json_sparks(const struct rview *v)
{
	cJSON *o = cJSON_CreateObject(), *days, *by, *arr;
	char d[32];
	bool any;

	if (o == NULL)
		return NULL;
	days = cJSON_AddArrayToObject(o, "days");
	by = cJSON_AddObjectToObject(o, "by_status");
	for (int i = 0; days != NULL && i < SPARK_DAYS; i++) {
		when(v->first_day + i * DAY_MS, d, sizeof(d));
		d[10] = '\0';
		cJSON_AddItemToArray(days, cJSON_CreateString(d));
	}
	for (int st = 0; by != NULL && st < NST; st++) {
		any = false;
		for (int i = 0; i < SPARK_DAYS; i++)
			any |= v->spark[i][st] > 0;
		if (!any || (arr = cJSON_AddArrayToObject(by,
		    rec_status_name(st))) == NULL)
			continue;
		for (int i = 0; i < SPARK_DAYS; i++)
			cJSON_AddItemToArray(arr,
			    cJSON_CreateNumber((double)v->spark[i][st]));
	}
	return o;
}

void
rview_json(cJSON *j, const struct rview *v)
{
	settle(v);
	cJSON_AddItemToObject(j, "failures", json_fails(v));
	cJSON_AddItemToObject(j, "tags", json_tags(v));
	cJSON_AddItemToObject(j, "last_14_days", json_sparks(v));
}

/* ---- the cooldown ---------------------------------------------------- */

static void
in_how_long(int64_t ms, char *buf, size_t size)
{
	dur_text(ms < 0 ? 0 : ms, buf, size);
}

void
rview_cooldown_text(FILE *out, const char *dir, int64_t now_ms)
{
	struct cooldown cd;
	char until[CLOCK_ISO_LEN], left[32];

	if (cooldown_peek(dir, now_ms, &cd) == -1) {
		fprintf(out, "cooldown: unknown (%s/cooldown: %s)\n", dir,
		    strerror(errno));
		return;
	}
	rec_iso(cd.until_ms, until);
	in_how_long(cd.until_ms - now_ms, left, sizeof(left));
	switch (cd.kind) {
	case CD_NONE:
		fprintf(out, "cooldown: none\n");
		break;
	case CD_RATE_LIMIT:
		fprintf(out, "cooldown: rate limit until %s (%s from now): a "
		    "run met a rate limit; every run of this state dir waits "
		    "before its first request\n", until, left);
		break;
	case CD_BREAKER:
		if (cd.until_ms != 0)
			fprintf(out, "cooldown: breaker open until %s (%s from "
			    "now) after %d overloaded/server outcomes in a row; "
			    "runs end 44 without a request, then one probes\n",
			    until, left, cd.streak);
		else if (cd.probe_pid != 0)
			fprintf(out, "cooldown: breaker open, pid %d is probing "
			    "after %d overloaded/server outcomes in a row\n",
			    (int)cd.probe_pid, cd.streak);
		else
			fprintf(out, "cooldown: breaker open after %d "
			    "overloaded/server outcomes in a row; the next run "
			    "probes\n", cd.streak);
		break;
	}
	if (cd.kind != CD_NONE)
		fprintf(out, "  (claudewrap-report --state-dir=%s "
		    "--clear-cooldown ends it)\n", dir);
}

void
rview_cooldown_json(cJSON *j, const char *dir, int64_t now_ms)
{
	static const char *const kind[] = { "none", "rate_limit", "breaker" };
	struct cooldown cd;
	cJSON *o;

	if (cooldown_peek(dir, now_ms, &cd) == -1 ||
	    (o = cJSON_AddObjectToObject(j, "cooldown")) == NULL)
		return;
	cJSON_AddStringToObject(o, "state_dir", dir);
	cJSON_AddStringToObject(o, "kind", kind[cd.kind]);
	if (cd.until_ms != 0)
		add_time(o, "until", cd.until_ms);
	cJSON_AddNumberToObject(o, "streak", cd.streak);
	if (cd.probe_pid != 0)
		cJSON_AddNumberToObject(o, "probe_pid", cd.probe_pid);
}
