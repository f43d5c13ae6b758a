#!/usr/bin/env bash
# The docker suite on gVisor (runtime = runsc, registered by
# scripts/setup.d/21-docker-runtimes.sh): every backend test that gVisor
# can pass here (the ones it cannot say why and are skipped), and every
# isolation attack of test_docker_escapes. Asserts the kernel gVisor
# reports (4.4.0).
set -euo pipefail
t0=$SECONDS
src=$PWD
cd "$BUILD_DIR"
export RUNBOX_DOCKER_RUNTIME=runsc RUNBOX_SOURCE_DIR=$src
./tests/docker/test_docker_backend
./tests/docker/test_docker_escapes
./tests/docker/test_docker_owner
echo "50-docker-gvisor: $((SECONDS - t0)) s" >&2
