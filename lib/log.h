/*
 * claudewrap's own stderr lines: `claudewrap: ` then logfmt, or a bare
 * JSON object per line.
 * An event is built as a cJSON object (so both formats share one
 * representation) and written as one line by log_end.
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum log_format { LOGF_LOGFMT, LOGF_JSON };
enum log_level { LV_INFO, LV_WARN, LV_ERROR };

#define LOG_RUN_ID_LEN	37

struct log;

struct log	*log_open(enum log_format, bool quiet, bool use_syslog,
		    const char *tag);
void		 log_close(struct log *);
const char	*log_run_id(const struct log *);
/* Starts an event with ts, level, run, tag and event; NULL on ENOMEM. */
cJSON		*log_begin(struct log *, enum log_level, const char *event);
/* Writes the event as one line and frees it; a NULL event is ignored. */
void		 log_end(struct log *, cJSON *);
/* Convenience for the common shapes. */
void		 log_str(cJSON *, const char *key, const char *val);
void		 log_int(cJSON *, const char *key, int64_t val);
/*
 * Each integer in obj, and in the objects and arrays inside it, becomes
 * raw JSON text, the very text cJSON prints for it, without cJSON's
 * sprintf and sscanf per number: for a record that is only printed from
 * then on, as a ledger record is (its numbers no longer read as numbers).
 */
void		 log_ints_as_text(cJSON *obj);
/* The CLI's own stderr, passed through (after erasing a status line). */
void		 log_passthrough(struct log *, const void *, size_t);
/*
 * --quiet-ok: from now until the done line, everything for stderr (our
 * lines, the CLI's passed through) goes to an unlinked spool; the done
 * line drops it when its exit is 0, else writes it out, then itself.
 * -1 with errno when no spool could be made (nothing is held then).
 */
int		 log_hold(struct log *);
/* Moves the members of ev's object key up as key_member (output_path). */
void		 log_flatten(cJSON *ev, const char *key);
/* Whether a live status line is shown (stderr a terminal, not quiet). */
bool		 log_live(const struct log *);
/* One live status line on a terminal stderr; never written otherwise. */
void		 log_status(struct log *, const char *text);
/* Renders value for logfmt into buf: quoted when it must be. */
size_t		 log_fmt_value(const char *val, char *buf, size_t size);

#endif
