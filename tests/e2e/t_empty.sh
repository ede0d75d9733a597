#!/bin/bash
# The CLI says nothing and exits 0: claudewrap exits 42, stdout empty.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start

# The CLI asks again after an empty answer (a second POST); the mock
# answers empty both times.
t_empty_text() {
	script '[{"kind":"empty"}]'
	returns_ 42 cw --retries=1 -p hi
	expect_done empty_payload 42
	expect_stdout_empty
	expect_posts 2
}

t_empty_json() {
	script '[{"kind":"empty"}]'
	returns_ 42 cw --retries=1 -p hi --output-format json
	expect_done empty_payload 42
	expect_stdout_empty
}

t_whitespace() {
	script '[{"kind":"whitespace","text":"  \n\t \n"}]'
	returns_ 42 cw --retries=1 -p hi
	expect_done empty_payload 42
	expect_stdout_empty
}

t_whitespace_stream_json() {
	script '[{"kind":"whitespace","text":" \n"}]'
	returns_ 42 cw --retries=1 -p hi --output-format stream-json --verbose
	expect_done empty_payload 42
	expect_stdout_empty
}

# --allow-empty: the empty answer is delivered as the CLI prints it.
t_allow_empty() {
	script '[{"kind":"empty"}]'
	returns_ 0 cw --retries=1 --allow-empty -p hi || return
	expect_done ok 0
	expect_stdout '
'
}

# An empty text block (output_tokens 0): 2.1.x prints "" (after its
# re-ask), 2.0.x its placeholder "(no content)"; 42 on every version.
t_empty_block() {
	script '[{"kind":"ok","text":"","output_tokens":0}]'
	returns_ 42 cw --retries=1 -p hi
	expect_done empty_payload 42
	expect_stdout_empty
}

t_empty_block_json() {
	script '[{"kind":"ok","text":"","output_tokens":0}]'
	returns_ 42 cw --retries=1 -p hi --output-format json
	expect_done empty_payload 42
	expect_stdout_empty
}

# The other side of the placeholder rule: the model writes the exact
# words "(no content)". On a version known to substitute them for an
# empty answer (the rule table in cli-observations.md) they cannot be
# told from one, so 42; on every other version they are an answer.
t_placeholder_words() {
	local ph
	ph=$(placeholder_of "$CLI_VER")
	script '[{"kind":"ok","text":"(no content)"}]'
	if [ "$ph" = "(no content)" ]; then
		returns_ 42 cw --retries=1 -p hi
		expect_done empty_payload 42
		expect_stdout_empty
	else
		returns_ 0 cw --retries=1 -p hi
		expect_done ok 0
		expect_stdout '(no content)
'
	fi
	[ "$(done_field cli_version)" = "$CLI_VER" ] ||
		fail_ "done line cli_version=$(done_field cli_version), expected $CLI_VER"
}

case_ empty_block t_empty_block
case_ empty_block_json t_empty_block_json
case_ placeholder_words t_placeholder_words
case_ empty_text t_empty_text
case_ empty_json t_empty_json
case_ whitespace t_whitespace
case_ whitespace_stream_json t_whitespace_stream_json
case_ allow_empty t_allow_empty
finish
