#!/usr/bin/env bash
# make lint: static checks, each over what it understands.
#
#   cppcheck     lib/*.c claudewrap.c (warning, style, performance,
#                portability), with -I lib and cJSON's include dir
#   clang-tidy   the same files with the Makefile's flags (-std=gnu11
#                -D_GNU_SOURCE -Ilib and pkg-config's cflags); the checks
#                are chosen, and each exclusion explained, in .clang-tidy
#   ShellCheck   scripts/*.sh and every tests/**/*.sh
#
# Every tool runs even when an earlier one found something, so one run
# shows everything. Exits 1 on any finding, 2 when a tool is missing.
# Findings in code no configuration should hide are fixed in the code.
set -u
cd "$(dirname "$0")/.." || exit 2

PKGS=(libcjson libbsd-overlay libmd hiredis)
missing=""
for t in cppcheck clang-tidy shellcheck pkg-config; do
	command -v "$t" > /dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
	echo "lint: missing:$missing (apt-get install$missing)" >&2
	exit 2
fi
PKG_CFLAGS=$(pkg-config --cflags "${PKGS[@]}") || exit 2
CJSON_I=$(pkg-config --cflags-only-I libcjson) || exit 2
SRCS=(lib/*.c claudewrap.c)
fail=0

# --- cppcheck ---------------------------------------------------------
# Suppressed for the whole tree, and why:
#   missingIncludeSystem  system headers are not cppcheck's to read;
#   variableScope         KNF (style(9)) declares locals at the top of
#                         the function, which this check contradicts.
# A false positive at one line is suppressed there, in the source, with
# `// cppcheck-suppress ID` and a reason (--inline-suppr).
echo "lint: cppcheck" >&2
# shellcheck disable=SC2086 # CJSON_I is a list of -I flags
if ! cppcheck --quiet --std=c11 --enable=warning,style,performance,portability \
    --error-exitcode=1 --inline-suppr -D_GNU_SOURCE -Ilib $CJSON_I \
    --suppress=missingIncludeSystem --suppress=variableScope \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
    -j "$(nproc)" "${SRCS[@]}"; then
	fail=1
fi

# --- clang-tidy -------------------------------------------------------
# One process per file: clang-tidy 14 run over several files in one
# process reports false clang-analyzer-valist.Uninitialized on every
# vsnprintf after the first file (the checker keeps identifiers from the
# previous translation unit). Two at a time, as the machine has cores.
echo "lint: clang-tidy" >&2
export PKG_CFLAGS
# shellcheck disable=SC2016 # $1 and $PKG_CFLAGS expand in the inner shell
if ! printf '%s\n' "${SRCS[@]}" | xargs -P "$(nproc)" -I{} sh -c '
	out=$(clang-tidy --quiet "$1" -- -std=gnu11 -D_GNU_SOURCE -Ilib \
	    $PKG_CFLAGS 2>&1)
	rc=$?
	printf "%s\n" "$out" | grep -v "^[0-9]* warnings\? generated\.$" |
	    grep -v "^Suppressed [0-9]* warnings" |
	    grep -v "^Use -header-filter=" | grep -v "^$"
	exit $rc' sh {}; then
	fail=1
fi

# --- shellcheck -------------------------------------------------------
# Excluded, and why:
#   SC2015  `a && b || return 1` is the tests' idiom: a failure of either
#           side is meant to fail the test, which is what it does.
# Sourced libraries have no #! line: they are bash (every caller is).
echo "lint: shellcheck" >&2
shopt -s globstar nullglob
scripts=()
libs=()
for f in scripts/*.sh tests/**/*.sh; do
	if head -n 1 "$f" | grep -q '^#!'; then
		scripts+=("$f")
	else
		libs+=("$f")
	fi
done
if ! shellcheck -x -f gcc -e SC2015 "${scripts[@]}"; then
	fail=1
fi
if [ ${#libs[@]} -gt 0 ] && ! shellcheck -s bash -f gcc -e SC2015 "${libs[@]}"; then
	fail=1
fi

# --- the repository stands alone -----------------------------------
# The contract the project was built to lives outside it; users have the
# man page. A reference to those files is a dangling one.
echo "lint: references to documents not in the repository" >&2
if git grep -n -e 'design[.]md' -e 'claude-cli-facts[.]md' -- . \
    ':!scripts/lint.sh' >&2; then
	fail=1
fi

if [ "$fail" -ne 0 ]; then
	echo "lint: findings above" >&2
	exit 1
fi
echo "lint: clean" >&2
