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
 * A line too long to hold (see payload_set_spool) comes with line NULL
 * and line_len 0: its bytes are line_size bytes at line_off in the spool.
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
	size_t		 line_len;	/* of line; 0 when line is NULL */
	size_t		 line_size;	/* of the line in the stream, always */
	int64_t		 line_off;	/* offset of the line in the stream */
	const char	*msg_id;	/* EVENT, TOOL_USE of an assistant line:
					   its message.id (one per API response) */
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
struct shape;

/* The members of a stream event that are judged (jscan.h); for benches. */
const struct shape *payload_event_shape(void);
/* NULL when out of memory. The hook may be NULL. */
struct payload	*payload_new(enum pl_format, pl_hook *, void *ctx);
void		 payload_free(struct payload *);
/*
 * PL_STREAM: fd holds every byte fed, each at its offset in the stream
 * (the bytes fed before it), written there before it is fed; payload
 * only preads it. Then a stream line longer than 256 KiB is not held
 * but read back from fd in pieces when its newline comes, keeping only
 * what judging and the hook need, so memory stays flat whatever the
 * line's size. Without a spool, lines are held whole (up to 128 MiB).
 */
void		 payload_set_spool(struct payload *, int fd);
/*
 * PL_STREAM, when nothing but the lines' reading needs the stream kept
 * (text delivery): payload opens a spool (spool_open) the first time it
 * needs one, and writes there, at their stream offsets, only the lines
 * it does not hold (and one whose result it does not keep); the rest of
 * the file stays a hole. A failed open or write makes payload_feed fail
 * and payload_spool_failed true.
 */
void		 payload_own_spool(struct payload *);
/* The spool payload reads: the caller's, its own, or -1 (none yet). */
int		 payload_spool_fd(const struct payload *);
bool		 payload_spool_failed(const struct payload *);
/*
 * For tests: a line longer than line_hold bytes is read back from the
 * spool, and, in such a line, a `result` string longer than str_hold
 * bytes (as escaped JSON) is not held (see payload_write_result). 0
 * keeps a default (256 KiB, 64 KiB).
 */
void		 payload_set_limits(struct payload *, size_t line_hold,
		    size_t str_hold);
/*
 * For tests: every stream line is parsed by cJSON, none passed over for
 * its type, and the scanner reads every string a byte at a time; what is
 * judged and told must be the same either way.
 */
void		 payload_set_thorough(struct payload *);
/*
 * The exact result text this CLI version substitutes for an answer with
 * no text (2.0.x: "(no content)"), or NULL: a result of exactly that text
 * is judged empty. The string must outlive the payload.
 */
void		 payload_set_placeholder(struct payload *, const char *);
/*
 * stdout bytes as they arrive, in any chunks. 0, or -1 with errno:
 * ENOMEM, EFBIG for PL_JSON output over 128 MiB (json is one value
 * and must be held whole; stream lines over that are skipped instead,
 * when there is no spool), or the error of a read of the spool.
 */
int		 payload_feed(struct payload *, const char *, size_t);
/* May be called again, with the same or another end. */
void		 payload_judge(struct payload *, const struct pl_end *,
		    struct verdict *);
/*
 * The `result` string of the last result, NUL-terminated, its length in
 * *len; NULL (and 0) if none, if not a string, and always for PL_TEXT.
 * Also NULL for a result string that was not held (read back from the
 * spool): payload_write_result has it. PL_JSON knows it only after
 * payload_judge. Valid until payload_free.
 */
const char	*payload_result_text(const struct payload *, size_t *);
/*
 * Writes the `result` string of the last result to fd, decoded, held or
 * not (then decoded from the spool in pieces); nothing if there is none.
 * *ends_nl tells whether its last byte was a newline. 0, or -1 with
 * errno (of the write, or of a read of the spool: EIO if it is short).
 */
int		 payload_write_result(const struct payload *, int fd,
		    bool *ends_nl);

#endif
