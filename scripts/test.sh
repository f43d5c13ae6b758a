#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root), builds runbox twice (normal and
# ASan+UBSan) and runs the whole test suite. Each stage of the suite lives in
# scripts/test.d/NN-name.sh and is run in order, even after a failing one;
# the script fails when any stage failed. A stage gets BUILD_DIR and may
# call `stage_skip REASON` to say why it did not run.
#   RUNBOX_TEST_ONLY=pattern   run only the stages whose file name matches
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
RUNBOX_SANITIZE=1 scripts/setup.sh
failed=""
start=$SECONDS
for stage in scripts/test.d/*.sh; do
  name=$(basename "$stage" .sh)
  case "$name" in *${RUNBOX_TEST_ONLY:-}*) ;; *) continue ;; esac
  echo "== test stage $name" >&2
  t0=$SECONDS
  if bash "$stage"; then
    echo "== test stage $name passed ($((SECONDS - t0)) s)" >&2
  else
    echo "== test stage $name FAILED ($((SECONDS - t0)) s)" >&2
    failed="$failed $name"
  fi
done
echo "== all stages: $((SECONDS - start)) s" >&2
if [ -n "$failed" ]; then
  echo "== failed stages:$failed" >&2
  exit 1
fi
