# shellcheck shell=bash
# Sourced by scripts/bench.sh, bench-fleet.sh and bench-stream.sh: their
# common start. BENCH_NAME names the script in its messages. From here on
# the work tree's top is the current directory (ROOT), with the release
# build (CW) and the fakes (F) in it.
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
# shellcheck disable=SC2034 # read by the scripts that source this
CW=$ROOT/claudewrap F=$ROOT/build/fakes

# The bench itself could not run: exit 2.
die() { echo "$BENCH_NAME: $*" >&2; exit 2; }

# Each of the programs named must be there.
need() {
	local b
	for b in "$@"; do
		[ -x "$b" ] || die "$b is missing: run make bench"
	done
}

# Nothing from the caller's own CLAUDEWRAP_ settings.
clean_env() {
	local name
	while IFS='=' read -r name _; do
		case $name in CLAUDEWRAP_*) unset "$name" ;; esac
	done < <(env)
}

# The first directory emptied, then each created.
fresh_dirs() {
	rm -rf "$1"
	mkdir -p "$@" || die "cannot create $1"
}
