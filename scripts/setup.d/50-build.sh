# Configure and build (and the sanitizer build when RUNBOX_SANITIZE=1).
# The compiler's output is kept in a log and shown only when it fails.
runbox_build() { # SRC-DIR BUILD-DIR CMAKE-ARGS...
  local dir=$2 log=$2.log
  shift 2
  if ! { cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$(nproc)"; } >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "build of $dir failed; full log: $log" >&2
    return 1
  fi
}
runbox_build . "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${RUNBOX_SANITIZE:-0}" = 1 ]; then
  runbox_build . "$BUILD_DIR-asan" -DCMAKE_BUILD_TYPE=Debug -DRUNBOX_SANITIZE=ON
fi
unset -f runbox_build
