#!/bin/bash
# Good answers: exit 0, status ok, and stdout byte-identical to the real
# CLI run directly for the same mock answer, in every output mode.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start

# Multi-line, non-ASCII, ending in a newline (the CLI adds none then).
ANSWER=$'Line one\nLigne deux: héllo ✓ 日本\n'
OK_SCRIPT='[{"kind":"ok","text":"Line one\nLigne deux: héllo ✓ 日本\n","input_tokens":12,"output_tokens":9}]'

# same_as_direct MODE ARGS...: claudewrap and the CLI directly agree.
same_as_direct() {
	local mode=$1
	shift
	script "$OK_SCRIPT"
	returns_ 0 cw --retries=1 "$@" || return
	expect_done ok 0
	expect_posts 1
	script "$OK_SCRIPT"
	returns_ 0 direct "$@" || return
	expect_same_as_direct "$mode"
}

t_text() {
	same_as_direct text -p "say hello"
	expect_stdout "$ANSWER"
}
t_json() { same_as_direct json -p "say hello" --output-format json; }
t_stream_json() {
	same_as_direct stream-json -p "say hello" --output-format stream-json --verbose
}
t_json_verbose() {
	same_as_direct json -p "say hello" --output-format json --verbose
}

# "verbose": true in the user's settings turns json mode into the array
# without --verbose on the command line.
t_json_settings_verbose() {
	mkdir -p "$C/home.seed/.claude"
	printf '{"verbose": true}\n' >"$C/home.seed/.claude/settings.json"
	fresh_home
	same_as_direct json -p "say hello" --output-format json
	# An array where the CLI prints one (2.1.x; 2.0.77 ignores the setting).
	[ "$(head -c 1 "$C/out")" = "$(head -c 1 "$C/direct.out")" ] ||
		fail_ "expected what the CLI prints: $(head -c 1 "$C/direct.out")…"
}

# Text mode adds the newline the CLI adds, and no other.
t_text_newline() {
	script '[{"kind":"ok","text":"no newline at the end"}]'
	returns_ 0 cw --retries=1 -p hi || return
	expect_done ok 0
	expect_stdout 'no newline at the end
'
}

# The prompt on stdin reaches the API unchanged.
t_stdin_prompt() {
	printf 'the prompt on stdin\n' >"$C/prompt"
	script '[{"kind":"ok","text":"fine"}]'
	CW_STDIN=$C/prompt returns_ 0 cw --retries=1 -p || return
	expect_done ok 0
	expect_stdout 'fine
'
	local want
	want=$(sha256sum <"$C/prompt" | cut -d' ' -f1)
	case_log | grep '"side": false' | grep -q "\"prompt_sha256\": \"$want\"" ||
		fail_ "the mock did not see the stdin prompt (sha256 $want)"
}

# The done line carries the usage the API reported.
t_done_usage() {
	script '[{"kind":"ok","text":"counted","input_tokens":1234,"output_tokens":56}]'
	returns_ 0 cw --retries=1 -p hi || return
	expect_done ok 0
	[ "$(done_field input_tokens)" = 1234 ] ||
		fail_ "done line input_tokens=$(done_field input_tokens), expected 1234"
	[ "$(done_field output_tokens)" = 56 ] ||
		fail_ "done line output_tokens=$(done_field output_tokens), expected 56"
	[ "$(done_field attempts)" = 1 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 1"
}

case_ text t_text
case_ json t_json
case_ stream_json t_stream_json
case_ json_verbose t_json_verbose
case_ json_settings_verbose t_json_settings_verbose
case_ text_newline t_text_newline
case_ stdin_prompt t_stdin_prompt
case_ done_usage t_done_usage
finish
