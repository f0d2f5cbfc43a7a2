# ado-dr: no configure step. `make`, `make check`, `make demo`, `make install`, `make bench`.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share/ado-dr
COMPDIR = $(PREFIX)/share/bash-completion/completions

PKGS = libpq libarchive libcrypto libcurl yaml-0.1 libzstd liblz4 zlib libxml-2.0 libdeflate
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= cc
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(CI),true)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib $(PKG_CFLAGS)
LDLIBS = $(PKG_LIBS) -lpthread

TOOLS = ado-backup ado-verify ado-restore ado-recover ado-notify
# every folder of lib/ (see the layout in README.md); lib/source/pg/ and lib/source/files/ are one level deeper
LIB_SRC := $(wildcard lib/*/*.c lib/*/*/*.c)
LIB_OBJ := $(LIB_SRC:.c=.o)
LIB_HDR := $(wildcard lib/*.h lib/*/*.h lib/*/*/*.h)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:.c=.t)

all: $(foreach t,$(TOOLS),$(t)/$(t))

lib/libado.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

%.o: %.c $(LIB_HDR)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

define tool_rule
$(1)/$(1): $$(patsubst %.c,%.o,$$(wildcard $(1)/*.c)) lib/libado.a
	$$(CC) $$(ALL_CFLAGS) -o $$@ $$(patsubst %.c,%.o,$$(wildcard $(1)/*.c)) lib/libado.a $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

tests/unit/%.t: tests/unit/%.c tests/unit/tap.h lib/libado.a
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< lib/libado.a $(LDLIBS)

deps:
	@scripts/install-deps

check: deps
	$(MAKE) all $(UNIT_BIN)
	prove -f tests/unit/*.t
	prove -f tests/cli/t*.sh

check-unit: all $(UNIT_BIN)
	prove -f tests/unit/*.t

# make check-asan: the whole suite (unit and CLI tests) built with ASan and
# UBSan; any report fails the test that met it. The tree is cleaned before
# and after, so the next plain `make` builds without sanitizers. Leaks are
# not counted (tools exit with memory held); faketime's LD_PRELOAD is let in.
ASAN_CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
check-asan: deps
	$(MAKE) clean
	$(MAKE) CFLAGS="$(ASAN_CFLAGS)" all $(UNIT_BIN)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:verify_asan_link_order=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		prove -f tests/unit/*.t tests/cli/t*.sh; rc=$$?; $(MAKE) clean; exit $$rc

# make fuzz [FUZZ_SECONDS=60]: each libFuzzer target (tests/fuzz/) for that
# long under ASan and UBSan, from seeds made of the test suite's files. Needs
# clang-14 and libfuzzer-14-dev (scripts/fuzz-deps); not part of make check.
FUZZ_CC ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = config manifest index artifact
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -Ilib -Itests/fuzz $(PKG_CFLAGS)
FUZZ_OBJ := $(patsubst %.c,build/fuzz/%.o,$(LIB_SRC))

build/fuzz/%.o: %.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
build/fuzz/libado.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJ)
build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h build/fuzz/libado.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libado.a $(LDLIBS)
build/fuzz/mkseed: tests/fuzz/mkseed.c tests/fuzz/fuzz.h build/fuzz/libado.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< build/fuzz/libado.a $(LDLIBS)

fuzz:
	@scripts/fuzz-deps
	$(MAKE) $(foreach t,$(FUZZ_TARGETS),build/fuzz/fuzz-$(t)) build/fuzz/mkseed
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: deps
	$(MAKE) all
	sh examples/demo.sh

bench: all
	bench/run
	bench/pg
	bench/remote

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do install -m 0755 $$t/$$t $(DESTDIR)$(BINDIR)/$$t; done
	for m in man/*.1; do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in man/*.5; do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in man/*.7; do [ -f $$m ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man7/ || true; done
	install -d $(DESTDIR)$(SHAREDIR)/examples $(DESTDIR)$(SHAREDIR)/systemd $(DESTDIR)$(COMPDIR)
	for f in examples/*; do [ -f $$f ] || continue; \
		case $$f in *.sh) m=0755;; *) m=0644;; esac; install -m $$m $$f $(DESTDIR)$(SHAREDIR)/examples/; done
	for f in examples/systemd/*; do install -m 0644 $$f $(DESTDIR)$(SHAREDIR)/systemd/; done
	install -m 0644 completion/ado-dr.bash $(DESTDIR)$(COMPDIR)/ado-backup
	for t in $(TOOLS); do [ $$t = ado-backup ] || ln -sf ado-backup $(DESTDIR)$(COMPDIR)/$$t; done

clean:
	rm -f $(LIB_OBJ) lib/libado.a $(UNIT_BIN) $(foreach t,$(TOOLS),$(t)/$(t) $(t)/*.o)
	rm -rf build

.PHONY: all deps check check-unit check-asan fuzz demo bench install clean
