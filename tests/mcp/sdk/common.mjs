// Shared by the MCP end-to-end tests: prerequisites per backend (the
// Docker daemon and test image, the E2B test server), counting a server's
// sandboxes, and a raw JSON-RPC peer over a server's stdio.
//
// Environment (ctest sets it): RUNBOX_CLI, the runbox binary;
// RUNBOX_BACKEND_PATH, the built backends; RUNBOX_SOURCE_DIR;
// RUNBOX_DOCKER_IMAGE. A missing prerequisite skips (exit 77), and fails
// instead when CI=true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';
export const cli = process.env.RUNBOX_CLI;
const t0 = Date.now();

export function log(msg) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

export function skip(why) {
  if (inCI) {
    console.error(`FAIL: ${why} (required when CI=true)`);
    process.exit(1);
  }
  console.error(`SKIP: ${why}`);
  process.exit(77);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// p's value, or null when it takes longer than ms.
export const within = (p, ms) =>
  Promise.race([p, new Promise((r) => setTimeout(() => r(null), ms).unref())]);

if (!cli || !fs.existsSync(cli)) {
  console.error(`FAIL: RUNBOX_CLI (${cli}) is not the built runbox binary`);
  process.exit(1);
}

// A request to the Docker Engine API over its unix socket.
export function dockerApi(urlPath) {
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

export const dockerImage = process.env.RUNBOX_DOCKER_IMAGE || 'runbox-python:3.11-minimal';

// The E2B test server of tests/e2b, started once per process.
let e2b = null;
async function startE2bServer() {
  const src = process.env.RUNBOX_SOURCE_DIR;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbox-mcp-e2b-'));
  const portFile = path.join(dir, 'ports.json');
  const key = 'e2b_mcp_test_key';
  const child = spawn('python3', [path.join(src, 'tests/e2b/e2b_test_server.py'),
                                  '--port-file', portFile],
                      { env: { ...process.env, E2B_TEST_SERVER_KEY: key },
                        stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) await sleep(50);
  if (!fs.existsSync(portFile)) {
    child.kill('SIGKILL');
    throw new Error('the E2B test server did not start');
  }
  const ports = JSON.parse(fs.readFileSync(portFile, 'utf8'));
  process.on('exit', () => child.kill('SIGTERM'));
  return { child, dir, key, api: `http://127.0.0.1:${ports.api_port}`,
           sandbox: `http://127.0.0.1:${ports.sandbox_port}` };
}

export async function e2bStats() {
  const r = await fetch(`${e2b.api}/_test/stats`);
  return r.json();
}

export async function e2bSandboxes() {
  const r = await fetch(`${e2b.api}/v2/sandboxes`, { headers: { 'X-API-KEY': e2b.key } });
  return r.json();
}

// Checks that backend can run here (skips otherwise).
export async function requireBackend(backend) {
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
  } else if (backend === 'e2b') {
    try {
      e2b = await startE2bServer();
    } catch (e) {
      skip(`E2B test server: ${e.message}`);
    }
  } else if (backend !== 'subprocess') {
    console.error(`FAIL: unknown backend ${backend}`);
    process.exit(1);
  }
}

// The environment of a server: its own work directory (subprocess), so
// that leftovers can be counted; docker sandboxes are counted by the
// runbox.pid label, E2B ones by the test server.
export function serverEnv(backend, workdir, extra = {}) {
  const env = { ...process.env, RUNBOX_DOCKER_IMAGE: dockerImage, ...extra };
  if (backend === 'subprocess') env.RUNBOX_SUBPROCESS_WORKDIR = workdir;
  if (backend === 'e2b') {
    env.E2B_API_URL = e2b.api;
    env.E2B_SANDBOX_URL = e2b.sandbox;
    env.E2B_API_KEY = e2b.key;
  }
  return env;
}

// The children of pid whose command name starts with prefix.
export function childrenOf(pid, prefix) {
  let n = 0;
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && comm.startsWith(prefix)) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

export async function sandboxesOf(backend, pid, workdir) {
  // A subprocess sandbox is an init process of runbox's (or, without
  // namespaces, a work directory).
  if (backend === 'subprocess')
    return childrenOf(pid, 'runbox-subproc') + fs.readdirSync(workdir).length;
  if (backend === 'e2b') return (await e2bStats()).live_sandboxes;
  const filters = encodeURIComponent(JSON.stringify({ label: [`runbox.pid=${pid}`] }));
  const res = await dockerApi(`/containers/json?all=1&filters=${filters}`);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).length;
}

// Polls until the sandbox count of a server drops to want.
export async function expectSandboxes(backend, pid, workdir, want, what, ms = 10000) {
  let n;
  for (const end = Date.now() + ms; Date.now() < end;) {
    n = await sandboxesOf(backend, pid, workdir);
    if (n === want) return;
    await sleep(100);
  }
  assert.fail(`${what}: ${n} sandboxes left, expected ${want}`);
}

// Under the ASan build a leak or an error is reported on stderr at exit.
export function assertCleanStderr(stderr, what) {
  assert.doesNotMatch(stderr, /Sanitizer|runtime error:/, `${what}: ${stderr}`);
}

export function newWorkdir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbox-mcp-test-'));
  fs.chmodSync(dir, 0o755); // the code may run as another user (nobody)
  return dir;
}

// Processes on this machine whose command line holds marker (containers'
// processes included: they are this kernel's processes too).
export function processesWith(marker) {
  const found = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (cmd.includes(marker)) found.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

// No JSON-RPC message may carry "id": null (MCP ids are never null; an
// error about an unreadable message leaves id out).
export function assertNoNullIds(messages) {
  for (const m of messages)
    assert.ok(!('id' in m) || m.id !== null, `"id": null sent: ${JSON.stringify(m)}`);
}

// A server driven with raw JSON-RPC lines over its stdio.
export function rawServer(backend, args = ['mcp', '-b', backend], extraEnv = {}) {
  const workdir = newWorkdir();
  const child = spawn(cli, args, {
    env: serverEnv(backend, workdir, extraEnv), stdio: ['pipe', 'pipe', 'pipe'],
  });
  const received = [];
  let stderr = '';
  const rl = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
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
      child.stdin.write((typeof msg === 'string' || Buffer.isBuffer(msg)
        ? msg : JSON.stringify(msg)));
      child.stdin.write('\n');
    },
    // Waits for the first message with this id.
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

export const call = (id, code, extra = {}, meta) => ({
  jsonrpc: '2.0', id, method: 'tools/call',
  params: { name: 'execute_code', arguments: { code, ...extra },
            ...(meta ? { _meta: meta } : {}) },
});

export const text = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('');
