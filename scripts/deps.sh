#!/bin/sh
# Installs the Debian packages claudewrap needs to build and test, when
# they are missing. As root it runs apt-get; otherwise it says what to run.
# Extra needs by name: `deps.sh bench` (hyperfine, for make bench),
# `deps.sh man` (mandoc, for make lint-man).
set -eu

need=""
have_pc() { pkg-config --exists "$1" 2>/dev/null; }
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
have_pc libcjson || need="$need libcjson-dev"
have_pc libbsd-overlay || need="$need libbsd-dev"
have_pc libmd || need="$need libmd-dev"
have_pc check || need="$need check"
# Fleet mode (--state-url) and its tests: hiredis, a real redis-server.
have_pc hiredis || need="$need libhiredis-dev"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v python3 >/dev/null 2>&1 || need="$need python3"
# --rollback's tests make real repositories (a tarball has no git).
command -v git >/dev/null 2>&1 || need="$need git"
# Reset times name IANA zones ("resets 3pm (Europe/Berlin)").
[ -e /usr/share/zoneinfo/UTC ] || need="$need tzdata"
# Peak RSS in the tests and the benchmark.
[ -x /usr/bin/time ] || need="$need time"
# script(1) gives the live-status test a terminal.
command -v script >/dev/null 2>&1 || need="$need bsdutils"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
for extra in "$@"; do
	case $extra in
	bench) command -v hyperfine >/dev/null 2>&1 || need="$need hyperfine" ;;
	man) command -v mandoc >/dev/null 2>&1 || need="$need mandoc" ;;
	*) echo "deps: unknown need '$extra'" >&2; exit 2 ;;
	esac
done

[ -z "$need" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$need" >&2
	echo "deps: run as root: apt-get install$need" >&2
	exit 1
fi
echo "deps: installing:$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
