#include "clock.h"

#include <stdio.h>
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

void
clock_iso(int64_t epoch_ms, char buf[CLOCK_ISO_LEN])
{
	time_t secs = (time_t)(epoch_ms / 1000);
	struct tm tm;
	char date[24];

	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, CLOCK_ISO_LEN, "%.20s.%03uZ", date,
	    (unsigned)(epoch_ms % 1000) % 1000u);
}
