# storefort — the two everyday commands are `make run` and `make test`.
BUILD      ?= build
TEST_BUILD ?= build-test
MESON_OPTS ?=

.PHONY: all deps build run test bench crs fuzz clean distclean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Dtests=false $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Build, initialise var/dev with the demo catalog when it is missing, serve.
run: build
	@scripts/run-dev $(BUILD)/src/cli/storefort

$(TEST_BUILD)/build.ninja:
	meson setup $(TEST_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

# Everything under AddressSanitizer + UBSan; the last line is "N passed, N failed".
test: deps $(TEST_BUILD)/build.ninja
	ninja -C $(TEST_BUILD)
	@python3 tests/run_all.py --build $(TEST_BUILD)

bench: build
	@bench/run $(BUILD)/src/cli/storefort

# The OWASP CRS v3.3.4 regression suite (../shared/tools/crs-regress) against storefort in
# detect mode at paranoia 4; CRS_TESTS=DIR runs another folder of the same format.
CRS_TESTS ?= $(abspath $(CURDIR)/../shared/testdata/crs-regression)
crs: build
	@python3 tests/crs/run.py --binary $(BUILD)/src/cli/storefort --tests $(CRS_TESTS) \
		--tool $(abspath $(CURDIR)/../shared/tools/crs-regress)

# Coverage-guided fuzzing of every parser with libFuzzer (clang), FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps --fuzz
	test -f build-fuzz/build.ninja || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-fuzz
	@for t in csv query tmpl http unseal xff multipart proxy; do \
		mkdir -p build-fuzz/corpus-$$t; \
		echo "== fuzz_$$t ($(FUZZ_SECONDS)s)"; \
		build-fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build-fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(TEST_BUILD)

distclean: clean
	rm -rf var build-fuzz
