#!/usr/bin/env bash
# The docker suite (test_docker_backend, _escapes, _owner; rootful also
# the resident interpreter's test_interp_session) against Podman's Docker-compatible service
# (tests/docker/podman_engine.sh: Debian's podman 4.3 with its own storage,
# socket and containers.conf, the test image loaded from dockerd):
# 1. rootful, the suite run as root;
# 2. rootless, the service and the suite both run by a freshly created
#    normal user, as a rootless user runs runbox: on this cgroup v1 machine
#    the engine sets no memory, pids or CPU limit, and the suite asserts
#    that runbox refuses those limits and claims none of them.
# Then a one-shot run through the CLI on each, and dockerd is checked to
# still run containers (with its bridge network) after Podman's.
#
# The clone may sit under a folder a normal user cannot enter (/root/...),
# so the rootless part runs copies of the test binaries from a
# world-readable scratch folder (librunbox through LD_LIBRARY_PATH).
set -euo pipefail
t0=$SECONDS
src=$PWD
build=$(cd "$BUILD_DIR" && pwd)
user=runbox-podman
rootful=$(mktemp -d /tmp/runbox-podman.XXXXXX)
rootless=$(mktemp -d /tmp/runbox-podman-rootless.XXXXXX)
copy=$(mktemp -d /tmp/runbox-podman-bin.XXXXXX)
cleanup() {
    "$src/tests/docker/podman_engine.sh" stop "$rootful" || true
    "$src/tests/docker/podman_engine.sh" stop "$rootless" || true
    rm -rf "$rootful" "$rootless" "$copy"
}
trap cleanup EXIT
failed=0
step() {
    echo "-- $1" >&2
    shift
    if ! "$@"; then
        echo "-- FAILED: $*" >&2
        failed=1
    fi
}
one_shot() { # the CLI's one-shot run prints what the code printed
    local out
    out=$("$@" run -b docker -t 30 'print("via podman")')
    [ "$out" = "via podman" ] || { echo "CLI run printed: $out" >&2; return 1; }
}

# 1. rootful
env=$(tests/docker/podman_engine.sh start "$rootful")
eval "$env"
echo "rootful Podman up at $DOCKER_HOST ($((SECONDS - t0)) s)" >&2
step "rootful: test_docker_backend" env RUNBOX_SOURCE_DIR="$src" "$build/tests/docker/test_docker_backend"
step "rootful: test_docker_escapes" env RUNBOX_SOURCE_DIR="$src" "$build/tests/docker/test_docker_escapes"
step "rootful: test_docker_owner" "$build/tests/docker/test_docker_owner"
step "rootful: test_interp_session docker" "$build/tests/interp/test_interp_session" docker
step "rootful: CLI one-shot" one_shot "$build/cli/runbox"
tests/docker/podman_engine.sh stop "$rootful"
echo "rootful done ($((SECONDS - t0)) s)" >&2

# 2. rootless
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
env=$(tests/docker/podman_engine.sh start "$rootless" "$user")
eval "$env"
echo "rootless Podman up at $DOCKER_HOST ($((SECONDS - t0)) s)" >&2
mkdir -p "$copy"/build/{cli,core,backends,tests/docker} "$copy"/src/tests/docker
cp "$build/cli/runbox" "$copy/build/cli/"
cp -P "$build"/core/librunbox.so* "$copy/build/core/"
find "$build/backends" -maxdepth 1 -type f -name '*.so' -exec cp {} "$copy/build/backends/" \;
cp "$build"/tests/docker/test_docker_backend "$build"/tests/docker/test_docker_escapes \
   "$build"/tests/docker/test_docker_owner "$copy/build/tests/docker/"
cp "$src/tests/docker/docker_tcp_proxy.py" "$copy/src/tests/docker/"
chmod -R a+rX "$copy"
as_user() {
    (cd /tmp && runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
        HOME="$(getent passwd "$user" | cut -d: -f6)" CI="${CI:-}" TMPDIR=/tmp \
        LD_LIBRARY_PATH="$copy/build/core" RUNBOX_BACKEND_PATH="$copy/build/backends" \
        RUNBOX_SOURCE_DIR="$copy/src" DOCKER_HOST="$DOCKER_HOST" \
        RUNBOX_DOCKER_IMAGE="$RUNBOX_DOCKER_IMAGE" RUNBOX_DOCKER_PULL=off "$@")
}
step "rootless, as $user: test_docker_backend" as_user "$copy/build/tests/docker/test_docker_backend"
step "rootless, as $user: test_docker_escapes" as_user "$copy/build/tests/docker/test_docker_escapes"
step "rootless, as $user: test_docker_owner" as_user "$copy/build/tests/docker/test_docker_owner"
step "rootless, as $user: CLI one-shot" one_shot as_user "$copy/build/cli/runbox"
tests/docker/podman_engine.sh stop "$rootless"
echo "rootless done ($((SECONDS - t0)) s)" >&2

# dockerd is undisturbed: a container on its bridge still gets its network.
step "dockerd after Podman" env -u DOCKER_HOST docker run --rm --network bridge \
    runbox-python:3.11-minimal python3 -c \
    'import os; n = sorted(os.listdir("/sys/class/net")); print(n); assert "eth0" in n'
echo "52-docker-podman: $((SECONDS - t0)) s" >&2
exit $failed
