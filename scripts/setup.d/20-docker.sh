# Docker engine for the docker backend and its tests (sourced by
# scripts/setup.sh: set -euo pipefail, cwd = repository root).
# Starts dockerd when its socket does not answer (there is no service
# manager to do it), waits for it, and builds the minimal offline image the
# tests use when it is missing. Quick when everything is already there.
docker_sock=/var/run/docker.sock
docker_ping() {
    curl -fsS --max-time 2 --unix-socket "$docker_sock" http://docker/_ping >/dev/null 2>&1
}
if [ -z "${DOCKER_HOST:-}" ] && ! docker_ping; then
    if ! command -v dockerd >/dev/null; then
        echo "dockerd is missing: apt-get install docker.io" >&2
        exit 1
    fi
    echo "starting dockerd (log: /var/log/runbox-dockerd.log)" >&2
    # setsid: the daemon must outlive this shell and its process group.
    setsid dockerd >/var/log/runbox-dockerd.log 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        docker_ping && break
        sleep 1
    done
    if ! docker_ping; then
        tail -20 /var/log/runbox-dockerd.log >&2
        echo "dockerd did not come up within 60 s" >&2
        exit 1
    fi
fi
backends/docker/image/build-offline-image.sh --minimal
unset -f docker_ping
unset docker_sock
