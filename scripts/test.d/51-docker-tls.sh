#!/usr/bin/env bash
# The docker suite against a second Docker engine that speaks only TLS on
# 127.0.0.1 (tests/docker/tls_engine.sh: openssl certificates, own data
# and exec roots, own bridge), reached first through DOCKER_HOST +
# DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, then through a docker CLI context
# (DOCKER_CONFIG/config.json currentContext -> contexts/meta, contexts/tls).
set -euo pipefail
t0=$SECONDS
src=$PWD
dir=$(mktemp -d /tmp/runbox-tls-engine.XXXXXX)
port=${RUNBOX_TLS_PORT:-23761}
cleanup() { tests/docker/tls_engine.sh stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
eval "$(tests/docker/tls_engine.sh start "$dir" "$port")"
echo "TLS engine up at $DOCKER_HOST ($((SECONDS - t0)) s)" >&2
(cd "$BUILD_DIR" && RUNBOX_SOURCE_DIR=$src ./tests/docker/test_docker_backend &&
    ./tests/docker/test_docker_owner)

# The same engine as the docker CLI's current context, nothing in the env.
cfg=$dir/cli-config
name=runbox-tls-test
hash=$(printf %s "$name" | sha256sum | cut -d' ' -f1)
mkdir -p "$cfg/contexts/meta/$hash" "$cfg/contexts/tls/$hash/docker"
cp "$DOCKER_CERT_PATH"/{ca,cert,key}.pem "$cfg/contexts/tls/$hash/docker/"
printf '{"Name":"%s","Metadata":{},"Endpoints":{"docker":{"Host":"%s","SkipTLSVerify":false}}}\n' \
    "$name" "$DOCKER_HOST" >"$cfg/contexts/meta/$hash/meta.json"
printf '{"currentContext":"%s"}\n' "$name" >"$cfg/config.json"
# An image only the TLS engine has (pull off): the run can only succeed there.
docker tag runbox-python:3.11-minimal runbox-python:tls-engine-only
ctx_run() {
    env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_CONFIG=$cfg \
        RUNBOX_DOCKER_IMAGE=runbox-python:tls-engine-only RUNBOX_DOCKER_PULL=off \
        "$BUILD_DIR/cli/runbox" run -b docker -t 30 "$@"
}
out=$(ctx_run 'print("via context")')
[ "$out" = "via context" ] || { echo "context run printed: $out" >&2; exit 1; }
echo "context run ok" >&2
# A context whose CA is not the engine's: refused, and the message says why.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=some other CA" \
    -keyout "$dir/other-key.pem" -out "$cfg/contexts/tls/$hash/docker/ca.pem" 2>/dev/null
if err=$(ctx_run 'print(1)' 2>&1); then
    echo "a wrong CA was accepted" >&2; exit 1
fi
case "$err" in *"TLS to Docker"*) echo "wrong CA refused: $err" >&2 ;;
    *) echo "unexpected message: $err" >&2; exit 1 ;; esac
echo "51-docker-tls: $((SECONDS - t0)) s" >&2
