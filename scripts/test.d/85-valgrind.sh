#!/usr/bin/env bash
# valgrind memcheck over the command line tool's common paths, in the
# normal build: help and errors, config, backends, run (text, --json,
# stdin, a raised exception, a timeout), env and an MCP session, on the
# subprocess backend, plus the e2b (one-shot and repl) and docker
# clients. A definite or indirect leak or any invalid access fails the
# stage. "Possibly lost" is
# not counted: the core's per-sandbox worker thread is detached, and its
# thread-local block may still be held when main returns (a race at exit,
# not a growing leak; the ASan stages check leaks of long runs).
# Forked children are not checked (--child-silent-after-fork): they exec
# the interpreter at once. The subprocess backend runs with isolation =
# none here: its sandbox opens its root with openat2, which valgrind 3.19
# does not implement. The e2b backend's HTTP client is checked against its
# test server, the docker backend's against the engine.
set -euo pipefail
root=$(pwd)
cli=$root/$BUILD_DIR/cli/runbox
export RUNBOX_BACKEND_PATH=$root/$BUILD_DIR/backends
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Stage output for a failure: the tool's own output too.
cd "$work"
failed=0
vg() { # NAME STDIN-FILE ARGS...
  local name=$1 input=$2
  shift 2
  local rc=0
  valgrind -q --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --child-silent-after-fork=yes --track-fds=no --log-file="$work/vg-$name.log" \
    "$cli" "$@" <"$input" >"$work/out-$name" 2>&1 || rc=$?
  [ "$name" != mcp ] || cat "$work/out-$name" >>"$work/mcp-answers"
  # Errors are the "==PID==" lines; "--PID--" lines are valgrind's own
  # notes (e.g. openat2, which it does not know: the code falls back).
  if [ "$rc" = 99 ] || grep -q '^==' "$work/vg-$name.log"; then
    echo "valgrind $name: FAILED (runbox $*)" >&2
    grep '^==' "$work/vg-$name.log" | head -60 >&2
    failed=1
  else
    echo "valgrind $name: clean (exit $rc)" >&2
  fi
}
printf 'print(6 * 7)\n' >code.py
printf '' >empty
printf '[runbox]\nbackend = subprocess\n[subprocess]\nisolation = none\n[docker]\nimage = runbox-python:3.11-minimal\n' >runbox.ini
vg help empty --help
vg run-help empty run --help
vg bad-option empty run --no-such-option
vg unknown-backend empty run -b no-such-backend 'print(1)'
vg config empty config
vg backends empty backends
vg run empty run -b subprocess 'print("hi")'
vg run-json empty run -b subprocess --json 'import sys; print("x"); sys.stderr.write("y")'
vg run-file empty run -b subprocess -f code.py
vg run-stdin code.py run -b subprocess
vg run-raise empty run -b subprocess '1/0'
vg run-timeout empty run -b subprocess -t 1 'while True: pass'
vg env empty env -b subprocess
cat >mcp.in <<'MCP'
{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"vg","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"execute_code","arguments":{"code":"print(1)"}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"execute_code","arguments":{"code":"1/0"}}}
not json
{"jsonrpc":"2.0","id":5,"method":"no/such"}
MCP
# The input stays open until the answers are out: end of input would
# cancel the calls still running, as a client that went away.
mkfifo mcp.fifo
{ cat mcp.in; sleep 6; } >mcp.fifo &
vg mcp mcp.fifo mcp -b subprocess
grep -q '"id":3' "$work/out-mcp" || { echo "valgrind mcp: no answer to the tool call" >&2; failed=1; }

portfile=$work/e2b.port
python3 "$root/tests/e2b/e2b_test_server.py" --api-key k --port-file "$portfile" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$portfile" ] && break; sleep 0.1; done
export E2B_API_KEY=k
E2B_API_URL=http://127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_port"])' "$portfile")
E2B_SANDBOX_URL=http://127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandbox_port"])' "$portfile")
export E2B_API_URL E2B_SANDBOX_URL
vg e2b-run empty run -b e2b 'print(1)'
vg e2b-raise empty run -b e2b --json '1/0'
# A session: its sandbox's lifetime is set around each run.
printf 'x = 6\nprint(x * 7)\n' >repl.in
vg e2b-repl repl.in repl -b e2b
if docker info >/dev/null 2>&1; then
  vg docker-run empty run -b docker 'print(1)'
elif [ "${CI:-}" = true ]; then
  echo "valgrind docker: dockerd not reachable" >&2; failed=1
fi
for name in run run-json run-file run-stdin e2b-run e2b-repl docker-run; do
  [ -f "$work/out-$name" ] || continue
  grep -qE '^(hi|x|42|1)$|"verdict":"ok"' "$work/out-$name" ||
    { echo "valgrind $name: the run did not work: $(head -c 300 "$work/out-$name")" >&2; failed=1; }
done
exit $failed
