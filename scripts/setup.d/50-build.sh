# Configure and build (and the sanitizer build when asked).
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null
if [ "${RUNBOX_SANITIZE:-0}" = 1 ]; then
  cmake -S . -B "$BUILD_DIR-asan" -DCMAKE_BUILD_TYPE=Debug -DRUNBOX_SANITIZE=ON >/dev/null
  cmake --build "$BUILD_DIR-asan" -j"$(nproc)" >/dev/null
fi
