#!/bin/bash
# The e2e suite: claudewrap around the real Claude Code CLI (pinned, see
# scripts/install-cli.sh), offline, against tests/e2e/mock_api.py on
# 127.0.0.1.
#
#   CLAUDEWRAP=build/asan/claudewrap tests/e2e/run.sh [t_name ...]
#
# The CLI is CLAUDE_BIN, else version CLI_VERSION (default: the pinned
# one) as scripts/install-cli.sh installed it; tests/e2e/versions.sh runs
# the suite on every version of the tested range.
#
# Runs each tests/e2e/t_*.sh (or the ones named) one after another, each
# under a hard time bound, and ends with the line `N passed, N failed`.
#
# Isolation: when it can (root, or unprivileged user namespaces), the
# suite runs in a private network namespace where only 127.0.0.1 exists,
# so nothing can reach another address even by mistake. E2E_NETNS=off
# skips that, E2E_NETNS=on makes it a failure when not possible. Without
# it the tests still only name 127.0.0.1, and the CLI gets
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 (no DNS lookups).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1

netns=${E2E_NETNS:-auto}
if [ "$netns" != off ] && [ -z "${_E2E_IN_NETNS-}" ]; then
	flags=-n
	[ "$(id -u)" -eq 0 ] || flags=-rn
	ip=$(command -v ip || echo /sbin/ip)
	if command -v unshare >/dev/null 2>&1 && [ -x "$ip" ] &&
		unshare "$flags" "$ip" link set lo up 2>/dev/null; then
		export _E2E_IN_NETNS=1
		# shellcheck disable=SC2016 # expanded by the inner sh
		exec unshare "$flags" /bin/sh -c '"$0" link set lo up && shift && exec "$@"' \
			"$ip" - "$here/run.sh" "$@"
	elif [ "$netns" = on ]; then
		echo "e2e: E2E_NETNS=on but a private network namespace is not available" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

export CLAUDEWRAP=${CLAUDEWRAP:-build/asan/claudewrap}
bound=${E2E_FILE_BOUND:-240}

if [ -n "${CLAUDE_BIN-}" ]; then
	cli=$CLAUDE_BIN
elif ! cli=$(scripts/cli-path.sh ${CLI_VERSION:+"$CLI_VERSION"}); then
	echo "0 passed, 1 failed"
	exit 1
fi
export CLAUDE_BIN=$cli

if [ $# -gt 0 ]; then
	files=()
	for t in "$@"; do
		t=${t%.sh}
		t=${t##*/}
		files+=("$here/$t.sh")
	done
else
	files=("$here"/t_*.sh)
fi

t0=$(date +%s%N)
"$cli" --version >/dev/null 2>&1
t1=$(date +%s%N)
echo "# e2e: $CLAUDEWRAP, CLI $("$cli" --version 2>/dev/null) ($(((t1 - t0) / 1000000)) ms to start)," \
	"network: $([ -n "${_E2E_IN_NETNS-}" ] && echo private namespace || echo host)"

passed=0
failed=0
for f in "${files[@]}"; do
	name=$(basename "$f" .sh)
	if [ ! -f "$f" ]; then
		echo "FAIL - $name: no such test file"
		failed=$((failed + 1))
		continue
	fi
	log=$(mktemp "${TMPDIR:-/tmp}/cw-e2e-$name.XXXXXX.log")
	s=$(date +%s%N)
	# Each file's own closing line is shown as a comment: the suite's
	# last line is the only bare `N passed, N failed`.
	timeout -k 5 "$bound" bash "$f" 2>&1 | tee "$log" |
		sed -E "s/^([0-9]+ passed, [0-9]+ failed)\$/# $name: \1/"
	rc=${PIPESTATUS[0]}
	e=$(date +%s%N)
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$last" ]; then
		p=${last%% passed*}
		n=${last#*passed, }
		n=${n%% failed}
		passed=$((passed + p))
		failed=$((failed + n))
		[ "$rc" -eq 0 ] || [ "$n" -gt 0 ] || failed=$((failed + 1))
	else
		# Count the cases it finished, and the file itself as a failure.
		[ "$rc" -eq 124 ] && echo "FAIL - $name: killed after ${bound} s"
		echo "FAIL - $name: ended without its closing line (exit $rc)"
		passed=$((passed + $(grep -c '^ok - ' "$log")))
		failed=$((failed + 1 + $(grep -c '^FAIL - ' "$log")))
	fi
	echo "# $name: $(((e - s) / 1000000)) ms"
	rm -f "$log"
done
t2=$(date +%s%N)
echo "# e2e: $(((t2 - t0) / 1000000000)) s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
