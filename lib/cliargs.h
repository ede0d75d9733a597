/*
 * The real CLI's arguments: what the user asked for (output mode,
 * verbose, print, model, fallback), where the prompt is, and the argv
 * claudewrap runs (stream-json underneath unless passthrough).
 */
#ifndef CW_CLIARGS_H
#define CW_CLIARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "payload.h"

struct cliargs {
	enum pl_format	 user_format;	/* the mode the caller gets */
	bool		 user_verbose;
	bool		 print;		/* -p or --print was given */
	bool		 fallback;	/* --fallback-model was given */
	const char	*model;		/* --model, or NULL */
	size_t		 prompt_bytes;	/* positional arguments */
	char	       **argv;		/* for execve, NULL-terminated */
	int		 argc;
	const char	*prompt[16];	/* the positional arguments */
	int		 nprompt;
};

/*
 * Builds the argv to run path with. Unless passthrough, the user's
 * --output-format and --verbose are replaced by stream-json and verbose.
 * -1 with a message in err on a bad --output-format.
 */
int	cliargs_build(struct cliargs *, const char *path, int argc,
	    char **argv, bool passthrough, char *err, size_t errlen);
void	cliargs_free(struct cliargs *);
/* name (without its "--") is a long option of the CLI as we know it. */
bool	cliargs_known_option(const char *name, size_t len);

#endif
