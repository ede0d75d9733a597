/*
 * lines: the CLI's stream-json stdout cut into lines, with memory flat
 * however long a line is. A line is held in memory while it fits (256
 * KiB with a spool, else 128 MiB) and handed over from there; a longer
 * one is left in the spool and handed over as its place there; without a
 * spool, one past 128 MiB is skipped. Offsets are stream offsets: the
 * bytes fed before.
 */
#ifndef CW_LINES_H
#define CW_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Without a spool, a line longer than this is skipped. */
#define LINES_MAX_BYTES	((size_t)128 << 20)

/*
 * A complete line without its newline: len bytes at stream offset off,
 * in memory at mem, or (mem NULL) in the spool. 0, or -1 with errno.
 */
typedef int	lines_line_fn(void *ctx, const char *mem, int64_t off,
		    size_t len);
/* A line skipped: too long to hold, and no spool. */
typedef void	lines_skip_fn(void *ctx);

struct lines;

/* NULL: ENOMEM. */
struct lines	*lines_new(lines_line_fn *, lines_skip_fn *, void *ctx);
void		 lines_free(struct lines *);
/* fd holds every byte fed at its stream offset; the caller writes it. */
void		 lines_set_spool(struct lines *, int fd);
/*
 * A spool of our own, opened the first time a line needs it, holding
 * only the lines not held (and those given to lines_keep); the rest of
 * the file is a hole. A failed open or write makes lines_feed fail and
 * lines_spool_failed true.
 */
void		 lines_own_spool(struct lines *);
/* For tests: lines longer than hold bytes go to the spool. */
void		 lines_set_hold(struct lines *, size_t hold);
/* The spool lines are read from, or -1 (none, or not opened yet). */
int		 lines_spool_fd(const struct lines *);
bool		 lines_spool_failed(const struct lines *);
/*
 * Bytes as they arrive, in any pieces. A line that begins and ends in
 * one piece is handed over where it lies, not copied. 0, or -1 with
 * errno (from the spool, or from the line function).
 */
int		 lines_feed(struct lines *, const char *, size_t);
/* A last line without its newline, if any bytes of one came. */
int		 lines_end(struct lines *);
/*
 * A line handed over from memory must be read from the spool later (a
 * result that is not kept): into our own spool with it. 0, or -1.
 */
int		 lines_keep(struct lines *, const char *mem, int64_t off,
		    size_t len);

#endif
