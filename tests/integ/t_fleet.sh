#!/usr/bin/env bash
# Fleet mode (--state-url, issue 15): the cooldown, the breaker, --lock
# and the ledger's copy shared through a real redis-server. Each test
# starts its own on a free loopback port (--save '' --appendonly no) and
# stops it by pid; state dirs under the test's directory stand for hosts,
# each run in its own UTS namespace with its own hostname where
# unshare(1) may (as root). Exits 0 when every test passed, 1 otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 1
CLAUDEWRAP=$(realpath "${CLAUDEWRAP:-build/asan/claudewrap}")
FAKE=$(realpath "${FAKE:-${FAKES:-build/fakes}/fakeclaude}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export XDG_STATE_HOME=/nonexistent-state
for v in $(env | sed -n 's/^\(CLAUDEWRAP_[A-Z_]*\)=.*/\1/p'); do
	unset "$v"
done
unset FAKE_MODE FAKE_FILE FAKE_EXIT FAKE_PIDS FAKE_SECS FAKE_GATE
. tests/lib.sh

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null
then
	echo "t_fleet: redis-server and redis-cli are needed (make deps)" >&2
	exit 1
fi
UTS=0
unshare -u true 2>/dev/null && UTS=1

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# rcli ARGS...: redis-cli against the test's server.
rcli() {
	REDISCLI_AUTH=${RPASS:-} redis-cli -h 127.0.0.1 -p "$RPORT" "$@" \
	    2>/dev/null
}

# redis_up [ARGS...]: a server on $RPORT (a free port, chosen once per
# test); its pid in $RPID and in redis.pids, which the EXIT trap kills.
redis_up() {
	[ -n "${RPORT:-}" ] || RPORT=$(free_port)
	redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize no --dir "$T" "$@" \
	    >> "$T/redis.log" 2>&1 &
	RPID=$!
	echo "$RPID" >> "$T/redis.pids"
	trap 'kill_listed "$T/redis.pids"' EXIT
	URL=redis://${RPASS:+:$RPASS@}127.0.0.1:$RPORT
	retry_ 10 sh -c "REDISCLI_AUTH='${RPASS:-}' redis-cli -h 127.0.0.1 \
	    -p $RPORT PING 2>/dev/null | grep -q PONG"
}

redis_down() {
	kill "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
	return 0
}

# on HOST ARGS...: claudewrap as host HOST, with state dir $T/HOST.
on() {
	local h=$1
	shift
	if [ "$UTS" = 1 ]; then
		# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
		CLAUDEWRAP_STATE_DIR="$T/$h" timeout -k 5 60 unshare -u \
		    sh -c 'hostname "$0" && exec "$@"' "$h" \
		    "$CLAUDEWRAP" --claude="$FAKE" "$@"
	else
		CLAUDEWRAP_STATE_DIR="$T/$h" timeout -k 5 60 \
		    "$CLAUDEWRAP" --claude="$FAKE" "$@"
	fi
}

# The name the records of host HOST carry.
host_name() { if [ "$UTS" = 1 ]; then echo "$1"; else hostname; fi; }

answer() {
	printf '{"type":"result","subtype":"success","is_error":true,"api_error_status":%s,"result":"API Error: %s %s"}\n' \
	    "$1" "$1" "$2" > "$1.json"
}

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# rate_limited_on_a: Redis up, host a meets a 429 (43) and leaves the
# fleet a rate limit in force.
rate_limited_on_a() {
	redis_up || return 1
	answer 429 "rate limit"
	FAKE_MODE=file FAKE_FILE=429.json FAKE_EXIT=1 returns_ 43 on a \
	    --state-url="$URL" --retries=1 --backoff=2s -p hi 2> a.err ||
	    return 1
	[ "$(rcli HGET claudewrap:cooldown rate_limit_pending)" = 1 ]
}

# A rate limit met on host a holds host b back: b waits it out before
# its first request, or (past its deadline) ends 43 with no request.
t_fleet_shared_cooldown() {
	local t0 t1
	rate_limited_on_a || return 1
	FAKE_PIDS=$PWD/b.pids returns_ 43 on b --state-url="$URL" \
	    --deadline=1s -p hi 2> b.err || return 1
	[ ! -e b.pids ] || { echo "b made a request"; return 1; }
	grep -q 'detail="shared rate-limit cooldown until .* past the deadline' \
	    b.err || return 1
	t0=$(ms)
	FAKE_PIDS=$PWD/c.pids returns_ 0 on c --state-url="$URL" -p hi \
	    > c.out 2> c.err || return 1
	t1=$(ms)
	[ "$(cat c.out)" = hello ] || return 1
	grep -q 'event=retry attempt=0 reason=cooldown cause=rate_limit' \
	    c.err || return 1
	[ $((t1 - t0)) -ge 900 ] || { echo "c did not wait"; return 1; }
	# Nothing of it in b's or c's own state dir: it came from Redis.
	[ ! -e b/cooldown ] && [ ! -e c/cooldown ] || return 1
	# c's answer ended the rate limit for the fleet.
	[ "$(rcli HGET claudewrap:cooldown rate_limit_pending)" = 0 ]
}

# claudewrap-report --state-url --clear-cooldown ends the fleet's
# cooldown by hand: the next host runs at once (it would end 43 past its
# deadline otherwise), and a second clear finds nothing.
t_fleet_clear_cooldown() {
	rate_limited_on_a || return 1
	ln -s "$CLAUDEWRAP" claudewrap-report
	./claudewrap-report --state-url="$URL" --clear-cooldown > r.txt ||
	    return 1
	grep -q '^cleared: the fleet at ' r.txt || return 1
	[ "$(rcli EXISTS claudewrap:cooldown)" = 0 ] || return 1
	returns_ 0 on b --state-url="$URL" --deadline=1s -p hi > b.out \
	    2> b.err || return 1
	[ "$(cat b.out)" = hello ] || return 1
	./claudewrap-report --state-url="$URL" --clear-cooldown > r2.txt ||
	    return 1
	grep -q '^nothing to clear at ' r2.txt
}

# --lock held on one host is refused on another (75), waited for with
# --lock-wait, and released by its holder only.
t_fleet_lock() {
	local pid
	redis_up || return 1
	FAKE_MODE=gate FAKE_GATE=$PWD/go on a --state-url="$URL" \
	    --lock=nightly -p hi > a.out 2> a.err &
	pid=$!
	retry_ 10 sh -c "[ -n \"\$(REDISCLI_AUTH= redis-cli -p $RPORT \
	    GET claudewrap:lock:nightly)\" ]" || { kill "$pid"; return 1; }
	case $(rcli GET claudewrap:lock:nightly) in
	"$(host_name a)":*) ;;
	*) kill "$pid"; return 1 ;;
	esac
	FAKE_PIDS=$PWD/b.pids returns_ 75 on b --state-url="$URL" \
	    --lock=nightly -p hi 2> b.err || { kill "$pid"; return 1; }
	[ ! -e b.pids ] || { kill "$pid"; return 1; }
	grep -q "detail=\"lock nightly is held by $(host_name a):" b.err ||
	    { kill "$pid"; return 1; }
	# A waiter gets it once the holder is done.
	on c --state-url="$URL" --lock=nightly --lock-wait=20s -p hi \
	    > c.out 2> c.err &
	local cpid=$!
	sleep 0.5
	touch go
	wait "$pid" || { kill "$cpid"; return 1; }
	wait "$cpid" || return 1
	[ "$(cat a.out)" = gated ] && [ "$(cat c.out)" = hello ] || return 1
	# Released by compare-and-delete: nothing is left behind.
	[ "$(rcli EXISTS claudewrap:lock:nightly)" = 0 ] || return 1
	# Another run's token is not ours to delete, nor to renew.
	rcli SET claudewrap:lock:other someone PX 30000 > /dev/null
	returns_ 75 on d --state-url="$URL" --lock=other -p hi 2> /dev/null &&
	    [ "$(rcli GET claudewrap:lock:other)" = someone ]
}

# A holder that vanished (kill -9 of claudewrap) leaves a lock that
# expires with its lease; until then the lock is refused.
t_fleet_lock_lease() {
	local ttl
	redis_up || return 1
	rcli SET claudewrap:lock:job "ghost:1:00" PX 1500 > /dev/null
	returns_ 75 on a --state-url="$URL" --lock=job -p hi 2> /dev/null ||
	    return 1
	returns_ 0 on a --state-url="$URL" --lock=job --lock-wait=5s -p hi \
	    > /dev/null 2> a.err || return 1
	# Our own lease is about 30 s.
	FAKE_MODE=gate FAKE_GATE=$PWD/go on b --state-url="$URL" --lock=job2 \
	    -p hi > /dev/null 2>&1 &
	local pid=$!
	retry_ 10 sh -c "[ \"\$(REDISCLI_AUTH= redis-cli -p $RPORT \
	    EXISTS claudewrap:lock:job2)\" = 1 ]" || { kill "$pid"; return 1; }
	ttl=$(rcli PTTL claudewrap:lock:job2)
	touch go
	wait "$pid"
	[ "$ttl" -gt 20000 ] && [ "$ttl" -le 30000 ]
}

# Outages on two hosts open the breaker for the whole fleet; a third
# host is refused with 44 without a request.
t_fleet_breaker() {
	redis_up || return 1
	answer 529 Overloaded
	FAKE_MODE=file FAKE_FILE=529.json FAKE_EXIT=1 returns_ 44 on a \
	    --state-url="$URL" --retries=1 --breaker=2 --backoff=30s -p hi \
	    2> /dev/null || return 1
	[ "$(rcli HGET claudewrap:cooldown breaker_open)" = 0 ] || return 1
	FAKE_MODE=file FAKE_FILE=529.json FAKE_EXIT=1 returns_ 44 on b \
	    --state-url="$URL" --retries=1 --breaker=2 --backoff=30s -p hi \
	    2> /dev/null || return 1
	[ "$(rcli HGET claudewrap:cooldown breaker_open)" = 1 ] &&
	    [ "$(rcli HGET claudewrap:cooldown streak)" = 2 ] || return 1
	FAKE_PIDS=$PWD/c.pids returns_ 44 on c --state-url="$URL" -p hi \
	    2> c.err || return 1
	[ ! -e c.pids ] || return 1
	grep -q 'detail="circuit breaker open (2 outages in a row among runs sharing redis://127.0.0.1:' c.err ||
	    return 1
	# Each host alone saw one outage: no breaker in a state dir.
	! grep -qs '"breaker_open":true' a/cooldown b/cooldown
}

# The breaker's time run out: one host is the probe, the others are
# refused while it runs; its success closes the breaker for all.
t_fleet_breaker_probe() {
	local pid now
	redis_up || return 1
	now=$(ms)
	rcli HSET claudewrap:cooldown breaker_open 1 breaker_until_ms \
	    $((now - 1)) streak 3 > /dev/null
	FAKE_MODE=gate FAKE_GATE=$PWD/go on a --state-url="$URL" -p hi \
	    > a.out 2> a.err &
	pid=$!
	retry_ 10 grep -q 'reason=breaker_probe' a.err || { kill "$pid"; return 1; }
	[ "$(rcli GET claudewrap:probe | cut -d: -f1)" = "$(host_name a)" ] ||
	    { kill "$pid"; return 1; }
	returns_ 44 on b --state-url="$URL" -p hi 2> b.err ||
	    { kill "$pid"; return 1; }
	grep -q 'a probe is running' b.err || { kill "$pid"; return 1; }
	touch go
	wait "$pid" || return 1
	[ "$(rcli HGET claudewrap:cooldown breaker_open)" = 0 ] &&
	    [ "$(rcli EXISTS claudewrap:probe)" = 0 ] || return 1
	returns_ 0 on b --state-url="$URL" -p hi > /dev/null 2>&1
}

# An always-429 API: after the first rate limit, the fleet makes one
# request per cooldown window (the probe), not one per host. Requests
# are timed by a wrapper around the fake; `cli --version` (each host's
# version probe, a state dir each) makes no request and is not counted.
t_fleet_storm_one_probe() {
	local i pids="" n gaps
	redis_up || return 1
	answer 429 "rate limit"
	# shellcheck disable=SC2016 # expanded by the wrapper, not here
	printf '#!/bin/sh\n[ "$1" = --version ] ||\n    echo $(($(date +%%s%%N) / 1000000)) >> %s/requests\nexec %s "$@"\n' \
	    "$PWD" "$FAKE" > cli
	chmod +x cli
	for i in 1 2 3 4; do
		FAKE_MODE=file FAKE_FILE=429.json FAKE_EXIT=1 \
		    CLAUDEWRAP_STATE_DIR="$T/h$i" timeout -k 5 60 "$CLAUDEWRAP" \
		    --claude="$PWD/cli" --state-url="$URL" --retries=50 \
		    --backoff=1s --backoff-max=1s --deadline=5s -p hi \
		    2> "h$i.err" &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i"; done
	n=$(wc -l < requests)
	# The first wave holds the hosts that asked before the first 429
	# was noted (its retry line, plus 50 ms for a spawn under way); after
	# it, requests are a window apart (w/2 at least, 500 ms), never two
	# in one window.
	first=$(grep -h 'event=retry attempt=1 reason=rate_limit' h*.err |
	    sed 's/^claudewrap: ts=\([^ ]*\) .*/\1/' | sort | head -n 1)
	[ -n "$first" ] || return 1
	noted=$(date -d "$first" +%s%3N)
	gaps=$(sort -n requests | awk -v noted="$noted" '
	    $1 <= noted + 50 { wave++; next }
	    { if ((prev ? $1 - prev : $1 - noted) < 400) bad++; prev = $1 }
	    END { print wave + 0, bad + 0 }')
	echo "requests=$n first_wave,close_pairs_after=$gaps"
	[ "$n" -ge 3 ] && [ "$n" -le 14 ] && [ "${gaps#* }" = 0 ] &&
	    [ "${gaps% *}" -ge 1 ] && [ "${gaps% *}" -le 4 ]
}

# claudewrap-report --state-url: the fleet, host by host, while each
# host's own ledger keeps its records.
t_fleet_report() {
	redis_up || return 1
	answer 529 Overloaded
	on a --state-url="$URL" -p hi > /dev/null 2>&1 || return 1
	on a --state-url="$URL" -p hi > /dev/null 2>&1 || return 1
	FAKE_MODE=file FAKE_FILE=529.json FAKE_EXIT=1 returns_ 44 on b \
	    --state-url="$URL" --retries=1 -p hi 2> /dev/null || return 1
	[ "$(wc -l < a/ledger.jsonl)" = 4 ] && [ "$(wc -l < b/ledger.jsonl)" = 2 ] ||
	    return 1
	[ "$(rcli XLEN claudewrap:ledger)" = 6 ] || return 1
	ln -s "$CLAUDEWRAP" claudewrap-report
	./claudewrap-report --state-url="$URL" > r.txt || return 1
	cat r.txt
	grep -q "^ledger redis://127.0.0.1:$RPORT" r.txt &&
	    grep -Eq "^  $(host_name a) +2 +2 +0  20" r.txt || return 1
	if [ "$UTS" = 1 ]; then
		grep -Eq "^  b +1 +0 +1  -$" r.txt || return 1
	fi
	./claudewrap-report --state-url="$URL" --json > r.json || return 1
	python3 - "$(host_name a)" "$(host_name b)" "$UTS" <<-'EOF' || return 1
	import json, sys
	j = json.load(open("r.json"))
	a, b, uts = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
	h = j["hosts"]
	assert h[a]["by_status"]["ok"] == 2, h
	if uts:
	    assert h[b]["by_status"] == {"unavailable": 1}, h
	assert j["totals"]["runs"] == 3, j["totals"]
	EOF
	./claudewrap-report --state-url="$URL" --prom > r.prom || return 1
	grep -q "^claudewrap_host_runs_total{host=\"$(host_name a)\",status=\"ok\"} 2$" \
	    r.prom || return 1
	# Without --state-url, the local ledger only.
	CLAUDEWRAP_STATE_DIR=$T/b ./claudewrap-report --json |
	    python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["totals"]["runs"]==1 and "hosts" not in j'
}

# Redis not there at all: the job runs on local state with one warning
# and no more than about a second lost; --lock fails closed.
t_fleet_redis_down_before() {
	local t0 t1
	RPORT=$(free_port)
	URL=redis://127.0.0.1:$RPORT
	t0=$(ms)
	returns_ 0 on a --state-url="$URL" -p hi > a.out 2> a.err || return 1
	t1=$(ms)
	[ "$(cat a.out)" = hello ] || return 1
	[ "$(grep -c 'reason=state_url' a.err)" = 1 ] || return 1
	grep -q "event=warn reason=state_url url=$URL error=\"Connection refused\" fallback=local" \
	    a.err || return 1
	[ $((t1 - t0)) -lt 3000 ] || return 1
	# The ledger is local, whole.
	[ "$(wc -l < a/ledger.jsonl)" = 2 ] || return 1
	# A rate limit falls back to the state dir's cooldown.
	answer 429 "rate limit"
	FAKE_MODE=file FAKE_FILE=429.json FAKE_EXIT=1 returns_ 43 on a \
	    --state-url="$URL" --retries=1 -p hi 2> /dev/null || return 1
	grep -q '"cause":"rate_limit"' a/cooldown || return 1
	FAKE_PIDS=$PWD/lock.pids returns_ 75 on a --state-url="$URL" \
	    --lock=job -p hi 2> l.err || return 1
	[ ! -e lock.pids ] &&
	    grep -q 'status=locked exit=75 .*detail="lock service unreachable: Connection refused"' l.err
}

# A Redis that accepts and never answers (stopped): the command timeout
# bounds the loss, one warning, and the job runs.
t_fleet_redis_slow() {
	local t0 t1
	redis_up || return 1
	kill -STOP "$RPID"
	t0=$(ms)
	returns_ 0 on a --state-url="$URL" -p hi > a.out 2> a.err ||
	    { kill -CONT "$RPID"; return 1; }
	t1=$(ms)
	returns_ 75 on b --state-url="$URL" --lock=job -p hi 2> b.err ||
	    { kill -CONT "$RPID"; return 1; }
	kill -CONT "$RPID"
	echo "slow Redis cost $((t1 - t0)) ms"
	[ "$(cat a.out)" = hello ] &&
	    [ "$(grep -c 'reason=state_url' a.err)" = 1 ] &&
	    grep -q 'error="no answer in 500 ms" fallback=local' a.err &&
	    [ $((t1 - t0)) -ge 450 ] && [ $((t1 - t0)) -lt 2500 ] &&
	    grep -q 'detail="lock service unreachable' b.err
}

# Redis killed while a run waits to retry: the rest of the run goes
# local (one warning), and it still ends as it should.
t_fleet_redis_killed_during() {
	local pid
	redis_up || return 1
	answer 429 "rate limit"
	FAKE_MODE=file FAKE_FILE=429.json FAKE_EXIT=1 on a --state-url="$URL" \
	    --retries=2 --backoff=2s --backoff-max=2s -p hi 2> a.err &
	pid=$!
	retry_ 10 grep -q 'event=retry' a.err || { kill "$pid"; return 1; }
	redis_down
	wait "$pid"
	[ $? = 43 ] || return 1
	grep -q 'attempts=2' a.err &&
	    [ "$(grep -c 'reason=state_url' a.err)" = 1 ] || return 1
	# The second rate limit went to the state dir; the ledger is whole.
	grep -q '"cause":"rate_limit"' a/cooldown &&
	    [ "$(wc -l < a/ledger.jsonl)" = 2 ]
}

# Redis killed, then restarted empty, during a locked run longer than a
# lease renewal: the loss is logged, the lock taken again, the done
# record reaches the new Redis; the local ledger lost nothing.
t_fleet_redis_restarted() {
	local pid run
	redis_up || return 1
	FAKE_MODE=gate FAKE_GATE=$PWD/go on a --state-url="$URL" --lock=job \
	    -p hi > a.out 2> a.err &
	pid=$!
	retry_ 10 grep -q 'event=attempt' a.err || { kill "$pid"; return 1; }
	redis_down
	sleep 1
	redis_up || { kill "$pid"; return 1; }
	[ "$(rcli EXISTS claudewrap:lock:job)" = 0 ] || { kill "$pid"; return 1; }
	# The renewal, 10 s after the lock was taken, takes it again.
	retry_ 15 grep -q 'reason=lease_renewal' a.err ||
	    { kill "$pid"; return 1; }
	[ "$(rcli GET claudewrap:lock:job | cut -d: -f1)" = "$(host_name a)" ] ||
	    { kill "$pid"; return 1; }
	touch go
	wait "$pid" || return 1
	[ "$(cat a.out)" = gated ] || return 1
	grep -q 'lease=claudewrap:lock:job .*taken again' a.err || return 1
	run=$(field run a.err)
	[ "$(grep -c "\"run\":\"$run\"" a/ledger.jsonl)" = 2 ] || return 1
	rcli XRANGE claudewrap:ledger - + | grep -q "\"event\":\"done\",\"run\":\"$run\"" &&
	    [ "$(rcli EXISTS claudewrap:lock:job)" = 0 ]
}

# A password-protected Redis: the right password works, a wrong one is
# one warning (local fallback; --lock 75), and the password is in no
# log line, no ledger record, and not in the CLI's environment.
t_fleet_password() {
	local pw=s3cret-fleet-pw
	RPASS=$pw
	redis_up --requirepass "$pw" || return 1
	answer 429 "rate limit"
	FAKE_MODE=file FAKE_FILE=429.json FAKE_EXIT=1 returns_ 43 on a \
	    --state-url="$URL" --retries=1 -p hi 2> a.err || return 1
	[ "$(rcli HGET claudewrap:cooldown rate_limit_pending)" = 1 ] || return 1
	! grep -q 'reason=state_url' a.err || return 1
	FAKE_MODE=env CLAUDEWRAP_STATE_URL="redis://:wrong-password@127.0.0.1:$RPORT" \
	    returns_ 0 on b --retries=1 -p hi > /dev/null 2> b.err || return 1
	grep -q 'reason=state_url url="\?redis://:\[redacted\]@127.0.0.1' b.err ||
	    return 1
	# The right password from the environment: a's rate limit holds.
	CLAUDEWRAP_STATE_URL="redis://:$pw@127.0.0.1:$RPORT" FAKE_PIDS=$PWD/c.pids \
	    returns_ 43 on c --deadline=1s -p hi > /dev/null 2> c.err || return 1
	[ ! -e c.pids ] || return 1
	returns_ 75 on d --state-url="redis://:wrong-password@127.0.0.1:$RPORT" \
	    --lock=job -p hi 2> d.err || return 1
	grep -q 'lock service unreachable' d.err || return 1
	returns_ 125 on e --state-url="redis://:$pw@127.0.0.1:notaport" -p hi \
	    2> e.err || return 1
	grep -q "state-url: bad value 'redis://:\[redacted\]@127.0.0.1:notaport'" \
	    e.err || return 1
	! grep -rq -e "$pw" -e wrong-password a.err b.err c.err d.err e.err \
	    a b c d e 2>/dev/null
}

# The CLI's environment has no CLAUDEWRAP_STATE_URL (nor its password).
t_fleet_env_not_passed() {
	redis_up || return 1
	printf '#!/bin/sh\nenv > %s/cli.env\nexec %s "$@"\n' "$PWD" "$FAKE" > cli
	chmod +x cli
	CLAUDEWRAP_STATE_URL=$URL CLAUDEWRAP_STATE_DIR=$T/a timeout 60 \
	    "$CLAUDEWRAP" --claude="$PWD/cli" -p hi > /dev/null 2>&1 || return 1
	grep -q '^CLAUDEWRAP_RUN_ID=' cli.env &&
	    ! grep -q 'CLAUDEWRAP_STATE_URL' cli.env &&
	    [ "$(rcli XLEN claudewrap:ledger)" = 2 ]
}

# unix:///PATH, and a database number.
t_fleet_unix_socket_and_db() {
	RPORT=$(free_port)
	redis_up --unixsocket "$T/r.sock" --unixsocketperm 700 || return 1
	on a --state-url="unix://$T/r.sock" -p hi > /dev/null 2> a.err ||
	    return 1
	! grep -q reason=state_url a.err &&
	    [ "$(rcli XLEN claudewrap:ledger)" = 2 ] || return 1
	on a --state-url="redis://127.0.0.1:$RPORT/3" -p hi > /dev/null 2>&1 ||
	    return 1
	[ "$(rcli -n 3 XLEN claudewrap:ledger)" = 2 ] &&
	    [ "$(rcli XLEN claudewrap:ledger)" = 2 ]
}

t_fleet_bad_url() {
	returns_ 125 on a --state-url=http://x -p hi 2> a.err || return 1
	grep -q "state-url: bad value 'http://x'" a.err || return 1
	returns_ 125 on a --state-url=redis:// -p hi 2> /dev/null || return 1
	returns_ 125 on a --state-url=redis://h:99999 -p hi 2> /dev/null
}

for t in $(declare -F | awk '$3 ~ /^t_fleet_/ { print $3 }'); do
	run_test "$t"
done
summary
