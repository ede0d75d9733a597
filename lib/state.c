#include "state.h"

#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

int
state_dir(const char *explicit_dir, char *buf, size_t size)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (explicit_dir != NULL && *explicit_dir != '\0')
		return io_path(buf, size, explicit_dir, "");
	/* The XDG spec: a relative value is invalid and must be ignored. */
	if (xdg != NULL && xdg[0] == '/')
		return io_path(buf, size, xdg, "/claudewrap");
	/* cron may leave HOME unset; the password file still knows. */
	if ((home == NULL || *home == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL || *home == '\0') {
		errno = ENOENT;
		return -1;
	}
	return io_path(buf, size, home, "/.local/state/claudewrap");
}

int
state_make(const char *dir)
{
	return io_mkdir_p(dir);
}

int
state_trusted(const char *dir, char *why, size_t size)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		snprintf(why, size, "%s", strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, size, "owned by uid %u, not by us (uid %u)",
		    (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & 022) {
		snprintf(why, size, "writable by %s (mode %03o)",
		    st.st_mode & 002 ? "others" : "group",
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}
