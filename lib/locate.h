/*
 * Finding the real CLI: --claude, then PATH without claudewrap itself
 * (compared by device and inode, so a symlink named claude cannot loop),
 * then the usual install places, because cron's PATH is minimal.
 */
#ifndef CW_LOCATE_H
#define CW_LOCATE_H

#include <stdbool.h>
#include <stddef.h>

enum locate_res { LOC_OK, LOC_NOT_FOUND, LOC_NOT_EXECUTABLE };

/*
 * Fills path with the CLI to run. On failure, why holds one line naming
 * the paths tried. An npm launcher script is swapped for the native
 * binary beside it when there is one (it needs no node on PATH).
 */
enum locate_res	locate_cli(const char *explicit_path, char *path,
		    size_t size, char *why, size_t whysize);
/*
 * Every claudewrap a nested one must skip, ourselves added:
 * "CLAUDEWRAP_SKIP_INODES=dev:ino,…" for the environment of what we run;
 * "xdev:ino" (direct) when we exec it in our place, not supervise it.
 */
#define LOCATE_SKIP_ENV	"CLAUDEWRAP_SKIP_INODES"
int		 locate_skip_entry(char *buf, size_t size, bool direct);
/*
 * We exec'd onward once already, and it came back to us: the `claude`
 * found is a wrapper (a script named claude that runs claudewrap).
 * Going on would exec in a circle for ever. (A claudewrap run by the
 * CLI we supervise finds us in the list too, but without the "x".)
 */
bool		 locate_looped(void);
/* The interpreter a script names in its #! line ("node"), or NULL. */
const char	*locate_interpreter(const char *path, char *buf, size_t size);

#endif
