#include "output.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

#include "hash.h"

#define TEMP_RANDOM	6	/* characters, as mkstemp's XXXXXX */
#define TEMP_TRIES	100

/*
 * Opens the directory of path and puts path's last component in base.
 * Everything after works relative to that descriptor, so the temp file
 * and the rename stay in one directory even if it is renamed meanwhile.
 */
static int
open_parent(const char *path, char *base, size_t size)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;
	char dir[PATH_MAX];

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (slash == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		strlcpy(dir, "/", sizeof(dir));
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if (strlen(name) > NAME_MAX || strlcpy(base, name, size) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A trailing slash, "." or "..": the path names a directory. */
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = EISDIR;
		return -1;
	}
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * Creates `.<base>.XXXXXX` exclusively. Not mkostemp(3): open(2) with
 * 0666 applies the umask and default ACLs exactly, where mkostemp's 0600
 * would have to be widened by guessing them. base is shortened if the
 * name would pass NAME_MAX.
 */
static int
make_temp(int dirfd, const char *base, char *name, size_t size, mode_t mode)
{
	static const char chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	int keep = NAME_MAX - TEMP_RANDOM - 2;
	char rnd[TEMP_RANDOM + 1];
	int fd;

	for (int tries = 0; tries < TEMP_TRIES; tries++) {
		for (int i = 0; i < TEMP_RANDOM; i++)
			rnd[i] = chars[arc4random_uniform(sizeof(chars) - 1)];
		rnd[TEMP_RANDOM] = '\0';
		if ((size_t)snprintf(name, size, ".%.*s.%s", keep, base, rnd) >=
		    size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW | O_NOCTTY, mode);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;	/* EEXIST: someone is making names faster than us */
}

/* A regular file being replaced lends its permission bits to the new. */
static int
keep_mode(int dirfd, const char *base, int fd)
{
	struct stat st;

	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return 0;
	return fchmod(fd, st.st_mode & 0777);
}

/*
 * Size and SHA-256 of what the file holds, read back rather than counted
 * on the way in: any fill function works, and the record is of the file.
 */
static int
hash_fd(int fd, struct output_info *info)
{
	char buf[65536];
	struct hash *h;
	uint64_t total = 0;
	ssize_t r;

	if ((h = hash_new()) == NULL)
		return -1;
	while ((r = pread(fd, buf, sizeof(buf), (off_t)total)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			hash_end(h, info->sha256);
			return -1;
		}
		hash_update(h, buf, (size_t)r);
		total += (uint64_t)r;
	}
	hash_end(h, info->sha256);
	info->size = total;
	return 0;
}

/*
 * Everything between creating the temp file and closing it; info NULL
 * skips the hashing.
 */
static int
write_temp(int dirfd, const char *base, int fd, output_fill_fn *fill,
    void *ctx, struct output_info *info, bool private)
{
	if (!private && keep_mode(dirfd, base, fd) == -1)
		return -1;
	errno = 0;
	if (fill(ctx, fd) == -1) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	if (fsync(fd) == -1)
		return -1;
	return info == NULL ? 0 : hash_fd(fd, info);
}

/* Some file systems cannot fsync a directory; then there is nothing to do. */
static int
sync_dir(int dirfd)
{
	if (fsync(dirfd) == -1 && errno != EINVAL && errno != ENOTSUP)
		return -1;
	return 0;
}

int
output_check(const char *path)
{
	char base[NAME_MAX + 1];
	struct stat st;
	int dirfd, rc = 0;

	if ((dirfd = open_parent(path, base, sizeof(base))) == -1)
		return -1;
	if (fstatat(dirfd, base, &st, 0) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		rc = -1;
	} else if (faccessat(dirfd, ".", W_OK, AT_EACCESS) == -1)
		rc = -1;
	io_close_keep_errno(dirfd);
	return rc;
}

static int
commit(const char *path, output_fill_fn *fill, void *ctx,
    struct output_info *info, bool private)
{
	char base[NAME_MAX + 1], temp[NAME_MAX + 1];
	struct output_info got;
	int dirfd, fd, rc, saved;

	if (fill == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((dirfd = open_parent(path, base, sizeof(base))) == -1)
		return -1;
	if ((fd = make_temp(dirfd, base, temp, sizeof(temp),
	    private ? 0600 : 0666)) == -1) {
		io_close_keep_errno(dirfd);
		return -1;
	}
	if (write_temp(dirfd, base, fd, fill, ctx,
	    info != NULL ? &got : NULL, private) == -1) {
		io_close_keep_errno(fd);
		goto fail;
	}
	/* close(2) is where NFS reports a write it could not make. */
	if (close(fd) == -1 || renameat(dirfd, temp, dirfd, base) == -1)
		goto fail;
	rc = sync_dir(dirfd);
	io_close_keep_errno(dirfd);
	if (info != NULL)
		*info = got;
	return rc;
fail:
	saved = errno;
	(void)unlinkat(dirfd, temp, 0);
	(void)close(dirfd);
	errno = saved;
	return -1;
}

int
output_commit(const char *path, output_fill_fn *fill, void *ctx,
    struct output_info *info)
{
	return commit(path, fill, ctx, info, false);
}

int
output_commit_private(const char *path, output_fill_fn *fill, void *ctx)
{
	return commit(path, fill, ctx, NULL, true);
}
