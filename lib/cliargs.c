#include "cliargs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Options of claude 2.1.x that take a value (from `claude --help`), so
 * that their values are not taken for the prompt. Variadic ones take
 * every following argument up to the next option, as commander does.
 */
static const char *const takes_value[] = {
	"--agent", "--agents", "--append-system-prompt",
	"--append-system-prompt-file", "--debug-file", "--effort",
	"--fallback-model", "--input-format", "--json-schema",
	"--max-budget-usd", "--max-turns", "--model", "-n", "--name",
	"--output-format", "--permission-mode", "--permission-prompt-tool",
	"--plugin-dir", "--plugin-url", "--remote-control-session-name-prefix",
	"--session-id", "--setting-sources", "--settings", "--system-prompt",
	"--system-prompt-file", NULL
};
static const char *const variadic[] = {
	"--add-dir", "--allowedTools", "--allowed-tools", "--betas",
	"--disallowedTools", "--disallowed-tools", "--file", "--mcp-config",
	"--tools", NULL
};

/* The others of `claude --help` 2.1.x: flags that take no value. */
static const char *const flags[] = {
	"--allow-dangerously-skip-permissions", "--ax-screen-reader",
	"--background", "--bare", "--bg", "--brief", "--chrome", "--continue",
	"--dangerously-skip-permissions", "--debug", "--disable-slash-commands",
	"--exclude-dynamic-system-prompt-sections", "--fork-session",
	"--from-pr", "--help", "--ide", "--include-hook-events",
	"--include-partial-messages", "--no-chrome", "--no-session-persistence",
	"--print", "--prompt-suggestions", "--remote-control",
	"--replay-user-messages", "--resume", "--safe-mode",
	"--strict-mcp-config", "--tmux", "--verbose", "--version",
	"--worktree", "--mcp-debug", NULL
};

static bool
in_list(const char *const *list, const char *a, size_t n)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && strncmp(*list, a, n) == 0)
			return true;
	return false;
}

bool
cliargs_known_option(const char *name, size_t len)
{
	char opt[64];

	if (len + 3 > sizeof(opt))
		return false;
	snprintf(opt, sizeof(opt), "--%.*s", (int)len, name);
	len += 2;
	return in_list(takes_value, opt, len) || in_list(variadic, opt, len) ||
	    in_list(flags, opt, len);
}

static int
set_format(struct cliargs *ca, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "text") == 0)
		ca->user_format = PL_TEXT;
	else if (strcmp(v, "json") == 0)
		ca->user_format = PL_JSON;
	else if (strcmp(v, "stream-json") == 0)
		ca->user_format = PL_STREAM;
	else {
		snprintf(err, errlen, "--output-format: bad value '%s' (want "
		    "text, json or stream-json)", v);
		return -1;
	}
	return 0;
}

/* Looks at one option (and its value); returns how many args it used. */
static int
scan_option(struct cliargs *ca, int argc, char **argv, int i,
    bool *dropped, char *err, size_t errlen)
{
	const char *a = argv[i], *eq = strchr(a, '=');
	size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
	const char *val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
	int used = 1;

	*dropped = false;
	if (strcmp(a, "-p") == 0 || strcmp(a, "--print") == 0)
		ca->print = true;
	if (strcmp(a, "--verbose") == 0) {
		ca->user_verbose = true;
		*dropped = true;
	}
	if (in_list(takes_value, a, n)) {
		if (eq == NULL && val != NULL)
			used = 2;
		if (n == 16 && strncmp(a, "--fallback-model", n) == 0)
			ca->fallback = true;
		if (n == 7 && strncmp(a, "--model", n) == 0)
			ca->model = val;
		if (n == 15 && strncmp(a, "--output-format", n) == 0) {
			if (val == NULL || set_format(ca, val, err, errlen) == -1) {
				if (val == NULL)
					snprintf(err, errlen,
					    "--output-format: missing value");
				return -1;
			}
			*dropped = true;
		}
	} else if (in_list(variadic, a, n) && eq == NULL) {
		while (i + used < argc && argv[i + used][0] != '-')
			used++;
	}
	return used;
}

int
cliargs_build(struct cliargs *ca, const char *path, int argc, char **argv,
    bool passthrough, char *err, size_t errlen)
{
	bool options_done = false;
	int k = 0;

	memset(ca, 0, sizeof(*ca));
	ca->user_format = PL_TEXT;
	/* path, the arguments, 3 added, NULL. */
	if ((ca->argv = calloc((size_t)argc + 5, sizeof(char *))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ca->argv[k++] = (char *)path;
	/* In front: after a `--` in the user's arguments they would be text. */
	if (!passthrough) {
		ca->argv[k++] = "--output-format";
		ca->argv[k++] = "stream-json";
		ca->argv[k++] = "--verbose";
	}
	for (int i = 0; i < argc;) {
		bool drop = false;
		int used = 1;

		if (!options_done && strcmp(argv[i], "--") == 0)
			options_done = true;
		else if (!options_done && argv[i][0] == '-' && argv[i][1] != '\0') {
			if ((used = scan_option(ca, argc, argv, i, &drop, err,
			    errlen)) == -1)
				return -1;
		} else {
			ca->prompt_bytes += strlen(argv[i]);
			if (ca->nprompt < 16)
				ca->prompt[ca->nprompt++] = argv[i];
		}
		for (int j = 0; j < used; j++, i++)
			if (!drop || passthrough)
				ca->argv[k++] = argv[i];
	}
	ca->argv[k] = NULL;
	ca->argc = k;
	return 0;
}

void
cliargs_free(struct cliargs *ca)
{
	free(ca->argv);
	ca->argv = NULL;
}
