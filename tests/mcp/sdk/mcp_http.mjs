// Drives `runbox mcp --http 127.0.0.1:0` (Streamable HTTP) end to end: the
// bearer token and the Origin check as a hostile web page or a stranger
// would meet them, MCP sessions (Mcp-Session-Id), the status codes the
// spec asks for, then the official SDK client (StreamableHTTPClientTransport):
// tools, progress over SSE, abort, two agents with separate sandboxes,
// session termination (DELETE), shutdown on SIGTERM.
//
//   node mcp_http_client.mjs subprocess|docker|e2b
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as common from './common.mjs';
import { log, skip, sleep, within, serverEnv, newWorkdir, assertCleanStderr,
         assertNoNullIds, text, cli } from './common.mjs';

const backend = process.argv[2] || 'subprocess';

let Client, StreamableHTTPClientTransport;
try {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js'));
} catch (e) {
  skip(`@modelcontextprotocol/sdk is not installed (npm ci in tests/mcp/sdk): ${e.message}`);
}
await common.requireBackend(backend);

// Starts the server; resolves once it listens, with its URL and the token
// it printed.
async function httpServer(extraArgs = [], env = {}) {
  const workdir = newWorkdir();
  const portFile = path.join(workdir, '..', `${path.basename(workdir)}.port`);
  const child = spawn(cli, ['mcp', '-b', backend, '--http', '127.0.0.1:0',
                            '--port-file', portFile, ...extraArgs],
                      { env: serverEnv(backend, workdir, env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '', stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  for (let i = 0; i < 200 && !/ready on http/.test(stderr); i++) await sleep(25);
  assert.match(stderr, /ready on http:\/\/127\.0\.0\.1:\d+\/mcp/, stderr);
  const port = Number(fs.readFileSync(portFile, 'utf8'));
  fs.rmSync(portFile);
  const token = (stderr.match(/bearer token \(send as Authorization: Bearer <token>\): ([0-9a-f]+)/) || [])[1];
  return {
    child, workdir, exited, port, token, url: `http://127.0.0.1:${port}/mcp`,
    stderr: () => stderr, stdout: () => stdout,
    cleanup() {
      child.kill('SIGKILL');
      fs.rmSync(workdir, { recursive: true, force: true });
    },
  };
}

const initBody = (version = '2025-11-25') => JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

async function post(s, body, headers = {}) {
  const res = await fetch(s.url, {
    method: 'POST', body,
    headers: { 'Content-Type': 'application/json',
               Accept: 'application/json, text/event-stream', ...headers } });
  const txt = await res.text();
  let json = null;
  try {
    json = JSON.parse(txt);
  } catch {
    // an event stream or an empty body
  }
  return { status: res.status, headers: res.headers, text: txt, json };
}

// What a stranger, a web page, or a broken client gets.
async function rawHttp() {
  const s = await httpServer();
  try {
    assert.match(s.token, /^[0-9a-f]{64}$/, 'a generated token is printed on stderr');
    assert.equal(s.stdout(), '', 'nothing on stdout');
    const auth = { Authorization: `Bearer ${s.token}` };
    const seen = [];

    // No token, a wrong one, a token of the wrong length: 401.
    let r = await post(s, initBody());
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /^Bearer/);
    r = await post(s, initBody(), { Authorization: `Bearer ${'0'.repeat(64)}` });
    assert.equal(r.status, 401);
    r = await post(s, initBody(), { Authorization: `Bearer ${s.token.slice(1)}` });
    assert.equal(r.status, 401);
    r = await post(s, initBody(), { Authorization: s.token });
    assert.equal(r.status, 401, 'the Bearer scheme is required');
    // A stranger's huge body is refused on its headers, not buffered.
    const t401 = Date.now();
    // (The server answers 401 and closes the connection; a client still
    // uploading may see the close first. The server must live on: the
    // requests below go to it.)
    r = await post(s, '{"x":"' + 'x'.repeat(20 * 1024 * 1024) + '"}')
      .catch((e) => ({ status: `${e.message}: ${e.cause?.code || e.cause?.message}` }));
    assert.ok(r.status === 401 || /fetch failed|closed|reset|EPIPE/i.test(String(r.status)),
              `huge unauthenticated body: ${r.status}`);
    log(`http raw: a 20 MiB body without token refused in ${Date.now() - t401} ms (${r.status})`);

    // A page elsewhere (DNS rebinding, a malicious site): 403, even with
    // the token.
    r = await post(s, initBody(), { ...auth, Origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    r = await post(s, initBody(), { ...auth, Origin: `http://127.0.0.1:${s.port + 1}` });
    assert.equal(r.status, 403);

    // A request without a session, or with an unknown one.
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), auth);
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /Mcp-Session-Id/);
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
                   { ...auth, 'Mcp-Session-Id': 'f'.repeat(32) });
    assert.equal(r.status, 404);
    seen.push(r.json);

    // initialize from our own origin starts a session.
    r = await post(s, initBody('2025-03-26'), { ...auth, Origin: `http://localhost:${s.port}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result.protocolVersion, '2025-03-26');
    const sid = r.headers.get('mcp-session-id');
    assert.match(sid, /^[0-9a-f]{32}$/);
    const inSession = { ...auth, 'Mcp-Session-Id': sid };

    // Notifications get 202 and no body.
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), inSession);
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
    // A request gets application/json.
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }), inSession);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.deepEqual(r.json, { jsonrpc: '2.0', id: 3, result: {} });
    // An unsupported protocol version header: 400.
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'ping' }),
                   { ...inSession, 'MCP-Protocol-Version': '1999-01-01' });
    assert.equal(r.status, 400);
    // Not JSON: 400 with a parse error and no id; damaged text with a
    // readable id: its id.
    r = await post(s, 'not json', inSession);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    seen.push(r.json);
    r = await post(s, '{"jsonrpc":"2.0","id":"lone","method":"tools/call","params":{"name":' +
                      '"execute_code","arguments":{"code":"\\ud800"}}}', inSession);
    assert.equal(r.json.id, 'lone');
    assert.equal(r.json.error.code, -32602);
    // A body over 16 MiB: 413, answered with its id.
    r = await post(s, '{"jsonrpc":"2.0","method":"ping","params":{"x":"' +
                      'x'.repeat(16 * 1024 * 1024 + 1) + '"},"id":77}', inSession);
    assert.equal(r.status, 413);
    assert.equal(r.json.id, 77);
    // Wrong content type, and an Accept that leaves out the event stream.
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' }),
                   { ...inSession, 'Content-Type': 'text/plain' });
    assert.equal(r.status, 415);
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' }),
                   { ...inSession, Accept: 'application/json' });
    assert.equal(r.status, 406);
    // A tools/call answers as an event stream.
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call',
                                       params: { name: 'execute_code', arguments: { code: 'print(6*7)' } } }),
                   inSession);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/event-stream/);
    const event = JSON.parse(r.text.match(/^data: (.*)$/m)[1]);
    assert.equal(event.id, 6);
    assert.equal(event.result.content[0].text, '42\n');
    // GET: no stream of server-initiated messages here.
    let res = await fetch(s.url, { headers: { ...inSession, Accept: 'text/event-stream' } });
    assert.equal(res.status, 405);
    assert.match(res.headers.get('allow'), /POST/);
    await res.text();
    // Another path: 404.
    res = await fetch(`http://127.0.0.1:${s.port}/other`, { headers: auth });
    assert.equal(res.status, 404);
    await res.text();
    // DELETE ends the session; it is gone afterwards.
    res = await fetch(s.url, { method: 'DELETE', headers: inSession });
    assert.equal(res.status, 200);
    r = await post(s, JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }), inSession);
    assert.equal(r.status, 404);
    assertNoNullIds(seen);
    log('http raw: token, origin, sessions and status codes as the spec says');
  } finally {
    s.cleanup();
  }
}

function sdkClient(s, name, token = s.token) {
  const transport = new StreamableHTTPClientTransport(new URL(s.url), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  return { client: new Client({ name, version: '1.0.0' }), transport };
}

async function sdkHttp() {
  const s = await httpServer();
  const a = sdkClient(s, 'agent-a');
  const b = sdkClient(s, 'agent-b');
  try {
    await a.client.connect(a.transport);
    await b.client.connect(b.transport);
    assert.equal(a.client.getServerVersion().name, 'python_executor');
    assert.ok(a.transport.sessionId && b.transport.sessionId &&
              a.transport.sessionId !== b.transport.sessionId, 'one MCP session each');
    const { tools } = await a.client.listTools();
    assert.equal(tools.length, 4);

    let r = await a.client.callTool({ name: 'execute_code', arguments: { code: 'print(6 * 7)' } });
    assert.equal(text(r).trim(), '42');
    assert.equal(r.structuredContent.backend, backend);

    // Two agents, one session name: two sandboxes.
    r = await a.client.callTool({ name: 'execute_code', arguments: {
      session: 'work', code: 'open("who.txt", "w").write("agent a")' } });
    assert.equal(r.isError, false, text(r));
    r = await b.client.callTool({ name: 'execute_code', arguments: {
      session: 'work', code: 'import os; print(os.path.exists("who.txt"))' } });
    assert.equal(text(r).trim(), 'False', 'agent b does not see agent a\'s session');
    r = await a.client.callTool({ name: 'execute_code', arguments: {
      session: 'work', code: 'print(open("who.txt").read())' } });
    assert.equal(text(r).trim(), 'agent a');

    // Progress arrives over the call's event stream.
    const progress = [];
    r = await a.client.callTool({ name: 'execute_code', arguments: {
      code: 'import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.5)' } },
      undefined, { onprogress: (p) => progress.push(p) });
    assert.equal(r.isError, false, text(r));
    assert.ok(progress.length >= 2, `progress notifications: ${progress.length}`);

    // Abort (notifications/cancelled over POST) stops the run.
    const before = await common.sandboxesOf(backend, s.child.pid, s.workdir);
    const ac = new AbortController();
    setTimeout(() => ac.abort('test abort'), 1000);
    await assert.rejects(a.client.callTool({ name: 'execute_code',
                                             arguments: { code: 'import time; time.sleep(30)' } },
                                           undefined, { signal: ac.signal }));
    await common.expectSandboxes(backend, s.child.pid, s.workdir, before, 'after abort over HTTP');
    r = await a.client.callTool({ name: 'execute_code', arguments: { code: 'print("after")' } });
    assert.equal(text(r).trim(), 'after');

    // Ending agent a's MCP session closes its sandboxes; b keeps working.
    r = await b.client.callTool({ name: 'execute_code', arguments: { session: 'b', code: 'x = 1' } });
    const both = await common.sandboxesOf(backend, s.child.pid, s.workdir);
    await a.transport.terminateSession();
    await common.expectSandboxes(backend, s.child.pid, s.workdir, both - 1, 'after DELETE');
    r = await b.client.callTool({ name: 'execute_code', arguments: { session: 'b', code: 'print("b alive")' } });
    assert.equal(text(r).trim(), 'b alive');
    await a.client.close();

    // SIGTERM: calls stop, sandboxes close, exit 0.
    const running = b.client.callTool({ name: 'execute_code', arguments: { code: 'import time; time.sleep(30)' } })
      .catch(() => 'rejected');
    await sleep(700);
    s.child.kill('SIGTERM');
    const exit = await within(s.exited, 15000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit on SIGTERM; stderr: ${s.stderr()}`);
    // The call still answers (cancelled), so the client is not left waiting.
    const settled = await within(running, 5000);
    assert.ok(settled && settled !== 'rejected', `the running call got no answer: ${settled}`);
    assert.equal(settled.structuredContent.verdict, 'canceled', text(settled));
    await common.expectSandboxes(backend, s.child.pid, s.workdir, 0, 'after SIGTERM');
    assertCleanStderr(s.stderr(), 'server stderr');
    log('http sdk: two agents, progress, abort, DELETE and SIGTERM');
  } catch (e) {
    console.error(`server stderr:\n${s.stderr()}`);
    throw e;
  } finally {
    await b.client.close().catch(() => {});
    s.cleanup();
  }
}

// The token can be given (RUNBOX_MCP_TOKEN, --token-file) or switched off.
async function tokenSources() {
  const fixed = 'a-token-chosen-by-the-operator-0123';
  let s = await httpServer([], { RUNBOX_MCP_TOKEN: fixed });
  try {
    assert.equal(s.token, undefined, 'a given token is not printed');
    assert.doesNotMatch(s.stderr(), new RegExp(fixed));
    const c = sdkClient(s, 'env-token', fixed);
    await c.client.connect(c.transport);
    await c.client.ping();
    await c.client.close();
  } finally {
    s.cleanup();
  }
  const dir = newWorkdir();
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, `${fixed}\n`, { mode: 0o600 });
  s = await httpServer(['--token-file', file]);
  try {
    assert.equal((await post(s, initBody())).status, 401);
    assert.equal((await post(s, initBody(), { Authorization: `Bearer ${fixed}` })).status, 200);
  } finally {
    s.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  s = await httpServer(['--no-auth', '--allow-origin', 'https://app.example']);
  try {
    assert.match(s.stderr(), /NO authentication/);
    assert.equal((await post(s, initBody())).status, 200);
    assert.equal((await post(s, initBody(), { Origin: 'https://app.example' })).status, 200);
    assert.equal((await post(s, initBody(), { Origin: 'https://other.example' })).status, 403);
  } finally {
    s.cleanup();
  }
  log('http: token from RUNBOX_MCP_TOKEN, --token-file, or --no-auth');
}

try {
  await rawHttp();
  await sdkHttp();
  await tokenSources();
  log(`http on ${backend}: ok`);
} catch (e) {
  console.error(`FAIL (${backend}): ${e.stack || e}`);
  process.exit(1);
}
process.exit(0);
