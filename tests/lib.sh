# Shared shell helpers for the integration and end-to-end tests.
# Sourced (by bash); expects $CLAUDEWRAP. Tests kill only what they
# started, by pid.
#
# tests/integ/*.sh use all of it: the helpers, and the runner (run_test,
# summary, $TMP_ROOT, isolate_env). tests/e2e/lib.sh sets
# TESTS_LIB_HELPERS_ONLY=1 before sourcing it: then nothing is run or
# made here (no isolate_env, no $TMP_ROOT, no trap), as the e2e cases
# have their own scratch directory, runner and environment (env -i).

# isolate_env: nothing from the user's own settings, state dir, CI or a
# fake's knobs reaches the tests (CLAUDEWRAP itself, the binary, stays).
isolate_env() {
	local v
	export XDG_STATE_HOME=/nonexistent-state
	for v in $(env | sed -n 's/^\(CLAUDEWRAP_[A-Z_]*\)=.*/\1/p'); do
		[ "$v" = CLAUDEWRAP_REL ] || unset "$v"
	done
	unset FAKE_MODE FAKE_PIDS FAKE_STATE FAKE_SECS FAKE_EXIT FAKE_GATE \
	    FAKE_TOOL FAKE_TOOL_INPUT FAKE_MB FAKE_FILE FAKE_SIG FAKE_BYTES \
	    GITHUB_ACTIONS GITHUB_STEP_SUMMARY
}

# report_setup: $REPORT, claudewrap-report as an installed copy is (a
# link to the binary by that name).
report_setup() {
	BIN="$TMP_ROOT/bin"
	mkdir -p "$BIN"
	ln -sf "$CLAUDEWRAP" "$BIN/claudewrap-report"
	# shellcheck disable=SC2034 # for the test files that source this
	REPORT="$BIN/claudewrap-report"
}

# cw_here ARGS...: claudewrap with the fake ($FAKE) and a state dir in
# the test's own directory, bounded by timeout(1) as a net.
cw_here() {
	timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" \
	    --state-dir="$PWD/state" "$@"
}

# cw_t ARGS...: the same with the state dir in $T (the test's directory
# as run_test made it), given through the environment.
cw_t() {
	CLAUDEWRAP_STATE_DIR="$T/state" timeout -k 5 60 "$CLAUDEWRAP" \
	    --claude="$FAKE" "$@"
}

# ms_since START_NS: milliseconds since START_NS (date +%s%N).
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# secs_ms SECONDS: SECONDS (whole, or with a fraction: 0.5) in ms.
secs_ms() {
	local s=${1%%.*} f=
	case $1 in *.*) f=${1#*.} ;; esac
	f=${f}000
	echo $(( 10#${s:-0} * 1000 + 10#${f:0:3} ))
}

# fail_ MESSAGE: says why a check failed (on stderr, indented under the
# test's line) and returns 1, which fails an integration test. The e2e
# lib redefines it to also mark its current case failed: the checks here
# report through it.
fail_() {
	echo "    $*" >&2
	return 1
}

# returns_ CODE cmd...: runs cmd, fails the current test unless it exits CODE.
returns_() {
	local want=$1 got
	shift
	"$@"
	got=$?
	[ "$got" -eq "$want" ] && return 0
	fail_ "expected exit $want, got $got: $*"
}

# retry_ SECONDS CMD...: runs CMD until it succeeds, with growing delays
# between tries (10 ms, doubling, at most 250 ms); false when it still
# fails SECONDS (wall clock; a fraction is allowed: 0.5) after the first
# try. The locals are prefixed, as CMD may be a function of the caller's.
retry_() {
	local _r_max _r_t0 _r_d=10 _r_s
	_r_max=$(secs_ms "$1")
	shift
	_r_t0=$(date +%s%N)
	while ! "$@"; do
		[ "$(ms_since "$_r_t0")" -ge "$_r_max" ] && return 1
		printf -v _r_s '0.%03d' "$_r_d"
		sleep "$_r_s"
		_r_d=$((_r_d * 2))
		[ "$_r_d" -gt 250 ] && _r_d=250
	done
	return 0
}

# alive PID: the process exists and is neither a zombie nor dead (its
# state in /proc/PID/stat, after the command's closing parenthesis).
alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# gone PID: not alive (for retry_: retry_ 2 gone PID).
gone() { ! alive "$1"; }

# none_alive FILE: every pid listed in FILE is gone.
none_alive() {
	local p
	[ -f "$1" ] || return 0
	while read -r p; do
		[ -n "$p" ] && alive "$p" && return 1
	done < "$1"
	return 0
}

# kill_pid PID [GRACE]: ends PID, a process the test started: TERM, then
# KILL if it is still there after GRACE seconds (default 2; 0: KILL at
# once). True once it is gone (a zombie counts as gone).
kill_pid() {
	alive "$1" || return 0
	if [ "${2:-2}" != 0 ]; then
		kill -TERM "$1" 2>/dev/null
		retry_ "${2:-2}" gone "$1" && return 0
	fi
	kill -KILL "$1" 2>/dev/null
	retry_ 2 gone "$1"
}

# kill_listed FILE: kills (KILL, at once) what a failed test may have
# left: only the pids the test recorded in FILE.
kill_listed() {
	local p
	[ -f "$1" ] || return 0
	while read -r p; do
		[ -n "$p" ] && kill_pid "$p" 0
	done < "$1"
	return 0
}

# lf NAME: the value of NAME= in the first line on stdin, a claudewrap
# logfmt line ("claudewrap: " and the pairs), unquoted and unescaped (a
# backslash keeps the character after it); nothing when NAME is absent.
# Read as logfmt, pair by pair: a " NAME=" inside a quoted value (a
# detail quoting the CLI) is not taken for the field.
lf() {
	awk -v want="$1" '
	{
		s = $0
		sub(/^claudewrap: /, "", s)
		n = length(s)
		i = 1
		while (i <= n) {
			j = index(substr(s, i), "=")
			if (j == 0)
				break
			key = substr(s, i, j - 1)
			i += j
			v = ""
			if (substr(s, i, 1) == "\"") {
				for (i++; i <= n; i++) {
					c = substr(s, i, 1)
					if (c == "\\") {
						v = v substr(s, ++i, 1)
						continue
					}
					if (c == "\"") {
						i++
						break
					}
					v = v c
				}
			} else {
				j = index(substr(s, i), " ")
				if (j == 0)
					j = n - i + 2
				v = substr(s, i, j - 1)
				i += j - 1
			}
			if (key == want) {
				print v
				exit
			}
			while (substr(s, i, 1) == " ")
				i++
		}
		exit
	}'
}

# The claudewrap lines with event=done.
DONE_RE='^claudewrap: .* event=done\( \|$\)'

# done_lines FILE: the event=done lines of FILE.
done_lines() { grep "$DONE_RE" "$1"; }

# done_count FILE: how many event=done lines FILE has.
done_count() { grep -c "$DONE_RE" "$1"; }

# field NAME FILE: the value of NAME= on the (last) done line in FILE.
field() { done_lines "$2" | tail -n 1 | lf "$1"; }

# run_test NAME: runs the function NAME in a fresh directory.
run_test() {
	T="$TMP_ROOT/$1"
	mkdir -p "$T"
	if ( cd "$T" && "$1" ) > "$T/log" 2>&1; then
		PASS=$((PASS + 1))
		echo "ok   $1"
	else
		FAIL=$((FAIL + 1))
		FAILED_NAMES="$FAILED_NAMES $1"
		echo "FAIL $1"
		sed 's/^/    /' "$T/log" | tail -n 30
	fi
}

summary() {
	[ -n "$FAILED_NAMES" ] && echo "failed:$FAILED_NAMES"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

[ -n "${TESTS_LIB_HELPERS_ONLY:-}" ] && return 0
isolate_env
PASS=0
FAIL=0
FAILED_NAMES=""
TMP_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/cwtest.XXXXXX")
[ -n "${KEEP_TMP:-}" ] && echo "# keeping $TMP_ROOT" >&2
[ -n "${KEEP_TMP:-}" ] || trap 'rm -rf "$TMP_ROOT"' EXIT
