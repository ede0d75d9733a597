#include "ghactions.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

#define DETAIL_MAX	200	/* bytes of detail in a summary cell */

static const char summary_head[] =
    "| run | tag | status | exit | attempts | duration | cost (USD) | detail |\n"
    "|---|---|---|---:|---:|---:|---:|---|\n";

struct buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	bool	 oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (io_grow(&b->s, &b->cap, b->len + n + 1) == -1) {
		b->oom = true;
		return;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static const char *
str(const cJSON *ev, const char *key)
{
	const char *v = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(ev, key));

	return v != NULL ? v : "";
}

static int64_t
num(const cJSON *ev, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/*
 * A workflow command's text: the runner decodes %25, %0D and %0A in the
 * message, and in a property value also %3A and %2C (actions/toolkit,
 * command.ts), so a detail with a colon or a newline arrives whole.
 */
static void
put_escaped(struct buf *b, const char *s, bool property)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			puts_(b, "%25");
		else if (*s == '\r')
			puts_(b, "%0D");
		else if (*s == '\n')
			puts_(b, "%0A");
		else if (property && *s == ':')
			puts_(b, "%3A");
		else if (property && *s == ',')
			puts_(b, "%2C");
		else
			put(b, s, 1);
	}
}

static void
error_line(const cJSON *ev)
{
	struct buf b = { 0 };
	const char *detail = str(ev, "detail");

	puts_(&b, "::error title=claudewrap ");
	put_escaped(&b, str(ev, "status"), true);
	puts_(&b, "::");
	put_escaped(&b, *detail != '\0' ? detail : str(ev, "status"), false);
	puts_(&b, "\n");
	if (!b.oom)
		(void)io_write_all(STDERR_FILENO, b.s, b.len);
	free(b.s);
}

/* A table cell: a pipe would end it and a newline the row. */
static void
put_cell(struct buf *b, const char *s, size_t max)
{
	size_t n = 0;

	puts_(b, " ");
	for (; *s != '\0'; s++, n++) {
		/* Cut before a character, never inside one (UTF-8). */
		if (n >= max && ((unsigned char)*s & 0xc0) != 0x80) {
			puts_(b, "…");
			break;
		}
		if (*s == '|')
			puts_(b, "\\|");
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			puts_(b, " ");
		else
			put(b, s, 1);
	}
	puts_(b, " |");
}

static void
summary_row(struct buf *b, const cJSON *ev)
{
	char cell[64];
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(ev, "cost_usd");
	const char *run = str(ev, "run");

	puts_(b, "|");
	snprintf(cell, sizeof(cell), "`%.8s`", run);
	put_cell(b, cell, sizeof(cell));
	put_cell(b, str(ev, "tag"), 64);
	snprintf(cell, sizeof(cell), "%s%s%s", num(ev, "exit") != 0 ? "**" :
	    "", str(ev, "status"), num(ev, "exit") != 0 ? "**" : "");
	put_cell(b, cell, sizeof(cell));
	snprintf(cell, sizeof(cell), "%" PRId64, num(ev, "exit"));
	put_cell(b, cell, sizeof(cell));
	snprintf(cell, sizeof(cell), "%" PRId64, num(ev, "attempts"));
	put_cell(b, cell, sizeof(cell));
	snprintf(cell, sizeof(cell), "%.1f s",
	    (double)num(ev, "duration_ms") / 1000);
	put_cell(b, cell, sizeof(cell));
	if (cJSON_IsNumber(cost))
		snprintf(cell, sizeof(cell), "%.4f", cost->valuedouble);
	else
		cell[0] = '\0';
	put_cell(b, cell, sizeof(cell));
	put_cell(b, str(ev, "detail"), DETAIL_MAX);
	puts_(b, "\n");
}

/*
 * One write on an O_APPEND descriptor, header and row together, so that
 * parallel runs in one step never split a row. The file is the runner's;
 * anything but a regular file there is left alone.
 */
static void
append_summary(const char *path, const cJSON *ev)
{
	struct buf b = { 0 };
	struct stat sb;
	int fd;

	/* The runner's file, not ours: its mode is the runner's business. */
	fd = io_open_regular(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd == -1)
		return;
	if (fstat(fd, &sb) == 0) {
		if (sb.st_size == 0)
			puts_(&b, summary_head);
		summary_row(&b, ev);
		if (!b.oom)
			(void)io_write_all(fd, b.s, b.len);
	}
	free(b.s);
	(void)close(fd);
}

void
gha_done(const cJSON *ev)
{
	const char *gha = getenv("GITHUB_ACTIONS");
	const char *summary = getenv("GITHUB_STEP_SUMMARY");

	if (gha == NULL || strcmp(gha, "true") != 0)
		return;
	if (num(ev, "exit") != 0)
		error_line(ev);
	if (summary != NULL && *summary != '\0')
		append_summary(summary, ev);
}
