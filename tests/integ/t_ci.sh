#!/usr/bin/env bash
# claudewrap as cron mail and CI read it: --quiet-ok, GitHub Actions
# output, --lock-exit-code, the done line's level and transient=, JSON
# log lines, ledger rotation, and the status line on a terminal. The
# real binary ($CLAUDEWRAP) against the fake CLI ($FAKE). Exits 0 when
# every test passed, 1 otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
FAKE=${FAKE:-$(realpath "${FAKES:-build/fakes}")/fakeclaude}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Nothing from the user's settings, state dir or CI (isolate_env).
. tests/lib.sh

report_setup

cw() { cw_here "$@"; }

# A CLI that complains on stderr and fails.
failing_cli() {
	printf '#!/bin/sh\necho "cli trouble: quota" >&2\nexit 1\n' > bad-cli
	chmod +x bad-cli
}

# ---- --quiet-ok ------------------------------------------------------------

t_ci_quiet_ok_success_is_silent() {
	FAKE_MODE=stderr returns_ 0 cw --quiet-ok -p hi > out 2> err || return 1
	[ "$(cat out)" = hello ] && [ ! -s err ] || { cat err; return 1; }
	# A retried run that ends ok is silent too: cron mails nothing.
	printf 'x' > in
	FAKE_MODE=fail-once-stdin FAKE_STATE=$PWD/n returns_ 0 cw --quiet-ok \
	    --retries=2 --backoff=0.05s -p < in > out 2> err2 || return 1
	[ ! -s err2 ] && [ "$(cat n)" = 2 ] || { cat err2; return 1; }
	# The ledger still has the run.
	grep -q '"event":"done".*"status":"ok"' state/ledger.jsonl
}

t_ci_quiet_ok_failure_tells_all() {
	failing_cli
	cw --quiet-ok --claude="$PWD/bad-cli" -p hi > out 2> err
	rc=$?
	[ "$rc" -ne 0 ] && [ ! -s out ] || return 1
	# Everything that was held, in order, then the done line, last.
	grep -q '^claudewrap: .*event=start' err &&
	    grep -q '^cli trouble: quota$' err &&
	    [ "$(done_count err)" -eq 1 ] &&
	    tail -n 1 err | grep -q "event=done .*exit=$rc" || { cat err; return 1; }
	[ "$(grep -n '^cli trouble' err | cut -d: -f1)" -lt \
	    "$(grep -n 'event=done' err | cut -d: -f1)" ]
}

# ---- the done line ---------------------------------------------------------

t_ci_done_level_and_transient() {
	returns_ 0 cw -p hi > out 2> err || return 1
	grep -q '^claudewrap: .* level=info .*event=done .*transient=false' err ||
	    return 1
	FAKE_MODE=empty returns_ 42 cw -p hi 2> err || return 1
	grep -q '^claudewrap: .* level=error .*event=done .*transient=false' err ||
	    return 1
	# 44 is transient, and still an error: the job failed.
	printf 'x' > in
	FAKE_MODE=fail-once-stdin FAKE_STATE=$PWD/n returns_ 44 cw --retries=1 \
	    -p < in 2> err || return 1
	grep -q '^claudewrap: .* level=error .*event=done status=unavailable exit=44 transient=true' err ||
	    { cat err; return 1; }
	returns_ 125 cw --timeout=nope -p hi 2> err || return 1
	grep -q 'level=error .*event=done .*transient=false' err
}

t_ci_json_lines_are_bare() {
	FAKE_MODE=stderr returns_ 0 cw --log-format=json --output=o.txt \
	    -p hi > out 2> err || return 1
	grep -q '^cli says hi$' err && ! grep -q '^claudewrap: ' err || return 1
	# What jq would read: every line of ours one object; the output
	# fields flat, as on a logfmt line.
	grep -v '^cli says hi$' err > ours
	python3 - ours "$(sha256sum o.txt | cut -c1-64)" "$PWD/o.txt" <<-'PY'
	import json, sys
	evs = [json.loads(l) for l in open(sys.argv[1])]
	assert len(evs) >= 3 and all("event" in e for e in evs), evs
	d = evs[-1]
	assert d["event"] == "done" and d["level"] == "info", d
	assert d["transient"] is False, d
	assert d["output_sha256"] == sys.argv[2], d
	assert d["output_path"] == sys.argv[3] and d["output_size"] == 6, d
	assert "output" not in d, d
	PY
}

# ---- GitHub Actions --------------------------------------------------------

t_ci_github_actions() {
	failing_cli
	GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$PWD/summary.md \
	    cw --tag='nightly|a' --claude="$PWD/bad-cli" -p hi > out 2> err
	rc=$?
	[ "$rc" -ne 0 ] || return 1
	status=$(field status err)
	[ "$(grep -c '^::error ' err)" -eq 1 ] &&
	    grep -q "^::error title=claudewrap $status::." err ||
	    { cat err; return 1; }
	GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$PWD/summary.md \
	    returns_ 0 cw --tag=hourly -p hi > out 2> err2 || return 1
	! grep -q '^::' err2 || return 1
	run1=$(field run err | cut -c1-8)
	run2=$(field run err2 | cut -c1-8)
	# One header, then a row per run; a pipe in a tag escaped.
	[ "$(wc -l < summary.md)" -eq 4 ] &&
	    [ "$(grep -c '^| run | tag | status | exit |' summary.md)" -eq 1 ] &&
	    grep -q "^| \`$run1\` | nightly\\\\|a | \\*\\*$status\\*\\* | $rc | 1 | " summary.md &&
	    grep -q "^| \`$run2\` | hourly | ok | 0 | 1 | .* | 0.0010 |  |\$" summary.md ||
	    { cat summary.md; return 1; }
	# Outside Actions: neither.
	GITHUB_STEP_SUMMARY=$PWD/summary2.md cw --claude="$PWD/bad-cli" \
	    -p hi 2> err3
	! grep -q '^::' err3 && [ ! -e summary2.md ]
}

# ---- --lock-exit-code ------------------------------------------------------

t_ci_lock_exit_code() {
	local pid
	FAKE_MODE=gate FAKE_GATE=$PWD/go cw --lock=job -p hi > out1 2> err1 &
	pid=$!
	retry_ 20 grep -q 'event=attempt' err1 || { touch go; wait; return 1; }
	cw --lock=job --lock-exit-code=0 -p hi > out2 2> err2
	rc2=$?
	cw --lock=job -p hi > out3 2> err3
	rc3=$?
	CLAUDEWRAP_LOCK_EXIT_CODE=3 cw --lock=job -p hi > out4 2> err4
	rc4=$?
	touch go
	wait "$pid" || return 1
	[ "$rc2" -eq 0 ] && [ "$(field status err2)" = locked ] &&
	    [ "$(field exit err2)" = 0 ] && grep -q ' level=warn .*event=done' err2 ||
	    { echo "rc2=$rc2"; cat err2; return 1; }
	[ "$rc3" -eq 75 ] && grep -q ' level=error .*event=done .*exit=75 transient=true' err3 ||
	    { echo "rc3=$rc3"; cat err3; return 1; }
	[ "$rc4" -eq 3 ] && [ "$(field exit err4)" = 3 ] || return 1
	# A skip that exits 0 is not a failure in the report.
	returns_ 0 "$REPORT" state/ledger.jsonl > rep || return 1
	grep -q '^failed runs: 2$' rep || { cat rep; return 1; }
	returns_ 125 cw --lock-exit-code=256 -p hi 2> err5 &&
	    grep -q -- '--lock-exit-code: bad value' err5
}

# ---- rotation --------------------------------------------------------------

t_ci_ledger_rotates() {
	local i
	for i in $(seq 1 16); do
		returns_ 0 cw --ledger-max=1K --tag="r$i" -p hi > /dev/null 2>&1 ||
		    return 1
	done
	[ -s state/ledger.jsonl.1 ] && [ -s state/ledger.jsonl.3 ] &&
	    [ ! -e state/ledger.jsonl.4 ] || { ls -l state; return 1; }
	[ "$(stat -c %s state/ledger.jsonl)" -le 4096 ] || return 1
	[ "$(stat -c %a state/ledger.jsonl.1)" = 600 ] || return 1
	# The report reads the rotated files: every done record kept.
	kept=$(cat state/ledger.jsonl.3 state/ledger.jsonl.2 state/ledger.jsonl.1 \
	    state/ledger.jsonl | grep -c '"event":"done"')
	[ "$kept" -ge 4 ] && [ "$kept" -lt 16 ] || { echo "kept=$kept"; return 1; }
	returns_ 0 "$REPORT" --json state/ledger.jsonl > rep.json || return 1
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
assert j["totals"]["runs"] == int(sys.argv[2]), (j["totals"], sys.argv[2])
' rep.json "$kept" || return 1
	# The newest run is in the live file, the oldest ones dropped.
	grep -q '"tag":"r16"' state/ledger.jsonl && ! grep -q '"tag":"r1"' \
	    state/ledger.jsonl*
	# Off, and bad sizes.
	returns_ 0 cw --ledger-max=0 --ledger="$PWD/l.jsonl" -p hi > /dev/null \
	    2>&1 || return 1
	for v in 12X "" -1 1.5Q 64MX 99999999999G 9223372036854775808; do
		returns_ 125 cw --ledger-max="$v" -p hi 2> err &&
		    grep -q -- "--ledger-max: bad value '$v'" err || return 1
	done
	for v in 256 -1 abc ""; do
		returns_ 125 cw --lock-exit-code="$v" -p hi 2> err || return 1
	done
	returns_ 0 cw --ledger-max=64m --ledger="$PWD/l.jsonl" -p hi > /dev/null \
	    2>&1
}

# ---- the status line -------------------------------------------------------

t_ci_status_line_erased_before_answer() {
	# stdout and stderr the same terminal (script(1) makes a pty): the
	# answer starts on a clean line, not glued to "attempt 1/4 running".
	FAKE_MODE=trickle FAKE_SECS=2 CLAUDEWRAP_STATE_DIR=$PWD/st \
	    script -qec "$CLAUDEWRAP --claude=$FAKE -p hi" /dev/null > tty.out ||
	    return 1
	grep -q 'attempt 1/4 running' tty.out || return 1
	python3 - tty.out <<-'PY'
	import sys
	b = open(sys.argv[1], "rb").read()
	i = b.index(b"slow")
	assert b[:i].endswith(b"\r\x1b[K"), b[max(0, i - 40):i + 6]
	PY
}

# ---- install --------------------------------------------------------------

# make install into a staging DESTDIR under a PREFIX, then uninstall:
# nothing left of what it made, and a directory it shares kept.
t_ci_install_uninstall() {
	[ -x "$ROOT/claudewrap" ] || { echo "skip: no release build"; return 0; }
	mkdir -p dest/opt/cw/bin
	touch dest/opt/cw/bin/other
	make -s -C "$ROOT" install DESTDIR="$PWD/dest" PREFIX=/opt/cw \
	    > /dev/null || return 1
	[ -x dest/opt/cw/bin/claudewrap ] &&
	    [ -L dest/opt/cw/bin/claudewrap-report ] &&
	    [ -f dest/opt/cw/share/man/man1/claudewrap.1 ] || return 1
	make -s -C "$ROOT" uninstall DESTDIR="$PWD/dest" PREFIX=/opt/cw \
	    > /dev/null || return 1
	[ "$(cd dest && find . | sort | tr '\n' ' ')" = \
	    ". ./opt ./opt/cw ./opt/cw/bin ./opt/cw/bin/other " ] ||
	    { find dest; return 1; }
}

for t in $(declare -F | awk '$3 ~ /^t_ci_/ { print $3 }'); do
	run_test "$t"
done
summary
