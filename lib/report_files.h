/*
 * The ledger files a report reads, as one stream: each named file
 * preceded by its rotated copies, oldest first (PATH.3, PATH.2, PATH.1,
 * PATH), so that a report spans a rotation as if it had not happened.
 * A name that is itself a rotated copy (ends in .1 to .3) is read
 * alone. A file whose last line lacks its newline gets one, so that no
 * two records are glued together at a seam.
 */
#ifndef CW_REPORT_FILES_H
#define CW_REPORT_FILES_H

#include <stddef.h>
#include <stdio.h>

/*
 * The stream (fclose it), or NULL with errno, the failing name in
 * *bad: a named file must exist, a missing rotated copy is skipped.
 * Only rewind(3) seeks it.
 */
FILE	*rfiles_open(const char *const *paths, size_t n, const char **bad);

#endif
