/*
 * claudewrap-report --explain RUN: the five questions of the debugging
 * loop (did the call happen, did it return content, did it reach the
 * caller, did it write what it parsed, did downstream get it) answered
 * for one run from its start and done records, its transcript and the
 * file it wrote.
 */
#ifndef CW_REPORT_EXPLAIN_H
#define CW_REPORT_EXPLAIN_H

#include <stdio.h>

#include "report_opts.h"

/* Reads the ledger f for o->explain (a run id or a prefix); exit status. */
int	rexplain(const struct ropts *o, FILE *f, struct rio *io);

#endif
