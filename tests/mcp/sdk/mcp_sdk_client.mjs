// Drives `runbox mcp -b <backend>` over stdio end to end: first as raw
// JSON-RPC lines (framing, errors and their ids, damaged text, huge lines,
// cancellation without a response or progress, shutdown on EOF and
// SIGTERM), then through the official MCP TypeScript SDK client (tools and
// their descriptions, what the model reads, sessions and their limits,
// progress, abort, images).
//
//   node mcp_sdk_client.mjs subprocess|docker|e2b
//
// See common.mjs for the environment. Exits 77 (skipped) when the SDK or
// the backend is missing here, and fails instead when CI=true.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as common from './common.mjs';
import { log, skip, sleep, within, serverEnv, newWorkdir, assertCleanStderr,
         assertNoNullIds, call, text, cli } from './common.mjs';

const backend = process.argv[2] || 'subprocess';

let Client, StdioClientTransport;
try {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js'));
} catch (e) {
  skip(`@modelcontextprotocol/sdk is not installed (run scripts/setup.sh, or ` +
       `npm ci in tests/mcp/sdk): ${e.message}`);
}
await common.requireBackend(backend);

const sandboxesOf = (pid, workdir) => common.sandboxesOf(backend, pid, workdir);
const expectSandboxes = (pid, workdir, want, what, ms) =>
  common.expectSandboxes(backend, pid, workdir, want, what, ms);
const rawServer = (args, env) => common.rawServer(backend, args, env);

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
    // Errors about messages whose id cannot be read leave "id" out.
    const early = s.received.filter((m) => !('id' in m));
    assert.deepEqual(early.map((m) => m.error.code), [-32700, -32600, -32600]);
    assert.equal((await s.reply(2)).error.code, -32600, 'tools/list before initialize');
    assert.deepEqual((await s.reply(3)).result, {}, 'ping before initialize');
    assert.equal((await s.reply(4)).error.code, -32601, 'server/discover');

    const init = await s.initialize('2024-11-05');
    assert.equal(init.result.protocolVersion, '2024-11-05');
    assert.equal(init.result.serverInfo.name, 'python_executor');
    assert.match(init.result.instructions, new RegExp(`Backend: ${backend}`));

    // A request with a readable id but text that is no text is answered,
    // with that id: a lone surrogate, invalid UTF-8 bytes.
    s.send('{"jsonrpc":"2.0","id":"lone","method":"tools/call","params":{"name":' +
           '"execute_code","arguments":{"code":"x = \'\\ud800\'"}}}');
    let r = await s.reply('lone');
    assert.equal(r.error.code, -32602, JSON.stringify(r));
    assert.match(r.error.message, /surrogate/);
    s.send(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":"bytes","method":"tools/call",' +
                                      '"params":{"name":"execute_code","arguments":{"code":"\''),
                          Buffer.from([0xff, 0xfe]), Buffer.from('\'"}}}')]));
    r = await s.reply('bytes');
    assert.equal(r.error.code, -32602, JSON.stringify(r));
    assert.match(r.error.message, /UTF-8/);

    // A line over 16 MiB is answered with its id, even when the id comes
    // last (as the TypeScript SDK writes requests), without taking the
    // server down.
    s.send('{"method":"tools/call","params":{"name":"execute_code","arguments":' +
           '{"code":"' + 'x'.repeat(16 * 1024 * 1024 + 10) + '"}},"jsonrpc":"2.0","id":"huge"}');
    r = await s.reply('huge', 30000);
    assert.equal(r.error.code, -32600);
    assert.match(r.error.message, /16 MiB/);
    s.send({ jsonrpc: '2.0', id: 5, method: 'ping' });
    assert.deepEqual((await s.reply(5, 20000)).result, {});
    // With no id in sight: a parse error without id.
    s.send('"' + 'y'.repeat(16 * 1024 * 1024 + 10) + '"');
    s.send({ jsonrpc: '2.0', id: 6, method: 'ping' });
    await s.reply(6, 30000);
    assert.ok(s.received.some((m) => !('id' in m) && m.error?.code === -32700 &&
                                     /16 MiB/.test(m.error.message)), 'huge line without id');

    // No progress after a cancel was handled, although output still flows
    // while the sandbox stops.
    // The code shrugs off the interrupt and its child prints on: output
    // flows until the sandbox is gone.
    s.send(call(20, 'import subprocess, sys, time\n' +
                'subprocess.Popen([sys.executable, "-c", "import time\\nwhile True:\\n' +
                '    print(\'child\', flush=True)\\n    time.sleep(0.01)"])\n' +
                'while True:\n    try:\n        print("tick", flush=True)\n        time.sleep(0.02)\n' +
                '    except BaseException:\n        pass\n',
                {}, { progressToken: 'p20' }));
    for (let i = 0; i < 200 && !s.received.some((m) => m.params?.progressToken === 'p20'); i++)
      await sleep(50);
    assert.ok(s.received.some((m) => m.params?.progressToken === 'p20'), 'progress before the cancel');
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled',
             params: { requestId: 20, reason: 'test' } });
    for (let i = 0; i < 100 && !/request 20 cancelled/.test(s.stderr()); i++) await sleep(20);
    assert.match(s.stderr(), /request 20 cancelled/);
    await sleep(300); // what was written before the cancel was handled has arrived
    const mark = s.received.length;
    await sleep(2500);
    const late = s.received.slice(mark).filter((m) => m.params?.progressToken === 'p20');
    assert.deepEqual(late, [], 'progress notifications after the cancel was handled');
    assert.equal(s.received.find((m) => m.id === 20), undefined, 'no response after cancel');
    log('raw: no progress after a handled cancel');

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
    assertNoNullIds(s.received);
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
    const init = await s.initialize('2025-03-26'); // what SDK 1.11 asks for
    assert.equal(init.result.protocolVersion, '2025-03-26');
    assert.match(init.result.instructions, /not available yet.*no_such_backend/s);
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

async function sdkClient() {
  const workdir = newWorkdir();
  const transport = new StdioClientTransport({
    command: cli, args: ['mcp', '-b', backend], env: serverEnv(backend, workdir), stderr: 'pipe',
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
                     ['close_session', 'execute_code', 'get_environment', 'install_package']);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.equal(t.outputSchema.type, 'object', t.name);
      assert.equal(typeof t.annotations, 'object', t.name);
    }
    const exec = tools.find((t) => t.name === 'execute_code');
    assert.deepEqual(exec.inputSchema.required, ['code']);
    assert.equal(tools.find((t) => t.name === 'get_environment').annotations.readOnlyHint, true);
    assert.equal(exec.annotations.destructiveHint, false);
    assert.equal(tools.find((t) => t.name === 'close_session').annotations.destructiveHint, true);
    // The language enum, the timeout maximum and the descriptions come from
    // the backend and the settings.
    assert.ok(exec.inputSchema.properties.language.enum.includes('python'));
    assert.equal(exec.inputSchema.properties.language.default, 'python');
    assert.equal(exec.inputSchema.properties.timeout.maximum, 600);
    assert.match(exec.description, new RegExp(`Backend: ${backend}\\. Network: off`));
    const env0 = (await client.callTool({ name: 'get_environment', arguments: {} })).structuredContent;
    const caps = env0.capabilities || '';
    if (/interpreter/.test(caps))
      assert.match(exec.description, /variables, imports and functions/);
    else
      assert.match(exec.description, /NOT variables/);
    assert.match(tools.find((t) => t.name === 'install_package').description, /network = on/);
    assert.match(client.getInstructions(), /install_package refuses/);

    // The SDK checks structuredContent against outputSchema on every call.
    let r = await client.callTool({ name: 'execute_code', arguments: { code: 'print(6 * 7)' } });
    assert.equal(r.isError, false);
    assert.equal(text(r).trim(), '42');
    assert.equal(r.structuredContent.success, true);
    assert.equal(r.structuredContent.verdict, 'ok');
    assert.equal(r.structuredContent.stdout, '42\n');
    assert.equal(r.structuredContent.backend, backend);

    // The value of a final expression, where the backend reports it.
    if (/rich-results|rich_results/.test(caps)) {
      r = await client.callTool({ name: 'execute_code', arguments: { code: 'x = 41\nprint("hi")\nx + 1' } });
      assert.equal(text(r), 'hi\nOut: 42\n');
      assert.ok(r.structuredContent.results.some((x) => x.main && x.text === '42'));
    }

    r = await client.callTool({ name: 'execute_code', arguments: { code: 'x = 1\n1/0' } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /ZeroDivisionError/);
    assert.equal(r.structuredContent.success, false);
    assert.equal(r.structuredContent.error.name, 'ZeroDivisionError');

    r = await client.callTool({ name: 'execute_code', arguments: { code: 'import sys; sys.exit(3)' } });
    assert.equal(r.isError, true, text(r));
    assert.equal(r.structuredContent.exit_code, 3);
    assert.match(text(r), /--- exit code 3 ---\n--- verdict: exit_nonzero[^\n]*---\n$/);
    // (The E2B backend reports a crashed interpreter as a silent success
    // today: nothing for the text to show.)
    if (backend !== 'e2b') {
      r = await client.callTool({ name: 'execute_code', arguments: {
        code: 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)' } });
      assert.equal(r.isError, true, text(r));
      assert.match(text(r), /killed by signal 11 \(SIGSEGV\)/);
      assert.match(text(r), /--- verdict: signaled[^\n]*---\n$/);
    }

    // After long output the error, the exit status and the verdict are
    // still there, at the end; both ends of the output too.
    r = await client.callTool({ name: 'execute_code', arguments: {
      code: 'print("B" + "y" * 200_000 + "E")\nraise ValueError("the important error")' } });
    assert.equal(r.isError, true, text(r));
    const t1 = text(r);
    assert.ok(t1.length <= 20000, `text length ${t1.length}`);
    assert.match(t1, /--- stdout: 200003 bytes written, middle left out below ---\nByyy/);
    assert.match(t1, /yyyE\n/);
    assert.match(t1, /ValueError: the important error/);
    assert.match(t1, /--- verdict: error[^\n]*---\n$/);
    assert.equal(r.structuredContent.stdout.length, 200003, 'structuredContent is whole');

    // NUL in code is refused, not cut short; timeouts have a maximum.
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print("a")\u0000print("b")' } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /NUL character/);
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print(1)', timeout: 100000 } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /maximum of 600 s \(setting max_timeout\)/);
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print(1)', language: 'cobol' } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /cobol/);

    // install_package: archives are refused like paths; without network it
    // refuses at once, naming the setting.
    r = await client.callTool({ name: 'install_package', arguments: { package: 'x-1.0-py3-none-any.whl' } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /archive/);
    let at0 = Date.now();
    r = await client.callTool({ name: 'install_package', arguments: { package: 'six' } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /no network.*network = on/s);
    assert.ok(Date.now() - at0 < 3000, `install refusal took ${Date.now() - at0} ms`);

    // Bad arguments of a known tool are tool errors; an unknown tool is -32602.
    r = await client.callTool({ name: 'execute_code', arguments: {} });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /missing required argument 'code'/);
    r = await client.callTool({ name: 'execute_code', arguments: { code: 'print(1)', timeout: -1 } });
    assert.equal(r.isError, true, text(r));
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
    assert.ok(text(r).length <= 20000, `text length ${text(r).length}`);
    assert.match(text(r), /bytes left out here/);

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

    // close_session: the state goes, the name starts afresh.
    r = await client.callTool({ name: 'execute_code', arguments: {
      session: 'gone', code: 'open("g.txt", "w").write("x")' } });
    assert.equal(r.isError, false, text(r));
    const withGone = await sandboxesOf(pid, workdir);
    r = await client.callTool({ name: 'close_session', arguments: { session: 'gone' } });
    assert.deepEqual(r.structuredContent, { session: 'gone', closed: true });
    await expectSandboxes(pid, workdir, withGone - 1, 'after close_session');
    r = await client.callTool({ name: 'close_session', arguments: { session: 'gone' } });
    assert.deepEqual(r.structuredContent, { session: 'gone', closed: false });
    assert.equal(r.isError, false);
    r = await client.callTool({ name: 'execute_code', arguments: {
      session: 'gone', code: 'import os; print(os.path.exists("g.txt"))' } });
    assert.equal(text(r).trim(), 'False');
    r = await client.callTool({ name: 'close_session', arguments: { session: 'gone' } });
    assert.equal(r.structuredContent.closed, true);

    r = await client.callTool({ name: 'install_package', arguments: { package: '--index-url=x' } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /option/);
    r = await client.callTool({ name: 'install_package', arguments: { package: 'numpy; os.system("x")' } });
    assert.equal(r.isError, true, text(r));

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


// Sessions an agent can manage: idle ones close by themselves (and say so
// when the name is used again), the least recently used makes room.
async function sessionLimits() {
  const workdir = newWorkdir();
  let stderr = '';
  const connect = async (idle, env = {}) => {
    const transport = new StdioClientTransport({
      command: cli, args: ['mcp', '-b', backend],
      env: serverEnv(backend, workdir, { RUNBOX_SESSION_IDLE: idle, ...env }), stderr: 'pipe',
    });
    stderr = '';
    transport.stderr.on('data', (d) => (stderr += d));
    const client = new Client({ name: 'runbox-mcp-sessions', version: '1.0.0' });
    await client.connect(transport);
    return { client, pid: transport.pid };
  };
  let c;
  try {
    c = await connect('2');
    const { tools } = await c.client.listTools();
    assert.match(tools.find((t) => t.name === 'execute_code').description,
                 /A session unused for 2 s is closed/);
    let r = await c.client.callTool({ name: 'execute_code', arguments: {
      session: 'idle', code: 'open("f.txt", "w").write("1")' } });
    assert.equal(r.isError, false, text(r));
    const at = Date.now();
    await expectSandboxes(c.pid, workdir, 0, 'an idle session is closed', 15000);
    log(`sessions: idle session closed ${Date.now() - at} ms after its last use`);
    assert.match(stderr, /closing session 'idle', unused for/);
    r = await c.client.callTool({ name: 'execute_code', arguments: {
      session: 'idle', code: 'import os; print(os.path.exists("f.txt"))' } });
    assert.match(text(r), /closed after being unused/);
    assert.match(text(r), /False/);
    await c.client.close();

    // The settings: a smaller text limit and timeout maximum.
    c = await connect('0', { RUNBOX_MCP_TEXT_LIMIT: '3000', RUNBOX_MAX_TIMEOUT: '90' });
    r = await c.client.callTool({ name: 'execute_code', arguments: {
      code: 'import sys\nprint("o" * 50000)\nprint("e" * 50000, file=sys.stderr)\nsys.exit(4)' } });
    assert.ok(text(r).length <= 3000, `text length ${text(r).length} over mcp_text_limit`);
    assert.match(text(r), /--- stdout: 50001 bytes written/);
    assert.match(text(r), /--- stderr: 50001 bytes written/);
    assert.match(text(r), /--- exit code 4 ---\n--- verdict: exit_nonzero[^\n]*---\n$/);
    r = await c.client.callTool({ name: 'execute_code', arguments: { code: 'print(1)', timeout: 91 } });
    assert.match(text(r), /maximum of 90 s/);
    r = await c.client.callTool({ name: 'execute_code', arguments: { code: 'print(1)', timeout: 90 } });
    assert.equal(r.isError, false, text(r));
    await c.client.close();

    if (backend !== 'docker') { // 17 containers would cost half a minute
      // 16 sessions are open at most: the 17th closes the least recently used.
      c = await connect('0');
      for (let i = 0; i < 17; i++) {
        r = await c.client.callTool({ name: 'execute_code', arguments: {
          session: `s${i}`, code: `print(${i})` } });
        assert.equal(r.isError, false, `session s${i}: ${text(r)}`);
      }
      assert.ok(await sandboxesOf(c.pid, workdir) <= 16, 'at most 16 sandboxes');
      assert.match(stderr, /closing session 's0', the least recently used, to open 's16'/);
      r = await c.client.callTool({ name: 'execute_code', arguments: { session: 's0', code: 'print("s0 again")' } });
      assert.equal(r.isError, false, text(r));
      assert.match(text(r), /make room for a newer one/);
      log('sessions: the 17th session evicted the least recently used');
    }
  } catch (e) {
    console.error(`server stderr:\n${stderr}`);
    throw e;
  } finally {
    await c?.client.close().catch(() => {});
    fs.rmSync(workdir, { recursive: true, force: true });
  }
}

// Figures come as MCP image content, the final value as "Out: ...", and
// structuredContent keeps the typed values.
async function imageContent() {
  const workdir = newWorkdir();
  const transport = new StdioClientTransport({
    command: cli, args: ['mcp', '-b', backend], env: serverEnv(backend, workdir), stderr: 'pipe',
  });
  const client = new Client({ name: 'runbox-mcp-images', version: '1.0.0' });
  try {
    await client.connect(transport);
    // A real PNG header: 1x1 pixel.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>';
    // E2B's code interpreter publishes display() outputs; a notebook-style
    // interpreter (docker) shows a final value's _repr_png_/_repr_svg_.
    const code = backend === 'e2b'
      ? `import base64\ndisplay_png(base64.b64decode("${png.toString('base64')}"))\n` +
        `display_svg('${svg}')\nprint("drawn")\n{"answer": 42}`
      : `import base64\nclass Fig:\n    def _repr_png_(self):\n` +
        `        return base64.b64decode("${png.toString('base64')}")\n` +
        `    def _repr_svg_(self):\n        return '${svg}'\n` +
        `    def __repr__(self):\n        return "{'answer': 42}"\nprint("drawn")\nFig()`;
    const r = await client.callTool({ name: 'execute_code', arguments: { code } });
    assert.equal(r.isError, false, text(r));
    const images = r.content.filter((c) => c.type === 'image');
    assert.equal(images.length, 2, JSON.stringify(r.content.map((c) => c.type)));
    const pngItem = images.find((c) => c.mimeType === 'image/png');
    const svgItem = images.find((c) => c.mimeType === 'image/svg+xml');
    assert.deepEqual(Buffer.from(pngItem.data, 'base64'), png);
    assert.equal(Buffer.from(svgItem.data, 'base64').toString(), svg);
    // SVG also as text, for clients that take only PNG and JPEG.
    assert.ok(r.content.some((c) => c.type === 'text' && c.text.includes(svg)));
    const t = text(r);
    assert.match(t, /\[figure \d: image\/png, \d+ bytes, sent as image content\]/);
    assert.match(t, /drawn\n/);
    assert.match(t, /Out: \{'answer': 42\}/);
    const typed = r.structuredContent.results;
    assert.ok(typed.some((x) => x.mime === 'image/png' && x.base64 === png.toString('base64')));
    assert.ok(typed.some((x) => x.main && x.mime === 'text/plain'));
    log('images: PNG and SVG as image content, the value as Out:');
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
  await sessionLimits();
  log(`session limits on ${backend}: ok`);
  if (backend !== 'subprocess') { // the backends that report rich results
    await imageContent();
    log('image content: ok');
  }
} catch (e) {
  console.error(`FAIL (${backend}): ${e.stack || e}`);
  process.exit(1);
}
process.exit(0); // the E2B test server, a child, would keep us alive

