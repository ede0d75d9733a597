#include "log.h"

#include <sys/random.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "ghactions.h"
#include "io.h"
#include "spool.h"

/* An integer below 1e15 with its sign and NUL: 17, with room to spare. */
#define LOG_INT_LEN	24

struct log {
	enum log_format	 format;
	bool		 quiet;
	bool		 use_syslog;
	bool		 tty;		/* stderr is a terminal */
	bool		 status_shown;	/* a live status line is on screen */
	int		 hold_fd;	/* --quiet-ok: stderr held here, or -1 */
	char		 run[LOG_RUN_ID_LEN];
	char		*tag;
};

static const char *const level_word[] = { "info", "warn", "error" };

/*
 * A random (version 4) UUID, from getrandom(2): one system call, where
 * arc4random's first use costs two mappings, a ChaCha key, a thousand
 * bytes of keystream and a fork handler that the guardian's fork then
 * runs (BENCHMARKS.md, wall time). arc4random_buf if it fails (a kernel
 * without it).
 */
static void
make_uuid(char out[LOG_RUN_ID_LEN])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, LOG_RUN_ID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
	    b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	    b[15]);
}

struct log *
log_open(enum log_format format, bool quiet, bool use_syslog, const char *tag)
{
	struct log *lg = calloc(1, sizeof(*lg));

	if (lg == NULL)
		return NULL;
	lg->format = format;
	lg->quiet = quiet;
	lg->use_syslog = use_syslog;
	lg->tty = isatty(STDERR_FILENO) == 1;
	lg->hold_fd = -1;
	if (tag != NULL && (lg->tag = strdup(tag)) == NULL) {
		free(lg);
		return NULL;
	}
	make_uuid(lg->run);
	if (use_syslog)
		openlog("claudewrap", LOG_PID, LOG_USER);
	return lg;
}

void
log_close(struct log *lg)
{
	if (lg == NULL)
		return;
	log_status(lg, NULL);
	if (lg->use_syslog)
		closelog();
	if (lg->hold_fd != -1)
		(void)close(lg->hold_fd);
	free(lg->tag);
	free(lg);
}

const char *
log_run_id(const struct log *lg)
{
	return lg->run;
}

cJSON *
log_begin(struct log *lg, enum log_level lv, const char *event)
{
	char ts[CLOCK_ISO_LEN];
	cJSON *ev = cJSON_CreateObject();

	if (ev == NULL)
		return NULL;
	clock_iso(clock_real_ms(), ts);
	log_str(ev, "ts", ts);
	log_str(ev, "level", level_word[lv]);
	log_str(ev, "run", lg->run);
	if (lg->tag != NULL)
		log_str(ev, "tag", lg->tag);
	log_str(ev, "event", event);
	return ev;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * JSON is UTF-8 (RFC 8259): a stray byte from a tag or a path would make
 * a whole ledger line unreadable to a strict reader, so each becomes
 * U+FFFD. NULL when the value is valid as it is (the common case).
 */
static char *
utf8_clean(const char *val)
{
	const unsigned char *p = (const unsigned char *)val;
	char *out, *o;
	size_t n;

	for (; *p != '\0'; p += n)
		if ((n = utf8_len(p)) == 0)
			break;
	if (*p == '\0' || (out = malloc(strlen(val) * 3 + 1)) == NULL)
		return NULL;
	for (o = out, p = (const unsigned char *)val; *p != '\0';) {
		if ((n = utf8_len(p)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return out;
}

void
log_str(cJSON *ev, const char *key, const char *val)
{
	char *clean;

	if (ev == NULL || val == NULL)
		return;
	clean = utf8_clean(val);
	cJSON_AddStringToObject(ev, key, clean != NULL ? clean : val);
	free(clean);
}

void
log_int(cJSON *ev, const char *key, int64_t val)
{
	if (ev != NULL)
		cJSON_AddNumberToObject(ev, key, (double)val);
}

static bool
needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= ' ' || *v == '=' || *v == '"' ||
		    *v == '\\' || *v == 0x7f)
			return true;
	return false;
}

/* Like snprintf: returns the length the whole value needs. */
size_t
log_fmt_value(const char *v, char *buf, size_t size)
{
	size_t n = 0;
	bool q = needs_quotes(v);

#define PUT(c)	do { if (n + 1 < size) buf[n] = (c); n++; } while (0)
	if (q)
		PUT('"');
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c == '\n') {
			PUT('\\');
			PUT('n');
		} else if (c == '\t') {
			PUT('\\');
			PUT('t');
		} else if (c < ' ' || c == 0x7f) {
			char hex[5];
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			for (int i = 0; i < 4; i++)
				PUT(hex[i]);
		} else
			PUT((char)c);
	}
	if (q)
		PUT('"');
#undef PUT
	if (size > 0)
		buf[n < size ? n : size - 1] = '\0';
	return n;
}

/* Appends text to a growing line; on ENOMEM the line is cut, not lost. */
static void
line_add(char **line, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (io_grow(line, cap, *len + n + 1) == -1)
		return;
	memcpy(*line + *len, s, n);
	*len += n;
	(*line)[*len] = '\0';
}

/*
 * An integer as cJSON prints it ("%1.15g": every digit, below 1e15),
 * without cJSON's malloc, sprintf and sscanf round trip: most values of
 * a line are integers, and the done line is written after the CLI's end
 * on every run (BENCHMARKS.md, wall time). false for any other value.
 */
static bool
int_text(const cJSON *it, char buf[LOG_INT_LEN])
{
	char rev[LOG_INT_LEN];
	uint64_t u;
	double d;
	size_t n = 0, i = 0;

	if (!cJSON_IsNumber(it))
		return false;
	d = it->valuedouble;
	if (!(d > -1e15 && d < 1e15) || d != (double)(int64_t)d ||
	    (d == 0 && signbit(d)))
		return false;
	u = d < 0 ? (uint64_t)-(int64_t)d : (uint64_t)d;
	do
		rev[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (d < 0)
		buf[i++] = '-';
	while (n > 0)
		buf[i++] = rev[--n];
	buf[i] = '\0';
	return true;
}

void
log_ints_as_text(cJSON *obj)
{
	char num[LOG_INT_LEN], *text;
	cJSON *it;

	if (obj == NULL)
		return;
	for (it = obj->child; it != NULL; it = it->next)
		if (cJSON_IsObject(it) || cJSON_IsArray(it))
			log_ints_as_text(it);
		else if (int_text(it, num) && (text = strdup(num)) != NULL) {
			/* cJSON_CreateRaw's item, in place: the key stays. */
			it->type = cJSON_Raw | (it->type & cJSON_StringIsConst);
			it->valuestring = text;
		}
}

static void
line_add_value(char **line, size_t *len, size_t *cap, const cJSON *it)
{
	char small[256], num[LOG_INT_LEN], *text = NULL;
	const char *v;
	size_t need;

	if (cJSON_IsString(it))
		v = it->valuestring;
	else if (cJSON_IsBool(it))
		v = cJSON_IsTrue(it) ? "true" : "false";
	else if (int_text(it, num))
		v = num;
	else if (cJSON_IsArray(it)) {
		/* A list logs as a comma-joined value: pids=12,34. */
		size_t alen = 0, acap = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, it) {
			/* cppcheck 2.10 takes cJSON_ArrayForEach to run once. */
			/* cppcheck-suppress knownConditionTrueFalse */
			if (alen > 0)
				line_add(&text, &alen, &acap, ",", 1);
			char *one = NULL;
			const char *s;

			if (cJSON_IsString(e))
				s = e->valuestring;
			else if (int_text(e, num))
				s = num;
			else if ((one = cJSON_PrintUnformatted(e)) != NULL)
				s = one;
			else
				s = "";
			line_add(&text, &alen, &acap, s, strlen(s));
			free(one);
		}
		v = text != NULL ? text : "";
	} else
		v = text = cJSON_PrintUnformatted(it);
	if (v == NULL)
		return;
	need = log_fmt_value(v, small, sizeof(small));
	if (need < sizeof(small))
		line_add(line, len, cap, small, need);
	else {
		char *big = malloc(need + 1);
		if (big != NULL) {
			log_fmt_value(v, big, need + 1);
			line_add(line, len, cap, big, need);
			free(big);
		}
	}
	free(text);
}

static char *
render_logfmt(const cJSON *ev)
{
	char *line = NULL;
	size_t len = 0, cap = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, ev) {
		if (cJSON_IsNull(it))
			continue;
		/* cppcheck 2.10 takes cJSON_ArrayForEach to run once. */
		/* cppcheck-suppress knownConditionTrueFalse */
		if (len > 0)
			line_add(&line, &len, &cap, " ", 1);
		line_add(&line, &len, &cap, it->string, strlen(it->string));
		line_add(&line, &len, &cap, "=", 1);
		line_add_value(&line, &len, &cap, it);
	}
	return line;
}

/* Everything claudewrap puts on stderr goes through here. */
static void
emit(struct log *lg, const void *buf, size_t n)
{
	(void)io_write_all(lg->hold_fd != -1 ? lg->hold_fd : STDERR_FILENO,
	    buf, n);
}

int
log_hold(struct log *lg)
{
	if (lg->hold_fd == -1 && (lg->hold_fd = spool_open()) == -1)
		return -1;
	return 0;
}

/*
 * The end of holding, at the done line: what was held is dropped when
 * the run exits 0, else written out first, so that a failure's mail
 * reads in order. A spool that cannot be read back is lost output, so
 * it is said, not hidden.
 */
static void
hold_release(struct log *lg, int64_t exit_code)
{
	int fd = lg->hold_fd;
	off_t len;

	if (fd == -1)
		return;
	lg->hold_fd = -1;
	if (exit_code != 0 && (len = lseek(fd, 0, SEEK_END)) > 0 &&
	    io_copy(fd, 0, len, STDERR_FILENO) == -1) {
		static const char m[] = "claudewrap: held stderr lost\n";
		(void)io_write_all(STDERR_FILENO, m, sizeof(m) - 1);
	}
	(void)close(fd);
}

void
log_flatten(cJSON *ev, const char *key)
{
	cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(ev, key), *it;
	char name[64];

	if (obj == NULL)
		return;
	while ((it = obj->child) != NULL) {
		cJSON_DetachItemViaPointer(obj, it);
		snprintf(name, sizeof(name), "%s_%s", key, it->string);
		cJSON_AddItemToObject(ev, name, it);
	}
	cJSON_Delete(obj);
}

static int
syslog_priority(const cJSON *ev)
{
	const char *lv = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "level"));

	if (lv != NULL && strcmp(lv, "error") == 0)
		return LOG_ERR;
	if (lv != NULL && strcmp(lv, "warn") == 0)
		return LOG_WARNING;
	return LOG_INFO;
}

/*
 * logfmt lines carry the prefix, so that grep and the report tell them
 * from the CLI's own; JSON lines are bare objects, so that jq reads a
 * whole stderr ("event" tells them apart).
 */
static void
write_line(struct log *lg, const char *body)
{
	size_t n = strlen(body), pre = lg->format == LOGF_JSON ? 0 : 12;
	char *line = malloc(n + pre + 1);

	log_status(lg, NULL);
	if (line == NULL)
		return;
	memcpy(line, "claudewrap: ", pre);
	memcpy(line + pre, body, n);
	line[pre + n] = '\n';
	/* One write, so concurrent runs sharing a log never mix. */
	emit(lg, line, pre + n + 1);
	free(line);
}

void
log_end(struct log *lg, cJSON *ev)
{
	char *body;
	const char *event;
	bool done, drop = false;
	int64_t code;

	if (ev == NULL)
		return;
	event = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "event"));
	done = event != NULL && strcmp(event, "done") == 0;
	if (lg->quiet && !done) {
		cJSON_Delete(ev);
		return;
	}
	if (done && lg->hold_fd != -1) {
		code = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(ev,
		    "exit"));
		drop = code == 0;
		hold_release(lg, code);
	}
	body = lg->format == LOGF_JSON ? cJSON_PrintUnformatted(ev) :
	    render_logfmt(ev);
	if (body != NULL) {
		if (!drop)
			write_line(lg, body);
		if (lg->use_syslog)
			syslog(syslog_priority(ev), "%s", body);
		free(body);
	}
	if (done)
		gha_done(ev);
	cJSON_Delete(ev);
}

void
log_passthrough(struct log *lg, const void *buf, size_t n)
{
	log_status(lg, NULL);
	emit(lg, buf, n);
}

bool
log_live(const struct log *lg)
{
	return lg->tty && !lg->quiet && lg->hold_fd == -1;
}

/* "\r\033[K" erases the line; only ever written to a terminal. */
void
log_status(struct log *lg, const char *text)
{
	char line[256];
	int n;

	if (!lg->tty || lg->quiet || (text != NULL && lg->hold_fd != -1))
		return;
	if (text == NULL) {
		if (lg->status_shown)
			(void)io_write_all(STDERR_FILENO, "\r\033[K", 4);
		lg->status_shown = false;
		return;
	}
	n = snprintf(line, sizeof(line), "\r\033[Kclaudewrap: %s", text);
	if (n > 0)
		(void)io_write_all(STDERR_FILENO, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	lg->status_shown = true;
}
