/* Sizes on the command line: N[K|M|G|T], binary multiples, decimals allowed. */
#ifndef CW_SIZE_H
#define CW_SIZE_H

#include <stdint.h>

#define SIZE_MAX_BYTES	(INT64_C(1) << 50)	/* 1 PiB */

/*
 * Parses s into bytes. A bare number is bytes; the suffixes K, M, G and
 * T (either case, "512M", "2G"; a trailing "B" or "iB" allowed) are
 * powers of 1024; 0 means off. 0 on success, -1 on a malformed or too
 * large value.
 */
int	size_parse(const char *s, int64_t *bytes);

#endif
