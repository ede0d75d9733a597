#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
clock_real_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/*
 * The civil date of a day count since 1970-01-01 (proleptic Gregorian;
 * H. Hinnant's civil_from_days). Not gmtime_r: glibc's loads the local
 * time zone first (/etc/localtime), on every run, for a UTC stamp.
 */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* v in n decimal digits, zero-padded (v < 10^n). */
static void
put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
clock_iso(int64_t epoch_ms, char buf[CLOCK_ISO_LEN])
{
	int64_t ms = epoch_ms % 1000, secs, days, sod, y;
	unsigned m, d;
	char tmp[80];	/* any year fits; the caller's buffer takes 4 digits */

	if (ms < 0)
		ms += 1000;
	secs = (epoch_ms - ms) / 1000;
	sod = secs % 86400;
	if (sod < 0)
		sod += 86400;
	days = (secs - sod) / 86400;
	civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999) {
		/* What snprintf below writes, without its 3,000 instructions. */
		put_digits(buf, (unsigned)y, 4);
		buf[4] = '-';
		put_digits(buf + 5, m, 2);
		buf[7] = '-';
		put_digits(buf + 8, d, 2);
		buf[10] = 'T';
		put_digits(buf + 11, (unsigned)(sod / 3600), 2);
		buf[13] = ':';
		put_digits(buf + 14, (unsigned)(sod / 60 % 60), 2);
		buf[16] = ':';
		put_digits(buf + 17, (unsigned)(sod % 60), 2);
		buf[19] = '.';
		put_digits(buf + 20, (unsigned)ms, 3);
		buf[23] = 'Z';
		buf[24] = '\0';
		return;
	}
	snprintf(tmp, sizeof(tmp), "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
	    (long long)y, m, d, (unsigned)(sod / 3600),
	    (unsigned)(sod / 60 % 60), (unsigned)(sod % 60), (unsigned)ms);
	strlcpy(buf, tmp, CLOCK_ISO_LEN);
}
