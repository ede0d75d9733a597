/*
 * jscan: the one reader of stream-json lines. Reads a line, from memory
 * or from the spool a piece at a time, and reduces it to the JSON text
 * of an object holding only the members a shape names, which cJSON then
 * parses; so memory stays flat however long the line.
 */
#ifndef CW_JSCAN_H
#define CW_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A kept string longer than this (as escaped JSON) is cut to its head. */
#define JS_STR_HOLD	((size_t)64 << 10)

/*
 * What is kept of a value: a shape names, for an object, the members
 * read (SH_OBJ: the first of each name, as cJSON finds it) or a shape
 * for every member (SH_MAP); for an array, the tool_use blocks of a
 * message (SH_TOOLS: its sub-shape names the block's type with an
 * SH_NAME of the same slot) or its first string (SH_FIRST_STR). SH_RESULT is
 * the `result` string, which may be left in the spool (struct js_str).
 * SH_NAME is a leaf whose string value is also handed over decoded, in
 * js_line's name[slot], so that the caller can tell what a line is
 * without parsing it. A value of another type than its shape expects is
 * kept as a leaf: a scalar whole, an object as {}, an array as [].
 * SH_OBJ names at most 32 members.
 */
enum sh_kind { SH_LEAF, SH_RESULT, SH_OBJ, SH_MAP, SH_TOOLS, SH_FIRST_STR,
	SH_NAME };

/* SH_NAME slots, and the bytes of a name (a longer one reads as ""). */
#define JS_NAMES	5
#define JS_NAME_BYTES	31

struct field;

struct shape {
	enum sh_kind		 kind;
	const struct shape	*sub;		/* SH_MAP, SH_TOOLS */
	const struct field	*fields;	/* SH_OBJ, NULL-terminated */
	int			 slot;		/* SH_NAME, SH_TOOLS */
};

struct field {
	const char		*key;
	const struct shape	*sh;
};

/*
 * The `result` string of a line, when it was not kept in the reduction
 * (only its head is): where its escaped text lies in the spool (between
 * the quotes), and what judging asks of it.
 */
struct js_str {
	bool		 set;
	int64_t		 off;
	int64_t		 len;
	bool		 empty;		/* as cJSON's C string: up to a NUL */
	bool		 blank;		/* white space only, likewise */
};

/* A line reduced; valid until the next call on the same jscan. */
struct js_line {
	const char	*json;		/* NUL-terminated */
	size_t		 len;
	bool		 deep;		/* nesting went past 1000 levels */
	struct js_str	 big;
	/*
	 * Each SH_NAME's string as cJSON's C string (up to a NUL), when the
	 * first member of its name held a string: named[slot].
	 */
	bool		 named[JS_NAMES];
	char		 name[JS_NAMES][JS_NAME_BYTES + 1];
	size_t		 tools;		/* SH_TOOLS elements kept */
	bool		 cut;		/* js_enough said so: json is NULL */
};

enum js_end {
	JS_OK,		/* reduced: one object, then white space only */
	JS_BAD,		/* not a JSON object */
	JS_FULL,	/* the reduction outgrew its bound: skip the line */
	JS_ERR,		/* errno: ENOMEM, or a read of the spool failed */
};

struct jscan;

/* The spool that holds every line at its stream offset; NULL: ENOMEM. */
struct jscan	*jscan_new(int spool_fd);
void		 jscan_free(struct jscan *);
/* The spool, once there is one after jscan_new(-1). */
void		 jscan_set_spool(struct jscan *, int spool_fd);
/*
 * Asked after each member of a line's own object that set a name: true
 * when the caller has what it needs of the line; the rest is then only
 * read (is it JSON?), not kept, and the line comes back cut. It must
 * answer from the names alone: a held line that begins with the bytes
 * of the last one cut, up to its cut, is cut there without asking.
 */
typedef bool	 js_enough(const struct js_line *);
void		 jscan_set_enough(struct jscan *, js_enough *);
/*
 * Tests: every string read a byte at a time, as the slow path does, and
 * every line reduced whole (js_enough is not asked).
 */
void		 jscan_set_thorough(struct jscan *);
/*
 * The line of len bytes at stream offset off: read from mem when not
 * NULL (a held line: its `result` is kept whole unless it has a NUL),
 * else from the spool (a `result` over str_hold escaped bytes is not
 * kept).
 */
enum js_end	 jscan_line(struct jscan *, const struct shape *,
		    const char *mem, int64_t off, size_t len, size_t str_hold,
		    struct js_line *);
/*
 * The first bytes after white space of the line last given to
 * jscan_line, up to size, into head: how many in *n. 0, or -1 with errno.
 */
int		 jscan_head(struct jscan *, char *head, size_t size, size_t *n);
/* Writes the decoded string s from the spool to fd. 0, or -1 with errno. */
int		 jscan_write_str(int spool_fd, const struct js_str *s, int fd,
		    bool *ends_nl);

#endif
