/*
 * judge: the verdict on an attempt, from what payload.c read of stdout
 * (struct pl_facts) and how the process ended. payload.c fills the
 * facts as it reads; judge_facts only reads them.
 */
#ifndef CW_JUDGE_H
#define CW_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jscan.h"
#include "payload.h"

/* Bytes kept of text output, and of the first line that did not parse. */
#define JUDGE_HEAD_BYTES	512

struct cJSON;

struct pl_facts {
	enum pl_format	 fmt;
	int64_t		 off;		/* bytes fed so far */
	bool		 skipped_long;	/* a line too long to hold was */
	bool		 skipped_odd;	/* one read back could not be reduced */

	/* Text: its head, and whether all of it so far is white space. */
	char		 head[JUDGE_HEAD_BYTES];
	size_t		 head_len;
	bool		 all_space;
	/* What this CLI version prints for an empty answer (cliversion.c). */
	const char	*placeholder;

	/* What the events said. */
	struct cJSON	*result;	/* the last type:"result" object */
	int64_t		 result_off;
	size_t		 result_len;
	struct js_str	 big;		/* its `result`, when not held */
	const char	*bad_why;	/* why a JSON line was refused */
	const char	*malformed;	/* json: a value that is no result */
	size_t		 nparsed;	/* lines (or elements) that parsed */
	size_t		 nbad;		/* lines that did not */
	char		 bad_head[JUDGE_HEAD_BYTES];	/* the first of those */
	size_t		 bad_head_len;
	bool		 limit_rejected;
	int64_t		 limit_reset;
	/* The "error" of the last assistant message. */
	char		 asst_error[32];
	char		 model[128];
	char		 session[64];
};

/*
 * Fills v whole: the outcome and its detail, the result's place in the
 * stream (PL_STREAM) and, but for PL_TEXT, the usage. The reading must be
 * finished first (payload_judge does that).
 */
void	judge_facts(const struct pl_facts *, const struct pl_end *,
	    struct verdict *);

#endif
