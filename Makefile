# exod — build, test, demo, install.
#
#   make            build exod and exoctl in build/
#   make demo       install what is missing, build, run exod against the simulated cloud
#   make check      install what is missing, build, run the unit and integration tests
#   make asan       the same tests under AddressSanitizer and UndefinedBehaviorSanitizer
#   make valgrind   the integration tests with exod under valgrind memcheck
#   make bench      figures against DESIGN.md §6 (never pass/fail)
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS each (tests/fuzz/README.md)
#   make fuzz-replay  the fuzz corpora and regressions, once, no mutation (part of check)
#   make mutate     break one behaviour at a time, check the tests notice (tests/mutation/)
#   make install    PREFIX=/usr/local DESTDIR=
#   make uninstall  the same PREFIX and DESTDIR: removes what install put there
#   make units      the systemd units with their paths filled in, in build/ (for systemd-analyze)

PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
PYTHON    ?= /usr/bin/python3
BUILD     ?= build

PKGS      := libevent libevent_pthreads libcurl openssl yajl libsystemd inih hiredis
DEB_PKGS  := build-essential pkg-config libevent-dev libcurl4-openssl-dev libssl-dev \
             libyajl-dev libsystemd-dev libinih-dev libcmocka-dev python3 python3-pytest \
             python3-cryptography socat valgrind systemd bash-completion zsh \
             libjq-dev libedit-dev tmux libyaml-dev python3-yaml libhiredis-dev redis-server
BENCH_DEB_PKGS := nginx-light hyperfine nghttp2-client

CC        ?= cc
SAN       ?=
OPT       ?= -O2
CFLAGS    ?= $(OPT) -g
VERSION   := 0.1.0
ALL_CFLAGS = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -DEXOD_VERSION=\"$(VERSION)\" -I. $(SAN) $(CFLAGS) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS       = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# exoctl's optional libraries, libjq (--query), libyaml (-o yaml) and libedit (the
# shell), are not linked but loaded when used (client/dl.h): linked, they cost
# every run ~450k, ~40k and ~490k instructions at start-up.  Only their headers
# (libjq-dev, libyaml-dev, libedit-dev) are needed to build.
CLIENT_LIBS =
# exoctl takes yajl from Debian's static archive (libyajl-dev's libyajl_s.a): as a
# shared library it costs every run ~38k instructions of loading and symbol lookups.
YAJL_STATIC = $(shell pkg-config --variable=libdir yajl 2>/dev/null)/libyajl_s.a
LDFLAGS   += $(SAN)

COMMON_SRC := $(wildcard common/*.c)
DAEMON_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
CLIENT_SRC := $(filter-out client/exoctl.c,$(wildcard client/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
DAEMON_OBJ := $(call obj,$(DAEMON_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps check unit golden integration demo asan valgrind bench install uninstall units \
	clean lint FORCE \
	fuzz fuzz-replay fuzz-build fuzz-merge fuzz-bins catalogue-check
.DELETE_ON_ERROR:

all: $(BUILD)/exod $(BUILD)/exoctl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libdaemon.a: $(DAEMON_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libclient.a: $(CLIENT_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/exod: $(call obj,daemon/main.c) $(BUILD)/libdaemon.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
# hiredis is exod's alone (daemon/cluster.c): exoctl would only pay for loading it.
$(BUILD)/exoctl: $(call obj,client/exoctl.c) $(BUILD)/libclient.a $(BUILD)/libcommon.a
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(YAJL_STATIC) $(CLIENT_LIBS) $(filter-out -lhiredis,$(LIBS))

# Unit tests replace collaborators with GNU ld's --wrap: calls to a function
# named in WRAP_<test> go to the test's __wrap_<name> (__real_<name> is the
# original).  event_add/del/free let tests/unit/fake_clock.h run libevent
# timers on the fake clock.
WRAP_test_pool   := event_add event_del event_free
WRAP_test_token  := event_add event_del event_free auth_new auth_free auth_start auth_login \
                    auth_has_login auth_login_detach auth_cancel auth_set_refresh_token \
                    auth_set_conf auth_authority auth_tenant auth_client_id
WRAP_test_exo    := event_add event_del event_free http_start http_xfer_cancel \
                    http_xfer_status http_xfer_resume http_xfer_headers token_current token_wait \
                    token_wait_cancel token_rejected token_accepted token_identity
WRAP_test_server := event_add event_del event_free http_get_stats wire_parse_request \
                    exo_call_cancel exo_call_resume profile_next profile_name profile_hold \
                    profile_release profile_open profile_access profile_may_run profile_run \
                    profile_service \
                    profile_observe \
                    profile_login profile_login_detach profile_login_is_browser \
                    profile_authorize_url profile_logout profile_refresh \
                    profile_wait profile_wait_cancel profile_identity profile_status \
                    profile_metrics

WRAP_test_auth_device := event_add event_del event_free http_start http_xfer_cancel
# free: test_sbuf checks what a block holds at the moment it is freed.
WRAP_test_sbuf   := free

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(BUILD)/libdaemon.a $(BUILD)/libclient.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(foreach s,$(WRAP_$*),-Wl,--wrap=$(s)) $(CLIENT_LIBS) $(LIBS) -lcmocka

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Breaks one behaviour of the core at a time in a copy of the tree and checks that the tests
# named for it notice (tests/mutation/README.md).  Not part of check: it takes a while.
# MUTATE_ARGS="--only 'exo-*'" for some; "--check" only checks the list against the code.
.PHONY: mutate
mutate:
	$(PYTHON) tests/mutation/mutate.py $(MUTATE_ARGS)

# Installs Debian's packages that are missing (as root), or says the command to run.
deps:
	@missing=""; for p in $(DEB_PKGS) $(EXTRA_DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } >/dev/null || exit 1; \
		else \
			echo "missing packages; run: sudo apt-get install$$missing" >&2; exit 1; \
		fi; \
	fi

unit: $(UNIT_BIN)
	@rc=0; for t in $(UNIT_BIN); do $$t || rc=1; done; exit $$rc

# Rewrites tests/unit/golden/ from what exoctl renders now: review the diff before committing.
golden: $(BUILD)/tests/test_output
	GOLDEN_UPDATE=1 $(BUILD)/tests/test_output

integration: all
	EXOD_BIN=$(abspath $(BUILD)/exod) EXOCTL_BIN=$(abspath $(BUILD)/exoctl) \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/fake tests/integration $(PYTEST_ARGS)

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) fuzz-replay
	$(MAKE) catalogue-check

# common/catalogue.inc must be what tools/gen_catalogue.py makes of the
# reference catalogue, when that is at hand (../shared/reference/cmdlets).
CATALOGUE_JSON ?= ../shared/reference/cmdlets/cmdlets.json
catalogue-check:
	@if [ -f $(CATALOGUE_JSON) ]; then \
		$(PYTHON) tools/gen_catalogue.py --check $(CATALOGUE_JSON); \
	else echo "catalogue-check: $(CATALOGUE_JSON) is not here; skipped"; fi

demo: deps
	$(MAKE) all
	@$(PYTHON) tests/demo.py --exod $(BUILD)/exod --exoctl $(BUILD)/exoctl

asan: deps
	EXOD_SANITIZED=1 $(MAKE) BUILD=build-asan OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

valgrind: deps
	$(MAKE) all
	EXOD_VALGRIND=1 $(MAKE) integration

bench:
	$(MAKE) deps EXTRA_DEB_PKGS="$(BENCH_DEB_PKGS)"
	$(MAKE) all
	$(PYTHON) tests/bench/bench.py --exod $(BUILD)/exod --exoctl $(BUILD)/exoctl

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr -I. --suppress=missingIncludeSystem \
		--include=/usr/include/x86_64-linux-gnu/sys/queue.h common daemon client
	clang-tidy --quiet $(COMMON_SRC) $(DAEMON_SRC) daemon/main.c $(CLIENT_SRC) client/exoctl.c \
		-- -std=c11 -D_GNU_SOURCE -DEXOD_VERSION=\"$(VERSION)\" -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

# The units as installed: @SBINDIR@ in the template becomes the real path. Always rewritten
# (FORCE), since SBINDIR may differ from one call to the next and the file alone cannot tell.
UNITS := $(BUILD)/exod.service $(BUILD)/exod.socket

units: $(UNITS)

$(BUILD)/exod.service: systemd/exod.service.in FORCE
	@mkdir -p $(dir $@)
	sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@.tmp
	@if grep -n '@[A-Z_]*@' $@.tmp; then echo "$@: placeholder left unfilled" >&2; rm -f $@.tmp; exit 1; fi
	mv -f $@.tmp $@
$(BUILD)/exod.socket: systemd/exod.socket
	@mkdir -p $(dir $@)
	cp $< $@

FORCE:

# exod's user and group come from sysusers.d: created at once when installing for this machine
# (no DESTDIR), by the package manager's systemd-sysusers run otherwise. exod.conf may hold a
# proxy password: readable by root and group exod only.
install: all units
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/exod \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BUILD)/exod $(DESTDIR)$(SBINDIR)/exod
	install -m 0755 $(BUILD)/exoctl $(DESTDIR)$(BINDIR)/exoctl
	install -m 0644 doc/exoctl.1 $(DESTDIR)$(MANDIR)/man1/exoctl.1
	install -m 0644 doc/exod.conf.5 $(DESTDIR)$(MANDIR)/man5/exod.conf.5
	install -m 0644 doc/exod.8 $(DESTDIR)$(MANDIR)/man8/exod.8
	install -m 0644 completion/exoctl.bash $(DESTDIR)$(BASHCOMPDIR)/exoctl
	install -m 0644 completion/_exoctl $(DESTDIR)$(ZSHCOMPDIR)/_exoctl
	install -m 0644 systemd/exod.sysusers $(DESTDIR)$(SYSUSERSDIR)/exod.conf
	if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/exod.conf; fi
	[ -e $(DESTDIR)$(SYSCONFDIR)/exod/exod.conf ] || \
		install -m 0640 conf/exod.conf $(DESTDIR)$(SYSCONFDIR)/exod/exod.conf
	-[ -n "$(DESTDIR)" ] || chgrp exod $(SYSCONFDIR)/exod/exod.conf
	install -m 0644 $(BUILD)/exod.service $(DESTDIR)$(UNITDIR)/exod.service
	install -m 0644 $(BUILD)/exod.socket $(DESTDIR)$(UNITDIR)/exod.socket

# What install put there. exod.conf goes only while it is still the shipped sample (an edited
# one is the administrator's: kept, and said so), and $(SYSCONFDIR)/exod only when that empties
# it. Left alone, as install did not make them: the exod user and group, the state directory
# systemd made, the units' enablement (systemctl disable --now exod.socket exod.service first),
# and the shared directories (bin, man, ...) install -d may have created.
INSTALLED := $(SBINDIR)/exod $(BINDIR)/exoctl $(MANDIR)/man1/exoctl.1 $(MANDIR)/man5/exod.conf.5 \
	     $(MANDIR)/man8/exod.8 $(BASHCOMPDIR)/exoctl $(ZSHCOMPDIR)/_exoctl \
	     $(SYSUSERSDIR)/exod.conf $(UNITDIR)/exod.service $(UNITDIR)/exod.socket

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@conf=$(DESTDIR)$(SYSCONFDIR)/exod/exod.conf; \
	if [ -e "$$conf" ] && ! cmp -s conf/exod.conf "$$conf"; then \
		echo "uninstall: keeping $$conf: it is not the shipped sample"; \
	else rm -f "$$conf"; fi
	@if [ -d $(DESTDIR)$(SYSCONFDIR)/exod ]; then \
		rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSCONFDIR)/exod; fi

clean:
	rm -rf build build-asan $(FUZZ_BUILD)

# ---- fuzzing (tests/fuzz/README.md) ----
# Each tests/fuzz/fuzz_NAME.c is a libFuzzer harness with its seed corpus in
# tests/fuzz/corpus/NAME/ and the crash inputs that became regression tests in
# tests/fuzz/regressions/NAME/.  The project's sources are built again with
# clang into $(FUZZ_BUILD)/ (ASan + UBSan, libFuzzer's coverage), by this
# Makefile's own rules with BUILD, CC, OPT and SAN set.
#
#   make fuzz                   FUZZ_SECONDS (300) per harness, FUZZ_JOBS at once
#   make fuzz FUZZ=cache        only the harnesses named (space-separated)
#   make fuzz-replay            every committed input once; fails on any crash
#   make fuzz-merge             fold what `make fuzz` found into the committed corpus
#
# `make fuzz` writes new inputs to $(FUZZ_BUILD)/work/NAME/corpus (kept between
# runs) and never to tests/fuzz/corpus; crash inputs go to
# $(FUZZ_BUILD)/crashes/NAME/.  `make fuzz-merge` adds to tests/fuzz/corpus/NAME
# only the found inputs that reach new coverage (libFuzzer -merge=1): review and
# commit them deliberately (git add tests/fuzz/corpus).
FUZZ_SECONDS  ?= 300
FUZZ_JOBS     ?= 1
FUZZ_BUILD    ?= build-fuzz
FUZZ_CC       ?= clang
FUZZ_DEB_PKGS := clang libclang-rt-14-dev
FUZZ_ALL      := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ          ?= $(FUZZ_ALL)
FUZZ_SAN      := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer
FUZZ_LIBS     := $(BUILD)/libdaemon.a $(BUILD)/libclient.a $(BUILD)/libcommon.a
FUZZ_RUN      := FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
                 tests/fuzz/run.sh

fuzz-build:
	$(MAKE) deps EXTRA_DEB_PKGS="$(FUZZ_DEB_PKGS)"
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT=-O1 SAN="$(FUZZ_SAN)" \
		FUZZ="$(FUZZ)" fuzz-bins

# Only with BUILD=$(FUZZ_BUILD) and the sanitizer flags above (through fuzz-build).
.SECONDARY: $(patsubst %,$(BUILD)/tests/fuzz/fuzz_%.o,$(FUZZ_ALL))
fuzz-bins: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ))

$(BUILD)/fuzz/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c) $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(CLIENT_LIBS) $(LIBS)

fuzz: fuzz-build
	$(FUZZ_RUN) fuzz $(FUZZ)

fuzz-replay: fuzz-build
	$(FUZZ_RUN) replay $(FUZZ)

fuzz-merge: fuzz-build
	$(FUZZ_RUN) merge $(FUZZ)
