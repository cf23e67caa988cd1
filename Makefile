# mwg — one entry point. `make` builds the programs; `make test` builds with
# sanitizers and runs every test (units, each fuzz harness's corpus replayed,
# scenarios); `make fuzz` fuzzes; `make demo` shows the main job end to end.
# Sources are found by wildcard per module, so adding a file needs no edit here.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build/release
SAN     ?= 0

ifeq ($(origin CC),default)
CC       = gcc
endif
PKGS     = openssl libevent libevent_openssl libevent_pthreads jansson sqlite3 libpq \
           liboath pam libqrencode libssh libsystemd libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lpthread

WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
CSTD     = -std=c11 -D_GNU_SOURCE
INC      = -I.
ifeq ($(SAN),1)
OPT      = -O1 -g -fno-omit-frame-pointer \
           -fsanitize=address,undefined -fno-sanitize-recover=all \
           -DMWG_TEST_TRIGGERS
LDOPT    = -fsanitize=address,undefined
else
OPT      = -O2 -g -D_FORTIFY_SOURCE=2 $(if $(TRIGGERS),-DMWG_TEST_TRIGGERS)
LDOPT    =
endif
HARDEN   = -fstack-protector-strong -fPIE -fstack-clash-protection
LDHARDEN = -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
# Our archives' symbols stay private: libpam pulls in libaudit, whose
# audit_open() would otherwise be bound to ours (a crash in every login).
LDHARDEN += -Wl,--exclude-libs,ALL

CFLAGS_ALL  = $(CSTD) $(OPT) $(HARDEN) $(WARN) $(INC) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(LDOPT) $(LDHARDEN) $(LDFLAGS)

# Libraries: no event loop, linked by mwgd, mwgctl and the tests.
comma   := ,
LIBMODS  = common certs policy audit
lib_src  = $(wildcard $(1)/*.c)
LIB_OBJ  = $(foreach m,$(LIBMODS),$(patsubst %.c,$(BUILD)/%.o,$(call lib_src,$(m))))
LIBMWG   = $(BUILD)/libmwg.a

# gateway/monitor/ runs only in the monitor, gateway/net/ only in the
# network process, gateway/ in either.
GW_SRC   = $(filter-out gateway/main.c,$(wildcard gateway/*.c gateway/monitor/*.c gateway/net/*.c))
GW_OBJ   = $(patsubst %.c,$(BUILD)/%.o,$(GW_SRC))
LIBGW    = $(BUILD)/libgateway.a
ADM_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard admin/*.c))
CLI_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard client/*.c))
CON_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(wildcard console/*.c))

BIN      = $(BUILD)/bin
GUI_PROG = $(if $(shell pkg-config --exists gtk4 && echo y),$(BIN)/mwg-gui)
PROGS    = $(BIN)/mwgd $(BIN)/mwgctl $(BIN)/mwg $(BIN)/mwg-console
TOOLS    = $(patsubst tests/tools/%.c,$(BIN)/%,$(wildcard tests/tools/*.c)) \
           $(patsubst bench/%.c,$(BIN)/%,$(wildcard bench/*.c))
UNIT     = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/*_test.c))

.PHONY: all test units demo deps clean install fuzz bench format deb gui \
	bench-tls bench-ssh bench-ssh-idle bench-churn bench-tunnels
.SECONDARY:

all: $(PROGS) $(TOOLS) $(GUI_PROG)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The GTK 4 window (issue 20 item 4): built by all only where libgtk-4-dev
# is installed (deploy/deps.sh test), or by make gui. Its own flags: GTK's
# headers do not pass the strictest set.
GUI_CFLAGS = $(shell pkg-config --cflags gtk4 2>/dev/null)
GUI_LIBS   = $(shell pkg-config --libs gtk4 2>/dev/null) -ljansson
gui: $(BIN)/mwg-gui
$(BIN)/mwg-gui: gui/mwg-gui.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter $(if $(SAN),-fsanitize=address$(comma)undefined) -g -O1 \
	    $(GUI_CFLAGS) $< -o $@ $(GUI_LIBS)

$(LIBMWG): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBGW): $(GW_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN)/mwgd: $(BUILD)/gateway/main.o $(LIBGW) $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BIN)/mwgctl: $(ADM_OBJ) $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BIN)/mwg: $(CLI_OBJ) $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# The cyber team's web console: its own program, never part of mwgd.
$(BIN)/mwg-console: $(CON_OBJ) $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# Test-only helpers (never installed): e.g. issue a certificate or put a
# device into the state store without going through enrolment.
$(BIN)/%: $(BUILD)/tests/tools/%.o $(LIBGW) $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# The store bench drives gateway/monitor/store.h, so it links the gateway's archive.
$(BIN)/store_bench: $(BUILD)/bench/store_bench.o $(LIBGW) $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BIN)/%: $(BUILD)/bench/%.o $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBGW) $(LIBMWG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcriterion

# ---- the two commands -------------------------------------------------
deps:
	deploy/deps.sh

# build/strict: release flags and the release seccomp list, with the test
# triggers (scenario 67 checks the network process's sandbox there).
test:
	deploy/deps.sh build test
	$(MAKE) SAN=1 BUILD=build/asan all units
	$(MAKE) TRIGGERS=1 BUILD=build/strict $(BUILD_STRICT_PROGS)
	tests/run-all.sh build/asan

units: $(UNIT)

BUILD_STRICT_PROGS = build/strict/bin/mwgd build/strict/bin/mwgctl \
    build/strict/bin/mwg build/strict/bin/mwg-backend \
    build/strict/bin/mwg-testcert

demo:
	deploy/deps.sh build demo
	$(MAKE) BUILD=build/release all
	deploy/demo.sh build/release

bench:
	deploy/deps.sh build bench
	$(MAKE) BUILD=build/release all
	bench/run.sh build/release

# One part of the benchmark each (bench/README.md), each under 3 minutes.
bench-tls bench-ssh bench-ssh-idle bench-churn bench-tunnels:
	deploy/deps.sh build bench
	$(MAKE) BUILD=build/release all
	bench/run.sh build/release $(patsubst bench-%,%,$@)

fuzz:
	deploy/deps.sh build fuzz
	tests/fuzz/run.sh

# Docs keep the source tree's shape (docs/ beside README.md and
# SECURITY.md), so the guides' relative links work where they are installed
# and docs/README.md does not collide with README.md.
DOCDIR   = $(DESTDIR)$(PREFIX)/share/doc/mwg
EXAMPLES = deploy/mwgd.conf deploy/policy.conf deploy/mwgd.service deploy/pam.d/mwg

install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/bin/mwgd $(DESTDIR)$(PREFIX)/sbin/mwgd
	install -m 0755 $(BUILD)/bin/mwgctl $(DESTDIR)$(PREFIX)/bin/mwgctl
	install -m 0755 $(BUILD)/bin/mwg $(DESTDIR)$(PREFIX)/bin/mwg
	install -m 0755 $(BUILD)/bin/mwg-console $(DESTDIR)$(PREFIX)/sbin/mwg-console
	install -d $(DOCDIR)/examples $(DOCDIR)/docs
	install -m 0644 $(EXAMPLES) $(DOCDIR)/examples/
	install -m 0644 README.md SECURITY.md $(DOCDIR)/
	install -m 0644 docs/*.md $(DOCDIR)/docs/
	install -d $(DOCDIR)/docs/img
	install -m 0644 docs/img/*.png $(DOCDIR)/docs/img/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/mwg.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/mwgd.conf.5 man/policy.conf.5 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/mwgd.8 man/mwgctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# mwg-gateway and mwg-client .debs in build/deb (debian/rules says how;
# objects stay in build/deb-obj, so a second run only rebuilds changes).
deb:
	deploy/deps.sh build deb
	dpkg-checkbuilddeps
	debian/rules build
	MWG_DEB_DIR=build/deb debian/rules binary

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
