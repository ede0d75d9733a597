/* SHA-256 as lowercase hex, through libmd. */
#ifndef CW_HASH_H
#define CW_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_HEX_LEN 65		/* 64 hex digits and a NUL */

struct hash;

struct hash	*hash_new(void);
void		 hash_update(struct hash *, const void *, size_t);
void		 hash_end(struct hash *, char hex[HASH_HEX_LEN]); /* frees */
/* Hashes a whole file; 0, or -1 with errno. Size in *size if not NULL. */
int		 hash_file(const char *path, char hex[HASH_HEX_LEN],
		    uint64_t *size);

#endif
