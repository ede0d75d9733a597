/*
 * The parts of claudewrap-report read the next morning, beside the
 * table of days (report.c): the failed runs of the period, a line per
 * tag, a sparkline per status over the last 14 days, and the shared
 * cooldown or breaker in force. Fed each done record once (report.c
 * drops a run seen twice and records outside the period or tag).
 */
#ifndef CW_REPORT_VIEW_H
#define CW_REPORT_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define SPARK_DAYS	14

struct rview;

/* Days are UTC, as the table's; the sparklines end on now_ms's day. */
struct rview	*rview_new(int64_t now_ms);
void		 rview_free(struct rview *);
/* One done record: st its status index, tag resolved ("" for none). */
void		 rview_done(struct rview *, const cJSON *rec, const char *id,
		    const char *tag, int st, int64_t t);
/* False once memory ran out: the view is incomplete. */
bool		 rview_ok(const struct rview *);
/* Failed runs, tags and sparklines as text; utf8: ▁▂▃▅▇, else ASCII. */
void		 rview_text(FILE *, const struct rview *, bool utf8);
/* The same as members of j: failures, tags, sparklines. */
void		 rview_json(cJSON *j, const struct rview *);
/* Whether the locale's character set is UTF-8 (LANG, LC_ALL, LC_CTYPE). */
bool		 rview_utf8_locale(void);

/* The cooldown of the state dir dir: one line of text, or a member. */
void		 rview_cooldown_text(FILE *, const char *dir, int64_t now_ms);
void		 rview_cooldown_json(cJSON *j, const char *dir, int64_t now_ms);

#endif
