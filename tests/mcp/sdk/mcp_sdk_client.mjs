// Drives `runbox mcp -b <backend>` end to end: first as raw JSON-RPC lines
// (framing, errors, cancellation without a response, shutdown on EOF and
// SIGTERM), then through the official MCP TypeScript SDK client (tools,
// schemas, sessions, progress, abort).
//
//   node mcp_sdk_client.mjs subprocess|docker
//
// Environment (ctest sets it): RUNBOX_CLI, the runbox binary;
// RUNBOX_BACKEND_PATH, the built backends; RUNBOX_DOCKER_IMAGE (docker,
// default runbox-python:3.11-minimal). Exits 77 (skipped) when the SDK or
// the Docker daemon is missing here, and fails instead when CI=true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const backend = process.argv[2] || 'subprocess';
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const cli = process.env.RUNBOX_CLI;
const t0 = Date.now();

function log(msg) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

function skip(why) {
  if (inCI) {
    console.error(`FAIL: ${why} (required when CI=true)`);
    process.exit(1);
  }
  console.error(`SKIP: ${why}`);
  process.exit(77);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// p's value, or null when it takes longer than ms (the timer does not keep
// the process alive).
const within = (p, ms) =>
  Promise.race([p, new Promise((r) => setTimeout(() => r(null), ms).unref())]);

// ---------------------------------------------------------------------
// Prerequisites
// ---------------------------------------------------------------------
if (!cli || !fs.existsSync(cli)) {
  console.error(`FAIL: RUNBOX_CLI (${cli}) is not the built runbox binary`);
  process.exit(1);
}
let Client, StdioClientTransport;
try {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js'));
} catch (e) {
  skip(`@modelcontextprotocol/sdk is not installed (run scripts/setup.sh, or ` +
       `npm ci in tests/mcp/sdk): ${e.message}`);
}

// A request to the Docker Engine API over its unix socket.
function dockerApi(urlPath) {
  const host = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  const opts = host.startsWith('unix://')
    ? { socketPath: host.slice(7), path: urlPath }
    : { host: new URL(host.replace(/^tcp:/, 'http:')).hostname,
        port: new URL(host.replace(/^tcp:/, 'http:')).port, path: urlPath };
  return new Promise((resolve, reject) => {
    const req = http.get({ ...opts, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

const dockerImage = process.env.RUNBOX_DOCKER_IMAGE || 'runbox-python:3.11-minimal';
if (backend === 'docker') {
  try {
    const ping = await dockerApi('/_ping');
    if (ping.status !== 200) throw new Error(`/_ping answered ${ping.status}`);
  } catch (e) {
    skip(`no Docker daemon reachable (${e.message})`);
  }
  const img = await dockerApi(`/images/${encodeURIComponent(dockerImage)}/json`);
  if (img.status !== 200)
    skip(`image ${dockerImage} is missing (backends/docker/image/build-offline-image.sh --minimal)`);
} else if (backend !== 'subprocess') {
  console.error(`FAIL: unknown backend ${backend}`);
  process.exit(1);
}

// Each server gets its own work directory (subprocess) so that leftovers
// can be counted; docker sandboxes are counted by the runbox.pid label.
function serverEnv(workdir) {
  const env = { ...process.env, RUNBOX_DOCKER_IMAGE: dockerImage };
  if (backend === 'subprocess') env.RUNBOX_SUBPROCESS_WORKDIR = workdir;
  return env;
}

async function sandboxesOf(pid, workdir) {
  if (backend === 'subprocess') return fs.readdirSync(workdir).length;
  const filters = encodeURIComponent(JSON.stringify({ label: [`runbox.pid=${pid}`] }));
  const res = await dockerApi(`/containers/json?all=1&filters=${filters}`);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).length;
}

// Polls until the sandbox count of a server drops to want.
async function expectSandboxes(pid, workdir, want, what) {
  let n;
  for (let i = 0; i < 100; i++) {
    n = await sandboxesOf(pid, workdir);
    if (n === want) return;
    await sleep(100);
  }
  assert.fail(`${what}: ${n} sandboxes left, expected ${want}`);
}

// Under the ASan build a leak or an error is reported on stderr at exit.
function assertCleanStderr(stderr, what) {
  assert.doesNotMatch(stderr, /Sanitizer|runtime error:/, `${what}: ${stderr}`);
}

function newWorkdir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbox-mcp-test-'));
  fs.chmodSync(dir, 0o755); // the code may run as another user (nobody)
  return dir;
}

// ---------------------------------------------------------------------
// Raw JSON-RPC over the server's stdio
// ---------------------------------------------------------------------
function rawServer(args = ['mcp', '-b', backend]) {
  const workdir = newWorkdir();
  const child = spawn(cli, args, {
    env: serverEnv(workdir), stdio: ['pipe', 'pipe', 'pipe'],
  });
  const received = [];
  let stderr = '';
  const rl = readline.createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = { unparsable: line };
    }
    received.push(msg);
  });
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stdin.on('error', () => {});
  return {
    child, workdir, received, exited,
    stderr: () => stderr,
    send(msg) {
      child.stdin.write((typeof msg === 'string' ? msg : JSON.stringify(msg)) + '\n');
    },
    // Waits for the first message with this id (or matching pred).
    async reply(id, ms = 10000) {
      const start = Date.now();
      while (Date.now() - start < ms) {
        const m = received.find((x) => x.id === id);
        if (m) return m;
        await sleep(10);
      }
      throw new Error(`no reply for id ${JSON.stringify(id)} within ${ms} ms; ` +
                      `stderr: ${stderr}`);
    },
    async initialize(version = '2025-06-18') {
      this.send({ jsonrpc: '2.0', id: 'init', method: 'initialize',
                  params: { protocolVersion: version, capabilities: {},
                            clientInfo: { name: 'raw', version: '0' } } });
      const r = await this.reply('init');
      this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return r;
    },
    cleanup() {
      child.kill('SIGKILL');
      fs.rmSync(workdir, { recursive: true, force: true });
    },
  };
}

const call = (id, code, extra = {}) => ({
  jsonrpc: '2.0', id, method: 'tools/call',
  params: { name: 'execute_code', arguments: { code, ...extra } },
});

async function rawProtocol() {
  const s = rawServer();
  try {
    s.send('this is not json');
    s.send('[{"jsonrpc":"2.0","id":1,"method":"ping"}]');
    s.send({ jsonrpc: '2.0', id: { bad: 1 }, method: 'ping' });
    s.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    s.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    s.send({ jsonrpc: '2.0', id: 4, method: 'server/discover' });
    await s.reply(4);
    const early = s.received.filter((m) => m.id === null);
    assert.deepEqual(early.map((m) => m.error.code), [-32700, -32600, -32600]);
    assert.equal((await s.reply(2)).error.code, -32600, 'tools/list before initialize');
    assert.deepEqual((await s.reply(3)).result, {}, 'ping before initialize');
    assert.equal((await s.reply(4)).error.code, -32601, 'server/discover');

    const init = await s.initialize('2024-11-05');
    assert.equal(init.result.protocolVersion, '2024-11-05');
    assert.equal(init.result.serverInfo.name, 'python_executor');

    // A line over 16 MiB is refused without taking the server down.
    s.send('"' + 'x'.repeat(16 * 1024 * 1024 + 10) + '"');
    s.send({ jsonrpc: '2.0', id: 5, method: 'ping' });
    assert.deepEqual((await s.reply(5, 20000)).result, {});
    assert.ok(s.received.some((m) => m.id === null && m.error?.code === -32600 &&
                                     /16 MiB/.test(m.error.message)), 'huge line');

    // Cancelled: the run stops, its sandbox goes, and no response is sent.
    const before = await sandboxesOf(s.child.pid, s.workdir);
    s.send(call(10, 'import time; time.sleep(30)'));
    await sleep(1000);
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled',
             params: { requestId: 10, reason: 'test' } });
    const t = Date.now();
    s.send({ jsonrpc: '2.0', id: 11, method: 'ping' });
    await s.reply(11);
    assert.ok(Date.now() - t < 1000, 'ping after cancel is fast');
    await expectSandboxes(s.child.pid, s.workdir, before, 'after notifications/cancelled');
    await sleep(500);
    assert.equal(s.received.find((m) => m.id === 10), undefined,
                 'no response for a cancelled request');

    // End of input with a call running: cancelled, exit 0, nothing left.
    s.send(call(12, 'import time; time.sleep(30)'));
    await sleep(700);
    const endAt = Date.now();
    s.child.stdin.end();
    const exit = await within(s.exited, 15000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit on EOF; stderr: ${s.stderr()}`);
    assert.ok(Date.now() - endAt < 10000, 'prompt exit on EOF');
    await expectSandboxes(s.child.pid, s.workdir, 0, 'after EOF');
    for (const m of s.received) assert.equal(m.unparsable, undefined, 'every line is JSON');
    assertCleanStderr(s.stderr(), 'server stderr after EOF');
    log(`raw: shutdown on EOF took ${Date.now() - endAt} ms`);
  } finally {
    s.cleanup();
  }
}

async function rawSigterm() {
  const s = rawServer();
  try {
    const init = await s.initialize('2099-01-01');
    assert.equal(init.result.protocolVersion, '2025-11-25', 'unknown version -> newest');
    s.send(call(1, 'import time; time.sleep(30)'));
    s.send(call(2, 'print("x")', { session: 'kept' }));
    await s.reply(2, 60000);
    await sleep(700);
    const at = Date.now();
    s.child.kill('SIGTERM');
    const exit = await within(s.exited, 15000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit on SIGTERM; stderr: ${s.stderr()}`);
    await expectSandboxes(s.child.pid, s.workdir, 0, 'after SIGTERM (one-shot and session)');
    assertCleanStderr(s.stderr(), 'server stderr after SIGTERM');
    log(`raw: shutdown on SIGTERM took ${Date.now() - at} ms`);
  } finally {
    s.cleanup();
  }
}

// A backend that cannot open must not stop the server from starting: the
// tool call reports it.
async function rawMisconfigured() {
  const s = rawServer(['mcp', '-b', 'no_such_backend']);
  try {
    const init = await s.initialize();
    assert.equal(init.result.serverInfo.name, 'python_executor');
    s.send(call(1, 'print(1)'));
    const r = await s.reply(1);
    assert.equal(r.result.isError, true);
    assert.match(r.result.content[0].text, /no_such_backend/);
  } finally {
    s.cleanup();
  }
}

// ---------------------------------------------------------------------
// The official SDK client
// ---------------------------------------------------------------------
const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('');

async function sdkClient() {
  const workdir = newWorkdir();
  const transport = new StdioClientTransport({
    command: cli, args: ['mcp', '-b', backend], env: serverEnv(workdir), stderr: 'pipe',
  });
  let stderr = '';
  const stderrDone = new Promise((resolve) => {
    transport.stderr.on('data', (d) => (stderr += d));
    transport.stderr.on('end', resolve);
  });
  const client = new Client({ name: 'runbox-mcp-test', version: '1.0.0' });
  try {
    await client.connect(transport);
    const pid = transport.pid;
    const info = client.getServerVersion();
    assert.equal(info.name, 'python_executor');
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.ok(client.getServerCapabilities().tools, 'tools capability');
    log(`sdk: connected to ${info.name} ${info.version}`);

    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(),
                     ['execute_code', 'get_environment', 'install_package']);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.equal(t.outputSchema.type, 'object', t.name);
    }
    assert.deepEqual(tools.find((t) => t.name === 'execute_code').inputSchema.required, ['code']);

    // The SDK checks structuredContent against outputSchema on every call.
    let r = await client.callTool({ name: 'execute_code', arguments: { code: 'print(6 * 7)' } });
    assert.equal(r.isError, false);
    assert.equal(text(r).trim(), '42');
    assert.equal(r.structuredContent.success, true);
    assert.equal(r.structuredContent.verdict, 'ok');
    assert.equal(r.structuredContent.stdout, '42\n');
    assert.equal(r.structuredContent.backend, backend);

    r = await client.callTool({ name: 'execute_code', arguments: { code: 'x = 1\n1/0' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /ZeroDivisionError/);
    assert.equal(r.structuredContent.success, false);
    assert.equal(r.structuredContent.error.name, 'ZeroDivisionError');

    r = await client.callTool({ name: 'execute_code', arguments: { code: 'import sys; sys.exit(3)' } });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.exit_code, 3);

    // Bad arguments of a known tool are tool errors; an unknown tool is -32602.
    r = await client.callTool({ name: 'execute_code', arguments: {} });
    assert.equal(r.isError, true);
    assert.match(text(r), /missing required argument 'code'/);
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print(1)', timeout: -1 } });
    assert.equal(r.isError, true);
    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }),
                         (e) => e.code === -32602 && /no_such_tool/.test(e.message));

    // Output that is not UTF-8 or holds NUL stays valid JSON; bytes are exact.
    r = await client.callTool({ name: 'execute_code', arguments: {
      code: 'import sys; sys.stdout.buffer.write(b"a\\x00b\\xff\\xfec\\n")' } });
    assert.equal(r.isError, false);
    assert.ok(text(r).includes('\uFFFD'), 'replacement characters in text');
    assert.deepEqual([...Buffer.from(r.structuredContent.stdout_base64, 'base64')],
                     [0x61, 0, 0x62, 0xff, 0xfe, 0x63, 0x0a]);

    // Large output: the text is capped and says so; structuredContent is not.
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print("x" * 300000)' } });
    assert.equal(r.structuredContent.stdout.length, 300001);
    assert.ok(text(r).length < 110 * 1024, `text length ${text(r).length}`);
    assert.match(text(r), /text cut at/);

    // Sessions: files persist under one name, and only there.
    r = await client.callTool({ name: 'execute_code', arguments: {
      session: 'work', code: 'open("state.txt", "w").write("kept 123")' } });
    assert.equal(r.isError, false, text(r));
    r = await client.callTool({ name: 'execute_code', arguments: {
      session: 'work', code: 'print(open("state.txt").read())' } });
    assert.equal(r.isError, false, text(r));
    assert.match(text(r), /kept 123/);
    r = await client.callTool({ name: 'execute_code', arguments: {
      code: 'import os; print(os.path.exists("state.txt"))' } });
    assert.equal(text(r).trim(), 'False', 'a call without session is fresh');

    r = await client.callTool({ name: 'install_package', arguments: { package: '--index-url=x' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /option/);
    r = await client.callTool({ name: 'install_package', arguments: { package: 'numpy; os.system("x")' } });
    assert.equal(r.isError, true);

    r = await client.callTool({ name: 'get_environment', arguments: {} });
    assert.equal(r.isError, false, text(r));
    assert.match(r.structuredContent.python, /^3\.\d+/);
    assert.equal(r.structuredContent.backend, backend);
    assert.match(text(r), /"python":"3\./);
    r = await client.callTool({ name: 'get_environment', arguments: { session: 'work' } });
    assert.equal(r.isError, false, text(r));

    // Ping and a second call stay fast while a slow call runs.
    const slow = client.callTool({ name: 'execute_code',
                                   arguments: { code: 'import time; time.sleep(3); print("slept")' } });
    await sleep(400);
    let at = Date.now();
    await client.ping();
    const pingMs = Date.now() - at;
    assert.ok(pingMs < 500, `ping took ${pingMs} ms during a slow call`);
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print("quick")' } });
    assert.equal(text(r).trim(), 'quick');
    r = await slow;
    assert.equal(text(r).trim(), 'slept');
    assert.ok(r.structuredContent.wall_time >= 2.5, 'the slow call really ran');
    log(`sdk: ping took ${pingMs} ms while a 3 s call ran`);

    // Progress notifications for a call with a progress token.
    const progress = [];
    r = await client.callTool({ name: 'execute_code', arguments: {
      code: 'import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.5)' } },
      undefined, { onprogress: (p) => progress.push(p) });
    assert.equal(r.isError, false, text(r));
    assert.ok(progress.length >= 2, `progress notifications: ${progress.length}`);
    for (let i = 1; i < progress.length; i++)
      assert.ok(progress[i].progress > progress[i - 1].progress, 'progress increases');
    assert.ok(progress.every((p) => typeof p.message === 'string'));

    // Abort (notifications/cancelled): stopped, nothing left, still responsive.
    const sandboxes = await sandboxesOf(pid, workdir);
    const ac = new AbortController();
    setTimeout(() => ac.abort('test abort'), 1000);
    at = Date.now();
    await assert.rejects(client.callTool({ name: 'execute_code',
                                           arguments: { code: 'import time; time.sleep(30)' } },
                                         undefined, { signal: ac.signal }));
    await expectSandboxes(pid, workdir, sandboxes, 'after abort');
    assert.ok(Date.now() - at < 12000, 'the sandbox went away promptly');
    log(`sdk: aborted call gone ${Date.now() - at} ms after it started`);
    at = Date.now();
    await client.ping();
    assert.ok(Date.now() - at < 500, 'ping after abort');
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print("after")' } });
    assert.equal(text(r).trim(), 'after');
    log(`sdk: after the abort, ping and a call took ${Date.now() - at} ms`);

    // One call at a time per session: two 1 s calls on one name take 2 s.
    at = Date.now();
    const pair = await Promise.all([1, 2].map((i) => client.callTool({
      name: 'execute_code',
      arguments: { session: 'serial', code: `import time; time.sleep(1); print(${i})` } })));
    assert.deepEqual(pair.map((x) => text(x).trim()), ['1', '2']);
    assert.ok(Date.now() - at >= 1900, `same-session calls overlapped (${Date.now() - at} ms)`);

    // Aborting a session's call stops its code but keeps the session.
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort('test abort'), 1000);
    at = Date.now();
    await assert.rejects(client.callTool({ name: 'execute_code', arguments: {
      session: 'work', code: 'import time; time.sleep(30)' } }, undefined, { signal: ac2.signal }));
    r = await client.callTool({ name: 'execute_code', arguments: {
      session: 'work', code: 'print(open("state.txt").read())' } });
    assert.equal(r.isError, false, text(r));
    assert.match(text(r), /kept 123/);
    assert.ok(Date.now() - at < 15000, `the session was blocked ${Date.now() - at} ms`);
    log(`sdk: session usable ${Date.now() - at} ms after its call was aborted`);

    // Clean shutdown when the client closes stdin: exit, sessions destroyed.
    at = Date.now();
    await client.close();
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(100);
    }
    assert.throws(() => process.kill(pid, 0), 'the server exited');
    await expectSandboxes(pid, workdir, 0, 'after close');
    await within(stderrDone, 5000);
    assertCleanStderr(stderr, 'server stderr after close');
    log(`sdk: closed in ${Date.now() - at} ms`);
  } catch (e) {
    console.error(`server stderr:\n${stderr}`);
    throw e;
  } finally {
    await client.close().catch(() => {});
    fs.rmSync(workdir, { recursive: true, force: true });
  }
}

try {
  await rawProtocol();
  log('raw protocol: ok');
  await rawSigterm();
  log('raw SIGTERM: ok');
  await rawMisconfigured();
  log('raw misconfigured backend: ok');
  await sdkClient();
  log(`sdk client on ${backend}: ok`);
} catch (e) {
  console.error(`FAIL (${backend}): ${e.stack || e}`);
  process.exit(1);
}
