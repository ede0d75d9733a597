#!/usr/bin/env bash
# make bench, part (e): fleet mode (--state-url, issue 15) against the
# budgets of BENCHMARKS.md, on a redis-server this script starts
# on a free loopback port (--save '' --appendonly no) and stops by pid:
#
#  (e1) the time --state-url adds to a run: the release build against
#       the fake that answers at once (bench_result), with and without
#       --state-url, runs alternating so that a busy machine slows both
#       alike; medians. Budget: under 2 ms.
#  (e2) a 429 storm: 8 "hosts" (state dirs) against a fake that always
#       answers 429, --backoff=1s --backoff-max=1s --deadline=10s, all
#       started at once; every request is timed by a wrapper. After the
#       first wave (the hosts that asked before the first 429 was noted,
#       from the earliest retry line), no two requests may fall in one
#       cooldown window (at least w/2 = 500 ms apart). The same storm without --state-url
#       (each host its own state dir) is measured beside it.
#
# Writes build/bench/fleet.md (also printed). Exits 1 if a budget is
# missed, 2 if the bench could not run. BENCH_FLEET_RUNS (200) runs of
# each kind for (e1).
set -u
BENCH_NAME=bench-fleet
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
OUT=$ROOT/build/bench/fleet
RUNS=${BENCH_FLEET_RUNS:-200}

command -v redis-server > /dev/null || die "redis-server is missing (make deps)"
need "$CW" "$F/bench_result" "$F/fakeclaude"
clean_env
fresh_dirs "$OUT"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$OUT" > "$OUT/redis.log" 2>&1 &
RPID=$!
trap 'kill "$RPID" 2> /dev/null' EXIT
URL=redis://127.0.0.1:$PORT
for _ in $(seq 50); do
	redis-cli -p "$PORT" PING 2> /dev/null | grep -q PONG && break
	sleep 0.1
done
redis-cli -p "$PORT" PING 2> /dev/null | grep -q PONG || die "redis did not start"

echo "bench-fleet: (e1) $RUNS runs with and without --state-url" >&2
python3 - "$CW" "$F/bench_result" "$URL" "$OUT" "$RUNS" > "$OUT/e1.txt" <<'EOF' || die "(e1) failed"
import os, statistics, subprocess, sys, time
cw, fake, url, out, runs = sys.argv[1:6]
runs = int(runs)
kinds = {"local": [], "fleet": []}
for i in range(runs * 2):
    kind = ("local", "fleet")[(i + i // 2) % 2]
    args = [cw, "--claude=" + fake, "--state-dir=" + os.path.join(out, kind)]
    if kind == "fleet":
        args.append("--state-url=" + url)
    args += ["-p", "hi"]
    t0 = time.perf_counter()
    p = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    if p.returncode != 0 or b"reason=state_url" in p.stderr:
        sys.exit("run failed: %d %s" % (p.returncode, p.stderr[-300:]))
    kinds[kind].append((t1 - t0) * 1000)
loc, fl = statistics.median(kinds["local"]), statistics.median(kinds["fleet"])
print("%.3f %.3f %.3f" % (loc, fl, fl - loc))
EOF
read -r LOCAL FLEET ADDED < "$OUT/e1.txt"

# storm DIR URL|"": 8 hosts at once; prints "requests first_wave min_gap_ms
# close_pairs" from the request times.
storm() {
	local dir=$1 url=$2 i pids=""
	mkdir -p "$dir"
	printf '{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: 429 rate limit"}\n' \
	    > "$dir/429.json"
	# Each host's `cli --version` (its version probe) is not a request.
	# shellcheck disable=SC2016 # expanded by the wrapper, not here
	printf '#!/bin/sh\n[ "$1" = --version ] ||\n    echo $(($(date +%%s%%N) / 1000000)) >> %s/requests\nexec %s "$@"\n' \
	    "$dir" "$F/fakeclaude" > "$dir/cli"
	chmod +x "$dir/cli"
	for i in 1 2 3 4 5 6 7 8; do
		FAKE_MODE=file FAKE_FILE=$dir/429.json FAKE_EXIT=1 \
		    "$CW" --claude="$dir/cli" --state-dir="$dir/h$i" \
		    ${url:+--state-url="$url"} --retries=100 --backoff=1s \
		    --backoff-max=1s --deadline=10s -p hi 2> "$dir/h$i.err" &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i"; done
	# The first wave: requests made before the first 429 was noted (the
	# earliest retry line, plus 50 ms for a spawn under way).
	first=$(grep -h 'event=retry attempt=1 reason=rate_limit' "$dir"/h*.err |
	    sed 's/^claudewrap: ts=\([^ ]*\) .*/\1/' | sort | head -n 1)
	sort -n "$dir/requests" | awk -v noted="$(date -d "$first" +%s%3N)" '
	    { n++ }
	    $1 <= noted + 50 { w++; next }
	    { gap = prev ? $1 - prev : $1 - noted; prev = $1
	      if (min == "" || gap < min) min = gap; if (gap < 400) bad++ }
	    END { printf "%d %d %d %d\n", n, w, min, bad + 0 }'
}
echo "bench-fleet: (e2) 429 storm, 8 hosts, 10 s, with and without Redis" >&2
redis-cli -p "$PORT" DEL claudewrap:cooldown claudewrap:probe > /dev/null
read -r S_REQ S_WAVE S_GAP S_BAD < <(storm "$OUT/storm-fleet" "$URL")
read -r L_REQ L_WAVE L_GAP L_BAD < <(storm "$OUT/storm-local" "")

python3 - "$LOCAL" "$FLEET" "$ADDED" "$RUNS" "$S_REQ" "$S_WAVE" "$S_GAP" \
    "$S_BAD" "$L_REQ" "$L_WAVE" "$L_GAP" "$L_BAD" "$OUT" <<'EOF'
import os, sys
(loc, fl, added, runs, sreq, swave, sgap, sbad, lreq, lwave, lgap, lbad,
 out) = sys.argv[1:14]
ok1 = float(added) < 2.0
ok2 = int(sbad) == 0
md = ["## (e) Fleet mode (--state-url, loopback Redis)", "",
      "| case | figure | budget |", "|---|---|---|",
      "| (e1) run, no --state-url (median of %s) | %s ms | |" % (runs, loc),
      "| (e1) run, --state-url (median of %s) | %s ms | |" % (runs, fl),
      "| (e1) **added per run** | **%s ms** | < 2 ms: %s |" %
      (added, "met" if ok1 else "MISSED"),
      "| (e2) storm with Redis: requests in 10 s, 8 hosts | %s (first wave %s, then one per window; smallest gap after it %s ms, pairs in one window %s) | <= 1 per window: %s |" %
      (sreq, swave, sgap, sbad, "met" if ok2 else "MISSED"),
      "| (e2) storm without Redis (each host its own state dir) | %s (first wave %s, pairs in one window %s) | (for comparison) |" %
      (lreq, lwave, lbad), ""]
text = "\n".join(md) + "\n"
open(os.path.join(out, "..", "fleet.md"), "w").write(text)
sys.stdout.write(text)
sys.exit(0 if ok1 and ok2 else 1)
EOF
