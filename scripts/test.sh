#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root), builds runbox twice (normal and
# ASan+UBSan) and runs the whole test suite in both builds. Each test starts
# the servers it needs; the Docker engine is started by the setup.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
RUNBOX_SANITIZE=1 scripts/setup.sh
status=0
echo "== tests (build: $BUILD_DIR)" >&2
(cd "$BUILD_DIR" && ctest --output-on-failure -j2) || status=1
echo "== tests under AddressSanitizer and UndefinedBehaviorSanitizer (build: $BUILD_DIR-asan)" >&2
(cd "$BUILD_DIR-asan" && ctest --output-on-failure -j2) || status=1
exit $status
