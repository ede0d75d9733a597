#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	/* O_TMPFILE: never visible, so nothing can be left behind. */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		return fd;
	if (snprintf(tmpl, sizeof(tmpl), "%s/claudewrap.XXXXXX", dir) >=
	    (int)sizeof(tmpl)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(tmpl, O_CLOEXEC)) != -1)
		(void)unlink(tmpl);
	return fd;
}
