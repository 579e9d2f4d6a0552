# isms-gateway: builds build/ismsd and build/ismsctl with pkg-config.
# make run   - install missing packages, build, start the console demo
# make test  - the same plus test peers, then every test under ASan+UBSan
# make bench - benchmarks (not part of make test)

BUILD   ?= build
CC      ?= cc
PKGS     = libcurl libwebsockets libuv jansson sqlite3 libesmtp-1.0 libssl libcrypto \
	   libarchive
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wwrite-strings -Werror
# CFLAGS and LDFLAGS are the user's (make CFLAGS=-O0 keeps everything
# below); what the build needs is in ISMS_CFLAGS and ISMS_LDFLAGS.
CFLAGS  ?= -O2 -g
ISMS_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) \
	       $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ISMS_LDFLAGS =
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
# sanitizer and fuzzer builds are always -O1, after the user's flags
ALL_CFLAGS  = $(ISMS_CFLAGS) $(CFLAGS) $(ISMS_OPT)
ALL_LDFLAGS = $(ISMS_LDFLAGS) $(LDFLAGS)

DIRS     = base net gateway adapters commands store config tools
MAINS    = gateway/main.c tools/ismsctl.c
LIB_SRCS = $(filter-out $(MAINS),$(foreach d,$(DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/embedded.o
MIGRATIONS = $(sort $(wildcard store/migrations/*.sql))
DATA     = config/annex-a.tsv $(wildcard config/quiz/questions.tsv) \
	   $(sort $(wildcard config/mappings/*.tsv)) adapters/portal.css
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
	lint clean check-config-example check-layers

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

$(BUILD)/obj/embedded.o: $(BUILD)/gen/embedded.c base/embedded.h
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(ALL_CFLAGS) -I. -Wno-overlength-strings -c -o $@ $<

$(BUILD)/obj/%.o: %.c
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

clean:
	rm -rf build

# header dependencies written by -MMD -MP beside each object
-include $(LIB_OBJS:.o=.d) $(MAINS:%.c=$(BUILD)/obj/%.d)
