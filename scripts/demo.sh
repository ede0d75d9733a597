#!/bin/bash
# `make demo`: claudewrap around the real Claude Code CLI, offline, against
# a mock of the Anthropic API on 127.0.0.1 (tests/e2e/mock_api.py). Five
# runs: a good answer, an empty one, a rate limit retried, a prompt too
# long, and a hang killed together with its stubborn MCP server.
#
# CLAUDEWRAP (default ./claudewrap) and CLAUDE_BIN (default: the pinned CLI
# installed by scripts/install-cli.sh) can be overridden.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
e2e=$root/tests/e2e
cw=${CLAUDEWRAP:-$root/claudewrap}
py=$(command -v python3) || {
	echo "demo: python3 not found" >&2
	exit 1
}
[ -x "$cw" ] || {
	echo "demo: $cw not built (make claudewrap)" >&2
	exit 1
}
cli=${CLAUDE_BIN:-$("$root/scripts/cli-path.sh")} || exit 1

if [ -t 1 ]; then
	b=$(printf '\033[1m') dim=$(printf '\033[2m') r=$(printf '\033[0m')
else
	b='' dim='' r=''
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/claudewrap-demo.XXXXXX") || exit 1
mock_pid=
cleanup() {
	local p
	if [ -n "$mock_pid" ]; then
		kill "$mock_pid" 2>/dev/null
		wait "$mock_pid" 2>/dev/null
	fi
	# A stubborn MCP server claudewrap failed to kill (it should not
	# happen): ours, by pid.
	# shellcheck disable=SC2013 # one pid a line
	for p in $(cat "$work/stub.pids" 2>/dev/null); do
		if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q stubborn_mcp; then
			kill -KILL "$p" 2>/dev/null
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the mock API --------------------------------------------------------------
printf '[{"kind":"ok"}]\n' >"$work/script.json"
"$py" "$e2e/mock_api.py" --port-file "$work/port" --log "$work/mock.log" \
	--script "$work/script.json" --max-seconds 300 2>"$work/mock.err" &
mock_pid=$!
for delay in 0.01 0.02 0.05 0.1 0.2 0.4 0.8 1 1 1 1 1; do
	[ -s "$work/port" ] && break
	sleep "$delay"
done
[ -s "$work/port" ] || {
	echo "demo: the mock API did not start: $(cat "$work/mock.err")" >&2
	exit 1
}
port=$(cat "$work/port")

mkdir -p "$work/home" "$work/tmp" "$work/cwd"
envv=(
	PATH=/usr/local/bin:/usr/bin:/bin HOME="$work/home" TMPDIR="$work/tmp"
	LANG=C.UTF-8 TZ=UTC
	ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY=sk-demo
	CLAUDE_CODE_MAX_RETRIES=0 DISABLE_AUTOUPDATER=1
	CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
)

cat <<EOF
${b}claudewrap demo${r}: the real Claude Code CLI $("$cli" --version), offline.
  claude = $cli
  The API is a mock on 127.0.0.1:$port that answers what each step asks for.
  Environment of every run: HOME=<scratch> ANTHROPIC_BASE_URL=http://127.0.0.1:$port
  ANTHROPIC_API_KEY=sk-demo CLAUDE_CODE_MAX_RETRIES=0 (and nothing else of yours).

EOF

answer() { printf '%s\n' "$1" >"$work/script.json.tmp" && mv -f "$work/script.json.tmp" "$work/script.json"; }

# shell_words ARG...: the arguments as one would type them.
shell_words() {
	local a out='' q="'"
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_=./:,@%+-]*) a="$q${a//$q/$q\\$q$q}$q" ;;
		esac
		out="$out $a"
	done
	printf '%s' "${out# }"
}

# run_cw ARG...: claudewrap in the scratch directory and environment,
# bounded by timeout(1) as a safety net; stdout and stderr to files.
run_cw() {
	(cd "$work/cwd" && exec timeout -k 5 60 env -i "${envv[@]}" "$cw" \
		--claude="$cli" "$@" </dev/null >"$work/out" 2>"$work/err")
}

# step_head TITLE ARG...
step_head() {
	printf '%s== %s ==%s\n' "$b" "$1" "$r"
	shift
	# shellcheck disable=SC2016 # printed as is
	printf '%s$ claudewrap --claude="$claude" %s%s\n' "$dim" "$(shell_words "$@")" "$r"
}

# step_tail EXPECTED-EXIT EXIT: the output of the step and its exit status.
step_tail() {
	local want=$1 rc=$2
	echo "stdout:"
	if [ -s "$work/out" ]; then
		sed 's/^/  | /' "$work/out"
	else
		echo "  (empty)"
	fi
	echo "stderr:"
	# The CLI's long path shortened to $claude, for reading.
	sed -e "s|$cli|\$claude|g" -e 's/^/  | /' "$work/err"
	printf 'exit: %s%d%s' "$b" "$rc" "$r"
	if [ "$rc" -eq "$want" ]; then
		echo "  (as expected)"
	else
		echo "  (EXPECTED $want)"
		failures=$((failures + 1))
	fi
}

# step TITLE EXPECTED-EXIT CLAUDEWRAP-ARGS...
step() {
	local title=$1 want=$2 rc
	shift 2
	step_head "$title" "$@"
	run_cw "$@"
	rc=$?
	step_tail "$want" "$rc"
}

alive() {
	[ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

failures=0

answer '[{"kind":"ok","text":"Paris is the capital of France.","output_tokens":12}]'
step "1. A good answer: exit 0, the answer on stdout" 0 \
	-p "What is the capital of France?"
echo

answer '[{"kind":"empty"}]'
step "2. The model says nothing, and claude -p exits 0 anyway: exit 42" 42 \
	-p "Summarise today's incidents"
echo

answer '[{"kind":"http","status":429,"message":"Number of request tokens has exceeded your per-minute rate limit"},{"kind":"ok","text":"Done on the second attempt.","output_tokens":12}]'
step "3. A rate limit (429), then success: retried, exit 0 after 2 attempts" 0 \
	--backoff=1s -p "Write the release notes"
echo

answer '[{"kind":"http","status":400,"message":"prompt is too long: 250000 tokens > 200000 maximum"}]'
step "4. The prompt is too long: exit 45, never retried, nothing on stdout" 45 \
	-p "Review this enormous diff"
echo

cat >"$work/mcp.json" <<EOF
{"mcpServers":{"stub":{"command":"$py","args":["$e2e/stubborn_mcp.py"],"env":{"STUBBORN_PIDFILE":"$work/stub.pids","STUBBORN_MAX_SECONDS":"120"}}}}
EOF
answer '[{"kind":"hang"}]'
set -- --timeout=5s --kill-after=1s -p "Check the build" --mcp-config "$work/mcp.json"
step_head "5. The API hangs; the MCP server ignores SIGTERM: exit 124, and nothing is left" "$@"
run_cw "$@" &
bg=$!
for delay in 0.05 0.1 0.2 0.4 0.8 1 1 1 1 1 1; do
	[ -s "$work/stub.pids" ] && break
	sleep "$delay"
done
mcp=$(head -n 1 "$work/stub.pids" 2>/dev/null)
if [ -n "$mcp" ] && alive "$mcp"; then
	echo "while it runs: MCP server pid $mcp, $(ps -o stat=,args= -p "$mcp" | cut -c1-90)"
fi
wait "$bg"
step_tail 124 $?
if [ -z "$mcp" ]; then
	echo "(the MCP server never started)"
elif alive "$mcp"; then
	echo "after: MCP server pid $mcp is STILL RUNNING"
	failures=$((failures + 1))
else
	echo "after: MCP server pid $mcp is gone"
fi
echo

if [ "$failures" -eq 0 ]; then
	echo "${b}All five steps ended as expected.${r}"
else
	echo "${b}$failures step(s) did not end as expected.${r}"
	exit 1
fi
