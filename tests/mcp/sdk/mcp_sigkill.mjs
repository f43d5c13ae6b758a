// Nothing outlives a SIGKILLed `runbox mcp`: code started by a one-shot
// call and by a session call (each with a child process of its own, as
// hostile code would leave behind) must be gone by the call's timeout
// plus a grace period, although the server had no chance to clean up.
//
//   node mcp_sigkill.mjs subprocess|docker|e2b
//
// What stops the code is the backend's: the subprocess sandbox dies with
// its parent, a docker container carries its own deadline, an E2B sandbox
// its lifetime. Processes are found on this machine by a marker in their
// command line (container processes are this kernel's too).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as common from './common.mjs';
import { log, sleep, processesWith, rawServer, call, dockerApi } from './common.mjs';

const backend = process.argv[2] || 'subprocess';
await common.requireBackend(backend);

const TIMEOUT = 4;      // the calls' timeout, seconds
const GRACE = 30;       // what a backend may take beyond it (noisy machine)

const marker = `runbox-mcp-sigkill-${crypto.randomBytes(6).toString('hex')}`;
const code = (tag) =>
  'import subprocess, sys, time\n' +
  `subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "${marker}-${tag}"])\n` +
  'print("started", flush=True)\n' +
  'time.sleep(600)\n';

async function dockerContainersRunning(pid) {
  const filters = encodeURIComponent(JSON.stringify({ label: [`runbox.pid=${pid}`] }));
  const res = await dockerApi(`/containers/json?filters=${filters}`); // running only
  return JSON.parse(res.body).length;
}

const s = rawServer(backend);
try {
  await s.initialize();
  s.send(call('oneshot', code('oneshot'), { timeout: TIMEOUT }));
  s.send(call('session', code('session'), { timeout: TIMEOUT, session: 'kept' }));
  // Both runs (and their children) are up.
  let seen = [];
  for (let i = 0; i < 600 && seen.length < 2; i++) {
    seen = processesWith(`${marker}-`).filter((p) => /time\.sleep\(600\)/.test(p) &&
                                                        !/subprocess\.Popen/.test(p));
    await sleep(100);
  }
  assert.equal(seen.length, 2, `the children did not start: ${seen}\n${s.stderr()}`);
  const pid = s.child.pid;
  const killedAt = Date.now();
  s.child.kill('SIGKILL');
  await s.exited;
  log(`server SIGKILLed; ${seen.length} marked processes running`);

  let left = processesWith(marker);
  while (left.length && Date.now() - killedAt < (TIMEOUT + GRACE) * 1000) {
    await sleep(250);
    left = processesWith(marker);
  }
  const gone = (Date.now() - killedAt) / 1000;
  assert.deepEqual(left, [], `code still running ${gone.toFixed(1)} s after the SIGKILL ` +
                   `(timeout ${TIMEOUT} s + ${GRACE} s grace)`);
  log(`all code gone ${gone.toFixed(1)} s after the SIGKILL (timeout ${TIMEOUT} s)`);

  if (backend === 'subprocess') {
    assert.equal(common.childrenOf(pid, 'runbox-subproc'), 0, 'sandbox inits left');
  } else if (backend === 'docker') {
    let n = await dockerContainersRunning(pid);
    while (n && Date.now() - killedAt < (TIMEOUT + GRACE) * 1000) {
      await sleep(250);
      n = await dockerContainersRunning(pid);
    }
    assert.equal(n, 0, 'containers still running past their deadline');
    log(`docker: no container of the killed server runs ${((Date.now() - killedAt) / 1000).toFixed(1)} s after`);
  } else if (backend === 'e2b') {
    // The test double stops the code when the stream drops; real E2B may
    // not, so the sandboxes themselves must end with their lifetime: a
    // one-shot run's is its timeout + 60 s from its creation; a session's,
    // while a run goes on, that run's timeout + 30 s (300 s after its last
    // use only once the run is over). Both were running when killed.
    const now = Date.now();
    const sandboxes = await common.e2bSandboxes();
    assert.equal(sandboxes.length, 2, JSON.stringify(sandboxes));
    const ends = sandboxes.map((x) => (Date.parse(x.endAt) - now) / 1000).sort((a, b) => a - b);
    for (const end of ends) {
      assert.ok(end <= TIMEOUT + 60, `a sandbox lives ${end} s more after the SIGKILL ` +
                `(the calls' timeout is ${TIMEOUT} s)`);
    }
    log(`e2b: the sandboxes end ${ends.map((x) => x.toFixed(0)).join(' s and ')} s after the SIGKILL`);
  }
  log(`sigkill on ${backend}: ok`);
} catch (e) {
  console.error(`FAIL (${backend}): ${e.stack || e}\nserver stderr:\n${s.stderr()}`);
  for (const p of processesWith(marker)) {
    try {
      process.kill(Number(p.split(':')[0]), 'SIGKILL'); // leave nothing behind
    } catch {
      // gone
    }
  }
  process.exit(1);
} finally {
  s.cleanup();
}
process.exit(0);
