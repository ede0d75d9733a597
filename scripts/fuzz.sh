#!/bin/sh
# Fuzzes the payload reader and classifier (lib/payload.c, lib/judge.c)
# with tests/fuzz/fuzz_payload.c.
#
#   scripts/fuzz.sh run [SECONDS]   build with clang -fsanitize=fuzzer,
#                                   address,undefined and fuzz for SECONDS
#                                   (default 60) on a copy of the corpus;
#                                   a crash is kept in build/fuzz/
#   scripts/fuzz.sh replay          build a plain driver with gcc and
#                                   ASan+UBSan and run every corpus file
#                                   through the harness once
#
# Exits non-zero on any crash or failed check. CC_FUZZ names the clang
# to use (default: clang, else clang-14).
set -eu

cd "$(dirname "$0")/.."

PKGS="libcjson libbsd-overlay libmd"
OUT=build/fuzz
CORPUS=tests/fuzz/corpus
SRCS="tests/fuzz/fuzz_payload.c lib/payload.c lib/judge.c lib/jget.c lib/lines.c lib/jscan.c lib/jdec.c lib/clierror.c lib/io.c lib/retry.c lib/spool.c"
WARN="-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
-Wmissing-prototypes -Wpointer-arith -Wvla"
SAN="-fno-sanitize-recover=all -fno-omit-frame-pointer"

usage() {
	echo "usage: scripts/fuzz.sh run [SECONDS] | replay" >&2
	exit 2
}

die() {
	echo "fuzz.sh: $*" >&2
	exit 1
}

flags() {
	# shellcheck disable=SC2086
	pkg-config --exists $PKGS ||
	    die "missing $PKGS (pkg-config); run scripts/deps.sh"
	# shellcheck disable=SC2086
	CFLAGS_PKG=$(pkg-config --cflags $PKGS)
	# shellcheck disable=SC2086
	LIBS_PKG=$(pkg-config --libs $PKGS)
	mkdir -p "$OUT"
}

find_clang() {
	for c in ${CC_FUZZ:-} clang clang-14; do
		if command -v "$c" >/dev/null 2>&1; then
			echo "$c"
			return 0
		fi
	done
	die "no clang found (apt-get install clang-14 libclang-rt-14-dev)"
}

run() {
	secs=${1:-60}
	case $secs in
	'' | *[!0-9]*) die "SECONDS must be a whole number: '$secs'" ;;
	esac
	flags
	cc=$(find_clang)
	# shellcheck disable=SC2086
	$cc -std=gnu11 -D_GNU_SOURCE $WARN -Ilib $CFLAGS_PKG -g -O1 \
	    -fsanitize=fuzzer,address,undefined $SAN $SRCS \
	    -o "$OUT/fuzz_payload" $LIBS_PKG ||
	    die "$cc could not build a libFuzzer binary (is libclang-rt-14-dev installed?)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_payload.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	cp "$CORPUS"/* "$work"/
	echo "fuzz.sh: fuzzing for ${secs}s on a copy of $CORPUS" >&2
	# -max_len: room for a real stream; -timeout: one input, seconds.
	status=0
	"$OUT/fuzz_payload" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$OUT/" "$work" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "fuzz.sh: crash (status $status); input kept in $OUT/" >&2
		exit "$status"
	fi
}

replay() {
	flags
	# shellcheck disable=SC2086
	gcc -std=gnu11 -D_GNU_SOURCE $WARN -Ilib $CFLAGS_PKG -g -O1 \
	    -DFUZZ_REPLAY_MAIN -fsanitize=address,undefined $SAN $SRCS \
	    -o "$OUT/replay_payload" $LIBS_PKG
	"$OUT/replay_payload" "$CORPUS"
}

case ${1:-} in
run)
	[ $# -le 2 ] || usage
	run "${2:-60}"
	;;
replay)
	[ $# -eq 1 ] || usage
	replay
	;;
*)
	usage
	;;
esac
