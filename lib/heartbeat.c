#include "heartbeat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "clock.h"
#include "io.h"
#include "output.h"

static const char *const phase_names[] = {
	[HB_STARTING] = "starting",
	[HB_RUNNING] = "running",
	[HB_WAITING] = "waiting",
	[HB_KILLING] = "killing",
	[HB_DONE] = "done",
};

/* The text to write, without its newline. */
struct line {
	const char	*text;
	size_t		 len;
};

const char *
heartbeat_phase_name(enum hb_phase phase)
{
	if ((unsigned)phase >= sizeof(phase_names) / sizeof(*phase_names))
		return NULL;
	return phase_names[phase];
}

/* Every cJSON_Add* returns NULL on ENOMEM; the first NULL fails all. */
static cJSON *
build(const struct heartbeat *hb, const char *phase)
{
	int64_t ts = hb->ts_ms != 0 ? hb->ts_ms : clock_real_ms();
	char iso[CLOCK_ISO_LEN];
	cJSON *o;

	clock_iso(ts, iso);
	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "run", hb->run) == NULL ||
	    (hb->tag != NULL &&
	    cJSON_AddStringToObject(o, "tag", hb->tag) == NULL) ||
	    cJSON_AddNumberToObject(o, "pid", (double)hb->pid) == NULL ||
	    cJSON_AddNumberToObject(o, "attempt", hb->attempt) == NULL ||
	    cJSON_AddStringToObject(o, "phase", phase) == NULL ||
	    cJSON_AddStringToObject(o, "ts", iso) == NULL ||
	    cJSON_AddNumberToObject(o, "ts_ms", (double)ts) == NULL ||
	    (hb->next_wake_ms != 0 && cJSON_AddNumberToObject(o,
	    "next_wake_ms", (double)hb->next_wake_ms) == NULL)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int
fill_line(void *ctx, int fd)
{
	const struct line *l = ctx;

	if (io_write_all(fd, l->text, l->len) == -1)
		return -1;
	return io_write_all(fd, "\n", 1);
}

int
heartbeat_write(const char *path, const struct heartbeat *hb)
{
	const char *phase = heartbeat_phase_name(hb->phase);
	struct line l;
	cJSON *o;
	char *text;
	int rc, saved;

	if (hb->run == NULL || phase == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((o = build(hb, phase)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	l.text = text;
	l.len = strlen(text);
	rc = output_commit_private(path, fill_line, &l);
	saved = errno;
	cJSON_free(text);
	errno = saved;
	return rc;
}
