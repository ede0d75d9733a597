#include "txn.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "spawn.h"
#include "spool.h"

/*
 * One git command may take this long. A snapshot of a very large tree
 * hashes every file it has not seen, so the bound is generous; it is
 * there so that a git stuck on a lock or a network file system cannot
 * hold the run for ever.
 */
#define GIT_LIMIT_MS	(120 * 1000)
#define GIT_MAX_ARGS	24
#define OID_LEN		65	/* a SHA-256 object name, and its NUL */
#define MODE_GITLINK	"160000"
#define OWN_FILES	2	/* our stdout and stderr */

struct txn {
	char		 git[PATH_MAX];
	char		 top[PATH_MAX];		/* the work tree's root */
	char		 user_index[PATH_MAX];
	char		 dir[PATH_MAX];		/* our temporary directory */
	char		 snap_index[PATH_MAX];
	char		 work_index[PATH_MAX];
	char		 env_index[PATH_MAX + 16];
	char		 ref[128];
	char		 run_id[64];
	char		 snap_tree[OID_LEN];
	char		 snap_commit[OID_LEN];
	char		 after_commit[OID_LEN];	/* the tree a failure left */
	const sigset_t	*mask;
	char		 own[OWN_FILES][PATH_MAX];	/* relative to top, or "" */
	int		 files_changed;
	int64_t		 snap_ms, restore_ms;
};

/* The first executable `git` on PATH: we exec it without a shell. */
static int
find_git(char *out, size_t size)
{
	const char *path = getenv("PATH");
	char *copy, *p, *dir;
	struct stat st;
	int rc = -1;

	if (path == NULL || *path == '\0')
		path = "/usr/bin:/bin";
	if ((copy = strdup(path)) == NULL)
		return -1;
	for (p = copy; (dir = strsep(&p, ":")) != NULL;) {
		if (snprintf(out, size, "%s/git", *dir ? dir : ".") >= (int)size)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0) {
			rc = 0;
			break;
		}
	}
	free(copy);
	return rc;
}

/*
 * git's environment: ours, with our private index (the user's
 * GIT_INDEX_FILE is theirs, never ours to write), no prompts, no
 * optional locks, an identity for the snapshot commits, which are
 * claudewrap's and must not fail for want of user.name in CI, and an
 * allocator that keeps what it got.
 */
static char **
git_env(struct txn *t, const char *index)
{
	static char *const fixed[] = { "GIT_OPTIONAL_LOCKS=0",
	    "GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=claudewrap",
	    "GIT_AUTHOR_EMAIL=claudewrap@localhost",
	    "GIT_COMMITTER_NAME=claudewrap",
	    "GIT_COMMITTER_EMAIL=claudewrap@localhost",
	    /*
	     * glibc gives memory back at each large free: `add -A` of
	     * 10,000 new files made 40,000 brk calls, 0.84 s, and 0.32 s
	     * with these (BENCHMARKS.md, (e)).
	     */
	    "MALLOC_TOP_PAD_=67108864", "MALLOC_TRIM_THRESHOLD_=134217728" };
	size_t n = 0, k = 0, nf = sizeof(fixed) / sizeof(fixed[0]);
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + nf + 2, sizeof(char *))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool skip = index != NULL &&
		    strncmp(environ[i], "GIT_INDEX_FILE=", 15) == 0;
		for (size_t j = 0; j < nf && !skip; j++)
			skip = strncmp(environ[i], fixed[j],
			    strcspn(fixed[j], "=") + 1) == 0;
		if (!skip)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < nf; j++)
		env[k++] = fixed[j];
	if (index != NULL) {
		snprintf(t->env_index, sizeof(t->env_index), "GIT_INDEX_FILE=%s",
		    index);
		env[k++] = t->env_index;
	}
	env[k] = NULL;
	return env;
}

/* Waits for pid at most ms; then kills its group (it has its own). */
static int
wait_git(pid_t pid, int64_t ms, int *status)
{
	int64_t end = clock_mono_ms() + ms;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0), pause = 1;
	pid_t p;

	for (;;) {
		int64_t left = end - clock_mono_ms();

		if ((p = waitpid(pid, status, WNOHANG)) == pid ||
		    (p == -1 && errno != EINTR))
			break;
		if (left <= 0) {
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) == -1 && errno == EINTR)
				;
			if (pfd != -1)
				close(pfd);
			errno = ETIMEDOUT;
			return -1;
		}
		if (pfd != -1) {
			struct pollfd x = { .fd = pfd, .events = POLLIN };
			(void)poll(&x, 1, (int)(left > 1000 ? 1000 : left));
		} else {
			/* No pidfd (Linux before 5.3): short naps. */
			(void)poll(NULL, 0, pause);
			pause = pause < 32 ? pause * 2 : 32;
		}
	}
	if (pfd != -1)
		close(pfd);
	return p == pid ? 0 : -1;
}

/* The start of what git said on stderr, on one line, into err. */
static void
git_error(int fd, char *err, size_t errlen, const char *what, int status)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	size_t len = strlen(err);

	snprintf(err + len, errlen - len, "git %s: %s", what,
	    WIFEXITED(status) ? "" : "killed");
	if (WIFEXITED(status)) {
		len = strlen(err);
		snprintf(err + len, errlen - len, "exit %d", WEXITSTATUS(status));
	}
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *c = buf; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	len = strlen(err);
	snprintf(err + len, errlen - len, ": %s", buf);
}

/* Reads the whole of fd (a spool) into a NUL-terminated buffer. */
static char *
slurp(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) == -1 || (buf = malloc((size_t)st.st_size + 1)) ==
	    NULL)
		return NULL;
	n = st.st_size > 0 ? pread(fd, buf, (size_t)st.st_size, 0) : 0;
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* The git command of args, for messages: past any "-c NAME=VALUE". */
static const char *
cmd_name(const char *const *args)
{
	while (args[0] != NULL && strcmp(args[0], "-c") == 0 && args[1] != NULL)
		args += 2;
	return args[0] != NULL ? args[0] : "";
}

/*
 * Runs git (execv, no shell) in the work tree with the args given, the
 * private index `index` (NULL: the user's environment as it is), stdin
 * from in_fd (-1: /dev/null); its stdout into *out when out is not
 * NULL, or left in a spool for the caller when out_fd is not. 0, or -1
 * with what git said in err.
 */
static int
git_run(struct txn *t, const char *index, int in_fd, char **out,
    size_t *outlen, int *out_fd, char *err, size_t errlen,
    const char *const *args)
{
	const char *argv[GIT_MAX_ARGS + 12];
	int k = 0, fo = -1, fe = -1, fi = in_fd, status = 0, e, rc = -1;
	struct spawn_req rq;
	char **env;
	const char *what = cmd_name(args);
	pid_t pid;

	err[0] = '\0';
	argv[k++] = "git";
	if (t->top[0] != '\0') {
		argv[k++] = "-C";
		argv[k++] = t->top;
	}
	/* No daemon left behind, no index format of the user's changed. */
	argv[k++] = "-c";
	argv[k++] = "core.fsmonitor=false";
	argv[k++] = "-c";
	argv[k++] = "core.splitIndex=false";
	argv[k++] = "-c";
	argv[k++] = "gc.auto=0";
	for (int i = 0; i < GIT_MAX_ARGS && args[i] != NULL; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	if ((env = git_env(t, index)) == NULL ||
	    (fo = spool_open()) == -1 || (fe = spool_open()) == -1 ||
	    (fi == -1 && (fi = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)) {
		snprintf(err, errlen, "git %s: %s", what, strerror(errno));
		goto out;
	}
	if (in_fd != -1)
		(void)lseek(in_fd, 0, SEEK_SET);
	rq = (struct spawn_req){ .path = t->git, .argv = (char *const *)argv,
	    .envp = env, .fd_in = fi, .fd_out = fo, .fd_err = fe,
	    .mask = t->mask };
	if ((pid = spawn_cli(&rq, &e)) == -1) {
		snprintf(err, errlen, "git %s: %s: %s", what, t->git,
		    strerror(e));
		goto out;
	}
	if (wait_git(pid, GIT_LIMIT_MS, &status) == -1) {
		snprintf(err, errlen, "git %s: %s", what, errno == ETIMEDOUT ?
		    "no end in 120 s, killed" : strerror(errno));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		git_error(fe, err, errlen, what, status);
		goto out;
	}
	if (out != NULL && (*out = slurp(fo, outlen)) == NULL) {
		snprintf(err, errlen, "git %s: output: %s", what,
		    strerror(errno));
		goto out;
	}
	rc = 0;
	if (out_fd != NULL) {
		*out_fd = fo;
		fo = -1;
	}
out:
	free(env);
	if (fo != -1)
		close(fo);
	if (fe != -1)
		close(fe);
	if (fi != -1 && fi != in_fd)
		close(fi);
	return rc;
}

/* git's one-line answer (an object name, a path), without its newline. */
static int
git_line(struct txn *t, const char *index, char *line, size_t size,
    char *err, size_t errlen, const char *const *args)
{
	char *out;
	size_t len;

	if (git_run(t, index, -1, &out, &len, NULL, err, errlen, args) == -1)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	if (out[0] == '\0' || strlcpy(line, out, size) >= size) {
		snprintf(err, errlen, "git %s: unexpected answer",
		    cmd_name(args));
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/*
 * claudewrap's own stdout and stderr, when they are files in the work
 * tree (`2>>log` in the repository): a restore must not put back an
 * older log, nor delete a new one, and they are not the model's edits.
 */
static void
note_own_files(struct txn *t)
{
	char link[64], path[PATH_MAX];
	size_t n = strlen(t->top);
	struct stat st;
	ssize_t len;

	for (int fd = 1; fd <= OWN_FILES; fd++) {
		t->own[fd - 1][0] = '\0';
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    (len = readlink(link, path, sizeof(path) - 1)) <= 0)
			continue;
		path[len] = '\0';
		if (strncmp(path, t->top, n) == 0 && path[n] == '/')
			strlcpy(t->own[fd - 1], path + n + 1, sizeof(t->own[0]));
	}
}

static bool
own_file(const struct txn *t, const char *path)
{
	for (int i = 0; i < OWN_FILES; i++)
		if (t->own[i][0] != '\0' && strcmp(t->own[i], path) == 0)
			return true;
	return false;
}

struct txn *
txn_open(const char *run_id, const sigset_t *mask, char *err, size_t errlen)
{
	struct txn *t = calloc(1, sizeof(*t));
	const char *top[] = { "rev-parse", "--show-toplevel", NULL };
	const char *idx[] = { "rev-parse", "--git-path", "index", NULL };
	char rel[PATH_MAX];

	if (t == NULL) {
		snprintf(err, errlen, "--rollback: %s", strerror(errno));
		return NULL;
	}
	t->mask = mask;
	strlcpy(t->run_id, run_id, sizeof(t->run_id));
	snprintf(t->ref, sizeof(t->ref), "refs/claudewrap/%s", run_id);
	if (find_git(t->git, sizeof(t->git)) == -1) {
		snprintf(err, errlen, "--rollback: git not found on PATH");
		free(t);
		return NULL;
	}
	if (git_line(t, NULL, t->top, sizeof(t->top), err, errlen, top) == -1) {
		char why[400];
		strlcpy(why, err, sizeof(why));
		snprintf(err, errlen, "--rollback: not in a git work tree (%s)",
		    why);
		free(t);
		return NULL;
	}
	/* The user's index (GIT_INDEX_FILE honoured), relative to top. */
	if (git_line(t, NULL, rel, sizeof(rel), err, errlen, idx) == -1 ||
	    (rel[0] == '/' ? strlcpy(t->user_index, rel,
	    sizeof(t->user_index)) >= sizeof(t->user_index) :
	    snprintf(t->user_index, sizeof(t->user_index), "%s/%s", t->top,
	    rel) >= (int)sizeof(t->user_index))) {
		free(t);
		return NULL;
	}
	note_own_files(t);
	return t;
}

/* src to dst, whole; a missing src is an empty index (a new repository). */
static int
copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in, o, rc = 0;
	ssize_t n;

	if ((o = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		close(o);
		if (errno != ENOENT)
			return -1;
		return unlink(dst);
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || io_write_all(o, buf, (size_t)n) == -1) {
			rc = -1;
			break;
		}
	}
	io_close_keep_errno(in);
	if (close(o) == -1)
		rc = -1;
	return rc;
}

/*
 * Every file of the work tree that is not ignored, into index, and
 * the tree object of it. index starts as a copy of one that knows the
 * files' stat data, so that git hashes only what changed since.
 */
static int
tree_of(struct txn *t, const char *index, char *tree, char *err,
    size_t errlen)
{
	/*
	 * Every file through the bulk check-in, into one pack, not one
	 * loose object file each: 10,000 new files take 5 s as loose
	 * objects, under 1 s as a pack (BENCHMARKS.md, (e)). The
	 * threshold means nothing else to add.
	 */
	const char *add[] = { "-c", "core.bigFileThreshold=1", "add", "-A",
	    NULL };
	const char *write[] = { "write-tree", NULL };

	if (git_run(t, index, -1, NULL, NULL, NULL, err, errlen, add) == -1)
		return -1;
	return git_line(t, index, tree, OID_LEN, err, errlen, write);
}

static int
commit_of(struct txn *t, const char *tree, const char *parent,
    const char *msg, char *commit, char *err, size_t errlen)
{
	const char *ct[] = { "commit-tree", tree, "-m", msg, parent ? "-p" :
	    NULL, parent, NULL };

	return git_line(t, NULL, commit, OID_LEN, err, errlen, ct);
}

int
txn_snapshot(struct txn *t, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	const char *head[] = { "rev-parse", "--verify", "-q", "HEAD^{commit}",
	    NULL };
	const char *upd[] = { "update-ref", t->ref, t->snap_commit, NULL };
	char parent[OID_LEN], msg[160], e2[8];
	int64_t t0 = clock_mono_ms();

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(t->dir, sizeof(t->dir), "%s/claudewrap-txn.XXXXXX", dir);
	if (mkdtemp(t->dir) == NULL) {
		snprintf(err, errlen, "--rollback: %s: %s", t->dir,
		    strerror(errno));
		t->dir[0] = '\0';
		return -1;
	}
	if (io_path(t->snap_index, sizeof(t->snap_index), t->dir,
	    "/snap.index") == -1 || io_path(t->work_index,
	    sizeof(t->work_index), t->dir, "/work.index") == -1) {
		snprintf(err, errlen, "--rollback: %s: %s", t->dir,
		    strerror(errno));
		return -1;
	}
	/*
	 * A copy of the user's index rather than `read-tree HEAD`: its stat
	 * data spares hashing every unchanged file again, and its staged
	 * entries are overwritten by `add -A` with what the tree holds.
	 */
	if (copy_file(t->user_index, t->snap_index) == -1) {
		snprintf(err, errlen, "--rollback: %s: %s", t->user_index,
		    strerror(errno));
		return -1;
	}
	if (tree_of(t, t->snap_index, t->snap_tree, err, errlen) == -1)
		return -1;
	snprintf(msg, sizeof(msg), "claudewrap %s: the tree before the run",
	    t->run_id);
	/* An unborn HEAD has no commit: the snapshot is then a root. */
	if (git_line(t, NULL, parent, sizeof(parent), e2, sizeof(e2), head) ==
	    -1)
		parent[0] = '\0';
	if (commit_of(t, t->snap_tree, parent[0] ? parent : NULL, msg,
	    t->snap_commit, err, errlen) == -1 ||
	    git_run(t, NULL, -1, NULL, NULL, NULL, err, errlen, upd) == -1)
		return -1;
	t->snap_ms = clock_mono_ms() - t0;
	return 0;
}

struct change {
	char	 status;	/* A, M, D, T */
	bool	 gitlink;	/* a nested repository: left alone */
	bool	 in_place;	/* a regular file whose content alone changed */
	char	 oid[OID_LEN];	/* the snapshot's blob */
	char	*path;
};

/*
 * Parses `diff-tree -r -z --no-renames` raw output in place:
 * ":OLDMODE NEWMODE OLD NEW S\0PATH\0" per file. The number of
 * changes, or -1 on output we do not understand.
 */
static int
parse_raw(char *buf, size_t len, struct change **out)
{
	size_t cap = 0, i = 0;
	int n = 0;
	struct change *c = NULL, *nc;

	while (i < len) {
		char *rec = buf + i, *path, *sp;
		char om[8] = "", nm[8] = "", oid[OID_LEN] = "";

		if (rec[0] != ':' || (path = memchr(rec, '\0', len - i)) == NULL)
			goto bad;
		path++;
		if ((size_t)(path - buf) >= len)
			goto bad;
		sscanf(rec + 1, "%7s %7s %64s", om, nm, oid);
		if ((sp = strrchr(rec, ' ')) == NULL)
			goto bad;
		if ((size_t)n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nc = realloc(c, cap * sizeof(*c))) == NULL)
				goto bad;
			c = nc;
		}
		c[n].status = sp[1];
		c[n].gitlink = strcmp(om, MODE_GITLINK) == 0 ||
		    strcmp(nm, MODE_GITLINK) == 0;
		c[n].in_place = sp[1] == 'M' && strcmp(om, nm) == 0 &&
		    (strcmp(om, "100644") == 0 || strcmp(om, "100755") == 0);
		strlcpy(c[n].oid, oid, sizeof(c[n].oid));
		c[n].path = path;
		n++;
		i = (size_t)(path - buf) + strlen(path) + 1;
	}
	*out = c;
	return n;
bad:
	free(c);
	return -1;
}

/* The files that differ between the snapshot and the tree now. */
static int
changes(struct txn *t, char **buf, struct change **c, char *tree,
    char *err, size_t errlen)
{
	const char *diff[] = { "diff-tree", "-r", "-z", "--no-renames",
	    t->snap_tree, tree, NULL };
	size_t len;
	int n;

	*buf = NULL;
	*c = NULL;
	if (copy_file(t->snap_index, t->work_index) == -1) {
		snprintf(err, errlen, "--rollback: %s: %s", t->work_index,
		    strerror(errno));
		return -1;
	}
	if (tree_of(t, t->work_index, tree, err, errlen) == -1)
		return -1;
	if (strcmp(tree, t->snap_tree) == 0)
		return 0;
	if (git_run(t, NULL, -1, buf, &len, NULL, err, errlen, diff) == -1)
		return -1;
	if ((n = parse_raw(*buf, len, c)) == -1) {
		snprintf(err, errlen, "git diff-tree: output not understood");
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (own_file(t, (*c)[i].path))
			(*c)[i--] = (*c)[--n];
	return n;
}

/* path removed, then its directories while they are empty, up to top. */
static int
remove_created(const struct txn *t, const char *path)
{
	char full[PATH_MAX], *slash;

	if (snprintf(full, sizeof(full), "%s/%s", t->top, path) >=
	    (int)sizeof(full)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(full) == -1 && errno != ENOENT)
		return -1;
	while ((slash = strrchr(full, '/')) != NULL &&
	    (size_t)(slash - full) > strlen(t->top)) {
		*slash = '\0';
		if (rmdir(full) == -1)
			break;
	}
	return 0;
}

/* Writes size bytes at off of the spool fd over the file at path. */
static int
overwrite(const struct txn *t, const char *path, int fd, off_t off,
    off_t size)
{
	char full[PATH_MAX];
	int o;

	if (snprintf(full, sizeof(full), "%s/%s", t->top, path) >=
	    (int)sizeof(full)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((o = open(full, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (io_copy(fd, off, size, o) == -1) {
		io_close_keep_errno(o);
		return -1;
	}
	return close(o);
}

/*
 * A regular file whose content alone changed is written over where it
 * is, from `git cat-file --batch`: creating a file costs this disk four
 * times what rewriting one does, and checkout-index unlinks and creates
 * every file it writes (BENCHMARKS.md, (e)). Its inode is kept, as an
 * editor that has it open expects. One that cannot be opened so (it
 * became a link, a FIFO) is left to checkout-index.
 */
/*
 * The size from a `git cat-file --batch` header, "SHA blob SIZE" ending
 * at nl; -1 when it is not a blob's or not a size.
 */
static long long
blob_size(const char *head, const char *nl)
{
	const char *p = strchr(head, ' ');
	char *end;
	long long size;

	if (p == NULL || p > nl || strncmp(p, " blob ", 6) != 0)
		return -1;
	errno = 0;
	size = strtoll(p + 6, &end, 10);
	return errno != 0 || end != nl || end == p + 6 || size < 0 ? -1 : size;
}

static int
rewrite_in_place(struct txn *t, struct change *c, int n, char *err,
    size_t errlen)
{
	const char *cat[] = { "cat-file", "--batch", NULL };
	int in = spool_open(), out = -1, rc = -1, any = 0;
	off_t off = 0;

	if (in == -1) {
		snprintf(err, errlen, "--rollback: spool: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (!c[i].in_place)
			continue;
		any = 1;
		if (io_write_all(in, c[i].oid, strlen(c[i].oid)) == -1 ||
		    io_write_all(in, "\n", 1) == -1) {
			snprintf(err, errlen, "--rollback: spool: %s",
			    strerror(errno));
			goto out;
		}
	}
	if (!any || git_run(t, NULL, in, NULL, NULL, &out, err, errlen,
	    cat) == -1) {
		rc = any ? -1 : 0;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char head[160];
		long long size;
		ssize_t h;
		char *nl;

		if (!c[i].in_place)
			continue;
		if ((h = pread(out, head, sizeof(head) - 1, off)) <= 0 ||
		    (head[h] = '\0', nl = strchr(head, '\n')) == NULL ||
		    (size = blob_size(head, nl)) < 0) {
			snprintf(err, errlen, "git cat-file: no blob for %s",
			    c[i].path);
			goto out;
		}
		off += nl - head + 1;
		if (overwrite(t, c[i].path, out, off, (off_t)size) == -1) {
			if (errno != ELOOP && errno != ENXIO && errno != EISDIR) {
				snprintf(err, errlen, "--rollback: %s: %s",
				    c[i].path, strerror(errno));
				goto out;
			}
			c[i].in_place = false;
		}
		off += (off_t)size + 1;
	}
	rc = 0;
out:
	close(in);
	if (out != -1)
		close(out);
	return rc;
}

/* Writes the snapshot's version of every changed or deleted file. */
static int
put_back(struct txn *t, struct change *c, int n, char *err, size_t errlen)
{
	const char *co[] = { "checkout-index", "-f", "-u", "-z", "--stdin",
	    NULL };
	int fd, any = 0, rc;

	if (rewrite_in_place(t, c, n, err, errlen) == -1)
		return -1;
	if ((fd = spool_open()) == -1) {
		snprintf(err, errlen, "--rollback: spool: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (c[i].status == 'A' || c[i].gitlink || c[i].in_place)
			continue;
		if (io_write_all(fd, c[i].path, strlen(c[i].path) + 1) == -1) {
			snprintf(err, errlen, "--rollback: spool: %s",
			    strerror(errno));
			close(fd);
			return -1;
		}
		any = 1;
	}
	rc = any ? git_run(t, t->snap_index, fd, NULL, NULL, NULL, err, errlen,
	    co) : 0;
	close(fd);
	return rc;
}

int
txn_restore(struct txn *t, char *err, size_t errlen)
{
	char tree[OID_LEN], *buf, msg[160];
	struct change *c;
	int64_t t0 = clock_mono_ms();
	int n, rc = -1;

	if ((n = changes(t, &buf, &c, tree, err, errlen)) == -1)
		goto out;
	t->files_changed = n;
	snprintf(msg, sizeof(msg), "claudewrap %s: the tree a failed attempt "
	    "left", t->run_id);
	if (commit_of(t, tree, t->snap_commit, msg, t->after_commit, err,
	    errlen) == -1)
		goto out;
	/* Created files first: one may stand where a deleted directory was. */
	for (int i = 0; i < n; i++)
		if (c[i].status == 'A' && !c[i].gitlink &&
		    remove_created(t, c[i].path) == -1) {
			snprintf(err, errlen, "--rollback: %s: %s", c[i].path,
			    strerror(errno));
			goto out;
		}
	if (put_back(t, c, n, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	free(c);
	free(buf);
	t->restore_ms = clock_mono_ms() - t0;
	return rc;
}

int
txn_count(struct txn *t, char *err, size_t errlen)
{
	char tree[OID_LEN], *buf;
	struct change *c;
	int n = changes(t, &buf, &c, tree, err, errlen);

	free(c);
	free(buf);
	if (n == -1)
		return -1;
	t->files_changed = n;
	t->after_commit[0] = '\0';
	return 0;
}

int
txn_close(struct txn *t, int keep, char *err, size_t errlen)
{
	const char *del[] = { "update-ref", "-d", t->ref, NULL };
	const char *upd[] = { "update-ref", t->ref, t->after_commit, NULL };
	int rc = 0;

	err[0] = '\0';
	if (t->snap_commit[0] != '\0') {
		if (!keep)
			rc = git_run(t, NULL, -1, NULL, NULL, NULL, err, errlen, del);
		else if (t->after_commit[0] != '\0')
			rc = git_run(t, NULL, -1, NULL, NULL, NULL, err, errlen, upd);
	}
	if (t->dir[0] != '\0') {
		(void)unlink(t->snap_index);
		(void)unlink(t->work_index);
		(void)rmdir(t->dir);
		t->dir[0] = '\0';
	}
	return rc;
}

void
txn_free(struct txn *t)
{
	free(t);
}

int
txn_files_changed(const struct txn *t)
{
	return t->files_changed;
}

const char *
txn_ref(const struct txn *t)
{
	return t->ref;
}

int64_t
txn_snapshot_ms(const struct txn *t)
{
	return t->snap_ms;
}

int64_t
txn_restore_ms(const struct txn *t)
{
	return t->restore_ms;
}
