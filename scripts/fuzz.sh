#!/usr/bin/env bash
# Run jobq's libFuzzer targets (tests/fuzz/fuzz-<name>.c), one after the other, each for
# SECONDS on a fresh copy of its seed corpus (tests/fuzz/corpus/<name>/ is never written), and
# print a table: executions, executions per second, coverage (seeds -> final), crashes.
# Exits 1 if a target found a crash, a leak, undefined behaviour or a hang; the input that did
# it is kept under BUILD/fuzz-out/<name>/ (see docs/fuzzing.md).
# Usage: scripts/fuzz.sh [BUILD [SECONDS [TARGET...]]]   (make fuzz: BUILD=build-fuzz, 60 s)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-fuzz}
seconds=${2:-60}
shift $(($# < 2 ? $# : 2))
targets=${*:-config jsonl placeholders durations report headers}

case "$seconds" in
'' | *[!0-9]* | 0) echo "fuzz: SECONDS must be a positive number, got '$seconds'" >&2; exit 64 ;;
esac
cd "$src"
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_lundef=false -Dtests=false \
		-Dbuildtype=debugoptimized >/dev/null
fi
if ! ninja -C "$build" >"$build/fuzz-ninja.log" 2>&1; then
	cat "$build/fuzz-ninja.log" >&2
	exit 1
fi

# UBSan stops at the first finding (-fno-sanitize-recover); ASan's leak check is on by default.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
out="$build/fuzz-out"
rows=""
failed=0
for t in $targets; do
	exe="$build/tests/fuzz/fuzz-$t"
	if [ ! -x "$exe" ] || [ ! -d "tests/fuzz/corpus/$t" ]; then
		echo "fuzz: no target '$t' (tests/fuzz/fuzz-$t.c and tests/fuzz/corpus/$t/)" >&2
		exit 64
	fi
	rm -rf "${out:?}/$t"
	mkdir -p "$out/$t/crashes"
	cp -r "tests/fuzz/corpus/$t" "$out/$t/corpus"
	echo "fuzz: $t for ${seconds}s (log: $out/$t/log)" >&2
	rc=0
	"$exe" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/$t/crashes/" "$out/$t/corpus" >"$out/$t/log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t/log" | tail -n 1)
	cov0=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$out/$t/log" | head -n 1)
	cov1=$(sed -n 's/.* cov: \([0-9]*\) ft:.*/\1/p' "$out/$t/log" | tail -n 1)
	crashes=$(find "$out/$t/crashes" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
		failed=1
		[ "$crashes" -gt 0 ] || crashes="exit $rc"
		echo "fuzz: $t FAILED; the input is in $out/$t/crashes/, the report in $out/$t/log:" >&2
		grep -m 3 -E "ERROR|runtime error|property broken|SUMMARY" "$out/$t/log" >&2 || true
	fi
	rows="$rows$(printf '%-14s %12s %10s %16s %8s' "$t" "${execs:-?}" "${rate:-?}" \
		"${cov0:-?} -> ${cov1:-?}" "$crashes")
"
done
printf '%-14s %12s %10s %16s %8s\n' target executions exec/s "cov (seeds->end)" crashes
printf '%s' "$rows"
exit "$failed"
