/*
 * The fields of a ledger record (or of a log line read as one) as the
 * report's parts read them: any may be missing, and logfmt gives every
 * value as a string.
 */
#include "report_rec.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "tree.h"

const char *
rec_str(const cJSON *r, const char *key)
{
	if (r == NULL)
		return NULL;
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, key));
}

/* A number, or a string that holds one: logfmt values are strings. */
bool
rec_num(const cJSON *r, const char *key, double *v)
{
	const cJSON *it;
	char *end;
	double d;

	if (r == NULL)
		return false;
	it = cJSON_GetObjectItemCaseSensitive(r, key);
	if (cJSON_IsNumber(it)) {
		*v = it->valuedouble;
		return true;
	}
	if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
		return false;
	errno = 0;
	d = strtod(it->valuestring, &end);
	if (*end != '\0' || errno != 0 || !isfinite(d))
		return false;
	*v = d;
	return true;
}

int64_t
rec_int(const cJSON *r, const char *key, int64_t dflt)
{
	double d;

	if (!rec_num(r, key, &d) || d < -9e18 || d > 9e18)
		return dflt;
	return (int64_t)d;
}

/* Epoch ms of the record: ts_ms, else ts parsed, else TIME_NONE. */
int64_t
rec_time(const cJSON *r)
{
	const char *ts = rec_str(r, "ts");
	int64_t ms = rec_int(r, "ts_ms", TIME_NONE);

	if (ms == TIME_NONE && ts != NULL && ledger_parse_time(ts, &ms) == -1)
		ms = TIME_NONE;
	return ms;
}

bool
rec_is(const cJSON *r, const char *event)
{
	const char *ev = rec_str(r, "event");

	return ev != NULL && strcmp(ev, event) == 0;
}

int
rec_status_index(const char *word)
{
	if (word != NULL)
		for (int i = 0; i < ST__COUNT; i++)
			if (strcmp(status_word((enum status)i), word) == 0)
				return i;
	return ST__COUNT;
}

const char *
rec_status_name(int i)
{
	return i < ST__COUNT ? status_word((enum status)i) : "unknown";
}

void
rec_iso(int64_t ms, char buf[CLOCK_ISO_LEN])
{
	if (ms == TIME_NONE)
		strlcpy(buf, "(no time)", CLOCK_ISO_LEN);
	else
		clock_iso(ms, buf);
}

/*
 * Whether a run with a start record and no done may still be running:
 * its pid is alive on this host and began no later than the record (a
 * later one reused the pid). The boot time is to the second: that much
 * slack.
 */
bool
rec_still_running(const char *host, int64_t pid, int64_t start_ms)
{
	char me[256];
	int64_t began;

	if (host == NULL || pid <= 0 || pid > INT_MAX || start_ms == TIME_NONE ||
	    gethostname(me, sizeof(me)) == -1)
		return false;
	me[sizeof(me) - 1] = '\0';
	if (strcmp(me, host) != 0)
		return false;
	began = tree_started_ms((pid_t)pid);
	return began != -1 && began <= start_ms + 1000;
}
