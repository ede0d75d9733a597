#!/bin/sh
# Installs the real Claude Code CLI, any version (default: the pinned
# one), into a cache outside the source tree, for the e2e tests and the
# demo:
#
#   ${CLAUDEWRAP_CLI_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/claudewrap/claude-code-VERSION}
#
#   scripts/install-cli.sh [VERSION]          install unless already there
#   scripts/install-cli.sh --path [VERSION]   print the CLI's path; fail if
#                                   it is not installed (scripts/cli-path.sh)
#   scripts/install-cli.sh --range  print the tested versions: oldest,
#                                   the others make check runs, pinned
#
# The range and the pin are lib/cliversion.h's (CLIV_OLDEST, CLIV_PINNED,
# CLIV_NEWEST), so the binary and the tests name the same versions.
# 2.1.x is a native binary in the platform package; 2.0.x is cli.js, run
# by node (its #!/usr/bin/env node line).
#
# Any failure exits non-zero with a message: in CI a failed install is a
# failure, never a silent skip.
set -eu

PKG=@anthropic-ai/claude-code
me=install-cli
root=$(cd "$(dirname "$0")/.." && pwd)

die() {
	echo "$me: $*" >&2
	exit 1
}

# cliversion NAME: the version lib/cliversion.h defines as CLIV_NAME.
cliversion() {
	sed -n "s/^#define[[:space:]]*CLIV_$1[[:space:]]*\"\(.*\)\"/\1/p" \
		"$root/lib/cliversion.h"
}

# Beside the range's ends, make check also runs the version that was
# pinned before (the one tests/e2e/cli-observations.md was first made on).
ALSO_TESTED=2.1.197

mode=install
case "${1-}" in
--path)
	mode=path
	shift
	;;
--range)
	echo "$(cliversion OLDEST) $ALSO_TESTED $(cliversion PINNED)" |
		tr ' ' '\n' | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $/\n/'
	exit 0
	;;
-h | --help)
	sed -n '2,21s/^# \{0,1\}//p' "$0"
	exit 0
	;;
-*) die "unknown argument: $1 (try --help)" ;;
esac
VERSION=${1:-$(cliversion PINNED)}
case $VERSION in
[0-9]*.[0-9]*.[0-9]*) ;;
*) die "not a version: '$VERSION' (e.g. 2.1.332)" ;;
esac

if [ -n "${CLAUDEWRAP_CLI_DIR-}" ]; then
	dir=$CLAUDEWRAP_CLI_DIR
else
	[ -n "${XDG_CACHE_HOME-}" ] || [ -n "${HOME-}" ] ||
		die "neither CLAUDEWRAP_CLI_DIR, XDG_CACHE_HOME nor HOME is set"
	dir=${XDG_CACHE_HOME:-$HOME/.cache}/claudewrap/claude-code-$VERSION
fi
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac

# The platform package npm picks: the same rule as the package's own
# install.cjs (os, cpu, and -musl on a musl libc).
platform() {
	case $(uname -s) in
	Linux) os=linux ;;
	Darwin) os=darwin ;;
	*) die "unsupported system: $(uname -s)" ;;
	esac
	case $(uname -m) in
	x86_64 | amd64) cpu=x64 ;;
	aarch64 | arm64) cpu=arm64 ;;
	*) die "unsupported machine: $(uname -m)" ;;
	esac
	libc=
	if [ "$os" = linux ]; then
		for f in /lib/ld-musl-*.so.1; do
			[ -e "$f" ] && libc=-musl
		done
	fi
	echo "$os-$cpu$libc"
}

# 2.1.x: the platform package's native binary; 2.0.x: cli.js (node).
native=$dir/node_modules/$PKG-$(platform)/claude
script=$dir/node_modules/$PKG/cli.js

installed() {
	bin=$native
	[ -x "$bin" ] || bin=$script
	[ -x "$bin" ] || return 1
	v=$("$bin" --version 2>/dev/null) || return 1
	case $v in
	"$VERSION" | "$VERSION "*) return 0 ;;
	*) return 1 ;;
	esac
}

if [ "$mode" = path ]; then
	installed || die "Claude Code $VERSION is not installed at $dir (run scripts/install-cli.sh or make cli)"
	echo "$bin"
	exit 0
fi

installed && exit 0

command -v npm >/dev/null 2>&1 || die "npm not found (make deps installs it)"
command -v node >/dev/null 2>&1 || die "node not found (make deps installs it)"
mkdir -p "$dir" || die "cannot create $dir"

# One install at a time into the same directory.
lock=$dir/.install.lock
if command -v flock >/dev/null 2>&1; then
	exec 9>"$lock" || die "cannot open $lock"
	flock -w 900 9 || die "timed out waiting for another install ($lock)"
	installed && exit 0
fi

log=$dir/install.log
echo "$me: installing $PKG@$VERSION into $dir" >&2
if ! npm install --prefix "$dir" --no-audit --no-fund --save-exact \
	"$PKG@$VERSION" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "npm install $PKG@$VERSION failed (full log: $log)"
fi
if ! installed; then
	tail -n 30 "$log" >&2
	if [ -e "$bin" ]; then
		die "installed, but '$bin --version' does not print $VERSION"
	fi
	die "installed, but neither the native binary $native nor $script is there (platform package not installed?)"
fi
echo "$me: $("$bin" --version) at $bin" >&2
