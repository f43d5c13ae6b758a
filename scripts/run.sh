#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root): installs the packages, starts
# the Docker engine, builds runbox and the docker backend's default image
# (the guide's data-science stack, from Debian packages: no registry
# needed), then runs the main job: `runbox compare`, the backend comparison
# table measured on this machine. Arguments go to `runbox compare`
# (e.g. --format markdown, --plot latency.png).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh
backends/docker/image/build-offline-image.sh
exec "$BUILD_DIR/cli/runbox" compare "$@"
