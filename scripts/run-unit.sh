#!/bin/sh
# Runs each Check unit-test binary; fails if any fails. Check prints its
# own "N%: Checks: N, Failures: N, Errors: N" closing line per binary.
set -u
status=0
total_pass=0
total_fail=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks' | sed "s|^|$(basename "$t"): |"
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -v '^[0-9]*%: Checks' | tail -n 30
		status=1
	fi
	checks=$(printf '%s\n' "$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' | tail -n 1)
	set -- "$@"
	if [ -n "$checks" ]; then
		# shellcheck disable=SC2086
		set -- $checks
		total_fail=$((total_fail + $2 + $3))
		total_pass=$((total_pass + $1 - $2 - $3))
	fi
done
echo "unit: $total_pass passed, $total_fail failed"
exit "$status"
