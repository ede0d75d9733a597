#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliargs.h"
#include "duration.h"
#include "size.h"
#include "status.h"

enum opt_kind { OK_DUR, OK_INT, OK_BOOL, OK_STR, OK_RATIO, OK_FMT,
	OK_CLASSES, OK_EXPECT, OK_SIZE };

struct opt_spec {
	const char	*name;
	enum opt_kind	 kind;
	size_t		 off;
	long long	 min, max;	/* OK_INT bounds */
};

#define O(f)	offsetof(struct options, f)
static const struct opt_spec opt_table[] = {
	{ "timeout",		OK_DUR,   O(timeout_ms), 0, 0 },
	{ "deadline",		OK_DUR,   O(deadline_ms), 0, 0 },
	{ "kill-after",		OK_DUR,   O(kill_after_ms), 0, 0 },
	{ "idle-timeout",	OK_DUR,   O(idle_timeout_ms), 0, 0 },
	{ "retries",		OK_INT,   O(retries), 1, 100 },
	{ "backoff",		OK_DUR,   O(backoff_ms), 0, 0 },
	{ "backoff-max",	OK_DUR,   O(backoff_max_ms), 0, 0 },
	{ "retry-on",		OK_CLASSES, O(retry_on), 0, 0 },
	{ "allow-empty",	OK_BOOL,  O(allow_empty), 0, 0 },
	{ "allow-fallback",	OK_BOOL,  O(allow_fallback), 0, 0 },
	{ "output",		OK_STR,   O(output), 0, 0 },
	{ "lock",		OK_STR,   O(lock), 0, 0 },
	{ "lock-wait",		OK_DUR,   O(lock_wait_ms), 0, 0 },
	{ "heartbeat",		OK_STR,   O(heartbeat), 0, 0 },
	{ "heartbeat-interval",	OK_DUR,   O(heartbeat_interval_ms), 0, 0 },
	{ "tag",		OK_STR,   O(tag), 0, 0 },
	{ "ledger",		OK_STR,   O(ledger), 0, 0 },
	{ "state-dir",		OK_STR,   O(state_dir), 0, 0 },
	{ "state-url",		OK_STR,   O(state_url), 0, 0 },
	{ "log-format",		OK_FMT,   O(log_format), 0, 0 },
	{ "quiet",		OK_BOOL,  O(quiet), 0, 0 },
	{ "syslog",		OK_BOOL,  O(syslog), 0, 0 },
	{ "max-prompt-bytes",	OK_INT,   O(max_prompt_bytes), 0, LLONG_MAX },
	{ "low-output-tokens",	OK_INT,   O(low_output_tokens), 0, LLONG_MAX },
	{ "cache-ratio-warn",	OK_RATIO, O(cache_ratio_warn), 0, 0 },
	{ "passthrough",	OK_BOOL,  O(passthrough), 0, 0 },
	{ "cli-retries",	OK_INT,   O(cli_retries), 0, 100 },
	{ "transcript",		OK_STR,   O(transcript), 0, 0 },
	{ "expect-tool",	OK_EXPECT, 0, 0, 0 },
	{ "breaker",		OK_INT,   O(breaker), 0, 1000 },
	{ "max-memory",		OK_SIZE,  O(max_memory), 0, 0 },
	{ "quiet-ok",		OK_BOOL,  O(quiet_ok), 0, 0 },
	{ "lock-exit-code",	OK_INT,   O(lock_exit_code), 0, 255 },
	{ "ledger-max",		OK_SIZE,  O(ledger_max), 0, 0 },
	{ "rollback",		OK_BOOL,  O(rollback), 0, 0 },
	{ "verify",		OK_STR,   O(verify), 0, 0 },
	{ "verify-timeout",	OK_DUR,   O(verify_timeout_ms), 0, 0 },
	{ "resume-on-retry",	OK_BOOL,  O(resume_on_retry), 0, 0 },
	{ "claude",		OK_STR,   O(claude), 0, 0 },
};
#undef O
#define NOPTS	(sizeof(opt_table) / sizeof(opt_table[0]))

void
options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->action = ACT_RUN;
	o->timeout_ms = 30 * 60 * 1000;
	o->kill_after_ms = 5000;
	o->retries = 4;
	o->backoff_ms = 15000;
	o->backoff_max_ms = 10 * 60 * 1000;
	o->retry_on = 1u << OC_RATE_LIMIT | 1u << OC_OVERLOADED |
	    1u << OC_SERVER | 1u << OC_NETWORK;
	o->heartbeat_interval_ms = 30000;
	o->log_format = LOGF_LOGFMT;
	o->low_output_tokens = 10;
	o->cache_ratio_warn = 8;
	o->cli_retries = 2;
	o->breaker = 3;
	o->lock_exit_code = status_exit(ST_LOCKED, 0);
	o->ledger_max = INT64_C(64) << 20;
	o->verify_timeout_ms = 10 * 60 * 1000;
}

static int
bad(char *err, size_t errlen, const char *name, const char *val,
    const char *want)
{
	snprintf(err, errlen, "--%s: bad value '%s' (%s)", name, val, want);
	return -1;
}

static int
parse_bool(const char *v, bool *b)
{
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
		*b = true;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
		*b = false;
	else
		return -1;
	return 0;
}

/* Only the classes a user may ask to retry; auth and bad_payload never. */
static int
parse_classes(const char *v, unsigned *mask)
{
	static const enum outcome allowed[] = { OC_RATE_LIMIT, OC_OVERLOADED,
	    OC_SERVER, OC_NETWORK, OC_EMPTY, OC_TIMEOUT, OC_ERROR };
	unsigned m = 0;

	if (*v == '\0')
		return -1;
	for (const char *p = v; *p != '\0';) {
		size_t n = strcspn(p, ",");
		enum outcome oc;
		bool ok = false;

		if (n > 0 && outcome_parse(p, n, &oc) == 0)
			for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
				ok = ok || allowed[i] == oc;
		if (!ok)
			return -1;
		m |= 1u << oc;
		p += n;
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	*mask = m;
	return 0;
}

static int
parse_ratio(const char *v, double *r)
{
	char *end;

	if (*v == '\0' || isspace((unsigned char)*v) || *v == '-' || *v == '+' ||
	    strpbrk(v, "xXpP") != NULL)
		return -1;
	errno = 0;
	*r = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !(*r >= 0 && *r < 1e9))
		return -1;
	return 0;
}

static int
add_expect(struct options *o, const char *v, char *err, size_t errlen)
{
	if (*v == '\0' || strchr(v, ',') != NULL)
		return bad(err, errlen, "expect-tool", v, "want one tool name");
	if (o->n_expect_tool == OPT_MAX_EXPECT)
		return bad(err, errlen, "expect-tool", v, "too many");
	o->expect_tool[o->n_expect_tool++] = v;
	return 0;
}

/* Sets one option from its textual value. */
static int
set_opt(struct options *o, const struct opt_spec *s, const char *v,
    char *err, size_t errlen)
{
	char *base = (char *)o + s->off;
	const char *errstr;

	switch (s->kind) {
	case OK_DUR:
		if (duration_parse(v, (int64_t *)(void *)base) == -1)
			return bad(err, errlen, s->name, v,
			    "want a duration like 90, 1.5s, 500ms, 10m, 2h, 1d");
		return 0;
	case OK_INT:
		/* strtonum takes " 7", "+7" and "-0"; a count is digits only. */
		errstr = v[0] == '\0' || v[strspn(v, "0123456789")] != '\0' ?
		    "not a whole number" : NULL;
		if (errstr == NULL)
			*(int64_t *)(void *)base = strtonum(v, s->min, s->max,
			    &errstr);
		if (errstr != NULL) {
			char want[96];
			snprintf(want, sizeof(want), "want a whole number from "
			    "%lld to %lld", s->min, s->max);
			return bad(err, errlen, s->name, v, want);
		}
		return 0;
	case OK_BOOL:
		if (parse_bool(v, (bool *)(void *)base) == -1)
			return bad(err, errlen, s->name, v, "want 1 or 0");
		return 0;
	case OK_STR:
		if (*v == '\0')
			return bad(err, errlen, s->name, v, "empty");
		*(const char **)(void *)base = v;
		return 0;
	case OK_RATIO:
		if (parse_ratio(v, (double *)(void *)base) == -1)
			return bad(err, errlen, s->name, v,
			    "want a non-negative number");
		return 0;
	case OK_FMT:
		if (strcmp(v, "logfmt") == 0)
			o->log_format = LOGF_LOGFMT;
		else if (strcmp(v, "json") == 0)
			o->log_format = LOGF_JSON;
		else
			return bad(err, errlen, s->name, v, "want logfmt or json");
		return 0;
	case OK_CLASSES:
		if (parse_classes(v, &o->retry_on) == -1)
			return bad(err, errlen, s->name, v, "want a comma list of "
			    "rate_limit,overloaded,server,network,empty,timeout,error");
		return 0;
	case OK_EXPECT:
		return add_expect(o, v, err, errlen);
	case OK_SIZE:
		if (size_parse(v, (int64_t *)(void *)base) == -1)
			return bad(err, errlen, s->name, v,
			    "want a size like 512K, 64M, 1.5G, or 0 for off");
		return 0;
	}
	return -1;
}

/* The environment's --expect-tool: a comma list, copied so it can be split. */
static int
expect_from_list(struct options *o, const char *v, char *err, size_t errlen)
{
	char *copy, *p, *name;

	free(o->expect_env);
	if ((o->expect_env = copy = strdup(v)) == NULL) {
		snprintf(err, errlen, "--expect-tool: %s", strerror(errno));
		return -1;
	}
	for (p = copy; (name = strsep(&p, ",")) != NULL;)
		if (add_expect(o, name, err, errlen) == -1)
			return -1;
	return 0;
}

/* CLAUDEWRAP_KILL_AFTER for kill-after. */
static void
env_name(const char *name, char *buf, size_t size)
{
	size_t i = strlcpy(buf, "CLAUDEWRAP_", size);

	for (; *name != '\0' && i + 1 < size; name++, i++)
		buf[i] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	buf[i] = '\0';
}

/*
 * The CLAUDEWRAP_ variables, in the environment's order, into mine;
 * their number, or -1 when there are more than max (then getenv).
 */
static int
env_ours(const char **mine, int max)
{
	int n = 0;

	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, "CLAUDEWRAP_", 11) == 0) {
			if (n == max)
				return -1;
			mine[n++] = *e;
		}
	return n;
}

/*
 * getenv(name) for a CLAUDEWRAP_ name: among the few of ours rather than
 * the whole environment, once per option (NOPTS times a run).
 */
static const char *
env_get(const char **mine, int n, const char *name)
{
	size_t len = strlen(name);

	if (n == -1)
		return getenv(name);
	for (int i = 0; i < n; i++)
		if (strncmp(mine[i], name, len) == 0 && mine[i][len] == '=')
			return mine[i] + len + 1;
	return NULL;
}

/*
 * Every variable is read, the first bad one reported: under the name
 * claude the others (--claude above all) still serve a direct exec.
 */
static int
parse_env(struct options *o, char *err, size_t errlen)
{
	char name[64], one[256];
	const char *mine[64];
	int rc = 0, n = env_ours(mine, (int)(sizeof(mine) / sizeof(*mine)));

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt_spec *s = &opt_table[i];
		const char *v;

		env_name(s->name, name, sizeof(name));
		if ((v = env_get(mine, n, name)) == NULL)
			continue;
		/* --expect-tool is repeatable: its variable holds a list. */
		if ((s->kind == OK_EXPECT ? expect_from_list(o, v, one,
		    sizeof(one)) : set_opt(o, s, v, one, sizeof(one))) == -1 &&
		    rc == 0) {
			snprintf(err, errlen, "%s in %s", one, name);
			rc = -1;
		}
	}
	return rc;
}

static const struct opt_spec *
find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opt_table[i].name) == len &&
		    strncmp(opt_table[i].name, name, len) == 0)
			return &opt_table[i];
	return NULL;
}

/* Edit distance (with transpositions) of two short names, capped. */
static size_t
distance(const char *a, size_t n, const char *b, size_t m)
{
	size_t d[40][40];

	if (n >= 40 || m >= 40)
		return 99;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[n][m];
}

/*
 * A front option that is neither ours nor the CLI's but close to one of
 * ours (--timout) is a typo: running the CLI would spend a request to
 * learn it. One the CLI has, or one far from ours (a CLI option newer
 * than our list), goes through.
 */
static bool
misspelt(const char *name, size_t len, char *err, size_t errlen)
{
	const char *best = NULL;
	size_t bestd = 3;

	if (len < 3 || cliargs_known_option(name, len))
		return false;
	for (size_t i = 0; i < NOPTS; i++) {
		size_t d = distance(name, len, opt_table[i].name,
		    strlen(opt_table[i].name));
		if (d < bestd && d <= len / 3 + 1) {
			bestd = d;
			best = opt_table[i].name;
		}
	}
	if (best == NULL)
		return false;
	snprintf(err, errlen, "--%.*s: unknown option; did you mean --%s?",
	    (int)len, name, best);
	return true;
}

/*
 * Takes wrapper options from the front of argv. The first argument that
 * is not one of ours starts the CLI's arguments; `--` is consumed.
 */
static int
parse_argv(struct options *o, int argc, char **argv, int *first,
    char *err, size_t errlen)
{
	int i = 1;

	for (; i < argc; i++) {
		const char *a = argv[i], *eq, *v;
		const struct opt_spec *s;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(a, "--", 2) != 0)
			break;
		if (strcmp(a, "--help") == 0 || strcmp(a, "--version") == 0) {
			o->action = a[2] == 'h' ? ACT_HELP : ACT_VERSION;
			return 0;
		}
		eq = strchr(a + 2, '=');
		s = find_opt(a + 2, eq != NULL ? (size_t)(eq - a - 2) :
		    strlen(a + 2));
		if (s == NULL && misspelt(a + 2, eq != NULL ?
		    (size_t)(eq - a - 2) : strlen(a + 2), err, errlen))
			return -1;
		if (s == NULL)
			break;
		if (eq != NULL)
			v = eq + 1;
		else if (s->kind == OK_BOOL)
			v = "1";
		else if (i + 1 < argc)
			v = argv[++i];
		else {
			snprintf(err, errlen, "--%s: missing value", s->name);
			return -1;
		}
		if (set_opt(o, s, v, err, errlen) == -1)
			return -1;
	}
	*first = i;
	return 0;
}

/* Relations between options that no single value shows. */
static int
check_options(struct options *o, char *err, size_t errlen)
{
	if (o->backoff_max_ms == 0)
		o->backoff_max_ms = DURATION_MAX_MS;
	if (o->heartbeat != NULL && o->heartbeat_interval_ms == 0) {
		snprintf(err, errlen, "--heartbeat-interval: bad value '0' "
		    "(a heartbeat needs an interval)");
		return -1;
	}
	return 0;
}

/*
 * After a bad option, the error is still said in the format asked for
 * (--timeout=x --log-format=json): a later --log-format is looked for.
 */
static void
salvage_log_format(struct options *o, int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i] != NULL &&
	    strcmp(argv[i], "--") != 0; i++) {
		const char *v = NULL;

		if (strncmp(argv[i], "--log-format=", 13) == 0)
			v = argv[i] + 13;
		else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
			v = argv[i + 1];
		if (v != NULL && strcmp(v, "json") == 0)
			o->log_format = LOGF_JSON;
		else if (v != NULL && strcmp(v, "logfmt") == 0)
			o->log_format = LOGF_LOGFMT;
	}
}

int
options_parse(struct options *o, int argc, char **argv, bool masquerade,
    char *err, size_t errlen)
{
	int first = 1, env_rc;

	/* Even on an error: a direct exec needs them (see claudewrap.c). */
	o->cli_argc = argc - 1;
	o->cli_argv = argv + 1;
	env_rc = parse_env(o, err, errlen);
	if (!masquerade && parse_argv(o, argc, argv, &first, err, errlen) == -1) {
		salvage_log_format(o, argc, argv);
		return -1;
	}
	o->cli_argc = argc - first;
	o->cli_argv = argv + first;
	if (o->action != ACT_RUN)
		return 0;
	if (env_rc == -1)
		return -1;
	return check_options(o, err, errlen);
}

void
options_free(struct options *o)
{
	free(o->expect_env);
	o->expect_env = NULL;
}

void
options_usage(FILE *fp)
{
	fputs(
"usage: claudewrap [WRAPPER-OPTION...] [--] CLAUDE-ARG...\n"
"Runs `claude -p` supervised: honest exit codes, one done line, the whole\n"
"process tree killed on timeout, rate limits retried. See claudewrap(1).\n"
"\n"
"  --timeout=D          wall limit of one attempt (30m)\n"
"  --deadline=D         wall limit of the whole run (off)\n"
"  --kill-after=D       grace between SIGTERM and SIGKILL (5s)\n"
"  --idle-timeout=D     kill an attempt silent for D (off)\n"
"  --retries=N          attempts in all (4)\n"
"  --backoff=D          first wait, doubling (15s)\n"
"  --backoff-max=D      cap on one wait (10m)\n"
"  --retry-on=LIST      classes retried (rate_limit,overloaded,server,network)\n"
"  --allow-empty        an empty answer is success\n"
"  --allow-fallback     let --fallback-model through\n"
"  --output=FILE        write the payload to FILE atomically\n"
"  --lock=NAME          one run per NAME at a time\n"
"  --lock-wait=D        wait this long for the lock (0)\n"
"  --heartbeat=FILE     rewrite FILE while running\n"
"  --heartbeat-interval=D  (30s)\n"
"  --tag=NAME           job name on every log line and record\n"
"  --ledger=PATH|off    run records (state dir)\n"
"  --state-dir=DIR      ($XDG_STATE_HOME/claudewrap)\n"
"  --state-url=URL      fleet: cooldown, breaker, locks in Redis (off)\n"
"  --log-format=F       logfmt or json\n"
"  --quiet              only the done line\n"
"  --syslog             also log to syslog\n"
"  --max-prompt-bytes=N refuse a larger prompt (off)\n"
"  --low-output-tokens=N  warn below N output tokens (10)\n"
"  --cache-ratio-warn=R warn when cache_read/cache_creation < R (8)\n"
"  --passthrough        run the CLI exactly as asked\n"
"  --cli-retries=N      CLAUDE_CODE_MAX_RETRIES for the CLI (2)\n"
"  --transcript=PATH    keep every stream event as JSONL\n"
"  --expect-tool=NAME   fail with 48 unless NAME was called\n"
"  --breaker=N          shared circuit breaker after N outages (3)\n"
"  --max-memory=SIZE    kill the CLI's tree past SIZE of RSS, 50 (off)\n"
"  --quiet-ok           nothing on stderr unless the run fails (cron mail)\n"
"  --lock-exit-code=N   exit status when --lock is busy (75)\n"
"  --ledger-max=SIZE    rotate the ledger past SIZE into .1-.3 (64M)\n"
"  --rollback           restore the git work tree after a failed attempt\n"
"  --verify=CMD         deliver only if `sh -c CMD` exits 0, else 49\n"
"  --verify-timeout=D   wall limit of --verify (10m)\n"
"  --resume-on-retry    a retry continues the failed attempt's session\n"
"  --claude=PATH        the real CLI\n"
"Every option is also CLAUDEWRAP_NAME in the environment.\n"
"Exit: 0 ok, 42 empty, 43 rate limited, 44 unavailable, 45 claude error,\n"
"46 auth, 47 bad payload, 48 expectation failed, 49 verify failed,\n"
"50 over limit, 75 locked, 124 timeout, 125 usage, 126 not executable,\n"
"127 not found, 128+N signal.\n", fp);
}
