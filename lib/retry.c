/*
 * Retry arithmetic: the backoff window, the jittered wait drawn from it,
 * and the reset time named in a CLI message.
 *
 * The reset forms are those the CLI prints:
 *
 *	Claude AI usage limit reached|1753441200
 *	You've hit your session limit · resets 10:16am (UTC)
 *	5-hour limit reached · resets 3pm (Europe/Stockholm) · /upgrade …
 *	You've hit your weekly limit · resets Nov 26, 8:17am (UTC)
 *	You've hit your limit · resets Apr 23 at 4pm (America/Recife)
 *	5-hour limit reached ∙ resets 5am
 *	Claude usage limit reached. Your limit will reset at 3pm (America/Bogota).
 *	You've hit your limit - resets Feb 7, 11am (Asia/Seoul)/login to …
 *
 * plus a plain retry-after ("retry-after: 20", "try again in 20 seconds").
 * The separator before "resets" (U+00B7, U+2219, '-') does not matter: the
 * parser anchors on the word. The text is never assumed to be
 * NUL-terminated and nothing past len is read.
 */
#include "retry.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * The window never exceeds this: a wait of 2^62 ms is already some
 * hundred million years, and keeping clear of INT64_MAX lets callers add
 * it to a clock reading without overflow.
 */
#define WINDOW_MAX	((int64_t)1 << 62)

/* A displayed reset time has minute precision (see next_time()). */
#define GRACE_S		60
#define DAY_S		86400

int64_t
retry_window(int64_t backoff_ms, int64_t cap_ms, int done)
{
	int64_t w;
	int shift;

	if (backoff_ms <= 0)
		return 0;
	/* A cap of 0 is "off" as every duration option is: no cap. */
	if (cap_ms <= 0 || cap_ms > WINDOW_MAX)
		cap_ms = WINDOW_MAX;
	if (backoff_ms > WINDOW_MAX)
		backoff_ms = WINDOW_MAX;
	shift = done < 1 ? 0 : done - 1;
	if (shift >= 62 || backoff_ms > (WINDOW_MAX >> shift))
		w = WINDOW_MAX;
	else
		w = backoff_ms << shift;
	return w < cap_ms ? w : cap_ms;
}

/* Uniform in [0, n) for any n > 0, without modulo bias. */
static uint64_t
uniform64(uint64_t n)
{
	uint64_t x, min;

	if (n <= UINT32_MAX)
		return arc4random_uniform((uint32_t)n);
	/* 2^64 mod n: values below it would make the low residues likelier. */
	/* cppcheck-suppress oppositeExpression */
	min = -n % n;
	do
		arc4random_buf(&x, sizeof(x));
	while (x < min);
	return x % n;
}

int64_t
retry_draw(int64_t w_ms)
{
	int64_t lo;

	if (w_ms <= 0)
		return 0;
	lo = w_ms / 2;
	/* w - lo + 1 values: both ends included. */
	return lo + (int64_t)uniform64((uint64_t)(w_ms - lo) + 1);
}

/* ---- Reset times --------------------------------------------------- */

/* What the text says, before it is placed on the calendar. */
struct when {
	int	mon;		/* 0-11, or -1: no date given */
	int	mday;
	int	hour;		/* 0-23 */
	int	min;
	char	zone[64];	/* IANA name, or "" for the process's own */
};

/* A bounded cursor over the text. */
struct cur {
	const char	*p;
	const char	*end;
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	c = lower(c);
	return c >= 'a' && c <= 'z';
}

static bool
at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static int
peek(const struct cur *c)
{
	return at_end(c) ? -1 : (unsigned char)*c->p;
}

/* Consumes the ASCII word w (case-insensitive) if it is next. */
static bool
take(struct cur *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)c->p[i]) != lower((unsigned char)w[i]))
			return false;
	c->p += n;
	return true;
}

/* As take(), but the word must not run on into more letters. */
static bool
take_word(struct cur *c, const char *w)
{
	struct cur s = *c;

	if (!take(&s, w) || is_alpha(peek(&s)))
		return false;
	*c = s;
	return true;
}

/*
 * Skips blanks: ASCII space and tab, and the no-break spaces U+00A0 and
 * U+202F that locale-aware time formatting puts before "am"/"pm".
 */
static bool
skip_blank(struct cur *c)
{
	const char *start = c->p;

	while (!at_end(c)) {
		if (*c->p == ' ' || *c->p == '\t')
			c->p++;
		else if (take(c, "\xc2\xa0") || take(c, "\xe2\x80\xaf"))
			continue;
		else
			break;
	}
	return c->p != start;
}

/* An unsigned number of 1 to maxdig digits; longer runs are refused. */
static bool
take_num(struct cur *c, int maxdig, int64_t *v)
{
	int64_t n = 0;
	int d = 0;

	while (is_digit(peek(c))) {
		if (++d > maxdig)
			return false;
		n = n * 10 + (*c->p - '0');
		c->p++;
	}
	*v = n;
	return d > 0;
}

/* "Nov", "November", "Sept." — the first three letters decide. */
static bool
take_month(struct cur *c, int *mon)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	struct cur s = *c;
	char ab[3];

	for (int i = 0; i < 3; i++) {
		if (!is_alpha(peek(&s)))
			return false;
		ab[i] = (char)lower(*s.p++);
	}
	for (int m = 0; m < 12; m++) {
		if (memcmp(ab, names + 3 * m, 3) != 0)
			continue;
		while (is_alpha(peek(&s)))
			s.p++;
		if (peek(&s) == '.')
			s.p++;
		*mon = m;
		*c = s;
		return true;
	}
	return false;
}

/* "Nov 26", "Nov 26,", "Apr 23 at", "Nov 26th", followed by blanks. */
static bool
take_date(struct cur *c, struct when *w)
{
	struct cur s = *c;
	int64_t d;

	if (!take_month(&s, &w->mon))
		return false;
	skip_blank(&s);
	if (!take_num(&s, 2, &d) || d < 1 || d > 31)
		return false;
	if (!take_word(&s, "st") && !take_word(&s, "nd") &&
	    !take_word(&s, "rd"))
		(void)take_word(&s, "th");
	if (peek(&s) == ',') {
		s.p++;
		skip_blank(&s);
	} else if (!skip_blank(&s))
		return false;
	if (take_word(&s, "at") && !skip_blank(&s))
		return false;
	w->mday = (int)d;
	*c = s;
	return true;
}

/* "am", " PM", "a.m.": 0 for am, 12 for pm, -1 for neither. */
static int
take_meridiem(struct cur *c)
{
	struct cur s = *c;
	int add;

	skip_blank(&s);
	if (take_word(&s, "am") || take_word(&s, "a.m."))
		add = 0;
	else if (take_word(&s, "pm") || take_word(&s, "p.m."))
		add = 12;
	else
		return -1;
	*c = s;
	return add;
}

/*
 * "3pm", "10:16am", "3:30 PM", "15:50". Without am/pm the minutes are
 * required, so that a bare number is never read as an hour.
 */
static bool
take_time(struct cur *c, struct when *w)
{
	struct cur s = *c;
	int64_t h, m = 0;
	bool minutes = false;
	int add;

	if (!take_num(&s, 2, &h))
		return false;
	if (peek(&s) == ':') {
		s.p++;
		if (s.end - s.p < 2 || !is_digit((unsigned char)s.p[0]) ||
		    !is_digit((unsigned char)s.p[1]) || !take_num(&s, 2, &m))
			return false;
		minutes = true;
	}
	if (m > 59)
		return false;
	if ((add = take_meridiem(&s)) >= 0) {
		if (h < 1 || h > 12)
			return false;
		h = h % 12 + add;
	} else if (!minutes || h > 23 || is_alpha(peek(&s))) {
		/* A 24-hour clock needs its minutes, nothing glued on. */
		return false;
	}
	w->hour = (int)h;
	w->min = (int)m;
	*c = s;
	return true;
}

/* " (Europe/Berlin)": an IANA-looking name in parentheses, or nothing. */
static void
take_zone(struct cur *c, struct when *w)
{
	struct cur s = *c;
	size_t n = 0;

	w->zone[0] = '\0';
	skip_blank(&s);
	if (peek(&s) != '(')
		return;
	s.p++;
	while (!at_end(&s) && *s.p != ')') {
		int ch = (unsigned char)*s.p;

		if (!is_alpha(ch) && !is_digit(ch) && ch != '/' && ch != '_' &&
		    ch != '-' && ch != '+')
			return;
		if (n + 1 >= sizeof(w->zone))
			return;
		w->zone[n++] = (char)ch;
		s.p++;
	}
	if (at_end(&s) || n == 0)
		return;
	w->zone[n] = '\0';
	c->p = s.p + 1;
}

/*
 * "N", "N s", "N seconds", "N min", "N minutes", "N h", "N hours",
 * "N days", with an optional fraction (rounded up); a missing unit is
 * seconds. The result, in seconds, is at most a year.
 */
static bool
take_delay(struct cur *c, int64_t *secs)
{
	static const struct {
		const char	*w;
		int64_t		 mul;
	} units[] = {
		{ "seconds", 1 }, { "second", 1 }, { "secs", 1 }, { "sec", 1 },
		{ "s", 1 }, { "minutes", 60 }, { "minute", 60 }, { "mins", 60 },
		{ "min", 60 }, { "m", 60 }, { "hours", 3600 }, { "hour", 3600 },
		{ "hrs", 3600 }, { "hr", 3600 }, { "h", 3600 },
		{ "days", DAY_S }, { "day", DAY_S }, { "d", DAY_S },
	};
	struct cur s = *c;
	int64_t n, mul = 1;
	bool frac = false;

	if (!take_num(&s, 9, &n))
		return false;
	if (peek(&s) == '.' && s.end - s.p > 1 &&
	    is_digit((unsigned char)s.p[1])) {
		s.p++;
		while (is_digit(peek(&s)))
			if (*s.p++ != '0')
				frac = true;
	}
	{
		struct cur t = s;
		size_t i;

		skip_blank(&t);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (take_word(&t, units[i].w))
				break;
		/* An unknown unit ("20 ms", "20 years") is no delay we know. */
		if (i == sizeof(units) / sizeof(units[0]) && is_alpha(peek(&t)))
			return false;
		if (i < sizeof(units) / sizeof(units[0])) {
			mul = units[i].mul;
			s = t;
		}
	}
	if (is_alpha(peek(&s)) || is_digit(peek(&s)))
		return false;
	n = (n + (frac ? 1 : 0)) * mul;
	if (n > 366 * (int64_t)DAY_S)
		return false;
	*secs = n;
	*c = s;
	return true;
}

/* "|1753441200" after "limit reached": epoch seconds (or ms). */
static bool
take_epoch(struct cur *c, time_t *when)
{
	struct cur s = *c;
	int64_t v;

	skip_blank(&s);
	if (peek(&s) != '|')
		return false;
	s.p++;
	skip_blank(&s);
	if (!take_num(&s, 13, &v) || is_digit(peek(&s)) || is_alpha(peek(&s)))
		return false;
	if (v >= 100000000000LL)	/* 13 digits: milliseconds */
		v /= 1000;
	if (v < 1000000000LL)		/* before 2001: not a reset time */
		return false;
	*when = (time_t)v;
	*c = s;
	return true;
}

/* ---- Placing a wall-clock time on the calendar ----------------------- */

typedef struct tm *(*breakdown_fn)(const time_t *, struct tm *);
typedef time_t (*compose_fn)(struct tm *);

/* The epoch of w's time on day (year, mon, mday); false if none. */
static bool
compose(const struct when *w, int year, int mon, int mday, compose_fn mk,
    time_t *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year;
	tm.tm_mon = mon;
	tm.tm_mday = mday;
	tm.tm_hour = w->hour;
	tm.tm_min = w->min;
	tm.tm_isdst = -1;
	*t = mk(&tm);
	/* mktime() moves Feb 30 to March: such a date does not exist. */
	return *t != (time_t)-1 && tm.tm_mon == mon;
}

/*
 * The epoch of w on the calendar of brk/mk: a time without a date is its
 * next occurrence at or after now (a displayed time has minute precision,
 * so one that passed less than a minute ago is still today's); a date
 * without a year is its first occurrence at or after now less a day.
 */
static bool
place(const struct when *w, time_t now, breakdown_fn brk, compose_fn mk,
    time_t *when)
{
	struct tm today;
	time_t t;

	if (brk(&now, &today) == NULL)
		return false;
	if (w->mon < 0) {
		if (!compose(w, today.tm_year, today.tm_mon, today.tm_mday, mk,
		    &t))
			return false;
		if (t < now - GRACE_S) {
			struct tm tm = today;

			/* Tomorrow; mktime() carries into the month and year. */
			tm.tm_mday++;
			tm.tm_hour = 12;
			tm.tm_min = tm.tm_sec = 0;
			tm.tm_isdst = -1;
			if (mk(&tm) == (time_t)-1 ||
			    !compose(w, tm.tm_year, tm.tm_mon, tm.tm_mday, mk, &t))
				return false;
		}
		*when = t;
		return true;
	}
	/* Feb 29 may be up to four years on; other dates a year at most. */
	for (int y = today.tm_year - 1; y <= today.tm_year + 4; y++) {
		if (compose(w, y, w->mon, w->mday, mk, &t) &&
		    t >= now - DAY_S) {
			*when = t;
			return true;
		}
	}
	return false;
}

/* "UTC" and its aliases need no zone file and no TZ switch. */
static bool
is_utc(const char *z)
{
	static const char *const names[] = {
		"UTC", "GMT", "Etc/UTC", "Etc/GMT", "Z", "Zulu", "Universal",
		"Etc/Universal", "Etc/Zulu", "UCT", "Etc/UCT",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(z, names[i]) == 0)
			return true;
	return false;
}

/*
 * Whether z names a zone file this host has. Names are refused that
 * could step outside the zone directory.
 */
static bool
zone_known(const char *z)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	struct stat st;
	int n;

	if (z[0] == '/' || z[0] == '\0' || strstr(z, "..") != NULL)
		return false;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, z);
	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Places w in the named zone. The C library converts wall-clock times
 * only in the process's own zone, so the zone is switched by setting TZ
 * for the duration of the conversion and restoring it exactly (unset
 * included) afterwards. That is safe because claudewrap is
 * single-threaded and nothing else reads the zone meanwhile.
 */
static bool
place_in_zone(const struct when *w, const char *zone, time_t now,
    time_t *when)
{
	const char *old = getenv("TZ");
	char *saved = NULL, tz[sizeof(w->zone) + 1];
	bool ok;

	if (old != NULL && (saved = strdup(old)) == NULL)
		return false;
	/* The leading colon: a zone file, never a POSIX TZ rule. */
	(void)snprintf(tz, sizeof(tz), ":%s", zone);
	if (setenv("TZ", tz, 1) == -1) {
		free(saved);
		return false;
	}
	tzset();
	ok = place(w, now, localtime_r, mktime, when);
	if (saved != NULL)
		(void)setenv("TZ", saved, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	free(saved);
	return ok;
}

/*
 * An unknown zone falls back to the process's own: the CLI is our child
 * and prints times in the zone it inherited from us, so a name this host
 * cannot resolve (no tzdata installed) most likely is that zone anyway.
 */
static bool
resolve(const struct when *w, time_t now, time_t *when)
{
	if (w->zone[0] != '\0' && is_utc(w->zone))
		return place(w, now, gmtime_r, timegm, when);
	if (w->zone[0] != '\0' && zone_known(w->zone))
		return place_in_zone(w, w->zone, now, when);
	return place(w, now, localtime_r, mktime, when);
}

/* now + secs, refused where it would overflow. */
static bool
add_secs(time_t now, int64_t secs, time_t *when)
{
	if (now < 0 || (int64_t)now > INT64_MAX - secs)
		return false;
	*when = now + (time_t)secs;
	return true;
}

/* After "resets" / "reset at": [in DELAY | [DATE] TIME [(ZONE)]]. */
static bool
take_reset(struct cur *c, time_t now, time_t *when)
{
	struct when w;
	int64_t secs;

	memset(&w, 0, sizeof(w));
	w.mon = -1;
	if (!skip_blank(c))
		return false;
	if (take_word(c, "in")) {
		return skip_blank(c) && take_delay(c, &secs) &&
		    add_secs(now, secs, when);
	}
	if (take_word(c, "at") && !skip_blank(c))
		return false;
	if (!is_digit(peek(c)) && !take_date(c, &w))
		return false;
	if (!take_time(c, &w))
		return false;
	take_zone(c, &w);
	return resolve(&w, now, when);
}

/* "retry-after: 20", "retry after 20s", "Retry-After 20". */
static bool
take_retry_after(struct cur *c, time_t now, time_t *when)
{
	int64_t secs;

	skip_blank(c);
	if (peek(c) == ':' || peek(c) == '=')
		c->p++;
	skip_blank(c);
	return take_delay(c, &secs) && add_secs(now, secs, when);
}

/* "try again in 20 seconds" (but not "try again in a moment"). */
static bool
take_try_again(struct cur *c, time_t now, time_t *when)
{
	int64_t secs;

	return skip_blank(c) && take_word(c, "in") && skip_blank(c) &&
	    take_delay(c, &secs) && add_secs(now, secs, when);
}

/* The form anchored at c->p, if any. */
static bool
match_at(struct cur c, time_t now, time_t *when)
{
	if (take(&c, "limit reached"))
		return take_epoch(&c, when);
	if (take_word(&c, "resets") || take_word(&c, "reset"))
		return take_reset(&c, now, when);
	if (take(&c, "retry-after") || take(&c, "retry after"))
		return take_retry_after(&c, now, when);
	if (take_word(&c, "try again"))
		return take_try_again(&c, now, when);
	return false;
}

int
retry_parse_reset(const char *text, size_t len, time_t now, time_t *when)
{
	struct cur c;

	if (text == NULL || when == NULL)
		return -1;
	c.end = text + len;
	for (c.p = text; c.p < c.end; c.p++) {
		/* Anchors start a word. */
		if (c.p > text && (is_alpha((unsigned char)c.p[-1]) ||
		    is_digit((unsigned char)c.p[-1])))
			continue;
		if (match_at(c, now, when))
			return 0;
	}
	return -1;
}
