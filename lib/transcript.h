/*
 * --transcript: every stream event of a run, one JSONL line each,
 * {"attempt":N,"ts":"…","event":<the event's bytes as received>}.
 * Memory stays flat however long the stream: lines go through one fixed
 * buffer, and an event is held only while it is being written.
 */
#ifndef CW_TRANSCRIPT_H
#define CW_TRANSCRIPT_H

#include <stddef.h>
#include <sys/types.h>

struct transcript;

/*
 * If path is a directory (symlinks to one included), the file is
 * path/<run>.jsonl (run must then be a plain file name, else EINVAL);
 * otherwise path itself. The file is opened O_APPEND|O_NOFOLLOW and
 * created 0600: a path reused across runs collects them all, a symlink
 * at it is ELOOP, a non-regular file EINVAL. An existing file keeps its
 * mode. NULL with errno.
 */
struct transcript	*transcript_open(const char *path, const char *run);
/*
 * Appends one event line (a JSON object, as the caller read it; one
 * trailing newline is dropped, len 0 is skipped, an embedded newline or
 * NUL is EINVAL). Lines are buffered and written whole, so on a file
 * shared with other runs they do not interleave. 0, or -1 with errno if
 * a write (of this line or of buffered ones) failed during the call;
 * later events are still tried, and transcript_close reports the failure
 * too.
 */
int			 transcript_event(struct transcript *, int attempt,
			    const char *line, size_t len);
/*
 * An event of size bytes at off in fd (claudewrap's stdout spool), for
 * lines too long to be held: copied in, never read whole. 0 or -1.
 */
int			 transcript_event_spool(struct transcript *, int attempt,
			    int fd, off_t off, size_t size);
/* Writes out what is buffered (before a long wait, say); 0 or -1. */
int			 transcript_flush(struct transcript *);
/*
 * Flushes, fsyncs, closes and frees (NULL is a no-op). -1 with the errno
 * of the first failure if any write since open failed (ENOSPC, …).
 */
int			 transcript_close(struct transcript *);
/* The file being written, for the caller's log. */
const char		*transcript_path(const struct transcript *);

#endif
