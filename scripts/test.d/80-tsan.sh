#!/usr/bin/env bash
# ThreadSanitizer: many threads running one-shot runs, sessions and a warm
# pool through one context, and opening contexts at once, on every backend
# (e2b against its test server). Any data race fails the stage. Leaks of
# the same program are checked by ASan in the ctest stages. gcc, whose
# shared libtsan also serves the backend modules (linked --no-undefined).
set -euo pipefail
root=$(pwd)
dir=${BUILD_DIR}-tsan
log=$dir.log
t0=$SECONDS
if ! { CC=gcc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DRUNBOX_TSAN=ON \
         -DRUNBOX_BUILD_TESTS=ON &&
       cmake --build "$dir" -j2 --target test_concurrency runbox-subprocess \
         runbox-docker runbox-e2b; } >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "tsan build failed; full log: $log" >&2
  exit 1
fi
echo "tsan build: $((SECONDS - t0)) s" >&2
export RUNBOX_BACKEND_PATH=$root/$dir/backends
export RUNBOX_DOCKER_IMAGE=runbox-python:3.11-minimal
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
failed=""
run() { # BACKEND THREADS ROUNDS
  local t=$SECONDS
  if "$dir/tests/concurrency/test_concurrency" "$@"; then
    echo "tsan $1: clean ($((SECONDS - t)) s)" >&2
  else
    echo "tsan $1: FAILED (a race report or a wrong answer above)" >&2
    failed="$failed $1"
  fi
}
# isolation=none: the namespaces path starts its init with a raw clone(),
# which ThreadSanitizer cannot follow (the child deadlocks in TSan's own
# registry lock at _exit); the threading runbox does is the same.
run subprocess 8 3 subprocess.isolation=none
if docker info >/dev/null 2>&1; then
  run docker 4 2
elif [ "${CI:-}" = true ]; then
  echo "tsan docker: dockerd not reachable" >&2; failed="$failed docker"
else
  echo "tsan docker: skipped, dockerd not reachable" >&2
fi
# e2b: against the protocol test server on loopback.
portfile=$(mktemp)
python3 tests/e2b/e2b_test_server.py --api-key k --port-file "$portfile" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$portfile"' EXIT
for _ in $(seq 50); do [ -s "$portfile" ] && break; sleep 0.1; done
api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_port"])' "$portfile")
sbx=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandbox_port"])' "$portfile")
E2B_API_KEY=k E2B_API_URL=http://127.0.0.1:$api E2B_SANDBOX_URL=http://127.0.0.1:$sbx \
  run e2b 6 2
if [ -n "$failed" ]; then
  echo "tsan failed:$failed" >&2
  exit 1
fi
