/*
 * The environment the CLI runs in: ours, less what must not reach it,
 * with the run id, the CLI's retry bound and the mark that keeps a
 * nested claudewrap from finding us again.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "locate.h"
#include "run_int.h"

/* The environment of the CLI: ours, with the run id and retry bounds. */
int
run_child_env(struct run *r)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 4, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* The watchdog makes the CLI wait for hours: our clock rules. */
		if (strncmp(environ[i], "CLAUDE_CODE_RETRY_WATCHDOG=", 27) == 0 ||
		    strncmp(environ[i], "CLAUDEWRAP_RUN_ID=", 18) == 0 ||
		    /* Its password is no business of the model's tools. */
		    strncmp(environ[i], "CLAUDEWRAP_STATE_URL=", 21) == 0 ||
		    strncmp(environ[i], LOCATE_SKIP_ENV "=",
		    sizeof(LOCATE_SKIP_ENV)) == 0)
			continue;
		env[k++] = environ[i];
	}
	/* A claudewrap the CLI's tree runs must not find us again. */
	if ((r->env.own[2] = malloc(PATH_MAX)) == NULL ||
	    locate_skip_entry(r->env.own[2], PATH_MAX, false) == -1) {
		free(env);
		return -1;
	}
	env[k++] = r->env.own[2];
	if (asprintf(&r->env.own[0], "CLAUDEWRAP_RUN_ID=%s",
	    log_run_id(r->lg)) == -1) {
		r->env.own[0] = NULL;
		free(env);
		return -1;
	}
	env[k++] = r->env.own[0];
	if (getenv("CLAUDE_CODE_MAX_RETRIES") == NULL) {
		if (asprintf(&r->env.own[1], "CLAUDE_CODE_MAX_RETRIES=%lld",
		    (long long)r->o->cli_retries) == -1) {
			r->env.own[1] = NULL;
			free(env);
			return -1;
		}
		env[k++] = r->env.own[1];
	}
	env[k] = NULL;
	r->env.envp = env;
	return 0;
}
