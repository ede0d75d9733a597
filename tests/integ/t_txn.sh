#!/usr/bin/env bash
# Transactions (issue 16): --rollback, --verify, --resume-on-retry, in
# real git repositories made by each test, with the fake CLI's `edit`
# mode (it appends to tracked.txt, creates created-N.txt and
# newdir/sub/created-N.txt, deletes delete-me.txt, writes the ignored
# edit.log, then fails with 529 or answers "edited").
set -u
cd "$(dirname "$0")/../.." || exit 1
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
FAKE=$(realpath "${FAKE:-build/fakes/fakeclaude}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
while IFS='=' read -r name _; do
	case $name in CLAUDEWRAP_*|GIT_*) unset "$name" ;; esac
done < <(env)
export XDG_STATE_HOME=/nonexistent-state
# The tests' own git calls must not refresh the index they compare.
export GIT_OPTIONAL_LOCKS=0
. tests/lib.sh

cw() {
	CLAUDEWRAP_STATE_DIR="$T/state" FAKE_STATE="$T/count" \
	    timeout -k 5 60 "$CLAUDEWRAP" --claude="$FAKE" "$@"
}

# A repository with what a user has in flight: a commit, an unstaged
# change, a staged change, an untracked file, an ignored file, a stash.
make_repo() {
	mkdir repo && cd repo || return 1
	git init -q -b main . || return 1
	git config user.name t && git config user.email t@localhost
	printf 'one\n' > tracked.txt
	printf 'doomed\n' > delete-me.txt
	printf 'base\n' > staged.txt
	printf '*.log\n' > .gitignore
	git add . && git commit -qm init || return 1
	printf 'stash me\n' >> staged.txt && git stash -q || return 1
	printf 'unstaged change\n' >> tracked.txt
	printf 'staged change\n' >> staged.txt && git add staged.txt
	printf 'mine\n' > untracked-mine.txt
	printf 'ignored before\n' > keep.log
}

# Every file of the work tree (not .git) with its content and mode.
tree_sum() {
	find . -path ./.git -prune -o \( -type f -o -type l -o -type d \) \
	    -printf '%p %m %y\n' | LC_ALL=C sort
	find . -path ./.git -prune -o -type f -print0 | LC_ALL=C sort -z |
	    xargs -0 sha256sum
}

# What a user's git state is: index bytes, HEAD, branches, stash.
git_state() {
	sha256sum .git/index
	git rev-parse HEAD
	git symbolic-ref HEAD
	git for-each-ref refs/heads refs/stash
	git stash list
}

save() { tree_sum > ../tree.before; git_state > ../git.before; }

# The work tree and the user's git state are as save() found them,
# but for the ignored edit.log (ignored files are left as they are).
same_as_saved() {
	tree_sum | grep -v 'edit\.log' > ../tree.after
	grep -v 'edit\.log' ../tree.before | diff - ../tree.after || return 1
	git_state | diff ../git.before - || return 1
}

# The refs claudewrap made.
cw_refs() { git for-each-ref --format='%(refname)' refs/claudewrap; }

t_txn_failure_restores() {
	make_repo || return 1
	save
	FAKE_MODE=edit FAKE_EDIT_FAIL=9 returns_ 44 cw --rollback --retries=2 \
	    --backoff=0.1s -p hi > ../out 2> ../err || return 1
	[ ! -s ../out ] || return 1
	same_as_saved || return 1
	# The model's ignored file stays: restore never touches ignored files.
	grep -q 'the model wrote' edit.log || return 1
	[ "$(field files_changed ../err)" = 4 ] || return 1
	[ "$(grep -c 'event=restore attempt=[12] files_changed=4' ../err)" -eq 2 ] ||
	    return 1
	# The ref is kept, named in the done line, and shows the edits.
	ref=$(field rollback_ref ../err)
	[ "$(cw_refs)" = "$ref" ] || return 1
	run=$(field run ../err)
	[ "$ref" = "refs/claudewrap/$run" ] || return 1
	git diff --name-status "$ref^" "$ref" > changes || return 1
	diff - changes <<-'E' || return 1
	A	created-2.txt
	D	delete-me.txt
	A	newdir/sub/created-2.txt
	M	tracked.txt
	E
	# The snapshot holds the user's unstaged and staged changes and the
	# untracked file: the tree as it was, not HEAD.
	git show "$ref^:tracked.txt" | grep -q 'unstaged change' &&
	    git show "$ref^:staged.txt" | grep -q 'staged change' &&
	    git show "$ref^:untracked-mine.txt" | grep -q mine &&
	    ! git show "$ref^:keep.log" 2> /dev/null
}

t_txn_no_stacking() {
	make_repo || return 1
	save
	FAKE_MODE=edit FAKE_EDIT_FAIL=2 returns_ 0 cw --rollback --retries=3 \
	    --backoff=0.1s -p hi > ../out 2> ../err || return 1
	[ "$(cat ../out)" = edited ] || return 1
	# Only the third attempt's edits: none of the first two stacked up.
	[ "$(grep -c 'edited by attempt' tracked.txt)" -eq 1 ] || return 1
	grep -q 'edited by attempt 3' tracked.txt || return 1
	[ ! -e created-1.txt ] && [ ! -e created-2.txt ] &&
	    [ -e created-3.txt ] && [ ! -e newdir/sub/created-2.txt ] &&
	    [ -e newdir/sub/created-3.txt ] && [ ! -e delete-me.txt ] || return 1
	grep -q 'unstaged change' tracked.txt && [ -e untracked-mine.txt ] ||
	    return 1
	[ "$(field files_changed ../err)" = 4 ] || return 1
	[ -z "$(field rollback_ref ../err)" ] || return 1
	# Success: the ref is gone; the user's index and refs untouched.
	[ -z "$(cw_refs)" ] || return 1
	git_state | diff ../git.before -
}

t_txn_verify_fails() {
	make_repo || return 1
	printf 'previous answer\n' > ../answer.md
	save
	# shellcheck disable=SC2016 # expanded by the --verify shell
	FAKE_MODE=edit returns_ 49 cw --rollback --output=../answer.md \
	    --verify='echo "checking $(cat "$CLAUDEWRAP_ANSWER")"; echo oops >&2; exit 3' \
	    -p hi > ../out 2> ../err || return 1
	[ ! -s ../out ] || return 1
	[ "$(cat ../answer.md)" = 'previous answer' ] || return 1
	same_as_saved || return 1
	[ "$(field status ../err)" = verify_failed ] &&
	    [ "$(field verify_exit ../err)" = 3 ] || return 1
	grep -qx 'verify: checking edited' ../err && grep -qx 'verify: oops' ../err ||
	    return 1
	[ -n "$(cw_refs)" ]
}

t_txn_verify_passes() {
	make_repo || return 1
	# shellcheck disable=SC2016 # expanded by the --verify shell
	FAKE_MODE=edit returns_ 0 cw --rollback \
	    --verify='grep -qx edited "$CLAUDEWRAP_ANSWER" && test -f created-1.txt && echo "run $CLAUDEWRAP_RUN_ID"' \
	    -p hi > ../out 2> ../err || return 1
	[ "$(cat ../out)" = edited ] || return 1
	grep -qx "verify: run $(field run ../err)" ../err || return 1
	[ "$(field verify_exit ../err)" = 0 ] || return 1
	[ -e created-1.txt ] && grep -q 'edited by attempt 1' tracked.txt ||
	    return 1
	[ -z "$(cw_refs)" ] || return 1
	# Verify alone, outside git: the gate without a rollback.
	mkdir ../plain && cd ../plain || return 1
	returns_ 49 cw --verify='false' -p hi > ../out 2> ../err || return 1
	[ ! -s ../out ] && [ "$(field verify_exit ../err)" = 1 ] &&
	    [ -z "$(field files_changed ../err)" ]
}

t_txn_verify_timeout() {
	local start ms
	make_repo || return 1
	save
	start=$(date +%s%N)
	# A verify whose child ignores SIGTERM and leaves the group.
	FAKE_MODE=edit returns_ 49 cw --rollback --verify-timeout=1s \
	    --kill-after=0.5s --verify='setsid sh -c "trap \"\" TERM; echo \$\$ >> ../vpids; exec sleep 30" & echo $$ >> ../vpids; sleep 30' \
	    -p hi > ../out 2> ../err || { kill_listed ../vpids; return 1; }
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$(wc -l < ../vpids)" -eq 2 ] || { kill_listed ../vpids; return 1; }
	none_alive ../vpids || { kill_listed ../vpids; return 1; }
	[ ! -s ../out ] || return 1
	grep -q 'event=kill signal=TERM reason=verify_timeout' ../err &&
	    grep -q 'event=kill signal=KILL reason=kill_after' ../err || return 1
	[ "$(field status ../err)" = verify_failed ] || return 1
	same_as_saved || return 1
	[ "$ms" -lt 8000 ]
}

# claudewrap's own stderr into a file of the work tree: not undone (the
# log keeps every line), not counted as an edit.
t_txn_own_log_in_tree() {
	make_repo || return 1
	printf 'an earlier run\n' > run.log.txt
	git add run.log.txt
	FAKE_MODE=edit FAKE_EDIT_FAIL=9 returns_ 44 cw --rollback --retries=2 \
	    --backoff=0.1s -p hi > ../out 2>> run.log.txt || return 1
	head -n 1 run.log.txt | grep -q 'an earlier run' || return 1
	[ "$(grep -c 'event=restore' run.log.txt)" -eq 2 ] &&
	    [ "$(done_count run.log.txt)" -eq 1 ] || return 1
	[ "$(field files_changed run.log.txt)" = 4 ] &&
	    [ "$(field status run.log.txt)" = unavailable ]
}

# SIGTERM to claudewrap while --verify runs: forwarded to the verify's
# tree, the edits undone, the signal's status, then death by it.
t_txn_verify_signal() {
	local pid rc
	make_repo || return 1
	save
	# shellcheck disable=SC2016 # expanded by the --verify shell
	FAKE_MODE=edit CLAUDEWRAP_STATE_DIR="$T/state" FAKE_STATE="$T/count" \
	    "$CLAUDEWRAP" --claude="$FAKE" --rollback --kill-after=0.5s \
	    --verify='echo $$ > ../vpid; exec sleep 30' -p hi > ../out 2> ../err &
	pid=$!
	retry_ 10 test -s ../vpid || { kill -9 "$pid"; return 1; }
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 143 ] || { kill_listed ../vpid; return 1; }
	none_alive ../vpid || { kill_listed ../vpid; return 1; }
	[ ! -s ../out ] && [ "$(field status ../err)" = signal ] || return 1
	same_as_saved
}

t_txn_outside_git() {
	mkdir plain && cd plain || return 1
	FAKE_MODE=edit FAKE_PIDS=$PWD/../pids returns_ 125 cw --rollback \
	    -p hi > ../out 2> ../err || return 1
	[ ! -e ../pids ] && [ ! -e tracked.txt ] || return 1
	# git's own words are in the detail.
	field detail ../err | grep -q 'not in a git work tree.*fatal: not a git repository' ||
	    return 1
	[ "$(done_count ../err)" -eq 1 ] || return 1
	# No git at all: the same, before anything runs.
	cd .. && make_repo || return 1
	FAKE_MODE=edit FAKE_PIDS=$PWD/../pids CLAUDEWRAP_STATE_DIR="$T/state" \
	    returns_ 125 timeout -k 5 60 env PATH=/nonexistent "$CLAUDEWRAP" \
	    --claude="$FAKE" --rollback -p hi > ../out 2> ../err || return 1
	[ ! -e ../pids ] && ! grep -q 'edited' tracked.txt || return 1
	field detail ../err | grep -q 'git not found'
}

t_txn_resume() {
	make_repo || return 1
	FAKE_MODE=edit FAKE_EDIT_FAIL=1 FAKE_ARGLOG=$PWD/../args returns_ 0 \
	    cw --rollback --resume-on-retry --retries=2 --backoff=0.1s \
	    -p hi > ../out 2> ../err || return 1
	[ "$(cat ../out)" = edited ] || return 1
	# The second attempt continued the session the first reported.
	[ "$(wc -l < ../args)" -eq 2 ] || return 1
	! grep -q -- '--resume' <(head -n 1 ../args) || return 1
	tail -n 1 ../args | grep -q -- '^--resume s-1 ' || return 1
	grep -q 'event=resume attempt=2 from_attempt=1 session=s-1' ../err ||
	    return 1
	[ "$(field resumed ../err)" = 1 ] || return 1
	# No rollback between them: the session's edits are its own.
	! grep -q 'event=restore' ../err && [ -e created-1.txt ] &&
	    [ -e created-2.txt ] || return 1
	# A session the caller chose is not replaced: attempt 2 starts over.
	rm -f ../count ../args
	FAKE_MODE=edit FAKE_EDIT_FAIL=1 FAKE_ARGLOG=$PWD/../args returns_ 0 \
	    cw --resume-on-retry --retries=2 --backoff=0.1s -p hi \
	    --session-id=11111111-1111-1111-1111-111111111111 > ../out 2> ../err ||
	    return 1
	! grep -q -- '--resume' ../args && ! grep -q 'event=resume' ../err
}

# Arguments: only the tests named.
# shellcheck disable=SC2048 # test names have no spaces
for t in ${*:-$(declare -F | awk '$3 ~ /^t_txn_/ { print $3 }')}; do
	run_test "$t"
done
summary
