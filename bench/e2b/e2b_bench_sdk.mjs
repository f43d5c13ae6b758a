// The official E2B SDK side of bench/e2b/run: the same operations as
// e2b_bench_client.c (print(1) one-shot = create, runCode, kill; or runCode
// in one sandbox), one JSON line per execution.
// usage: node e2b_bench_sdk.mjs oneshot|session N API_URL SANDBOX_URL API_KEY
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [mode, n, apiUrl, sandboxUrl, apiKey] = process.argv.slice(2);
const sdkDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'e2b', 'sdk');
const require = createRequire(join(sdkDir, 'package.json'));
const { Sandbox } = await import(pathToFileURL(require.resolve('@e2b/code-interpreter')).href);
const opts = { apiUrl, sandboxUrl, apiKey };

async function stats() {
  const s = await (await fetch(`${apiUrl}/_test/stats`)).json();
  return [s.server_seconds, Object.values(s.requests).reduce((a, b) => a + b, 0)];
}

const session = mode === 'session' ? await Sandbox.create(opts) : null;
for (let i = -1; i < Number(n); i++) {
  const [s0, q0] = await stats();
  const t0 = performance.now();
  let ex;
  if (session) {
    ex = await session.runCode('print(1)');
  } else {
    const sbx = await Sandbox.create(opts);
    ex = await sbx.runCode('print(1)');
    await sbx.kill();
  }
  const t1 = performance.now();
  const [s1, q1] = await stats();
  if (ex.logs.stdout.join('') !== '1\n') throw new Error('unexpected output');
  if (i >= 0) {
    console.log(JSON.stringify({ wall: (t1 - t0) / 1000, server: s1 - s0, requests: q1 - q0 }));
  }
}
if (session) await session.kill();
