/*
 * claudewrap-report --which FILE: the run whose done record wrote the
 * bytes FILE holds now, from the output path and sha256 the ledger
 * recorded; or, when none did, the last run that wrote to that path.
 */
#ifndef CW_REPORT_WHICH_H
#define CW_REPORT_WHICH_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "report_opts.h"

/* Reads the ledger f for o->which; the exit status. */
int	rwhich(const struct ropts *o, FILE *f, struct rio *io);
/*
 * The latest done record of the ledger f that wrote content sha, to the
 * file real (a resolved path) when one did, else anywhere, in *rec
 * (NULL: none; cJSON_Delete it). 0, or -1 with errno on a read error.
 */
int	rwhich_writer(FILE *f, const char *sha, const char *real,
	    cJSON **rec);

#endif
