/*
 * --rollback: the working tree of a git repository recorded before the
 * first attempt and put back after one that failed, with git plumbing
 * on a private index (GIT_INDEX_FILE), so that the user's index, stash,
 * branches and HEAD are never touched. Knows nothing of attempts: run.c
 * says when.
 */
#ifndef CW_TXN_H
#define CW_TXN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct txn;

/*
 * Finds git and the work tree the current directory is in. NULL with
 * a message in err when there is no git, or no work tree here.
 */
struct txn	*txn_open(const char *run_id, const sigset_t *mask, char *err,
		    size_t errlen);
/*
 * Records the tree (tracked changes and untracked files, ignored files
 * excepted) as a commit under refs/claudewrap/RUN. 0, or -1 with err.
 */
int		 txn_snapshot(struct txn *, char *err, size_t errlen);
/*
 * Records the tree an attempt left (a commit whose parent is the
 * snapshot), then puts the snapshot back: changed and deleted files
 * restored, created ones removed; ignored files and the user's index
 * left alone. 0, or -1 with err.
 */
int		 txn_restore(struct txn *, char *err, size_t errlen);
/* On success: counts the files the run changed, restores nothing. */
int		 txn_count(struct txn *, char *err, size_t errlen);
/*
 * The end of the run: the ref deleted (keep 0), or kept pointing at
 * the tree the failed run left (keep 1); the temporary files removed.
 */
int		 txn_close(struct txn *, int keep, char *err, size_t errlen);
void		 txn_free(struct txn *);
/* Files created, changed or deleted as of the last restore or count. */
int		 txn_files_changed(const struct txn *);
/* "refs/claudewrap/RUN". */
const char	*txn_ref(const struct txn *);
/* How long the snapshot and the last restore took (for the log). */
int64_t		 txn_snapshot_ms(const struct txn *);
int64_t		 txn_restore_ms(const struct txn *);

#endif
