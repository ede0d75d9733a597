# shellcheck shell=bash
# Helpers for the e2e tests: claudewrap around the real Claude Code CLI,
# offline, against tests/e2e/mock_api.py on 127.0.0.1. Sourced by each
# tests/e2e/t_*.sh, which then calls `case_ NAME FUNCTION` per test case
# and `finish` at the end.
#
# Every process a test starts is ended by its pid, never by name; every
# wait is a poll with growing delays and a bound; every claudewrap run is
# under `timeout -k 5 $CW_BOUND` (60 s) so that a bug cannot hang CI.
#
# Environment: CLAUDEWRAP (default build/asan/claudewrap), CLAUDE_BIN (the
# native CLI, default: scripts/cli-path.sh), E2E_KEEP=1 keeps the scratch
# directory, E2E_VERBOSE=0 hides each failed case's stderr, stdout and mock
# log, E2E_CASES="name ..." runs only those cases, E2E_SKIP="file:case ..."
# skips those (tests/e2e/versions.sh).

set -u

E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E/../.." && pwd)
TEST_FILE=$(basename "$0" .sh)

# The helpers shared with the integration tests (returns_, retry_, alive,
# gone, kill_pid, lf, done_lines, done_count, field), not their runner.
# shellcheck disable=SC2034 # read by tests/lib.sh
TESTS_LIB_HELPERS_ONLY=1
# shellcheck source=/dev/null # checked on its own (scripts/lint.sh)
. "$ROOT/tests/lib.sh"

CLAUDEWRAP=${CLAUDEWRAP:-build/asan/claudewrap}
case $CLAUDEWRAP in /*) ;; *) CLAUDEWRAP=$ROOT/$CLAUDEWRAP ;; esac
CW_BOUND=${CW_BOUND:-60}
PY=$(command -v "${PYTHON:-python3}") || { echo "python3 not found" >&2; exit 1; }

_passed=0
_failed=0
_case_failed=0
CASE=
C=
MOCK_PID=
MOCK_PORT=
_bg_pids=()

say() { printf '%s\n' "$*"; }
# A line about the current case, indented under its ok/FAIL line.
note() { printf '    %s\n' "$*" >&2; }

fatal() {
	printf '%s: %s\n' "$TEST_FILE" "$*" >&2
	say "0 passed, 1 failed"
	exit 1
}

[ -x "$CLAUDEWRAP" ] || fatal "claudewrap not built: $CLAUDEWRAP (make asan)"
if [ -z "${CLAUDE_BIN-}" ]; then
	CLAUDE_BIN=$("$ROOT/scripts/cli-path.sh" ${CLI_VERSION:+"$CLI_VERSION"}) ||
		fatal "the real CLI is not installed (scripts/install-cli.sh)"
fi
[ -x "$CLAUDE_BIN" ] || fatal "CLAUDE_BIN is not executable: $CLAUDE_BIN"

# The version of the CLI under test, as it prints it (the t_*.sh use it).
# shellcheck disable=SC2034
CLI_VER=$("$CLAUDE_BIN" --version 2>/dev/null | cut -d' ' -f1)

# placeholder_of VERSION: the text VERSION substitutes for an empty answer,
# from the rule table in cli-observations.md ("Per-version rules", the
# same rows as lib/cliversion.c's table), or nothing.
placeholder_of() {
	"$PY" - "$E2E/cli-observations.md" "$1" <<-'PYEOF'
		import re, sys
		def key(v):
		    return [int(x) for x in re.findall(r"\d+", v)[:3]]
		rows = False
		for line in open(sys.argv[1], encoding="utf-8"):
		    if line.startswith("## Per-version rules"):
		        rows = True
		    elif line.startswith("## "):
		        rows = False
		    cells = [c.strip() for c in line.strip().strip("|").split("|")]
		    if not rows or len(cells) < 3 or not re.match(r"`?\d", cells[0]):
		        continue
		    lo, hi = cells[0].strip("`"), cells[1].strip("`")
		    if key(lo) <= key(sys.argv[2]) <= key(hi) and cells[2] != "—":
		        print(cells[2].strip("`"))
		        break
	PYEOF
}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cw-e2e-$TEST_FILE.XXXXXX") ||
	fatal "mktemp failed"

# --- processes ------------------------------------------------------------

# alive, gone, retry_ (the polls) and kill_pid are tests/lib.sh's.

# is_stub PID: the process is one of our stubborn MCP servers (guards
# against pid reuse before signalling it).
is_stub() {
	tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q 'stubborn_mcp\.py'
}

# --- the mock API -----------------------------------------------------------

_port_ready() { [ -s "$SCRATCH/mock.port" ]; }

mock_start() {
	: >"$SCRATCH/mock.log"
	[ -e "$SCRATCH/script.json" ] || printf '[{"kind":"ok"}]\n' >"$SCRATCH/script.json"
	"$PY" "$E2E/mock_api.py" --port-file "$SCRATCH/mock.port" \
		--log "$SCRATCH/mock.log" --script "$SCRATCH/script.json" \
		--max-seconds "${MOCK_MAX_SECONDS:-600}" 2>"$SCRATCH/mock.err" &
	MOCK_PID=$!
	retry_ 10 _port_ready || fatal "mock did not start: $(cat "$SCRATCH/mock.err")"
	MOCK_PORT=$(cat "$SCRATCH/mock.port")
}

mock_stop() {
	[ -n "$MOCK_PID" ] || return 0
	kill_pid "$MOCK_PID"
	wait "$MOCK_PID" 2>/dev/null
	MOCK_PID=
}

# script JSON: the mock's answers from now on (rewriting restarts them).
script() {
	printf '%s\n' "$1" >"$SCRATCH/script.json.tmp" &&
		mv -f "$SCRATCH/script.json.tmp" "$SCRATCH/script.json"
}

# The mock's log lines for the current case.
case_log() { tail -n +"$((_log_mark + 1))" "$SCRATCH/mock.log"; }

# posts: how many POST /v1/messages the current case made (the side
# requests, title and 2.0.x's sub-agent warm-ups, excluded).
posts() {
	case_log | grep '"method": "POST"' | grep -c '"side": false'
}

# main_posts: the POSTs that are a turn of the conversation asked: not a
# side request, not a tool result going back, and not the CLI's own
# second request after an answer with no visible text (the mock tells
# them apart by the conversation's structure: mock_api.py).
main_posts() {
	case_log | grep '"method": "POST"' | grep -c '"main": true'
}

# --- environment of a case ------------------------------------------------------

# The environment claudewrap and the CLI get: a scratch HOME and nothing
# from the caller's. CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 because
# without it the CLI resolves api.anthropic.com (a DNS query) on every run.
case_env() {
	CASE_ENV=(
		PATH=/usr/local/bin:/usr/bin:/bin
		HOME="$C/home"
		TMPDIR="$C/tmp"
		LANG=C.UTF-8
		TZ=UTC
		ANTHROPIC_BASE_URL="http://127.0.0.1:$MOCK_PORT"
		ANTHROPIC_API_KEY=sk-test
		CLAUDE_CODE_MAX_RETRIES=0
		DISABLE_AUTOUPDATER=1
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
		STUBBORN_PIDFILE="$C/stub.pids"
		STUBBORN_LOG="$C/stub.log"
		STUBBORN_MAX_SECONDS=120
	)
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v-}" ] && CASE_ENV+=("$v=${!v}")
	done
	return 0
}

# fresh_home: an empty HOME for the case (also between two runs that
# must see the same HOME path, as a comparison with the CLI run directly).
# The files in $C/home.seed, if a case made it, are copied into each new
# HOME (e.g. .claude/settings.json).
fresh_home() {
	rm -rf "${C:?}/home" "${C:?}/tmp"
	mkdir -p "$C/home" "$C/tmp"
	if [ -d "$C/home.seed" ]; then
		cp -R "$C/home.seed/." "$C/home/"
	fi
}

# mcp_config: writes $C/mcp.json naming the stubborn MCP server; prints
# the path.
mcp_config() {
	cat >"$C/mcp.json" <<-EOF
		{"mcpServers":{"stub":{"command":"$PY","args":["$E2E/stubborn_mcp.py"],"env":{"STUBBORN_PIDFILE":"$C/stub.pids","STUBBORN_LOG":"$C/stub.log","STUBBORN_MAX_SECONDS":"120"}}}}
	EOF
	printf '%s\n' "$C/mcp.json"
}

stub_pids() { cat "$C/stub.pids" 2>/dev/null; }

# --- running things ----------------------------------------------------------------

# cw ARG...: claudewrap --claude=<real CLI> ARG..., in the case's directory
# and environment, stdin from $CW_STDIN (default /dev/null); stdout to
# $C/out, stderr to $C/err; returns claudewrap's exit status.
cw() {
	(cd "$C/work" && timeout -k 5 "$CW_BOUND" env -i "${CASE_ENV[@]}" \
		"$CLAUDEWRAP" --claude="$CLAUDE_BIN" "$@" \
		<"${CW_STDIN:-/dev/null}" >"$C/out" 2>"$C/err")
}

# cw_bg ARG...: as cw, in the background; sets CW_PID to claudewrap's own
# pid (env execs it). Collect with cw_wait.
cw_bg() {
	(cd "$C/work" && exec env -i "${CASE_ENV[@]}" "$CLAUDEWRAP" \
		--claude="$CLAUDE_BIN" "$@" \
		<"${CW_STDIN:-/dev/null}" >"$C/out" 2>"$C/err") &
	CW_PID=$!
	_bg_pids+=("$CW_PID")
}

# cw_wait TIMEOUT: wait for the background claudewrap; its exit status, or
# 255 (after killing it) when it did not end within TIMEOUT seconds.
cw_wait() {
	if ! retry_ "$1" gone "$CW_PID"; then
		note "claudewrap (pid $CW_PID) still running after $1 s; killed"
		kill_pid "$CW_PID" 0
		wait "$CW_PID" 2>/dev/null
		return 255
	fi
	wait "$CW_PID"
}

# direct ARG...: the real CLI run directly, same directory and environment
# (a fresh HOME at the same path); stdout to $C/direct.out.
direct() {
	fresh_home
	(cd "$C/work" && timeout -k 5 "$CW_BOUND" env -i "${CASE_ENV[@]}" \
		"$CLAUDE_BIN" "$@" <"${CW_STDIN:-/dev/null}" \
		>"$C/direct.out" 2>"$C/direct.err")
}

# The keys whose values change from run to run, at any depth (see
# cli-observations.md, "Volatile fields"): timings, session, message,
# request and tool ids. The one list the comparisons below mask.
VOLATILE="duration_ms duration_api_ms ttft_ms ttft_stream_ms time_to_request_ms
first_content_frame_ms session_id uuid request_id timestamp tool_use_id id
messaging_socket_path"
# Not volatile but told apart by mode: 2.1.332's system/init advertises
# one more SDK capability in stream-json (lifecycle_wakeup_source_v1)
# than in json --verbose, and claudewrap runs stream-json underneath.
# Masked too, and named as a known difference in cli-observations.md.
VOLATILE="$VOLATILE capabilities"

# json_canon FILE: FILE's JSON values (one per line; a line that is not
# JSON is kept as text), each with every VOLATILE key's value replaced
# by "X", printed one a line with sorted keys: two outputs that are the
# same data compare equal whatever order the CLI writes keys in.
json_canon() {
	VOLATILE=$VOLATILE "$PY" -c '
import json, os, sys
vol = set(os.environ["VOLATILE"].split())
def canon(x):
    if isinstance(x, dict):
        return {k: "X" if k in vol else canon(v) for k, v in x.items()}
    if isinstance(x, list):
        return [canon(v) for v in x]
    return x
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        v = json.loads(line)
    except ValueError:
        sys.stdout.write("text: " + line)
        continue
    print(json.dumps(canon(v), sort_keys=True, ensure_ascii=False))
' "$1"
}

# jsel FILE EXPR: the JSON lines of FILE ("-": stdin) for which the Python
# expression EXPR is true, o being the parsed line; ev(o) is o["event"]
# for a transcript line, else o; text_of(x) joins a content's text. Lines
# that do not parse, or where EXPR fails (a missing key), are left out:
# events are found by their parsed type, whatever the key order.
# jval FILE EXPR: the value of EXPR for each such line, one a line.
_jpy() {
	"$PY" -c '
import json, sys
def ev(o):
    return o["event"] if isinstance(o.get("event"), dict) else o
def text_of(c):
    if isinstance(c, list):
        return "".join(b.get("text", "") for b in c if isinstance(b, dict))
    return c if isinstance(c, str) else ""
mode, path, expr = sys.argv[1], sys.argv[2], compile(sys.argv[3], "e", "eval")
src = sys.stdin if path == "-" else open(path, encoding="utf-8")
for line in src:
    try:
        o = json.loads(line)
        v = eval(expr, {"o": o, "ev": ev, "text_of": text_of})
    except Exception:
        continue
    if mode == "sel" and v:
        sys.stdout.write(line)
    elif mode == "val":
        print(v if isinstance(v, str) else json.dumps(v))
' "$@"
}
jsel() { _jpy sel "$1" "$2"; }
jval() { _jpy val "$1" "$2"; }

# --- assertions (coreutils-test style) ---------------------------------------------

# fail_ MESSAGE: tests/lib.sh's, redefined: the current case has failed
# (returns_ there reports through it).
fail_() {
	_case_failed=1
	note "FAIL: $*"
	return 1
}

# done_field KEY: the value of KEY in the case's done line (field, lf and
# done_lines are tests/lib.sh's).
done_field() { field "$1" "$C/err"; }

# expect_done STATUS EXIT: exactly one done line, with that status and exit.
expect_done() {
	local n st ex
	n=$(done_count "$C/err")
	if [ "$n" -ne 1 ]; then
		fail_ "expected one event=done line on stderr, found $n"
		return 1
	fi
	st=$(done_field status)
	ex=$(done_field exit)
	[ "$st" = "$1" ] || fail_ "done line: status=$st, expected $1"
	[ "$ex" = "$2" ] || fail_ "done line: exit=$ex, expected $2"
}

expect_stdout_empty() {
	[ ! -s "$C/out" ] && return 0
	fail_ "stdout not empty ($(wc -c <"$C/out") bytes): $(head -c 200 "$C/out")"
}

# expect_stdout TEXT: stdout is exactly TEXT (printf %s; add \n yourself).
expect_stdout() {
	printf '%s' "$1" >"$C/expected"
	cmp -s "$C/expected" "$C/out" && return 0
	fail_ "stdout differs from expected: $(od -c "$C/out" | head -n 5)"
}

# expect_same_as_direct MODE: claudewrap's stdout equals the direct CLI
# run's, byte for byte (text), or as the same JSON data, line by line,
# with the VOLATILE values masked (json, stream-json). Then, for json,
# the same keys in the same order: the bytes of the mode asked for.
expect_same_as_direct() {
	if [ "$1" = text ]; then
		cmp -s "$C/direct.out" "$C/out" && return 0
		fail_ "text stdout differs from the CLI run directly: $(diff "$C/direct.out" "$C/out" | head -c 600)"
		return 1
	fi
	json_canon "$C/direct.out" >"$C/direct.masked"
	json_canon "$C/out" >"$C/out.masked"
	if ! cmp -s "$C/direct.masked" "$C/out.masked"; then
		fail_ "$1 stdout differs from the CLI run directly: $(diff "$C/direct.masked" "$C/out.masked" 2>/dev/null | head -c 600)"
		return 1
	fi
	[ "$1" = json ] || return 0
	jval "$C/direct.out" 'list(o) if isinstance(o, dict) else [list(e) for e in o]' >"$C/direct.keys"
	jval "$C/out" 'list(o) if isinstance(o, dict) else [list(e) for e in o]' >"$C/out.keys"
	cmp -s "$C/direct.keys" "$C/out.keys" ||
		fail_ "json keys differ in order from the CLI run directly: $(diff "$C/direct.keys" "$C/out.keys" | head -c 600)"
}

expect_posts() {
	local n
	n=$(posts)
	[ "$n" -eq "$1" ] || fail_ "expected $1 POST /v1/messages, the mock saw $n"
}

# expect_stubs_gone TIMEOUT: the stubborn MCP server started, and every
# instance is gone within TIMEOUT seconds (0.5 s if not given).
expect_stubs_gone() {
	local p ok=0 pids
	pids=$(stub_pids)
	[ -n "$pids" ] || {
		fail_ "the stubborn MCP server never started"
		return 1
	}
	for p in $pids; do
		if ! retry_ "${1:-0.5}" gone "$p"; then
			fail_ "stubborn MCP server $p still alive: $(ps -o pid=,ppid=,pgid=,sid=,args= -p "$p")"
			ok=1
		fi
	done
	return $ok
}

# --- cases --------------------------------------------------------------------------

# case_ NAME FUNCTION: runs one test case with its own directory, HOME
# and done/ok line.
case_() {
	if [ -n "${E2E_CASES-}" ]; then
		case " $E2E_CASES " in *" $1 "*) ;; *) return 0 ;; esac
	fi
	# E2E_SKIP="file:case ...": cases the CLI version under test cannot
	# pass (tests/e2e/versions.sh says why); neither passed nor failed.
	case " ${E2E_SKIP-} " in
	*" $TEST_FILE:$1 "*)
		say "skip - $TEST_FILE: $1 (not on CLI ${CLI_VERSION:-under test})"
		return 0
		;;
	esac
	CASE=$1
	C=$SCRATCH/$1
	mkdir -p "$C/work"
	fresh_home
	case_env
	_case_failed=0
	_log_mark=$(wc -l <"$SCRATCH/mock.log")
	local t0 t1
	t0=$(date +%s%N)
	"$2"
	t1=$(date +%s%N)
	_reap_case
	if [ "$_case_failed" -eq 0 ]; then
		_passed=$((_passed + 1))
		say "ok - $TEST_FILE: $CASE ($(((t1 - t0) / 1000000)) ms)"
	else
		_failed=$((_failed + 1))
		say "FAIL - $TEST_FILE: $CASE ($(((t1 - t0) / 1000000)) ms)"
		if [ "${E2E_VERBOSE:-1}" = 1 ]; then
			note "stderr:"
			sed 's/^/      /' "$C/err" 2>/dev/null | head -n 30 >&2
			note "stdout: $(head -c 300 "$C/out" 2>/dev/null)"
			note "mock log:"
			case_log | cut -c1-220 | sed 's/^/      /' >&2
		fi
	fi
}

# Kill what a case left behind: our own background claudewrap and any
# stubborn MCP server of ours (checked to be ours before the signal).
_reap_case() {
	local p
	for p in "${_bg_pids[@]}"; do
		kill_pid "$p"
		wait "$p" 2>/dev/null
	done
	_bg_pids=()
	for p in $(stub_pids); do
		is_stub "$p" && kill_pid "$p" 0
	done
	return 0
}

_cleanup() {
	local d
	_reap_case
	mock_stop
	for d in "$SCRATCH"/*/; do
		[ -f "$d/stub.pids" ] || continue
		C=${d%/}
		_reap_case
	done
	if [ "${E2E_KEEP:-0}" = 1 ] || [ "$_failed" -ne 0 ]; then
		say "# kept $SCRATCH" >&2
	else
		rm -rf "$SCRATCH"
	fi
}

trap _cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# finish: the closing line make check greps, and the file's exit status.
finish() {
	say "$_passed passed, $_failed failed"
	[ "$_failed" -eq 0 ]
}
