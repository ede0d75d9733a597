#!/usr/bin/env bash
# make valgrind: the integration suite (tests/integ/run.sh, and the
# suites it calls) with every claudewrap run under memcheck: the release
# build (-O2 -g), --leak-check=full, --track-fds=yes. The CLI and the
# fakes are not traced (--trace-children=no): they are not under test.
#
# claudewrap is reached through a wrapper script, which the tests take as
# $CLAUDEWRAP. It keeps argv[0]'s name (the tests link it as `claude` and
# `claudewrap-report`) by running valgrind on a link of that name to the
# binary. As `claude` it also names the real CLI in CLAUDEWRAP_CLAUDE,
# since claudewrap cannot tell that a script is itself (it compares
# device and inode) and would otherwise run the wrapper as its own CLI.
#
# --child-silent-after-fork: between vfork and exec the child runs only
# system calls (spawn.c); when its exec fails, its exit would list every
# descriptor of the parent as its own. valgrind 3.19 leaves its log file
# open as descriptor 3 of claudewrap, so the CLI inherits it: the tests
# that compare the CLI's descriptors with a direct run leave it out
# when CW_UNDER_VALGRIND is set (cli_fds in tests/integ/run.sh), and
# the time bounds meant for the ASan build are wider then.
#
# Each process writes its own log (build/valgrind/logs/PID.log). A log
# with anything but the open-descriptor listing counts as a valgrind
# error; descriptors claudewrap itself opened and left open at exit are
# listed after the suite, for information (they are not errors). Exits 1
# on a valgrind error or a failed test, 2 if it could not run.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
VG=$ROOT/build/valgrind

command -v valgrind > /dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 2; }
for b in claudewrap build/fakes/fakeclaude; do
	[ -x "$b" ] || { echo "valgrind: $b missing: run make valgrind" >&2; exit 2; }
done

rm -rf "$VG"
mkdir -p "$VG/bin" "$VG/real" "$VG/logs" || exit 2
# A copy of the binary: a rebuild (make claudewrap rewrites ./claudewrap
# in place) while the suite runs would pull the mapped pages from under
# valgrind and kill it with SIGBUS in the dynamic loader.
cp claudewrap "$VG/claudewrap" || exit 2
for n in claudewrap claude claudewrap-report; do
	ln -s "$VG/claudewrap" "$VG/real/$n"
done
# Absolute paths: some tests run it with a PATH that has no bash in it.
BASH_BIN=$(command -v bash)
VALGRIND_BIN=$(command -v valgrind)
REALPATH_BIN=$(command -v realpath)
cat > "$VG/bin/claudewrap" <<EOF
#!$BASH_BIN
# claudewrap under memcheck, for scripts/valgrind.sh.
name=\${0##*/}
case \$name in
claude | claudewrap-report) ;;
*) name=claudewrap ;;
esac
if [ "\$name" = claude ] && [ -z "\${CLAUDEWRAP_CLAUDE:-}" ]; then
	# What claudewrap would choose: the first claude on PATH that is not
	# this wrapper.
	self=\$("$REALPATH_BIN" "\$0")
	IFS=: read -ra dirs <<< "\${PATH:-}"
	for d in "\${dirs[@]}"; do
		c=\${d:-.}/claude
		[ -f "\$c" ] && [ -x "\$c" ] || continue
		[ "\$("$REALPATH_BIN" "\$c")" = "\$self" ] && continue
		export CLAUDEWRAP_CLAUDE=\$c
		break
	done
fi
exec "$VALGRIND_BIN" --quiet --leak-check=full --error-exitcode=99 \\
    --track-fds=yes --child-silent-after-fork=yes \\
    --log-file="$VG/logs/%p.log" "$VG/real/\$name" "\$@"
EOF
chmod +x "$VG/bin/claudewrap"

echo "valgrind: tests/integ/run.sh with claudewrap under memcheck" >&2
CW_UNDER_VALGRIND=1 CLAUDEWRAP=$VG/bin/claudewrap FAKES=build/fakes \
    tests/integ/run.sh
suite=$?

# A log's descriptor listing runs from "FILE DESCRIPTORS:" through its
# records (a header line, then stack or "<inherited from parent>"
# lines); anything else in a log is an error report, but for valgrind's
# own notice that it does not know pidfd_open (syscall 434, valgrind
# 3.19): the call then fails with ENOSYS, and txn.c falls back to naps.
errors=0
opened=""
for log in "$VG"/logs/*.log; do
	[ -s "$log" ] || continue
	if awk '
		/^--[0-9]+-- (WARNING: unhandled amd64-linux syscall: 434|You may be able|Read the file README_MISSING|Nevertheless we consider|it at http:\/\/valgrind)/ { next }
		{ sub(/^==[0-9]+== ?/, "") }
		/^FILE DESCRIPTORS:/ { fd = 1; next }
		fd && (/^Open / || /^ +(at|by) 0x/ ||
		    /^ +<inherited from parent>/ || /^ *$/) { next }
		/^ *$/ { next }
		{ fd = 0; bad = 1 }
		END { exit bad ? 0 : 1 }' "$log"; then
		errors=$((errors + 1))
		echo "valgrind: errors in $log:" >&2
		sed 's/^/    /' "$log" >&2
	fi
	# Descriptors with an allocation stack were opened by claudewrap.
	o=$(awk '
		{ sub(/^==[0-9]+== ?/, "") }
		/^Open file descriptor/ { cur = $0; next }
		cur != "" && /^ +at 0x/ { print cur; cur = "" }
		/^ +<inherited/ { cur = "" }' "$log")
	[ -n "$o" ] && opened="$opened$(printf '%s\n' "$o" |
	    sed "s/^/pid $(basename "$log" .log): /")
"
done
nlogs=$(find "$VG/logs" -name '*.log' | wc -l)
if [ -n "$opened" ]; then
	echo "valgrind: descriptors claudewrap opened and left open at exit" \
	    "(information, not errors):" >&2
	printf '%s' "$opened" | sed 's/^/    /' >&2
fi
echo "valgrind: $nlogs processes logged, $errors with errors" >&2
[ "$errors" -eq 0 ] && [ "$suite" -eq 0 ] || exit 1
