/*
 * Atomic file delivery (--output, --heartbeat): readers of the path see
 * the old content or the new, never a part, and a failure leaves the old.
 */
#ifndef CW_OUTPUT_H
#define CW_OUTPUT_H

#include <stdint.h>

#include "hash.h"

struct output_info {
	uint64_t	size;			/* bytes now at the path */
	char		sha256[HASH_HEX_LEN];	/* of those bytes, hex */
};

/* Writes the whole content to fd (any offset, any mix of calls); 0 or -1. */
typedef int	output_fill_fn(void *ctx, int fd);

/*
 * Writes a temp file `.<base>.XXXXXX` beside path through fill, fsyncs
 * it, renames it over path and fsyncs the directory. info (if not NULL)
 * gets the size and SHA-256 of the file as written, read back before the
 * rename.
 *
 * Mode: a path that is a regular file keeps its permission bits (as `>`
 * redirection would); a new file gets 0666 less the umask, and default
 * ACLs, as open(2) applies them (the temp file is not made by mkstemp,
 * whose 0600 would have to be widened by reading the umask).
 *
 * A symlink at path is replaced by the file, as rename(2) does; its
 * target is never written. To write through a link, resolve it first.
 *
 * 0, or -1 with errno (fill's own, ENOSPC, EDQUOT, EFBIG, ENOENT for a
 * missing directory, EISDIR, …); then the temp file is gone and path is
 * as it was. The one exception: the directory fsync after the rename
 * failed (EIO), so the new content is in place but may not survive a
 * crash. A temp file survives only if the process is killed meanwhile.
 */
int	output_commit(const char *path, output_fill_fn *fill, void *ctx,
	    struct output_info *info);
/*
 * Before any token is spent: could output_commit write path? Its
 * directory exists and is writable, and path is not a directory.
 * 0, or -1 with errno.
 */
int	output_check(const char *path);
/* The same for a file of claudewrap's own (--heartbeat): always 0600. */
int	output_commit_private(const char *path, output_fill_fn *fill,
	    void *ctx);

#endif
