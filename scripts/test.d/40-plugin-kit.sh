#!/usr/bin/env bash
# The plugin kit as a third party uses it: install runbox into a scratch
# prefix, build examples/backend-template out of tree against it
# (find_package(runbox), runbox::headers + runbox::kit), and run the
# conformance kit, `runbox check`, on the template and on every built-in
# backend usable here: subprocess, docker (the test image) and e2b (against
# tests/e2b/e2b_test_server.py). Every check of every backend must pass.
set -euo pipefail
t0=$SECONDS
src=$(pwd)
build=$(cd "$BUILD_DIR" && pwd)
work=$(mktemp -d /tmp/runbox-plugin-kit.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# As a real prefix: the sandbox's init runs as another user, who must reach it.
chmod 755 "$work"

cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/backend-template" -B "$work/template" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/template" >/dev/null
cmake --install "$work/template" >/dev/null # into the prefix's backenddir

runbox=$work/prefix/bin/runbox
unset RUNBOX_BACKEND_PATH
failed=0
check() { # NAME [ENV...] [-- OPTIONS]
  local name=$1 opts=()
  shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift && opts=("$@")
  echo "== runbox check $name ${opts[*]:-}"
  if ! env "${envs[@]}" "$runbox" check "$name" "${opts[@]}"; then
    echo "runbox check $name: FAILED" >&2
    failed=1
  fi
}

# The installed template is found by name, like any installed backend.
check template
check subprocess
check docker RUNBOX_DOCKER_IMAGE=runbox-python:3.11-minimal

python3 "$src/tests/e2b/e2b_test_server.py" --api-key k --port-file "$work/ports" \
  >/dev/null 2>"$work/e2b.log" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/ports" ] && break; sleep 0.1; done
api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_port"])' "$work/ports")
sbx=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandbox_port"])' "$work/ports")
# The test server speaks E2B's protocol but runs the code on this host: the
# isolation claims are the cloud's, not checkable here.
check e2b E2B_API_KEY=k E2B_API_URL="http://127.0.0.1:$api" \
  E2B_SANDBOX_URL="http://127.0.0.1:$sbx" -- --skip-isolation

echo "plugin kit stage: $((SECONDS - t0)) s"
exit $failed
