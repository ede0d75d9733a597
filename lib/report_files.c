#include "report_files.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "rotate.h"

#define MAX_FILES	64

struct rfiles {
	FILE	*f[MAX_FILES];
	size_t	 n;
	size_t	 cur;
	int	 last;		/* the last byte given out, or -1 */
	bool	 seam;		/* a newline is owed before the next file */
};

static bool
is_rotated(const char *p)
{
	size_t n = strlen(p);

	return n > 2 && p[n - 2] == '.' && p[n - 1] >= '1' &&
	    p[n - 1] <= '0' + ROTATE_KEEP;
}

static int
add(struct rfiles *rf, const char *path, bool must)
{
	FILE *f;

	if (rf->n == MAX_FILES) {
		errno = E2BIG;
		return -1;
	}
	if ((f = io_fopen_read(path)) == NULL)
		return must || errno != ENOENT ? -1 : 0;
	rf->f[rf->n++] = f;
	return 0;
}

static ssize_t
rf_read(void *cookie, char *buf, size_t size)
{
	struct rfiles *rf = cookie;
	size_t got;

	while (rf->cur < rf->n) {
		if (rf->seam) {
			rf->seam = false;
			buf[0] = '\n';
			rf->last = '\n';
			return 1;
		}
		got = fread(buf, 1, size, rf->f[rf->cur]);
		if (got > 0) {
			rf->last = (unsigned char)buf[got - 1];
			return (ssize_t)got;
		}
		if (ferror(rf->f[rf->cur]))
			return -1;
		rf->seam = rf->last != -1 && rf->last != '\n';
		rf->cur++;
	}
	return 0;
}

/* rewind(3) only: the --explain questions read the ledger twice. */
static int
rf_seek(void *cookie, off64_t *off, int whence)
{
	struct rfiles *rf = cookie;

	if (*off != 0 || whence != SEEK_SET) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < rf->n; i++)
		rewind(rf->f[i]);
	rf->cur = 0;
	rf->last = -1;
	rf->seam = false;
	*off = 0;	/* the new position, as fopencookie(3) asks */
	return 0;
}

static int
rf_close(void *cookie)
{
	struct rfiles *rf = cookie;

	for (size_t i = 0; i < rf->n; i++)
		fclose(rf->f[i]);
	free(rf);
	return 0;
}

static int
add_with_rotated(struct rfiles *rf, const char *path)
{
	char name[PATH_MAX];

	if (!is_rotated(path))
		for (int k = ROTATE_KEEP; k >= 1; k--)
			if (rotate_name(path, k, name, sizeof(name)) == 0 &&
			    add(rf, name, false) == -1)
				return -1;
	return add(rf, path, true);
}

FILE *
rfiles_open(const char *const *paths, size_t n, const char **bad)
{
	cookie_io_functions_t io = { rf_read, NULL, rf_seek, rf_close };
	struct rfiles *rf = calloc(1, sizeof(*rf));
	FILE *f;
	int e;

	*bad = NULL;
	if (rf == NULL)
		return NULL;
	rf->last = -1;
	for (size_t i = 0; i < n; i++)
		if (add_with_rotated(rf, paths[i]) == -1) {
			*bad = paths[i];
			e = errno;
			rf_close(rf);
			errno = e;
			return NULL;
		}
	if ((f = fopencookie(rf, "r", io)) == NULL) {
		e = errno;
		rf_close(rf);
		errno = e;
	}
	return f;
}
