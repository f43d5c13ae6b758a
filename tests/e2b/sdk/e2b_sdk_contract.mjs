// Contract test: the official E2B SDK (@e2b/code-interpreter, pinned in
// package.json) against runbox's E2B-compatible test server. If the SDK is
// happy with the server, the server speaks the real protocol, and the C
// backend's tests against it mean something.
//
// Starts the server itself, prints PASS/FAIL per operation, exits 0 only if
// every operation passed (1 = a failure, 2 = bad setup; 77 = skipped because
// the SDK is not installed, outside CI only).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const serverPath = join(here, '..', 'e2b_test_server.py');
const apiKey = 'e2b_contract_key';

let Sandbox;
try {
  ({ Sandbox } = await import('@e2b/code-interpreter'));
} catch (e) {
  console.error(`SETUP: cannot load @e2b/code-interpreter (${e.message}); ` +
    `run "npm ci" in ${here} (scripts/setup.sh does it)`);
  // Skipped (77) on a developer's machine; a failure in CI, which must
  // never pass without having run the SDK.
  process.exit(process.env.CI ? 2 : 77);
}

function startServer() {
  const child = spawn(process.env.PYTHON || 'python3', [serverPath, '--api-key', apiKey],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => resolve({ child, ports: JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`test server exited (${code})`)));
  });
}

let failures = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    console.log(`PASS ${name}${detail ? ` (${detail})` : ''}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
}
function expectEq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

let server;
try {
  server = await startServer();
} catch (e) {
  console.error(`SETUP: ${e.message}`);
  process.exit(2);
}
const { api_port: apiPort, sandbox_port: sandboxPort } = server.ports;
process.env.E2B_API_URL = `http://127.0.0.1:${apiPort}`;
process.env.E2B_SANDBOX_URL = `http://127.0.0.1:${sandboxPort}`;
process.env.E2B_API_KEY = apiKey;
delete process.env.E2B_DEBUG;

async function stats() {
  const r = await fetch(`http://127.0.0.1:${apiPort}/_test/stats`);
  return r.json();
}

let sbx;
try {
  await check('create', async () => {
    sbx = await Sandbox.create({ timeoutMs: 120000 });
    if (!sbx.sandboxId) throw new Error('no sandbox id');
    return sbx.sandboxId;
  });
  if (!sbx) throw new Error('create failed; nothing else can run');

  await check('runCode print(1)', async () => {
    const ex = await sbx.runCode('print(1)');
    expectEq(ex.logs.stdout, ['1\n'], 'stdout');
    if (ex.error) throw new Error(`unexpected error ${ex.error.name}`);
  });
  await check('runCode 1/0', async () => {
    const ex = await sbx.runCode('1/0');
    expectEq(ex.error && ex.error.name, 'ZeroDivisionError', 'error.name');
    expectEq(ex.error.value, 'division by zero', 'error.value');
  });
  await check('runCode 1+1 result', async () => {
    const ex = await sbx.runCode('1+1');
    expectEq(ex.text, '2', 'text');
  });
  const path = '/home/user/contract.txt';
  const text = 'contract ✓ 123\n';
  await check('files.write', async () => {
    const info = await sbx.files.write(path, text);
    expectEq(info.path, path, 'path');
  });
  await check('files.read', async () => {
    expectEq(await sbx.files.read(path), text, 'content');
  });
  await check('files.read missing', async () => {
    try {
      await sbx.files.read('/home/user/nope.txt');
    } catch (e) {
      if (/not.?found/i.test(e.name + e.message)) return e.name;
      throw e;
    }
    throw new Error('reading a missing file did not fail');
  });
  await check('files.exists', async () => {
    expectEq(await sbx.files.exists(path), true, 'exists');
    expectEq(await sbx.files.exists('/home/user/nope.txt'), false, 'missing');
  });
  await check("commands.run('echo hi')", async () => {
    const r = await sbx.commands.run('echo hi');
    expectEq([r.exitCode, r.stdout], [0, 'hi\n'], 'exitCode, stdout');
  });
  await check('commands.run exit 3', async () => {
    try {
      await sbx.commands.run('echo oops >&2; exit 3');
    } catch (e) {
      expectEq([e.exitCode, e.stderr], [3, 'oops\n'], 'exitCode, stderr');
      return;
    }
    throw new Error('a failing command did not throw');
  });
  await check('isRunning', async () => expectEq(await sbx.isRunning(), true, 'isRunning'));
  await check('getInfo', async () => {
    const info = await sbx.getInfo();
    expectEq(info.sandboxId, sbx.sandboxId, 'sandboxId');
  });
  // Created to live 120 s: setTimeout counts from now and may shorten it
  // (runbox bounds a session's lifetime to each run this way).
  await check('setTimeout', async () => {
    await sbx.setTimeout(60000);
    const left = (new Date((await sbx.getInfo()).endAt) - Date.now()) / 1000;
    if (left > 60 || left < 50) throw new Error(`ends in ${left} s, not 60 s`);
    return `ends in ${left.toFixed(0)} s`;
  });
  await check('list', async () => {
    const items = await Sandbox.list().nextItems();
    if (!items.some((s) => s.sandboxId === sbx.sandboxId)) throw new Error('sandbox not listed');
    return `${items.length} listed`;
  });
  await check('connect', async () => {
    const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 90000 });
    const ex = await again.runCode('print(2)');
    expectEq(ex.logs.stdout, ['2\n'], 'stdout');
  });
  await check('code context', async () => {
    const ctx = await sbx.createCodeContext({ language: 'python' });
    const ex = await sbx.runCode('print(3)', { context: ctx });
    expectEq(ex.logs.stdout, ['3\n'], 'stdout');
    const listed = await sbx.listCodeContexts();
    if (!listed.some((c) => c.id === ctx.id)) throw new Error('context not listed');
    await sbx.removeCodeContext(ctx.id);
  });
  await check('kill', async () => {
    expectEq(await sbx.kill(), true, 'kill');
    expectEq((await stats()).live_sandboxes, 0, 'live sandboxes after kill');
  });
  await check('kill again', async () => expectEq(await sbx.kill(), false, 'second kill'));
  await check('isRunning after kill', async () => expectEq(await sbx.isRunning(), false, 'isRunning'));
  await check('wrong API key rejected', async () => {
    try {
      await Sandbox.create({ apiKey: 'e2b_wrong' });
    } catch (e) {
      if (/auth|401|credential/i.test(e.name + e.message)) return e.name;
      throw e;
    }
    throw new Error('create with a wrong key succeeded');
  });
} catch (e) {
  failures++;
  console.log(`FAIL ${e.message}`);
} finally {
  server.child.kill('SIGTERM');
}
console.log(failures ? `${failures} operation(s) failed` : 'all operations passed');
process.exit(failures ? 1 : 0);
