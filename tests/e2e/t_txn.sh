#!/bin/bash
# Transactions (issue 16) against what the real CLI does to a work tree:
# the mock answers with a tool call that edits files (Bash, Write), which
# the CLI runs, and then fails the next request (500), so --rollback is
# tested on the CLI's own writes; and --resume-on-retry continues the
# failed session instead of paying for its turns again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start

BASH_EDIT='{"kind":"tool_use","name":"Bash","input":{"command":"printf \"edit\\n\" >> tracked.txt; mkdir -p gen; echo new > gen/made.txt; rm -f delete-me.txt","description":"Edit"},"output_tokens":200}'
FAIL='{"kind":"http","status":500,"message":"mock: down"}'

# --- helpers of this file ---------------------------------------------------------

# $C/work as a repository with a commit, a staged and an unstaged change,
# and an untracked file.
repo() {
	(cd "$C/work" && git init -q -b main . &&
		git config user.name t && git config user.email t@localhost &&
		printf 'one\n' >tracked.txt && printf 'doomed\n' >delete-me.txt &&
		printf 'base\n' >staged.txt && git add . && git commit -qm init &&
		printf 'unstaged\n' >>tracked.txt &&
		printf 'staged\n' >>staged.txt && git add staged.txt &&
		printf 'mine\n' >untracked.txt) || fail_ "could not make the repository"
}

# The work tree's files and contents, and the index's bytes.
state() {
	(cd "$C/work" && find . -path ./.git -prune -o -type f -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum && sha256sum .git/index)
}

# in_work CMD...: CMD in the work tree, without refreshing the index.
in_work() { (cd "$C/work" && GIT_OPTIONAL_LOCKS=0 "$@"); }

# The mock log of the case as "requests body_bytes" of the model turns.
turn_cost() {
	case_log | "$PY" -c '
import json, sys
n = b = 0
for line in sys.stdin:
    r = json.loads(line)
    if r.get("method") == "POST" and not r.get("title"):
        n += 1
        b += r.get("body_bytes", 0)
print(n, b)'
}

# --- cases --------------------------------------------------------------------------

# The CLI's Bash tool edits, creates and deletes; the next request fails.
# Every attempt's edits are undone, the user's work is as it was.
t_bash_edit_restored() {
	local before ref
	repo
	before=$(state)
	script "[$BASH_EDIT,$FAIL,$BASH_EDIT,$FAIL]"
	returns_ 44 cw --rollback --retries=2 --backoff=0.1s -p 'edit it' \
		--allowedTools Bash
	expect_done unavailable 44
	expect_stdout_empty
	# The tool ran (its result went back to the mock), twice.
	[ "$(case_log | grep -c '"tool_result": true')" -eq 2 ] ||
		fail_ "the Bash tool's result did not reach the mock twice"
	[ "$(state)" = "$before" ] || fail_ "the tree or the index differs after the rollback"
	[ -e "$C/work/gen" ] && fail_ "gen/ was left behind"
	[ "$(grep -c 'event=restore attempt=[12] files_changed=3' "$C/err")" -eq 2 ] ||
		fail_ "expected two restores of 3 files"
	ref=$(done_field rollback_ref)
	in_work git diff --name-status "$ref^" "$ref" >"$C/changes" ||
		fail_ "rollback_ref=$ref is not a commit"
	printf 'D\tdelete-me.txt\nA\tgen/made.txt\nM\ttracked.txt\n' |
		cmp -s - "$C/changes" || fail_ "the ref does not show the edits: $(cat "$C/changes")"
	in_work git status --porcelain | grep -q '^M  staged.txt' ||
		fail_ "the staged change is gone"
}

# The Write tool (acceptEdits) makes a file in a new directory.
t_write_restored() {
	local before
	repo
	before=$(state)
	script "[{\"kind\":\"tool_use\",\"name\":\"Write\",\"input\":{\"file_path\":\"$C/work/notes/new.md\",\"content\":\"written\\n\"}},$FAIL]"
	returns_ 44 cw --rollback --retries=1 -p 'write it' --permission-mode acceptEdits
	expect_done unavailable 44
	[ "$(case_log | grep -c '"tool_result": true')" -eq 1 ] ||
		fail_ "the Write tool's result did not reach the mock"
	in_work git show "$(done_field rollback_ref):notes/new.md" 2>/dev/null |
		grep -q written || fail_ "the CLI did not write notes/new.md"
	[ "$(state)" = "$before" ] || fail_ "the tree differs after the rollback"
	[ -e "$C/work/notes" ] && fail_ "notes/ was left behind"
	[ "$(done_field files_changed)" = 1 ] ||
		fail_ "files_changed=$(done_field files_changed), expected 1"
}

# Retried from scratch: the second attempt edits the restored tree, once.
t_start_over() {
	repo
	script "[$BASH_EDIT,$FAIL,$BASH_EDIT,{\"kind\":\"ok\",\"text\":\"done\",\"output_tokens\":20}]"
	returns_ 0 cw --rollback --retries=2 --backoff=0.1s -p 'edit it' \
		--allowedTools Bash
	expect_done ok 0
	expect_stdout 'done
'
	[ "$(grep -c '^edit$' "$C/work/tracked.txt")" -eq 1 ] ||
		fail_ "edits stacked: $(cat "$C/work/tracked.txt")"
	[ "$(done_field files_changed)" = 3 ] ||
		fail_ "files_changed=$(done_field files_changed), expected 3"
	[ -z "$(in_work git for-each-ref refs/claudewrap)" ] ||
		fail_ "the ref was kept after a success"
	read -r START_OVER_POSTS START_OVER_BYTES < <(turn_cost)
	say "# start over: $START_OVER_POSTS requests, $START_OVER_BYTES request bytes, output tokens 200+200+20"
}

# Resumed: the second attempt continues the session (the tool call is
# not asked for nor run again), and the run costs one request less.
t_resume() {
	local sess n posts bytes
	repo
	script "[$BASH_EDIT,$FAIL,{\"kind\":\"ok\",\"text\":\"done\",\"output_tokens\":20}]"
	returns_ 0 cw --rollback --resume-on-retry --retries=2 --backoff=0.1s \
		-p 'edit it' --allowedTools Bash
	expect_done ok 0
	expect_stdout 'done
'
	sess=$(grep 'event=resume' "$C/err" | lf session)
	[ -n "$sess" ] || fail_ "no event=resume line"
	grep -q "event=resume attempt=2 from_attempt=1 session=$sess" "$C/err" ||
		fail_ "the resume line does not name attempt 2"
	[ "$(done_field resumed)" = 1 ] || fail_ "done line resumed=$(done_field resumed)"
	expect_posts 3
	# The resumed request carries the first attempt's conversation (the
	# prompt, the tool call, its result), then the prompt again; a fresh
	# start has one message.
	n=$(case_log | grep '"method": "POST"' | grep '"title": false' |
		tail -n 1 | sed -n 's/.*"n_messages": \([0-9]*\).*/\1/p')
	[ "${n:-0}" -ge 4 ] ||
		fail_ "the resumed request has $n messages, not the session's history"
	[ "$(grep -c '^edit$' "$C/work/tracked.txt")" -eq 1 ] ||
		fail_ "the tool ran again: $(cat "$C/work/tracked.txt")"
	grep -q 'event=restore' "$C/err" && fail_ "restored between resumed attempts"
	read -r posts bytes < <(turn_cost)
	say "# resumed: $posts requests, $bytes request bytes, output tokens 200+20"
	if [ -n "${START_OVER_POSTS-}" ]; then
		say "# resume saved $((START_OVER_POSTS - posts)) request(s), 200 output tokens, $((START_OVER_BYTES - bytes)) request bytes (about $(((START_OVER_BYTES - bytes) / 4)) input tokens)"
	fi
}

# Verify fails on what the CLI did: 49, the edits undone.
t_verify_fails() {
	local before
	repo
	before=$(state)
	script "[$BASH_EDIT,{\"kind\":\"ok\",\"text\":\"done\"}]"
	returns_ 49 cw --rollback --verify='test ! -e gen/made.txt' -p 'edit it' \
		--allowedTools Bash
	expect_done verify_failed 49
	expect_stdout_empty
	[ "$(state)" = "$before" ] || fail_ "the tree differs after verify failed"
}

case_ bash_edit_restored t_bash_edit_restored
case_ write_restored t_write_restored
case_ start_over t_start_over
case_ resume t_resume
case_ verify_fails t_verify_fails
finish
