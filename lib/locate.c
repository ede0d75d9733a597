#include "locate.h"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
	dev_t	self_dev;
	ino_t	self_ino;
	off_t	self_size;
	char	noexec[PATH_MAX];	/* the first found but not runnable */
	char	tried[1024];
};

static void
note_tried(struct seen *s, const char *p)
{
	if (s->tried[0] != '\0')
		strlcat(s->tried, ", ", sizeof(s->tried));
	strlcat(s->tried, p, sizeof(s->tried));
}

/*
 * A claudewrap that an outer claudewrap (or the masquerade's exec)
 * already passed through: CLAUDEWRAP_SKIP_INODES lists "dev:ino" of
 * each, so two installs named claude on PATH cannot find each other.
 */
static bool
in_skip_list(dev_t dev, ino_t ino, bool direct_only)
{
	const char *p = getenv(LOCATE_SKIP_ENV);
	unsigned long long d, i;
	bool direct;
	char *end;

	while (p != NULL && ((direct = *p == 'x') || (*p >= '0' && *p <= '9'))) {
		p += direct;
		errno = 0;
		d = strtoull(p, &end, 10);
		if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
			break;
		i = strtoull(end + 1, &end, 10);
		if (errno != 0)
			break;
		if ((dev_t)d == dev && (ino_t)i == ino && (direct || !direct_only))
			return true;
		if (*end != ',')
			break;
		p = end + 1;
	}
	return false;
}

static bool
skipped(dev_t dev, ino_t ino)
{
	return in_skip_list(dev, ino, false);
}

/*
 * A copy of our own binary (a second install, `cp claudewrap claude`):
 * the same size and the same bytes. Only files of our exact size are
 * read, so the real CLI is never read through.
 */
static bool
same_binary(const struct seen *s, const char *p, const struct stat *st)
{
	char a[65536], b[65536];
	int fa, fb;
	bool same = false;
	ssize_t na, nb;

	if (st->st_size != s->self_size || s->self_size == 0)
		return false;
	if ((fa = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	if ((fb = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		close(fa);
		return false;
	}
	for (;;) {
		na = read(fa, a, sizeof(a));
		nb = read(fb, b, sizeof(b));
		if (na != nb || na < 0 || memcmp(a, b, (size_t)na) != 0)
			break;
		if (na == 0) {
			same = true;
			break;
		}
	}
	close(fa);
	close(fb);
	return same;
}

/* 1: runnable CLI; 0: absent or a claudewrap; -1: there, not runnable. */
static int
candidate(struct seen *s, const char *p)
{
	struct stat st;

	if (stat(p, &st) == -1)
		return 0;
	if ((st.st_dev == s->self_dev && st.st_ino == s->self_ino) ||
	    skipped(st.st_dev, st.st_ino) || same_binary(s, p, &st))
		return 0;
	if (S_ISREG(st.st_mode) && access(p, X_OK) == 0)
		return 1;
	if (s->noexec[0] == '\0')
		strlcpy(s->noexec, p, sizeof(s->noexec));
	return -1;
}

static bool
search_path(struct seen *s, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char cand[PATH_MAX];

	if (path == NULL)
		return false;
	note_tried(s, "PATH");
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		/* An empty PATH element means the current directory. */
		int len = snprintf(cand, sizeof(cand), "%.*s/claude",
		    (int)(n ? n : 1), n ? path : ".");
		if (len > 0 && (size_t)len < sizeof(cand) &&
		    candidate(s, cand) == 1) {
			strlcpy(out, cand, size);
			return true;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

static bool
search_usual(struct seen *s, char *out, size_t size)
{
	const char *home = getenv("HOME"), *npm = getenv("NPM_CONFIG_PREFIX");
	char cand[PATH_MAX];
	const char *homerel[] = { ".local/bin/claude", ".claude/local/claude",
	    ".npm-global/bin/claude" };
	const char *fixed[] = { "/usr/local/bin/claude", "/usr/bin/claude",
	    "/opt/homebrew/bin/claude" };

	for (size_t i = 0; home != NULL && i < 3; i++) {
		snprintf(cand, sizeof(cand), "%s/%s", home, homerel[i]);
		note_tried(s, cand);
		if (candidate(s, cand) == 1)
			goto found;
	}
	if (npm != NULL) {
		snprintf(cand, sizeof(cand), "%s/bin/claude", npm);
		note_tried(s, cand);
		if (candidate(s, cand) == 1)
			goto found;
	}
	for (size_t i = 0; i < 3; i++) {
		strlcpy(cand, fixed[i], sizeof(cand));
		note_tried(s, cand);
		if (candidate(s, cand) == 1)
			goto found;
	}
	return false;
found:
	strlcpy(out, cand, size);
	return true;
}

static bool
is_script(const char *p)
{
	char head[2];
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool script;

	if (fd == -1)
		return false;
	script = read(fd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
	close(fd);
	return script;
}

/*
 * The npm package's launcher (bin/claude.exe or cli.js under
 * @anthropic-ai/claude-code) may be a `#!/usr/bin/env node` script; the
 * platform package beside it holds a native binary that needs no node,
 * which cron's PATH often lacks.
 */
static void
prefer_native(char *path, size_t size)
{
	char real[PATH_MAX], native[PATH_MAX], *pkg;
	struct utsname u;
	const char *arch;

	if (!is_script(path) || realpath(path, real) == NULL)
		return;
	if ((pkg = strstr(real, "/@anthropic-ai/claude-code/")) == NULL)
		return;
	if (uname(&u) == -1)
		return;
	arch = strcmp(u.machine, "aarch64") == 0 ? "arm64" : "x64";
	snprintf(native, sizeof(native), "%.*s/@anthropic-ai/claude-code-linux-%s"
	    "/claude", (int)(pkg - real), real, arch);
	if (access(native, X_OK) == 0)
		strlcpy(path, native, size);
}

enum locate_res
locate_cli(const char *explicit_path, char *path, size_t size, char *why,
    size_t whysize)
{
	struct seen s;
	struct stat st;
	int got = -1, err = 0;

	memset(&s, 0, sizeof(s));
	if (stat("/proc/self/exe", &st) == 0) {
		s.self_dev = st.st_dev;
		s.self_ino = st.st_ino;
		s.self_size = st.st_size;
	}
	if (explicit_path != NULL) {
		got = stat(explicit_path, &st);
		err = errno;
	}
	/* --claude naming a claudewrap (ourselves, an outer run): search. */
	if (explicit_path != NULL && got == 0 &&
	    ((st.st_dev == s.self_dev && st.st_ino == s.self_ino) ||
	    skipped(st.st_dev, st.st_ino)))
		explicit_path = NULL;
	if (explicit_path != NULL) {
		strlcpy(path, explicit_path, size);
		if (got == -1) {
			errno = err;
			snprintf(why, whysize, "--claude=%s: %s", path,
			    strerror(errno));
			/* A directory on the way we may not enter: as execve. */
			return errno == EACCES ? LOC_NOT_EXECUTABLE :
			    LOC_NOT_FOUND;
		}
		if (!S_ISREG(st.st_mode) || access(path, X_OK) == -1) {
			snprintf(why, whysize, "--claude=%s: %s", path,
			    S_ISDIR(st.st_mode) ? "is a directory" :
			    "not executable");
			return LOC_NOT_EXECUTABLE;
		}
		return LOC_OK;
	}
	if (search_path(&s, path, size) || search_usual(&s, path, size)) {
		prefer_native(path, size);
		return LOC_OK;
	}
	if (s.noexec[0] != '\0') {
		snprintf(why, whysize, "%s: not executable", s.noexec);
		return LOC_NOT_EXECUTABLE;
	}
	snprintf(why, whysize, "no claude found (tried %s)", s.tried);
	return LOC_NOT_FOUND;
}

bool
locate_looped(void)
{
	struct stat st;

	return stat("/proc/self/exe", &st) == 0 &&
	    in_skip_list(st.st_dev, st.st_ino, true);
}

int
locate_skip_entry(char *buf, size_t size, bool direct)
{
	const char *old = getenv(LOCATE_SKIP_ENV);
	struct stat st;
	int n;

	if (stat("/proc/self/exe", &st) == -1)
		return -1;
	n = snprintf(buf, size, "%s=%s%s%s%llu:%llu", LOCATE_SKIP_ENV,
	    old != NULL ? old : "", old != NULL && *old != '\0' ? "," : "",
	    direct ? "x" : "", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

const char *
locate_interpreter(const char *path, char *buf, size_t size)
{
	char line[256], *p, *end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd == -1)
		return NULL;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return NULL;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	p = line + 2 + strspn(line + 2, " \t");
	end = p + strcspn(p, " \t");
	/* `#!/usr/bin/env node`: the interpreter is env's argument. */
	if (end - p >= 4 && strncmp(end - 4, "/env", 4) == 0 && *end != '\0') {
		p = end + strspn(end, " \t");
		end = p + strcspn(p, " \t");
	}
	*end = '\0';
	if (*p == '\0')
		return NULL;
	strlcpy(buf, p, size);
	return buf;
}
