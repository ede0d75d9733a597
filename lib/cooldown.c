/*
 * The cooldown shared by the runs of one state dir (see cooldown.h, and
 * "Shared cooldown" in claudewrap(1)).
 *
 * DIR/cooldown holds, as one JSON object:
 *
 *	rate_limit_until_ms	epoch ms a rate limit lasts until, or 0
 *	breaker_open		whether the breaker is open
 *	breaker_until_ms	epoch ms probing may start
 *	streak			overloaded/server outcomes in a row
 *	probe_pid, probe_start	the run probing: pid, and its start time
 *				(epoch ms, tree_started_ms), so that a
 *				reused pid is not taken for it
 *	probe_ms		when it started probing
 *	until_ms, until, cause	the cooldown in force, for people reading
 *				the file; never read back
 *	updated_ms		when the file was written
 *
 * Readers need no lock: the file is only ever replaced by rename(2), so
 * a reader sees one whole version. Writers take an exclusive flock on
 * DIR/cooldown.lock around read, change and rename, so that no update
 * is lost when many runs note at once.
 */
#include "cooldown.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "io.h"
#include "tree.h"

#define STATE_FILE	"cooldown"
#define LOCK_FILE	"cooldown.lock"
#define STATE_MAX	4096		/* a bigger file is not ours */
/*
 * No cooldown is believed or recorded further ahead than this: a clock
 * that jumped, or a file edited by hand, must not wedge every run. The
 * longest limit the CLI names is monthly.
 */
#define AHEAD_MAX_MS	(INT64_C(40) * 86400 * 1000)

struct state {
	int64_t	limit_until_ms;
	bool	open;
	int64_t	open_until_ms;
	int64_t	streak;
	pid_t	probe_pid;
	int64_t	probe_start;
	int64_t	probe_ms;
};

/* dir/name; -1 with ENAMETOOLONG when it does not fit. */
static int
path_in(char *buf, size_t size, const char *dir, const char *name)
{
	char sep[PATH_MAX];

	return io_path(sep, sizeof(sep), dir, "/") == -1 ? -1 :
	    io_path(buf, size, sep, name);
}

/* ---- Processes ------------------------------------------------------ */

/*
 * getpid() and its start time (tree.c reads /proc), so that a later run
 * can tell this probe from a process that reused its pid.
 */
static void
self(pid_t *pid, int64_t *start)
{
	*pid = getpid();
	if ((*start = tree_started_ms(*pid)) < 0)
		*start = 0;
}

/* Whether the recorded probe is a process that still runs. */
static bool
probe_alive(const struct state *st)
{
	int64_t now_start;

	if (st->probe_pid <= 0)
		return false;
	if (kill(st->probe_pid, 0) == -1 && errno == ESRCH)
		return false;
	if (st->probe_start != 0 &&
	    (now_start = tree_started_ms(st->probe_pid)) > 0 &&
	    now_start != st->probe_start)
		return false;		/* the pid was reused */
	return true;
}

/* ---- The file ------------------------------------------------------- */

/* A non-negative integer member below 2^53, or 0. */
static int64_t
member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	if (!isfinite(d) || d < 0 || d >= 9007199254740992.0)
		return 0;
	return (int64_t)d;
}

/* Fills st from the text; anything it cannot use reads as no cooldown. */
static void
parse_state(const char *buf, size_t len, int64_t now_ms, struct state *st)
{
	cJSON *o = cJSON_ParseWithLength(buf, len);

	memset(st, 0, sizeof(*st));
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return;
	}
	st->limit_until_ms = member(o, "rate_limit_until_ms");
	st->open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "breaker_open"));
	st->open_until_ms = member(o, "breaker_until_ms");
	st->streak = member(o, "streak");
	if (st->streak > INT_MAX)
		st->streak = INT_MAX;
	if (member(o, "probe_pid") <= INT_MAX)
		st->probe_pid = (pid_t)member(o, "probe_pid");
	st->probe_start = member(o, "probe_start");
	st->probe_ms = member(o, "probe_ms");
	cJSON_Delete(o);
	if (st->limit_until_ms > now_ms + AHEAD_MAX_MS)
		st->limit_until_ms = 0;
	if (st->open_until_ms > now_ms + AHEAD_MAX_MS)
		st->open_until_ms = 0;
}

/*
 * Reads DIR/cooldown. A missing file, a symlink or anything but a
 * regular file of sane size is no cooldown (st zeroed, 0); -1 with
 * errno only when the file exists and cannot be read.
 */
static int
read_state(const char *dir, int64_t now_ms, struct state *st)
{
	char path[PATH_MAX], buf[STATE_MAX];
	struct stat sb;
	size_t len = 0;
	int fd;

	memset(st, 0, sizeof(*st));
	if (path_in(path, sizeof(path), dir, STATE_FILE) == -1)
		return -1;
	/* O_NONBLOCK: a FIFO planted in the file's place must not hang us. */
	fd = io_open_regular(path, O_RDONLY | O_NOFOLLOW, 0);
	/* Something planted in its place is no cooldown (and not waited on). */
	if (fd == -1)
		return errno == ENOENT || errno == ELOOP || errno == IO_ENOTREG ||
		    errno == EISDIR ? 0 : -1;
	if (fstat(fd, &sb) == -1) {
		int e = errno;

		(void)close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > STATE_MAX) {
		(void)close(fd);
		return 0;
	}
	/* Never changed in place (only replaced), so st_size bytes is all. */
	while (len < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int e = errno;

			(void)close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);
	parse_state(buf, len, now_ms, st);
	return 0;
}

static void
add_num(cJSON *o, const char *name, int64_t v)
{
	(void)cJSON_AddNumberToObject(o, name, (double)v);
}

/* The JSON text of st, or NULL (out of memory). */
static char *
format_state(const struct state *st, int64_t now_ms)
{
	cJSON *o = cJSON_CreateObject();
	int64_t until = 0;
	const char *cause = "";
	char iso[32] = "";
	char *text;

	if (o == NULL)
		return NULL;
	if (st->open) {
		until = st->open_until_ms;
		cause = "breaker";
	}
	if (st->limit_until_ms > now_ms && st->limit_until_ms > until) {
		until = st->limit_until_ms;
		cause = "rate_limit";
	}
	if (until > 0) {
		time_t s = (time_t)(until / 1000);
		struct tm tm;

		if (gmtime_r(&s, &tm) != NULL)
			(void)strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ",
			    &tm);
	}
	add_num(o, "until_ms", until);
	(void)cJSON_AddStringToObject(o, "until", iso);
	(void)cJSON_AddStringToObject(o, "cause", cause);
	add_num(o, "rate_limit_until_ms", st->limit_until_ms);
	(void)cJSON_AddBoolToObject(o, "breaker_open", st->open);
	add_num(o, "breaker_until_ms", st->open_until_ms);
	add_num(o, "streak", st->streak);
	add_num(o, "probe_pid", st->probe_pid);
	add_num(o, "probe_start", st->probe_start);
	add_num(o, "probe_ms", st->probe_ms);
	add_num(o, "updated_ms", now_ms);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/*
 * Replaces DIR/cooldown with st: a temporary file in DIR, fsync, then
 * rename, so that no reader ever sees half a file. The directory is not
 * fsynced: losing the latest cooldown in a crash costs at most one
 * request, and this path runs while other runs wait for the lock.
 */
static int
write_state(const char *dir, const struct state *st, int64_t now_ms)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	char *text;
	int fd, e;

	if (path_in(path, sizeof(path), dir, STATE_FILE) == -1 ||
	    path_in(tmp, sizeof(tmp), dir, "." STATE_FILE ".XXXXXX") == -1)
		return -1;
	if ((text = format_state(st, now_ms)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		e = errno;
		free(text);
		errno = e;
		return -1;
	}
	if (io_write_all(fd, text, strlen(text)) == -1 ||
	    io_write_all(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		e = errno;
		(void)close(fd);
		(void)unlink(tmp);
		free(text);
		errno = e;
		return -1;
	}
	free(text);
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		e = errno;
		(void)unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * The exclusive lock for a read-modify-write: an fd to close when done,
 * or -1. O_NOFOLLOW: a symlink planted as the lock file is refused
 * (ELOOP), never followed to create or lock some other file.
 */
static int
lock_state(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (path_in(path, sizeof(path), dir, LOCK_FILE) == -1)
		return -1;
	fd = io_open_regular(path, O_RDWR | O_CREAT, 0600);
	if (fd == -1)
		return -1;
	/* Holders keep it for a read and a rename: wait, even through signals. */
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			int e = errno;

			(void)close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}

static void
unlock_state(int fd)
{
	int e = errno;

	(void)close(fd);
	errno = e;
}

/* ---- Policy --------------------------------------------------------- */

/* A clock reading all the arithmetic here can add to without overflow. */
static bool
sane_now(int64_t now_ms)
{
	if (now_ms < 0 || now_ms > INT64_MAX / 2) {
		errno = EINVAL;
		return false;
	}
	return true;
}

/* Whether the recorded probe is the calling process. */
static bool
probe_is_me(const struct state *st)
{
	pid_t me;
	int64_t me_start;

	self(&me, &me_start);
	return st->probe_pid == me &&
	    (st->probe_start == 0 || st->probe_start == me_start);
}

static void
verdict(struct cooldown *cd, enum cooldown_kind kind, int64_t until_ms,
    const char *cause)
{
	cd->kind = kind;
	cd->until_ms = until_ms;
	(void)strlcpy(cd->cause, cause, sizeof(cd->cause));
}

/*
 * What st means for the calling process at now_ms, in cd. True when the
 * caller should become the breaker's probe. The breaker comes first: a
 * run it refuses should not first wait out a rate limit. The process
 * checks (getpid, /proc) are made only while the breaker is open.
 */
static bool
assess(const struct state *st, int64_t now_ms, struct cooldown *cd)
{
	memset(cd, 0, sizeof(*cd));
	cd->streak = (int)st->streak;
	if (st->open && st->open_until_ms > now_ms) {
		verdict(cd, CD_BREAKER, st->open_until_ms, "breaker");
		return false;
	}
	if (st->open && st->probe_pid != 0 && !probe_is_me(st) &&
	    probe_alive(st)) {
		verdict(cd, CD_BREAKER, 0, "probe");
		cd->probe_pid = st->probe_pid;
		return false;
	}
	if (st->limit_until_ms > now_ms) {
		verdict(cd, CD_RATE_LIMIT, st->limit_until_ms, "rate_limit");
		return false;
	}
	if (!st->open)
		return false;
	if (st->probe_pid != 0 && probe_is_me(st)) {
		verdict(cd, CD_NONE, 0, "probe");
		cd->probe = true;
		return false;
	}
	return true;
}

int
cooldown_check(const char *dir, int64_t now_ms, struct cooldown *cd)
{
	struct state st;
	pid_t me;
	int64_t me_start;
	int fd, rc = 0;

	memset(cd, 0, sizeof(*cd));
	if (!sane_now(now_ms) || read_state(dir, now_ms, &st) == -1)
		return -1;
	if (!assess(&st, now_ms, cd))
		return 0;
	/* Claim the probe: again under the lock, which one run wins. */
	if ((fd = lock_state(dir)) == -1) {
		memset(cd, 0, sizeof(*cd));
		return -1;
	}
	if (read_state(dir, now_ms, &st) == -1) {
		rc = -1;
	} else if (assess(&st, now_ms, cd)) {
		self(&me, &me_start);
		st.probe_pid = me;
		st.probe_start = me_start;
		st.probe_ms = now_ms;
		if ((rc = write_state(dir, &st, now_ms)) == 0) {
			verdict(cd, CD_NONE, 0, "probe");
			cd->probe = true;
		}
	}
	unlock_state(fd);
	if (rc == -1)
		memset(cd, 0, sizeof(*cd));
	return rc;
}

/* The API answered: the outage is over. True when st changed. */
static bool
close_breaker(struct state *st)
{
	if (st->streak == 0 && !st->open && st->probe_pid == 0 &&
	    st->open_until_ms == 0)
		return false;
	st->streak = 0;
	st->open = false;
	st->open_until_ms = 0;
	st->probe_pid = 0;
	st->probe_start = 0;
	st->probe_ms = 0;
	return true;
}

/* Applies one outcome to st; true when st changed. */
static bool
apply(struct state *st, enum outcome oc, int64_t now_ms, int64_t reset_ms,
    int64_t window_ms, int breaker)
{
	int64_t until;
	bool changed;

	if (window_ms < 0)
		window_ms = 0;
	if (window_ms > AHEAD_MAX_MS)
		window_ms = AHEAD_MAX_MS;
	switch (oc) {
	case OC_RATE_LIMIT:
		changed = close_breaker(st);
		until = reset_ms > 0 ? reset_ms : now_ms + window_ms;
		if (until > now_ms + AHEAD_MAX_MS)
			until = now_ms + AHEAD_MAX_MS;
		if (until > st->limit_until_ms) {
			st->limit_until_ms = until;
			changed = true;
		}
		return changed;
	case OC_OVERLOADED:
	case OC_SERVER:
		if (st->streak < INT_MAX)
			st->streak++;
		if (breaker > 0 && st->streak >= breaker) {
			st->open = true;
			if (now_ms + window_ms > st->open_until_ms)
				st->open_until_ms = now_ms + window_ms;
			st->probe_pid = 0;
			st->probe_start = 0;
			st->probe_ms = 0;
		}
		return true;
	case OC_OK:
	case OC_EMPTY:
	case OC_ERROR:
	case OC_AUTH:
	case OC_EXPECTATION:
		return close_breaker(st);
	default:
		return false;
	}
}

int
cooldown_note(const char *dir, enum outcome oc, int64_t now_ms,
    int64_t reset_ms, int64_t window_ms, int breaker)
{
	struct state st, trial;
	int fd, rc = 0;

	/* Look first without the lock: most notes change nothing. */
	if (!sane_now(now_ms) || read_state(dir, now_ms, &st) == -1)
		return -1;
	trial = st;
	if (!apply(&trial, oc, now_ms, reset_ms, window_ms, breaker))
		return 0;
	if ((fd = lock_state(dir)) == -1)
		return -1;
	if (read_state(dir, now_ms, &st) == -1)
		rc = -1;
	else if (apply(&st, oc, now_ms, reset_ms, window_ms, breaker))
		rc = write_state(dir, &st, now_ms);
	unlock_state(fd);
	return rc;
}

int
cooldown_peek(const char *dir, int64_t now_ms, struct cooldown *cd)
{
	struct state st;

	memset(cd, 0, sizeof(*cd));
	if (!sane_now(now_ms) || read_state(dir, now_ms, &st) == -1)
		return -1;
	cd->streak = (int)st.streak;
	if (st.open) {
		verdict(cd, CD_BREAKER, st.open_until_ms > now_ms ?
		    st.open_until_ms : 0, "breaker");
		if (st.probe_pid != 0 && probe_alive(&st))
			cd->probe_pid = st.probe_pid;
	} else if (st.limit_until_ms > now_ms)
		verdict(cd, CD_RATE_LIMIT, st.limit_until_ms, "rate_limit");
	return 0;
}

int
cooldown_clear(const char *dir, int64_t now_ms)
{
	struct state st, none;
	int fd, rc;

	if (!sane_now(now_ms) || (fd = lock_state(dir)) == -1)
		return -1;
	memset(&none, 0, sizeof(none));
	if (read_state(dir, now_ms, &st) == -1)
		rc = -1;
	else if (st.limit_until_ms <= now_ms && !st.open && st.streak == 0 &&
	    st.probe_pid == 0)
		rc = 0;
	else
		rc = write_state(dir, &none, now_ms) == 0 ? 1 : -1;
	unlock_state(fd);
	return rc;
}
