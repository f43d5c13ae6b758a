#!/usr/bin/env bash
# The whole ctest suite in the normal build.
set -euo pipefail
cd "$BUILD_DIR" && ctest --output-on-failure -j2
