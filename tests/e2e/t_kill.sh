#!/bin/bash
# The process tree: a timeout kills the CLI and everything it started
# (the stubborn MCP server, Bash tool commands in their own session), a
# signal to claudewrap is forwarded and re-raised, and a normal exit also
# leaves nothing behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# marker_pids STRING: pids of processes whose command line contains STRING
# (a string unique to this test run, so only processes it caused match).
marker_pids() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		tr '\0' ' ' 2>/dev/null <"$f" | grep -qF -- "$1" && alive "$p" && echo "$p"
	done
	return 0
}

_no_marker() { [ -z "$(marker_pids "$1")" ]; }

expect_marker_gone() {
	retry_ 0.5 _no_marker "$1" && return 0
	local p
	for p in $(marker_pids "$1"); do
		fail_ "left behind: $(ps -o pid=,ppid=,pgid=,sid=,args= -p "$p" | cut -c1-160)"
		kill -KILL "$p" 2>/dev/null
	done
	return 1
}

t_timeout_hang_mcp() {
	local t0 t1 mcp
	mcp=$(mcp_config)
	script '[{"kind":"hang"}]'
	t0=$(now_ms)
	# 5 s: on 2 busy cores the CLI has started the MCP server and sent its
	# request after 2-3 s.
	returns_ 124 cw --retries=1 --timeout=5s --kill-after=1s -p hi --mcp-config "$mcp"
	t1=$(now_ms)
	expect_done timeout 124
	expect_stdout_empty
	expect_posts 1
	expect_stubs_gone 0.5
	[ $((t1 - t0)) -lt 9000 ] || fail_ "took $((t1 - t0)) ms for --timeout=5s --kill-after=1s"
}

t_mcp_normal_exit() {
	script '[{"kind":"ok","text":"fine"}]'
	returns_ 0 cw --retries=1 -p hi --mcp-config "$(mcp_config)"
	expect_done ok 0
	expect_stdout 'fine
'
	expect_stubs_gone 0.5
}

_hang_in_progress() { [ "$(posts)" -ge 1 ] && [ -n "$(stub_pids)" ]; }

t_sigterm_mid_hang() {
	local rc
	script '[{"kind":"hang"}]'
	cw_bg --retries=1 -p hi --mcp-config "$(mcp_config)"
	if ! retry_ 20 _hang_in_progress; then
		fail_ "the request never reached the mock"
		return
	fi
	kill -TERM "$CW_PID"
	cw_wait 15
	rc=$?
	[ "$rc" -eq 143 ] || fail_ "expected exit 143 (SIGTERM re-raised), got $rc"
	expect_done signal 143
	expect_stdout_empty
	expect_stubs_gone 0.5
}

# The long Bash command is `echo start && sleep N`, not a bare `sleep N`:
# 2.1.332 refuses a standalone sleep (and a sleep followed by other
# commands) as a tool_use_error without running anything, so the command
# never started there (cli-observations.md).
#
# bash_tool_case WRAPPER-OPTION...: the model runs a long Bash command,
# which the CLI starts in a session of its own, out of the CLI's process
# group. Killed within ~2 s of its start, the CLI exits and leaves that
# command running (orphaned); after ~3 s, SIGTERM makes the CLI kill the
# command, send its result to the API and print the next answer as a
# success result (cli-observations.md (f)): that late answer must not be
# delivered either.
bash_tool_case() {
	local marker=47.$$$RANDOM
	script '[{"kind":"tool_use","name":"Bash","input":{"command":"echo start \u0026\u0026 sleep '"$marker"'","description":"Wait"}},{"kind":"ok","text":"answer after the kill"}]'
	returns_ 124 cw --retries=1 --kill-after=1s "$@" -p hi
	expect_done timeout 124
	expect_stdout_empty
	expect_marker_gone "sleep $marker"
	grep -q '^claudewrap: .* event=kill .*pids=[0-9]*,' "$C/err" ||
		note "(the Bash command had not started when the kill came)"
}
t_timeout_bash_tool_late() { bash_tool_case --timeout=6s; }

_marker_running() { [ -n "$(marker_pids "$1")" ]; }

# SIGTERM to claudewrap as soon as the Bash command runs: the CLI exits
# at once and leaves the command behind, in its own session.
t_sigterm_bash_tool() {
	local marker=48.$$$RANDOM rc
	script '[{"kind":"tool_use","name":"Bash","input":{"command":"echo start \u0026\u0026 sleep '"$marker"'","description":"Wait"}},{"kind":"ok","text":"answer after the kill"}]'
	cw_bg --retries=1 --kill-after=1s -p hi
	if ! retry_ 20 _marker_running "sleep $marker"; then
		fail_ "the Bash command never started"
		return
	fi
	kill -TERM "$CW_PID"
	cw_wait 15
	rc=$?
	[ "$rc" -eq 143 ] || fail_ "expected exit 143 (SIGTERM re-raised), got $rc"
	expect_done signal 143
	expect_stdout_empty
	expect_marker_gone "sleep $marker"
}

# The stream stalls after its first text: no timeout in the CLI ends it.
# The idle clock starts at the spawn, and the CLI prints nothing until its
# init line (1-2 s, more on busy cores): 6 s leaves room for that.
t_idle_timeout_stall() {
	script '[{"kind":"stall","text":"Partial"}]'
	returns_ 124 cw --retries=1 --timeout=40s --idle-timeout=6s --kill-after=1s \
		-p hi --output-format json
	expect_done timeout 124
	expect_stdout_empty
	expect_posts 1
}

# Slow but alive: deltas every 0.5 s for ~2.5 s under --timeout=20s.
t_slow_ok() {
	script '[{"kind":"slow","chunks":["one ","two ","three ","four ","five ","six"],"delay":0.5}]'
	returns_ 0 cw --retries=1 --timeout=20s --kill-after=1s -p hi
	expect_done ok 0
	expect_stdout 'one two three four five six
'
}

case_ timeout_hang_mcp t_timeout_hang_mcp
case_ mcp_normal_exit t_mcp_normal_exit
case_ sigterm_mid_hang t_sigterm_mid_hang
case_ sigterm_bash_tool t_sigterm_bash_tool
case_ timeout_bash_tool_late t_timeout_bash_tool_late
case_ idle_timeout_stall t_idle_timeout_stall
case_ slow_ok t_slow_ok
finish
