#!/bin/bash
# The e2e suite on every version of the tested range
# (scripts/install-cli.sh --range: the oldest supported, the previous pin,
# the pinned one), one after another, each line of a version's run marked
# with it, so a failure names the version:
#
#   CLAUDEWRAP=build/asan/claudewrap tests/e2e/versions.sh [VERSION ...]
#
# The pinned version runs every case. The others run every case too,
# except those listed below for them: a case that cannot hold on that
# version because the CLI itself behaves otherwise, each with its reason
# (cli-observations.md has what was observed). A skipped case prints a
# `skip -` line and is counted as neither passed nor failed.
#
# Ends with `N passed, N failed` and, on failure, the failing versions.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1

# skips VERSION: the cases (file:case) VERSION cannot pass, one a line,
# "file:case reason".
skips() {
	case $1 in
	2.0.*)
		# 2.0.x retries 429, 529 and 401 on its own whatever
		# CLAUDE_CODE_MAX_RETRIES says, and does not say so in the
		# stream (no api_retry event): the request counts and
		# timings these cases hold claudewrap to are the CLI's.
		cat <<-'EOS'
		t_cooldown:429_429_ok_stdin hidden retry: a 429 is two requests (stream, then without)
		t_cooldown:429_always hidden retry: request count and waits are the CLI's
		t_cooldown:529_always hidden retry: request count is the CLI's
		t_cooldown:401_once hidden retry of 401
		t_cooldown:empty_twice no content block ends error_during_execution (45)
		t_cooldown:empty_then_ok no content block ends error_during_execution (45)
		t_cooldown:usage_limit_deadline hidden retry consumes the scripted answers
		t_cooldown:sigterm_in_backoff hidden retry: the backoff never starts
		t_cooldown:shared_cooldown_reset hidden retry: request count is the CLI's
		t_cooldown:shared_cooldown_concurrent hidden retry: request count is the CLI's
		t_cooldown:breaker hidden retry: request count is the CLI's
		t_retry:429_twice_then_ok hidden retry consumes the scripted answers
		t_retry:retries_spent hidden retry: request count is the CLI's
		t_errors:429 hidden retry: two requests for one 429
		t_errors:not_retried hidden retry: request count is the CLI's
		t_empty:empty_text no content block ends error_during_execution (45)
		t_empty:empty_json no content block ends error_during_execution (45)
		t_empty:allow_empty no content block ends error_during_execution (45)
		t_expect:tool_called a Bash call adds a request the mock does not tell apart
		t_expect:tool_missing a Bash call adds a request the mock does not tell apart
		t_expect:transcript_explain a Bash call adds a request the mock does not tell apart
		t_expect:request_count a Bash call adds a request the mock does not tell apart
		t_txn:bash_edit_restored hidden retry consumes the scripted answers (the second edit never comes); the .git/index bytes change while 2.0.x runs with the Bash tool (claudewrap's restore leaves them: integ t_txn)
		t_txn:write_restored a tool call adds requests the mock does not tell apart (the tool_result count)
		t_txn:resume hidden retry: request count is the CLI's
		EOS
		;;
	esac
}

if [ $# -gt 0 ]; then
	versions=("$@")
else
	read -r -a versions <<<"$(scripts/install-cli.sh --range)" || exit 1
fi

passed=0
failed=0
bad=()
for v in "${versions[@]}"; do
	if ! scripts/install-cli.sh "$v"; then
		echo "FAIL - [CLI $v] not installed"
		failed=$((failed + 1))
		bad+=("$v")
		continue
	fi
	skip=$(skips "$v" | awk '{print $1}' | tr '\n' ' ')
	log=$(mktemp "${TMPDIR:-/tmp}/cw-e2e-versions.XXXXXX")
	CLI_VERSION=$v E2E_SKIP=$skip tests/e2e/run.sh 2>&1 | tee "$log" |
		sed -E "s/^(ok|FAIL|skip) - /\1 - [CLI $v] /; s/^([0-9]+ passed, [0-9]+ failed)\$/# CLI $v: \1/"
	rc=${PIPESTATUS[0]}
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	rm -f "$log"
	p=${last%% passed*}
	n=${last#*passed, }
	n=${n%% failed}
	[ -n "$last" ] || { p=0; n=1; }
	[ "$rc" -eq 0 ] || [ "$n" -gt 0 ] || n=1
	passed=$((passed + p))
	failed=$((failed + n))
	[ "$n" -eq 0 ] || bad+=("$v")
done
[ ${#bad[@]} -eq 0 ] || echo "# e2e failed on CLI ${bad[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
