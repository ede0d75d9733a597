#!/usr/bin/env bash
# Faults around claudewrap, through the real binary and the fake CLI: a
# reader that goes away, a full disk, too few descriptors, a CLI that
# closes its stdout, writes after its children died or is stopped, clock
# jumps, a state dir that cannot be one, and bad input of every kind.
# Exit codes first, then the done line, then what is left alive. Each
# test has its own state dir and is bounded in time (timeout(1) as a
# net around every run). Exits 0 when every test passed, 1 otherwise.
#
# Under scripts/valgrind.sh (CW_UNDER_VALGRIND=1) the tests that starve
# the process of descriptors or file size, or preload libfaketime, are
# skipped: they would test valgrind's own start-up, not claudewrap.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
FAKE=$(realpath "${FAKE:-build/fakes/fakeclaude}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Nothing from the user's own settings or state dir (isolate_env).
. tests/lib.sh

cw() { cw_t "$@"; }


# never_crashed ERRFILE: no sanitizer or valgrind report, no core.
never_crashed() {
	! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' \
	    -e 'ERROR: LeakSanitizer' "$1"
}

# ledger_done STATUS EXIT: the state dir's ledger has that done record.
ledger_done() {
	grep '"event":"done"' "$T/state/ledger.jsonl" 2>/dev/null |
	    grep "\"status\":\"$1\"" | grep -q "\"exit\":$2[,}]"
}

# skip_under_valgrind: true (and says so) when under scripts/valgrind.sh.
skip_under_valgrind() {
	[ -n "${CW_UNDER_VALGRIND:-}" ] || return 1
	echo "    skipped under valgrind: $1"
	return 0
}

# The reader of stdout gone before and during delivery: text, json and
# stream-json deliveries all end 125 with a done line saying why, and the
# ledger records it (t_stdout_epipe in run.sh has the basic case).
t_faults_epipe_every_mode() {
	local fmt
	for fmt in text json stream-json; do
		# trickle takes a second: the reader (true) is gone by then.
		( FAKE_MODE=trickle FAKE_SECS=1 cw --output-format="$fmt" -p hi \
		    2> "err.$fmt"; echo "$?" > "rc.$fmt" ) | true
		[ "$(cat "rc.$fmt")" = 125 ] || { echo "$fmt: rc $(cat "rc.$fmt")"; return 1; }
		[ "$(done_count "err.$fmt")" -eq 1 ] || return 1
		[ "$(field status "err.$fmt")" = usage ] || return 1
		grep -q 'detail=.*Broken pipe' "err.$fmt" || return 1
	done
	ledger_done usage 125
}

t_faults_epipe_mid_delivery() {
	# 1 MiB of answer, a reader that takes 10 bytes and leaves.
	( FAKE_MODE=big-result FAKE_BYTES=1048576 cw -p hi 2> err
	    echo "$?" > rc ) | head -c 10 > got
	[ "$(cat rc)" = 125 ] || return 1
	[ "$(done_count err)" -eq 1 ] && [ "$(field status err)" = usage ] &&
	    grep -q 'detail="delivery to stdout: Broken pipe"' err || return 1
	ledger_done usage 125 && never_crashed err
}

# Runs cw with 64 KiB of room for the spool: a 64 KiB tmpfs as TMPDIR
# in a private mount namespace when we may mount one, else a 64 KiB
# file size limit with SIGXFSZ ignored (write then fails with EFBIG).
# Sets rc, and want: the error a spool write then gets.
cw_small_spool() {
	rm -rf tiny out err
	mkdir tiny
	if unshare -m true 2>/dev/null; then
		# shellcheck disable=SC2016 # expanded by the inner sh
		CLAUDEWRAP_STATE_DIR=$T/state CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE \
		    unshare -m sh -c '
			mount -t tmpfs -o size=64k tmpfs tiny || exit 99
			TMPDIR=$PWD/tiny timeout -k 5 60 "$CLAUDEWRAP" \
			    --claude="$FAKE" "$@" > out 2> err' sh "$@"
		rc=$?
		want='spool: No space left on device'
	else
		( trap '' XFSZ; ulimit -f 64; cw "$@" > out 2> err )
		rc=$?
		want='spool: File too large'
	fi
	[ "$rc" -ne 99 ] || { echo "    mount failed"; return 1; }
}

# The spool's filesystem full while it must hold what is delivered: the
# whole stream (stream-json), or a 1 MiB line (too long to hold).
t_faults_spool_full() {
	unshare -m true 2>/dev/null || ! skip_under_valgrind "ulimit -f" ||
	    return 0
	FAKE_MODE=flood FAKE_MB=1 cw_small_spool -p hi \
	    --output-format stream-json || return 1
	[ "$rc" -eq 125 ] || { echo "    stream-json: rc=$rc"; cat err; return 1; }
	[ ! -s out ] && [ "$(done_count err)" -eq 1 ] &&
	    grep -q "detail=\"$want\"" err && never_crashed err || return 1
	FAKE_MODE=big-result FAKE_BYTES=1048576 cw_small_spool -p hi || return 1
	[ "$rc" -eq 125 ] || { echo "    big line: rc=$rc"; cat err; return 1; }
	[ ! -s out ] && [ "$(done_count err)" -eq 1 ] &&
	    grep -q "detail=\"$want\"" err && never_crashed err
}

# Text delivery spools only lines too long to hold: 1 MiB of 1 KiB
# events passes through 64 KiB of room.
t_faults_spool_sparse() {
	unshare -m true 2>/dev/null || ! skip_under_valgrind "ulimit -f" ||
	    return 0
	FAKE_MODE=flood FAKE_MB=1 cw_small_spool -p hi || return 1
	[ "$rc" -eq 0 ] || { echo "    rc=$rc"; cat err; return 1; }
	[ "$(cat out)" = flooded ] && [ "$(field status err)" = ok ]
}

# Descriptors near exhaustion: at every limit from 4 to 16 (at 3 the
# dynamic loader itself has none left, for timeout(1) as for us), a clear
# error or an answer; never a crash, never a half answer, nothing left
# running. (Above our own needs, descriptors inherited from the test
# harness count too, so the outcome per limit is not fixed here.)
t_faults_fd_limit() {
	local n rc
	skip_under_valgrind "ulimit -n" && return 0
	for n in 4 5 6 7 8 9 10 11 12 13 14 16; do
		rm -f pids out err
		# Redirected outside: inside, the shell could not open them.
		( ulimit -n "$n"; FAKE_MODE=ok FAKE_PIDS=$PWD/pids cw -p hi ) \
		    > out 2> err
		rc=$?
		case $rc in
		0)	[ "$(cat out)" = hello ] || { echo "n=$n: out"; return 1; } ;;
		125 | 126)
			[ ! -s out ] || { echo "n=$n: output on failure"; return 1; }
			grep -q 'detail=.*Too many open files' err ||
			    { echo "n=$n:"; cat err; return 1; } ;;
		*)	echo "n=$n: rc=$rc"; cat err; return 1 ;;
		esac
		[ "$(done_count err)" -eq 1 ] || { echo "n=$n: done lines"; cat err; return 1; }
		never_crashed err || return 1
		none_alive pids || { kill_listed pids; return 1; }
	done
}

# The CLI closes its stdout at once but keeps running (with children):
# EOF is not an exit; the timeout still ends it, and the tree is gone.
t_faults_cli_closes_stdout() {
	local start ms
	start=$(date +%s%N)
	FAKE_MODE=close-stdout-hang FAKE_PIDS=$PWD/pids returns_ 124 cw \
	    --timeout=1s --kill-after=0.5s -p hi > out 2> err ||
	    { kill_listed pids; return 1; }
	ms=$(ms_since "$start")
	[ "$(wc -l < pids)" -eq 3 ] && none_alive pids ||
	    { kill_listed pids; return 1; }
	[ ! -s out ] && [ "$(field status err)" = timeout ] || return 1
	# 1 s + 0.5 s, and a margin for a sanitizer build on a busy machine.
	[ "$ms" -lt 6000 ] || { echo "    took $ms ms"; return 1; }
}

# On SIGTERM the CLI waits for its children to die, then prints text and
# an event: not an answer, never delivered; still a timeout.
t_faults_write_after_children_killed() {
	FAKE_MODE=term-write FAKE_PIDS=$PWD/pids returns_ 124 cw \
	    --timeout=0.5s --kill-after=2s -p hi > out 2> err ||
	    { kill_listed pids; return 1; }
	[ "$(wc -l < pids)" -eq 3 ] && none_alive pids ||
	    { kill_listed pids; return 1; }
	[ ! -s out ] && [ "$(field status err)" = timeout ] &&
	    [ "$(done_count err)" -eq 1 ]
}

# A stopped CLI does not act on SIGTERM until continued: the kill sends
# SIGCONT after SIGTERM, and SIGKILL needs no such help.
t_faults_sigstop() {
	local start ms ignore
	for ignore in "" 1; do
		rm -f pids
		start=$(date +%s%N)
		FAKE_MODE=stop FAKE_IGNORE_TERM=$ignore FAKE_PIDS=$PWD/pids \
		    returns_ 124 cw --timeout=1s --kill-after=0.5s -p hi \
		    > out 2> err || { kill_listed pids; return 1; }
		ms=$(ms_since "$start")
		none_alive pids || { kill_listed pids; return 1; }
		[ ! -s out ] && [ "$(field status err)" = timeout ] || return 1
		[ "$ms" -lt 6000 ] || { echo "    took $ms ms"; return 1; }
	done
	[ -z "$ignore" ] || grep -q 'signal=KILL reason=kill_after' err
}

# Clock jumps. Every time limit (--timeout, --deadline, --idle-timeout,
# --kill-after, the grace after a result, backoff waits, the stdin and
# lock waits) is computed from clock_mono_ms(), CLOCK_MONOTONIC, which no
# settimeofday, NTP step or suspend-free jump moves; poll(2) and
# signalfd timeouts are relative. CLOCK_REALTIME (clock_real_ms) is only
# for what is about the calendar: log and ledger timestamps, rate-limit
# reset times (epoch seconds from the API) and the shared cooldown file
# that separate runs compare. This test holds the code to that: the
# attempt's event loop never reads the wall clock, clock_gettime is
# called in clock.c only, and run.c's limits are monotonic.
t_faults_clock_monotonic_only() {
	local f bad=0
	grep -q 'clock_ms(CLOCK_MONOTONIC)' "$ROOT/lib/clock.c" || return 1
	for f in "$ROOT"/lib/*.c "$ROOT"/claudewrap.c; do
		[ "$(basename "$f")" = clock.c ] && continue
		if grep -n -e 'clock_gettime' -e 'gettimeofday' -e 'CLOCK_REALTIME' \
		    "$f"; then
			echo "    $f reads a clock itself, not through clock.c"
			bad=1
		fi
	done
	# The attempt (timeouts, idle, kill-after, grace) never reads the
	# wall clock in any form.
	if grep -n -e 'clock_real_ms' -e 'time(NULL)' -e 'time(&' \
	    "$ROOT/lib/attempt.c" "$ROOT/lib/spawn.c" "$ROOT/lib/tree.c"; then
		bad=1
	fi
	# In run.c the deadline and every wait are monotonic.
	if grep -n -e 'deadline_at.*clock_real' -e 'clock_real.*deadline_at' \
	    -e 'hb_next.*clock_real' -e 'end = clock_real' "$ROOT/lib/run.c"; then
		bad=1
	fi
	[ "$bad" -eq 0 ]
}

# With libfaketime (if installed), the wall clock jumps a day back, then
# a day forward, 0.3 s into a hanging attempt: it still times out after
# about 1 s, and the done line's duration is the real one.
t_faults_clock_jump() {
	local f lib jump start ms dur
	lib=
	for f in /usr/lib/*/faketime/libfaketime.so.1 \
	    /usr/local/lib/faketime/libfaketime.so.1; do
		[ -e "$f" ] && lib=$f && break
	done
	if [ -z "$lib" ]; then
		echo "    skipped: libfaketime not installed"
		return 0
	fi
	skip_under_valgrind "LD_PRELOAD of libfaketime" && return 0
	for jump in -1d +1d; do
		echo "+0" > clock
		( sleep 0.3; echo "$jump" > clock ) &
		start=$(date +%s%N)
		ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 \
		    LD_PRELOAD=$lib FAKETIME_TIMESTAMP_FILE=$PWD/clock \
		    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
		    FAKE_MODE=hang FAKE_PIDS=$PWD/pids returns_ 124 cw \
		    --timeout=1s --kill-after=0.2s -p hi > out 2> "err$jump" ||
		    { wait; kill_listed pids; return 1; }
		ms=$(ms_since "$start")
		wait
		none_alive pids || { kill_listed pids; return 1; }
		dur=$(field duration_ms "err$jump")
		# The jump was seen (a log timestamp a day off) and ignored.
		grep -q "event=kill signal=TERM reason=timeout" "err$jump" ||
		    return 1
		[ "$dur" -ge 950 ] && [ "$dur" -lt 2500 ] ||
		    { echo "    $jump: duration_ms=$dur"; return 1; }
		[ "$ms" -lt 6000 ] || { echo "    $jump: took $ms ms"; return 1; }
	done
	[ "$(grep -c "ts=$(date -u -d '-1 day' +%Y-%m-%d)" "err-1d")" -ge 1 ] &&
	    [ "$(grep -c "ts=$(date -u -d '+1 day' +%Y-%m-%d)" "err+1d")" -ge 1 ]
}

# A state dir that cannot be one (root ignores chmod, so a regular file
# stands where a directory should be: ENOTDIR): the run still answers,
# with one warning; a ledger path under a file is one warning too; only
# --lock, which needs the dir, refuses (125).
t_faults_state_dir_unusable() {
	touch file
	CLAUDEWRAP_STATE_DIR=$PWD/file/state returns_ 0 timeout -k 5 60 \
	    "$CLAUDEWRAP" --claude="$FAKE" -p hi > out 2> err || return 1
	[ "$(cat out)" = hello ] || return 1
	grep -q 'event=warn reason=state_dir path=.*/file/state error="Not a directory"' err ||
	    return 1
	CLAUDEWRAP_STATE_DIR=$PWD/file returns_ 0 timeout -k 5 60 \
	    "$CLAUDEWRAP" --claude="$FAKE" -p hi > out 2> err2 || return 1
	grep -q 'event=warn reason=state_dir .*error="Not a directory"' err2 ||
	    return 1
	returns_ 0 cw --ledger="$PWD/file/ledger.jsonl" -p hi > out 2> err3 ||
	    return 1
	[ "$(grep -c 'event=warn reason=ledger .*error="Not a directory"' err3)" -eq 1 ] ||
	    return 1
	mkdir -p state/ledger.jsonl
	returns_ 0 cw -p hi > out 2> err4 || return 1
	[ "$(grep -c 'event=warn reason=ledger .*error="Is a directory"' err4)" -eq 1 ] ||
	    return 1
	CLAUDEWRAP_STATE_DIR=$PWD/file/state FAKE_PIDS=$PWD/pids returns_ 125 \
	    timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" --lock=job -p hi \
	    > out 2> err5 || return 1
	[ ! -s out ] && [ ! -e pids ] && grep -q 'detail="--lock=job: .*Not a directory' err5 &&
	    never_crashed err && never_crashed err5
}

# refused ARGS...: claudewrap refuses the run with 125: one line on stderr
# (the done line, status usage, naming the option), nothing on stdout,
# and the fake never started.
refused() {
	rm -f pids
	FAKE_PIDS=$PWD/pids cw "$@" -p hi > out 2> err
	local rc=$?
	if [ "$rc" -ne 125 ] || [ -s out ] || [ -e pids ] ||
	    [ "$(wc -l < err)" -ne 1 ] || [ "$(field status err)" != usage ]; then
		echo "    not refused as usage (rc=$rc): $*"
		sed 's/^/      /' err
		return 1
	fi
	never_crashed err
}

DURATIONS="timeout deadline kill-after idle-timeout backoff backoff-max
lock-wait heartbeat-interval"
BAD_DURATIONS=("" "-1" "-1s" "-0" "abc" "1x" "1ss" "1 s" " 1" "+1" "0x10"
	"1e3" "inf" "nan" "1.5.5" "." "s" "1h1m" "99999999999999999999"
	"106752d" "99999999999999d")

t_faults_bad_durations() {
	local o v
	for o in $DURATIONS; do
		for v in "${BAD_DURATIONS[@]}"; do
			refused "--$o=$v" || return 1
			grep -q -- "--$o: bad value '$v'" err || { cat err; return 1; }
		done
	done
}

# Bare numbers are seconds, decimals allowed (claudewrap(1), "Durations").
t_faults_unitless_durations() {
	returns_ 0 cw --timeout=2 --deadline=0.5 -p hi > out 2> err || return 1
	grep -q 'event=start .*timeout_ms=2000 deadline_ms=500 ' err ||
	    { grep event=start err; return 1; }
	returns_ 0 cw --timeout=1.25 -p hi > out 2> err || return 1
	grep -q 'event=start .*timeout_ms=1250 ' err || return 1
	# 0 is off: no timeout at all.
	returns_ 0 cw --timeout=0 -p hi > out 2> err || return 1
	! grep -q 'event=start .*timeout_ms=' err
}

t_faults_bad_numbers() {
	local o v
	# retries 1..100, cli-retries 0..100, breaker 0..1000, the byte and
	# token counts 0..LLONG_MAX.
	for v in "" "-1" "abc" "1.5" "1e2" "0x2" "2 " "101" \
	    "99999999999999999999"; do
		refused "--retries=$v" || return 1
		refused "--cli-retries=$v" || return 1
	done
	refused --retries=0 && refused --breaker=1001 && refused --breaker=-1 ||
	    return 1
	for o in max-prompt-bytes low-output-tokens; do
		for v in "" "-1" "abc" "1k" "9223372036854775808" \
		    "99999999999999999999"; do
			refused "--$o=$v" || return 1
		done
	done
	for v in "" "-1" "-0.5" "abc" "inf" "nan" "1e9" " 1" "1,5"; do
		refused "--cache-ratio-warn=$v" || return 1
	done
}

t_faults_bad_words() {
	local o v
	for v in maybe 2 TRUE yes-no; do
		for o in allow-empty allow-fallback quiet syslog passthrough; do
			refused "--$o=$v" || return 1
		done
	done
	for v in "" XML JSON log-fmt; do
		refused "--log-format=$v" || return 1
	done
	for v in "" "," "rate_limit,,server" ",server" auth bad_payload \
	    RATE_LIMIT usage ok; do
		refused "--retry-on=$v" || return 1
	done
	refused --expect-tool= && refused --expect-tool=a,b || return 1
	# Every string option: empty is refused.
	for o in output lock heartbeat tag ledger state-dir transcript claude; do
		refused "--$o=" || return 1
	done
	# A value-taking option last, with nothing after it.
	rm -f pids
	FAKE_PIDS=$PWD/pids returns_ 125 cw --timeout > out 2> err || return 1
	[ ! -e pids ] && grep -q -- '--timeout: missing value' err
}

# The environment twin of each: named in the error, refused the same way,
# even when the command line sets the same option (bad values in either
# place are usage errors).
t_faults_bad_env() {
	local pair var val rc
	for pair in TIMEOUT=abc TIMEOUT=-1 TIMEOUT= KILL_AFTER=1x \
	    DEADLINE=99999999999999999999 RETRIES=0 RETRIES=abc RETRIES= \
	    BREAKER=-1 CACHE_RATIO_WARN=nan LOG_FORMAT=xml RETRY_ON=auth \
	    ALLOW_EMPTY=maybe QUIET=2 TAG= OUTPUT= EXPECT_TOOL=a,,b \
	    MAX_PROMPT_BYTES=-5; do
		var=CLAUDEWRAP_${pair%%=*}
		val=${pair#*=}
		rm -f pids
		env "$var=$val" FAKE_PIDS="$PWD/pids" \
		    CLAUDEWRAP_STATE_DIR="$T/state" timeout -k 5 60 \
		    "$CLAUDEWRAP" --claude="$FAKE" -p hi > out 2> err
		rc=$?
		[ "$rc" -eq 125 ] && [ ! -s out ] && [ ! -e pids ] &&
		    [ "$(wc -l < err)" -eq 1 ] && grep -q "in $var" err ||
		    { echo "    $var=$val: rc=$rc"; cat err; return 1; }
		never_crashed err || return 1
	done
	# The command line does not excuse a bad variable.
	rm -f pids
	CLAUDEWRAP_TIMEOUT=abc FAKE_PIDS=$PWD/pids returns_ 125 cw \
	    --timeout=5s -p hi > out 2> err || return 1
	[ ! -e pids ] && grep -q 'CLAUDEWRAP_TIMEOUT' err
}

# Given twice, the last wins; the command line wins over the variable.
t_faults_duplicates_last_wins() {
	returns_ 0 cw --timeout=5s --timeout=7s --retries=1 --retries=3 \
	    --tag=a --tag=b -p hi > out 2> err || return 1
	grep -q 'event=start .*retries=3 timeout_ms=7000 ' err &&
	    grep -q 'tag=b event=done' err || { grep event= err; return 1; }
	CLAUDEWRAP_TIMEOUT=5s CLAUDEWRAP_TAG=env returns_ 0 cw --timeout=9s \
	    -p hi > out 2> err2 || return 1
	grep -q 'event=start .*timeout_ms=9000 ' err2 &&
	    grep -q 'tag=env event=done' err2 || { grep event= err2; return 1; }
	# The separate-word form counts the same.
	returns_ 0 cw --timeout 4s --timeout 6s -p hi > out 2> err3 || return 1
	grep -q 'event=start .*timeout_ms=6000 ' err3
}

# After `--`, and after the first argument that is not ours, everything
# goes to the CLI unchanged, bad-looking wrapper options included.
t_faults_options_after_dashdash() {
	FAKE_MODE=args returns_ 0 cw -- --timeout=abc --retries=0 -p hi \
	    > out 2> err || return 1
	grep -q '^arg\[[0-9]*\]=--timeout=abc$' err &&
	    grep -q '^arg\[[0-9]*\]=--retries=0$' err || return 1
	! grep -q 'arg\[[0-9]*\]=--$' err || return 1
	FAKE_MODE=args returns_ 0 cw -p hi --kill-after=nan > out 2> err2 ||
	    return 1
	grep -q '^arg\[[0-9]*\]=--kill-after=nan$' err2 &&
	    [ "$(field status err2)" = ok ]
}

# --claude (and CLAUDEWRAP_CLAUDE) naming what cannot be run: one line,
# the right code, and nothing run (not even by a shell: a script without
# #! would otherwise be run by sh, as execvp(3) does).
t_faults_bad_claude() {
	local c want via
	mkdir adir
	ln -s "$PWD/nowhere" dangling
	ln -s loop1 loop2
	ln -s loop2 loop1
	touch file
	printf 'echo ran > "%s/ran"\n' "$PWD" > noshebang
	chmod +x noshebang
	mkfifo fifo
	for c in "adir:126" "dangling:127" "loop1:127" "file/claude:127" \
	    "noshebang:126" "fifo:126" "file:126" "nonexistent:127"; do
		want=${c##*:}
		for via in option env; do
			rm -f pids ran
			if [ "$via" = option ]; then
				FAKE_PIDS=$PWD/pids CLAUDEWRAP_STATE_DIR=$T/state \
				    timeout -k 5 60 "$CLAUDEWRAP" \
				    --claude="$PWD/${c%:*}" -p hi > out 2> err
			else
				CLAUDEWRAP_CLAUDE=$PWD/${c%:*} FAKE_PIDS=$PWD/pids \
				    CLAUDEWRAP_STATE_DIR=$T/state timeout -k 5 60 \
				    "$CLAUDEWRAP" -p hi > out 2> err
			fi
			local rc=$?
			if [ "$rc" -ne "$want" ] || [ -s out ] || [ -e ran ] ||
			    [ "$(done_count err)" -ne 1 ] ||
			    [ "$(grep -vc 'event=\(start\|attempt\)' err)" -ne 1 ]; then
				echo "    $c via $via: rc=$rc"
				sed 's/^/      /' err
				return 1
			fi
			grep -q "detail=.*${c%:*}" err && never_crashed err || return 1
		done
	done
}

for t in $(declare -F | awk '$3 ~ /^t_faults_/ { print $3 }'); do
	run_test "$t"
done
summary
