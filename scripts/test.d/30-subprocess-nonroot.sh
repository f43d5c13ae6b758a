#!/usr/bin/env bash
# The subprocess sandbox as a normal user: the same attack tests as under
# root (tests/subprocess), the command-line checks and compare's posture
# rows, run by a freshly created unprivileged account. Without root there
# is no per-sandbox host uid and no cgroup; the tests assert what holds
# then (private namespaces, memory not claimed).
#
# The clone may sit under a folder a normal user cannot enter (/root/...),
# so the pieces the tests need are copied to a world-readable scratch
# folder first, in the same layout, where the command's RUNPATH and its
# private-library folders (both relative to its file) find them; the
# tests find librunbox there through LD_LIBRARY_PATH (their build RUNPATH
# names the original tree).
set -euo pipefail
t0=$SECONDS
user=runbox-nonroot
if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
src=$(pwd)
build=$(cd "$BUILD_DIR" && pwd)
dst=$(mktemp -d /tmp/runbox-nonroot.XXXXXX)
trap 'rm -rf "$dst"' EXIT
mkdir -p "$dst"/build/{cli,core,mcp,backends,tests/subprocess} "$dst"/src/tests/{subprocess,compare} "$dst/work"
cp "$build/cli/runbox" "$dst/build/cli/"
cp -P "$build"/core/librunbox.so* "$dst/build/core/"
cp -P "$build"/mcp/librunbox-mcp.so* "$dst/build/mcp/" # `runbox mcp` loads it from ../mcp
find "$build/backends" -maxdepth 1 -type f -exec cp {} "$dst/build/backends/" \;
cp "$build"/tests/subprocess/test_subprocess "$build"/tests/subprocess/test_sandbox_attacks \
   "$build"/tests/subprocess/test_sandbox_api \
   "$dst/build/tests/subprocess/"
cp "$src"/tests/subprocess/*.py "$dst/src/tests/subprocess/"
cp "$src"/tests/compare/test_compare.py "$dst/src/tests/compare/"
chmod -R a+rX "$dst"
chmod 755 "$dst"
chown "$user" "$dst/work"

as_user() {
  runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$user" \
    CI="${CI:-}" TMPDIR=/tmp LD_LIBRARY_PATH="$dst/build/core" \
    RUNBOX_CLI="$dst/build/cli/runbox" RUNBOX_BACKEND_PATH="$dst/build/backends" \
    RUNBOX_SOURCE_DIR="$dst/src" RUNBOX_BINARY_DIR="$dst/build" \
    bash -c "cd '$dst/work' && $*"
}

failed=0
step() {
  echo "-- as $user: $*" >&2
  if ! as_user "$@"; then
    echo "-- FAILED as $user: $*" >&2
    failed=1
  fi
}
step "$dst/build/tests/subprocess/test_sandbox_attacks"
step "$dst/build/tests/subprocess/test_subprocess"
step "$dst/build/tests/subprocess/test_sandbox_api"
step python3 "$dst/src/tests/subprocess/test_cli_sandbox.py" json_forgery
step python3 "$dst/src/tests/subprocess/test_cli_sandbox.py" mcp_killed
step python3 "$dst/src/tests/compare/test_compare.py" subprocess_namespaces
step python3 "$dst/src/tests/compare/test_compare.py" subprocess_no_isolation
echo "30-subprocess-nonroot: $((SECONDS - t0)) s" >&2
exit $failed
