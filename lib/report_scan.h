/*
 * The records of a source, one line at a time with bounded memory:
 * ledger lines (JSON), or claudewrap's stderr lines on stdin, where
 * claudewrap's part of a line ("claudewrap: " at the start, or the
 * syslog form "claudewrap[PID]: " anywhere) is logfmt or JSON, and a
 * bare ledger line is taken too.
 */
#ifndef CW_REPORT_SCAN_H
#define CW_REPORT_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define RSCAN_LINE_MAX	(1024 * 1024)	/* a longer line is unreadable */

typedef void	rscan_fn(void *ctx, const cJSON *rec);

struct rscan_stats {
	int64_t	records;
	int64_t	unreadable;
};

/*
 * Calls fn with every start and done record of f, in order; logs: f is
 * claudewrap's stderr, not a ledger. 0, or -1 on a read error.
 */
int	 rscan(FILE *f, bool logs, rscan_fn *fn, void *ctx,
	    struct rscan_stats *);
/*
 * A whole line that should be one JSON object: the object, or NULL,
 * *bad false when the line is blank, true when it does not parse.
 */
cJSON	*rscan_json(const char *line, bool *bad);

#endif
