/*
 * The version of the real CLI, and what is known to differ between
 * versions, as data: the tested range, and per version the placeholder
 * it prints for an empty answer and whether it honours
 * CLAUDE_CODE_MAX_RETRIES (tests/e2e/cli-observations.md, "Per-version
 * rules", documents the same table).
 */
#ifndef CW_CLIVERSION_H
#define CW_CLIVERSION_H

#include <signal.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "log.h"

/* The tested range (README, "CLI versions"); make check runs all three. */
#define CLIV_OLDEST	"2.0.77"
#define CLIV_PINNED	"2.1.332"
#define CLIV_NEWEST	"2.1.332"

struct cli_version {
	char		 version[32];	/* "2.1.332"; "" when unknown */
	/*
	 * Where it was read: "package.json", "path", "cache", "exec";
	 * "unknown" when the CLI ran and named none, "none" when it could
	 * not be run at all (no warning then: its attempt fails 126/127).
	 */
	const char	*source;
	bool		 in_range;	/* known and within OLDEST..NEWEST */
	/*
	 * The exact result text this version substitutes for an answer
	 * with no visible text, or NULL: that text is then empty (42).
	 */
	const char	*empty_placeholder;
	/* The version retries on its own whatever CLAUDE_CODE_MAX_RETRIES. */
	bool		 ignores_max_retries;
	/* "verbose": true in settings does not make its json an array. */
	bool		 ignores_settings_verbose;
};

/*
 * Compares two dotted versions numerically ("2.0.77" < "2.1.9" <
 * "2.1.10"); a missing part counts as 0, anything after the numbers
 * ("-beta") is ignored. <0, 0, >0 as strcmp.
 */
int	cliversion_cmp(const char *, const char *);
/* Fills v's rules from its version (pure: the table, no I/O). */
void	cliversion_rules(struct cli_version *v, const char *version);
/*
 * The version of the CLI at path, and its rules. Read from the
 * package.json beside the binary (npm installs), or the binary's own
 * name (the native installer's versions/X.Y.Z), else from a cache in
 * state_dir keyed by path, inode, size and mtime, else by running
 * `path --version` for at most 5 s with child_mask (then cached).
 * state_dir may be NULL (no cache). Never fails: version "" is unknown.
 */
void	cliversion_detect(struct cli_version *v, const char *path,
	    const char *state_dir, const sigset_t *child_mask);

/*
 * Adds cli_version (when known) to a log event or ledger record; on the
 * start event also cli_max_retries=ignored where the version is known to
 * retry on its own whatever CLAUDE_CODE_MAX_RETRIES says.
 */
void	cliversion_fields(cJSON *obj, const struct cli_version *v, bool start);
/* The run's one warning about a version outside the tested range. */
void	cliversion_warn(struct log *, const struct cli_version *v);

#endif
