#!/usr/bin/env bash
# Every build type with gcc and clang, warnings as errors, tests included so
# test code is compiled too (compile and link only: the suite itself runs
# in the stages before). Then each public header alone, as strict C99 and
# as C++, so an application can include it in either.
set -euo pipefail
root=$(pwd)
out=${BUILD_DIR}-matrix
mkdir -p "$out"
failed=""
for cc in gcc clang; do
  for type in Debug Release RelWithDebInfo MinSizeRel; do
    dir=$out/$cc-$type
    t0=$SECONDS
    if [ "$cc-$type" = gcc-RelWithDebInfo ] && [ -x "$root/$BUILD_DIR/cli/runbox" ]; then
      # scripts/setup.d/50-build.sh built exactly this (gcc, -Werror, tests).
      echo "build $cc $type: ok (the setup's build in $BUILD_DIR)" >&2
      continue
    fi
    # The clang builds link the sandbox's init with glibc, the fallback
    # where musl-gcc is missing, so that both ways are built everywhere.
    init=-DRUNBOX_INIT_MUSL=ON
    [ "$cc" = clang ] && init=-DRUNBOX_INIT_MUSL=OFF
    if { CC=$cc cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE="$type" \
           -DRUNBOX_WERROR=ON -DRUNBOX_BUILD_TESTS=ON "$init" &&
         cmake --build "$dir" -j2; } >"$dir.log" 2>&1; then
      echo "build $cc $type: ok ($((SECONDS - t0)) s)" >&2
    else
      grep -E 'error|warning' "$dir.log" | head -20 >&2 || tail -20 "$dir.log" >&2
      echo "build $cc $type: FAILED, full log $dir.log" >&2
      failed="$failed $cc-$type"
    fi
  done
done

# Public headers: each on its own, nothing included before it.
for h in "$root"/include/runbox/*.h; do
  name=runbox/$(basename "$h")
  for tool in "gcc -x c -std=c99" "clang -x c -std=c99" \
              "g++ -x c++ -std=c++11" "clang++ -x c++ -std=c++11"; do
    # shellcheck disable=SC2086
    if printf '#include <%s>\nint main(void) { return 0; }\n' "$name" |
       $tool -pedantic -Wall -Wextra -Werror -I"$root/include" -fsyntax-only -; then
      echo "header $name as $tool: ok" >&2
    else
      echo "header $name as $tool: FAILED" >&2
      failed="$failed header-$(basename "$h")"
    fi
  done
done
if [ -n "$failed" ]; then
  echo "build matrix failed:$failed" >&2
  exit 1
fi
