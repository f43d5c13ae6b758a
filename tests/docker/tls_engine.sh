#!/usr/bin/env bash
# A second Docker engine for the tests, reachable only over TLS on
# 127.0.0.1, with certificates made here by openssl: the real thing that
# DOCKER_HOST=tcp://... with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH talks to.
# It keeps to itself: its own data root, exec root, pid file and config,
# its own bridge (runboxtls0) and no iptables rules, so the main engine is
# not disturbed. (Not --bridge=none: dockerd then deletes the docker0 link
# that the main engine's containers need.)
#   tls_engine.sh start DIR PORT   certificates, dockerd, the test image;
#                                  prints the env to use (eval it)
#   tls_engine.sh stop DIR         stops that dockerd (by its pid file)
set -euo pipefail
cmd=$1 dir=$2
image=${RUNBOX_DOCKER_IMAGE:-runbox-python:3.11-minimal}
if [ "$cmd" = stop ]; then
    if [ -f "$dir/dockerd.pid" ]; then
        pid=$(cat "$dir/dockerd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$dir/dockerd.pid"
    fi
    ip link delete runboxtls0 2>/dev/null || true
    # dockerd leaves its roots mounted (the data root is a bind mount).
    { findmnt -rn -o TARGET | grep "^$dir/" || true; } | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    exit 0
fi
port=$3
mkdir -p "$dir/client" "$dir/server"
cd "$dir"
if [ ! -f client/key.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=runbox test CA" \
        -keyout ca-key.pem -out client/ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout server/key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA client/ca.pem -CAkey ca-key.pem -CAcreateserial \
        -days 2 -extfile server.ext -out server/cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=runbox test client" \
        -keyout client/key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA client/ca.pem -CAkey ca-key.pem -CAcreateserial \
        -days 2 -extfile client.ext -out client/cert.pem 2>/dev/null
fi
echo '{}' >daemon.json
export DOCKER_HOST=tcp://127.0.0.1:$port DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$dir/client
if ! docker version >/dev/null 2>&1; then
    if ! ip link show runboxtls0 >/dev/null 2>&1; then
        ip link add runboxtls0 type bridge
        ip addr add 10.213.0.1/24 dev runboxtls0
        ip link set runboxtls0 up
    fi
    # setsid: the engine outlives this script; stop it with `stop`.
    setsid dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" \
        --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
        -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$dir/client/ca.pem" \
        --tlscert "$dir/server/cert.pem" --tlskey "$dir/server/key.pem" \
        --bridge=runboxtls0 --iptables=false --ip-masq=false \
        --cgroup-parent=runbox-tls-engine >"$dir/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
    docker version >/dev/null 2>&1 || { tail -20 "$dir/dockerd.log" >&2; exit 1; }
fi
if ! docker image inspect "$image" >/dev/null 2>&1; then
    DOCKER_HOST=unix:///var/run/docker.sock DOCKER_TLS_VERIFY= docker save "$image" | docker load >/dev/null
fi
echo "export DOCKER_HOST=$DOCKER_HOST DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$DOCKER_CERT_PATH"
