#!/bin/bash
# --expect-tool, --transcript and `claudewrap-report --explain` (issue 7),
# with the real CLI against the mock. The mock answers with a tool_use
# (Bash `echo hi`, which the CLI runs in print mode without asking), then
# with a final text once the tool's result comes back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start

TOOL_SCRIPT='[{"kind":"tool_use","name":"Bash","input":{"command":"echo hi","description":"Say hi"},"output_tokens":23},{"kind":"ok","text":"The command printed hi.","output_tokens":17}]'

# --- helpers of this file ---------------------------------------------------------

# All the POSTs to /v1/messages of the case but the title request: one
# per model turn.
turn_posts() {
	case_log | grep '"method": "POST"' | grep -c '"side": false'
}

# --- cases --------------------------------------------------------------------------

# The tool was called: 0, and the answer after the tool is delivered.
t_tool_called() {
	script "$TOOL_SCRIPT"
	returns_ 0 cw --retries=1 --expect-tool=Bash --state-dir="$C/state" -p 'say hi'
	expect_done ok 0
	expect_stdout 'The command printed hi.
'
	# Two turns: the tool call, then the answer with the tool's result.
	expect_posts 2
	[ "$(case_log | grep '"method": "POST"' | grep -c '"tool_result": true')" -eq 1 ] ||
		fail_ "the tool's result never went back to the mock"
	done_lines "$C/err" | grep -q 'tools_called' ||
		note "(the done line does not list tools_called)"
}

# Another tool was expected: 48, nothing on stdout, and the detail names
# the missing tool and the one that was called.
t_tool_missing() {
	local d
	script "$TOOL_SCRIPT"
	returns_ 48 cw --retries=3 --backoff=0.1s --expect-tool=Write --state-dir="$C/state" -p 'say hi'
	expect_done expectation_failed 48
	expect_stdout_empty
	d=$(done_field detail)
	case $d in *Write*) ;; *) fail_ "the detail does not name Write: $d" ;; esac
	case $d in *Bash*) ;; *) fail_ "the detail does not say Bash was called: $d" ;; esac
	# Not transient: never retried.
	[ "$(done_field attempts)" = 1 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 1 (48 is not retried)"
	expect_posts 2
}

# No tool call at all: 48 too.
t_no_tool() {
	local d
	script '[{"kind":"ok","text":"I did not run anything."}]'
	returns_ 48 cw --retries=1 --expect-tool=Bash --state-dir="$C/state" -p 'say hi'
	expect_done expectation_failed 48
	expect_stdout_empty
	expect_posts 1
	d=$(done_field detail)
	case $d in *Bash*) ;; *) fail_ "the detail does not name Bash: $d" ;; esac
}

# --transcript=DIR: DIR/RUN.jsonl holds the CLI's stream events of the
# run, each marked with its attempt; as many assistant turns as the mock
# saw requests; and `claudewrap-report --explain RUN` answers its five
# questions from the ledger and that transcript.
t_transcript_explain() {
	local run f n turns reqs q
	script "$TOOL_SCRIPT"
	mkdir -p "$C/tx"
	returns_ 0 cw --retries=1 --expect-tool=Bash --transcript="$C/tx" \
		--state-dir="$C/state" -p 'say hi' || return
	expect_done ok 0
	run=$(done_field run)
	f=$C/tx/$run.jsonl
	if [ -z "$run" ] || [ ! -f "$f" ]; then
		fail_ "no transcript $f (run '$run'): $(ls -la "$C/tx")"
		return
	fi
	[ "$(stat -c %a "$f")" = 600 ] || fail_ "transcript mode $(stat -c %a "$f"), expected 600"
	# Each line {"attempt":N,"ts":…,"event":{…}}, all of attempt 1.
	n=$(perl -ne 'print unless /^\{"attempt":1,"ts":"[^"]+","event":\{.*\}\}$/' "$f" | wc -l)
	[ "$n" -eq 0 ] || fail_ "$n transcript lines are not {\"attempt\":1,\"ts\":…,\"event\":{…}}: $(perl -ne 'print unless /^\{"attempt":1,/' "$f" | head -c 300)"
	# Events are found by their parsed type, not by where the CLI puts
	# the key (2.1.332 moved "type" away from the front).
	[ -n "$(jsel "$f" 'ev(o)["type"] == "system" and ev(o).get("subtype") == "init"')" ] ||
		fail_ "no system/init event in the transcript"
	[ -n "$(jsel "$f" 'ev(o)["type"] == "assistant" and any(b.get("type") == "tool_use" and b.get("name") == "Bash" for b in ev(o)["message"]["content"])')" ] ||
		fail_ "no assistant event with the Bash tool_use in the transcript"
	[ -n "$(jsel "$f" 'ev(o)["type"] == "user" and any(b.get("type") == "tool_result" and text_of(b.get("content")).strip() == "hi" for b in ev(o)["message"]["content"])')" ] ||
		fail_ "no user event with the tool_result (\"hi\": Bash ran) in the transcript"
	[ -n "$(jsel "$f" 'ev(o)["type"] == "result" and ev(o).get("subtype") == "success"')" ] ||
		fail_ "no result event in the transcript"
	# Assistant turns (distinct message ids; the CLI may split a message
	# over several events) against the requests the mock saw.
	turns=$(jsel "$f" 'ev(o)["type"] == "assistant"' |
		jval - 'ev(o)["message"]["id"]' | sort -u | wc -l)
	reqs=$(turn_posts)
	[ "$turns:$reqs" = 2:2 ] ||
		fail_ "transcript has $turns assistant turns, the mock saw $reqs requests (expected 2 and 2)"

	# claudewrap-report: the same binary under another name.
	mkdir -p "$C/bin"
	ln -sf "$CLAUDEWRAP" "$C/bin/claudewrap-report"
	(cd "$C/work" && timeout -k 5 "$CW_BOUND" env -i "${CASE_ENV[@]}" \
		"$C/bin/claudewrap-report" --ledger="$C/state/ledger.jsonl" \
		--explain "$run" >"$C/explain" 2>"$C/explain.err")
	n=$?
	[ "$n" -eq 0 ] || fail_ "claudewrap-report --explain: exit $n: $(cat "$C/explain.err")"
	for q in '1. did the call happen?' '2. did it return content?' \
		'3. did it reach the caller?' '4. did it write what it parsed?' \
		'5. did downstream get it?'; do
		grep -qF "$q" "$C/explain" || fail_ "--explain lacks \"$q\""
	done
	grep -F '1. did the call happen?' "$C/explain" | grep -q 'yes' ||
		fail_ "--explain: the call did not happen? $(grep -F '1. ' "$C/explain")"
	# The tool, and the output tokens (the last turn's count).
	grep -F '2. did it return content?' "$C/explain" | grep -q 'Bash' ||
		fail_ "--explain does not mention the Bash tool: $(grep -F '2. ' "$C/explain")"
	n=$(done_field output_tokens)
	grep -F '2. did it return content?' "$C/explain" | grep -qE "(^|[^0-9])$n output token" ||
		fail_ "--explain does not mention the $n output tokens: $(grep -F '2. ' "$C/explain")"
	grep -F '3. did it reach the caller?' "$C/explain" | grep -q 'yes' ||
		fail_ "--explain: not delivered? $(grep -F '3. ' "$C/explain")"
	TX_REQS=$reqs
	TX_DONE_REQUESTS=$(done_field requests)
	TX_EXPLAIN=$C/explain
}

# The request count claudewrap records (the done line's `requests`, and
# --explain's answer to "did the call happen?") against the requests the
# mock saw for the run of transcript_explain: a tool call is two requests
# in one attempt.
t_request_count() {
	local n
	if [ -z "${TX_REQS-}" ] || [ ! -f "${TX_EXPLAIN-}" ]; then
		fail_ "needs the case transcript_explain first"
		return
	fi
	[ "$TX_DONE_REQUESTS" = "$TX_REQS" ] ||
		fail_ "done line requests=$TX_DONE_REQUESTS; the mock saw $TX_REQS requests"
	n=$(grep -F '1. did the call happen?' "$TX_EXPLAIN" | perl -ne 'print "$1\n" if /(\d+) API requests?/')
	[ "$n" = "$TX_REQS" ] ||
		fail_ "--explain says $n API request(s); the mock saw $TX_REQS: $(grep -F '1. ' "$TX_EXPLAIN")"
}

case_ tool_called t_tool_called
case_ tool_missing t_tool_missing
case_ no_tool t_no_tool
case_ transcript_explain t_transcript_explain
case_ request_count t_request_count
finish
