/*
 * Payload: reads what the CLI printed on stdout and judges it.
 * Knows nothing of processes: the caller feeds bytes as they arrive and
 * then tells how the process ended.
 */
#ifndef CW_PAYLOAD_H
#define CW_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "status.h"

/* What the CLI was asked to print (underneath, or by the user). */
enum pl_format {
	PL_TEXT,	/* plain text (passthrough only) */
	PL_JSON,	/* one JSON object, or an array with --verbose */
	PL_STREAM,	/* stream-json: one event per line */
};

/*
 * Events of interest in a stream, handed to the hook as they are read:
 * PLE_EVENT for every line that parsed as a JSON object, then, for the
 * lines of interest, their own kind (PLE_TOOL_USE once per tool_use
 * block). Only PL_STREAM calls the hook. Every pointer in a pl_event is
 * valid only during the call; fields a kind does not set are 0 or NULL.
 */
enum pl_event_kind {
	PLE_EVENT,	/* any complete line that parsed (liveness) */
	PLE_INIT,	/* system/init: model, session */
	PLE_API_RETRY,	/* system/api_retry: the CLI's own retry */
	PLE_RATE_LIMIT,	/* rate_limit_event */
	PLE_TOOL_USE,	/* a tool_use block in an assistant message */
	PLE_FALLBACK,	/* system/model_fallback */
	PLE_RESULT,	/* a type:"result" event (terminal) */
};

struct pl_event {
	enum pl_event_kind kind;
	const char	*line;		/* the raw line, not NUL-terminated */
	size_t		 line_len;
	int64_t		 line_off;	/* offset of the line in the stream */
	const char	*model;		/* INIT; FALLBACK: the new model */
	const char	*session;	/* INIT */
	const char	*from_model;	/* FALLBACK: the original model */
	int		 retry_attempt;	/* API_RETRY */
	int		 retry_max;	/* API_RETRY */
	double		 retry_delay_ms; /* API_RETRY */
	int		 error_status;	/* API_RETRY: HTTP status, 0 if null */
	const char	*error;		/* API_RETRY: error kind */
	const char	*limit_status;	/* RATE_LIMIT: "allowed", "rejected", … */
	int64_t		 resets_at;	/* RATE_LIMIT: epoch seconds, 0 unknown */
	const char	*tool;		/* TOOL_USE: tool name */
	const char	*skill;		/* TOOL_USE: for the Skill tool, the skill named */
};

typedef void	pl_hook(void *ctx, const struct pl_event *);

/* What is known of usage and identity, for the done line and ledger. */
struct pl_usage {
	bool		 have;		/* a result with usage was read */
	char		 model[128];	/* modelUsage key with most output tokens */
	char		 session[64];
	int64_t		 input_tokens;
	int64_t		 output_tokens;
	int64_t		 cache_read;
	int64_t		 cache_creation;
	int64_t		 num_turns;
	double		 cost_usd;
};

/* How the process ended, as the caller saw it. */
struct pl_end {
	bool		 exited;	/* exited normally (else signaled) */
	int		 exit_code;
	int		 term_sig;
	bool		 timed_out;	/* killed by claudewrap's timeout */
};

struct verdict {
	enum outcome	 oc;
	char		 detail[256];	/* short reason for the log, no prompt */
	int64_t		 reset_at;	/* epoch seconds a limit resets, 0 unknown
					   (or named only in prose: retry.c) */
	bool		 have_result;
	int64_t		 result_off;	/* the last result line (STREAM; else 0) */
	size_t		 result_len;	/* without its newline */
	struct pl_usage	 usage;
};

struct payload;

/* NULL when out of memory. The hook may be NULL. */
struct payload	*payload_new(enum pl_format, pl_hook *, void *ctx);
void		 payload_free(struct payload *);
/*
 * stdout bytes as they arrive, in any chunks. 0, or -1 with errno:
 * ENOMEM, or EFBIG for PL_JSON output over 128 MiB (json is one value
 * and must be held whole; stream lines over that are skipped instead).
 */
int		 payload_feed(struct payload *, const char *, size_t);
/* A type:"result" line was read (PL_STREAM; PL_JSON after judging). */
bool		 payload_has_result(const struct payload *);
/* May be called again, with the same or another end. */
void		 payload_judge(struct payload *, const struct pl_end *,
		    struct verdict *);
/*
 * The `result` string of the last result, NUL-terminated, its length in
 * *len; NULL (and 0) if none, if not a string, and always for PL_TEXT.
 * PL_JSON knows it only after payload_judge. Valid until payload_free.
 */
const char	*payload_result_text(const struct payload *, size_t *);

#endif
