/* An unlinked temporary file: stdout of an attempt, or the stdin replayed. */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H

/* In $TMPDIR (else /tmp), close-on-exec, never linked; -1 with errno. */
int	spool_open(void);

#endif
