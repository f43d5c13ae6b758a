# mcp: installs the official MCP TypeScript SDK for the end-to-end tests of
# `runbox mcp`: the current one (tests/mcp/sdk) and an older one that speaks
# protocol 2025-03-26 (tests/mcp/sdk-1.11), each pinned by its
# package-lock.json. Sourced by scripts/setup.sh; idempotent: nothing to do
# once installed.
for dir in tests/mcp/sdk tests/mcp/sdk-1.11; do
  if [ ! -d "$dir/node_modules/@modelcontextprotocol/sdk" ]; then
    if command -v npm >/dev/null 2>&1; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    else
      echo "mcp: npm not found; the MCP SDK client tests will be skipped (fail under CI)" >&2
    fi
  fi
done
unset dir
