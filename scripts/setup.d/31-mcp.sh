# mcp: installs the official MCP TypeScript SDK (version pinned by
# tests/mcp/sdk/package-lock.json) for the end-to-end test of `runbox mcp`.
# Sourced by scripts/setup.sh; idempotent: nothing to do once installed.
if [ ! -d tests/mcp/sdk/node_modules/@modelcontextprotocol/sdk ]; then
  if command -v npm >/dev/null 2>&1; then
    (cd tests/mcp/sdk && npm ci --no-audit --no-fund --loglevel=error >&2)
  else
    echo "mcp: npm not found; the MCP SDK client test will be skipped (fails under CI)" >&2
  fi
fi
