# A thin wrapper over meson: meson is the build.
BUILD ?= build
MESON_OPTS ?=

.PHONY: all deps test demo install clean asan bench fuzz

all: $(BUILD)/build.ninja
	meson compile -C $(BUILD)

deps:
	@scripts/deps.sh all

$(BUILD)/build.ninja:
	@scripts/deps.sh all
	meson setup $(BUILD) $(MESON_OPTS)

# The suite runs against a throwaway PostgreSQL cluster too (tests/pg/with-cluster.sh starts it
# around meson and removes it afterwards): suite pg, the e2e scripts again as pg/<name>.
test: all
	meson setup --reconfigure $(BUILD) >/dev/null
	tests/pg/with-cluster.sh meson test -C $(BUILD) --print-errorlogs --num-processes 2

demo: all
	@scripts/deps.sh all
	bash contrib/demo.sh $(BUILD)/cli/jobq

asan:
	@scripts/deps.sh all
	[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
	meson compile -C build-asan
	tests/pg/with-cluster.sh meson test -C build-asan --print-errorlogs --num-processes 2

bench: all
	bash bench/run.sh $(BUILD)
	bash bench/durability.sh $(BUILD)
	bash bench/supervisor.sh $(BUILD)
	bash bench/http.sh $(BUILD)
	bash bench/rates.sh $(BUILD)
	bash bench/peers.sh $(BUILD)
	bash bench/submit.sh $(BUILD)
	bash bench/drain.sh $(BUILD)

# libFuzzer targets (tests/fuzz/), FUZZ_SECONDS each, with clang, ASan and UBSan in build-fuzz/;
# FUZZ_TARGETS picks some (config jsonl placeholders durations report headers). docs/fuzzing.md.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	@scripts/deps.sh fuzz
	bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
