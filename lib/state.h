/*
 * The state dir, where the ledger, the cooldown, the locks and the CLI
 * version cache live: where it is, making it, and whether it can be
 * trusted.
 */
#ifndef CW_STATE_H
#define CW_STATE_H

#include <stddef.h>

/*
 * The state dir: explicit if not NULL (--state-dir), else
 * $XDG_STATE_HOME/claudewrap (when absolute, as the XDG spec asks), else
 * ~/.local/state/claudewrap. 0, or -1 with errno (ENAMETOOLONG, ENOENT
 * when there is no home directory).
 */
int	state_dir(const char *explicit_dir, char *buf, size_t size);
/* Makes dir and its missing parents, mode 0700; 0, or -1 with errno. */
int	state_make(const char *dir);
/*
 * A state dir that others could write to, or that is not ours, is not
 * used (ssh's StrictModes): 0 when it is safe, -1 with why filled in.
 */
int	state_trusted(const char *dir, char *why, size_t size);

#endif
