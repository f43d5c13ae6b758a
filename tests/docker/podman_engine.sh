#!/usr/bin/env bash
# Podman's Docker-compatible API service for the tests (Debian's podman
# 4.3): the real thing that runbox's docker backend talks to when
# DOCKER_HOST points at `podman system service`. Rootful (as root) or
# rootless (as a normal user, in a user namespace with its subuid range).
# It keeps to itself: its own storage, run root, containers.conf, events
# log and socket under DIR, so the running dockerd is not disturbed.
#   podman_engine.sh start DIR [USER]  the service (as USER: rootless) and
#                                      the test image, loaded from dockerd;
#                                      prints the env to use (eval it)
#   podman_engine.sh stop DIR          removes its containers, stops it
#
# What podman 4.3 needs here (cgroup v1, no systemd): cgroup_manager =
# cgroupfs and events_logger = file. And explicit default_ulimits: Podman
# gives every container nofile/nproc limits (1048576/32768 by default),
# which the runtime cannot set when they exceed the service's own hard
# limits and the engine has no CAP_SYS_RESOURCE (root on this machine has
# none; rootless never has it), so the defaults are the service's limits.
set -euo pipefail
cmd=$1 dir=$(realpath -m "$2")
image=${RUNBOX_DOCKER_IMAGE_SOURCE:-runbox-python:3.11-minimal}
# The command line that runs podman as the service's owner with its storage.
podman_argv() {
    if [ -f "$dir/user" ]; then
        local u home
        u=$(cat "$dir/user")
        home=$(getent passwd "$u" | cut -d: -f6)
        argv=(runuser -u "$u" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home"
              XDG_RUNTIME_DIR="$dir/xdg" XDG_CONFIG_HOME="$dir/config"
              XDG_DATA_HOME="$dir/data" CONTAINERS_CONF="$dir/containers.conf" podman)
    else
        argv=(env CONTAINERS_CONF="$dir/containers.conf" podman --root "$dir/root"
              --runroot "$dir/run")
    fi
}
podman_cmd() { podman_argv; "${argv[@]}" "$@"; }
if [ "$cmd" = stop ]; then
    if [ -f "$dir/containers.conf" ]; then
        podman_cmd rm -af -t 0 >/dev/null 2>&1 || true
        podman_cmd volume prune -f >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/service.pid" ]; then
        # Its process group: runuser and the podman under it (setsid).
        pid=$(cat "$dir/service.pid")
        kill -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$dir/service.pid"
    fi
    # What the service left running on its own, each naming this folder on
    # its command line: exec monitors (conmon lingers after an exec) and
    # the `podman container cleanup` conmon starts when a container ends,
    # which mounts the storage again: wait until none of them is left.
    for _ in $(seq 1 50); do
        pids=$(ps -eo pid=,args= | awk -v d="$dir/" 'index($0, d) && !/awk/ { print $1 }')
        [ -n "$pids" ] || break
        kill $pids 2>/dev/null || true
        sleep 0.2
    done
    # Rootless storage holds files of the user's subordinate ids: removed
    # inside the user namespace, before its pause process goes (podman
    # unshare would start a new one).
    [ -f "$dir/user" ] && [ -f "$dir/containers.conf" ] &&
        podman_cmd unshare rm -rf "$dir/data/containers" 2>/dev/null || true
    for f in "$dir/tmp/pause.pid" "$dir/xdg/libpod/tmp/pause.pid"; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
    done
    { findmnt -rn -o TARGET | grep "^$dir/" || true; } | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    exit 0
fi

user=${3:-}
mkdir -p "$dir"
chmod 755 "$dir"
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
# podman lowers its own nproc to 32768 when it may.
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
runtime = "runc"
tmp_dir = "$dir/tmp"
[network]
network_config_dir = "$dir/networks"
EOF
if [ -n "$user" ]; then
    echo "$user" >"$dir/user"
    uid=$(id -u "$user")
    # A range of subordinate ids for the user namespace (newuidmap), past
    # every range already given out (useradd gives one where login.defs
    # says so).
    for f in /etc/subuid /etc/subgid; do
        touch "$f"
        if ! grep -q "^$user:" "$f"; then
            start=$(awk -F: 'BEGIN { m = 100000 } { if ($2 + $3 > m) m = $2 + $3 } END { print m }' "$f")
            echo "$user:$start:65536" >>"$f"
        fi
    done
    mkdir -p "$dir/xdg" "$dir/config" "$dir/data" "$dir/tmp" "$dir/networks"
    chown "$user" "$dir" "$dir/xdg" "$dir/config" "$dir/data" "$dir/tmp" "$dir/networks"
    chmod 700 "$dir/xdg"
    # slirp4netns (network = on) opens /dev/net/tun as the user: 0666 as
    # udev makes it on a normal Debian system (this machine has no udev).
    [ -c /dev/net/tun ] && chmod 666 /dev/net/tun
    # Without it, rootless podman here falls back to vfs, which copies the
    # whole image for every container; the kernel has native overlay for
    # user namespaces.
    mkdir -p "$dir/config/containers"
    printf '[storage]\ndriver = "overlay"\n' >"$dir/config/containers/storage.conf"
    chown -R "$user" "$dir/config"
    sock=$dir/xdg/podman.sock
else
    mkdir -p "$dir/tmp" "$dir/networks"
    sock=$dir/podman.sock
fi
podman_argv
up() { curl -fsS --max-time 2 --unix-socket "$sock" http://podman/_ping >/dev/null 2>&1; }
if ! up; then
    # setsid: the service outlives this script; stop it with `stop`. In
    # DIR: conmon writes an "oom" file into its working directory after an
    # out-of-memory kill (Podman 4.3 never reads it).
    cd "$dir"
    setsid "${argv[@]}" system service -t 0 "unix://$sock" >"$dir/service.log" 2>&1 </dev/null &
    echo $! >"$dir/service.pid"
    for _ in $(seq 1 60); do up && break; sleep 0.5; done
    up || { tail -20 "$dir/service.log" >&2; exit 1; }
fi
if ! podman_cmd image exists "localhost/$image"; then
    # From the main dockerd, whatever engine DOCKER_HOST names now.
    env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST=unix:///var/run/docker.sock \
        docker save "$image" | podman_cmd load -q >/dev/null
fi
echo "export DOCKER_HOST=unix://$sock RUNBOX_DOCKER_IMAGE=localhost/$image RUNBOX_DOCKER_PULL=off"
