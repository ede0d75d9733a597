#!/bin/sh
# Installs the real Claude Code CLI, pinned, into a cache outside the
# source tree, for the e2e tests and the demo:
#
#   ${CLAUDEWRAP_CLI_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/claudewrap/claude-code-VERSION}
#
#   scripts/install-cli.sh          install unless already there (quiet then)
#   scripts/install-cli.sh --path   print the native binary's path; fail if
#                                   it is not installed (scripts/cli-path.sh)
#
# Any failure exits non-zero with a message: in CI a failed install is a
# failure, never a silent skip.
set -eu

VERSION=2.1.197
PKG=@anthropic-ai/claude-code
me=install-cli

die() {
	echo "$me: $*" >&2
	exit 1
}

mode=install
case "${1-}" in
"") ;;
--path) mode=path ;;
-h | --help)
	sed -n '2,13s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*) die "unknown argument: $1 (try --help)" ;;
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

bin=$dir/node_modules/$PKG-$(platform)/claude

installed() {
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
	die "installed, but the native binary $bin is missing (platform package not installed?)"
fi
echo "$me: $("$bin" --version) at $bin" >&2
