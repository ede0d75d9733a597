/*
 * claudewrap-report's reading of one record: the fields as the parts
 * of the report (report.c, report_view.c, report_out.c, report_which.c,
 * report_explain.c) take them.
 */
#ifndef CW_REPORT_REC_H
#define CW_REPORT_REC_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "status.h"

#define TIME_NONE	INT64_MIN
#define NST		(ST__COUNT + 1)	/* the statuses, then "unknown" */

const char	*rec_str(const cJSON *, const char *key);
/* A number, or a string that holds one: logfmt values are strings. */
bool		 rec_num(const cJSON *, const char *key, double *v);
int64_t		 rec_int(const cJSON *, const char *key, int64_t dflt);
/* Epoch ms of the record: ts_ms, else ts parsed, else TIME_NONE. */
int64_t		 rec_time(const cJSON *);
bool		 rec_is(const cJSON *, const char *event);
/* The index of a status word, NST - 1 ("unknown") when not one. */
int		 rec_status_index(const char *word);
const char	*rec_status_name(int i);
/* ISO 8601 UTC with ms, or "(no time)" for TIME_NONE. */
void		 rec_iso(int64_t ms, char buf[CLOCK_ISO_LEN]);
/*
 * Whether a run with a start record (host, pid, time) and no done may
 * still be running: its pid is alive on this host and began no later
 * than the record.
 */
bool		 rec_still_running(const char *host, int64_t pid,
		    int64_t start_ms);

#endif
