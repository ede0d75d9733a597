/*
 * Rotation of the ledger, as logrotate would do it but from inside the
 * writer, because a cron job's ledger has no logrotate entry: past
 * --ledger-max bytes, PATH.2 becomes PATH.3 (the oldest is dropped),
 * PATH.1 becomes PATH.2 and PATH becomes PATH.1; the next append makes a
 * new PATH. claudewrap-report reads PATH.3 … PATH.1 before PATH.
 */
#ifndef CW_ROTATE_H
#define CW_ROTATE_H

#include <stddef.h>
#include <stdint.h>

#define ROTATE_KEEP	3	/* PATH.1 … PATH.3 */

/*
 * Rotates path when it is larger than max bytes (max 0: never). The
 * renames happen under an exclusive flock on PATH.lock, and the size is
 * looked at again under it, so that of many runs finding the ledger too
 * big only one rotates. A run still appending to the old file writes
 * into PATH.1, which the report reads too. 1 when rotated, 0 when not
 * needed, -1 with errno.
 */
int	rotate_ledger(const char *path, int64_t max);

/* PATH.n into buf; -1 with ENAMETOOLONG. */
int	rotate_name(const char *path, int n, char *buf, size_t size);

#endif
