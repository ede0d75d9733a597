/*
 * jscan: the one reader of stream-json lines (see jscan.h). Every line
 * is read here, a held one from memory, a long one back from the spool
 * in RD_BYTES pieces, and reduced as it streams by to the JSON text of
 * an object that has only the members its shape names, which cJSON
 * then parses (payload.c gathers the facts, judge.c judges them). A kept
 * string longer than JS_STR_HOLD as escaped JSON (str_hold for the
 * `result` string of a line read back) is cut to about its first
 * STR_HEAD_BYTES decoded bytes, more than judging ever searches; for
 * the `result` string its place in the spool and whether it is blank
 * are kept too, and jscan_write_str decodes it from there on delivery.
 *
 * What is read as JSON is what cJSON 1.7 reads, quirks included, so
 * that verdicts stay those of the releases that parsed held lines with
 * cJSON: white space is any byte up to 0x20, a UTF-8 byte order mark is
 * skipped, numbers are as scan_number reads them, nesting stops at
 * CJSON_NESTING_LIMIT, and strings are read as jdec.c decodes them;
 * only lone UTF-16 surrogates differ (U+FFFD, as Node prints them). A
 * line whose reduction outgrows its bound (tens of thousands of
 * tool_use blocks) is skipped, as an overlong held one.
 */
#include "jscan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "jdec.h"
#include "jget.h"

#define RD_BYTES	65536			/* one read of the spool */
#define OUT_MAX_BYTES	((size_t)256 << 10)	/* a reduced line, at most */
#define STR_HEAD_BYTES	((size_t)16 << 10)	/* kept of a long string */
#define KEY_BYTES	31			/* longer keys are never read */
_Static_assert(KEY_BYTES == JS_NAME_BYTES, "a name is decoded as a key");
#define LINE_KEEP_BYTES	((size_t)1 << 20)	/* a larger buffer is let go */

/* A line in the spool, read a piece at a time. */
struct rd {
	int		 fd;
	int64_t		 off;		/* spool offset of buf[0] */
	int64_t		 end;		/* of the line */
	size_t		 i;		/* the next byte is buf[i] */
	size_t		 n;		/* bytes in buf */
	int		 err;		/* errno of a failed read, else 0 */
	const unsigned char *mem;	/* the line in memory (at off), or NULL */
	int64_t		 mem_off;
	const unsigned char *buf;	/* the piece: in mem, or store */
	unsigned char	 store[RD_BYTES];
};

static struct rd *
rd_open(int fd, int64_t off, int64_t len)
{
	struct rd *r = malloc(sizeof(*r));

	if (r == NULL)
		return NULL;
	r->fd = fd;
	r->off = off;
	r->end = off + len;
	r->i = r->n = 0;
	r->err = 0;
	r->mem = NULL;
	r->mem_off = 0;
	r->buf = r->store;
	return r;
}

/*
 * Points r at a line: len bytes at spool offset off, also in memory at
 * mem unless that is NULL.
 */
static void
rd_reset(struct rd *r, const char *mem, int64_t off, int64_t len)
{
	r->off = off;
	r->end = off + len;
	r->i = r->n = 0;
	r->err = 0;
	r->mem = (const unsigned char *)mem;
	r->mem_off = off;
	r->buf = r->store;
}

static void
rd_seek(struct rd *r, int64_t off)
{
	r->off = off;
	r->i = r->n = 0;
}

/* The next piece; -1 at the end of the line, or on an error (err). */
static __attribute__((noinline)) int
rd_fill(struct rd *r)
{
	size_t want;
	ssize_t got;

	r->off += (int64_t)r->n;
	r->i = r->n = 0;
	if (r->err != 0 || r->off >= r->end)
		return -1;
	if (r->mem != NULL) {
		/* A line in memory is one piece, read where it lies. */
		r->buf = r->mem + (r->off - r->mem_off);
		r->n = (size_t)(r->end - r->off);
		return 0;
	}
	want = r->end - r->off < RD_BYTES ? (size_t)(r->end - r->off) :
	    RD_BYTES;
	r->buf = r->store;
	do {
		got = pread(r->fd, r->store + r->n, want - r->n,
		    (off_t)(r->off + (int64_t)r->n));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* Short: the spool lacks what was fed. */
			r->err = got == 0 ? EIO : errno;
			r->n = 0;
			return -1;
		}
		r->n += (size_t)got;
	} while (r->n < want);
	return 0;
}

/* Per byte of every line: the common case inline, the refill not. */
static inline int
rd_peek(struct rd *r)
{
	if (__builtin_expect(r->i < r->n, 1))
		return r->buf[r->i];
	return rd_fill(r) == -1 ? -1 : r->buf[r->i];
}

static inline int
rd_get(struct rd *r)
{
	int c = rd_peek(r);

	if (c >= 0)
		r->i++;
	return c;
}

static int64_t
rd_pos(const struct rd *r)
{
	return r->off + (int64_t)r->i;
}


/*
 * The head of the last held line that js_enough cut short: its bytes up
 * to the cut, and the names the line had then. The scanner reads nothing
 * past a member before it asks, and what it asks depends on the names
 * only, so a held line that begins with the same bytes is cut at the
 * same place with the same names: its rest is read from there (is it
 * JSON?). Consecutive events of one kind share such a head (system
 * ticks, partial messages: `{"type":"stream_event"`).
 */
#define CUT_HEAD_BYTES	128
struct cut_head {
	const struct shape *sh;		/* the line's shape */
	size_t		 n;		/* 0: none */
	unsigned char	 bytes[CUT_HEAD_BYTES];
	bool		 named[JS_NAMES];
	char		 name[JS_NAMES][JS_NAME_BYTES + 1];
	size_t		 tools;
};

/* One line being read back and reduced. */
struct scan {
	struct rd	*rd;
	char		*out;		/* the reduced line, JSON text */
	size_t		 len;
	size_t		 cap;
	size_t		 out_max;	/* it may grow to (with its NUL) */
	bool		 full;		/* it outgrew out_max */
	int		 err;		/* ENOMEM */
	size_t		 depth;
	size_t		 str_hold;
	bool		 thorough;	/* jscan_set_thorough */
	js_enough	*enough;	/* NULL when thorough */
	struct js_line	*line;		/* deep, big, the names, tools */
	const struct shape *top;	/* the line's shape */
	struct cut_head	*head;		/* noted at a cut */
};

/* out_put when the buffer must grow, or the line is full. */
static __attribute__((noinline)) void
out_grow(struct scan *sc, const void *b, size_t n)
{
	if (sc->full)
		return;
	if (sc->len + n + 1 > sc->out_max) {
		sc->full = true;
		return;
	}
	if (io_grow(&sc->out, &sc->cap, sc->len + n + 1) == -1) {
		sc->full = true;
		sc->err = ENOMEM;
		return;
	}
	memcpy(sc->out + sc->len, b, n);
	sc->len += n;
}

/*
 * Appends to the reduced line; once full, nothing more is kept. Inline:
 * a line's reduction takes a few dozen of these, most of a byte or two.
 */
static inline void
out_put(struct scan *sc, const void *b, size_t n)
{
	if (__builtin_expect(!sc->full && sc->len + n < sc->cap &&
	    sc->len + n < sc->out_max, 1)) {
		memcpy(sc->out + sc->len, b, n);
		sc->len += n;
		return;
	}
	out_grow(sc, b, n);
}

static void
out_str(struct scan *sc, const char *s)
{
	out_put(sc, s, strlen(s));
}

static __attribute__((noinline)) void
skip_ws_run(struct scan *sc)
{
	struct rd *r = sc->rd;

	do
		while (r->i < r->n && r->buf[r->i] <= ' ')
			r->i++;
	while (r->i == r->n && rd_fill(r) == 0);
}

/* Inline for the common case: no white space, the next byte at hand. */
static inline void
skip_ws(struct scan *sc)
{
	struct rd *r = sc->rd;

	if (__builtin_expect(r->i < r->n && r->buf[r->i] > ' ', 1))
		return;
	skip_ws_run(sc);
}

static int	scan_value(struct scan *, const struct shape *);

/* What a string decodes to, as far as anything here asks. */
struct strstat {
	int64_t		 ndec;		/* bytes decoded */
	bool		 nul;		/* cJSON's C string ended at a NUL */
	bool		 nul_text;	/* the result: a NUL is text, as the
					   CLI prints it (delivered whole) */
	bool		 has_nul;	/* a NUL was decoded */
	bool		 empty;		/* before it */
	bool		 blank;
	size_t		 nkey;
};

static bool	str_settled(const struct strstat *, const char *);

/*
 * Decoded bytes: looked at one by one until nothing more can change
 * what is noted, then, for the result, only searched for a NUL.
 */
static void
str_note(struct strstat *ss, const unsigned char *b, size_t k, char *key)
{
	size_t i;

	ss->ndec += (int64_t)k;
	for (i = 0; i < k && !ss->nul && !str_settled(ss, key); i++) {
		if (b[i] == '\0')
			ss->has_nul = true;
		if (b[i] == '\0' && !ss->nul_text) {
			ss->nul = true;
			break;
		}
		ss->empty = false;
		if (!jget_is_space(b[i]))
			ss->blank = false;
		if (key != NULL && ss->nkey < KEY_BYTES)
			key[ss->nkey] = (char)b[i];
		ss->nkey++;
	}
	if (i < k && ss->nul_text && !ss->has_nul &&
	    memchr(b + i, '\0', k - i) != NULL)
		ss->has_nul = true;
}

/* Nothing more decoded can change what str_note found. */
static bool
str_settled(const struct strstat *ss, const char *key)
{
	return ss->nul || (!ss->empty && !ss->blank &&
	    (key == NULL || ss->nkey > KEY_BYTES));
}

enum str_mode { STR_DROP, STR_KEY, STR_KEEP, STR_RESULT };

/* A string being read. */
struct strscan {
	enum str_mode	 mode;
	bool		 emit;		/* appended: STR_KEEP, STR_RESULT */
	int64_t		 hold;		/* raw bytes appended whole */
	int64_t		 off;		/* of its first byte in the spool */
	int64_t		 raw;		/* its bytes so far */
	size_t		 cut;		/* where its head may end in sc->out */
	char		*key;
	struct jdec	 d;
	struct strstat	 ss;
};

/*
 * Decoded bytes as JSON string text that cJSON reads back to the same
 * bytes: an escape is written again, not copied, so that what cJSON
 * would refuse (a lone surrogate) reaches it as the U+FFFD we decoded.
 */
static void
out_json_bytes(struct scan *sc, const unsigned char *b, size_t k)
{
	char e[8];

	for (size_t i = 0; i < k; i++) {
		if (b[i] == '"' || b[i] == '\\') {
			e[0] = '\\';
			e[1] = (char)b[i];
			out_put(sc, e, 2);
		} else if (b[i] < 0x20) {
			snprintf(e, sizeof(e), "\\u%04x", b[i]);
			out_put(sc, e, 6);
		} else
			out_put(sc, b + i, 1);
	}
}

/* One byte of a string, not its closing quote. 0, or -1. */
static int
str_byte(struct scan *sc, struct strscan *st, unsigned char c)
{
	unsigned char dec[JDEC_OUT];
	int k;

	if ((k = jdec_put(&st->d, c, dec)) < 0)
		return -1;
	st->raw++;
	str_note(&st->ss, dec, (size_t)k, st->key);
	/* Everything up to hold, and at least the head. */
	if (st->emit && (st->raw <= st->hold ||
	    st->ss.ndec <= (int64_t)STR_HEAD_BYTES)) {
		out_json_bytes(sc, dec, (size_t)k);
		if (jdec_at_rest(&st->d) &&
		    st->ss.ndec <= (int64_t)STR_HEAD_BYTES)
			st->cut = sc->len;
	}
	return 0;
}

/*
 * m bytes at the reader, none a quote or a backslash, the string at
 * rest: they decode to themselves, so str_byte's work is done at once.
 */
static void
str_plain(struct scan *sc, struct strscan *st, size_t m)
{
	const unsigned char *b = sc->rd->buf + sc->rd->i;
	int64_t head = (int64_t)STR_HEAD_BYTES - st->ss.ndec;
	int64_t keep = st->hold - st->raw;
	int64_t k = keep > head ? keep : head;
	size_t before = sc->len;

	str_note(&st->ss, b, m, st->key);
	if (st->emit && k > 0) {
		out_put(sc, b, k < (int64_t)m ? (size_t)k : m);
		if (head > 0 && !sc->full)
			st->cut = before + (head < (int64_t)m ? (size_t)head : m);
	}
	st->raw += (int64_t)m;
	sc->rd->i += m;
}

/* The string is over: what is left to decode, and its head if cut. */
static int
str_end(struct scan *sc, struct strscan *st)
{
	unsigned char dec[JDEC_OUT];
	int k;

	if ((k = jdec_end(&st->d, dec)) < 0)
		return -1;
	if (st->emit)
		out_json_bytes(sc, dec, (size_t)k);
	str_note(&st->ss, dec, (size_t)k, st->key);
	if (st->key != NULL)
		st->key[st->ss.nkey <= KEY_BYTES ? st->ss.nkey : 0] = '\0';
	if (!st->emit)
		return 0;
	/* A result with a NUL is never held: cJSON's copy would end there. */
	if (st->raw > st->hold || (st->mode == STR_RESULT && st->ss.has_nul)) {
		if (!sc->full)
			sc->len = st->cut;
		if (st->mode == STR_RESULT) {
			sc->line->big.set = true;
			sc->line->big.off = st->off;
			sc->line->big.len = st->raw;
			sc->line->big.empty = st->ss.empty;
			sc->line->big.blank = st->ss.blank;
		}
	}
	out_put(sc, "\"", 1);
	return 0;
}

/* The first quote or backslash in [b, stop), or stop. */
static const unsigned char *
quote_or_bs(const unsigned char *b, const unsigned char *stop)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/*
	 * 8 bytes at a time: the high bit of each byte that is '"' or '\\'
	 * (exact for the lowest such byte, which is all that is asked: a
	 * borrow only marks bytes above it).
	 */
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	uint64_t w, q, bs, hit;

	for (; stop - b >= 8; b += 8) {
		memcpy(&w, b, sizeof(w));
		q = w ^ (ones * '"');
		bs = w ^ (ones * '\\');
		hit = (((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs;
		if (hit != 0)
			return b + __builtin_ctzll(hit) / 8;
	}
#endif
	while (b < stop && *b != '"' && *b != '\\')
		b++;
	return b;
}

/*
 * The first quote or backslash in [b, end), or end: the first 32 bytes
 * (most keys and names) looked at by quote_or_bs, the rest by memchr,
 * many at a time, for the quote and then a backslash before it.
 */
static const unsigned char *
plain_end(const unsigned char *b, const unsigned char *end)
{
	const unsigned char *stop = end - b > 32 ? b + 32 : end;
	const unsigned char *q = quote_or_bs(b, stop), *bs;

	if (q < stop || q == end)
		return q;
	if ((q = memchr(q, '"', (size_t)(end - q))) == NULL)
		q = end;
	bs = memchr(stop, '\\', (size_t)(q - stop));
	return bs != NULL ? bs : q;
}

/* Plain bytes ahead in the reader's piece: none a quote or a backslash. */
static size_t
plain_run(const struct rd *r)
{
	const unsigned char *b = r->buf + r->i;

	return (size_t)(plain_end(b, r->buf + r->n) - b);
}

/*
 * The common string, whole in the reader's piece with no backslash, read
 * in one step as scan_string would: dropped, or kept whole (STR_KEEP not
 * longer than JS_STR_HOLD), and with key decoded as str_note decodes it
 * (cJSON's C string, up to a NUL; "" past KEY_BYTES). true when it was;
 * false, nothing read, when scan_string must read it.
 */
static bool
string_whole(struct scan *sc, enum str_mode mode, char *key)
{
	struct rd *r = sc->rd;
	const unsigned char *b = r->buf + r->i + 1, *q;
	size_t m, k;

	if (mode == STR_RESULT || sc->thorough || r->i >= r->n ||
	    (q = plain_end(b, r->buf + r->n)) == r->buf + r->n || *q != '"')
		return false;
	m = (size_t)(q - b);
	if (mode == STR_KEEP) {
		if (m > JS_STR_HOLD)
			return false;
		out_put(sc, b - 1, m + 2);
	}
	if (key != NULL) {
		for (k = 0; k < m && k <= KEY_BYTES && b[k] != '\0'; k++)
			key[k] = (char)b[k];
		key[k <= KEY_BYTES ? k : 0] = '\0';
	}
	r->i += m + 2;
	return true;
}

/*
 * A string, the reader at its opening quote. With key, it is decoded
 * into key[KEY_BYTES + 1] (as cJSON's C string; "" when longer): a
 * member's name (STR_KEY), or an SH_NAME's value. STR_KEEP and
 * STR_RESULT append it, or its head when it is longer than they hold
 * (and STR_RESULT says where it lies in sc->line->big). 0, or -1: not a string
 * as cJSON reads it.
 */
static int
scan_string(struct scan *sc, enum str_mode mode, char *key)
{
	struct strscan st;
	size_t m;
	int c;

	if (string_whole(sc, mode, key))
		return 0;
	memset(&st, 0, sizeof(st));
	st.mode = mode;
	st.emit = mode == STR_KEEP || mode == STR_RESULT;
	st.hold = (int64_t)(mode == STR_RESULT ? sc->str_hold :
	    JS_STR_HOLD);
	st.key = key;
	st.ss.empty = st.ss.blank = true;
	st.ss.nul_text = mode == STR_RESULT;
	(void)rd_get(sc->rd);
	st.off = rd_pos(sc->rd);
	if (st.emit)
		out_put(sc, "\"", 1);
	st.cut = sc->len;
	for (;;) {
		if (jdec_at_rest(&st.d) && (m = plain_run(sc->rd)) > 0) {
			str_plain(sc, &st, m);
			continue;
		}
		if ((c = rd_get(sc->rd)) < 0)
			return -1;
		if (jdec_closes(&st.d, (unsigned char)c))
			return str_end(sc, &st);
		if (str_byte(sc, &st, (unsigned char)c) == -1)
			return -1;
	}
}

/*
 * Numbers as cJSON reads them since the fix of CVE-2023-26819 (1.7.18,
 * and Debian's 1.7.15+deb12u3): the run of [-+.0-9eE] bytes, any length,
 * is a number if strtod takes all of it (else what is left of it is
 * garbage after the value). For a run that starts with - or a digit,
 * strtod takes all of -?(D+(.D*)?|.D+)([eE][+-]?D+)? and nothing longer.
 */
enum num_state { NS_START, NS_SIGN, NS_INT, NS_DOT, NS_LEAD_DOT, NS_FRAC,
	NS_E, NS_E_SIGN, NS_EXP, NS_BAD };

static bool
is_num_byte(int c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
	    c == 'e' || c == 'E';
}

static enum num_state
num_step(enum num_state s, int c)
{
	bool digit = c >= '0' && c <= '9', e = c == 'e' || c == 'E';

	switch (s) {
	case NS_START:
		return c == '-' ? NS_SIGN : digit ? NS_INT : NS_BAD;
	case NS_SIGN:
		return digit ? NS_INT : c == '.' ? NS_LEAD_DOT : NS_BAD;
	case NS_INT:
		return digit ? NS_INT : c == '.' ? NS_DOT : e ? NS_E : NS_BAD;
	case NS_DOT:
	case NS_FRAC:
		return digit ? NS_FRAC : e ? NS_E : NS_BAD;
	case NS_LEAD_DOT:
		return digit ? NS_FRAC : NS_BAD;
	case NS_E:
		return digit ? NS_EXP : c == '-' || c == '+' ? NS_E_SIGN :
		    NS_BAD;
	case NS_E_SIGN:
	case NS_EXP:
		return digit ? NS_EXP : NS_BAD;
	case NS_BAD:
		break;
	}
	return NS_BAD;
}

static int
scan_number(struct scan *sc, bool keep)
{
	enum num_state s = NS_START;
	char ch;
	int c;

	while ((c = rd_peek(sc->rd)) >= 0 && is_num_byte(c)) {
		s = num_step(s, c);
		sc->rd->i++;
		if (keep) {
			ch = (char)c;
			out_put(sc, &ch, 1);
		}
	}
	return s == NS_INT || s == NS_DOT || s == NS_FRAC || s == NS_EXP ?
	    0 : -1;
}

static int
scan_word(struct scan *sc, const char *w, bool keep)
{
	for (const char *q = w; *q != '\0'; q++)
		if (rd_get(sc->rd) != (unsigned char)*q)
			return -1;
	if (keep)
		out_str(sc, w);
	return 0;
}

/* The shape of member `key`, NULL unless read and the first of its name. */
/* strcmp(a, b) == 0 for the short names of a shape, without a call. */
static bool
same_key(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static const struct shape *
field_shape(const struct shape *sh, const char *key, uint32_t *seen)
{
	for (size_t i = 0; sh->fields[i].key != NULL; i++) {
		if (!same_key(sh->fields[i].key, key))
			continue;
		if ((*seen & UINT32_C(1) << i) != 0)
			return NULL;
		*seen |= UINT32_C(1) << i;
		return sh->fields[i].sh;
	}
	return NULL;
}

/*
 * One member of an object; *kept counts those appended, *named says
 * whether it set an SH_NAME.
 */
static int
scan_member(struct scan *sc, const struct shape *sh, uint32_t *seen,
    size_t *kept, bool *named)
{
	bool obj = sh != NULL && sh->kind == SH_OBJ;
	const struct shape *vsh = NULL;
	char key[KEY_BYTES + 1];

	skip_ws(sc);
	if (rd_peek(sc->rd) != '"')
		return -1;
	if (sh != NULL && sh->kind == SH_MAP) {
		if (*kept > 0)
			out_put(sc, ",", 1);
		if (scan_string(sc, STR_KEEP, NULL) == -1)
			return -1;
		vsh = sh->sub;
	} else {
		if (scan_string(sc, obj ? STR_KEY : STR_DROP, key) == -1)
			return -1;
		if (obj && (vsh = field_shape(sh, key, seen)) != NULL) {
			if (*kept > 0)
				out_put(sc, ",", 1);
			/* The name as looked up: it matched, escapes or not. */
			out_put(sc, "\"", 1);
			out_str(sc, key);
			out_put(sc, "\"", 1);
		}
	}
	skip_ws(sc);
	if (rd_get(sc->rd) != ':')
		return -1;
	if (vsh != NULL)
		out_put(sc, ":", 1);
	skip_ws(sc);
	if (vsh != NULL && vsh->kind == SH_NAME && rd_peek(sc->rd) == '"') {
		/* Kept, and decoded as a key is, into its slot. */
		if (scan_string(sc, STR_KEEP, sc->line->name[vsh->slot]) == -1)
			return -1;
		sc->line->named[vsh->slot] = true;
		*named = true;
	} else if (scan_value(sc, vsh) == -1)
		return -1;
	if (vsh != NULL)
		(*kept)++;
	return 0;
}

/*
 * Into an object or array, the reader at its bracket: past cJSON's
 * nesting limit the line is refused, as cJSON would (and said so).
 */
static int
enter(struct scan *sc)
{
	if (sc->depth >= CJSON_NESTING_LIMIT) {
		sc->line->deep = true;
		return -1;
	}
	sc->depth++;
	(void)rd_get(sc->rd);
	return 0;
}

/* Past a member: 1 at a comma, 0 at the object's end, -1 at neither. */
static inline int
member_next(struct scan *sc)
{
	int c;

	skip_ws(sc);
	c = rd_get(sc->rd);
	return c == ',' ? 1 : c == '}' ? 0 : -1;
}

/*
 * The line's own object from past a member on, nothing kept: after a
 * cut, found by asking or by the cut head.
 */
static int
object_rest(struct scan *sc)
{
	uint32_t seen = 0;
	size_t kept = 0;
	bool named;
	int more;

	while ((more = member_next(sc)) == 1)
		if (scan_member(sc, NULL, &seen, &kept, &named) == -1)
			return -1;
	if (more == -1)
		return -1;
	sc->depth--;
	return 0;
}

/*
 * Notes the head of a held line cut short here, unless the line has
 * something of its own by then (a result left in the spool, a full
 * reduction), or a head too long to keep.
 */
static __attribute__((noinline)) void
note_cut_head(struct scan *sc)
{
	const struct rd *r = sc->rd;
	const struct js_line *l = sc->line;
	struct cut_head *h = sc->head;
	int64_t at = r->off - r->mem_off + (int64_t)r->i;

	if (r->mem == NULL || at > CUT_HEAD_BYTES ||
	    l->big.set || sc->full || sc->err != 0)
		return;
	h->sh = sc->top;
	h->n = (size_t)at;
	memcpy(h->bytes, r->mem, h->n);
	memcpy(h->named, l->named, sizeof(h->named));
	memcpy(h->name, l->name, sizeof(h->name));
	h->tools = l->tools;
}

/* Asked after a member of the line's own object that set a name. */
static bool
cut_here(struct scan *sc)
{
	if (sc->enough == NULL || !sc->enough(sc->line))
		return false;
	sc->line->cut = true;
	note_cut_head(sc);
	return true;
}

static int
scan_object(struct scan *sc, const struct shape *sh)
{
	uint32_t seen = 0;
	size_t kept = 0;
	bool named;
	int more;

	if (enter(sc) == -1)
		return -1;
	if (sh != NULL)
		out_put(sc, "{", 1);
	skip_ws(sc);
	if (rd_peek(sc->rd) == '}')
		(void)rd_get(sc->rd);
	else {
		do {
			named = false;
			if (scan_member(sc, sh, &seen, &kept, &named) == -1)
				return -1;
			if (named && sc->depth == 1 && cut_here(sc))
				return object_rest(sc);
		} while ((more = member_next(sc)) == 1);
		if (more == -1)
			return -1;
	}
	if (sh != NULL)
		out_put(sc, "}", 1);
	sc->depth--;
	return 0;
}


/* One element of an array; *kept counts those appended. */
static int
scan_element(struct scan *sc, const struct shape *sh, size_t *kept)
{
	size_t mark = sc->len;
	int c = rd_peek(sc->rd);

	if (sh != NULL && sh->kind == SH_TOOLS && c == '{') {
		if (*kept > 0)
			out_put(sc, ",", 1);
		/* Its type, as on_assistant reads it, lands in sh->slot. */
		sc->line->named[sh->slot] = false;
		if (scan_value(sc, sh->sub) == -1)
			return -1;
		if (sc->full)
			return 0;
		if (sc->line->named[sh->slot] &&
		    strcmp(sc->line->name[sh->slot], "tool_use") == 0) {
			(*kept)++;
			sc->line->tools++;
		}
		else
			sc->len = mark;
		return 0;
	}
	if (sh != NULL && sh->kind == SH_FIRST_STR && c == '"' && *kept == 0) {
		(*kept)++;
		return scan_string(sc, STR_KEEP, NULL);
	}
	return scan_value(sc, NULL);
}

static int
scan_array(struct scan *sc, const struct shape *sh)
{
	size_t kept = 0;
	int c;

	if (enter(sc) == -1)
		return -1;
	if (sh != NULL)
		out_put(sc, "[", 1);
	skip_ws(sc);
	if (rd_peek(sc->rd) == ']')
		(void)rd_get(sc->rd);
	else {
		do {
			skip_ws(sc);
			if (scan_element(sc, sh, &kept) == -1)
				return -1;
			skip_ws(sc);
		} while ((c = rd_get(sc->rd)) == ',');
		if (c != ']')
			return -1;
	}
	if (sh != NULL)
		out_put(sc, "]", 1);
	sc->depth--;
	return 0;
}

/* One value: appended as its shape says, or only read (sh NULL). */
static int
scan_value(struct scan *sc, const struct shape *sh)
{
	int c = rd_peek(sc->rd);

	switch (c) {
	case 'n':
		return scan_word(sc, "null", sh != NULL);
	case 'f':
		return scan_word(sc, "false", sh != NULL);
	case 't':
		return scan_word(sc, "true", sh != NULL);
	case '"':
		return scan_string(sc, sh == NULL ? STR_DROP :
		    sh->kind == SH_RESULT ? STR_RESULT : STR_KEEP, NULL);
	case '[':
		return scan_array(sc, sh);
	case '{':
		return scan_object(sc, sh);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return scan_number(sc, sh != NULL);
	return -1;
}

enum scan_end { SCAN_OK, SCAN_BAD, SCAN_FULL, SCAN_ERR };

/* After the line's object: white space only, to the end of the line. */
static enum scan_end
line_end(struct scan *sc)
{
	struct rd *r = sc->rd;
	int c;

	while ((c = rd_get(r)) >= 0)
		if (!jget_is_space((unsigned char)c))
			return SCAN_BAD;
	if (r->err != 0 || sc->err != 0)
		return SCAN_ERR;
	return sc->full ? SCAN_FULL : SCAN_OK;
}

/* The whole line, one object then white space, reduced to sc->out. */
static enum scan_end
scan_line(struct scan *sc, const struct shape *sh)
{
	struct rd *r = sc->rd;

	/* cJSON skips a UTF-8 byte order mark in 5 bytes or more. */
	if (rd_peek(r) >= 0 && r->n >= 5 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
		r->i = 3;
	skip_ws(sc);
	if (rd_peek(r) != '{' || scan_object(sc, sh) == -1)
		return r->err != 0 ? SCAN_ERR : SCAN_BAD;
	return line_end(sc);
}

/*
 * A held line that begins with the cut head's bytes: cut where that line
 * was, with its names, and read on from there.
 */
static enum scan_end
scan_cut_line(struct scan *sc, const struct cut_head *h)
{
	struct js_line *l = sc->line;

	memcpy(l->named, h->named, sizeof(l->named));
	for (int i = 0; i < JS_NAMES; i++)
		if (h->named[i])
			memcpy(l->name[i], h->name[i], sizeof(l->name[i]));
	l->tools = h->tools;
	l->cut = true;
	(void)rd_peek(sc->rd);	/* a held line is one piece */
	sc->rd->i = h->n;
	sc->depth = 1;
	if (object_rest(sc) == -1)
		return sc->rd->err != 0 ? SCAN_ERR : SCAN_BAD;
	return line_end(sc);
}

struct jscan {
	struct rd	*rd;
	char		*out;		/* the reduction's buffer, reused */
	size_t		 cap;
	bool		 thorough;
	js_enough	*enough;
	struct cut_head	 head;
};

struct jscan *
jscan_new(int spool_fd)
{
	struct jscan *js = calloc(1, sizeof(*js));

	if (js == NULL)
		return NULL;
	if ((js->rd = rd_open(spool_fd, 0, 0)) == NULL) {
		free(js);
		return NULL;
	}
	return js;
}

void
jscan_set_spool(struct jscan *js, int spool_fd)
{
	js->rd->fd = spool_fd;
}

void
jscan_set_enough(struct jscan *js, js_enough *f)
{
	js->enough = f;
	js->head.n = 0;		/* what another js_enough cut */
}

void
jscan_set_thorough(struct jscan *js)
{
	js->thorough = true;
}

void
jscan_free(struct jscan *js)
{
	if (js == NULL)
		return;
	free(js->rd);
	free(js->out);
	free(js);
}

enum js_end
jscan_line(struct jscan *js, const struct shape *sh, const char *mem,
    int64_t off, size_t len, size_t str_hold, struct js_line *l)
{
	struct scan sc;
	enum scan_end how;

	rd_reset(js->rd, mem, off, (int64_t)len);
	/* Field by field: a memset of both was a tenth of a short line's time. */
	l->json = NULL;
	l->len = 0;
	l->deep = false;
	memset(&l->big, 0, sizeof(l->big));
	memset(l->named, 0, sizeof(l->named));
	l->tools = 0;
	l->cut = false;
	sc.rd = js->rd;
	sc.out = js->out;
	sc.len = 0;
	sc.cap = js->cap;
	sc.full = false;
	sc.err = 0;
	sc.depth = 0;
	sc.thorough = js->thorough;
	sc.enough = js->thorough ? NULL : js->enough;
	sc.line = l;
	sc.top = sh;
	sc.head = &js->head;
	/*
	 * A held line keeps its result whole, as it was held, and may need
	 * more room for it (an escape is written again at most six bytes
	 * for one); a line left in the spool is reduced to what is judged.
	 */
	sc.str_hold = mem != NULL ? (size_t)INT64_MAX : str_hold;
	sc.out_max = mem != NULL ? OUT_MAX_BYTES + 6 * len : OUT_MAX_BYTES;
	if (sc.enough != NULL && mem != NULL && js->head.n > 0 &&
	    js->head.sh == sh && len >= js->head.n &&
	    memcmp(mem, js->head.bytes, js->head.n) == 0)
		how = scan_cut_line(&sc, &js->head);
	else
		how = scan_line(&sc, sh);
	js->out = sc.out;
	js->cap = sc.cap;
	if (how == SCAN_OK && !l->cut) {
		sc.out[sc.len] = '\0';
		l->json = sc.out;
		l->len = sc.len;
	} else if (js->cap > LINE_KEEP_BYTES) {
		free(js->out);
		js->out = NULL;
		js->cap = 0;
	}
	switch (how) {
	case SCAN_OK:
		return JS_OK;
	case SCAN_BAD:
		return JS_BAD;
	case SCAN_FULL:
		return JS_FULL;
	case SCAN_ERR:
		break;
	}
	errno = sc.rd->err != 0 ? sc.rd->err : sc.err;
	return JS_ERR;
}

int
jscan_head(struct jscan *js, char *head, size_t size, size_t *n)
{
	struct rd *r = js->rd;
	int c;

	*n = 0;
	rd_seek(r, r->mem_off);
	while ((c = rd_peek(r)) >= 0 && jget_is_space((unsigned char)c))
		r->i++;
	while (*n < size && (c = rd_get(r)) >= 0)
		head[(*n)++] = (char)c;
	if (r->err != 0) {
		errno = r->err;
		return -1;
	}
	return 0;
}

/*
 * Decodes a result string not held from the spool to fd, a piece at a
 * time; runs without a backslash decode to themselves.
 */
static int
write_big(struct rd *r, unsigned char *out, int fd, bool *ends_nl)
{
	const unsigned char *b, *bs;
	struct jdec d;
	size_t n = 0, m;
	int c, k;

	memset(&d, 0, sizeof(d));
	while ((c = rd_peek(r)) >= 0) {
		if (jdec_at_rest(&d) && c != '\\') {
			b = r->buf + r->i;
			bs = memchr(b, '\\', r->n - r->i);
			m = bs != NULL ? (size_t)(bs - b) : r->n - r->i;
			if (m > RD_BYTES - n)
				m = RD_BYTES - n;
			memcpy(out + n, b, m);
			k = (int)m;
			r->i += m;
		} else {
			k = jdec_put(&d, (unsigned char)c, out + n);
			r->i++;
		}
		/* It was read whole once: the spool changed since. */
		if (k < 0) {
			errno = EIO;
			return -1;
		}
		n += (size_t)k;
		if (k > 0)
			*ends_nl = out[n - 1] == '\n';
		if (n >= RD_BYTES) {
			if (io_write_all(fd, out, n) == -1)
				return -1;
			n = 0;
		}
	}
	if (r->err != 0) {
		errno = r->err;
		return -1;
	}
	if ((k = jdec_end(&d, out + n)) < 0) {
		errno = EIO;
		return -1;
	}
	n += (size_t)k;
	if (k > 0)
		*ends_nl = out[n - 1] == '\n';
	return io_write_all(fd, out, n);
}

int
jscan_write_str(int spool_fd, const struct js_str *s, int fd, bool *ends_nl)
{
	unsigned char *out;
	struct rd *r;
	int rc;

	r = rd_open(spool_fd, s->off, s->len);
	out = malloc(RD_BYTES + JDEC_OUT);
	rc = r != NULL && out != NULL ? write_big(r, out, fd, ends_nl) : -1;
	free(r);
	free(out);
	return rc;
}
