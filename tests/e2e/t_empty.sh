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

case_ empty_text t_empty_text
case_ empty_json t_empty_json
case_ whitespace t_whitespace
case_ whitespace_stream_json t_whitespace_stream_json
case_ allow_empty t_allow_empty
finish
