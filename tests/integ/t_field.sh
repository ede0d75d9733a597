#!/usr/bin/env bash
# Field-grade: the promises where real deployments put them (issue 12).
# Two installs on PATH, an idle stdin, odd files at state paths, SIGKILL
# of claudewrap, a CLI killed by a signal after its result, typos,
# refusals before a token is spent, unsafe state dirs, torn ledgers,
# secrets in error text, exact delivery, file size limits, a closed
# stdout. Each test has its own state dir and a time bound.
set -u
cd "$(dirname "$0")/../.." || exit 1
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
FAKE=$(realpath "${FAKE:-build/fakes/fakeclaude}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
. tests/lib.sh

cw() { cw_t "$@"; }

# result_file NAME TEXT-JSON: a stream whose result string is TEXT-JSON.
result_file() {
	printf '{"type":"system","subtype":"init"}\n{"type":"result","subtype":"success","is_error":false,"result":%s,"usage":{"input_tokens":1,"output_tokens":5}}\n' "$2" > "$1"
}

# Under scripts/valgrind.sh, $CLAUDEWRAP is a wrapper script, not the
# binary: copies of it on PATH are wrappers, which is another test.
under_valgrind() {
	[ -n "${CW_UNDER_VALGRIND:-}" ] || return 1
	echo "    skipped under valgrind (see the comment above the test)"
}

# 1. Two installs named claude on PATH: one run, one done line.
t_field_two_installs() {
	under_valgrind && return 0
	mkdir -p a b real
	cp "$CLAUDEWRAP" a/claude
	cp "$CLAUDEWRAP" b/claude
	cp "$FAKE" real/claude
	PATH=$PWD/a:$PWD/b:$PWD/real:/usr/bin:/bin CLAUDEWRAP_STATE_DIR=$T/state \
	    FAKE_PIDS=$PWD/pids returns_ 0 timeout -k 5 30 claude -p hi \
	    > out 2> err || { cat err; return 1; }
	[ "$(cat out)" = hello ] || return 1
	[ "$(done_count err)" -eq 1 ] || { cat err; return 1; }
	# A copy of the binary is known for one: the real CLI is logged.
	grep -q "claude=$PWD/real/claude" err || { cat err; return 1; }
	[ "$(wc -l < pids)" -eq 1 ] || return 1
	# Without -p: each execs the next, never itself, and ends at the CLI.
	PATH=$PWD/a:$PWD/b:$PWD/real:/usr/bin:/bin returns_ 0 \
	    timeout -k 5 30 claude --version > out2 2> err2 || return 1
	grep -q 'Fake Claude' out2 && ! grep -q 'event=done' err2 || return 1
	# Under the name claudewrap, nested in a run: exec, no second done.
	CLAUDEWRAP_RUN_ID=outer PATH=$PWD/b:$PWD/real:/usr/bin:/bin \
	    returns_ 0 timeout -k 5 30 "$CLAUDEWRAP" --tag=x -p hi > out3 \
	    2> err3 || return 1
	# (the fake prints its stream whatever it is asked: the raw CLI ran)
	grep -q '"result":"hello"' out3 && [ "$(done_count err3)" -eq 0 ]
}

# A `claude` on PATH that is a wrapper script running claudewrap: no
# circle of execs, a clear 127, at once. A claudewrap that the CLI it
# supervises runs again (its inode already listed, not as an exec in its
# place) still reaches the real CLI.
t_field_wrapper_script_loop() {
	local ino
	under_valgrind && return 0
	mkdir -p shim wrap real
	ln -s "$CLAUDEWRAP" shim/claude
	printf '#!/bin/sh\nexec "%s" "$@"\n' "$CLAUDEWRAP" > wrap/claude
	chmod +x wrap/claude
	CLAUDEWRAP_STATE_DIR=$T/state PATH=$PWD/shim:$PWD/wrap:/usr/bin:/bin \
	    returns_ 127 timeout -k 5 30 claude -p hi > out 2> err || return 1
	grep -q 'runs claudewrap again' err || return 1
	# --version through the wrapper: said so, no circle of spawns.
	PATH=$PWD/wrap:/usr/bin:/bin CLAUDEWRAP_SKIP_INODES=x$(stat -L -c \
	    '%d:%i' "$CLAUDEWRAP") timeout -k 5 30 "$CLAUDEWRAP" --version \
	    > vout 2>&1 || return 1
	grep -q 'runs claudewrap again' vout || return 1
	CLAUDEWRAP_STATE_DIR=$T/state PATH=$PWD/wrap:/usr/bin:/bin \
	    returns_ 127 timeout -k 5 30 "$CLAUDEWRAP" -p hi > out 2> err2 ||
	    return 1
	[ ! -s out ] || return 1
	cp "$FAKE" real/claude
	ino=$(stat -L -c '%d:%i' "$CLAUDEWRAP")
	CLAUDEWRAP_RUN_ID=outer CLAUDEWRAP_SKIP_INODES=$ino \
	    PATH=$PWD/real:/usr/bin:/bin returns_ 0 timeout -k 5 30 \
	    "$CLAUDEWRAP" -p hi > out3 2> err3 || return 1
	grep -q '"result":"hello"' out3
}

# 2. An open, idle stdin is given up after about 3 s, as the CLI does.
t_field_idle_stdin() {
	local start rc holder
	mkfifo in
	# A writer that holds the pipe open and never writes.
	sleep 20 > in &
	holder=$!
	start=$(date +%s%N)
	FAKE_MODE=stdin cw -p hi < in > out 2> err
	rc=$?
	kill "$holder" 2>/dev/null
	[ "$rc" -eq 0 ] || { echo "rc=$rc"; return 1; }
	[ "$(cat out)" = no-stdin ] || return 1
	# About 3 s, and well under the 20 s of the writer.
	[ "$(ms_since "$start")" -ge 2900 ] && [ "$(ms_since "$start")" -lt 15000 ]
}

# Data that starts flowing after the first byte is read to EOF.
t_field_slow_stdin_after_first_byte() {
	{ printf a; sleep 4; printf b; } | FAKE_MODE=stdin cw -p hi > out 2> err ||
	    return 1
	[ "$(cat out)" = 6162 ]
}

# 3. A FIFO at the ledger path: refused with a warning, the run ends.
t_field_fifo_ledger() {
	mkdir -p state
	mkfifo state/ledger.jsonl
	returns_ 0 cw -p hi > out 2> err || return 1
	[ "$(cat out)" = hello ] && [ "$(done_count err)" -eq 1 ] &&
	    grep -q 'reason=ledger .*error="not a regular file"' err || return 1
	# SIGTERM is serviced while it is there, too.
	mkfifo tx
	returns_ 125 cw --transcript="$PWD/tx" -p hi > out 2> err2 || return 1
	grep -q 'detail="--transcript: .*not a regular file"' err2
}

t_field_report_refuses_devices() {
	local rc
	mkfifo fifo
	ln -s "$CLAUDEWRAP" claudewrap-report
	timeout -k 2 10 ./claudewrap-report --which /dev/zero > out 2> err
	rc=$?
	[ "$rc" -ne 124 ] && [ "$rc" -ne 0 ] || return 1
	grep -q 'not a regular file' err || return 1
	timeout -k 2 10 ./claudewrap-report --ledger="$PWD/fifo" > out 2> err2
	rc=$?
	[ "$rc" -ne 124 ] && [ "$rc" -ne 0 ] && grep -q 'not a regular file' err2
}

t_field_version_bounded() {
	local start
	printf '#!/bin/sh\nexec sleep 60\n' > hang
	chmod +x hang
	start=$(date +%s%N)
	returns_ 0 timeout -k 5 30 "$CLAUDEWRAP" --claude="$PWD/hang" --version \
	    > out 2> err || return 1
	grep -q 'no answer to --version' out && [ "$(ms_since "$start")" -lt 9000 ]
}

three_pids() { [ -f pids ] && [ "$(wc -l < pids)" -ge 3 ]; }

# 4. kill -9 of claudewrap: the CLI's whole tree goes too, within the
# kill-latency budget (50 ms; a wide margin for the sanitizer build).
t_field_sigkill_leaves_nothing() {
	local pid start
	FAKE_MODE=tree-hang FAKE_PIDS=$PWD/pids "$CLAUDEWRAP" --claude="$FAKE" \
	    --state-dir="$T/state" -p hi > out 2> err &
	pid=$!
	retry_ 10 three_pids ||
	    { kill -9 "$pid"; kill_listed pids; return 1; }
	start=$(date +%s%N)
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	retry_ 5 none_alive pids || { echo "survivors:"; cat pids; kill_listed pids; return 1; }
	echo "gone in $(ms_since "$start") ms"
	[ "$(ms_since "$start")" -lt 2000 ]
}

# 5. A result, then death by a signal we did not send: not ok.
t_field_signal_after_result() {
	result_file r.jsonl '"a fine answer"'
	FAKE_MODE=file FAKE_FILE=$PWD/r.jsonl FAKE_SIG=11 returns_ 45 \
	    cw -p hi > out 2> err || return 1
	[ ! -s out ] && grep -q 'detail="killed by SIGSEGV after its result"' err ||
	    return 1
	FAKE_MODE=file FAKE_FILE=$PWD/r.jsonl FAKE_SIG=9 returns_ 45 \
	    cw -p hi > out 2> err2 || return 1
	FAKE_MODE=file FAKE_FILE=$PWD/r.jsonl returns_ 0 cw -p hi > out 2> err3
}

# 6. A misspelt wrapper option: 125 and a suggestion, the CLI never run.
t_field_typo() {
	FAKE_PIDS=$PWD/pids returns_ 125 cw --timout=5 -p hi > out 2> err ||
	    return 1
	[ ! -e pids ] && grep -q 'did you mean --timeout?' err || return 1
	FAKE_PIDS=$PWD/pids returns_ 125 cw --retires=2 -p hi 2> err2 || return 1
	grep -q 'did you mean --retries?' err2 || return 1
	# The CLI's own options, and ones far from ours, pass through.
	FAKE_MODE=args returns_ 0 cw --model x --some-new-flag -p hi > out 2> err3 ||
	    return 1
	grep -q 'arg\[.*\]=--some-new-flag' err3 && grep -q 'arg\[.*\]=--model' err3
}

# 7. Refused before anything runs.
t_field_refused_early() {
	FAKE_PIDS=$PWD/pids returns_ 125 cw --output=/no/such/dir/x -p hi 2> e1 ||
	    return 1
	grep -q 'detail="--output: /no/such/dir/x: No such file or directory"' e1 ||
	    return 1
	mkdir d
	FAKE_PIDS=$PWD/pids returns_ 125 cw --output="$PWD/d" -p hi 2> e2 || return 1
	grep -q 'Is a directory' e2 || return 1
	FAKE_PIDS=$PWD/pids returns_ 125 cw --lock=.. -p hi 2> e3 || return 1
	grep -q "detail=\"--lock: bad name '..'" e3 || return 1
	LC_ALL=C grep -q $'[\x01-\x08]' e3 && return 1
	FAKE_PIDS=$PWD/pids returns_ 125 cw --lock=../esc -p hi 2> e4 || return 1
	[ ! -e ../esc ] && [ ! -e ../esc.lock ] || return 1
	# A conflict is 125 even with no CLI to be found.
	returns_ 125 env CLAUDEWRAP_STATE_DIR="$T/state" "$CLAUDEWRAP" \
	    --claude=/nonexistent --passthrough --transcript=x -p hi 2> e5 || return 1
	# --max-prompt-bytes before the lock wait.
	cw --lock=job -p hi > /dev/null 2>&1 &
	FAKE_PIDS=$PWD/pids returns_ 45 cw --lock=job --lock-wait=30s \
	    --max-prompt-bytes=1 -p 'too long' 2> e6 || return 1
	wait
	[ ! -e pids ]
}

# 8. A state dir others can write: not used; modes narrowed.
t_field_state_dir_modes() {
	mkdir -p open
	chmod 0777 open
	returns_ 0 env CLAUDEWRAP_STATE_DIR="$PWD/open" timeout 30 "$CLAUDEWRAP" \
	    --claude="$FAKE" -p hi > out 2> err || return 1
	grep -q 'reason=state_dir .*writable by others' err || return 1
	[ ! -e open/ledger.jsonl ] || return 1
	returns_ 125 env CLAUDEWRAP_STATE_DIR="$PWD/open" timeout 30 "$CLAUDEWRAP" \
	    --claude="$FAKE" --lock=job -p hi > out 2> err2 || return 1
	mkdir -p state
	chmod 0700 state
	: > state/ledger.jsonl
	chmod 0644 state/ledger.jsonl
	returns_ 0 cw --heartbeat="$PWD/hb" -p hi > out 2> err3 || return 1
	grep -q 'reason=mode_fixed' err3 || return 1
	[ "$(stat -c %a state/ledger.jsonl)" = 600 ] &&
	    [ "$(stat -c %a hb)" = 600 ]
}

# 9. A torn last line does not swallow the next record.
t_field_torn_ledger() {
	mkdir -p state
	printf '{"event":"start","run":"torn' > state/ledger.jsonl
	returns_ 0 cw -p hi > out 2> err || return 1
	[ "$(grep -c '^{"event":"start","run":"[0-9a-f-]*"' state/ledger.jsonl)" -eq 1 ] &&
	    [ "$(grep -c '"event":"done"' state/ledger.jsonl)" -eq 1 ]
}

# 10. A secret repeated in the CLI's error text is never logged.
t_field_secret_redacted() {
	printf '{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key sk-ant-supersecret-123"}\n' > r.jsonl
	ANTHROPIC_API_KEY=sk-ant-supersecret-123 FAKE_MODE=file \
	    FAKE_FILE=$PWD/r.jsonl FAKE_EXIT=1 returns_ 46 cw -p hi > out 2> err ||
	    return 1
	! grep -q supersecret err && ! grep -q supersecret state/ledger.jsonl &&
	    grep -q 'redacted' err
}

# 11. Exact delivery: NUL bytes, and a clear word on unreadable lines.
t_field_exact_text() {
	result_file r1.jsonl '"a\u0000b"'
	FAKE_MODE=file FAKE_FILE=$PWD/r1.jsonl returns_ 0 cw -p hi > out 2> err ||
	    return 1
	[ "$(od -An -c out | tr -d ' ')" = 'a\0b\n' ] || { od -c out; return 1; }
	result_file r2.jsonl '"\u0000x"'
	FAKE_MODE=file FAKE_FILE=$PWD/r2.jsonl returns_ 0 cw -p hi > out 2> err ||
	    return 1
	[ "$(od -An -c out | tr -d ' ')" = '\0x\n' ] || return 1
	# A lone surrogate (Node writes one for a cut emoji): U+FFFD, as the
	# CLI prints it in text mode; json mode gets the CLI's bytes.
	result_file r3.jsonl '"x\ud83d y"'
	FAKE_MODE=file FAKE_FILE=$PWD/r3.jsonl returns_ 0 cw -p hi > out 2> err ||
	    return 1
	[ "$(od -An -tx1 out | tr -d ' \n')" = 78efbfbd20790a ] || { od -c out; return 1; }
	FAKE_MODE=file FAKE_FILE=$PWD/r3.jsonl returns_ 0 cw --output-format=json \
	    -p hi > out 2> err || return 1
	grep -q '"result":"x\\ud83d y"' out || return 1
	# Nesting past cJSON's 1,000 levels: refused, and said so.
	python3 -c 'print("{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"x\",\"d\":" + "[" * 1200 + "]" * 1200 + "}")' > r4.jsonl
	FAKE_MODE=file FAKE_FILE=$PWD/r4.jsonl returns_ 47 cw -p hi > out 2> err ||
	    return 1
	grep -q 'nesting deeper than 1000 levels' err
}

# 12. Past ulimit -f: EFBIG, 125, no partial file; not SIGXFSZ.
t_field_file_size_limit() {
	local rc
	[ -n "${CW_UNDER_VALGRIND:-}" ] && return 0
	( ulimit -f 64; FAKE_MODE=big-result FAKE_BYTES=200000 cw \
	    --output="$PWD/answer" -p hi > out 2> err )
	rc=$?
	[ "$rc" -eq 125 ] || { echo "rc=$rc"; return 1; }
	[ ! -e answer ] && ! ls .answer.* > /dev/null 2>&1 &&
	    grep -q 'File too large' err
}

# 13. A closed stdout and no --output: 125 before the CLI runs.
# (Not under valgrind: its log file is opened first and takes fd 1.)
t_field_closed_stdout() {
	under_valgrind && return 0
	FAKE_PIDS=$PWD/pids returns_ 125 cw -p hi >&- 2> err || return 1
	[ ! -e pids ] && grep -q 'stdout is closed' err || return 1
	FAKE_PIDS=$PWD/pids returns_ 0 cw --output="$PWD/a" -p hi >&- 2> err2 ||
	    return 1
	[ "$(cat a)" = hello ]
}

# 14. Under the name claude, a bad CLAUDEWRAP_* does not stop `claude mcp list`.
t_field_masquerade_bad_env() {
	mkdir -p shim real
	ln -s "$CLAUDEWRAP" shim/claude
	cp "$FAKE" real/claude
	CLAUDEWRAP_TIMEOUT=bogus PATH=$PWD/shim:$PWD/real:/usr/bin:/bin \
	    returns_ 0 claude --version > out 2> err || return 1
	grep -q 'Fake Claude' out || return 1
	CLAUDEWRAP_TIMEOUT=bogus PATH=$PWD/shim:$PWD/real:/usr/bin:/bin \
	    returns_ 125 claude -p hi > out 2> err2
}

# 15. A reset time in plain text is honoured (passthrough text).
t_field_text_reset_time() {
	local when
	when=$(( $(date +%s) + 3600 ))
	printf 'Claude AI usage limit reached|%s\n' "$when" > r.txt
	FAKE_MODE=file FAKE_FILE=$PWD/r.txt FAKE_EXIT=1 returns_ 43 \
	    cw --passthrough --deadline=60s -p hi > out 2> err || return 1
	grep -q "reset_at=$(date -u -d "@$when" +%Y-%m-%dT%H:%M)" err &&
	    grep -q 'beyond the deadline' err || return 1
	# The prose form, in text: read by the same parser.
	printf '5-hour limit reached \342\210\231 resets %s (UTC)\n' \
	    "$(date -u -d '+3 hours' +%-I%p | tr 'APM' 'apm')" > r3.txt
	FAKE_MODE=file FAKE_FILE=$PWD/r3.txt FAKE_EXIT=1 returns_ 43 \
	    cw --state-dir="$T/state3" --passthrough --deadline=60s -p hi \
	    > out 2> err3 || return 1
	grep -q 'reset_at=' err3 && grep -q 'beyond the deadline' err3 || return 1
	# "|5" is no reset time (1970), and is not logged as one.
	printf 'Claude AI usage limit reached|5\n' > r2.txt
	FAKE_MODE=file FAKE_FILE=$PWD/r2.txt FAKE_EXIT=1 returns_ 43 \
	    cw --state-dir="$T/state2" --passthrough --retries=2 --backoff=0.1s \
	    -p hi > out 2> err2 || return 1
	! grep -q 'reset_at=1970' err2
}

# 16. The smaller ones.
t_field_small() {
	mkdir -p locked
	printf '#!/bin/sh\necho hi\n' > locked/claude
	chmod +x locked/claude
	chmod 0 locked
	if [ "$(id -u)" -ne 0 ]; then
		returns_ 126 cw --claude="$PWD/locked/claude" -p hi 2> e1 ||
		    { chmod 700 locked; return 1; }
	fi
	chmod 700 locked
	if [ -w /dev/full ]; then
		returns_ 125 "$CLAUDEWRAP" --help > /dev/full 2> e2 || return 1
	fi
	mkdir -p shim real
	ln -s "$CLAUDEWRAP" shim/claude
	PATH=$PWD/shim:/usr/bin:/bin returns_ 127 claude --version 2> e3 ||
	    return 1
	grep -q 'duration_ms=' e3 || return 1
	returns_ 125 cw --timeout=x --log-format=json -p hi 2> e4 || return 1
	python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["event"]=="done" and "--timeout" in d["detail"]' < e4 ||
	    return 1
	returns_ 125 cw --allow-empty= -p hi 2> e5 || return 1
	grep -q -- '--allow-empty' e5
}

# The harness itself: `field` reads logfmt pairs, so an " exit=" quoted
# inside a detail is not the exit field.
t_field_helper_reads_logfmt() {
	printf '%s\n' 'claudewrap: ts=t level=error run=r event=done status=claude_error exit=45 detail="is_error exit=1: \"q\" x" requests=2' > l
	[ "$(field exit l)" = 45 ] && [ "$(field detail l)" = 'is_error exit=1: "q" x' ] &&
	    [ "$(field requests l)" = 2 ] && [ -z "$(field nope l)" ]
}

# Arguments: only the tests named.
# (the names are shell words: splitting them is what is meant)
# shellcheck disable=SC2046
[ $# -gt 0 ] || set -- $(declare -F | awk '$3 ~ /^t_field_/ { print $3 }')
for t in "$@"; do
	run_test "$t"
done
summary
