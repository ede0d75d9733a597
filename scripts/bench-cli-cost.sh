#!/usr/bin/env bash
# What the real CLI's tree costs the machine for a one-turn answer: the
# release claudewrap around the pinned CLI (scripts/cli-path.sh), offline
# against tests/e2e/mock_api.py, RUNS times (default 5) with no MCP
# server, RUNS times with one (tests/e2e/stubborn_mcp.py), and once with
# a hung answer and that server, killed on --timeout (whether the server
# is left to claudewrap shows in `reaped`). Prints peak_rss_kb, cpu_ms and
# reaped of each run's done line, then the medians; and, as a
# cross-check of cpu_ms and peak_rss_kb, the CLI run directly under
# /usr/bin/time (its own wait4 figures, which cover its waited children
# but not a server it leaves behind). Not part of `make bench`: it needs
# the real CLI (scripts/install-cli.sh) and takes about a minute.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
RUNS=${RUNS:-5}
CW=$ROOT/claudewrap
CLI=$(scripts/cli-path.sh) || exit 2
[ -x "$CW" ] || { echo "no $CW: make claudewrap" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/cw-cost.XXXXXX") || exit 2
MOCK=
cleanup() {
	[ -n "$MOCK" ] && kill "$MOCK" 2> /dev/null
	rm -rf "$W"
}
trap cleanup EXIT

printf '[{"kind":"ok","text":"Four.","input_tokens":12,"output_tokens":3}]\n' \
    > "$W/script.json"
python3 tests/e2e/mock_api.py --port-file "$W/port" --log "$W/mock.log" \
    --script "$W/script.json" --max-seconds 600 2> "$W/mock.err" &
MOCK=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
[ -s "$W/port" ] || { echo "mock did not start" >&2; exit 2; }
PY=$(command -v python3)
cat > "$W/mcp.json" <<EOF
{"mcpServers":{"stub":{"command":"$PY","args":["$ROOT/tests/e2e/stubborn_mcp.py"],"env":{"STUBBORN_PIDFILE":"$W/stub.pids","STUBBORN_LOG":"$W/stub.log","STUBBORN_MAX_SECONDS":"120"}}}}
EOF

# run ARGS...: the CLI's environment of the e2e tests, a fresh HOME.
run() {
	rm -rf "${W:?}/home" && mkdir -p "$W/home" "$W/state"
	(cd "$W" && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$W/home" \
	    TMPDIR=/tmp LANG=C.UTF-8 TZ=UTC \
	    ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$W/port")" \
	    ANTHROPIC_API_KEY=sk-test CLAUDE_CODE_MAX_RETRIES=0 \
	    DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
	    "$@")
}

field() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" "$2" | tail -n 1; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for mcp in no yes; do
	: > "$W/rows"
	for i in $(seq "$RUNS"); do
		if [ "$mcp" = yes ]; then
			set -- --mcp-config "$W/mcp.json"
		else
			set --
		fi
		run "$CW" --claude="$CLI" --state-dir="$W/state" --kill-after=2s \
		    -p "What is 2+2?" "$@" > "$W/out" 2> "$W/err"
		[ "$(field status "$W/err")" = ok ] ||
		    { echo "run failed:" >&2; cat "$W/err" >&2; exit 1; }
		echo "$(field peak_rss_kb "$W/err") $(field cpu_ms "$W/err")" \
		    "$(field reaped "$W/err") $(field duration_ms "$W/err")" \
		    >> "$W/rows"
		[ "$i" = 1 ] && grep 'event=reaped' "$W/err" | sed 's/.*event=/  event=/'
	done
	echo "MCP server: $mcp; peak_rss_kb cpu_ms reaped duration_ms per run:"
	sed 's/^/  /' "$W/rows"
	echo "  median: peak_rss_kb $(cut -d' ' -f1 "$W/rows" | median)" \
	    "cpu_ms $(cut -d' ' -f2 "$W/rows" | median)" \
	    "reaped $(cut -d' ' -f3 "$W/rows" | median)" \
	    "duration_ms $(cut -d' ' -f4 "$W/rows" | median)"
done

# A hung answer with the MCP server: killed on --timeout, the server is
# left to claudewrap to collect (reaped, with its name).
printf '[{"kind":"hang"}]\n' > "$W/script.json"
run "$CW" --claude="$CLI" --state-dir="$W/state" --timeout=4s --kill-after=1s \
    --retries=1 -p "What is 2+2?" --mcp-config "$W/mcp.json" > "$W/out" 2> "$W/err"
echo "hung answer, MCP server, --timeout=4s: status $(field status "$W/err")" \
    "peak_rss_kb $(field peak_rss_kb "$W/err") cpu_ms $(field cpu_ms "$W/err")" \
    "reaped $(field reaped "$W/err")"
grep 'event=reaped' "$W/err" | sed 's/.*event=/  event=/'
printf '[{"kind":"ok","text":"Four.","input_tokens":12,"output_tokens":3}]\n' \
    > "$W/script.json"

if [ -x /usr/bin/time ]; then
	echo "the CLI directly, no MCP server (/usr/bin/time: max RSS KiB, user s, system s):"
	for i in $(seq "$RUNS"); do
		run /usr/bin/time -f '  %M %U %S' "$CLI" -p "What is 2+2?" \
		    > /dev/null 2> "$W/time" || { cat "$W/time" >&2; exit 1; }
		tail -n 1 "$W/time"
	done
fi
