#!/bin/bash
# API errors, one attempt each (--retries=1 unless RETRIES is set): the distinct exit code and
# status word, and nothing on stdout (the CLI prints its error text there).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start

# err_case SCRIPT STATUS EXIT [CLAUDE ARGS...]
err_case() {
	local s=$1 st=$2 ex=$3
	shift 3
	script "$s"
	returns_ "$ex" cw --retries="${RETRIES:-1}" --backoff=0.1s -p hi "$@"
	expect_done "$st" "$ex"
	expect_stdout_empty
}

t_429() {
	err_case '[{"kind":"http","status":429,"message":"Number of request tokens has exceeded your per-minute rate limit"}]' rate_limited 43
	expect_posts 1
}
t_429_json() {
	err_case '[{"kind":"http","status":429,"retry_after":1}]' rate_limited 43 --output-format json
}
t_usage_limit() {
	# The subscription form: an OAuth token instead of an API key makes
	# the CLI read the anthropic-ratelimit-unified-* headers.
	local i
	for i in "${!CASE_ENV[@]}"; do
		case ${CASE_ENV[$i]} in ANTHROPIC_API_KEY=*) unset 'CASE_ENV[i]' ;; esac
	done
	CASE_ENV+=(CLAUDE_CODE_OAUTH_TOKEN=oauth-test)
	err_case "[{\"kind\":\"usage_limit\",\"reset\":$(($(date +%s) + 7200)),\"claim\":\"five_hour\"}]" rate_limited 43
}
t_529() { err_case '[{"kind":"http","status":529,"message":"Overloaded"}]' unavailable 44; }
t_500() { err_case '[{"kind":"http","status":500,"message":"Internal server error"}]' unavailable 44; }
t_503() { err_case '[{"kind":"http","status":503,"message":"Service unavailable"}]' unavailable 44; }
t_reset() { err_case '[{"kind":"reset"}]' unavailable 44; }
t_401() { err_case '[{"kind":"http","status":401,"message":"invalid x-api-key"}]' auth 46; }
t_403() { err_case '[{"kind":"http","status":403,"message":"Your API key does not have permission to use the specified resource."}]' auth 46; }
t_prompt_too_long() {
	err_case '[{"kind":"http","status":400,"message":"prompt is too long: 250000 tokens > 200000 maximum"}]' claude_error 45
}
# The model calls a tool; --max-turns 1 stops the CLI (error_max_turns).
t_max_turns() {
	err_case '[{"kind":"tool_use","name":"Bash","input":{"command":"echo hi","description":"Say hi"}},{"kind":"ok","text":"never seen"}]' claude_error 45 --max-turns 1
}
# Attempts left, but the error is not transient: one attempt only.
t_not_retried() {
	RETRIES=3 err_case '[{"kind":"http","status":401,"message":"invalid x-api-key"}]' auth 46
	expect_posts 1
	RETRIES=3 err_case '[{"kind":"http","status":400,"message":"prompt is too long: 250000 tokens > 200000 maximum"}]' claude_error 45
	expect_posts 2
}

case_ 429 t_429
case_ 429_json t_429_json
case_ usage_limit t_usage_limit
case_ 529 t_529
case_ 500 t_500
case_ 503 t_503
case_ connection_reset t_reset
case_ 401 t_401
case_ 403 t_403
case_ prompt_too_long t_prompt_too_long
case_ max_turns t_max_turns
case_ not_retried t_not_retried
finish
