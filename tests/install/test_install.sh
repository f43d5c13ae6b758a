#!/usr/bin/env bash
# test_install.sh SRC BUILD [sanitize|plain]: cmake --install into a
# scratch prefix, then build examples/ against the installed package and run
# them. A sanitizer build of runbox needs its users built the same way.
set -euo pipefail
src=$1 build=$2 mode=${3:-plain}
flags=()
if [ "$mode" = sanitize ]; then
  flags=(-DCMAKE_C_FLAGS=-fsanitize=address,undefined
         -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined
         -DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=address,undefined)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As a real prefix is: the sandbox's init runs as another user, who must
# reach it (mktemp makes the folder 0700).
chmod 755 "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in include/runbox/runbox.h include/runbox/backend.h bin/runbox \
         lib/cmake/runbox/runboxConfig.cmake lib/pkgconfig/runbox.pc; do
  [ -e "$work/prefix/$f" ] || fail "$f was not installed"
done
ls "$work"/prefix/lib/runbox/backends/runbox-subprocess.so >/dev/null || fail "backends not installed"
[ -x "$work"/prefix/lib/runbox/backends/runbox-subprocess-init ] || fail "the sandbox helper is not installed beside the backend"
# The library carries a soname.
objdump -p "$work"/prefix/lib/librunbox.so | grep -q 'SONAME.*librunbox.so.0' || fail "no soname"
# pkg-config sees it.
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs runbox | grep -q -- "-lrunbox" \
  || fail "pkg-config does not know runbox"

# An outside project: find_package(runbox), a backend and an application.
cmake -S "$src/examples" -B "$work/ex" -DCMAKE_PREFIX_PATH="$work/prefix" "${flags[@]}" >/dev/null
cmake --build "$work/ex" >/dev/null
# Backends export exactly one symbol.
syms=$(nm -D --defined-only "$work/ex/runbox-echo.so" | awk '$2 == "T" {print $3}')
[ "$syms" = "runbox_backend_init" ] || fail "echo backend exports: $syms"

export LD_LIBRARY_PATH="$work/prefix/lib"
out=$(RUNBOX_BACKEND_PATH="$work/ex" RUNBOX_ECHO_PREFIX="> " "$work/ex/embed" echo $'a\nb')
echo "$out" | grep -q '"stdout":"> a\\n> b"' || fail "echo backend output: $out"
echo "$out" | grep -q '"verdict":"ok"' || fail "verdict: $out"
# The installed command finds the installed backends by itself.
env -u RUNBOX_BACKEND_PATH "$work/prefix/bin/runbox" backends | grep -q "^subprocess *usable" \
  || fail "installed runbox does not list the installed subprocess backend"
env -u RUNBOX_BACKEND_PATH "$work/prefix/bin/runbox" run -b subprocess "print(40 + 2)" | grep -qx 42 \
  || fail "installed runbox cannot run code"
# ...and only those: not the build tree's (an absolute path of a build
# that may not exist any more), so none is reported as a duplicate.
listing=$(env -u RUNBOX_BACKEND_PATH "$work/prefix/bin/runbox" backends)
! echo "$listing" | grep -q "duplicate" || fail "installed runbox reports duplicates: $listing"
! echo "$listing" | grep -qF "$build/" || fail "installed runbox searches the build tree: $listing"
# The private libraries the command loads at run time, from lib/runbox.
for lib in librunbox-mcp.so.0 librunbox-line-editor.so.0; do
  [ -e "$work/prefix/lib/runbox/$lib" ] || fail "lib/runbox/$lib was not installed"
done
# No RUNPATH, installed or in the build tree, has an empty entry (the
# loader reads one as the working directory, where anyone may plant a
# libcjson.so.1) or a relative one.
for elf in "$work"/prefix/bin/runbox "$work"/prefix/lib/*.so* "$work"/prefix/lib/runbox/*.so* \
           "$work"/prefix/lib/runbox/backends/*.so "$build"/cli/runbox "$build"/core/*.so* \
           "$build"/mcp/*.so* "$build"/cli/line_editor/*.so* "$build"/backends/*.so; do
  rp=$(readelf -d "$elf" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p')
  [ -n "$rp" ] || continue
  # Each entry ends in ':' here; an empty one shows as '::' or a leading ':'.
  ! grep -qE '(^|:):' <<< "$rp:" || fail "$elf: RUNPATH $rp has an empty entry"
  ! tr ':' '\n' <<< "$rp" | grep -qvE '^(/|\$ORIGIN)' || fail "$elf: RUNPATH $rp has a relative entry"
done
# `runbox mcp` loads the installed MCP server library (not linked).
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"install","version":"1"}}}'
reply=$(echo "$init" | env -u RUNBOX_BACKEND_PATH -u LD_LIBRARY_PATH "$work/prefix/bin/runbox" mcp -b subprocess 2>/dev/null)
echo "$reply" | grep -q '"serverInfo"' || fail "installed runbox mcp does not answer: $reply"
# Without it, or with a broken one in its place, `runbox mcp` says so and
# what to do (exit 125), and never loads one of the same name from
# LD_LIBRARY_PATH.
lib=$work/prefix/lib/runbox/librunbox-mcp.so.0
mkdir "$work/planted" && cp -L "$lib" "$work/planted/librunbox-mcp.so.0"
mv "$lib" "$work/mcp.so"
set +e
err=$(echo "$init" | env -u RUNBOX_BACKEND_PATH LD_LIBRARY_PATH="$work/planted" \
      "$work/prefix/bin/runbox" mcp -b subprocess 2>&1 >/dev/null); rc=$?
echo "not a library" > "$lib"
bad=$(echo "$init" | env -u RUNBOX_BACKEND_PATH "$work/prefix/bin/runbox" mcp -b subprocess 2>&1 >/dev/null)
brc=$?
set -e
mv "$work/mcp.so" "$lib"
[ $rc = 125 ] && grep -q "cannot load the MCP server.*is in none of .*reinstall runbox" <<< "$err" \
  || fail "runbox mcp without its library: exit $rc, $err"
[ $brc = 125 ] && grep -q "cannot load the MCP server.*lib/runbox/librunbox-mcp.so.0: .*reinstall runbox" <<< "$bad" \
  || fail "runbox mcp with a broken library: exit $brc, $bad"
echo "install: 1 passed, 0 failed"
