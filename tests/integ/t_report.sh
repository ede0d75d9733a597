#!/usr/bin/env bash
# claudewrap-report through the real binary: $CLAUDEWRAP run under the
# name claudewrap-report (a symlink), as an installed copy is. Exit codes
# first, then what a person or a collector reads. With $FAKE (the fake
# CLI), one more test runs claudewrap itself and reads back its ledger.
# Exits 0 when every test passed, 1 otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 1
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Nothing from the user's own state dir or ledger.
export XDG_STATE_HOME=/nonexistent-state
unset CLAUDEWRAP_LEDGER CLAUDEWRAP_STATE_DIR
. tests/lib.sh

BIN="$TMP_ROOT/bin"
mkdir -p "$BIN"
ln -s "$CLAUDEWRAP" "$BIN/claudewrap-report"
REPORT="$BIN/claudewrap-report"

A1=a1a1a1a1-0000-4000-8000-000000000001
A2=a2a2a2a2-0000-4000-8000-000000000002
B1=b1b1b1b1-0000-4000-8000-000000000003
B2=b2b2b2b2-0000-4000-8000-000000000004

sha() { sha256sum "$1" | cut -c1-64; }

# squeezed FILE: its lines with runs of blanks made one space.
squeezed() { tr -s ' ' < "$1"; }

# has_line FILE LINE: FILE has LINE exactly, blanks squeezed.
has_line() {
	squeezed "$1" | grep -qxF -- "$2" && return 0
	echo "    no line '$2' in $1:" >&2
	sed 's/^/      /' "$1" >&2
	return 1
}

# Two days, three statuses, one lost run, one unreadable line; out.md
# written by A1.
fixture() {
	printf 'the answer\n' > out.md
	cat > ledger.jsonl <<-EOF
	{"event":"start","run":"$A1","ts":"2026-11-21T08:00:00.000Z","tag":"nightly","pid":10,"host":"h","prompt_bytes":42,"prompt_sha":"0123456789ab"}
	{"event":"done","run":"$A1","ts":"2026-11-21T08:01:00.000Z","tag":"nightly","status":"ok","exit":0,"attempts":1,"requests":1,"duration_ms":60000,"model":"claude-test","input_tokens":100,"output_tokens":50,"cost_usd":0.01,"prompt_sha":"0123456789ab","prompt_bytes":42,"output":{"path":"$PWD/out.md","size":11,"sha256":"$(sha out.md)"}}
	{"event":"start","run":"$A2","ts":"2026-11-21T09:00:00.000Z","tag":"nightly"}
	{"event":"done","run":"$A2","ts":"2026-11-21T09:00:30.000Z","tag":"nightly","status":"rate_limited","exit":43,"input_tokens":5}
	this line is not JSON
	{"event":"done","run":"$B1","ts":"2026-11-22T10:00:00.000Z","status":"ok","exit":0,"input_tokens":7,"output_tokens":3,"cost_usd":0.0005}
	{"event":"start","run":"$B2","ts":"2026-11-22T11:00:00.000Z","tag":"hourly","pid":11,"host":"gone"}
	EOF
}

t_report_text() {
	fixture
	returns_ 0 "$REPORT" --ledger=ledger.jsonl > out 2> err || return 1
	[ ! -s err ] || return 1
	has_line out "2026-11-21 ok 1 100 50 0.0100" &&
	    has_line out "2026-11-21 rate_limited 1 5 0 0.0000" &&
	    has_line out "2026-11-22 ok 1 7 3 0.0005" &&
	    has_line out "total all 3 112 53 0.0105" &&
	    has_line out "lost (started, never finished): 1" &&
	    has_line out " $B2 2026-11-22T11:00:00.000Z hourly" &&
	    has_line out "unreadable lines skipped: 1"
}

t_report_ledger_from_env() {
	fixture
	mkdir -p state
	cp ledger.jsonl state/
	CLAUDEWRAP_STATE_DIR=$PWD/state returns_ 0 "$REPORT" > out || return 1
	has_line out "total all 3 112 53 0.0105" || return 1
	CLAUDEWRAP_LEDGER=$PWD/ledger.jsonl returns_ 0 "$REPORT" --json > out ||
	    return 1
	grep -q '"totals":{"runs":3,' out
}

t_report_since() {
	fixture
	returns_ 0 "$REPORT" --ledger=ledger.jsonl --since=2026-11-22 > out ||
	    return 1
	has_line out "total all 1 7 3 0.0005" && ! grep -q 2026-11-21 out
}

t_report_bad_since_125() {
	fixture
	returns_ 125 "$REPORT" --ledger=ledger.jsonl --since=xyz > out 2> err ||
	    return 1
	[ ! -s out ] &&
	    [ "$(cat err)" = "claudewrap-report: --since: bad value 'xyz'" ]
}

t_report_missing_ledger_1() {
	returns_ 1 "$REPORT" --ledger="$PWD/nope.jsonl" > out 2> err ||
	    return 1
	[ "$(cat err)" = "claudewrap-report: $PWD/nope.jsonl: No such file or directory" ]
}

t_report_prom_file() {
	fixture
	mkdir textfile
	returns_ 0 "$REPORT" --ledger=ledger.jsonl \
	    --prom="$PWD/textfile/claudewrap.prom" > out 2> err || return 1
	[ ! -s out ] && [ "$(ls -A textfile)" = claudewrap.prom ] || return 1
	f=textfile/claudewrap.prom
	has_line "$f" "# TYPE claudewrap_runs_total counter" &&
	    has_line "$f" 'claudewrap_runs_total{tag="nightly",status="ok"} 1' &&
	    has_line "$f" 'claudewrap_runs_total{tag="nightly",status="rate_limited"} 1' &&
	    has_line "$f" 'claudewrap_lost_runs{tag="hourly"} 1' &&
	    has_line "$f" 'claudewrap_last_success_timestamp_seconds{tag="nightly"} 1795248060.000' &&
	    has_line "$f" 'claudewrap_tokens_total{tag="nightly",kind="input"} 105' || return 1
	# A failed write leaves the old file and no temp file.
	cp "$f" before
	returns_ 1 "$REPORT" --ledger=ledger.jsonl --prom="$PWD/textfile" \
	    2> err || return 1
	cmp -s before "$f" && [ "$(ls -A textfile)" = claudewrap.prom ]
}

t_report_logfmt_stdin() {
	cat > log <<-'EOF'
	cron: starting
	claudewrap: ts=2026-11-23T08:00:00.000Z level=info run=c1c1c1c1-0000-4000-8000-000000000001 tag="my \"job\"" event=start
	the CLI's own stderr: event=done status=ok
	claudewrap: ts=2026-11-23T08:00:02.000Z level=info run=c1c1c1c1-0000-4000-8000-000000000001 tag="my \"job\"" event=done status=ok exit=0 input_tokens=5 output_tokens=3 cost_usd=0.001 detail="said \"hi\" = fine"
	claudewrap: {"ts":"2026-11-23T09:00:00.000Z","level":"info","run":"c2c2c2c2-0000-4000-8000-000000000002","event":"start","tag":"json"}
	claudewrap: ts=2026-11-23T10:00:00.000Z event=done status="unterminated
	EOF
	returns_ 0 "$REPORT" - < log > out 2> err || return 1
	has_line out "2026-11-23 ok 1 5 3 0.0010" &&
	    has_line out "lost (started, never finished): 1" &&
	    has_line out "unreadable lines skipped: 1" || return 1
	returns_ 0 "$REPORT" --stdin --prom < log > out || return 1
	has_line out 'claudewrap_runs_total{tag="my \"job\"",status="ok"} 1'
}

t_report_which() {
	fixture
	returns_ 0 "$REPORT" --ledger=ledger.jsonl --which out.md > out ||
	    return 1
	grep -q "written by run $A1" out && has_line out " prompt 0123456789ab (42 bytes)" &&
	    has_line out " model claude-test" || return 1
	# Overwritten after the run: no run wrote these bytes.
	printf 'edited\n' > out.md
	returns_ 1 "$REPORT" --ledger=ledger.jsonl --which out.md > out ||
	    return 1
	grep -q 'no run in the ledger wrote its current content' out &&
	    grep -q "run $A1 (tag nightly) wrote this path at 2026-11-21T08:01:00.000Z" out ||
	    return 1
	returns_ 1 "$REPORT" --ledger=ledger.jsonl --which missing.md 2> err &&
	    grep -q 'missing.md: No such file or directory' err
}

t_report_explain() {
	fixture
	returns_ 0 "$REPORT" --ledger=ledger.jsonl --explain a1a1a1a1 > out ||
	    return 1
	[ "$(grep -c '^[1-5]\. ' out)" -eq 5 ] &&
	    grep -q '^1\. did the call happen? *yes — ' out &&
	    grep -q '^3\. did it reach the caller? *yes — done record: status ok' out &&
	    grep -q '^5\. did downstream get it? *yes — ' out || return 1
	returns_ 0 "$REPORT" --ledger=ledger.jsonl --explain "$B2" > out ||
	    return 1
	grep -q '^3\. did it reach the caller? *no — the run never finished (lost): last known: start at 2026-11-22T11:00:00.000Z, pid 11 on gone' out ||
	    return 1
	returns_ 1 "$REPORT" --ledger=ledger.jsonl --explain 99999999 2> err
}

# The whole loop: claudewrap writes the ledger, the report reads it.
t_report_reads_a_real_run() {
	CLAUDEWRAP_STATE_DIR=$PWD/state timeout -k 5 60 "$CLAUDEWRAP" \
	    --claude="$FAKE" --tag=e2e --output=answer.txt -p hi 2> err ||
	    return 1
	[ -s state/ledger.jsonl ] || { echo "    no ledger written"; return 1; }
	run=$(field run err)
	# From another directory: the record must name the file absolutely.
	here=$PWD
	mkdir elsewhere
	( cd elsewhere &&
	    CLAUDEWRAP_STATE_DIR=$here/state returns_ 0 "$REPORT" \
	    --which "$here/answer.txt" > ../out ) || return 1
	grep -q "answer.txt: written by run $run" out &&
	    has_line out " tag e2e" || return 1
	( cd elsewhere &&
	    CLAUDEWRAP_STATE_DIR=$here/state returns_ 0 "$REPORT" \
	    --explain "$run" > ../out ) || return 1
	grep -q '^4\. did it write what it parsed? *yes — ' out &&
	    grep -q '^5\. did downstream get it? *yes — ' out
}

# A run in progress is running, not lost; SIGKILLed, it is lost. A live
# pid that began after its start record is a reused pid: lost.
t_report_running_is_not_lost() {
	local pid run
	FAKE_MODE=hang FAKE_PIDS=$PWD/pids CLAUDEWRAP_STATE_DIR=$PWD/state \
	    "$CLAUDEWRAP" --claude="$FAKE" --timeout=60s -p hi 2> err &
	pid=$!
	retry_ 20 grep -q '"event":"start"' state/ledger.jsonl ||
	    { kill -KILL "$pid"; return 1; }
	run=$(grep -o '"run":"[^"]*"' state/ledger.jsonl | cut -d'"' -f4)
	CLAUDEWRAP_STATE_DIR=$PWD/state "$REPORT" > out 2>&1
	CLAUDEWRAP_STATE_DIR=$PWD/state "$REPORT" --explain "$run" > explain
	kill -KILL "$pid"
	wait "$pid" 2> /dev/null
	retry_ 10 none_alive pids || { kill_listed pids; return 1; }
	has_line out "running now (started, no done record yet, pid alive on this host): 1" &&
	    ! grep -q '^lost' out &&
	    grep -q '^3\. did it reach the caller? *not yet — the run is still running: start at' explain ||
	    return 1
	returns_ 0 "$REPORT" --ledger=state/ledger.jsonl > out || return 1
	has_line out "lost (started, never finished): 1" &&
	    ! grep -q '^running now' out || return 1
	printf '{"event":"start","run":"%s","ts":"2020-01-01T00:00:00.000Z","pid":%d,"host":"%s"}\n' \
	    "$A1" "$$" "$(hostname)" > reused.jsonl
	returns_ 0 "$REPORT" --ledger=reused.jsonl > out || return 1
	has_line out "lost (started, never finished): 1"
}

for t in $(declare -F | awk '$3 ~ /^t_report_/ { print $3 }'); do
	case $t in
	t_report_reads_a_real_run | t_report_running_is_not_lost)
		if [ ! -x "${FAKE:-}" ]; then
			echo "skip $t (no \$FAKE)"
			continue
		fi ;;
	esac
	run_test "$t"
done
summary
