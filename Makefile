# isms-gateway: builds build/ismsd and build/ismsctl with pkg-config.
# make run   - install missing packages, build, start the console demo
# make test  - the same plus test peers, then every test under ASan+UBSan
# make bench - benchmarks (not part of make test)
# make install [PREFIX=/usr/local] [DESTDIR=] - binaries, configuration,
#              systemd units, man pages and documentation; make uninstall

BUILD   ?= build
CC      ?= cc
PKGS     = libcurl libwebsockets libuv jansson sqlite3 libpq libesmtp-1.0 libssl \
	   libcrypto libarchive olm
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wwrite-strings -Werror
# CFLAGS and LDFLAGS are the user's (make CFLAGS=-O0 keeps everything
# below); what the build needs is in ISMS_CFLAGS and ISMS_LDFLAGS.
CFLAGS  ?= -O2 -g
ISMS_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) \
	       $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ISMS_LDFLAGS =
# systemd notification (Type=notify, watchdog) when libsystemd is there;
# SYSTEMD=0 builds without it
SYSTEMD ?= $(shell pkg-config --exists libsystemd 2>/dev/null && echo 1)
ifeq ($(SYSTEMD),1)
PKGS        += libsystemd
ISMS_CFLAGS += -DHAVE_SYSTEMD
endif
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
ifeq ($(FUZZ),1)
BUILD    = build/fuzz
CC       = clang
ISMS_CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined \
		-fno-omit-frame-pointer
ISMS_OPT     = -O1
ISMS_LDFLAGS += -fsanitize=fuzzer,address,undefined
endif
ifeq ($(SAN),1)
BUILD    = build/san
ISMS_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined
ISMS_OPT     = -O1
ISMS_LDFLAGS += -fsanitize=address,undefined
endif
# the version (scripts/version.sh) is written to $(BUILD)/gen/isms_version.h
ISMS_CFLAGS += -I$(BUILD)/gen -DISMS_GEN_VERSION
# sanitizer and fuzzer builds are always -O1, after the user's flags
ALL_CFLAGS  = $(CPPFLAGS) $(ISMS_CFLAGS) $(CFLAGS) $(ISMS_OPT)
ALL_LDFLAGS = $(ISMS_LDFLAGS) $(LDFLAGS)

DIRS     = base net gateway adapters commands store config tools
MAINS    = gateway/main.c tools/ismsctl.c
LIB_SRCS = $(filter-out $(MAINS),$(foreach d,$(DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/embedded.o
MIGRATIONS = $(sort $(wildcard store/migrations/*.sql))
DATA     = config/annex-a.tsv $(wildcard config/quiz/questions.tsv) \
	   $(sort $(wildcard config/mappings/*.tsv)) adapters/portal.css \
	   store/pg_compat.sql
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

# the console user; make's own default AS (the assembler) is not a handle
ifeq ($(origin AS),default)
AS       = alice
endif
DEMO_DB ?= build/demo.db

.PHONY: all check-deps deps test-deps run demo-db test unit integration fuzz fuzz-bins bench \
	lint clean check-config-example check-man check-layers install uninstall FORCE

# make (all) only says what is missing; make deps, run and test install it
all: check-deps
	@$(MAKE) --no-print-directory binaries

binaries: $(BUILD)/ismsd $(BUILD)/ismsctl

check-deps:
	@scripts/deps.sh build --check

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

$(BUILD)/gen/embedded.c: tools/embed.sh $(MIGRATIONS) $(DATA)
	@mkdir -p $(dir $@)
	@tools/embed.sh $(MIGRATIONS) -- $(DATA) > $@.tmp && mv $@.tmp $@

# rewritten only when the version changes, so that only what includes
# base/version.h is compiled again
$(BUILD)/gen/isms_version.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define ISMS_VERSION "%s"\n' "$$(scripts/version.sh)" >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/obj/embedded.o: $(BUILD)/gen/embedded.c base/embedded.h
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(ALL_CFLAGS) -I. -Wno-overlength-strings -c -o $@ $<

$(BUILD)/obj/%.o: %.c | $(BUILD)/gen/isms_version.h
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libisms.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/ismsd: $(BUILD)/obj/gateway/main.o $(BUILD)/libisms.a
	@echo "  LD  $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/ismsctl: $(BUILD)/obj/tools/ismsctl.o $(BUILD)/libisms.a
	@echo "  LD  $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libisms.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libisms.a $(LDLIBS) -lcmocka

unit-bins: $(UNIT_BINS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libisms.a
	@echo "  CC  $<"
	@$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libisms.a $(LDLIBS)

fuzz-bins: $(FUZZ_BINS)

# The demo database: staff, then the seed commands, made once.
$(DEMO_DB): config/demo/staff.csv config/demo/seed.txt | $(BUILD)/ismsctl
	@rm -f $@ $@-wal $@-shm $@.audit-key $@.lock
	@$(BUILD)/ismsctl --db $@ init >/dev/null
	@$(BUILD)/ismsctl --db $@ staff import config/demo/staff.csv
	@$(BUILD)/ismsctl --db $@ seed config/demo/seed.txt

demo-db: deps
	@$(MAKE) --no-print-directory binaries
	@$(MAKE) --no-print-directory $(DEMO_DB)

run: demo-db
	@echo "Console demo as '$(AS)' on $(DEMO_DB) (make run AS=carol for the ISMS manager)."
	@$(BUILD)/ismsd --console --db $(DEMO_DB) --as $(AS)

test: deps test-deps
	@scripts/check-layers.sh
	@$(MAKE) --no-print-directory SAN=1 binaries unit-bins
	@$(MAKE) --no-print-directory binaries
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
	@FUZZ_SECONDS=$(or $(FUZZ_SECONDS),5) tests/run.sh build/san

fuzz: deps test-deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
	@tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

bench: deps
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory binaries
	@bench/run.sh

lint:
	clang-format --dry-run --Werror $(foreach d,$(DIRS),$(wildcard $(d)/*.[ch])) \
		tests/unit/*.[ch] tests/fuzz/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--std=c11 --suppress=missingIncludeSystem $(DIRS)

# each folder includes only the folders below it (README: Layout)
check-layers:
	@scripts/check-layers.sh

check-config-example: binaries
	$(BUILD)/ismsd --print-config | diff -u config/ismsd.conf.example -

# docs/man/ismsd.conf.5 is generated from the configuration table
check-man: binaries
	$(BUILD)/ismsd --print-man | diff -u docs/man/ismsd.conf.5 -

# Installation. PREFIX=/usr puts the configuration in /etc; DESTDIR
# stages the tree (packages). The units and the installed ismsd.conf name
# the paths chosen here.
PREFIX     ?= /usr/local
prefix      = $(PREFIX)
exec_prefix = $(prefix)
bindir     ?= $(exec_prefix)/bin
sbindir    ?= $(exec_prefix)/sbin
datarootdir ?= $(prefix)/share
mandir     ?= $(datarootdir)/man
docdir     ?= $(datarootdir)/doc/isms-gateway
ifeq ($(prefix),/usr)
sysconfdir ?= /etc
unitdir    ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
else
sysconfdir ?= $(prefix)/etc
unitdir    ?= $(prefix)/lib/systemd/system
endif
statedir   ?= /var/lib/ismsd
INSTALL    ?= install
UNITS       = ismsd.service ismsd-backup.service ismsd-backup.timer
MANPAGES    = docs/man/ismsd.8 docs/man/ismsctl.8 docs/man/ismsd.conf.5
DOCS        = README.md $(wildcard docs/*.md) config/slack-manifest.yaml
SUBST       = sed -e 's|@bindir@|$(bindir)|g' -e 's|@sbindir@|$(sbindir)|g' \
	      -e 's|@sysconfdir@|$(sysconfdir)|g' -e 's|@statedir@|$(statedir)|g'

install: binaries
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(sbindir) \
		$(DESTDIR)$(sysconfdir)/ismsd $(DESTDIR)$(unitdir) \
		$(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(docdir)
	$(INSTALL) -m 0755 $(BUILD)/ismsd $(DESTDIR)$(sbindir)/ismsd
	$(INSTALL) -m 0755 $(BUILD)/ismsctl $(DESTDIR)$(bindir)/ismsctl
	$(INSTALL) -m 0644 config/ismsd.conf.example \
		$(DESTDIR)$(sysconfdir)/ismsd/ismsd.conf.example
	@# the configuration is the example with the database in $(statedir);
	@# an existing one is kept
	if [ ! -e $(DESTDIR)$(sysconfdir)/ismsd/ismsd.conf ]; then \
		sed 's|^path = isms.db$$|path = $(statedir)/isms.db|' \
		    config/ismsd.conf.example >$(DESTDIR)$(sysconfdir)/ismsd/ismsd.conf.tmp && \
		chmod 0640 $(DESTDIR)$(sysconfdir)/ismsd/ismsd.conf.tmp && \
		mv $(DESTDIR)$(sysconfdir)/ismsd/ismsd.conf.tmp \
		   $(DESTDIR)$(sysconfdir)/ismsd/ismsd.conf; \
	fi
	for u in $(UNITS); do \
		$(SUBST) dist/systemd/$$u.in >$(DESTDIR)$(unitdir)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(unitdir)/$$u.tmp && \
		mv $(DESTDIR)$(unitdir)/$$u.tmp $(DESTDIR)$(unitdir)/$$u || exit 1; \
	done
	$(INSTALL) -m 0644 docs/man/ismsd.conf.5 $(DESTDIR)$(mandir)/man5/
	$(INSTALL) -m 0644 docs/man/ismsd.8 docs/man/ismsctl.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(docdir)/

# the configuration (ismsd.conf) and the database stay
uninstall:
	rm -f $(DESTDIR)$(sbindir)/ismsd $(DESTDIR)$(bindir)/ismsctl \
		$(DESTDIR)$(sysconfdir)/ismsd/ismsd.conf.example \
		$(addprefix $(DESTDIR)$(unitdir)/,$(UNITS)) \
		$(DESTDIR)$(mandir)/man5/ismsd.conf.5 \
		$(DESTDIR)$(mandir)/man8/ismsd.8 $(DESTDIR)$(mandir)/man8/ismsctl.8 \
		$(addprefix $(DESTDIR)$(docdir)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(docdir) 2>/dev/null

clean:
	rm -rf build

FORCE:

# header dependencies written by -MMD -MP beside each object
-include $(LIB_OBJS:.o=.d) $(MAINS:%.c=$(BUILD)/obj/%.d)
