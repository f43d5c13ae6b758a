#!/usr/bin/env bash
# Builds runbox's libFuzzer fuzzers (clang, ASan+UBSan, -DRUNBOX_FUZZ=ON in
# build-fuzz) and runs each for SECONDS (default 60), one after another,
# from a working copy of its seed corpus in tests/fuzz/corpus/NAME.
#   scripts/fuzz.sh [SECONDS] [NAME...]
# Prints the executions per fuzzer. A crash stops that fuzzer, its input is
# kept in build-fuzz/artifacts/NAME/ and the script fails: copy the input
# into tests/fuzz/corpus/NAME/ (named crash-WHAT) after fixing the bug, so
# the replay test in every build keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
dir=$(realpath -m "${FUZZ_BUILD_DIR:-build-fuzz}") # absolute: fuzzers change directory
log=$dir.log
if ! { CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DRUNBOX_FUZZ=ON \
         -DRUNBOX_BUILD_TESTS=OFF &&
       cmake --build "$dir" --target fuzzers -j"$(nproc)"; } >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "fuzz build failed; full log: $log" >&2
  exit 1
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$dir"/tests/fuzz/fuzz_*; do names+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=""
for name in "${names[@]}"; do
  exe=$dir/tests/fuzz/fuzz_$name
  work=$dir/corpus/$name
  artifacts=$dir/artifacts/$name
  mkdir -p "$work" "$artifacts"
  cp -n "$PWD"/tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  out=$dir/fuzz-$name.log
  rc=0
  "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$artifacts/" \
      "$work" >"$out" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|property failed|SUMMARY|Test unit written' "$out" | head -10 >&2
    echo "fuzz $name: FAILED after ${execs:-?} executions (log $out, input in $artifacts/)" >&2
    failed="$failed $name"
  else
    echo "fuzz $name: ${execs:-?} executions in ${seconds} s, no failure" >&2
  fi
done
if [ -n "$failed" ]; then
  echo "fuzzers that found a failure:$failed" >&2
  exit 1
fi
