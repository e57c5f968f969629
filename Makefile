# Kiroku — build, test, demo, bench.
#   make          builds bin/kiroku
#   make test     all tests; last line "N passed, N failed"
#   make check    the same tests built with ASan + UBSan
#   make demo     the worked example across five participants
#   make bench    measured throughput against the limits measured in the same run
#   make valgrind integration scenarios with every process under valgrind (minutes)
#   make install  the programs, their man pages and bash completion under
#                 $(DESTDIR)$(PREFIX) (default /usr/local); make uninstall removes them

BUILD ?= build
BIN   ?= bin
PKGS  := lmdb libsodium libprotobuf-c libuv jansson libmicrohttpd libgvc

CC      ?= cc
OPT     ?= -O2 -g
SANFLAGS =
FUZZ_TARGETS := record wire frames qty merkle note evidence bundle recfile epcis import masterdata ops
ifeq ($(FUZZ),1)
CC       = clang
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
OPT      = -O1 -g
endif
ifeq ($(SAN),1)
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT      = -O1 -g
endif
# Recursive (=) on purpose: expanded when a recipe runs, i.e. after deps are installed.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) $(SANFLAGS) \
             -I$(BUILD)/proto -I$(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(SANFLAGS) $(PKG_LIBS) -lpthread $(LDLIBS)

LIB_SRC  := proto/codec.c proto/wire.c $(wildcard crypto/*.c) $(filter-out node/daemon/kiroku_node.c,$(wildcard node/*/*.c))
CLI_SRC  := $(wildcard tools/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)
GEN_C    := $(BUILD)/proto/kiroku.pb-c.c
GEN_H    := $(BUILD)/proto/kiroku.pb-c.h

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/proto/kiroku.pb-c.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
# every TEST must be in tests/unit/list.h, which gives the prototypes (tests/unit/test.h)
$(UNIT_OBJ): CFLAGS_ALL += -Wmissing-prototypes
DEPS_STAMP := build/.deps-ok

.PHONY: all test check demo bench clean deps fuzz valgrind install uninstall
.SECONDARY:
MAN := $(BUILD)/man/kiroku.1 $(BUILD)/man/kiroku-node.1
all: $(BIN)/kiroku $(BIN)/kiroku-node $(MAN)

# Man pages from the programs' own help text (tools/mkman.sh).
$(BUILD)/man/%.1: $(BIN)/% tools/mkman.sh
	@mkdir -p $(dir $@)
	@bash tools/mkman.sh $* $(BIN)/$* > $@.tmp && mv $@.tmp $@

PREFIX ?= /usr/local
COMPLETIONS := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(COMPLETIONS)
	install -m 755 $(BIN)/kiroku $(BIN)/kiroku-node $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(MAN) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 tools/kiroku-completion.bash $(COMPLETIONS)/kiroku
	ln -sf kiroku $(COMPLETIONS)/kiroku-node

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/kiroku $(DESTDIR)$(PREFIX)/bin/kiroku-node \
	  $(DESTDIR)$(PREFIX)/share/man/man1/kiroku.1 $(DESTDIR)$(PREFIX)/share/man/man1/kiroku-node.1 \
	  $(COMPLETIONS)/kiroku $(COMPLETIONS)/kiroku-node

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/deps.sh
	@mkdir -p $(dir $@)
	@bash tools/deps.sh
	@touch $@

$(GEN_C) $(GEN_H) &: proto/kiroku.proto | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/proto
	protoc-c --proto_path=proto --c_out=$(BUILD)/proto proto/kiroku.proto

# The OpenAPI document (docs/openapi.json) built into the node as a C string.
$(BUILD)/gen/openapi.inc: docs/openapi.json
	@mkdir -p $(dir $@)
	@sed 's/\\/\\\\/g; s/"/\\"/g; s/^/  "/; s/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@
$(BUILD)/node/http/openapi.o: $(BUILD)/gen/openapi.inc

$(BUILD)/proto/kiroku.pb-c.o: $(GEN_C)
	$(CC) $(CFLAGS_ALL) -Wno-unused-parameter -c $< -o $@

$(BUILD)/%.o: %.c $(GEN_H) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libkiroku.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/kiroku: $(CLI_OBJ) $(BUILD)/libkiroku.a
	@mkdir -p $(BIN)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BIN)/kiroku-node: $(BUILD)/node/daemon/kiroku_node.o $(BUILD)/libkiroku.a
	@mkdir -p $(BIN)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/unit: $(UNIT_OBJ) $(BUILD)/libkiroku.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/kkgen: $(BUILD)/tests/tools/kkgen.o $(BUILD)/tests/tools/recgen.o $(BUILD)/libkiroku.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/evilpeer: $(BUILD)/tests/tools/evilpeer.o $(BUILD)/libkiroku.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/forker: $(BUILD)/tests/tools/forker.o $(BUILD)/tests/tools/recgen.o $(BUILD)/libkiroku.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/oldstore: $(BUILD)/tests/tools/oldstore.o $(BUILD)/libkiroku.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench: $(BUILD)/tests/tools/bench.o $(BUILD)/tests/tools/recgen.o $(BUILD)/libkiroku.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/fuzz-replay-%)

# Corpus replay (any compiler): each fuzz target driven by tests/fuzz/replay.c.
$(BUILD)/fuzz-replay-%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libkiroku.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

# libFuzzer binaries (clang): make fuzz [FUZZ_SECONDS=60]
FUZZ_SECONDS ?= 30
$(BUILD)/fuzz-%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libkiroku.a
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) -lpthread

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 BUILD=build/fuzz $(FUZZ_TARGETS:%=build/fuzz/fuzz-%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p tests/fuzz/corpus/$$t build/fuzz/new-$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  build/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=tests/fuzz/corpus/$$t/crash- \
	    build/fuzz/new-$$t tests/fuzz/corpus/$$t 2>&1 | tail -2 || exit 1; \
	  build/fuzz/fuzz-$$t -merge=1 tests/fuzz/corpus/$$t build/fuzz/new-$$t >/dev/null 2>&1; \
	done

TEST_ENV = FUZZ_REPLAY_DIR=$(abspath $(BUILD)) KIROKU_BIN=$(abspath $(BIN)/kiroku) KIROKU_NODE_BIN=$(abspath $(BIN)/kiroku-node) UNIT_BIN=$(abspath $(BUILD)/unit) KKGEN_BIN=$(abspath $(BUILD)/kkgen) EVILPEER_BIN=$(abspath $(BUILD)/evilpeer) FORKER_BIN=$(abspath $(BUILD)/forker) OLDSTORE_BIN=$(abspath $(BUILD)/oldstore)

test: $(BIN)/kiroku $(BIN)/kiroku-node $(BUILD)/unit $(BUILD)/kkgen $(BUILD)/evilpeer $(BUILD)/forker $(BUILD)/oldstore $(FUZZ_REPLAY)
	@$(TEST_ENV) bash tests/run.sh

check:
	@$(MAKE) --no-print-directory SAN=1 BUILD=build/san BIN=build/san/bin test

valgrind: $(BIN)/kiroku $(BIN)/kiroku-node $(BUILD)/evilpeer
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq valgrind >/dev/null; } || true
	@$(TEST_ENV) bash tests/valgrind/run.sh

demo: $(BIN)/kiroku $(BIN)/kiroku-node
	@KIROKU_BIN=$(abspath $(BIN)/kiroku) KIROKU_NODE_BIN=$(abspath $(BIN)/kiroku-node) bash tools/demo.sh

bench: $(BIN)/kiroku $(BIN)/kiroku-node $(BUILD)/unit $(BUILD)/kkgen $(BUILD)/bench
	@$(TEST_ENV) BENCH_BIN=$(abspath $(BUILD)/bench) bash tests/bench.sh

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
