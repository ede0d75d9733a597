/*
 * Fleet mode: the state of cooldown.c and lock.c in Redis (fleet.h).
 *
 * Every read-modify-write is one Lua script (EVAL), not WATCH/MULTI:
 * the cooldown's decision reads four fields and writes them back, and
 * under WATCH every host of a storm would see its transaction aborted
 * and retry, each retry one more round trip, while a script runs
 * atomically on the server in a single round trip whatever the
 * contention. That keeps a run's added time to a few round trips on
 * the common path (one check, one note, two stream entries).
 *
 * hiredis is used blocking, with a timeout on connect and on every
 * command: a Redis that is down, refuses or hangs costs a run at most
 * about twice FLEET_TIMEOUT_MS, then everything goes local.
 */
#include "fleet.h"

#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis.h>

#include "clock.h"

#define RECONNECT_MS	1000	/* no new connect sooner after a failure */
#define PROBE_POLL_MS	2000	/* how often followers look at the probe */
#define LOCK_POLL_MAX	500	/* the longest sleep of a --lock-wait poll */
#define AHEAD_MAX_MS	(INT64_C(40) * 86400 * 1000)	/* as cooldown.c */
#define PAGE		1000	/* stream entries per XRANGE */

static const char KEY_COOLDOWN[] = FLEET_PREFIX "cooldown";
static const char KEY_PROBE[] = FLEET_PREFIX "probe";
static const char KEY_LOCK[] = FLEET_PREFIX "lock:";
static const char KEY_LEDGER[] = FLEET_PREFIX "ledger";

struct url {
	bool	unix_sock;
	char	host[256];
	int	port;
	char	path[PATH_MAX];
	char	user[128];
	char	pass[256];
	int	db;
};

struct fleet {
	struct url	 u;
	char		 where[PATH_MAX + 64];	/* the URL, redacted */
	redisContext	*c;
	struct log	*lg;
	bool		 warned;	/* the one "unreachable" warning */
	int64_t		 retry_at;	/* monotonic: no connect before */
	char		 last_err[128];	/* why the last connect failed */
	char		 token[320];
	char		 lock_key[PATH_MAX + 32];	/* "": none held */
	bool		 probe_held;
	bool		 clean;		/* the last check found nothing in force */
	int		 unread;	/* replies of sent commands not yet read */
	int64_t		 renew_at;	/* monotonic */
	char		*held;		/* a ledger record to send */
};

/*
 * The cooldown's decision, as cooldown.c's assess(): the breaker first,
 * then a probe out elsewhere, then a rate limit in force, then probing.
 * KEYS: cooldown, probe. ARGV: now, token, lease, ahead_max, poll.
 * Returns { kind, until_ms, cause, streak }.
 */
static const char check_lua[] =
"local now = tonumber(ARGV[1])\n"
"local ahead = now + tonumber(ARGV[4])\n"
"local h = redis.call('HMGET', KEYS[1], 'rate_limit_until_ms',\n"
"  'breaker_open', 'breaker_until_ms', 'streak', 'rate_limit_pending')\n"
"local limit = tonumber(h[1]) or 0\n"
"if limit > ahead then limit = 0 end\n"
"local open = h[2] == '1'\n"
"local open_until = tonumber(h[3]) or 0\n"
"if open_until > ahead then open_until = 0 end\n"
"local streak = tonumber(h[4]) or 0\n"
"local pending = h[5] == '1'\n"
"if open and open_until > now then\n"
"  return {2, open_until, 'breaker', streak} end\n"
"local probe = redis.call('GET', KEYS[2])\n"
"local mine = probe == ARGV[2]\n"
"if open and probe and not mine then return {2, 0, 'probe', streak} end\n"
"if limit > now then return {1, limit, 'rate_limit', streak} end\n"
"if not open and not pending then return {0, 0, '', streak} end\n"
"if probe and not mine then\n"
"  return {1, now + tonumber(ARGV[5]), 'probe', streak} end\n"
"redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
"if open then return {0, 0, 'probe', streak} end\n"
"return {0, 0, 'rate_limit_probe', streak}\n";

/*
 * One outcome, as cooldown.c's apply(). KEYS: cooldown, probe. ARGV:
 * now, kind (rate_limit, outage, answered), reset, window, breaker,
 * ahead_max. The hash is written only when something changed.
 */
static const char note_lua[] =
"local now = tonumber(ARGV[1])\n"
"local kind = ARGV[2]\n"
"local reset = tonumber(ARGV[3])\n"
"local window = tonumber(ARGV[4])\n"
"local breaker = tonumber(ARGV[5])\n"
"local ahead = tonumber(ARGV[6])\n"
"if window < 0 then window = 0 end\n"
"if window > ahead then window = ahead end\n"
"local h = redis.call('HMGET', KEYS[1], 'rate_limit_until_ms',\n"
"  'breaker_open', 'breaker_until_ms', 'streak', 'rate_limit_pending')\n"
"local limit = tonumber(h[1]) or 0\n"
"if limit > now + ahead then limit = 0 end\n"
"local open = h[2] == '1'\n"
"local open_until = tonumber(h[3]) or 0\n"
"if open_until > now + ahead then open_until = 0 end\n"
"local streak = tonumber(h[4]) or 0\n"
"local pending = h[5] == '1'\n"
"local changed = false\n"
"local function close()\n"
"  if streak ~= 0 or open or open_until ~= 0 then changed = true end\n"
"  streak = 0; open = false; open_until = 0\n"
"  redis.call('DEL', KEYS[2])\n"
"end\n"
"if kind == 'rate_limit' then\n"
"  close()\n"
"  local u = now + window\n"
"  if reset > 0 then u = reset end\n"
"  if u > now + ahead then u = now + ahead end\n"
"  if u > limit then limit = u; changed = true end\n"
"  if not pending then pending = true; changed = true end\n"
"elseif kind == 'outage' then\n"
"  streak = streak + 1; changed = true\n"
"  if breaker > 0 and streak >= breaker then\n"
"    open = true\n"
"    if now + window > open_until then open_until = now + window end\n"
"    redis.call('DEL', KEYS[2])\n"
"  end\n"
"elseif kind == 'answered' then\n"
"  close()\n"
"  if pending then pending = false; changed = true end\n"
"end\n"
"if changed then\n"
"  redis.call('HSET', KEYS[1], 'rate_limit_until_ms', limit,\n"
"    'breaker_open', open and 1 or 0, 'breaker_until_ms', open_until,\n"
"    'streak', streak, 'rate_limit_pending', pending and 1 or 0,\n"
"    'updated_ms', now)\n"
"end\n"
"return changed and 1 or 0\n";

/* Compare-and-delete: only the holder's token releases. */
static const char release_lua[] =
"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
"  return redis.call('DEL', KEYS[1]) end\n"
"return 0\n";

/*
 * Compare-and-extend. 1: renewed; 2: the key had gone (expired, or
 * Redis restarted empty) and ARGV[3] = '1' took it again; 0: another
 * token holds it, or it is gone and may not be taken again.
 */
static const char renew_lua[] =
"local v = redis.call('GET', KEYS[1])\n"
"if v == ARGV[1] then\n"
"  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
"if not v and ARGV[3] == '1' then\n"
"  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end\n"
"return 0\n";

/* ---- The URL -------------------------------------------------------- */

static int
url_err(char *err, size_t errlen, const char *why)
{
	if (err != NULL)
		(void)strlcpy(err, why, errlen);
	return -1;
}

/* "[USER]:PASS" into u; -1 when it does not fit. */
static int
parse_userinfo(const char *s, size_t n, struct url *u)
{
	const char *colon = memchr(s, ':', n);

	if (colon == NULL)
		return -1;	/* a user alone names no password */
	if ((size_t)(colon - s) >= sizeof(u->user) ||
	    n - (size_t)(colon - s) - 1 >= sizeof(u->pass))
		return -1;
	memcpy(u->user, s, (size_t)(colon - s));
	u->user[colon - s] = '\0';
	memcpy(u->pass, colon + 1, n - (size_t)(colon - s) - 1);
	u->pass[n - (size_t)(colon - s) - 1] = '\0';
	return 0;
}

/* HOST[:PORT][/DB] (HOST may be [IPv6]) into u. */
static int
parse_hostpart(const char *s, struct url *u, char *err, size_t errlen)
{
	const char *end, *port = NULL, *db = strchr(s, '/');
	size_t hn;
	const char *e = NULL;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || (db != NULL && db < end))
			return url_err(err, errlen, "unclosed '[' in host");
		s++;
		hn = (size_t)(end - s);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0' && end[1] != '/')
			return url_err(err, errlen, "junk after ']'");
	} else {
		end = db != NULL ? db : s + strlen(s);
		port = memchr(s, ':', (size_t)(end - s));
		hn = (size_t)((port != NULL ? port : end) - s);
		if (port != NULL)
			port++;
	}
	if (hn == 0 || hn >= sizeof(u->host))
		return url_err(err, errlen, "no host, or too long a host");
	memcpy(u->host, s, hn);
	u->host[hn] = '\0';
	u->port = 6379;
	if (port != NULL) {
		char num[8];
		size_t pn = (size_t)((db != NULL ? db : port + strlen(port)) -
		    port);

		if (pn == 0 || pn >= sizeof(num))
			return url_err(err, errlen, "bad port");
		memcpy(num, port, pn);
		num[pn] = '\0';
		u->port = (int)strtonum(num, 1, 65535, &e);
		if (e != NULL)
			return url_err(err, errlen, "bad port");
	}
	if (db != NULL && db[1] != '\0') {
		u->db = (int)strtonum(db + 1, 0, 65535, &e);
		if (e != NULL)
			return url_err(err, errlen, "bad database number");
	}
	return 0;
}

static int
url_parse(const char *url, struct url *u, char *err, size_t errlen)
{
	const char *rest, *at;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "redis://", 8) == 0) {
		rest = url + 8;
		/* The password may hold '@': the host part never does. */
		if ((at = strrchr(rest, '@')) != NULL) {
			if (parse_userinfo(rest, (size_t)(at - rest), u) == -1)
				return url_err(err, errlen, "bad user:password");
			rest = at + 1;
		}
		return parse_hostpart(rest, u, err, errlen);
	}
	if (strncmp(url, "unix://", 7) == 0) {
		rest = url + 7;
		if (*rest != '/') {
			if ((at = strstr(rest, "@/")) == NULL ||
			    parse_userinfo(rest, (size_t)(at - rest), u) == -1)
				return url_err(err, errlen, "want unix:///PATH");
			rest = at + 1;
		}
		u->unix_sock = true;
		if (strlcpy(u->path, rest, sizeof(u->path)) >= sizeof(u->path) ||
		    rest[1] == '\0')
			return url_err(err, errlen, "bad socket path");
		return 0;
	}
	return url_err(err, errlen, "want redis://[:PASS@]HOST[:PORT][/DB] "
	    "or unix:///PATH");
}

int
fleet_url_check(const char *url, char *err, size_t errlen)
{
	struct url u;
	int rc = url_parse(url, &u, err, errlen);

	explicit_bzero(&u, sizeof(u));
	return rc;
}

void
fleet_url_redact(const char *url, char *buf, size_t size)
{
	const char *rest, *at = NULL, *colon;
	size_t skip;

	if (strncmp(url, "redis://", 8) == 0) {
		rest = url + 8;
		at = strrchr(rest, '@');
	} else if (strncmp(url, "unix://", 7) == 0) {
		rest = url + 7;
		at = strstr(rest, "@/");
	} else
		rest = url;
	if (at == NULL || (colon = memchr(rest, ':', (size_t)(at - rest))) ==
	    NULL) {
		(void)strlcpy(buf, url, size);
		return;
	}
	skip = (size_t)(colon - url) + 1;
	(void)snprintf(buf, size, "%.*s[redacted]%s", (int)skip, url, at);
}

/* ---- The connection ------------------------------------------------- */

/* The one warning of a run: Redis is not there, local state is used. */
static void
warn_down(struct fleet *f, const char *why)
{
	cJSON *ev;

	if (f->warned)
		return;
	f->warned = true;
	ev = log_begin(f->lg, LV_WARN, "warn");
	log_str(ev, "reason", "state_url");
	log_str(ev, "url", f->where);
	log_str(ev, "error", why);
	log_str(ev, "fallback", "local");
	log_end(f->lg, ev);
}

static void
drop(struct fleet *f)
{
	if (f->c != NULL)
		redisFree(f->c);
	f->c = NULL;
	f->unread = 0;
	f->retry_at = clock_mono_ms() + RECONNECT_MS;
}

/* A reply that is not an error, or NULL; the connection kept if sane. */
static redisReply *
checked(struct fleet *f, redisReply *rp, char *err, size_t errlen)
{
	if (rp == NULL) {
		(void)strlcpy(err, f->c->errstr[0] != '\0' ? f->c->errstr :
		    "no reply", errlen);
		drop(f);
		return NULL;
	}
	if (rp->type == REDIS_REPLY_ERROR) {
		(void)strlcpy(err, rp->str, errlen);
		freeReplyObject(rp);
		return NULL;
	}
	return rp;
}

/* AUTH and SELECT on a fresh connection; 0, or -1 with err. */
static int
handshake(struct fleet *f, char *err, size_t errlen)
{
	redisReply *rp = NULL;

	/* No PING without them: the first command tells, a round trip less. */
	if (f->u.pass[0] != '\0') {
		rp = f->u.user[0] != '\0' ?
		    redisCommand(f->c, "AUTH %s %s", f->u.user, f->u.pass) :
		    redisCommand(f->c, "AUTH %s", f->u.pass);
		if ((rp = checked(f, rp, err, errlen)) == NULL)
			return -1;
		freeReplyObject(rp);
	}
	if (f->u.db != 0) {
		rp = checked(f, redisCommand(f->c, "SELECT %d", f->u.db), err,
		    errlen);
		if (rp == NULL)
			return -1;
		freeReplyObject(rp);
	}
	return 0;
}

/*
 * Connected, or -1 with err. After a failure no new attempt is made
 * for RECONNECT_MS, so a dead Redis costs one timeout, not one a call.
 */
static int
reach(struct fleet *f, char *err, size_t errlen)
{
	struct timeval tv = { 0, FLEET_TIMEOUT_MS * 1000 };

	if (f->c != NULL)
		return 0;
	if (clock_mono_ms() < f->retry_at) {
		(void)strlcpy(err, f->last_err, errlen);
		return -1;
	}
	f->c = f->u.unix_sock ? redisConnectUnixWithTimeout(f->u.path, tv) :
	    redisConnectWithTimeout(f->u.host, f->u.port, tv);
	if (f->c == NULL || f->c->err != 0) {
		(void)strlcpy(f->last_err, f->c != NULL ? f->c->errstr :
		    "out of memory", sizeof(f->last_err));
		(void)strlcpy(err, f->last_err, errlen);
		drop(f);
		return -1;
	}
	/* The CLI must not inherit the socket (every descriptor we open is close-on-exec). */
	(void)fcntl(f->c->fd, F_SETFD, FD_CLOEXEC);
	if (redisSetTimeout(f->c, tv) != REDIS_OK) {
		(void)strlcpy(err, "cannot set the command timeout", errlen);
		drop(f);
		return -1;
	}
	if (handshake(f, err, errlen) == -1) {
		(void)strlcpy(f->last_err, err, sizeof(f->last_err));
		drop(f);
		return -1;
	}
	return 0;
}

/*
 * Reads the replies of commands sent without waiting (send()); by now
 * they have come, so this costs no round trip. 0, or -1 with err.
 */
static int
drain(struct fleet *f, char *err, size_t errlen)
{
	void *rp;

	for (; f->unread > 0; f->unread--) {
		if (redisGetReply(f->c, &rp) != REDIS_OK) {
			(void)strlcpy(err, f->c->errstr, errlen);
			f->unread = 0;
			drop(f);
			return -1;
		}
		if (((redisReply *)rp)->type == REDIS_REPLY_ERROR)
			warn_down(f, ((redisReply *)rp)->str);
		freeReplyObject(rp);
	}
	return 0;
}

/*
 * A command whose reply is read later, by drain(): sent now, waited
 * for never. 0, or -1 with err.
 */
static int
send_only(struct fleet *f, int argc, const char **argv, char *err,
    size_t errlen)
{
	int done = 0;

	if (reach(f, err, errlen) == -1)
		return -1;
	if (redisAppendCommandArgv(f->c, argc, argv, NULL) != REDIS_OK) {
		(void)strlcpy(err, f->c->errstr, errlen);
		drop(f);
		return -1;
	}
	while (!done)
		if (redisBufferWrite(f->c, &done) != REDIS_OK) {
			(void)strlcpy(err, f->c->errstr, errlen);
			f->unread = 0;
			drop(f);
			return -1;
		}
	f->unread++;
	return 0;
}

/*
 * One command; NULL with err when Redis is away or says no. A
 * connection found closed (Redis restarted since the last command) is
 * made again once, at once: the server was gone when we wrote, so the
 * command had not run. (Should it have run and the reply alone been
 * lost, an outage would count twice in the streak; nothing else the
 * scripts do changes when done twice.)
 */
static redisReply *
command(struct fleet *f, int argc, const char **argv, char *err,
    size_t errlen)
{
	redisReply *rp;
	int e;

	if (reach(f, err, errlen) == -1 || drain(f, err, errlen) == -1)
		return NULL;
	rp = redisCommandArgv(f->c, argc, argv, NULL);
	e = errno;
	if (rp == NULL && f->c->err == REDIS_ERR_IO &&
	    (e == EAGAIN || e == EWOULDBLOCK)) {
		(void)snprintf(err, errlen, "no answer in %d ms",
		    FLEET_TIMEOUT_MS);
		drop(f);
		return NULL;
	}
	/* A timeout (EAGAIN) is a slow Redis: trying again would wait twice. */
	if (rp != NULL || !(f->c->err == REDIS_ERR_EOF ||
	    (f->c->err == REDIS_ERR_IO && (e == ECONNRESET || e == EPIPE))))
		return checked(f, rp, err, errlen);
	redisFree(f->c);
	f->c = NULL;
	f->retry_at = 0;
	if (reach(f, err, errlen) == -1)
		return NULL;
	return checked(f, redisCommandArgv(f->c, argc, argv, NULL), err,
	    errlen);
}

/* EVAL script with two keys (or one) and the arguments. */
static redisReply *
eval(struct fleet *f, const char *script, int nkeys, const char **kv,
    int n, char *err, size_t errlen)
{
	const char *argv[16];
	char nk[8];

	if (n + 3 > 16) {
		(void)strlcpy(err, "too many arguments", errlen);
		return NULL;
	}
	(void)snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = nk;
	memcpy(argv + 3, kv, (size_t)n * sizeof(*kv));
	return command(f, n + 3, argv, err, errlen);
}

/* "HOST:PID:32 hex digits": whose lock or probe it is, and unique. */
static void
make_token(struct fleet *f)
{
	unsigned char rnd[16];
	char host[256], hex[33];

	if (gethostname(host, sizeof(host)) == -1)
		(void)strlcpy(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	arc4random_buf(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	(void)snprintf(f->token, sizeof(f->token), "%s:%ld:%s", host,
	    (long)getpid(), hex);
}

struct fleet *
fleet_open(const char *url, struct log *lg)
{
	struct fleet *f;

	if (url == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (url_parse(url, &f->u, NULL, 0) == -1) {
		free(f);
		errno = EINVAL;
		return NULL;
	}
	f->lg = lg;
	fleet_url_redact(url, f->where, sizeof(f->where));
	make_token(f);
	return f;
}

/* Compare-and-delete of key; best effort (the lease expires anyway). */
static void
release(struct fleet *f, const char *key)
{
	const char *kv[2] = { key, f->token };
	char err[128];
	redisReply *rp;

	if (f->c != NULL &&
	    (rp = eval(f, release_lua, 1, kv, 2, err, sizeof(err))) != NULL)
		freeReplyObject(rp);
}

void
fleet_close(struct fleet *f)
{
	if (f == NULL)
		return;
	if (f->lock_key[0] != '\0')
		release(f, f->lock_key);
	if (f->probe_held)
		release(f, KEY_PROBE);
	if (f->c != NULL)
		redisFree(f->c);
	free(f->held);
	explicit_bzero(&f->u, sizeof(f->u));
	free(f);
}

const char *
fleet_where(const struct fleet *f)
{
	return f != NULL && f->c != NULL ? f->where : NULL;
}

/* ---- The cooldown --------------------------------------------------- */

static void
put_num(char *buf, int64_t v)
{
	(void)snprintf(buf, 24, "%lld", (long long)v);
}

/* The check's reply into cd; -1 when it is not the shape we sent. */
static int
read_verdict(const redisReply *rp, struct cooldown *cd, bool *claimed)
{
	memset(cd, 0, sizeof(*cd));
	*claimed = false;
	if (rp->type != REDIS_REPLY_ARRAY || rp->elements != 4 ||
	    rp->element[0]->type != REDIS_REPLY_INTEGER ||
	    rp->element[1]->type != REDIS_REPLY_INTEGER ||
	    rp->element[2]->type != REDIS_REPLY_STRING ||
	    rp->element[3]->type != REDIS_REPLY_INTEGER)
		return -1;
	cd->kind = rp->element[0]->integer == 2 ? CD_BREAKER :
	    rp->element[0]->integer == 1 ? CD_RATE_LIMIT : CD_NONE;
	cd->until_ms = rp->element[1]->integer;
	cd->streak = rp->element[3]->integer > INT_MAX ? INT_MAX :
	    (int)rp->element[3]->integer;
	if (strcmp(rp->element[2]->str, "rate_limit_probe") == 0) {
		/* Not the breaker's probe: nothing for the caller to say. */
		*claimed = true;
		return 0;
	}
	(void)strlcpy(cd->cause, rp->element[2]->str, sizeof(cd->cause));
	cd->probe = cd->kind == CD_NONE && strcmp(cd->cause, "probe") == 0;
	*claimed = cd->probe;
	return 0;
}

int
fleet_cooldown_check(struct fleet *f, const char *dir, int64_t now_ms,
    struct cooldown *cd)
{
	char now[24], lease[24], ahead[24], poll_ms[24], err[256];
	const char *kv[7] = { KEY_COOLDOWN, KEY_PROBE, now, f ? f->token : "",
	    lease, ahead, poll_ms };
	redisReply *rp;
	bool claimed;
	int rc;

	if (f == NULL)
		goto local;
	put_num(now, now_ms);
	put_num(lease, FLEET_LEASE_MS);
	put_num(ahead, AHEAD_MAX_MS);
	put_num(poll_ms, PROBE_POLL_MS);
	f->clean = false;
	if ((rp = eval(f, check_lua, 2, kv, 7, err, sizeof(err))) == NULL) {
		warn_down(f, err);
		goto local;
	}
	rc = read_verdict(rp, cd, &claimed);
	freeReplyObject(rp);
	f->clean = rc == 0 && cd->kind == CD_NONE && cd->cause[0] == '\0' &&
	    cd->streak == 0 && !claimed;
	if (rc == -1) {
		warn_down(f, "unexpected reply to the cooldown script");
		goto local;
	}
	if (claimed && !f->probe_held) {
		f->probe_held = true;
		f->renew_at = clock_mono_ms() + FLEET_RENEW_MS;
	}
	return 0;
local:
	if (dir == NULL) {
		memset(cd, 0, sizeof(*cd));
		errno = ENOENT;
		return -1;
	}
	return cooldown_check(dir, now_ms, cd);
}

/* What an outcome is to the cooldown, as cooldown.c's apply(). */
static const char *
note_kind(enum outcome oc)
{
	switch (oc) {
	case OC_RATE_LIMIT:
		return "rate_limit";
	case OC_OVERLOADED:
	case OC_SERVER:
		return "outage";
	case OC_OK:
	case OC_EMPTY:
	case OC_ERROR:
	case OC_AUTH:
	case OC_EXPECTATION:
		return "answered";
	default:
		return NULL;
	}
}

int
fleet_cooldown_note(struct fleet *f, const char *dir, enum outcome oc,
    int64_t now_ms, int64_t reset_ms, int64_t window_ms, int breaker)
{
	char now[24], reset[24], window[24], brk[24], ahead[24], err[256];
	const char *kind = note_kind(oc);
	const char *kv[8] = { KEY_COOLDOWN, KEY_PROBE, now, kind, reset,
	    window, brk, ahead };
	redisReply *rp;

	if (f == NULL)
		goto local;
	if (kind == NULL)
		return 0;	/* a probe that ends so keeps its claim */
	/*
	 * The common case, an answer when the check before the attempt found
	 * nothing in force, costs no round trip. Should another host have
	 * opened something since, this answer does not close it: its own
	 * probe will, one request later. Erring that way is safe.
	 */
	if (strcmp(kind, "answered") == 0 && f->clean && !f->probe_held)
		return 0;
	put_num(now, now_ms);
	put_num(reset, reset_ms);
	put_num(window, window_ms);
	put_num(brk, breaker);
	put_num(ahead, AHEAD_MAX_MS);
	if ((rp = eval(f, note_lua, 2, kv, 8, err, sizeof(err))) == NULL) {
		warn_down(f, err);
		goto local;
	}
	freeReplyObject(rp);
	/* Every outcome the script acts on clears the probe. */
	f->probe_held = false;
	return 0;
local:
	if (dir == NULL) {
		errno = ENOENT;
		return -1;
	}
	return cooldown_note(dir, oc, now_ms, reset_ms, window_ms, breaker);
}

/* ---- --lock --------------------------------------------------------- */

/* SET NX PX: 1 taken, 0 busy (holder filled), -1 Redis away. */
static int
lock_try(struct fleet *f, const char *key, char *holder, size_t size)
{
	char lease[24], err[256];
	const char *set[6] = { "SET", key, f->token, "NX", "PX", lease };
	const char *get[2] = { "GET", key };
	redisReply *rp;
	int rc;

	put_num(lease, FLEET_LEASE_MS);
	if ((rp = command(f, 6, set, err, sizeof(err))) == NULL) {
		(void)strlcpy(holder, err, size);
		return -1;
	}
	rc = rp->type == REDIS_REPLY_STATUS ? 1 : 0;
	freeReplyObject(rp);
	if (rc == 1)
		return 1;
	(void)strlcpy(holder, "?", size);
	if ((rp = command(f, 2, get, err, sizeof(err))) == NULL)
		return 0;	/* busy all the same; the next try tells */
	if (rp->type == REDIS_REPLY_STRING)
		(void)strlcpy(holder, rp->str, size);
	freeReplyObject(rp);
	return 0;
}

enum lock_result
fleet_lock_acquire(struct fleet *f, const char *name, int64_t wait_ms,
    int sigfd, char *holder, size_t size)
{
	int64_t end = clock_mono_ms() + wait_ms, pause = 50;
	char key[sizeof(f->lock_key)];

	if (snprintf(key, sizeof(key), "%s%s", KEY_LOCK, name) >=
	    (int)sizeof(key)) {
		(void)strlcpy(holder, "lock name too long", size);
		return LOCK_ERROR;
	}
	for (;;) {
		struct pollfd p = { .fd = sigfd, .events = POLLIN };
		int64_t left;

		switch (lock_try(f, key, holder, size)) {
		case 1:
			(void)strlcpy(f->lock_key, key, sizeof(f->lock_key));
			f->renew_at = clock_mono_ms() + FLEET_RENEW_MS;
			return LOCK_OK;
		case -1:
			return LOCK_ERROR;
		}
		if ((left = end - clock_mono_ms()) <= 0)
			return LOCK_BUSY;
		if (poll(&p, sigfd >= 0 ? 1 : 0, (int)(left < pause ? left :
		    pause)) > 0)
			return LOCK_INTERRUPTED;
		pause = pause * 2 > LOCK_POLL_MAX ? LOCK_POLL_MAX : pause * 2;
	}
}

/* ---- Leases --------------------------------------------------------- */

int64_t
fleet_tick_ms(const struct fleet *f)
{
	return f != NULL && (f->lock_key[0] != '\0' || f->probe_held) ?
	    FLEET_RENEW_MS : 0;
}

static void
warn_lease(struct fleet *f, const char *what, const char *why)
{
	cJSON *ev = log_begin(f->lg, LV_WARN, "warn");

	log_str(ev, "reason", "lease_renewal");
	log_str(ev, "lease", what);
	log_str(ev, "url", f->where);
	log_str(ev, "error", why);
	log_end(f->lg, ev);
}

/* Renews key; false once it is no longer ours (logged). */
static bool
renew(struct fleet *f, const char *key, bool retake)
{
	char lease[24], err[256];
	const char *kv[4] = { key, f->token, lease, retake ? "1" : "0" };
	redisReply *rp;
	long long got;

	put_num(lease, FLEET_LEASE_MS);
	if ((rp = eval(f, renew_lua, 1, kv, 4, err, sizeof(err))) == NULL) {
		/* Not lost yet: the lease runs on; the next tick tries. */
		warn_lease(f, key, err);
		return true;
	}
	got = rp->type == REDIS_REPLY_INTEGER ? rp->integer : 0;
	freeReplyObject(rp);
	if (got == 1)
		return true;
	warn_lease(f, key, got == 2 ? "the key was gone (expired or Redis "
	    "restarted); taken again" : "held by another run now");
	return got == 2;
}

void
fleet_tick(struct fleet *f)
{
	if (f == NULL || fleet_tick_ms(f) == 0 || clock_mono_ms() < f->renew_at)
		return;
	f->renew_at = clock_mono_ms() + FLEET_RENEW_MS;
	if (f->lock_key[0] != '\0' && !renew(f, f->lock_key, true))
		f->lock_key[0] = '\0';
	/* A probe is never taken again: the breaker may have closed. */
	if (f->probe_held && !renew(f, KEY_PROBE, false))
		f->probe_held = false;
}

/* ---- The ledger's copy ---------------------------------------------- */

/* XADD; with wait false, the reply is read before the next command. */
static void
stream_add(struct fleet *f, const char *text, bool wait)
{
	char host[256], max[24], err[256];
	const char *argv[10] = { "XADD", KEY_LEDGER, "MAXLEN", "~", max, "*",
	    "host", host, "record", text };
	redisReply *rp;

	if (gethostname(host, sizeof(host)) == -1)
		(void)strlcpy(host, "?", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	put_num(max, FLEET_STREAM_MAX);
	if (!wait) {
		if (send_only(f, 10, argv, err, sizeof(err)) == -1)
			warn_down(f, err);
	} else if ((rp = command(f, 10, argv, err, sizeof(err))) == NULL)
		warn_down(f, err);
	else
		freeReplyObject(rp);
}

void
fleet_ledger_hold(struct fleet *f, const cJSON *rec)
{
	if (f == NULL || rec == NULL)
		return;
	free(f->held);
	f->held = cJSON_PrintUnformatted(rec);
}

void
fleet_ledger_flush(struct fleet *f)
{
	if (f == NULL || f->held == NULL)
		return;
	/* While the CLI starts: nothing waits for this reply. */
	stream_add(f, f->held, false);
	free(f->held);
	f->held = NULL;
}

void
fleet_ledger_add(struct fleet *f, const cJSON *rec)
{
	char *text;

	if (f == NULL || rec == NULL)
		return;
	fleet_ledger_flush(f);	/* a start record still held goes first */
	if ((text = cJSON_PrintUnformatted(rec)) != NULL)
		stream_add(f, text, true);
	free(text);
}

/* ---- The report's input --------------------------------------------- */

/* The id after id ("ms-seq" + 1), for servers without "(" ranges. */
static void
next_id(const char *id, char *buf, size_t size)
{
	unsigned long long ms, seq = 0;
	char *end;

	errno = 0;
	ms = strtoull(id, &end, 10);
	if (errno == 0 && *end == '-')
		seq = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		ms = ULLONG_MAX;	/* an id we cannot read ends the scan */
	(void)snprintf(buf, size, "%llu-%llu", ms, seq + 1);
}

/* One XRANGE page into out; the entries written, or -1. */
static int
stream_page(struct fleet *f, char *start, size_t ssize, FILE *out,
    char *err, size_t errlen)
{
	char count[24];
	const char *argv[6] = { "XRANGE", KEY_LEDGER, start, "+", "COUNT",
	    count };
	redisReply *rp, *e, *fv;
	int n = 0;

	put_num(count, PAGE);
	if ((rp = command(f, 6, argv, err, errlen)) == NULL)
		return -1;
	for (size_t i = 0; rp->type == REDIS_REPLY_ARRAY && i < rp->elements;
	    i++, n++) {
		e = rp->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		next_id(e->element[0]->str, start, ssize);
		fv = e->element[1];
		for (size_t k = 0; fv->type == REDIS_REPLY_ARRAY &&
		    k + 1 < fv->elements; k += 2)
			if (fv->element[k]->type == REDIS_REPLY_STRING &&
			    strcmp(fv->element[k]->str, "record") == 0 &&
			    fv->element[k + 1]->type == REDIS_REPLY_STRING)
				fprintf(out, "%s\n", fv->element[k + 1]->str);
	}
	freeReplyObject(rp);
	return n;
}

int
fleet_cooldown_clear(const char *url, char *err, size_t errlen)
{
	struct fleet *f = fleet_open(url, NULL);
	const char *argv[3] = { "DEL", KEY_COOLDOWN, KEY_PROBE };
	redisReply *rp;
	int n;

	if (f == NULL) {
		(void)fleet_url_check(url, err, errlen);
		return -1;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	if ((rp = command(f, 3, argv, err, errlen)) == NULL) {
		fleet_close(f);
		return -1;
	}
	n = rp->type == REDIS_REPLY_INTEGER ? (int)rp->integer : 0;
	freeReplyObject(rp);
	fleet_close(f);
	return n > 0 ? 1 : 0;
}

FILE *
fleet_stream_open(const char *url, char *err, size_t errlen)
{
	struct fleet *f = fleet_open(url, NULL);
	char start[64] = "-";
	FILE *out;
	int n;

	if (f == NULL) {
		(void)fleet_url_check(url, err, errlen);
		return NULL;
	}
	/* A Redis that closes on us must be an error, not SIGPIPE. */
	(void)signal(SIGPIPE, SIG_IGN);
	if ((out = tmpfile()) == NULL) {
		(void)strlcpy(err, strerror(errno), errlen);
		fleet_close(f);
		return NULL;
	}
	while ((n = stream_page(f, start, sizeof(start), out, err,
	    errlen)) == PAGE)
		;
	fleet_close(f);
	if (n == -1 || fflush(out) == EOF || fseek(out, 0, SEEK_SET) == -1) {
		if (n != -1)
			(void)strlcpy(err, strerror(errno), errlen);
		fclose(out);
		return NULL;
	}
	return out;
}
