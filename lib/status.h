/*
 * Exit statuses and outcome classes: the interface of claudewrap.
 * One table in status.c maps each to its word and code; nothing else in
 * the program writes a literal exit code.
 */
#ifndef CW_STATUS_H
#define CW_STATUS_H

#include <stdbool.h>
#include <stddef.h>

enum status {
	ST_OK,
	ST_EMPTY_PAYLOAD,
	ST_RATE_LIMITED,
	ST_UNAVAILABLE,
	ST_CLAUDE_ERROR,
	ST_AUTH,
	ST_BAD_PAYLOAD,
	ST_EXPECTATION_FAILED,
	ST_VERIFY_FAILED,	/* --verify said no: nothing delivered */
	ST_OVER_LIMIT,
	ST_LOCKED,
	ST_TIMEOUT,
	ST_USAGE,
	ST_NOT_EXECUTABLE,
	ST_NOT_FOUND,
	ST_SIGNAL,		/* exit code is 128 + the signal number */
	ST__COUNT
};

/*
 * What one attempt came to, finer than a status: the retry policy and
 * the breaker work on these (`--retry-on` names them).
 */
enum outcome {
	OC_OK,
	OC_EMPTY,
	OC_RATE_LIMIT,
	OC_OVERLOADED,
	OC_SERVER,
	OC_NETWORK,
	OC_AUTH,
	OC_ERROR,
	OC_BAD_PAYLOAD,
	OC_EXPECTATION,
	OC_OVER_LIMIT,
	OC_TIMEOUT,
	OC_NOT_FOUND,
	OC_NOT_EXECUTABLE,
	OC_SIGNAL,
	OC_USAGE,
	OC__COUNT
};

const char	*status_word(enum status);
int		 status_exit(enum status, int sig);
bool		 status_transient(enum status);
const char	*outcome_word(enum outcome);
enum status	 outcome_status(enum outcome);
int		 outcome_parse(const char *, size_t, enum outcome *);

#endif
