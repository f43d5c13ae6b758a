# e2b: installs the official E2B JavaScript SDK (version pinned by
# tests/e2b/sdk/package-lock.json) for the contract test and the benchmark.
# Sourced by scripts/setup.sh; idempotent: nothing to do once installed.
if [ ! -d tests/e2b/sdk/node_modules/@e2b/code-interpreter ]; then
  if command -v npm >/dev/null 2>&1; then
    (cd tests/e2b/sdk && npm ci --no-audit --no-fund --loglevel=error >&2)
  else
    echo "e2b: npm not found; the E2B SDK contract test will fail" >&2
  fi
fi
