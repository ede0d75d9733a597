#include "lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "spool.h"

/* After a line that grew the buffer past this, the buffer is let go. */
#define LINE_KEEP_BYTES	((size_t)1 << 20)
/* With a spool, a longer line is read back from it instead. */
#define LINE_HOLD_BYTES	((size_t)256 << 10)

struct lines {
	lines_line_fn	*line;
	lines_skip_fn	*skip;
	void		*ctx;
	int64_t		 off;		/* bytes fed so far */
	int64_t		 line_off;	/* where the current line began */
	char		*buf;		/* the current line, while held */
	size_t		 len;
	size_t		 cap;
	size_t		 hold;
	bool		 overlong;	/* the current line is being skipped */
	bool		 spooled;	/* the current line is left in the spool */
	bool		 spooling;	/* long lines go to a spool */
	bool		 own;		/* we write it: the lines not held */
	bool		 opened;	/* and opened it: we close it */
	bool		 failed;	/* the last error was the spool's */
	int		 fd;		/* -1: none, or our own not yet opened */
};

struct lines *
lines_new(lines_line_fn *line, lines_skip_fn *skip, void *ctx)
{
	struct lines *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->line = line;
	l->skip = skip;
	l->ctx = ctx;
	l->hold = LINE_HOLD_BYTES;
	l->fd = -1;
	return l;
}

void
lines_free(struct lines *l)
{
	if (l == NULL)
		return;
	if (l->opened)
		(void)close(l->fd);
	free(l->buf);
	free(l);
}

void
lines_set_spool(struct lines *l, int fd)
{
	l->fd = fd;
	l->spooling = true;
}

void
lines_own_spool(struct lines *l)
{
	l->spooling = l->own = true;
}

void
lines_set_hold(struct lines *l, size_t hold)
{
	l->hold = hold;
}

int
lines_spool_fd(const struct lines *l)
{
	return l->fd;
}

bool
lines_spool_failed(const struct lines *l)
{
	return l->failed;
}

/*
 * Bytes of a line into a spool we own, at their stream offset: the
 * spool is sparse, holding only what is read or delivered from there.
 * 0, or -1 with errno.
 */
static int
spool_put(struct lines *l, const char *b, size_t n, int64_t off)
{
	if (!l->own || n == 0)
		return 0;
	if (l->fd == -1) {
		if ((l->fd = spool_open()) == -1) {
			l->failed = true;
			return -1;
		}
		l->opened = true;
	}
	if (io_pwrite_all(l->fd, b, n, (off_t)off) == -1) {
		l->failed = true;
		return -1;
	}
	return 0;
}

int
lines_keep(struct lines *l, const char *mem, int64_t off, size_t len)
{
	return spool_put(l, mem, len, off);
}

static void
drop_buffer(struct lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

/* Whether a line of n bytes is held in memory to be read. */
static bool
holds(const struct lines *l, size_t n)
{
	return n <= (l->spooling ? l->hold : LINES_MAX_BYTES);
}

/*
 * More bytes of the current line: held while it fits, else written to a
 * spool we own (spooled) or skipped (overlong). 0, or -1 with errno.
 */
static int
take_bytes(struct lines *l, const char *b, size_t take)
{
	if (!l->overlong && !l->spooled && !holds(l, l->len + take)) {
		if (l->spooling) {
			/* Read back from the spool at its end. */
			l->spooled = true;
			if (spool_put(l, l->buf, l->len, l->line_off) == -1)
				return -1;
		} else	/* held, it would break the flat-memory promise */
			l->overlong = true;
		drop_buffer(l);
	}
	if (l->spooled)
		return spool_put(l, b, take, l->off);
	if (l->overlong || take == 0)
		return 0;
	if (io_grow(&l->buf, &l->cap, l->len + take) == -1)
		return -1;
	memcpy(l->buf + l->len, b, take);
	l->len += take;
	return 0;
}

/* The current line ends at l->off. 0, or -1 with errno. */
static int
end_line(struct lines *l)
{
	int rc = 0;

	if (l->overlong) {
		l->overlong = false;
		l->skip(l->ctx);
	} else if (l->spooled) {
		l->spooled = false;
		rc = l->line(l->ctx, NULL, l->line_off,
		    (size_t)(l->off - l->line_off));
	} else if (l->len > 0)
		rc = l->line(l->ctx, l->buf, l->line_off, l->len);
	l->len = 0;
	if (l->cap > LINE_KEEP_BYTES)
		drop_buffer(l);
	return rc;
}

int
lines_feed(struct lines *l, const char *b, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(b, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - b) : n;
		bool in_place = nl != NULL && l->len == 0 && !l->overlong &&
		    !l->spooled && holds(l, take);
		int rc = 0;

		if (in_place) {
			if (take > 0)
				rc = l->line(l->ctx, b, l->off, take);
		} else
			rc = take_bytes(l, b, take);
		l->off += (int64_t)take;
		b += take;
		n -= take;
		if (nl != NULL) {
			if (!in_place && rc == 0)
				rc = end_line(l);
			b++;
			n--;
			l->off++;
			l->line_off = l->off;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
lines_end(struct lines *l)
{
	int rc = 0;

	if (l->len > 0 || l->overlong || l->spooled)
		rc = end_line(l);
	l->line_off = l->off;
	return rc;
}
