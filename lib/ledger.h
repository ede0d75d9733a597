/*
 * The ledger: ledger.jsonl in the state dir, one JSON object per line,
 * two records per run ("start" before the first attempt, "done" after
 * delivery). Appends are one write(2) on an O_APPEND descriptor, so
 * concurrent runs never interleave; reading is line by line with
 * bounded memory, so a damaged or huge file cannot exhaust it.
 */
#ifndef CW_LEDGER_H
#define CW_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define LEDGER_FILE	"ledger.jsonl"

/* dir + "/ledger.jsonl"; 0, or -1 with errno ENAMETOOLONG. */
int	ledger_path(const char *dir, char *buf, size_t size);
/*
 * Appends record as one line: one write(2), then fsync. The file is
 * created 0600; an existing file keeps its mode. A symbolic link as the
 * last component is refused (ELOOP). 0, or -1 with errno; a short write
 * is ENOSPC (it cannot be completed without interleaving).
 */
int	ledger_append(const char *path, const cJSON *record);
/*
 * ledger_append in two halves, so that the wait for the disk can overlap
 * other work: the write, returning the still open descriptor (or -1 with
 * errno), then fsync and close (0, or -1 with errno).
 */
int	ledger_append_nosync(const char *path, const cJSON *record);
int	ledger_sync(int fd);

/*
 * ISO 8601 in UTC to epoch ms: "2026-11-20", "2026-11-20T10:00",
 * "2026-11-20T10:00:00.123Z", "2026-11-20 10:00:00+01:00". No zone
 * means UTC. 0, or -1 when malformed.
 */
int	ledger_parse_time(const char *s, int64_t *ms);

/* Lines of a stream, each at most max bytes kept in memory. */
struct ledger_lines;

struct ledger_lines	*ledger_lines_new(FILE *, size_t max);
/*
 * The next line without its newline, NUL-terminated, valid until the
 * next call; NULL at end of file or on a read error (ferror tells).
 * A line longer than max is cut: its first max bytes, *cut set.
 */
const char		*ledger_lines_next(struct ledger_lines *, size_t *len,
			    bool *cut);
void			 ledger_lines_free(struct ledger_lines *);

#endif
