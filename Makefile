# weft - one `make` builds build/weft; see README.md for the tour.
# Objects live out of tree under $(BUILD); `make asan` rebuilds everything under
# build/asan with AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite.

BUILD   ?= build
CC      ?= cc
PKGS    := libmicrohttpd jansson yaml-0.1 sqlite3 libzip libcurl libcrypto libpcre2-8 libprotobuf-c openblas
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS  ?= -O2 -g
override CFLAGS += $(EXTRA_CFLAGS)
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -I$(BUILD)/gen -pthread \
           -DWEFT_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS))
override LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm -pthread
ifeq ($(SAN),1)
override CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

LIB_DIRS := util manifest store auth trainer lcm exec tds serve api
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c))
CLI_SRC  := $(wildcard src/cli/*.c) src/main.c
# proto/*.proto: our own protobuf schemas (the fields weft reads), compiled by protoc-c
PROTO    := $(wildcard proto/*.proto)
PROTO_C  := $(PROTO:proto/%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_H  := $(PROTO_C:.c=.h)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/openapi.o $(PROTO_C:.c=.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all setup test test-only asan bench demo fuzz clean examples
all: $(BUILD)/weft

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# docs/openapi.json is served at /v1/openapi.json: embedded as a byte array
$(BUILD)/gen/openapi.c: docs/openapi.json
	@mkdir -p $(dir $@)
	@{ echo '/* generated from docs/openapi.json by the Makefile: do not edit */'; \
	  echo '#include <stddef.h>'; echo 'const unsigned char openapi_json[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; echo 'const size_t openapi_json_len = sizeof openapi_json;'; } > $@

$(BUILD)/gen/openapi.o: $(BUILD)/gen/openapi.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) $(CFLAGS) -c $< -o $@

# every object may include a generated header
$(LIB_SRC:%.c=$(BUILD)/%.o) $(CLI_OBJ) $(UNIT_BIN): | $(PROTO_H)

$(BUILD)/libweft.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/weft: $(CLI_OBJ) $(BUILD)/libweft.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libweft.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libweft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka) $(LDFLAGS) -o $@ $< $(BUILD)/libweft.a $(LDLIBS) $(shell pkg-config --libs cmocka)

setup:
	@scripts/setup.sh

# `make test`: install what is missing, build, run every test; ends with "N passed, N failed".
test: setup
	@$(MAKE) --no-print-directory test-only

test-only: $(BUILD)/weft $(UNIT_BIN)
	@WEFT_BIN=$(abspath $(BUILD)/weft) UNIT_DIR=$(abspath $(BUILD)/tests) tests/run.sh

asan: setup
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 test-only

bench: $(BUILD)/weft
	@WEFT_BENCH=1 scripts/setup.sh
	@WEFT_BIN=$(abspath $(BUILD)/weft) bench/run.sh

demo: setup $(BUILD)/weft
	@WEFT_BIN=$(abspath $(BUILD)/weft) scripts/demo.sh

FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
fuzz: setup
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang CFLAGS="-O1 -g" \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build/fuzz/libweft.a
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -O1 -g -std=c11 -D_GNU_SOURCE -Isrc -Ibuild/fuzz/gen $$(pkg-config --cflags $(PKGS)) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o build/fuzz/$$n $$f build/fuzz/libweft.a $$(pkg-config --libs $(PKGS)) -pthread || exit 1; \
	  mkdir -p build/fuzz/corpus-$$n; \
	  build/fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-20} -artifact_prefix=build/fuzz/$$n- \
	    build/fuzz/corpus-$$n fuzz/corpus/$$n >build/fuzz/$$n.log 2>&1; rc=$$?; tail -3 build/fuzz/$$n.log; \
	  [ $$rc = 0 ] || { echo "fuzz: $$n found a crash (build/fuzz/$$n.log)"; grep -m 5 -E 'ERROR|runtime error' build/fuzz/$$n.log; exit 1; }; \
	done

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
