#!/bin/bash
# Retries by claudewrap itself (same runner, same arguments). The CLI's own
# retries are off (CLAUDE_CODE_MAX_RETRIES=0 in the environment).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start

# 429, 429, then ok: delivered after the third attempt.
t_429_twice_then_ok() {
	script '[{"kind":"http","status":429,"message":"rate limited","times":2},{"kind":"ok","text":"third time lucky"}]'
	returns_ 0 cw --retries=4 --backoff=0.2s -p hi
	expect_done ok 0
	expect_stdout 'third time lucky
'
	expect_posts 3
	[ "$(done_field attempts)" = 3 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 3"
	[ "$(grep -c '^claudewrap: .* event=retry' "$C/err")" -eq 2 ] ||
		fail_ "expected two event=retry lines"
}

# 529 until a wall-clock time 1.5 s ahead, then ok.
t_overloaded_until_then_ok() {
	script "[{\"kind\":\"http\",\"status\":529,\"until\":$(($(date +%s%N) / 1000000 + 1500))e-3},{\"kind\":\"ok\",\"text\":\"back\"}]"
	returns_ 0 cw --retries=6 --backoff=0.4s --backoff-max=1s -p hi
	expect_done ok 0
	expect_stdout 'back
'
}

# Retries spent: the last attempt's status, and stdout still empty.
t_retries_spent() {
	script '[{"kind":"http","status":503,"message":"down"}]'
	returns_ 44 cw --retries=2 --backoff=0.1s -p hi
	expect_done unavailable 44
	expect_stdout_empty
	expect_posts 2
}

case_ 429_twice_then_ok t_429_twice_then_ok
case_ overloaded_until_then_ok t_overloaded_until_then_ok
case_ retries_spent t_retries_spent
finish
