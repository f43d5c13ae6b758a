#!/usr/bin/env bash
# Builds the runbox Python image without any container registry: a Debian
# bookworm root file system made by debootstrap from the Debian mirror,
# imported with `docker import`. The result is equivalent to the Dockerfile
# beside this script (Python 3.11, a non-root user uid 1000, /sandbox as the
# work directory), which is the way to build it where a registry is reachable.
#
#   build-offline-image.sh [--minimal] [--force] [--tag NAME]
#
#   (default)   runbox-python:3.11          python3 + pip + the data-science
#               stack (pandas numpy scipy matplotlib seaborn scikit-learn)
#   --minimal   runbox-python:3.11-minimal  python3 + pip only (tests, CI)
#   --force     rebuild even when the image already exists
#   --tag NAME  another image name
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
# DOCKER (client command, default docker).
# Needs root (debootstrap), debootstrap and a running Docker engine.
set -euo pipefail

flavour=full
force=0
tag=""
while [ $# -gt 0 ]; do
    case "$1" in
    --minimal) flavour=minimal ;;
    --full) flavour=full ;;
    --force) force=1 ;;
    --tag) tag=${2:?--tag needs a name}; shift ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-offline-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ -z "$tag" ]; then
    if [ "$flavour" = minimal ]; then tag=runbox-python:3.11-minimal; else tag=runbox-python:3.11; fi
fi
docker=${DOCKER:-docker}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "$force" = 0 ] && $docker image inspect "$tag" >/dev/null 2>&1; then
    echo "image $tag already exists (use --force to rebuild)" >&2
    exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

packages="python3 python3-pip ca-certificates"
if [ "$flavour" = full ]; then
    packages="$packages python3-pandas python3-numpy python3-scipy python3-matplotlib python3-seaborn python3-sklearn"
fi

root=$(mktemp -d /var/tmp/runbox-image.XXXXXX)
cleanup() {
    # debootstrap may leave /proc or /sys mounted inside the tree on failure.
    for m in proc sys dev/pts dev; do umount -l "$root/$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$root"
}
trap cleanup EXIT

echo "building $tag ($flavour) in $root" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    echo "debootstrap failed (full log: $root.log)" >&2
    exit 1
}
rm -f "$root.log"

# Packages go in through the chroot so that their maintainer scripts run; no
# daemon must start while doing so.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -ec "
    apt-get update -q
    apt-get install -y -q --no-install-recommends $packages
    apt-get clean
    groupadd --gid 1000 runbox
    useradd --uid 1000 --gid 1000 --home-dir /sandbox --no-create-home --shell /bin/sh runbox
    mkdir -p /sandbox
    chown 1000:1000 /sandbox
" >&2
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/usr/share/doc/* "$root"/usr/share/man/*

# docker import takes the same instructions a Dockerfile would give.
tar -C "$root" --numeric-owner -c . | $docker import \
    --change 'USER 1000:1000' \
    --change 'WORKDIR /sandbox' \
    --change 'ENV HOME=/sandbox PYTHONDONTWRITEBYTECODE=1 PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 LANG=C.UTF-8' \
    --change "LABEL org.runbox.image.flavour=$flavour" \
    --change 'CMD ["python3"]' \
    - "$tag" >/dev/null
echo "built $tag" >&2
