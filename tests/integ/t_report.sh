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
	# One day: no totals block repeating it.
	has_line out "2026-11-22 ok 1 7 3 0.0005" && ! grep -q 2026-11-21 out &&
	    ! grep -q '^total' out
}

# today and yesterday are UTC days, as the report's.
t_report_since_today() {
	python3 - <<-'PY' > ledger.jsonl
	import json, time
	day = 86400000
	mid = int(time.time() * 1000) // day * day
	for i, t in enumerate((mid - 2 * day + 1000, mid - day + 1000, mid + 1000)):
	    print(json.dumps({"event": "done", "run": "r%d" % i, "ts_ms": t,
	        "status": "ok", "input_tokens": 10 ** i}))
	PY
	returns_ 0 "$REPORT" --since=today ledger.jsonl > out || return 1
	grep -q ' 1  *100  ' out && ! grep -q '^total' out || { cat out; return 1; }
	returns_ 0 "$REPORT" --since=yesterday ledger.jsonl > out || return 1
	has_line out "total all 2 110 0 0.0000"
}

t_report_version() {
	returns_ 0 "$REPORT" --version > out || return 1
	grep -qx 'claudewrap-report [0-9][0-9.]*' out
}

# Ledger files as arguments, as `last -f` takes one, rotated copies
# included: one history however it is cut.
t_report_files_as_arguments() {
	fixture
	returns_ 0 "$REPORT" --ledger=ledger.jsonl > want || return 1
	returns_ 0 "$REPORT" ledger.jsonl > out || return 1
	diff want out || return 1
	# Rotated: the first four lines in .1 (no final newline: the seam
	# must not glue two records), the rest in the live file.
	head -n 4 ledger.jsonl | head -c -1 > rot.jsonl.1
	tail -n +5 ledger.jsonl > rot.jsonl
	returns_ 0 "$REPORT" rot.jsonl > out || return 1
	has_line out "total all 3 112 53 0.0105" &&
	    has_line out "unreadable lines skipped: 1" || return 1
	# Two files named, and a file that is missing: 1, named.
	head -n 4 ledger.jsonl > a.jsonl
	tail -n +5 ledger.jsonl > b.jsonl
	returns_ 0 "$REPORT" a.jsonl b.jsonl > out || return 1
	has_line out "ledger a.jsonl and 1 more" &&
	    has_line out "total all 3 112 53 0.0105" || return 1
	returns_ 1 "$REPORT" a.jsonl nope.jsonl 2> err || return 1
	[ "$(cat err)" = "claudewrap-report: nope.jsonl: No such file or directory" ] ||
	    return 1
	returns_ 125 "$REPORT" --ledger=a.jsonl b.jsonl 2> err
}

# The morning's questions: what failed, and how each job is doing.
t_report_failures_and_tags() {
	fixture
	returns_ 0 "$REPORT" ledger.jsonl > out || return 1
	has_line out "failed runs: 1" &&
	    has_line out " 2026-11-21 09:00:30 a2a2a2a2 nightly rate_limited" &&
	    has_line out " tag runs failed last ok last failure p50 p95 cost_usd" &&
	    has_line out " nightly 2 1 2026-11-21 08:01:00 2026-11-21 09:00:30 1m00s 1m00s 0.0100" &&
	    has_line out " - 1 0 2026-11-22 10:00:00 - - - 0.0005" || return 1
	returns_ 0 "$REPORT" --json ledger.jsonl > out.json || return 1
	python3 - "$A2" out.json <<-'PY'
	import json, sys
	j = json.load(open(sys.argv[2]))
	f = j["failures"]
	assert [x["run"] for x in f] == [sys.argv[1]], f
	assert f[0]["status"] == "rate_limited" and f[0]["exit"] == 43, f
	assert f[0]["ts"] == "2026-11-21T09:00:30.000Z", f
	t = {x["tag"]: x for x in j["tags"]}
	n = t["nightly"]
	assert (n["runs"], n["failures"], n["p50_ms"], n["p95_ms"]) == 	    (2, 1, 60000, 60000), n
	assert n["last_ok"] == "2026-11-21T08:01:00.000Z", n
	assert n["last_failure"] == "2026-11-21T09:00:30.000Z", n
	assert abs(n["cost_usd"] - 0.01) < 1e-9, n
	assert t[""]["last_failure"] is None, t
	PY
}

# p50 and p95 over many runs, by nearest rank.
t_report_tag_percentiles() {
	python3 - <<-'PY' > ledger.jsonl
	import json
	for i in range(1, 101):
	    print(json.dumps({"event": "done", "run": "r%d" % i,
	        "ts": "2026-11-20T10:%02d:00Z" % (i % 60), "tag": "t",
	        "status": "ok", "exit": 0, "duration_ms": i * 1000}))
	PY
	returns_ 0 "$REPORT" ledger.jsonl > out || return 1
	grep -q '^  t  *100  *0 .* 50\.0s  *1m35s ' out || { cat out; return 1; }
}

# 14 days of 3 to 8 good runs, and one day of 400 empty answers: the
# spike is the one full block of its line.
t_report_sparklines() {
	python3 - <<-'PY' > ledger.jsonl
	import json, time
	day = 86400000
	mid = int(time.time() * 1000) // day * day
	n = 0
	for k in range(14):
	    t = mid - (13 - k) * day + 60000
	    for i in range(3 + k % 6):
	        n += 1
	        print(json.dumps({"event": "done", "run": "r%d" % n,
	            "ts_ms": t, "status": "ok", "exit": 0}))
	    if k == 8:
	        for i in range(400):
	            n += 1
	            print(json.dumps({"event": "done", "run": "r%d" % n,
	                "ts_ms": t, "status": "empty_payload", "exit": 42}))
	PY
	# Expected: each day ceil(5 * count / max) of the five blocks.
	expect() {
		python3 - "$1" <<-'PY'
		import math, sys
		blocks = sys.argv[1].split(",")
		ok = [3 + k % 6 for k in range(14)]
		empty = [400 if k == 8 else 0 for k in range(14)]
		for name, row in (("ok", ok), ("empty_payload", empty)):
		    m = max(row)
		    s = "".join(blocks[math.ceil(5 * c / m) - 1] if c else " "
		        for c in row)
		    print("  %-13s |%s|  %d runs, at most %d a day" %
		        (name, s, sum(row), m))
		PY
	}
	LC_ALL=C.UTF-8 returns_ 0 "$REPORT" ledger.jsonl > out || return 1
	expect '▁,▂,▃,▅,▇' > want
	grep -qxF -f want out && [ "$(grep -cxF -f want out)" -eq 2 ] ||
	    { cat want out; return 1; }
	LC_ALL=C LANG='' returns_ 0 "$REPORT" ledger.jsonl > out || return 1
	! grep -q '▇' out || return 1
	expect '.,:,-,=,#' > want
	grep -qxF -f want out && [ "$(grep -cxF -f want out)" -eq 2 ] ||
	    { cat want out; return 1; }
	returns_ 0 "$REPORT" --json ledger.jsonl > out.json || return 1
	python3 - out.json <<-'PY'
	import json, sys
	s = json.load(open(sys.argv[1]))["last_14_days"]
	assert len(s["days"]) == 14, s
	assert s["by_status"]["ok"] == [3 + k % 6 for k in range(14)], s
	assert s["by_status"]["empty_payload"] == \
	    [400 if k == 8 else 0 for k in range(14)], s
	PY
}

# The shared cooldown in force, and ending it by hand.
t_report_cooldown() {
	fixture
	mkdir -p state
	cp ledger.jsonl state/
	now=$(date +%s%3N)
	printf '{"rate_limit_until_ms":%s,"breaker_open":false,"streak":0}\n' \
	    $((now + 3600000)) > state/cooldown
	CLAUDEWRAP_STATE_DIR=$PWD/state returns_ 0 "$REPORT" > out || return 1
	grep -q '^cooldown: rate limit until 20[0-9-]*T[0-9:.]*Z (59m[0-9]*s from now)' out ||
	    { cat out; return 1; }
	returns_ 0 "$REPORT" --json state/ledger.jsonl > out.json || return 1
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["cooldown"]
assert c["kind"] == "rate_limit" and c["until"].endswith("Z"), c' out.json ||
	    return 1
	returns_ 0 "$REPORT" --state-dir="$PWD/state" --clear-cooldown > out ||
	    return 1
	grep -q '^cleared: ' out || return 1
	returns_ 0 "$REPORT" --state-dir="$PWD/state" > out || return 1
	has_line out "cooldown: none" || return 1
	returns_ 0 "$REPORT" --state-dir="$PWD/state" --clear-cooldown > out ||
	    return 1
	grep -q '^nothing to clear in ' out || return 1
	printf '{"breaker_open":true,"breaker_until_ms":%s,"streak":3}\n' \
	    $((now + 600000)) > state/cooldown
	returns_ 0 "$REPORT" --state-dir="$PWD/state" > out || return 1
	grep -q '^cooldown: breaker open until .* after 3 overloaded/server outcomes in a row' out ||
	    { cat out; return 1; }
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

# --log-format=json lines are bare objects: the report reads them too.
t_report_json_log_stdin() {
	CLAUDEWRAP_STATE_DIR=$PWD/state timeout -k 5 60 "$CLAUDEWRAP" \
	    --claude="$FAKE" --log-format=json --tag=j -p hi > /dev/null 2> err ||
	    return 1
	FAKE_MODE=empty CLAUDEWRAP_STATE_DIR=$PWD/state timeout -k 5 60 \
	    "$CLAUDEWRAP" --claude="$FAKE" --log-format=json --tag=j -p hi \
	    > /dev/null 2>> err
	returns_ 0 "$REPORT" - < err > out || return 1
	has_line out "failed runs: 1" && grep -q '^  j  *2  *1 ' out ||
	    { cat out; return 1; }
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
	t_report_reads_a_real_run | t_report_running_is_not_lost | \
	t_report_json_log_stdin)
		if [ ! -x "${FAKE:-}" ]; then
			echo "skip $t (no \$FAKE)"
			continue
		fi ;;
	esac
	run_test "$t"
done
summary
