#!/bin/bash
# Retries, the shared cooldown and the circuit breaker (design: "Retries";
# issue 5), with the real CLI against the mock. Every case has its own
# --state-dir; the CLI's own retries are off (CLAUDE_CODE_MAX_RETRIES=0).
#
# Requests are counted from the mock's log, main requests only: a POST
# that is not the title request, not a tool result going back, and not
# the CLI's own second request after an empty answer (its prompt is the
# fixed "[Your previous response had no visible output…]" text).
#
# t_retry.sh already checks 429, 429, ok (exit 0, three POSTs, two retry
# lines) with the prompt as an argument; here that schedule runs with the
# prompt on stdin, and both it and "always 429" (prompt as an argument)
# are held to the reason, the wait and the prompt hash.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
mock_start


# --- helpers of this file ---------------------------------------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The main POSTs of the current case, as mock log lines (main_posts in
# lib.sh counts them).
main_log() {
	case_log | grep '"method": "POST"' | grep '"main": true'
	return 0
}

expect_main_posts() {
	local n
	n=$(main_posts)
	[ "$n" -eq "$1" ] || fail_ "expected $1 main POST /v1/messages, the mock saw $n"
}

# The claudewrap lines of FILE (default $C/err) with event=NAME.
events() { grep "^claudewrap: .* event=$1\( \|\$\)" "${2:-$C/err}"; }

# use_oauth: an OAuth token instead of the API key (the CLI then reads the
# anthropic-ratelimit-unified-* headers and emits rate_limit_event).
use_oauth() {
	local i
	for i in "${!CASE_ENV[@]}"; do
		case ${CASE_ENV[$i]} in ANTHROPIC_API_KEY=*) unset 'CASE_ENV[i]' ;; esac
	done
	CASE_ENV+=(CLAUDE_CODE_OAUTH_TOKEN=x)
}

# iso_s EPOCH: the UTC ISO 8601 form claudewrap writes for a whole second.
iso_s() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }

# same_instant A B: two ISO 8601 UTC times name the same instant (with or
# without .000 milliseconds).
same_instant() { [ "${1%.000Z}" = "${2%.000Z}" ] || [ "${1%Z}.000Z" = "$2" ] || [ "$1" = "${2%Z}.000Z" ]; }

# cw_n N ARG...: claudewrap in the background, time-bounded, stdout and
# stderr in $C/out.N and $C/err.N; its pid (timeout's) in NPID[N]. Collect
# with `wait "${NPID[N]}"` (bounded by the timeout).
declare -a NPID
cw_n() {
	local n=$1
	shift
	(cd "$C/work" && exec timeout -k 5 "$CW_BOUND" env -i "${CASE_ENV[@]}" \
		"$CLAUDEWRAP" --claude="$CLAUDE_BIN" "$@" \
		</dev/null >"$C/out.$n" 2>"$C/err.$n") &
	NPID[n]=$!
}

# between N LO HI: LO <= N <= HI.
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

_has_retry() { [ -n "$(events retry "${1:-$C/err}")" ]; }

# --- cases --------------------------------------------------------------------------

# check_rate_limit_retries SHA: two event=retry lines, reason=rate_limit,
# each wait_ms drawn from its window ([w/2, w], w = 0.2 s * 2^(k-1));
# the same prompt at the mock three times, and claudewrap's prompt_sha
# (12 hex digits) the head of its SHA-256.
check_rate_limit_retries() {
	local want_sha=$1 n line w
	n=$(events retry | wc -l)
	[ "$n" -eq 2 ] || fail_ "expected two event=retry lines, found $n"
	while IFS= read -r line; do
		[ "$(printf '%s\n' "$line" | lf reason)" = rate_limit ] ||
			fail_ "retry line without reason=rate_limit: $line"
		w=$(printf '%s\n' "$line" | lf wait_ms)
		case $w in
		'' | *[!0-9]*) fail_ "retry line without a numeric wait_ms: $line" ;;
		esac
	done < <(events retry)
	w=$(events retry | sed -n 1p | lf wait_ms)
	between "${w:-0}" 100 200 || fail_ "first wait_ms=$w, expected within [100, 200]"
	w=$(events retry | sed -n 2p | lf wait_ms)
	between "${w:-0}" 200 400 || fail_ "second wait_ms=$w, expected within [200, 400]"
	n=$(main_log | grep -c "\"prompt_sha256\": \"$want_sha\"")
	[ "$n" -eq 3 ] || fail_ "expected the prompt hash ${want_sha:0:12} three times at the mock, saw $n"
	n=$(events start | lf prompt_sha)
	[ "$n" = "${want_sha:0:12}" ] ||
		fail_ "start line prompt_sha=$n, expected ${want_sha:0:12}"
}

# 429, 429, ok with the prompt on stdin (t_retry.sh has it as an
# argument): 0 after three attempts, the same prompt each time.
t_429_429_ok_stdin() {
	printf 'same prompt on stdin\n' >"$C/prompt"
	script '[{"kind":"http","status":429,"message":"rate limited","times":2},{"kind":"ok","text":"third time lucky"}]'
	CW_STDIN=$C/prompt returns_ 0 cw --retries=4 --backoff=0.2s --state-dir="$C/state" -p
	expect_done ok 0
	expect_stdout 'third time lucky
'
	expect_main_posts 3
	[ "$(done_field attempts)" = 3 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 3"
	check_rate_limit_retries "$(sha256sum <"$C/prompt" | cut -d' ' -f1)"
}

# Always 429 (prompt as an argument): 43 after exactly --retries
# requests, the same prompt each time.
t_429_always() {
	script '[{"kind":"http","status":429,"message":"rate limited"}]'
	returns_ 43 cw --retries=3 --backoff=0.2s --state-dir="$C/state" -p 'same prompt'
	expect_done rate_limited 43
	expect_stdout_empty
	expect_main_posts 3
	[ "$(done_field attempts)" = 3 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 3"
	check_rate_limit_retries "$(printf '%s' 'same prompt' | sha256sum | cut -d' ' -f1)"
}

# Always 529: 44 after exactly --retries requests, although the breaker
# (--breaker=1) opens on the run's own first failure: the run waits out
# its backoff, which is the breaker's window, and its second attempt is
# the probe.
t_529_always() {
	script '[{"kind":"http","status":529,"message":"Overloaded"}]'
	returns_ 44 cw --retries=2 --breaker=1 --backoff=0.2s --state-dir="$C/state" -p hi
	expect_done unavailable 44
	expect_stdout_empty
	expect_main_posts 2
	[ "$(done_field attempts)" = 2 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 2"
	[ "$(events retry | grep -c ' reason=overloaded ')" -eq 1 ] ||
		fail_ "expected one event=retry line with reason=overloaded"
	case $(done_field detail) in *breaker*) fail_ "the run was refused by its own breaker: $(done_field detail)" ;; esac
	events warn | grep -q ' reason=breaker_probe' ||
		fail_ "the second attempt (after the breaker opened) did not log reason=breaker_probe"
}

# 401: never retried, whatever --retry-on asks for (error included).
t_401_once() {
	script '[{"kind":"http","status":401,"message":"invalid x-api-key"}]'
	returns_ 46 cw --retries=4 --backoff=0.1s --state-dir="$C/state" \
		--retry-on=rate_limit,overloaded,server,network,error,empty,timeout -p hi
	expect_done auth 46
	expect_stdout_empty
	expect_main_posts 1
	[ -z "$(events retry)" ] || fail_ "a 401 was retried: $(events retry)"
}

# --retry-on=empty: an empty answer gets a second attempt (the CLI itself
# asks once more inside each attempt: two POSTs per empty attempt).
t_empty_twice() {
	script '[{"kind":"empty"}]'
	returns_ 42 cw --retries=2 --backoff=0.1s --retry-on=empty --state-dir="$C/state" -p hi
	expect_done empty_payload 42
	expect_stdout_empty
	expect_main_posts 2
	expect_posts 4
	[ "$(done_field attempts)" = 2 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 2"
	[ "$(events retry | lf reason)" = empty ] ||
		fail_ "expected an event=retry line with reason=empty"
}

t_empty_then_ok() {
	script '[{"kind":"empty","times":2},{"kind":"ok","text":"second time"}]'
	returns_ 0 cw --retries=2 --backoff=0.1s --retry-on=empty --state-dir="$C/state" -p hi
	expect_done ok 0
	expect_stdout 'second time
'
	expect_main_posts 2
	expect_posts 3
	[ "$(done_field attempts)" = 2 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 2"
}

# A usage limit (OAuth) that resets in two hours, --deadline=60s: 43 at
# once after one request, the reset time in the done line.
t_usage_limit_deadline() {
	local reset t0 t1 got
	use_oauth
	reset=$(($(date +%s) + 7200))
	script "[{\"kind\":\"usage_limit\",\"reset\":$reset,\"claim\":\"five_hour\"},{\"kind\":\"ok\",\"text\":\"too early\"}]"
	t0=$(now_ms)
	returns_ 43 cw --deadline=60s --backoff=0.2s --state-dir="$C/state" -p hi
	t1=$(now_ms)
	expect_done rate_limited 43
	expect_stdout_empty
	expect_main_posts 1
	[ "$(done_field attempts)" = 1 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 1"
	got=$(events "done" | lf reset_at)
	same_instant "$got" "$(iso_s "$reset")" ||
		fail_ "done line reset_at=$got, expected $(iso_s "$reset") (the header's reset $reset)"
	[ -z "$(events retry)" ] || fail_ "a retry was planned: $(events retry)"
	# "At once": one CLI run, no wait (the CLI takes ~1.3 s; allow load).
	[ $((t1 - t0)) -lt 15000 ] || fail_ "took $((t1 - t0)) ms, expected no wait"
	# The next run sharing the state dir makes no request at all.
	returns_ 43 cw --deadline=60s --backoff=0.2s --state-dir="$C/state" -p hi
	expect_done rate_limited 43
	expect_main_posts 1
	[ "$(done_field attempts)" = 0 ] ||
		fail_ "second run: attempts=$(done_field attempts), expected 0 (the shared cooldown)"
	got=$(events "done" | lf reset_at)
	same_instant "$got" "$(iso_s "$reset")" ||
		fail_ "second run: reset_at=$got, expected $(iso_s "$reset")"
}

# SIGTERM during a backoff wait: 143 at once, status=signal, one request.
t_sigterm_in_backoff() {
	local t0 t1 rc
	script '[{"kind":"http","status":429,"message":"rate limited"},{"kind":"ok","text":"never"}]'
	cw_bg --retries=3 --backoff=30s --state-dir="$C/state" -p hi
	if ! retry_ 30 _has_retry; then
		fail_ "no event=retry line within 30 s"
		return
	fi
	t0=$(now_ms)
	kill -TERM "$CW_PID"
	cw_wait 10
	rc=$?
	t1=$(now_ms)
	[ "$rc" -eq 143 ] || fail_ "expected exit 143 (SIGTERM re-raised), got $rc"
	[ $((t1 - t0)) -le 2000 ] || fail_ "ended $((t1 - t0)) ms after SIGTERM, expected within 2 s"
	expect_done signal 143
	expect_stdout_empty
	expect_main_posts 1
	[ "$(done_field attempts)" = 1 ] ||
		fail_ "done line attempts=$(done_field attempts), expected 1"
}

# Shared cooldown, reset known: one run meets a usage limit (OAuth) that
# resets at T, about 5 s after its request; seven more start while it
# waits (eight runs at once, one state dir). The cooldown carries T to
# every run, so none asks before T: exactly 1 + 8 requests (one 429,
# then one ok each), the seven late ones each a single attempt after a
# logged reason=cooldown wait.
t_shared_cooldown_reset() {
	local T i rc n late t line
	use_oauth
	# The mock names a reset 5 s after the request; once run 1 has it, the
	# script is made "429 (reset T) until T, then ok" with that T.
	script '[{"kind":"usage_limit","reset_in":5}]'
	cw_n 1 --retries=6 --backoff=1s --backoff-max=4s --state-dir="$C/state" -p hi
	if ! retry_ 45 _has_retry "$C/err.1"; then
		fail_ "run 1: no event=retry line within 45 s"
		return
	fi
	line=$(events retry "$C/err.1" | head -n 1)
	T=$(date -u -d "$(printf '%s\n' "$line" | lf reset_at)" +%s 2>/dev/null)
	if [ -z "$T" ]; then
		fail_ "run 1: no reset_at in its retry line: $line"
		T=$(($(date +%s) + 6))
	fi
	script "[{\"kind\":\"usage_limit\",\"reset\":$T,\"until\":$T},{\"kind\":\"ok\",\"text\":\"after the reset\"}]"
	for i in 2 3 4 5 6 7 8; do
		cw_n "$i" --retries=6 --backoff=1s --backoff-max=4s --state-dir="$C/state" -p hi
	done
	for i in 1 2 3 4 5 6 7 8; do
		wait "${NPID[i]}"
		rc=$?
		[ "$rc" -eq 0 ] || fail_ "run $i: exit $rc, expected 0: $(events "done" "$C/err.$i")"
		[ "$(cat "$C/out.$i")" = "after the reset" ] ||
			fail_ "run $i: stdout $(head -c 100 "$C/out.$i")"
	done
	line=$(events retry "$C/err.1" | head -n 1)
	[ "$(printf '%s\n' "$line" | lf reason)" = rate_limit ] ||
		fail_ "run 1: first retry line is not reason=rate_limit: $line"
	same_instant "$(printf '%s\n' "$line" | lf reset_at)" "$(iso_s "$T")" ||
		fail_ "run 1: retry reset_at is not $(iso_s "$T"): $line"
	n=$(main_posts)
	[ "$n" -eq 9 ] || fail_ "expected exactly 9 main requests (one 429, then one each), the mock saw $n"
	n=$(main_log | grep -c '"status": 429')
	[ "$n" -eq 1 ] || fail_ "expected exactly one 429 at the mock, saw $n"
	# Nothing but the first request arrived before the reset.
	late=0
	while IFS= read -r t; do
		[ "$(awk -v t="$t" -v T="$T" 'BEGIN{print (t < T) ? 1 : 0}')" -eq 1 ] &&
			late=$((late + 1))
	done < <(main_log | sed 's/^{"t": \([0-9.]*\),.*/\1/')
	[ "$late" -eq 1 ] || fail_ "$late requests arrived before the reset time $T, expected 1"
	for i in 2 3 4 5 6 7 8; do
		[ "$(events "done" "$C/err.$i" | lf attempts)" = 1 ] ||
			fail_ "run $i: attempts=$(events "done" "$C/err.$i" | lf attempts), expected 1"
		line=$(events retry "$C/err.$i" | head -n 1)
		[ "$(printf '%s\n' "$line" | lf reason)" = cooldown ] ||
			fail_ "run $i: no reason=cooldown wait logged: $line"
		[ "$(printf '%s\n' "$line" | lf cause)" = rate_limit ] ||
			fail_ "run $i: the cooldown wait's cause is not rate_limit: $line"
		same_instant "$(printf '%s\n' "$line" | lf until)" "$(iso_s "$T")" ||
			fail_ "run $i: the cooldown wait is not until $(iso_s "$T"): $line"
		# The wait comes before the attempt.
		grep -m 1 -E 'event=(attempt|retry)( |$)' "$C/err.$i" | grep -q 'event=retry ' ||
			fail_ "run $i: an attempt came before the cooldown wait"
	done
}

# Shared cooldown, no reset known: eight runs start at once against a mock
# answering 429 (with a retry-after header, which the CLI does not pass
# on) until T, 4 s after the first request arrives, then ok.
#
# Bound: each run stops at its first ok, so there are exactly 8 oks. A
# run's 429s all arrive within the 4 s before T, at least L + w apart
# (L >= 0.4 s from spawn to the POST: the CLI's own start, 0.45 s at
# best; w the wait drawn from [b/2, b], b = 1, 2, 4 s): arrivals at +0,
# >= +0.9, >= +2.3, >= +4.7 s; so at most 3 per run, and at most
# 8 + 8 * 3 = 32 requests in all, against 8 * 6 = 48 for runs that spent
# their retries. The cooldown cannot hold back the first wave (every run
# passes the gate before any 429 is seen), so the count alone does not
# prove it shared; the reason=cooldown waits do (a run whose own wait
# ended before another run's). t_shared_cooldown_reset has the exact
# bound.
t_shared_cooldown_concurrent() {
	local i rc n first T
	script '[{"kind":"http","status":429,"retry_after":4,"message":"rate limited"}]'
	for i in 1 2 3 4 5 6 7 8; do
		cw_n "$i" --retries=6 --backoff=1s --backoff-max=4s --state-dir="$C/state" -p hi
	done
	# T is set when the first request arrives (eight CLIs starting at once
	# on a small machine take seconds to get there).
	if ! retry_ 45 _first_post_seen; then
		fail_ "no request within 45 s"
	else
		first=$(main_log | head -n 1 | sed 's/^{"t": \([0-9.]*\),.*/\1/')
		T=$(awk -v t="$first" 'BEGIN{printf "%.3f", t + 4}')
		script "[{\"kind\":\"http\",\"status\":429,\"retry_after\":4,\"message\":\"rate limited\",\"until\":$T},{\"kind\":\"ok\",\"text\":\"fine\"}]"
	fi
	for i in 1 2 3 4 5 6 7 8; do
		wait "${NPID[i]}"
		rc=$?
		[ "$rc" -eq 0 ] || fail_ "run $i: exit $rc, expected 0: $(events "done" "$C/err.$i")"
	done
	n=$(main_posts)
	note "(8 runs, $n requests, $(main_log | grep -c '"status": 429') of them 429; $(cat "$C"/err.* | grep -c ' event=retry .*reason=cooldown') cooldown waits)"
	between "$n" 8 32 || fail_ "expected 8..32 main requests, the mock saw $n"
	n=$(main_log | grep -c '"status": 200')
	[ "$n" -eq 8 ] || fail_ "expected exactly 8 ok answers (one a run), saw $n"
	n=$(cat "$C"/err.* | grep -c ' event=retry .*reason=cooldown')
	[ "$n" -ge 1 ] || fail_ "no run logged a reason=cooldown wait"
}
_first_post_seen() { [ "$(main_posts)" -ge 1 ]; }

# The breaker: the mock answers 529 to everything; runs in sequence with
# --retries=1 --breaker=3 --backoff=3s share a state dir. Runs 1-3 make a
# request each (44); the breaker opens for the backoff window (3 s); runs
# in it end 44 with no request; the mock is switched to ok; the first run
# after the window probes (one request, 0) and closes it; the rest go
# straight through (0, one request each). At most twenty runs; it stops
# after two have gone through after the probe.
t_breaker() {
	local i rc before reqs start end det open_until=0 phase=fail refused=0 probes=0 after=0
	local run3_end=0
	script '[{"kind":"http","status":529,"message":"Overloaded"}]'
	for i in $(seq 1 20); do
		before=$(main_posts)
		start=$(now_ms)
		cw --retries=1 --breaker=3 --backoff=3s --state-dir="$C/state" -p hi
		rc=$?
		end=$(now_ms)
		reqs=$(($(main_posts) - before))
		det=$(done_field detail)
		cp "$C/err" "$C/err.$i"
		case $phase in
		fail)
			[ "$rc:$reqs" = 44:1 ] ||
				fail_ "run $i: exit $rc, $reqs requests; expected 44 after one request"
			case $det in *breaker*) fail_ "run $i: refused by the breaker too early: $det" ;; esac
			if [ "$i" -eq 3 ]; then
				run3_end=$end
				open_until=$(_breaker_until)
				open_until=${open_until:-0}
				phase=open
				# The outage ends; the breaker does not know yet.
				script '[{"kind":"ok","text":"back"}]'
			fi
			;;
		open)
			if [ "$rc" -eq 44 ] && [ "$reqs" -eq 0 ]; then
				refused=$((refused + 1))
				case $det in *breaker*) ;; *) fail_ "run $i: 44 without a request, but the detail does not mention the breaker: $det" ;; esac
				[ "$open_until" -eq 0 ] || [ "$start" -lt "$open_until" ] ||
					fail_ "run $i: refused although it started $((start - open_until)) ms after the breaker's window"
				events warn | grep -q 'reason=breaker_probe' &&
					fail_ "run $i: refused, yet logged a breaker_probe"
				# Sleep out the window with a poll, not one long sleep.
				sleep 0.3
			elif [ "$rc" -eq 0 ] && [ "$reqs" -eq 1 ]; then
				probes=1
				phase=closed
				[ "$open_until" -eq 0 ] || [ "$end" -ge "$open_until" ] ||
					fail_ "run $i: probed before the window ended"
				[ "$open_until" -eq 0 ] || [ "$start" -ge $((open_until - 500)) ] ||
					fail_ "run $i: the probe started $((open_until - start)) ms before the window's end"
				events warn | grep -q 'reason=breaker_probe' ||
					fail_ "run $i: the probe did not log reason=breaker_probe"
			else
				fail_ "run $i: exit $rc with $reqs requests while the breaker was open: $det"
				phase=closed
			fi
			;;
		closed)
			after=$((after + 1))
			[ "$rc:$reqs" = 0:1 ] ||
				fail_ "run $i: exit $rc, $reqs requests after the probe; expected 0 after one request"
			events warn | grep -q 'reason=breaker_probe' &&
				fail_ "run $i: another probe after the breaker closed"
			;;
		esac
		# Two runs through after the probe show it closed; the rest of
		# the twenty would only cost time.
		[ "$after" -ge 2 ] && break
	done
	note "(refused: $refused, probe: $probes, after the probe: $after; window $((open_until - run3_end)) ms after run 3 ended)"
	[ "$refused" -ge 1 ] || fail_ "no run was refused by the open breaker"
	[ "$probes" -eq 1 ] || fail_ "no probe within twenty runs"
	[ "$after" -ge 1 ] || fail_ "no run after the probe"
	# The window is the backoff (3 s) from the third failure, noted just
	# before run 3 ended.
	if [ "$open_until" -ne 0 ]; then
		between $((open_until - run3_end)) 2000 3050 ||
			fail_ "breaker open until $((open_until - run3_end)) ms after run 3 ended, expected about 3000"
	fi
}

# When the open breaker ends, epoch ms, from the state dir's cooldown file
# (breaker_until_ms, see lib/cooldown.c); 0 when unknown (the timing
# checks are then skipped).
_breaker_until() {
	local f=$C/state/cooldown
	[ -f "$f" ] || {
		echo 0
		return
	}
	perl -0ne 'print /"breaker_until_ms":(\d+)/ ? "$1\n" : "0\n"' "$f"
}

case_ 429_429_ok_stdin t_429_429_ok_stdin
case_ 429_always t_429_always
case_ 529_always t_529_always
case_ 401_once t_401_once
case_ empty_twice t_empty_twice
case_ empty_then_ok t_empty_then_ok
case_ usage_limit_deadline t_usage_limit_deadline
case_ sigterm_in_backoff t_sigterm_in_backoff
case_ shared_cooldown_reset t_shared_cooldown_reset
case_ shared_cooldown_concurrent t_shared_cooldown_concurrent
case_ breaker t_breaker
finish
