#include "cliversion.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "io.h"
#include "spawn.h"
#include "tree.h"

/*
 * What differs between versions, one row per known difference, first
 * match wins; versions no row covers have neither quirk. Observed with
 * scripts/cli-survey.sh against tests/e2e/mock_api.py (see
 * tests/e2e/cli-observations.md, which lists the same table). The 2.0.x
 * row was observed on 2.0.77, the last of that line and the oldest we
 * support; the older 2.0.x are outside the range, and are assumed to
 * behave as it does rather than deliver "(no content)" as an answer.
 */
static const struct rule {
	const char	*from, *to;	/* inclusive */
	const char	*empty_placeholder;
	bool		 ignores_max_retries;
	bool		 ignores_settings_verbose;
} rules[] = {
	{ "2.0.0", "2.0.77", "(no content)", true, true },
};

/* The seconds `CLI --version` may take (the man page: --version waits 5 s). */
#define VERSION_WAIT_MS	5000
#define CACHE_NAME	"cli-version.cache"
#define CACHE_MAX	(64 * 1024)
#define CACHE_KEEP	16	/* other binaries remembered */

static unsigned long
part(const char **s)
{
	unsigned long n = 0;

	if (!isdigit((unsigned char)**s))
		return 0;
	while (isdigit((unsigned char)**s)) {
		if (n < ULONG_MAX / 10)
			n = n * 10 + (unsigned long)(**s - '0');
		(*s)++;
	}
	if (**s == '.')
		(*s)++;
	return n;
}

int
cliversion_cmp(const char *a, const char *b)
{
	for (int i = 0; i < 4; i++) {
		unsigned long x = part(&a), y = part(&b);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

void
cliversion_rules(struct cli_version *v, const char *version)
{
	strlcpy(v->version, version != NULL ? version : "",
	    sizeof(v->version));
	v->empty_placeholder = NULL;
	v->ignores_max_retries = false;
	v->ignores_settings_verbose = false;
	v->in_range = false;
	if (v->version[0] == '\0')
		return;
	v->in_range = cliversion_cmp(v->version, CLIV_OLDEST) >= 0 &&
	    cliversion_cmp(v->version, CLIV_NEWEST) <= 0;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (cliversion_cmp(v->version, rules[i].from) < 0 ||
		    cliversion_cmp(v->version, rules[i].to) > 0)
			continue;
		v->empty_placeholder = rules[i].empty_placeholder;
		v->ignores_max_retries = rules[i].ignores_max_retries;
		v->ignores_settings_verbose = rules[i].ignores_settings_verbose;
		return;
	}
}

/*
 * s starts with a version "N.N.N" (what `claude --version` prints before
 * " (Claude Code)", and package.json's "version"); copies it to out.
 */
static bool
take_version(const char *s, size_t n, char *out, size_t size)
{
	size_t i = 0;
	int dots = 0;

	while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.')) {
		if (s[i] == '.')
			dots++;
		i++;
	}
	if (dots < 2 || !isdigit((unsigned char)s[0]) || i >= size)
		return false;
	if (i < n && !isspace((unsigned char)s[i]) && s[i] != '-')
		return false;
	memcpy(out, s, i);
	out[i] = '\0';
	return true;
}

/*
 * Reads a small regular file whole, without following a last symlink
 * when nofollow, and without blocking on a FIFO. NULL on any failure.
 */
static char *
slurp(const char *path, bool nofollow, size_t *len)
{
	int fd = io_open_regular(path, O_RDONLY | (nofollow ? O_NOFOLLOW : 0),
	    0);
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_size < CACHE_MAX &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		while ((n = pread(fd, buf, (size_t)st.st_size, 0)) == -1 &&
		    errno == EINTR)
			;
		if (n < 0) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	close(fd);
	return buf;
}

/*
 * An npm install: the package.json of @anthropic-ai/claude-code (cli.js
 * beside it, or bin/claude.exe below it) or of its platform package
 * (the native binary beside it).
 */
static bool
from_package(const char *real, char *out, size_t size)
{
	char dir[PATH_MAX], pj[PATH_MAX + 16], *s, *slash;
	size_t len;
	bool ok = false;

	strlcpy(dir, real, sizeof(dir));
	for (int up = 0; up < 2 && !ok; up++) {
		if ((slash = strrchr(dir, '/')) == NULL)
			return false;
		*slash = '\0';
		snprintf(pj, sizeof(pj), "%s/package.json", dir);
		if ((s = slurp(pj, false, &len)) == NULL)
			continue;
		cJSON *j = cJSON_ParseWithLength(s, len);
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
		ok = cJSON_IsString(name) && cJSON_IsString(ver) &&
		    strncmp(name->valuestring, "@anthropic-ai/claude-code",
		    25) == 0 && take_version(ver->valuestring,
		    strlen(ver->valuestring), out, size);
		cJSON_Delete(j);
		free(s);
	}
	return ok;
}

/* The native installer keeps each release as versions/X.Y.Z. */
static bool
from_name(const char *real, char *out, size_t size)
{
	const char *base = strrchr(real, '/');

	base = base != NULL ? base + 1 : real;
	return take_version(base, strlen(base), out, size) &&
	    strcmp(out, base) == 0;
}

/* The cache key: one binary, as it is now. */
static void
cache_key(const char *real, const struct stat *st, char *key, size_t size)
{
	snprintf(key, size, "%llu\t%lld\t%lld.%09ld\t%s",
	    (unsigned long long)st->st_ino, (long long)st->st_size,
	    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, real);
}

/*
 * Lines "VERSION\tKEY\n"; the version of the line whose KEY matches.
 * VERSION "-": that binary was asked and named none (a wrapper script,
 * a fake): out is "", and it is not asked again on every run.
 */
static bool
cache_find(const char *file, const char *key, char *out, size_t size)
{
	size_t len, klen = strlen(key);
	char *s = slurp(file, true, &len), *line, *nl, *tab;
	bool ok = false;

	if (s == NULL)
		return false;
	for (line = s; !ok && line < s + len; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(s + len - line))) == NULL)
			break;
		if ((tab = memchr(line, '\t', (size_t)(nl - line))) == NULL)
			continue;
		if ((size_t)(nl - tab - 1) != klen ||
		    memcmp(tab + 1, key, klen) != 0)
			continue;
		if (tab - line == 1 && line[0] == '-') {
			out[0] = '\0';
			ok = true;
		} else
			ok = take_version(line, (size_t)(tab - line), out, size);
	}
	free(s);
	return ok;
}

/*
 * Adds "VERSION\tKEY" in front of the newest CACHE_KEEP other lines,
 * written to a temp file and renamed over, so a reader sees one whole
 * cache. A failure only costs an exec next time.
 */
static void
cache_store(const char *file, const char *key, const char *version)
{
	char tmp[PATH_MAX + 32], *old, *line, *nl;
	size_t len = 0, klen = strlen(key);
	int fd, kept = 0;
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld", file, (long)getpid()) >=
	    (int)sizeof(tmp))
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		return;
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return;
	}
	fprintf(fp, "%s\t%s\n", version, key);
	old = slurp(file, true, &len);
	for (line = old; old != NULL && line < old + len && kept < CACHE_KEEP;
	    line = nl + 1) {
		char *tab;

		if ((nl = memchr(line, '\n', (size_t)(old + len - line))) == NULL)
			break;
		tab = memchr(line, '\t', (size_t)(nl - line));
		if (tab == NULL || ((size_t)(nl - tab - 1) == klen &&
		    memcmp(tab + 1, key, klen) == 0))
			continue;
		fwrite(line, 1, (size_t)(nl - line + 1), fp);
		kept++;
	}
	free(old);
	if (fclose(fp) != 0 || rename(tmp, file) == -1)
		unlink(tmp);
}

/* Reads the child's stdout until EOF or the deadline; the bytes read. */
static size_t
read_bounded(int fd, char *buf, size_t size, int64_t until)
{
	size_t got = 0;
	int64_t left;

	while (got + 1 < size && (left = until - clock_mono_ms()) > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)left) <= 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((n = read(fd, buf + got, size - 1 - got)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/*
 * `path --version`, bounded: its session is killed when it takes
 * longer (a launcher waiting on something), and always reaped.
 */
static bool
from_exec(const char *path, const sigset_t *mask, char *out, size_t size,
    bool *ran)
{
	char buf[256], *argv[] = { (char *)path, "--version", NULL };
	int p[2], devnull, err;
	struct spawn_req rq;
	pid_t pid;
	size_t n;

	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return false;
	if (pipe2(p, O_CLOEXEC) == -1) {
		close(devnull);
		return false;
	}
	rq = (struct spawn_req){ .path = path, .argv = argv, .envp = environ,
	    .fd_in = devnull, .fd_out = p[1], .fd_err = devnull, .mask = mask };
	pid = spawn_cli(&rq, &err);
	close(p[1]);
	close(devnull);
	n = pid == -1 ? 0 : read_bounded(p[0], buf, sizeof(buf),
	    clock_mono_ms() + VERSION_WAIT_MS);
	close(p[0]);
	if ((*ran = pid != -1) == false)
		return false;
	/*
	 * It may still run (or hold the pipe's other end): its session goes,
	 * and whatever left it (we are a subreaper: nothing else runs yet).
	 */
	(void)tree_signal(getpid(), pid, SIGKILL, NULL, 0);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	return take_version(buf, n, out, size);
}

void
cliversion_detect(struct cli_version *v, const char *path,
    const char *state_dir, const sigset_t *child_mask)
{
	char real[PATH_MAX], key[PATH_MAX + 96], file[PATH_MAX + 32];
	char ver[32] = "";
	struct stat st;
	bool ran = false;

	v->source = "none";
	if (realpath(path, real) == NULL || stat(real, &st) == -1) {
		cliversion_rules(v, NULL);
		return;
	}
	v->source = "unknown";
	if (from_package(real, ver, sizeof(ver)))
		v->source = "package.json";
	else if (from_name(real, ver, sizeof(ver)))
		v->source = "path";
	else {
		cache_key(real, &st, key, sizeof(key));
		if (state_dir == NULL || io_path(file, sizeof(file), state_dir,
		    "/" CACHE_NAME) == -1)
			file[0] = '\0';
		if (file[0] != '\0' && cache_find(file, key, ver, sizeof(ver)))
			v->source = "cache";
		else if (from_exec(path, child_mask, ver, sizeof(ver), &ran)) {
			v->source = "exec";
			if (file[0] != '\0')
				cache_store(file, key, ver);
		} else if (!ran)
			v->source = "none";
		else if (file[0] != '\0')
			cache_store(file, key, "-");
	}
	cliversion_rules(v, ver);
}

void
cliversion_fields(cJSON *obj, const struct cli_version *v, bool start)
{
	if (v->version[0] != '\0')
		log_str(obj, "cli_version", v->version);
	if (start && v->ignores_max_retries)
		log_str(obj, "cli_max_retries", "ignored");
}

void
cliversion_warn(struct log *lg, const struct cli_version *v)
{
	char msg[160];
	cJSON *ev;

	/* A CLI that cannot even start fails its attempt with 126/127. */
	if (v->in_range || strcmp(v->source, "none") == 0)
		return;
	if (v->version[0] == '\0')
		snprintf(msg, sizeof(msg), "the CLI's version is unknown; "
		    "tested: %s to %s", CLIV_OLDEST, CLIV_NEWEST);
	else
		snprintf(msg, sizeof(msg), "CLI %s is outside the tested "
		    "range %s to %s", v->version, CLIV_OLDEST, CLIV_NEWEST);
	ev = log_begin(lg, LV_WARN, "warn");
	log_str(ev, "reason", "cli_version");
	log_str(ev, "detail", msg);
	log_end(lg, ev);
}
