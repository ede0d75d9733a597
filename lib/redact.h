/*
 * Secrets out of what we log: the value of every environment variable
 * whose name ends in _KEY, _TOKEN or _SECRET or holds PASSWORD, when it
 * is 8 bytes or more, becomes [redacted] in text the CLI wrote (an
 * error that repeats the API key, say) before it reaches a log line,
 * the ledger or a heartbeat.
 */
#ifndef CW_REDACT_H
#define CW_REDACT_H

#include <stddef.h>

/* Rewrites s (a NUL-terminated string in a buffer of size) in place. */
void	redact_secrets(char *s, size_t size);

#endif
