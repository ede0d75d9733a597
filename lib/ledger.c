#include "ledger.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

int
ledger_path(const char *dir, char *buf, size_t size)
{
	return io_path(buf, size, dir, "/" LEDGER_FILE);
}

/* The record as one line with its newline; NULL on ENOMEM. */
static char *
render_line(const cJSON *record, size_t *len)
{
	char *s = cJSON_PrintUnformatted(record), *line;
	size_t n;

	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	n = strlen(s);
	if ((line = realloc(s, n + 3)) == NULL) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;	/* a byte to spare: see ledger_append_nosync */
	return line;
}

/*
 * One write(2): on Linux a write to a regular file holds the inode lock
 * for its whole length, so O_APPEND writes of any size (PIPE_BUF only
 * bounds pipes) land whole and one after another. A short write cannot
 * be finished with a second write, as another run's record may already
 * follow it, so it is reported as the ENOSPC it nearly always is.
 * (NFS makes no such promise for O_APPEND; keep the state dir local.)
 */
static int
write_once(int fd, const char *line, size_t len)
{
	ssize_t w;

	do
		w = write(fd, line, len);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		return -1;
	if ((size_t)w != len) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

#define APPEND_LOCK_MS	200	/* waited for at most, then appended without */

/*
 * Appends take the file's flock for the torn-line check and the write:
 * the check (fstat, pread) takes no inode lock, and i_size grows a page
 * at a time during another run's write, so a parallel run's record
 * caught half-written looked torn and got a blank line before ours. A
 * lock held past APPEND_LOCK_MS (a stopped process holds it) is not
 * waited for: the append goes ahead as it did before the lock.
 */
static bool
lock_append(int fd)
{
	const struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < APPEND_LOCK_MS; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return false;
		(void)nanosleep(&ms, NULL);
	}
	return false;
}

/* The file's last byte is not a newline (an append cut short). */
static bool
after_torn_line(int fd)
{
	struct stat st;
	char c;

	return fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n';
}

int
ledger_append_nosync(const char *path, const cJSON *record)
{
	char *line;
	size_t len;
	int fd, saved;
	bool locked;

	if ((line = render_line(record, &len)) == NULL)
		return -1;
	fd = io_open_regular(path, O_RDWR | O_APPEND | O_CREAT, 0600);
	locked = fd != -1 && lock_append(fd);
	if (fd != -1 && after_torn_line(fd)) {
		/* A crash mid-append left a line open: close it first. */
		memmove(line + 1, line, len + 1);
		line[0] = '\n';
		len++;
	}
	if (fd != -1 && write_once(fd, line, len) == -1) {
		io_close_keep_errno(fd);
		fd = -1;
	}
	saved = errno;
	/* Not held through the fsync: parallel runs sync side by side. */
	if (fd != -1 && locked)
		(void)flock(fd, LOCK_UN);
	free(line);
	errno = saved;
	return fd;
}

int
ledger_sync(int fd)
{
	int rc = fsync(fd), saved = errno;

	/* close can report a deferred write error (NFS, quota). */
	if (close(fd) == -1 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	errno = saved;
	return rc;
}

int
ledger_append(const char *path, const cJSON *record)
{
	int fd = ledger_append_nosync(path, record);

	return fd == -1 ? -1 : ledger_sync(fd);
}

/* Reads exactly n digits into *v; the end of them, or NULL. */
static const char *
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, s++) {
		if (*s < '0' || *s > '9')
			return NULL;
		*v = *v * 10 + (*s - '0');
	}
	return s;
}

/* Optional ":SS" and ".fff" (any number of digits; ms kept). */
static const char *
seconds(const char *s, struct tm *tm, int *ms)
{
	int v;

	*ms = 0;
	if (*s != ':')
		return s;
	if ((s = digits(s + 1, 2, &tm->tm_sec)) == NULL || tm->tm_sec > 60)
		return NULL;
	if (*s != '.')
		return s;
	s++;
	if (*s < '0' || *s > '9')
		return NULL;
	for (int scale = 100; *s >= '0' && *s <= '9'; s++, scale /= 10) {
		v = *s - '0';
		*ms += v * scale;
	}
	return s;
}

/* "Z", "+HH:MM", "+HHMM", "-HH", or nothing: the offset east, seconds. */
static const char *
zone(const char *s, long *off)
{
	int h, m = 0, sign;

	*off = 0;
	if (*s == 'Z' || *s == 'z')
		return s + 1;
	if (*s != '+' && *s != '-')
		return s;
	sign = *s == '-' ? -1 : 1;
	if ((s = digits(s + 1, 2, &h)) == NULL || h > 23)
		return NULL;
	if (*s == ':')
		s++;
	if (*s >= '0' && *s <= '9' && ((s = digits(s, 2, &m)) == NULL || m > 59))
		return NULL;
	*off = sign * (h * 3600L + m * 60L);
	return s;
}

/* "THH:MM[:SS[.f]][zone]" after a date, or nothing. */
static const char *
clock_part(const char *s, struct tm *tm, int *ms, long *off)
{
	*ms = 0;
	*off = 0;
	if (*s == '\0')
		return s;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return NULL;
	if ((s = digits(s + 1, 2, &tm->tm_hour)) == NULL || tm->tm_hour > 23 ||
	    *s != ':' || (s = digits(s + 1, 2, &tm->tm_min)) == NULL ||
	    tm->tm_min > 59)
		return NULL;
	if ((s = seconds(s, tm, ms)) == NULL)
		return NULL;
	return zone(s, off);
}

int
ledger_parse_time(const char *s, int64_t *ms)
{
	struct tm tm = { 0 }, back;
	int year, frac;
	long off;
	time_t t;

	if ((s = digits(s, 4, &year)) == NULL || *s != '-' ||
	    (s = digits(s + 1, 2, &tm.tm_mon)) == NULL || *s != '-' ||
	    (s = digits(s + 1, 2, &tm.tm_mday)) == NULL)
		return -1;
	if ((s = clock_part(s, &tm, &frac, &off)) == NULL || *s != '\0')
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&tm);
	/* timegm normalises 2026-02-30 to March; a real date survives. */
	if (tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon)
		return -1;
	*ms = ((int64_t)t - off) * 1000 + frac;
	return 0;
}

struct ledger_lines {
	FILE	*f;
	char	*buf;
	size_t	 cap;
	size_t	 max;
};

struct ledger_lines *
ledger_lines_new(FILE *f, size_t max)
{
	struct ledger_lines *lr = calloc(1, sizeof(*lr));

	if (lr == NULL)
		return NULL;
	lr->f = f;
	lr->max = max;
	lr->cap = max < 4096 ? max + 1 : 4096;
	if ((lr->buf = malloc(lr->cap)) == NULL) {
		free(lr);
		return NULL;
	}
	return lr;
}

/* Room for len + 1 more bytes and a NUL; false when at max or ENOMEM. */
static bool
room(struct ledger_lines *lr, size_t len)
{
	size_t ncap;
	char *p;

	if (len >= lr->max)
		return false;
	if (len + 1 < lr->cap)
		return true;
	ncap = lr->cap * 2 > lr->max + 1 ? lr->max + 1 : lr->cap * 2;
	if ((p = realloc(lr->buf, ncap)) == NULL)
		return false;
	lr->buf = p;
	lr->cap = ncap;
	return true;
}

const char *
ledger_lines_next(struct ledger_lines *lr, size_t *lenp, bool *cut)
{
	size_t len = 0;
	bool any = false;
	int c;

	*cut = false;
	while ((c = getc_unlocked(lr->f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		/* Past the limit the rest of the line is read and dropped. */
		if (room(lr, len))
			lr->buf[len++] = (char)c;
		else
			*cut = true;
	}
	if (!any)
		return NULL;
	lr->buf[len] = '\0';
	*lenp = len;
	return lr->buf;
}

void
ledger_lines_free(struct ledger_lines *lr)
{
	if (lr == NULL)
		return;
	free(lr->buf);
	free(lr);
}
