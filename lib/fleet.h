/*
 * Fleet mode (--state-url): the shared cooldown, the breaker, --lock and
 * a copy of the ledger in one Redis, so that runs on many hosts act as
 * runs sharing one state dir do (the man page, "Fleet").
 *
 * Keys, all under the prefix "claudewrap:":
 *
 *	claudewrap:cooldown	hash: the cooldown and breaker, the fields of
 *				the state file (cooldown.c) plus
 *				rate_limit_pending
 *	claudewrap:probe	string: the token of the run probing, PX
 *	claudewrap:lock:NAME	string: the token of --lock=NAME's holder, PX
 *	claudewrap:ledger	stream: every ledger record (fields host,
 *				record), capped near FLEET_STREAM_MAX
 *
 * A token is "HOST:PID:RANDOM". Leases (the lock, the probe) last
 * FLEET_LEASE_MS and are renewed every FLEET_RENEW_MS by fleet_tick, so
 * a holder that vanished (a host that died) frees them within a lease.
 *
 * Every call has connect and command timeouts of FLEET_TIMEOUT_MS. A
 * Redis that cannot be reached or refuses a command is one warning per
 * run; the cooldown then falls back to the state dir (cooldown.c) and
 * the ledger copy is skipped (the local ledger is always written
 * first). --lock fails closed: the caller ends 75.
 *
 * Every function takes a NULL fleet (no --state-url): the cooldown
 * functions are then cooldown.c's, the rest do nothing, and no
 * connection, no wait, no allocation is made.
 */
#ifndef CW_FLEET_H
#define CW_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cooldown.h"
#include "lock.h"
#include "log.h"
#include "status.h"

#define FLEET_PREFIX		"claudewrap:"
#define FLEET_TIMEOUT_MS	500
#define FLEET_LEASE_MS		30000
#define FLEET_RENEW_MS		10000
#define FLEET_STREAM_MAX	100000

struct fleet;

/* Whether url is a --state-url we take; if not, why in err. */
int		 fleet_url_check(const char *url, char *err, size_t errlen);
/* url with its password (if any) replaced by [redacted], for logs. */
void		 fleet_url_redact(const char *url, char *buf, size_t size);

/*
 * A fleet for url (checked by fleet_url_check), or NULL when url is
 * NULL or memory runs out. The connection is made at first use;
 * warnings go to lg.
 */
struct fleet	*fleet_open(const char *url, struct log *lg);
/* Releases the lock and probe still held, and frees; NULL is a no-op. */
void		 fleet_close(struct fleet *);
/* The redacted URL while Redis holds the state, else NULL. */
const char	*fleet_where(const struct fleet *);

/*
 * cooldown_check and cooldown_note (cooldown.h), kept in Redis; with
 * no fleet, or while Redis is unreachable, those of dir (NULL: no state
 * dir, then -1). Against cooldown.c one thing more: when a rate limit
 * has run out, the first run to check is its probe and the others wait
 * for the probe's outcome (CD_RATE_LIMIT, cause "probe"), so that a
 * fleet makes one request per cooldown window, not one per host.
 */
int		 fleet_cooldown_check(struct fleet *, const char *dir,
		    int64_t now_ms, struct cooldown *cd);
int		 fleet_cooldown_note(struct fleet *, const char *dir,
		    enum outcome, int64_t now_ms, int64_t reset_ms,
		    int64_t window_ms, int breaker);

/*
 * --lock=NAME as claudewrap:lock:NAME, waiting up to wait_ms as
 * lock_acquire does (LOCK_INTERRUPTED when sigfd is readable). The
 * holder's token is in holder on LOCK_BUSY; LOCK_ERROR: Redis cannot
 * be reached or refused (fail closed).
 */
enum lock_result fleet_lock_acquire(struct fleet *, const char *name,
		    int64_t wait_ms, int sigfd, char *holder, size_t size);

/*
 * The ledger's copy. fleet_ledger_hold keeps a record to send at the
 * next fleet_ledger_flush (the start record, sent once the local file
 * is synced); fleet_ledger_add sends one now (after the local write).
 */
void		 fleet_ledger_hold(struct fleet *, const cJSON *rec);
void		 fleet_ledger_flush(struct fleet *);
void		 fleet_ledger_add(struct fleet *, const cJSON *rec);

/* How often fleet_tick must run (ms), 0 when nothing is leased. */
int64_t		 fleet_tick_ms(const struct fleet *);
/* Renews the leases when due; a lost or failed renewal is logged. */
void		 fleet_tick(struct fleet *);

/*
 * The report's input: every record of the stream at url, one JSON
 * line each, in an unlinked temporary file read from its start. NULL
 * with a message in err (the password redacted).
 */
FILE		*fleet_stream_open(const char *url, char *err, size_t errlen);
/*
 * claudewrap-report --state-url --clear-cooldown: ends the fleet's
 * cooldown, breaker and probe. 1 when there was one, 0 when not, -1
 * with err (Redis unreachable, refusing).
 */
int		 fleet_cooldown_clear(const char *url, char *err, size_t errlen);

#endif
