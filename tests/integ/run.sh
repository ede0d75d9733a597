#!/usr/bin/env bash
# Integration tests: the real claudewrap binary against small fake CLIs.
# Exit codes first, then the done line, then what is left alive.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
FAKE=$(realpath "${FAKES:-build/fakes}")/fakeclaude
export CLAUDEWRAP FAKE
# Each test gets its own state dir; nothing from the user's.
export XDG_STATE_HOME=/nonexistent-state
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
. tests/lib.sh

cw() { cw_t "$@"; }

t_ok() {
	returns_ 0 cw -p hi > out 2> err || return 1
	[ "$(cat out)" = hello ] || return 1
	[ "$(done_count err)" -eq 1 ] || return 1
	[ "$(field status err)" = ok ] && [ "$(field exit err)" = 0 ] &&
	    [ "$(field model err)" = fake-model ] &&
	    [ "$(field output_tokens err)" = 12 ]
}

t_status_line_only_on_tty() {
	# Not a terminal: not a byte of it.
	FAKE_MODE=trickle FAKE_SECS=2 returns_ 0 cw -p hi > out 2> err || return 1
	! grep -q "$(printf '\r')" err || return 1
	# A terminal (script(1) makes a pty): shown, then erased.
	FAKE_MODE=trickle FAKE_SECS=2 CLAUDEWRAP_STATE_DIR=$PWD/st \
	    script -qec "$CLAUDEWRAP --claude=$FAKE -p hi" /dev/null > tty.out ||
	    return 1
	grep -q 'claudewrap: attempt 1/4 running' tty.out &&
	    grep -q "$(printf '\033')\[K" tty.out
}

t_timeout_kills_tree() {
	local start end
	start=$(date +%s%N)
	FAKE_MODE=tree-hang FAKE_PIDS=$PWD/pids \
	    returns_ 124 cw --timeout=1s --kill-after=0.5s -p hi > out 2> err ||
	    { kill_listed pids; return 1; }
	end=$(date +%s%N)
	[ "$(wc -l < pids)" -eq 3 ] || { cat pids; kill_listed pids; return 1; }
	none_alive pids || { echo "survivors:"; cat pids; kill_listed pids; return 1; }
	[ ! -s out ] || return 1
	[ "$(field status err)" = timeout ] || return 1
	grep -q 'event=kill signal=TERM reason=timeout' err || return 1
	grep -q 'event=kill signal=KILL reason=kill_after' err || return 1
	# 1 s timeout + 0.5 s grace + a margin for the sanitizer build, a
	# wider one under valgrind, whose start-up alone takes a second.
	[ $(( (end - start) / 1000000 )) -lt \
	    "$([ -n "${CW_UNDER_VALGRIND:-}" ] && echo 15000 || echo 4000)" ]
}

t_normal_exit_leaves_nothing() {
	FAKE_MODE=tree-exit FAKE_PIDS=$PWD/pids \
	    returns_ 0 cw --kill-after=0.5s -p hi > out 2> err ||
	    { kill_listed pids; return 1; }
	none_alive pids || { kill_listed pids; return 1; }
	[ "$(cat out)" = tree ] || return 1
	grep -q 'event=reaped' err || return 1
	grep -q 'reason=leftovers' err
}

t_sigterm_forwarded() {
	local pid
	FAKE_MODE=tree-hang FAKE_PIDS=$PWD/pids "$CLAUDEWRAP" --claude="$FAKE" \
	    --kill-after=0.5s -p hi > out 2> err &
	pid=$!
	retry_ 10 test -s pids || return 1
	retry_ 10 grep -q 'event=attempt' err || return 1
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	none_alive pids || { kill_listed pids; return 1; }
	[ "$rc" -eq 143 ] || { echo "rc=$rc"; return 1; }
	[ "$(done_count err)" -eq 1 ] && [ "$(field status err)" = signal ] &&
	    [ "$(field exit err)" = 143 ]
}

t_sigint_exit_130() {
	local pid rc
	# A shell starts background jobs with SIGINT ignored: claudewrap must
	# still act on it, and the CLI must not inherit the ignoring.
	FAKE_MODE=hang FAKE_PIDS=$PWD/pids "$CLAUDEWRAP" --claude="$FAKE" \
	    --kill-after=5s -p hi > out 2> err &
	pid=$!
	retry_ 10 grep -q 'event=attempt' err || return 1
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	none_alive pids || { kill_listed pids; return 1; }
	[ "$rc" -eq 130 ] && [ "$(field exit err)" = 130 ] || return 1
	# The CLI died of the forwarded SIGINT, not of the SIGKILL 5 s later.
	! grep -q 'signal=KILL' err
}

t_sigkill_takes_cli_down() {
	local pid
	FAKE_MODE=hang FAKE_PIDS=$PWD/pids "$CLAUDEWRAP" --claude="$FAKE" \
	    -p hi > out 2> err &
	pid=$!
	retry_ 10 test -s pids || return 1
	retry_ 10 grep -q 'event=attempt' err || return 1
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	retry_ 5 none_alive pids || { kill_listed pids; return 1; }
}

t_stdin_replayed() {
	printf 'line one\nline two \xe2\x9c\x93\n' > in
	FAKE_MODE=fail-once-stdin FAKE_STATE=$PWD/state.n \
	    returns_ 0 cw --retries=2 --backoff=0.05s -p < in > out 2> err ||
	    return 1
	[ "$(cat state.n)" = 2 ] || return 1
	[ "$(cat out)" = "$(od -An -tx1 < in | tr -d ' \n')" ] || return 1
	! grep -q PARTIAL out && [ "$(field attempts err)" = 2 ] &&
	    grep -q 'event=retry .*reason=overloaded' err
}

t_empty_stdin_is_dev_null() {
	# Nothing to replay: the CLI reads /dev/null, no spool is made.
	FAKE_MODE=fds returns_ 0 cw -p hi < /dev/null > out 2> err || return 1
	grep -q '^fdlink=0 /dev/null$' err || return 1
	printf 'x' | FAKE_MODE=fds returns_ 0 cw -p hi > out 2> err || return 1
	grep -q '^fdlink=0 /.*(deleted)$' err
}

t_partial_stdout_hidden() {
	FAKE_MODE=partial returns_ 45 cw -p hi > out 2> err || return 1
	[ ! -s out ] && [ "$(field status err)" = claude_error ]
}

t_not_found_127() {
	returns_ 127 cw --claude=/nonexistent/claude -p hi > out 2> err ||
	    return 1
	grep -q 'detail=.*/nonexistent/claude' err || return 1
	ln -s /nonexistent/x dangling
	returns_ 127 cw --claude="$PWD/dangling" -p hi 2> err2 || return 1
	mkdir empty
	PATH=$PWD/empty HOME=$PWD returns_ 127 "$CLAUDEWRAP" -p hi 2> err3 ||
	    return 1
	grep -q 'no claude found (tried PATH' err3 && [ ! -s out ]
}

t_not_executable_126() {
	returns_ 126 cw --claude=/tmp -p hi 2> err || return 1
	grep -q 'is a directory' err || return 1
	printf 'echo hi\n' > noexec
	returns_ 126 cw --claude="$PWD/noexec" -p hi 2> err2 || return 1
	chmod +x noexec	# no #! line: execve says ENOEXEC
	returns_ 126 cw --claude="$PWD/noexec" -p hi 2> err3 || return 1
	grep -q 'Exec format error' err3
}

t_interpreter_missing() {
	printf '#!/usr/bin/env node-missing-here\n' > launcher
	chmod +x launcher
	returns_ 127 cw --claude="$PWD/launcher" -p hi > out 2> err || return 1
	grep -q "interpreter 'node-missing-here'" err
}

t_bad_options_125() {
	local bad
	for bad in --timeout=abc --timeout=-1 --timeout= --timeout=5x \
	    --timeout=99999999999999d --retries=0 --retries=abc --retries=1.5 \
	    --backoff=1e3 --log-format=xml --retry-on=auth \
	    '--retry-on=rate_limit,' --cache-ratio-warn=-1 --kill-after=nan; do
		returns_ 125 cw "$bad" -p hi > out 2> err || return 1
		[ "$(done_count err)" -eq 1 ] || return 1
		grep -q -- "${bad%%=*}: bad value" err || { cat err; return 1; }
		[ ! -s out ] || return 1
	done
	CLAUDEWRAP_IDLE_TIMEOUT=soon returns_ 125 cw -p hi 2> err || return 1
	grep -q 'CLAUDEWRAP_IDLE_TIMEOUT' err
}

t_help_version() {
	returns_ 0 "$CLAUDEWRAP" --help > out || return 1
	grep -q -- '--timeout=D' out || return 1
	returns_ 0 "$CLAUDEWRAP" --claude="$FAKE" --version > out || return 1
	grep -q '^claudewrap ' out && grep -q '9.9.9 (Fake Claude)' out
}

t_idle_timeout() {
	FAKE_MODE=hang FAKE_PIDS=$PWD/pids returns_ 124 cw --idle-timeout=0.5s \
	    --kill-after=0.2s -p hi > out 2> err || { kill_listed pids; return 1; }
	grep -q 'reason=idle' err || return 1
	# A slow but live stream is not idle.
	FAKE_MODE=trickle FAKE_SECS=3 returns_ 0 cw --idle-timeout=2s -p hi \
	    > out 2> err2 || return 1
	[ "$(cat out)" = slow ]
}

t_result_then_hang() {
	FAKE_MODE=result-hang FAKE_PIDS=$PWD/pids returns_ 0 cw \
	    --kill-after=0.3s -p hi > out 2> err || { kill_listed pids; return 1; }
	none_alive pids || return 1
	[ "$(cat out)" = late ] && grep -q 'reason=result_then_hang' err
}

t_late_result_not_taken() {
	FAKE_MODE=late-result returns_ 124 cw --timeout=0.5s --kill-after=2s \
	    -p hi > out 2> err || return 1
	[ ! -s out ] && grep -q 'result came after the kill' err
}

t_transcript_long_line() {
	# A 1 MiB event is read back from the spool, not held: it must still
	# reach the transcript whole, and the answer the caller.
	python3 -c 'import json
print(json.dumps({"type": "system", "subtype": "init"}))
print(json.dumps({"type": "result", "subtype": "success", "is_error": False,
    "result": "\u00e9" * (1 << 19), "usage": {"output_tokens": 99}}))' > stream
	printf '#!/bin/sh\nexec cat %s/stream\n' "$PWD" > cli
	chmod +x cli
	mkdir tr
	CLAUDEWRAP_STATE_DIR="$T/state" returns_ 0 "$CLAUDEWRAP" --claude="$PWD/cli" \
	    --transcript="$PWD/tr" -p hi > out 2> err || return 1
	python3 -c 'import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 2, len(lines)
ev = json.loads(lines[1])["event"]
assert ev["result"] == "\u00e9" * (1 << 19)
assert open(sys.argv[2], encoding="utf-8").read() == ev["result"] + "\n"' \
	    tr/*.jsonl out
}

t_child_env() {
	FAKE_MODE=env CLAUDE_CODE_RETRY_WATCHDOG=1 returns_ 0 cw -p hi \
	    > out 2> err || return 1
	local run
	run=$(field run err)
	grep -q "MAX_RETRIES=2 WATCHDOG=- RUN_ID=$run" err || return 1
	FAKE_MODE=env CLAUDE_CODE_MAX_RETRIES=7 returns_ 0 cw --cli-retries=3 \
	    -p hi 2> err2 || return 1
	grep -q 'MAX_RETRIES=7 ' err2
}

t_args_rewritten() {
	FAKE_MODE=args returns_ 0 cw --output-format=json --verbose -p \
	    --model x -- "--output-format" > out 2> err || return 1
	# stream-json underneath, in front; the user's mode and verbose gone;
	# the prompt after -- untouched.
	grep -q '^arg\[1\]=--output-format$' err &&
	    grep -q '^arg\[2\]=stream-json$' err &&
	    grep -q '^arg\[3\]=--verbose$' err &&
	    [ "$(grep -c -- '--output-format' err)" -eq 2 ] &&
	    grep -q '^arg\[7\]=--$' err && grep -q '^arg\[8\]=--output-format$' err
}

t_stderr_passthrough() {
	FAKE_MODE=stderr returns_ 0 cw -p hi > out 2> err || return 1
	grep -q '^cli says hi$' err
}

# cli_fds FILE: the descriptors the fake (FAKE_MODE=fds) listed. Under
# scripts/valgrind.sh, memcheck's own log file is left out: valgrind
# leaves it open as descriptor 3 of claudewrap, which passes it on as it
# passes on every descriptor its caller gave it.
cli_fds() {
	if [ -n "${CW_UNDER_VALGRIND:-}" ]; then
		grep '^fdlink=' "$1" | grep -v ' .*/valgrind/logs/[0-9]*\.log$'
	else
		grep '^fdlink=' "$1"
	fi | cut -d' ' -f1
}

t_no_fds_leak() {
	# The CLI inherits exactly what it would inherit run directly (the
	# caller's descriptors, 7 here), and none of claudewrap's own.
	FAKE_MODE=fds "$FAKE" -p hi 2> direct 7> side > /dev/null
	FAKE_MODE=fds returns_ 0 cw -p hi > out 2> err 7> side || return 1
	grep -q '^fdlink=7 .*/side$' err &&
	    [ "$(cli_fds err)" = "$(cli_fds direct)" ] ||
	    { diff <(cli_fds direct) <(cli_fds err); return 1; }
}

t_fallback_refused() {
	returns_ 125 cw -p hi --fallback-model sonnet 2> err || return 1
	grep -q 'allow-fallback' err || return 1
	returns_ 0 cw --allow-fallback -p hi --fallback-model sonnet > out
}

t_masquerade() {
	mkdir -p shim real
	ln -s "$CLAUDEWRAP" shim/claude
	cp "$FAKE" real/claude
	PATH=$PWD/shim:$PWD/real:/usr/bin:/bin CLAUDEWRAP_STATE_DIR=$PWD/st \
	    returns_ 0 claude -p hi > out 2> err || return 1
	[ "$(cat out)" = hello ] && [ "$(field status err)" = ok ] || return 1
	grep -q "claude=$PWD/real/claude" err || return 1
	# Without -p the real CLI runs as it is, no done line.
	PATH=$PWD/shim:$PWD/real:/usr/bin:/bin returns_ 0 claude --version \
	    > out2 2> err2 || return 1
	grep -q 'Fake Claude' out2 && ! grep -q 'event=done' err2
}

t_no_print_refused() {
	returns_ 125 cw mcp list 2> err || return 1
	grep -q 'give -p' err
}

t_max_prompt_bytes() {
	FAKE_PIDS=$PWD/pids returns_ 45 cw --max-prompt-bytes=10 \
	    -p 'a prompt longer than ten bytes' > out 2> err || return 1
	[ ! -e pids ] && [ ! -s out ]
}

t_empty_42() {
	FAKE_MODE=empty returns_ 42 cw -p hi > out 2> err || return 1
	[ ! -s out ] && [ "$(field status err)" = empty_payload ] || return 1
	FAKE_MODE=empty returns_ 0 cw --allow-empty -p hi > out 2> err
}

# The CLI's version (asked with --version: the fake is not an npm
# install) on the start and done lines and both ledger records; one
# warning outside the tested range; cli_max_retries=ignored where the
# version retries on its own (lib/cliversion.c). Cached: asked once.
t_cli_version() {
	rm -rf vstate
	FAKE_VERSION=2.1.300 CLAUDEWRAP_STATE_DIR=$PWD/vstate returns_ 0 \
	    timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" -p hi > out 2> err ||
	    return 1
	[ "$(field cli_version err)" = 2.1.300 ] || return 1
	grep -q 'event=start .*cli_version=2.1.300' err || return 1
	! grep -q 'reason=cli_version' err || return 1
	! grep -q 'cli_max_retries=ignored' err || return 1
	[ "$(grep -c '"cli_version":"2.1.300"' vstate/ledger.jsonl)" -eq 2 ] ||
	    return 1
	# Cached by path and mtime: another answer is not asked for.
	FAKE_VERSION=9.9.9 CLAUDEWRAP_STATE_DIR=$PWD/vstate returns_ 0 \
	    timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" -p hi > out 2> err ||
	    return 1
	[ "$(field cli_version err)" = 2.1.300 ] || return 1
	FAKE_VERSION=9.9.9 CLAUDEWRAP_STATE_DIR=$PWD/vstate2 returns_ 0 \
	    timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" -p hi > out 2> err ||
	    return 1
	[ "$(grep -c 'event=warn reason=cli_version' err)" -eq 1 ] || return 1
	FAKE_VERSION=2.0.77 CLAUDEWRAP_STATE_DIR=$PWD/vstate3 returns_ 0 \
	    timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" -p hi > out 2> err ||
	    return 1
	grep -q 'event=start .*cli_max_retries=ignored' err &&
	    grep -q 'event=done .*requests_min=1' err
}

t_stdout_epipe() {
	# The reader is gone before delivery: a done line all the same.
	( FAKE_MODE=ok cw -p hi 2> err; echo "rc=$?" > rc ) | true
	[ "$(done_count err)" -eq 1 ] && grep -q 'Broken pipe' err &&
	    grep -q 'rc=125' rc
}

# claudewrap-report's own suite, counted here as one test.
t_report_suite() {
	CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE "$ROOT/tests/integ/t_report.sh"
}

# The life of a run (ledger, lock, heartbeat, output, logs, transcript,
# expectations, report on real runs), counted here as one test.
t_life_suite() {
	CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE "$ROOT/tests/integ/t_life.sh"
}

# Cron mail and CI (--quiet-ok, GitHub Actions, --lock-exit-code, JSON
# lines, rotation), counted here as one test.
t_ci_suite() {
	CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE "$ROOT/tests/integ/t_ci.sh"
}

# Faults around claudewrap (EPIPE, a full spool, few descriptors, a
# stopped or deaf CLI, clock jumps, bad input), counted here as one test.
t_faults_suite() {
	CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE "$ROOT/tests/integ/t_faults.sh"
}

# Field-grade promises (issue 12), counted here as one test.
t_field_suite() {
	CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE "$ROOT/tests/integ/t_field.sh"
}

# Transactions (issue 16): --rollback, --verify, --resume-on-retry in
# real git repositories, counted here as one test.
t_txn_suite() {
	CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE "$ROOT/tests/integ/t_txn.sh"
}

# What a run cost the machine, and --max-memory, counted as one test.
t_usage_suite() {
	CLAUDEWRAP=$CLAUDEWRAP "$ROOT/tests/integ/t_usage.sh"
}

# Fleet mode against a real redis-server (issue 15), counted as one test.
t_fleet_suite() {
	CLAUDEWRAP=$CLAUDEWRAP FAKE=$FAKE "$ROOT/tests/integ/t_fleet.sh"
}

for t in $(declare -F | awk '$3 ~ /^t_/ { print $3 }'); do
	run_test "$t"
done
summary
