#!/usr/bin/env bash
# A short libFuzzer run of every parser fuzzer under ASan+UBSan (seconds
# each; the seed corpora and saved crashes are also replayed by ctest in
# every build). Longer runs: scripts/fuzz.sh SECONDS.
set -euo pipefail
FUZZ_BUILD_DIR=${BUILD_DIR}-fuzz exec scripts/fuzz.sh "${RUNBOX_FUZZ_SECONDS:-8}"
