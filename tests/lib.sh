# Shared shell helpers for the integration and end-to-end tests.
# Sourced; expects $CLAUDEWRAP. Tests kill only what they started, by pid.

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
isolate_env

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

PASS=0
FAIL=0
FAILED_NAMES=""
TMP_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/cwtest.XXXXXX")
[ -n "${KEEP_TMP:-}" ] && echo "# keeping $TMP_ROOT" >&2
[ -n "${KEEP_TMP:-}" ] || trap 'rm -rf "$TMP_ROOT"' EXIT

# returns_ CODE cmd...: runs cmd, fails the current test unless it exits CODE.
returns_() {
	want=$1
	shift
	"$@"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "    expected exit $want, got $got: $*" >&2
		return 1
	fi
	return 0
}

# Polls with growing delays (as coreutils' retry_delay_) until cmd succeeds
# or about max_s seconds have passed.
retry_() {
	max_ms=$(( $1 * 1000 ))
	shift
	delay=10
	waited=0
	while ! "$@"; do
		[ "$waited" -ge "$max_ms" ] && return 1
		sleep "$(printf '0.%03d' "$delay")"
		waited=$((waited + delay))
		[ "$delay" -lt 500 ] && delay=$((delay * 2))
		[ "$delay" -gt 999 ] && delay=999
	done
	return 0
}

alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# none_alive FILE: every pid listed in FILE is gone.
none_alive() {
	[ -f "$1" ] || return 0
	while read -r p; do
		[ -n "$p" ] && alive "$p" && return 1
	done < "$1"
	return 0
}

# Kills what a failed test may have left: only pids the test recorded.
kill_listed() {
	[ -f "$1" ] || return 0
	while read -r p; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done < "$1"
	return 0
}

# field NAME FILE: the value of NAME= on the done line in FILE.
# Read as logfmt, pair by pair: a " NAME=" inside a quoted value (a
# detail quoting the CLI) is not taken for the field.
field() {
	grep '^claudewrap: .*event=done' "$2" | tail -n 1 | awk -v want="$1" '
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
	}'
}

done_lines() { grep -c '^claudewrap: .*event=done' "$1"; }

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
