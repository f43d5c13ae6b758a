#!/usr/bin/env bash
# Installs what runbox needs on a fresh Debian machine (as root) and builds
# it. Every part of the setup lives in scripts/setup.d/NN-name.sh, run in
# order; each is idempotent and quick when there is nothing to do.
#   BUILD_DIR   build tree (default: build)
#   RUNBOX_SANITIZE=1  also build build-asan with ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
for part in scripts/setup.d/*.sh; do
  echo "== setup: $(basename "$part")" >&2
  # shellcheck source=/dev/null
  . "$part"
done
