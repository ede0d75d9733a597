#!/usr/bin/env bash
# The life of a run, as others see it: ledger, --lock, --heartbeat,
# --output, the log lines, --transcript, --expect-tool, and
# claudewrap-report reading back what a real run wrote. The real binary
# ($CLAUDEWRAP, the sanitizer build) against the fake CLI ($FAKE); one
# memory test runs the release build ($CLAUDEWRAP_REL, ./claudewrap),
# since ASan inflates RSS. Exit codes first, then records and files.
# Exits 0 when every test passed, 1 otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
FAKE=${FAKE:-$(realpath "${FAKES:-build/fakes}")/fakeclaude}
# `make claudewrap` leaves it in both places.
if [ -z "${CLAUDEWRAP_REL:-}" ]; then
	CLAUDEWRAP_REL=$ROOT/claudewrap
	[ -x "$CLAUDEWRAP_REL" ] || CLAUDEWRAP_REL=$ROOT/build/rel/claudewrap
fi
export CLAUDEWRAP FAKE
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Nothing from the user's own state dir, ledger or settings (isolate_env).
. tests/lib.sh

report_setup

cw() { cw_here "$@"; }

# report ARGS...: claudewrap-report on this test's ledger.
report() {
	timeout -k 5 60 "$REPORT" --ledger="$PWD/state/ledger.jsonl" "$@"
}

# py CODE ARGS...: python3 with a strict JSON reader, loads(), that
# refuses duplicate keys (RFC 8259: names SHOULD be unique; jq and many
# readers keep only one of them).
py() {
	local code=$1
	shift
	python3 -c "import json, sys, re
def _pairs(p):
    seen = set()
    for k, _ in p:
        if k in seen:
            raise ValueError('duplicate key %r' % k)
        seen.add(k)
    return dict(p)
def loads(s):
    return json.loads(s, object_pairs_hook=_pairs)
def lines(path):
    with open(path, 'rb') as f:
        return [loads(l) for l in f.read().decode().splitlines()]
$code" "$@"
}

sha12() { printf '%s' "$1" | sha256sum | cut -c1-12; }

mode_of() { stat -c %a "$1"; }

# no_temp_of NAME: no --output temp file (.NAME.XXXXXX) left here.
no_temp_of() {
	local f
	for f in ."$1".*; do
		[ -e "$f" ] && { echo "    left behind: $f"; return 1; }
	done
	return 0
}

# The done record of RUN in ledger FILE, as JSON on stdout, or exit 1.
done_record() {
	py '
recs = [r for r in lines(sys.argv[1])
        if r.get("event") == "done" and r.get("run") == sys.argv[2]]
if len(recs) != 1:
    sys.exit(1)
print(json.dumps(recs[0], separators=(",", ":")))' "$1" "$2"
}

# A run SIGKILLed mid-attempt: its run id in ./killed_run, pids in ./pids.
kill_mid_run() {
	local pid
	FAKE_MODE=hang FAKE_PIDS=$PWD/pids "$CLAUDEWRAP" --claude="$FAKE" \
	    --state-dir="$PWD/state" --tag=doomed -p hi > killed.out \
	    2> killed.err &
	pid=$!
	if ! retry_ 20 grep -q 'event=attempt' killed.err ||
	    ! retry_ 10 test -s pids; then
		kill -KILL "$pid" 2>/dev/null
		kill_listed pids
		return 1
	fi
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	retry_ 5 none_alive pids || { kill_listed pids; return 1; }
	sed -n 's/.* run=\([^ ]*\) .*event=start.*/\1/p' killed.err > killed_run
	[ -s killed_run ] && ! grep -q 'event=done' killed.err
}

# ---- ledger ----------------------------------------------------------------

t_life_ledger_two_records() {
	returns_ 0 cw --tag=nightly -p hi > out 2> err || return 1
	run=$(field run err)
	[ -n "$run" ] || return 1
	[ "$(mode_of state)" = 700 ] && [ "$(mode_of state/ledger.jsonl)" = 600 ] ||
	    { echo "    modes: $(mode_of state) $(mode_of state/ledger.jsonl)"; return 1; }
	py '
recs = lines(sys.argv[1]); run = sys.argv[2]; sha = sys.argv[3]
assert len(recs) == 2, recs
s, d = recs
assert s["event"] == "start" and d["event"] == "done", recs
assert s["run"] == run and d["run"] == run, (run, recs)
assert s["tag"] == "nightly" and d["tag"] == "nightly"
assert d["status"] == "ok" and d["exit"] == 0 and d["attempts"] == 1, d
assert s["prompt_sha"] == sha and d["prompt_sha"] == sha, (sha, d)
assert isinstance(d["duration_ms"], int) and d["duration_ms"] >= 0, d
' state/ledger.jsonl "$run" "$(sha12 hi)" || return 1
	# --ledger=off: not a byte; --ledger=PATH: there, and only there.
	returns_ 0 cw --state-dir="$PWD/st2" --ledger=off -p hi > out 2> err2 ||
	    return 1
	[ ! -e st2/ledger.jsonl ] || { echo "    --ledger=off wrote one"; return 1; }
	returns_ 0 cw --state-dir="$PWD/st3" --ledger="$PWD/mine.jsonl" -p hi \
	    > out 2> err3 || return 1
	[ ! -e st3/ledger.jsonl ] && [ "$(mode_of mine.jsonl)" = 600 ] || return 1
	py '
recs = lines(sys.argv[1])
assert [r["event"] for r in recs] == ["start", "done"], recs
assert recs[1]["run"] == sys.argv[2]' mine.jsonl "$(field run err3)"
}

# A record must read the same in every JSON reader: no key twice. With
# --transcript, each record and the done line name the file once.
t_life_ledger_no_duplicate_keys() {
	mkdir tr
	returns_ 0 cw --transcript="$PWD/tr" --output=o.txt -p hi > out 2> err ||
	    return 1
	py '
try:
    lines(sys.argv[1])
except ValueError as e:
    sys.exit("    %s: %s" % (sys.argv[1], e))' state/ledger.jsonl || return 1
	# The done line too, in either format.
	[ "$(grep 'event=done' err | grep -o ' transcript=' | wc -l)" -eq 1 ] ||
	    { echo "    transcript= twice on the done line"; return 1; }
	returns_ 0 cw --transcript="$PWD/tr" --log-format=json -p hi > out \
	    2> err2 || return 1
	py '
for l in open(sys.argv[1]).read().splitlines():
    if l.startswith("{"):
        try:
            loads(l)
        except ValueError as e:
            sys.exit("    json done line: %s" % e)' err2
}

# JSON is UTF-8 (RFC 8259 8.1): a tag with a stray byte must not make
# the records unreadable to a strict reader (refusing the tag with 125
# would do as well).
t_life_ledger_utf8() {
	local tag
	tag=$(printf 'caf\xe9 "q"\nx')
	cw --tag="$tag" -p hi > out 2> err
	rc=$?
	[ "$rc" -eq 125 ] && return 0
	[ "$rc" -eq 0 ] || { echo "    exit $rc"; return 1; }
	py '
try:
    lines(sys.argv[1])
except ValueError as e:	# UnicodeDecodeError is one
    sys.exit("    ledger: %s" % e)' state/ledger.jsonl || return 1
	returns_ 0 cw --log-format=json --tag="$tag" -p hi > out 2> err2 ||
	    return 1
	py '
try:
    for l in open(sys.argv[1], "rb").read().decode().splitlines():
        if l.startswith("{"):
            loads(l)
except ValueError as e:
    sys.exit("    json log: %s" % e)' err2
}

t_life_ledger_parallel() {
	local pids="" p i rc=0
	for i in $(seq 1 30); do
		cw --tag="p$i" -p "parallel $i" > "out.$i" 2> "err.$i" &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || rc=1
	done
	[ "$rc" -eq 0 ] || { echo "    a parallel run failed"; return 1; }
	[ "$(wc -l < state/ledger.jsonl)" -eq 60 ] ||
	    { echo "    $(wc -l < state/ledger.jsonl) lines"; return 1; }
	py '
recs = lines(sys.argv[1])
runs = {}
for r in recs:
    runs.setdefault(r["run"], []).append(r["event"])
assert len(runs) == 30, len(runs)
for run, ev in runs.items():
    assert sorted(ev) == ["done", "start"], (run, ev)
' state/ledger.jsonl
}

t_life_sigkill_is_lost() {
	kill_mid_run || return 1
	run=$(cat killed_run)
	[ "$(wc -l < state/ledger.jsonl)" -eq 1 ] || return 1
	returns_ 0 report > rep 2> rerr || return 1
	grep -q 'lost (started, never finished): 1' rep &&
	    grep -q "^ *$run .*doomed" rep || { cat rep; return 1; }
}

# The done record is written after delivery: whenever a watcher sees it,
# FILE already has the content; on a failed run, no FILE at all.
t_life_done_after_delivery() {
	local pid
	py '
import os, time
ledger, out, want, go = sys.argv[1:5]
end = time.time() + 30
first = True
while time.time() < end:
    try:
        with open(ledger) as f:
            seen = any(loads(l).get("event") == "done" for l in f)
    except (FileNotFoundError, ValueError):
        seen = False	# not there yet, or a line caught half written
    if seen:
        try:
            with open(out) as f:
                got = f.read()
        except FileNotFoundError:
            got = None
        print("done seen; file:", repr(got))
        sys.exit(0 if got == want + "\n" else 1)
    if first:
        open(go, "w").close()	# the run may end now: we are watching
        first = False
    time.sleep(0.0005)
sys.exit(2)' state/ledger.jsonl answer.txt gated "$PWD/go" > watch 2>&1 &
	pid=$!
	# The run ends only once the watcher watches (it opens the gate).
	FAKE_MODE=gate FAKE_GATE=$PWD/go returns_ 0 cw --output=answer.txt \
	    -p hi > out 2> err || { kill "$pid" 2>/dev/null; return 1; }
	wait "$pid" || { cat watch; return 1; }
	[ ! -s out ] || return 1
	# A failed run: a done record, and no file.
	FAKE_MODE=partial returns_ 45 cw --output=failed.txt -p hi 2> err2 ||
	    return 1
	[ ! -e failed.txt ] || return 1
	done_record state/ledger.jsonl "$(field run err2)" > rec || return 1
	py 'd = loads(open(sys.argv[1]).read())
assert d["status"] == "claude_error" and "output" not in d, d' rec || return 1
	# Delivery itself fails (the path is a directory): 125, no output
	# in the record, no temp file left beside it.
	mkdir isdir.txt
	returns_ 125 cw --output=isdir.txt -p hi 2> err3 || return 1
	done_record state/ledger.jsonl "$(field run err3)" > rec3 || return 1
	py 'd = loads(open(sys.argv[1]).read())
assert d["status"] == "usage" and "output" not in d, d' rec3 || return 1
	no_temp_of isdir.txt
}

# ---- --lock ----------------------------------------------------------------

# release_and_fail PID...: opens the gate, waits for PIDs, fails the test.
release_and_fail() {
	touch go
	wait "$@"
	return 1
}

t_life_lock_busy_then_wait() {
	local pid pid3
	FAKE_MODE=gate FAKE_GATE=$PWD/go cw --lock=job -p hi > out1 2> err1 &
	pid=$!
	retry_ 20 grep -q 'event=attempt' err1 || release_and_fail "$pid" || return 1
	returns_ 75 cw --lock=job -p hi > out2 2> err2 ||
	    release_and_fail "$pid" || return 1
	[ ! -s out2 ] && [ "$(done_count err2)" -eq 1 ] &&
	    [ "$(field status err2)" = locked ] && [ "$(field exit err2)" = 75 ] ||
	    release_and_fail "$pid" || return 1
	done_record state/ledger.jsonl "$(field run err2)" > rec ||
	    release_and_fail "$pid" || return 1
	grep -q '"status":"locked"' rec || release_and_fail "$pid" || return 1
	# A waiter started while the lock is held gets it once it is freed.
	cw --lock=job --lock-wait=3s -p hi > out3 2> err3 &
	pid3=$!
	retry_ 10 grep -q 'event=start' err3 || release_and_fail "$pid" "$pid3" ||
	    return 1
	touch go
	wait "$pid" || return 1
	returns_ 0 wait "$pid3" || return 1
	[ "$(cat out1)" = gated ] && [ "$(cat out3)" = hello ] &&
	    [ "$(field status err3)" = ok ] || return 1
	[ "$(mode_of state/locks)" = 700 ] && [ "$(mode_of state/locks/job.lock)" = 600 ]
}

t_life_lock_symlink_refused() {
	mkdir -p state/locks
	chmod 700 state state/locks
	printf 'precious\n' > target
	ln -s "$PWD/target" state/locks/job.lock
	returns_ 125 cw --lock=job -p hi > out 2> err || return 1
	[ ! -s out ] && [ "$(field status err)" = usage ] || return 1
	[ "$(cat target)" = precious ] || return 1
	# A dangling one: its target is not created either.
	ln -s "$PWD/nothing-here" state/locks/other.lock
	returns_ 125 cw --lock=other -p hi > out 2> err2 || return 1
	[ ! -e nothing-here ] || return 1
	# A lock given as a path: the same.
	ln -s "$PWD/target" path.lock
	returns_ 125 cw --lock="$PWD/path.lock" -p hi > out 2> err3 || return 1
	[ "$(cat target)" = precious ]
}

t_life_lock_fd_not_inherited() {
	FAKE_MODE=fds returns_ 0 cw -p hi > out 2> plain || return 1
	FAKE_MODE=fds returns_ 0 cw --lock=job -p hi > out 2> locked || return 1
	grep -q '^fd=' plain &&
	    [ "$(grep '^fd=' plain)" = "$(grep '^fd=' locked)" ] ||
	    { diff <(grep '^fd=' plain) <(grep '^fd=' locked); return 1; }
	# Nor any other file of the run: lock by path, heartbeat,
	# transcript, output, a ledger of its own.
	FAKE_MODE=fds returns_ 0 cw --lock="$PWD/l.lock" --heartbeat="$PWD/hb" \
	    --heartbeat-interval=0.1s --transcript="$PWD/t.jsonl" \
	    --output=o.txt --ledger="$PWD/l.jsonl" -p hi > out 2> all || return 1
	[ "$(grep '^fd=' plain)" = "$(grep '^fd=' all)" ] ||
	    { diff <(grep '^fd=' plain) <(grep '^fd=' all); return 1; }
}

# ---- --heartbeat -----------------------------------------------------------

# hb_sample NAME [AFTER]: a copy of the heartbeat file as NAME, taken
# while it says running (and, given AFTER, later than that sample).
hb_sample() {
	cp hb.json "$1.try" 2>/dev/null || return 1
	py '
h = loads(open(sys.argv[1]).read())
if h.get("phase") != "running":
    sys.exit(1)
if len(sys.argv) > 2 and h["ts_ms"] <= loads(open(sys.argv[2]).read())["ts_ms"]:
    sys.exit(1)' "$1.try" ${2:+"$2"} 2>/dev/null || return 1
	mv "$1.try" "$1"
}

t_life_heartbeat() {
	local pid
	FAKE_MODE=gate FAKE_GATE=$PWD/go cw --heartbeat="$PWD/hb.json" \
	    --heartbeat-interval=0.2s -p hi > out 2> err &
	pid=$!
	# Present while the run goes on, rewritten, each copy whole.
	retry_ 20 hb_sample hb1.json ||
	    { echo "    no running heartbeat"; touch go; wait "$pid"; return 1; }
	retry_ 10 hb_sample hb2.json hb1.json ||
	    { echo "    not rewritten: $(cat hb.json)"; touch go; wait "$pid"; return 1; }
	touch go
	wait "$pid" || { echo "    run failed"; return 1; }
	[ "$(cat out)" = gated ] || return 1
	run=$(field run err)
	pidrec=$(py 'print(lines(sys.argv[1])[0]["pid"])' state/ledger.jsonl) ||
	    return 1
	py '
run, pid = sys.argv[3], int(sys.argv[4])
for f in sys.argv[1:3]:
    h = loads(open(f).read())
    assert h["run"] == run and h["pid"] == pid, h
    assert h["attempt"] == 1 and h["phase"] == "running", h
end = loads(open("hb.json").read())
assert end["run"] == run and end["phase"] == "done", end
' hb1.json hb2.json "$run" "$pidrec" || return 1
	[ "$(mode_of state)" = 700 ]
}

# Waiting for --lock is being alive: the heartbeat goes on meanwhile,
# or a watchdog takes a patient run for a hung one.
t_life_heartbeat_during_lock_wait() {
	local pid pid2
	FAKE_MODE=gate FAKE_GATE=$PWD/go cw --lock=job -p hi > out1 2> err1 &
	pid=$!
	retry_ 20 grep -q 'event=attempt' err1 || release_and_fail "$pid" || return 1
	cw --lock=job --lock-wait=20s --heartbeat="$PWD/hb.json" \
	    --heartbeat-interval=0.2s -p hi > out2 2> err2 &
	pid2=$!
	retry_ 10 test -s hb.json || release_and_fail "$pid" "$pid2" || return 1
	cp hb.json hb1.json
	# Ten intervals and more: it must have been rewritten by then.
	retry_ 3 py '
a = loads(open(sys.argv[1]).read()); b = loads(open(sys.argv[2]).read())
sys.exit(0 if b["ts_ms"] > a["ts_ms"] else 1)' hb1.json hb.json ||
	    { echo "    not rewritten while waiting for the lock: $(cat hb.json)";
	    release_and_fail "$pid" "$pid2"; return 1; }
	touch go
	wait "$pid" || return 1
	returns_ 0 wait "$pid2" || return 1
	py 'h = loads(open(sys.argv[1]).read())
assert h["phase"] == "done", h' hb.json
}

# ---- --output --------------------------------------------------------------

t_life_output() {
	returns_ 0 cw -p hi > direct 2> err0 || return 1
	returns_ 0 cw --output=o.txt -p hi > out 2> err || return 1
	[ ! -s out ] && cmp -s direct o.txt || return 1
	returns_ 0 cw -p hi --output-format json > direct.json 2> err0 || return 1
	returns_ 0 cw --output=o.json -p hi --output-format json > out 2> err1 ||
	    return 1
	[ ! -s out ] && cmp -s direct.json o.json || return 1
	# The records carry what the file holds.
	sha=$(sha256sum o.txt | cut -c1-64)
	grep -q " output_path=$PWD/o.txt output_size=$(stat -c %s o.txt) output_sha256=$sha" err ||
	    { echo "    no sha256 $sha on the done line"; return 1; }
	done_record state/ledger.jsonl "$(field run err)" > rec || return 1
	py '
d = loads(open(sys.argv[1]).read())
o = d["output"]
assert o["sha256"] == sys.argv[2] and o["size"] == int(sys.argv[3]), o
assert o["path"] == sys.argv[4], o' rec "$sha" "$(stat -c %s o.txt)" \
	    "$PWD/o.txt" || return 1
	# A failed run leaves the old content and no temp file.
	printf 'old content\n' > o.txt
	FAKE_MODE=partial returns_ 45 cw --output=o.txt -p hi > out 2> err2 ||
	    return 1
	[ "$(cat o.txt)" = 'old content' ] && [ ! -s out ] || return 1
	FAKE_MODE=empty returns_ 42 cw --output=o.txt -p hi 2> err3 || return 1
	[ "$(cat o.txt)" = 'old content' ] || return 1
	no_temp_of o.txt || { ls -A; return 1; }
}

# ---- logs ------------------------------------------------------------------

t_life_log_json() {
	FAKE_MODE=stderr returns_ 0 cw --log-format=json --tag=nightly -p hi \
	    > out 2> err || return 1
	grep -q '^cli says hi$' err || return 1
	py '
n = 0
for l in open(sys.argv[1]).read().splitlines():
    # Bare objects, no prefix: what jq reads.
    assert not l.startswith("claudewrap: "), l
    if not l.startswith("{"):
        continue
    e = loads(l)
    n += 1
    for k in ("ts", "level", "run", "event"):
        assert k in e, (k, e)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["ts"]), e
    assert e["tag"] == "nightly", e
    last = e
assert n >= 3 and last["event"] == "done" and last["exit"] == 0, last
' err
}

t_life_log_quiet() {
	printf 'x' > in
	FAKE_MODE=fail-once-stdin FAKE_STATE=$PWD/n returns_ 0 cw --quiet \
	    --retries=2 --backoff=0.05s -p < in > out 2> err || return 1
	[ "$(grep -c '^claudewrap: ' err)" -eq 1 ] && [ "$(done_count err)" -eq 1 ] ||
	    { cat err; return 1; }
	[ "$(field attempts err)" = 2 ] || return 1
	# A warning is not the done line either.
	returns_ 0 cw --quiet --low-output-tokens=100 -p hi > out 2> err1 ||
	    return 1
	[ "$(grep -c '^claudewrap: ' err1)" -eq 1 ] && [ "$(done_count err1)" -eq 1 ] ||
	    { cat err1; return 1; }
	returns_ 0 cw --quiet --log-format=json -p hi > out 2> err2 || return 1
	[ "$(grep -c '^{"' err2)" -eq 1 ] && grep -q '^{.*"event":"done"' err2
}

t_life_log_tag() {
	printf 'x' > in
	FAKE_MODE=fail-once-stdin FAKE_STATE=$PWD/n returns_ 0 cw --tag=nightly \
	    --retries=2 --backoff=0.05s -p < in > out 2> err || return 1
	[ "$(grep -c '^claudewrap: ' err)" -ge 4 ] || return 1
	! grep '^claudewrap: ' err | grep -qv ' tag=nightly ' ||
	    { grep '^claudewrap: ' err | grep -v ' tag=nightly '; return 1; }
	grep -q '"tag":"nightly"' state/ledger.jsonl
}

t_life_prompt_never_logged() {
	local p='zebra-unicorn-quasar-prompt-7f3a' s='marmalade-stdin-9c1e'
	printf '%s' "$s" > in
	FAKE_MODE=stdin returns_ 0 cw --tag=t -p "$p" < in > out 2> err ||
	    return 1
	! grep -q -e "$p" -e "$s" err state/ledger.jsonl ||
	    { echo "    the prompt was logged"; return 1; }
	want_sha=$(printf '%s%s' "$p" "$s" | sha256sum | cut -c1-12)
	want_len=$(( ${#p} + ${#s} ))
	grep -q "event=start .*prompt_bytes=$want_len prompt_sha=$want_sha" err ||
	    { grep event=start err; echo "    want $want_len $want_sha"; return 1; }
	grep -q "\"prompt_bytes\":$want_len,\"prompt_sha\":\"$want_sha\"" \
	    state/ledger.jsonl || return 1
	returns_ 0 cw --log-format=json -p "$p" < in > out 2> err2 || return 1
	! grep -q -e "$p" -e "$s" err2 && grep -q "\"prompt_sha\":\"$want_sha\"" err2
}

# in_private_dev CMD...: CMD in a private mount namespace whose /dev is a
# tmpfs holding null, zero, random, urandom and fd, and a log that is the
# socket ./log.sock: a syslog daemon of the test's own, nothing installed
# on the machine or changed outside the namespace. 97 if it cannot be set
# up (no CAP_SYS_ADMIN).
in_private_dev() {
	mkdir -p olddev
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m bash -c '
		mount --make-rprivate / && mount --bind /dev olddev &&
		    mount -t tmpfs -o size=64k,mode=755 cwdev /dev || exit 97
		for n in null zero random urandom; do
			: > "/dev/$n" && mount --bind "olddev/$n" "/dev/$n" ||
			    exit 97
		done
		ln -s /proc/self/fd /dev/fd && : > /dev/log &&
		    mount --bind log.sock /dev/log || exit 97
		"$@"' in_private_dev "$@"
}

t_life_syslog() {
	local sink rc pid
	python3 "$ROOT/tests/fakes/syslog_sink.py" "$PWD/log.sock" \
	    "$PWD/syslog" "$PWD/ready" 60 &
	sink=$!
	retry_ 10 test -e ready || { kill "$sink"; return 1; }
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_private_dev bash -c '
		timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" --state-dir=state \
		    --syslog --tag=sys -p hi > out 2> err; echo $? > rc1
		FAKE_MODE=empty timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" \
		    --state-dir=state --syslog --tag=sys -p hi > out2 2> err2
		echo $? > rc2'
	rc=$?
	kill "$sink"
	wait "$sink" 2> /dev/null
	[ "$rc" -eq 0 ] || { echo "    no private /dev/log (exit $rc)"; return 1; }
	[ "$(cat rc1)" = 0 ] && [ "$(cat out)" = hello ] &&
	    [ "$(cat rc2)" = 42 ] || return 1
	pid=$(grep -o '"pid":[0-9]*' state/ledger.jsonl | head -1 | cut -d: -f2)
	# Every event of the first run, as on stderr, under ident
	# claudewrap[PID], LOG_USER; info is <14>, an error <11>.
	[ "$(grep -c "^<1[0-9]>.* claudewrap\[$pid\]: " syslog)" -eq \
	    "$(grep -c '^claudewrap: ' err)" ] &&
	    grep -q "^<14>.* claudewrap\[$pid\]: .*event=start" syslog &&
	    grep -q "^<14>.* claudewrap\[$pid\]: .*tag=sys event=done status=ok exit=0" syslog &&
	    grep -q '^<11>.* claudewrap\[[0-9]*\]: .*event=done status=empty_payload exit=42' syslog ||
	    { sed 's/^/      /' syslog; return 1; }
	# claudewrap-report reads syslog's form of the lines as well.
	returns_ 0 "$REPORT" --stdin < syslog > rep || return 1
	tr -s ' ' < rep | grep -q ' ok 1 ' && tr -s ' ' < rep | grep -q ' empty_payload 1 ' ||
	    { cat rep; return 1; }
}

# ---- --transcript ----------------------------------------------------------

t_life_transcript() {
	mkdir tr
	returns_ 0 cw --transcript="$PWD/tr" -p hi > out 2> err || return 1
	run=$(field run err)
	f=tr/$run.jsonl
	[ -f "$f" ] && [ "$(mode_of "$f")" = 600 ] || { ls -l tr; return 1; }
	[ "$(field transcript err)" = "$PWD/$f" ] || return 1
	py '
recs = lines(sys.argv[1])
assert len(recs) >= 2, recs
for r in recs:
    assert r["attempt"] == 1 and isinstance(r["event"], dict), r
assert recs[-1]["event"]["type"] == "result", recs[-1]' "$f" || return 1
	# Two attempts, both kept.
	printf 'again' > in
	FAKE_MODE=fail-once-stdin FAKE_STATE=$PWD/n returns_ 0 cw --retries=2 \
	    --backoff=0.05s --retry-on=overloaded --transcript="$PWD/tr" -p \
	    < in > out 2> err2 || return 1
	run2=$(field run err2)
	[ "$(field attempts err2)" = 2 ] &&
	    [ "$(field transcript err2)" = "$PWD/tr/$run2.jsonl" ] || return 1
	py '
recs = lines(sys.argv[1])
att = sorted({r["attempt"] for r in recs})
assert att == [1, 2], att
for r in recs:
    assert "event" in r, r
r1 = [r for r in recs if r["attempt"] == 1]
assert any(r["event"].get("type") == "result" and r["event"].get("is_error")
           for r in r1), r1' "tr/$run2.jsonl" || return 1
	# No stream underneath, nothing to keep: refused.
	returns_ 125 cw --passthrough --transcript="$PWD/tr" -p hi > out 2> err3 ||
	    return 1
	[ "$(field status err3)" = usage ] && grep -q 'detail=.*--transcript' err3
}

# ---- --expect-tool ---------------------------------------------------------

t_life_expect_tool() {
	FAKE_MODE=tool FAKE_TOOL=Write returns_ 0 cw --expect-tool=Write -p hi \
	    > out 2> err || return 1
	[ "$(cat out)" = tooled ] || return 1
	FAKE_MODE=tool FAKE_TOOL=Write returns_ 48 cw --expect-tool=Read -p hi \
	    > out 2> err2 || return 1
	[ ! -s out ] && [ "$(field status err2)" = expectation_failed ] &&
	    [ "$(field exit err2)" = 48 ] || return 1
	d=$(grep 'event=done' err2 | sed -n 's/.* detail="\([^"]*\)".*/\1/p')
	case $d in *Read*Write*) ;; *) echo "    detail: $d"; return 1 ;; esac
	done_record state/ledger.jsonl "$(field run err2)" > rec || return 1
	py '
d = loads(open(sys.argv[1]).read())
assert d["expect_missing"] == ["Read"] and d["tools_called"] == ["Write"], d' \
	    rec || return 1
	# Both asked, one called: 48 naming only the missing one.
	FAKE_MODE=tool FAKE_TOOL=Write returns_ 48 cw --expect-tool=Write \
	    --expect-tool=Read -p hi > out 2> err3 || return 1
	grep -q 'detail="expected tool not called: Read ' err3 || return 1
	# A skill counts by its name.
	FAKE_MODE=tool FAKE_TOOL=Skill FAKE_TOOL_INPUT='{"skill":"pdf"}' \
	    returns_ 0 cw --expect-tool=pdf -p hi > out 2> err4 || return 1
	FAKE_MODE=tool FAKE_TOOL=Skill FAKE_TOOL_INPUT='{"skill":"pdf"}' \
	    returns_ 48 cw --expect-tool=docx -p hi > out 2> err5
}

# ---- claudewrap-report on real runs ---------------------------------------

t_life_report_which() {
	returns_ 0 cw --tag=w --output=ans.txt -p hi > out 2> err || return 1
	run=$(field run err)
	returns_ 0 report --which ans.txt > rep || return 1
	grep -q "written by run $run" rep && grep -q "prompt *$(sha12 hi) (2 bytes)" rep ||
	    { cat rep; return 1; }
	printf 'edited by hand\n' > ans.txt
	returns_ 1 report --which ans.txt > rep2 || return 1
	grep -q 'no run in the ledger wrote its current content' rep2 ||
	    { cat rep2; return 1; }
}

t_life_report_explain() {
	returns_ 0 cw --output=ans.txt -p hi > out 2> err || return 1
	run=$(field run err)
	returns_ 0 report --explain "$run" > rep || return 1
	[ "$(grep -c '^[1-5]\. ' rep)" -eq 5 ] &&
	    grep -q '^3\. did it reach the caller? *yes — done record: status ok' rep &&
	    grep -q '^5\. did downstream get it? *yes — ' rep || { cat rep; return 1; }
	kill_mid_run || return 1
	returns_ 0 report --explain "$(cat killed_run)" > rep2 || return 1
	[ "$(grep -c '^[1-5]\. ' rep2)" -eq 5 ] &&
	    grep -q '^3\. did it reach the caller? *no — the run never finished (lost)' rep2 ||
	    { cat rep2; return 1; }
}

# ---- a long stream, flat memory (release build) ---------------------------

# peak_rss_kb OUTFILE PROG ARGS...: runs PROG (at most 90 s), writes its
# peak RSS in KiB to OUTFILE; returns PROG's status. /usr/bin/time if
# installed (T_LIFE_PROC_RSS=1 forces the other way), else VmHWM from
# /proc/PID/status, polled while it runs.
peak_rss_kb() {
	local outf=$1 pid rc hwm=0 v waited=0
	shift
	if [ -x /usr/bin/time ] && [ -z "${T_LIFE_PROC_RSS:-}" ]; then
		timeout -k 5 90 /usr/bin/time -f %M -o "$outf.time" "$@"
		rc=$?
		tail -n 1 "$outf.time" > "$outf"
		return "$rc"
	fi
	"$@" &
	pid=$!
	while alive "$pid"; do
		v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" \
		    2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
		sleep 0.02
		waited=$((waited + 20))
		[ "$waited" -gt 90000 ] && kill -KILL "$pid"
	done
	wait "$pid"
	rc=$?
	echo "$hwm" > "$outf"
	[ "$hwm" -gt 0 ] || { echo "    VmHWM never read"; return 99; }
	return "$rc"
}

t_life_flood_flat_memory() {
	mkdir tr
	FAKE_MODE=flood FAKE_MB=100 returns_ 0 peak_rss_kb rss \
	    "$CLAUDEWRAP_REL" --claude="$FAKE" --state-dir="$PWD/state" \
	    --transcript="$PWD/tr" -p hi > out 2> err || return 1
	[ "$(cat out)" = flooded ] || return 1
	run=$(field run err)
	n=$(wc -l < "tr/$run.jsonl")
	# 100 Ki lines of 1 KiB, the init event, the result.
	[ "$n" -eq $((100 * 1024 + 2)) ] || { echo "    $n transcript lines"; return 1; }
	tail -n 1 "tr/$run.jsonl" | py 'r = loads(sys.stdin.read())
assert r["event"]["type"] == "result", r' || return 1
	echo "    peak RSS $(cat rss) KiB"
	[ "$(cat rss)" -lt $((16 * 1024)) ]
}

# T_LIFE_ONLY=REGEX runs only the matching tests.
for t in $(declare -F | awk '$3 ~ /^t_life_/ { print $3 }'); do
	[[ $t =~ ${T_LIFE_ONLY:-.} ]] || continue
	if [ "$t" = t_life_syslog ] && ! unshare -m true 2> /dev/null; then
		echo "skip $t (cannot make a private mount namespace for /dev/log)"
		continue
	fi
	if [ "$t" = t_life_flood_flat_memory ] && [ ! -x "$CLAUDEWRAP_REL" ]; then
		echo "skip $t (no release build at $CLAUDEWRAP_REL: make claudewrap)"
		continue
	fi
	run_test "$t"
done
summary
