#include "transcript.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

#include <cJSON.h>

#include "clock.h"

#define TRANSCRIPT_BUF	(64 * 1024)
/*
 * Room for everything on a line but the event: {"attempt":N,"ts":"…",
 * "event":…}, the newline, and the few bytes cJSON asks to spare.
 */
#define LINE_OVERHEAD	96

struct transcript {
	int	 fd;
	int	 err;		/* errno of the first failed write, or 0 */
	bool	 torn;		/* a failed write may have left half a line */
	size_t	 used;		/* bytes of whole lines in buf */
	char	 path[PATH_MAX];
	char	 buf[TRANSCRIPT_BUF];
};

/* A run id that is safe as a file name in the directory. */
static bool
run_name_ok(const char *run)
{
	return run != NULL && *run != '\0' && strchr(run, '/') == NULL &&
	    strcmp(run, ".") != 0 && strcmp(run, "..") != 0;
}

static int
resolve_path(const char *path, const char *run, char *out, size_t size)
{
	struct stat st;
	int n;

	/* stat, not lstat: a symlink to a directory names the directory. */
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		n = snprintf(out, size, "%s", path);
	else if (!run_name_ok(run)) {
		errno = EINVAL;
		return -1;
	} else
		n = snprintf(out, size, "%s/%s.jsonl", path, run);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * O_NONBLOCK only for the open: a FIFO at the path would block it until
 * a reader came. It is refused next, and the flag cleared for the rest.
 */
static int
open_file(const char *path)
{
	int fd, fl;

	fd = io_open_regular(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd == -1)
		return -1;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		io_close_keep_errno(fd);
		return -1;
	}
	return fd;
}

struct transcript *
transcript_open(const char *path, const char *run)
{
	struct transcript *t;

	if ((t = malloc(sizeof(*t))) == NULL)
		return NULL;
	t->err = 0;
	t->torn = false;
	t->used = 0;
	if (resolve_path(path, run, t->path, sizeof(t->path)) == -1 ||
	    (t->fd = open_file(t->path)) == -1) {
		free(t);
		return NULL;
	}
	return t;
}

const char *
transcript_path(const struct transcript *t)
{
	return t->path;
}

/*
 * All of iov with as few writev(2) calls as the kernel allows: one, when
 * all goes well, so lines appended by another writer of the same file
 * land between ours, not inside them. *done counts what was written
 * even when it fails.
 */
static int
write_iov(int fd, struct iovec *iov, int cnt, size_t *done)
{
	*done = 0;
	while (cnt > 0) {
		ssize_t w = writev(fd, iov, cnt);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		*done += (size_t)w;
		for (; cnt > 0 && (size_t)w >= iov->iov_len; iov++, cnt--)
			w -= (ssize_t)iov->iov_len;
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Remembers the first failure for transcript_close. */
static int
failed(struct transcript *t)
{
	if (t->err == 0)
		t->err = errno;
	return -1;
}

/*
 * Writes whole lines. After a write that stopped half way (ENOSPC that
 * has since cleared), a newline first ends the fragment, so one line is
 * lost rather than the next one spoiled as well.
 */
static int
put(struct transcript *t, struct iovec *iov, int cnt)
{
	char nl = '\n';
	struct iovec end = { &nl, 1 };
	size_t done;

	if (t->torn) {
		if (write_iov(t->fd, &end, 1, &done) == -1)
			return failed(t);
		t->torn = false;
	}
	if (write_iov(t->fd, iov, cnt, &done) == 0)
		return 0;
	t->torn = done > 0;
	return failed(t);
}

/* What could not be written is dropped: the buffer never grows. */
static int
flush(struct transcript *t)
{
	struct iovec iov = { t->buf, t->used };

	if (t->used == 0)
		return 0;
	t->used = 0;
	return put(t, &iov, 1);
}

int
transcript_flush(struct transcript *t)
{
	return flush(t);
}

/*
 * The line as a cJSON object. The event goes in as raw JSON: its bytes
 * are kept exactly (numbers, escapes, key order), and are not parsed
 * again. cJSON wants it NUL-terminated, hence the copy.
 */
static cJSON *
build(int attempt, const char *line, size_t len)
{
	char iso[CLOCK_ISO_LEN];
	cJSON *o;
	char *raw;

	if ((raw = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(raw, line, len);
	raw[len] = '\0';
	clock_iso(clock_real_ms(), iso);
	if ((o = cJSON_CreateObject()) != NULL &&
	    (cJSON_AddNumberToObject(o, "attempt", attempt) == NULL ||
	    cJSON_AddStringToObject(o, "ts", iso) == NULL ||
	    cJSON_AddRawToObject(o, "event", raw) == NULL)) {
		cJSON_Delete(o);
		o = NULL;
	}
	free(raw);
	if (o == NULL)
		errno = ENOMEM;
	return o;
}

/*
 * A line too long for the buffer goes out alone, with its newline. What
 * is buffered goes first, to keep the order; emit has normally flushed
 * it already.
 */
static int
put_long(struct transcript *t, cJSON *o)
{
	struct iovec iov[2];
	char nl = '\n';
	char *text;
	int rc;

	if (t->used > 0)
		(void)flush(t);
	if ((text = cJSON_PrintUnformatted(o)) == NULL) {
		errno = ENOMEM;
		return failed(t);
	}
	iov[0].iov_base = text;
	iov[0].iov_len = strlen(text);
	iov[1].iov_base = &nl;
	iov[1].iov_len = 1;
	rc = put(t, iov, 2);
	cJSON_free(text);
	return rc;
}

/*
 * Prints the line straight into the buffer, if it is sure to fit;
 * false (nothing changed) if not.
 */
static bool
print_into(struct transcript *t, cJSON *o, size_t len)
{
	char *at = t->buf + t->used;
	/* One byte stays for the newline. */
	size_t space = TRANSCRIPT_BUF - t->used - 1;

	if (space < len + LINE_OVERHEAD ||
	    !cJSON_PrintPreallocated(o, at, (int)space, false))
		return false;
	t->used += strlen(at);
	t->buf[t->used++] = '\n';
	return true;
}

/*
 * Buffers the line, flushing first if it might not fit. A failed flush
 * does not stop this line: the buffer is empty after it either way.
 */
static int
emit(struct transcript *t, cJSON *o, size_t len)
{
	int rc = 0, err = 0;

	if (TRANSCRIPT_BUF - t->used < len + LINE_OVERHEAD &&
	    flush(t) == -1) {
		rc = -1;
		err = errno;
	}
	if (!print_into(t, o, len) && put_long(t, o) == -1)
		return -1;
	errno = err;
	return rc;
}

int
transcript_event(struct transcript *t, int attempt, const char *line,
    size_t len)
{
	cJSON *o;
	int rc;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0)
		return 0;
	/* Either would break the line, or cut the event short. */
	if (memchr(line, '\n', len) != NULL || memchr(line, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	/* A lost event is a gap in the transcript, as a failed write is. */
	if ((o = build(attempt, line, len)) == NULL)
		return failed(t);
	rc = emit(t, o, len);
	cJSON_Delete(o);
	return rc;
}

/*
 * An event too long to be held (claudewrap reads it back from its stdout
 * spool): the envelope is printed around a placeholder and the event's
 * bytes are copied in between, so memory stays flat whatever its size.
 */
int
transcript_event_spool(struct transcript *t, int attempt, int fd, off_t off,
    size_t size)
{
	cJSON *o = build(attempt, "0", 1);
	char *env, *mark;
	struct iovec iov;
	int rc = -1;

	if (o == NULL)
		return failed(t);
	env = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* The placeholder is the last value: the envelope ends "0}". */
	if (env == NULL || (mark = strrchr(env, '0')) == NULL ||
	    strcmp(mark, "0}") != 0) {
		free(env);
		errno = ENOMEM;
		return failed(t);
	}
	*mark = '\0';
	iov = (struct iovec){ env, strlen(env) };
	if (flush(t) == 0 && put(t, &iov, 1) == 0) {
		if (io_copy(fd, off, (off_t)size, t->fd) == -1) {
			t->torn = true;
			rc = failed(t);
		} else {
			iov = (struct iovec){ "}\n", 2 };
			rc = put(t, &iov, 1);
		}
	}
	free(env);
	return rc;
}

int
transcript_close(struct transcript *t)
{
	int err;

	if (t == NULL)
		return 0;
	(void)flush(t);
	if (fsync(t->fd) == -1)
		(void)failed(t);
	if (close(t->fd) == -1)
		(void)failed(t);
	err = t->err;
	free(t);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}
