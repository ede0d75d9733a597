/*
 * The CLI's error texts and the class of an error (clierror.c).
 */
#ifndef CW_CLIERROR_H
#define CW_CLIERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* Error texts are searched for keywords only this far. */
#define SCAN_BYTES	8192

/* What an error is made of, for classify(). */
struct errsig {
	int		 status;	/* HTTP status, 0 unknown */
	const char	*text;		/* the CLI's error message, or NULL */
	size_t		 len;
	bool		 rejected;	/* a rate_limit_event rejected */
	const char	*kind;		/* "error" of the assistant event */
};

/* The class of an error: the first rule that matches wins. */
enum outcome	 classify(const struct errsig *);
/*
 * Does this text (NULL: no) start with one of the CLI's own error
 * messages? A model answer could begin with the same words, so the short
 * forms must be the whole first line or be followed by its separators.
 */
bool		 cli_error_form(const char *, size_t);
/* The HTTP status an error text names (`API Error: 529 …`), or 0. */
int		 text_status(const char *, size_t);

#endif
