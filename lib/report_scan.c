/*
 * The records of a ledger or of claudewrap's log lines (report_scan.h).
 * A line that does not parse is counted as unreadable and skipped; one
 * that is not claudewrap's (on stdin) is skipped and not counted.
 */
#include "report_scan.h"

#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "report_rec.h"

/* ---- claudewrap's stderr lines ---------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One value: quoted with \" \\ \n \t \xNN escapes, or up to a space. */
static const char *
logfmt_value(const char *s, const char *end, char *out)
{
	size_t n = 0;

	if (s >= end || *s != '"') {
		while (s < end && *s != ' ')
			out[n++] = *s++;
		out[n] = '\0';
		return s;
	}
	for (s++; s < end && *s != '"'; s++) {
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		if (++s == end)
			return NULL;
		if (*s == 'n')
			out[n++] = '\n';
		else if (*s == 't')
			out[n++] = '\t';
		else if (*s == 'x' && end - s > 2 && hexval(s[1]) >= 0 &&
		    hexval(s[2]) >= 0) {
			out[n++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else
			out[n++] = *s;
	}
	if (s == end)
		return NULL;	/* the closing quote is missing */
	out[n] = '\0';
	return s + 1;
}

static void
set_str(cJSON *obj, const char *key, const char *val)
{
	cJSON *v = cJSON_CreateString(val);

	if (v == NULL)
		return;
	if (cJSON_HasObjectItem(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

/* `key=value ...` as an object of strings; NULL when malformed. */
static cJSON *
logfmt_parse(const char *s, size_t len)
{
	const char *end = s + len, *k;
	char *key = malloc(len + 1), *val = malloc(len + 1);
	cJSON *obj = cJSON_CreateObject();

	while (obj != NULL && key != NULL && val != NULL) {
		while (s < end && *s == ' ')
			s++;
		if (s == end)
			break;
		for (k = s; s < end && *s != '=' && *s != ' '; s++)
			;
		if (s == k || s == end || *s != '=')
			goto bad;
		memcpy(key, k, (size_t)(s - k));
		key[s - k] = '\0';
		if ((s = logfmt_value(s + 1, end, val)) == NULL)
			goto bad;
		if (s < end && *s != ' ')
			goto bad;	/* text glued to a closing quote */
		set_str(obj, key, val);
	}
	free(key);
	free(val);
	return obj;
bad:
	free(key);
	free(val);
	cJSON_Delete(obj);
	return NULL;
}

/*
 * Where claudewrap's part of a log line starts: after "claudewrap: " at
 * the start, or after "claudewrap[PID]: " anywhere (syslog, journalctl).
 */
static const char *
log_body(const char *line)
{
	const char *p = line, *q;

	if (strncmp(line, "claudewrap: ", 12) == 0)
		return line + 12;
	while ((p = strstr(p, "claudewrap[")) != NULL) {
		for (q = p + 11; *q >= '0' && *q <= '9'; q++)
			;
		if (q > p + 11 && strncmp(q, "]: ", 3) == 0)
			return q + 3;
		p += 11;
	}
	return NULL;
}

static cJSON *
json_object(const char *s)
{
	cJSON *r = cJSON_ParseWithOpts(s, NULL, true);

	if (r != NULL && !cJSON_IsObject(r)) {
		cJSON_Delete(r);
		r = NULL;
	}
	return r;
}

/*
 * A stdin line as a record: ours and readable, ours and unreadable
 * (*bad), or someone else's (NULL, not bad).
 */
static cJSON *
log_record(const char *line, size_t len, bool cut, bool *bad)
{
	const char *body = log_body(line);
	cJSON *r;

	*bad = false;
	if (len > 0 && line[len - 1] == '\r')
		len--;	/* cJSON takes it for white space */
	if (cut) {
		/* Too long to judge: unreadable if it is ours. */
		*bad = body != NULL;
		return NULL;
	}
	if (body == NULL) {
		/* A bare ledger line is taken: `ssh host cat ledger | ... -`. */
		if (line[0] != '{' || (r = json_object(line)) == NULL)
			return NULL;
		if (rec_str(r, "run") == NULL) {
			cJSON_Delete(r);
			return NULL;
		}
		return r;
	}
	r = *body == '{' ? json_object(body) :
	    logfmt_parse(body, len - (size_t)(body - line));
	*bad = r == NULL;
	return r;
}

/* ---- a ledger's lines, or a log's ------------------------------------- */

static bool
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r')
			return false;
	return true;
}

cJSON *
rscan_json(const char *line, bool *bad)
{
	cJSON *r;

	*bad = false;
	if (blank(line))
		return NULL;
	*bad = (r = json_object(line)) == NULL;
	return r;
}

int
rscan(FILE *f, bool logs, rscan_fn *fn, void *ctx, struct rscan_stats *st)
{
	struct ledger_lines *lr = ledger_lines_new(f, RSCAN_LINE_MAX);
	const char *line;
	size_t len;
	bool cut, bad;
	cJSON *r;

	if (lr == NULL)
		return -1;
	while ((line = ledger_lines_next(lr, &len, &cut)) != NULL) {
		if (logs)
			r = log_record(line, len, cut, &bad);
		else if (cut) {
			/* Too long to keep: unreadable, unless all blanks. */
			r = NULL;
			bad = !blank(line);
		} else
			r = rscan_json(line, &bad);
		if (r == NULL) {
			st->unreadable += bad;
			continue;
		}
		if (rec_is(r, "start") || rec_is(r, "done")) {
			st->records++;
			fn(ctx, r);
		}
		cJSON_Delete(r);
	}
	ledger_lines_free(lr);
	return ferror(f) ? -1 : 0;
}
