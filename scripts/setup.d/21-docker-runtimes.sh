# gVisor for the docker backend's runtime = runsc (sourced by
# scripts/setup.sh: set -euo pipefail, cwd = repository root).
# Registers Debian's runsc with the running dockerd in
# /etc/docker/daemon.json "runtimes" (keeping whatever else is there) and
# makes dockerd reload it with SIGHUP: the engine is shared and is never
# restarted. Two entries: "runsc" (gVisor's own network stack, for
# network = on) and "runsc-nonet" (--network=none: no network stack at
# all), which runbox uses for network-off sandboxes when it is there.
# Quick when both are registered already.
runsc_path=$(command -v runsc || true)
if [ -z "$runsc_path" ]; then
    echo "runsc is missing: apt-get install runsc" >&2
    exit 1
fi
mkdir -p /etc/docker
python3 - "$runsc_path" <<'PY'
import json, os, sys
path = "/etc/docker/daemon.json"
try:
    with open(path) as f:
        conf = json.load(f)
except FileNotFoundError:
    conf = {}
want = {"runsc": {"path": sys.argv[1]},
        "runsc-nonet": {"path": sys.argv[1], "runtimeArgs": ["--network=none"]}}
have = conf.setdefault("runtimes", {})
if any(have.get(k) != v for k, v in want.items()):
    have.update(want)
    tmp = path + ".runbox-tmp"
    with open(tmp, "w") as f:
        json.dump(conf, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
PY
runtimes_ok() {
    curl -fsS --max-time 5 --unix-socket /var/run/docker.sock http://docker/info |
        python3 -c 'import json,sys; r = json.load(sys.stdin)["Runtimes"]; sys.exit(not ("runsc" in r and "runsc-nonet" in r))'
}
if [ -z "${DOCKER_HOST:-}" ] && ! runtimes_ok; then
    kill -HUP "$(cat /var/run/docker.pid 2>/dev/null || pidof dockerd)"
    for _ in $(seq 1 20); do
        runtimes_ok && break
        sleep 0.5
    done
    runtimes_ok || { echo "dockerd did not load the runsc runtime" >&2; exit 1; }
fi
unset -f runtimes_ok
unset runsc_path
