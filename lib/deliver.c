#include "deliver.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

/*
 * Text mode: `result`, plus a newline unless it already ends with one.
 * A long result comes decoded from the spool, so memory stays flat.
 */
static int
deliver_text(const struct attempt_res *res, int fd)
{
	bool ends_nl;

	if (payload_write_result(res->pl, fd, &ends_nl) == -1)
		return -1;
	return ends_nl ? 0 : io_write_all(fd, "\n", 1);
}

/*
 * Keys of the stream's result event that the CLI's own json mode leaves
 * out (2.1.332: the json object and the --verbose array's result omit
 * it; cli-observations.md). Dropped from the bytes, never re-serialised,
 * so everything else (key order, cost floats) stays as the CLI wrote it.
 */
static const char *const stream_only_keys[] = {
	"model_usage_since_last_result",
};

#define MAX_DROP	4
#define KEY_MAX		64

/* The spans of a result line to leave out, found in one pass. */
struct scan {
	off_t		 pos;		/* of the next byte */
	int		 depth;
	bool		 in_str, esc, key_pos, in_key, dropping;
	off_t		 comma;		/* the ',' before the key, or -1 */
	off_t		 key_start;
	char		 key[KEY_MAX + 1];
	size_t		 key_len;
	off_t		 drop[MAX_DROP][2];
	int		 ndrop;
};

static bool
stream_only(const char *k, size_t n)
{
	for (size_t i = 0; i < sizeof(stream_only_keys) / sizeof(char *); i++)
		if (strlen(stream_only_keys[i]) == n &&
		    memcmp(stream_only_keys[i], k, n) == 0)
			return true;
	return false;
}

/* A ',' or the closing '}' at the top level ends the member being read. */
static void
end_member(struct scan *sc, bool closing)
{
	if (sc->dropping && sc->ndrop < MAX_DROP) {
		off_t *d = sc->drop[sc->ndrop++];

		if (sc->comma != -1) {		/* ,"k":v  */
			d[0] = sc->comma;
			d[1] = sc->pos;
		} else {			/* {"k":v, or {"k":v} */
			d[0] = sc->key_start;
			d[1] = closing ? sc->pos : sc->pos + 1;
		}
	}
	sc->dropping = false;
	/* After a dropped first member the next one is first in turn. */
	sc->comma = sc->ndrop > 0 && sc->comma == -1 &&
	    sc->drop[sc->ndrop - 1][0] == sc->key_start ? -1 : sc->pos;
	sc->key_pos = true;
}

static void
scan_byte(struct scan *sc, char c)
{
	if (sc->in_str) {
		if (sc->esc)
			sc->esc = false;
		else if (c == '\\')
			sc->esc = true;
		else if (c == '"') {
			sc->in_str = false;
			if (sc->in_key)
				sc->dropping = sc->key_len <= KEY_MAX &&
				    stream_only(sc->key, sc->key_len);
			sc->in_key = false;
		}
		if (sc->in_key && sc->key_len <= KEY_MAX)
			sc->key[sc->key_len++] = c;
		return;
	}
	switch (c) {
	case '"':
		sc->in_str = true;
		if (sc->depth == 1 && sc->key_pos) {
			sc->in_key = true;
			sc->key_pos = false;
			sc->key_start = sc->pos;
			sc->key_len = 0;
		}
		break;
	case '{':
	case '[':
		if (++sc->depth == 1)
			sc->key_pos = true;
		break;
	case '}':
	case ']':
		if (sc->depth-- == 1)
			end_member(sc, true);
		break;
	case ',':
		if (sc->depth == 1)
			end_member(sc, false);
		break;
	}
}

/* Copies the result line at off (len bytes) without its stream-only keys. */
static int
copy_result(int spool, off_t off, off_t len, int fd)
{
	struct scan sc = { .pos = off, .comma = -1 };
	char buf[65536];
	off_t at = off;

	while (sc.pos < off + len) {
		ssize_t n = io_pread_some(spool, buf, (size_t)(off + len -
		    sc.pos) < sizeof(buf) ? (size_t)(off + len - sc.pos) :
		    sizeof(buf), sc.pos);
		if (n < 0)
			return -1;
		for (ssize_t i = 0; i < n; i++, sc.pos++)
			scan_byte(&sc, buf[i]);
	}
	for (int i = 0; i < sc.ndrop; i++) {
		if (io_copy(spool, at, sc.drop[i][0] - at, fd) == -1)
			return -1;
		at = sc.drop[i][1];
	}
	return io_copy(spool, at, off + len - at, fd);
}

/*
 * Appends the stream's bytes [from, to) joined as json --verbose joins
 * them: a line's newline becomes the "," before the next line.
 */
static int
join_lines(const struct attempt_res *res, off_t from, off_t to, int fd,
    bool *first, bool *pending)
{
	char in[65536], out[65536 + 1];
	off_t off = from;

	while (off < to) {
		ssize_t n = io_pread_some(res->spool_fd, in, (size_t)(to -
		    off) < sizeof(in) ? (size_t)(to - off) : sizeof(in), off);
		size_t k = 0;
		if (n < 0)
			return -1;
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] == '\n') {
				*pending = !*first;
				continue;
			}
			if (*pending)
				out[k++] = ',';
			*pending = false;
			*first = false;
			out[k++] = in[i];
			if (k >= sizeof(out) - 1) {
				if (io_write_all(fd, out, k) == -1)
					return -1;
				k = 0;
			}
		}
		if (io_write_all(fd, out, k) == -1)
			return -1;
		off += n;
	}
	return 0;
}

/*
 * json mode with --verbose (or verbose in the user's settings) prints one
 * array of every event: "[" + the stream's lines joined by "," + "]\n",
 * the result event as json mode prints it. Built from the spool as it
 * streams by, so memory stays flat.
 */
static int
deliver_json_array(const struct attempt_res *res, int fd)
{
	off_t roff = res->v.have_result ? res->v.result_off : res->out_bytes;
	off_t rlen = res->v.have_result ? (off_t)res->v.result_len : 0;
	bool first = true, pending = false;

	if (io_write_all(fd, "[", 1) == -1 ||
	    join_lines(res, 0, roff, fd, &first, &pending) == -1)
		return -1;
	if (rlen > 0) {
		if ((pending && io_write_all(fd, ",", 1) == -1) ||
		    copy_result(res->spool_fd, roff, rlen, fd) == -1)
			return -1;
		first = pending = false;
	}
	if (join_lines(res, roff + rlen, res->out_bytes, fd, &first,
	    &pending) == -1)
		return -1;
	return io_write_all(fd, "]\n", 2);
}

int
deliver_fd(const struct attempt_res *res, const struct cliargs *ca,
    bool passthrough, int fd)
{
	if (passthrough || ca->user_format == PL_STREAM)
		return io_copy(res->spool_fd, 0, res->out_bytes, fd);
	if (ca->user_format == PL_TEXT)
		return deliver_text(res, fd);
	if (ca->user_verbose)
		return deliver_json_array(res, fd);
	/* json: the result line is the object json mode prints. */
	if (copy_result(res->spool_fd, res->v.result_off,
	    (off_t)res->v.result_len, fd) == -1)
		return -1;
	return io_write_all(fd, "\n", 1);
}
