#include "status.h"

#include <string.h>

static const struct {
	const char	*word;
	int		 code;
	bool		 transient;
} status_table[ST__COUNT] = {
	[ST_OK] =		{ "ok",			0,   false },
	[ST_EMPTY_PAYLOAD] =	{ "empty_payload",	42,  false },
	[ST_RATE_LIMITED] =	{ "rate_limited",	43,  true },
	[ST_UNAVAILABLE] =	{ "unavailable",	44,  true },
	[ST_CLAUDE_ERROR] =	{ "claude_error",	45,  false },
	[ST_AUTH] =		{ "auth",		46,  false },
	[ST_BAD_PAYLOAD] =	{ "bad_payload",	47,  false },
	[ST_EXPECTATION_FAILED] = { "expectation_failed", 48, false },
	[ST_VERIFY_FAILED] =	{ "verify_failed",	49,  false },
	[ST_OVER_LIMIT] =	{ "over_limit",		50,  false },
	[ST_LOCKED] =		{ "locked",		75,  true },
	[ST_TIMEOUT] =		{ "timeout",		124, true },
	[ST_USAGE] =		{ "usage",		125, false },
	[ST_NOT_EXECUTABLE] =	{ "not_executable",	126, false },
	[ST_NOT_FOUND] =	{ "not_found",		127, false },
	[ST_SIGNAL] =		{ "signal",		128, false },
};

static const struct {
	const char	*word;
	enum status	 status;
} outcome_table[OC__COUNT] = {
	[OC_OK] =		{ "ok",			ST_OK },
	[OC_EMPTY] =		{ "empty",		ST_EMPTY_PAYLOAD },
	[OC_RATE_LIMIT] =	{ "rate_limit",		ST_RATE_LIMITED },
	[OC_OVERLOADED] =	{ "overloaded",		ST_UNAVAILABLE },
	[OC_SERVER] =		{ "server",		ST_UNAVAILABLE },
	[OC_NETWORK] =		{ "network",		ST_UNAVAILABLE },
	[OC_AUTH] =		{ "auth",		ST_AUTH },
	[OC_ERROR] =		{ "error",		ST_CLAUDE_ERROR },
	[OC_BAD_PAYLOAD] =	{ "bad_payload",	ST_BAD_PAYLOAD },
	[OC_EXPECTATION] =	{ "expectation",	ST_EXPECTATION_FAILED },
	[OC_OVER_LIMIT] =	{ "over_limit",		ST_OVER_LIMIT },
	[OC_TIMEOUT] =		{ "timeout",		ST_TIMEOUT },
	[OC_NOT_FOUND] =	{ "not_found",		ST_NOT_FOUND },
	[OC_NOT_EXECUTABLE] =	{ "not_executable",	ST_NOT_EXECUTABLE },
	[OC_SIGNAL] =		{ "signal",		ST_SIGNAL },
	[OC_USAGE] =		{ "usage",		ST_USAGE },
};

const char *
status_word(enum status st)
{
	return status_table[st].word;
}

/* The only place an exit code is computed; 128+N is reduced here too. */
int
status_exit(enum status st, int sig)
{
	if (st == ST_SIGNAL)
		return (128 + sig) & 0xff;
	return status_table[st].code;
}

bool
status_transient(enum status st)
{
	return status_table[st].transient;
}

const char *
outcome_word(enum outcome oc)
{
	return outcome_table[oc].word;
}

enum status
outcome_status(enum outcome oc)
{
	return outcome_table[oc].status;
}

/* Looks up a class name of `len` bytes; 0 when found, -1 when not. */
int
outcome_parse(const char *name, size_t len, enum outcome *oc)
{
	for (int i = 0; i < OC__COUNT; i++) {
		if (strlen(outcome_table[i].word) == len &&
		    memcmp(outcome_table[i].word, name, len) == 0) {
			*oc = (enum outcome)i;
			return 0;
		}
	}
	return -1;
}
