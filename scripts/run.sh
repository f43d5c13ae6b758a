#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root): installs the packages, starts
# the Docker engine, builds runbox, then runs the main job: `runbox
# compare`, the backend comparison table measured on this machine.
# Arguments are passed to `runbox compare` (e.g. --format markdown).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh
exec "$BUILD_DIR/cli/runbox" compare "$@"
