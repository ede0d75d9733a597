/*
 * The summary's three renderings (report_out.h). Maps are walked in key
 * order, so that two reports of the same ledger are the same bytes.
 */
#include "report_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "io.h"
#include "output.h"
#include "report_view.h"

#define LOST_SHOWN	20		/* the text report lists at most these */

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
	const struct run_seen *r;

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
	struct map_ent **tags = rmap_sorted(&a->tags);
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
	struct map_ent **hosts = rmap_sorted(&a->hosts);
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
    struct map_ent **lost, size_t nlost, const struct rscan_stats *ss)
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
	const struct run_seen *r;

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
	struct map_ent **hosts = rmap_sorted(&a->hosts);
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
    struct map_ent **lost, size_t nlost, const struct rscan_stats *ss)
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
	struct map_ent **hosts = rmap_sorted(&a->hosts);
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
print_prom(FILE *out, const struct agg *a, const struct rscan_stats *ss)
{
	struct map_ent **tags = rmap_sorted(&a->tags);

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
    const struct rscan_stats *ss, FILE *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int rc;

	if (mem == NULL) {
		rsay(err, "%s: %s", o->prom_file, strerror(errno));
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
		rsay(err, "%s: %s", o->prom_file, strerror(errno));
	free(buf);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
rout_print(const struct agg *a, struct map_ent **days, struct map_ent **lost,
    size_t nlost, const struct rscan_stats *ss, struct rio *io)
{
	const struct ropts *o = a->o;

	if (o->fmt == FMT_PROM && o->prom_file != NULL)
		return prom_to_file(o, a, ss, io->err);
	if (o->fmt == FMT_PROM)
		return print_prom(io->out, a, ss) == 0 ? 0 : EXIT_FAILURE;
	if (o->fmt == FMT_JSON)
		return print_json(io->out, a, days, lost, nlost, ss) == 0 ? 0 :
		    EXIT_FAILURE;
	return print_text(io->out, a, days, lost, nlost, ss) == 0 ? 0 :
	    EXIT_FAILURE;
}
