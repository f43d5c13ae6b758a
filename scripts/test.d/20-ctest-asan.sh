#!/usr/bin/env bash
# The whole ctest suite under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$BUILD_DIR-asan" && ctest --output-on-failure -j2
