# claudewrap — see README.md. `make demo` and `make check` work on a
# fresh Debian machine: both install what is missing first (make deps).

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man/man1
LIBEXEC	?= $(PREFIX)/lib/claudewrap/bin
DESTDIR	?=

CC	?= cc
PKG_CONFIG ?= pkg-config
PKGS	= libcjson libbsd-overlay libmd hiredis

# Evaluated lazily, so that `make deps` can install them first.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS))
# The installed binary links Debian's static libbsd, libmd and hiredis:
# every shared library costs about 50 us at each start (README,
# Dependencies). cJSON stays shared: Debian ships no libcjson.a.
STATIC_PKGS = libbsd-overlay libmd hiredis
REL_LIBS   = -Wl,-Bstatic $(shell $(PKG_CONFIG) --static --libs-only-l \
	     $(STATIC_PKGS)) -Wl,-Bdynamic $(shell $(PKG_CONFIG) --libs libcjson)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS   = $(shell $(PKG_CONFIG) --libs check)

WARN	= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith -Wvla
CFLAGS	?= -O2 -g
SAN	= -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=all
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) -Ilib $(PKG_CFLAGS) -MMD -MP

LIB_SRCS   = $(wildcard lib/*.c)
UNIT_SRCS  = $(wildcard tests/unit/test_*.c)
FAKE_SRCS  = $(wildcard tests/fakes/*.c)

REL_OBJS   = $(LIB_SRCS:lib/%.c=build/rel/%.o)
ASAN_OBJS  = $(LIB_SRCS:lib/%.c=build/asan/%.o)
UNIT_BINS  = $(UNIT_SRCS:tests/unit/%.c=build/asan/%)
FAKE_BINS  = $(FAKE_SRCS:tests/fakes/%.c=build/fakes/%)

.PHONY: all deps check check-run unit integ e2e demo install uninstall \
	clean bench fuzz lint lint-man valgrind cli asan
.DEFAULT_GOAL := all

all: claudewrap

claudewrap: build/rel/claudewrap
	cp $< $@.tmp && mv -f $@.tmp $@

# Every symbol bound at start (full RELRO): lazy binding cost each first
# call a lookup, in claudewrap and again in the guardian (whose GOT writes
# are then copy-on-write faults): 0.1-0.15 ms a run (BENCHMARKS.md).
build/rel/claudewrap: build/rel/claudewrap.o $(REL_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,-z,relro,-z,now -o $@ $^ $(REL_LIBS)

build/rel/%.o: lib/%.c | build/rel
	$(CC) $(ALL_CFLAGS) $(CFLAGS) -c $< -o $@
build/rel/claudewrap.o: claudewrap.c | build/rel
	$(CC) $(ALL_CFLAGS) $(CFLAGS) -c $< -o $@

# The sanitizer build: what `make check` tests.
asan: build/asan/claudewrap
build/asan/claudewrap: build/asan/claudewrap.o $(ASAN_OBJS)
	$(CC) -O1 -g $(SAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
build/asan/%.o: lib/%.c | build/asan
	$(CC) $(ALL_CFLAGS) -O1 -g $(SAN) -c $< -o $@
build/asan/claudewrap.o: claudewrap.c | build/asan
	$(CC) $(ALL_CFLAGS) -O1 -g $(SAN) -c $< -o $@
build/asan/test_%: tests/unit/test_%.c $(ASAN_OBJS) | build/asan
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -O1 -g $(SAN) -o $@ $(filter %.c %.o,$^) \
	    $(PKG_LIBS) $(CHECK_LIBS)

# The payload reader alone, for measuring it (BENCHMARKS.md).
build/rel/read_stream: tests/bench/read_stream.c $(REL_OBJS)
	$(CC) $(ALL_CFLAGS) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS)

# Small fake CLIs for the integration tests, built without sanitizers:
# they are the thing being supervised, not the thing under test.
build/fakes/%: tests/fakes/%.c $(wildcard tests/fakes/*.h) | build/fakes
	$(CC) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -o $@ $<

build/rel build/asan build/fakes:
	mkdir -p $@

deps:
	@scripts/deps.sh

# The real CLI, pinned (or CLI_VERSION), into a cache outside the source
# tree. make check runs the e2e suite on each version of the tested range
# (scripts/install-cli.sh --range); make e2e on CLI_VERSION, default the pin.
CLI_VERSION ?=
cli:
	@scripts/install-cli.sh $(CLI_VERSION)

check:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory check-run

check-run: claudewrap build/asan/claudewrap $(UNIT_BINS) $(FAKE_BINS)
	@for v in $$(scripts/install-cli.sh --range); do \
	    scripts/install-cli.sh $$v || exit 1; done
	@scripts/run-unit.sh $(UNIT_BINS)
	@scripts/fuzz.sh replay
	@CLAUDEWRAP=build/asan/claudewrap FAKES=build/fakes \
	    tests/integ/run.sh
	@CLAUDEWRAP=build/asan/claudewrap tests/e2e/versions.sh

unit: build/asan/claudewrap $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)
integ: claudewrap build/asan/claudewrap $(FAKE_BINS)
	@CLAUDEWRAP=build/asan/claudewrap FAKES=build/fakes tests/integ/run.sh
e2e: build/asan/claudewrap
	@scripts/install-cli.sh $(CLI_VERSION)
	@CLI_VERSION=$(CLI_VERSION) CLAUDEWRAP=build/asan/claudewrap \
	    tests/e2e/run.sh

demo:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory claudewrap
	@scripts/install-cli.sh
	@scripts/demo.sh

# The classifier under libFuzzer for FUZZ_SECONDS (default 60).
fuzz:
	@scripts/fuzz.sh run $(FUZZ_SECONDS)

# The integration suite with claudewrap under memcheck.
valgrind: claudewrap $(FAKE_BINS)
	@scripts/valgrind.sh

lint:
	@scripts/lint.sh

# The man page is the spec users have: no mandoc warning is let stand.
lint-man:
	@scripts/deps.sh man
	@mandoc -Tlint -Wwarning man/claudewrap.1

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory claudewrap $(FAKE_BINS) build/rel/read_stream
	@scripts/bench.sh

install: claudewrap
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(LIBEXEC)
	install -m 0755 claudewrap $(DESTDIR)$(BINDIR)/claudewrap
	ln -sf claudewrap $(DESTDIR)$(BINDIR)/claudewrap-report
	install -m 0644 man/claudewrap.1 $(DESTDIR)$(MANDIR)/claudewrap.1
	ln -sf $(BINDIR)/claudewrap $(DESTDIR)$(LIBEXEC)/claude

# Then the directories install made, each up to $(PREFIX) (never it),
# while they are empty: rmdir never removes one that holds anything
# else, such as a bin shared with other programs.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/claudewrap $(DESTDIR)$(BINDIR)/claudewrap-report \
	    $(DESTDIR)$(MANDIR)/claudewrap.1 $(DESTDIR)$(LIBEXEC)/claude
	@for d in $(LIBEXEC) $(MANDIR) $(BINDIR); do \
	    while [ "$${d#$(PREFIX)/}" != "$$d" ] && \
		rmdir "$(DESTDIR)$$d" 2>/dev/null; do d=$${d%/*}; done; \
	done

clean:
	rm -rf build claudewrap

-include $(wildcard build/*/*.d)
