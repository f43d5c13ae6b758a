// An older official MCP client (TypeScript SDK 1.11, which speaks protocol
// 2025-03-26 and refuses newer answers) against `runbox mcp`, over stdio
// and Streamable HTTP: the server must answer 2025-03-26, and tools must
// work as in the current SDK.
//
//   node mcp_old_client.mjs subprocess|docker|e2b
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as common from '../sdk/common.mjs';
import { log, skip, sleep, serverEnv, newWorkdir, text, cli } from '../sdk/common.mjs';

const backend = process.argv[2] || 'subprocess';

let Client, StdioClientTransport, StreamableHTTPClientTransport, LATEST;
try {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js'));
  ({ StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js'));
  ({ LATEST_PROTOCOL_VERSION: LATEST } = await import('@modelcontextprotocol/sdk/types.js'));
} catch (e) {
  skip(`@modelcontextprotocol/sdk 1.11 is not installed (scripts/setup.sh, or npm ci ` +
       `in tests/mcp/sdk-1.11): ${e.message}`);
}
assert.equal(LATEST, '2025-03-26', 'this test needs the 1.11 SDK');
await common.requireBackend(backend);

// Records the protocol version the server answered with.
function watch(transport) {
  const seen = { version: null };
  const start = transport.start.bind(transport);
  transport.start = async () => {
    const onmessage = transport.onmessage;
    transport.onmessage = (m) => {
      if (m.result?.protocolVersion) seen.version = m.result.protocolVersion;
      onmessage?.(m);
    };
    return start();
  };
  return seen;
}

async function exercise(client, seen, how) {
  assert.equal(seen.version, '2025-03-26', `${how}: negotiated version`);
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'execute_code'));
  const r = await client.callTool({ name: 'execute_code', arguments: { code: 'print(6 * 7)' } });
  assert.equal(text(r).trim(), '42');
  const e = await client.callTool({ name: 'execute_code', arguments: { code: '1/0' } });
  assert.equal(e.isError, true);
  assert.match(text(e), /ZeroDivisionError/);
  log(`${how}: SDK 1.11 negotiated 2025-03-26 and ran code`);
}

const workdir = newWorkdir();
try {
  // stdio
  const transport = new StdioClientTransport({
    command: cli, args: ['mcp', '-b', backend], env: serverEnv(backend, workdir), stderr: 'pipe',
  });
  let seen = watch(transport);
  let client = new Client({ name: 'old-sdk', version: '1.11.0' });
  await client.connect(transport);
  await exercise(client, seen, 'stdio');
  await client.close();

  // Streamable HTTP
  const portFile = path.join(workdir, 'port');
  const server = spawn(cli, ['mcp', '-b', backend, '--http', '127.0.0.1:0', '--port-file', portFile],
                       { env: serverEnv(backend, workdir, { RUNBOX_MCP_TOKEN: 'old-sdk-token-0123456789' }),
                         stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d) => (stderr += d));
  try {
    for (let i = 0; i < 200 && !/ready on http/.test(stderr); i++) await sleep(25);
    const port = Number(fs.readFileSync(portFile, 'utf8'));
    const http = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { Authorization: 'Bearer old-sdk-token-0123456789' } },
    });
    seen = watch(http);
    client = new Client({ name: 'old-sdk', version: '1.11.0' });
    await client.connect(http);
    await exercise(client, seen, 'http');
    await client.close();
  } finally {
    server.kill('SIGTERM');
  }
} catch (e) {
  console.error(`FAIL (${backend}): ${e.stack || e}`);
  process.exit(1);
} finally {
  fs.rmSync(workdir, { recursive: true, force: true });
}
process.exit(0);
