"""SIGINT, SIGTERM and SIGKILL to `runbox run`, `runbox repl` and
`runbox mcp` while the code runs, on one backend.

Usage: test_signals.py BACKEND   (subprocess, docker or e2b)

The code marks its processes (see test_hostile.py), starts a double-forked
setsid grandchild that ignores SIGTERM/SIGHUP, and sleeps. Once a marked
process is seen, runbox gets the signal. Nothing the code started may be
running past the run's timeout (plus a grace for the engine): no marked
process, no container of that runbox process (docker), no live sandbox
(e2b test server). After SIGINT/SIGTERM runbox itself must also exit
promptly; SIGKILL leaves it no chance to clean up, so there the backend's
own limits must end everything by the timeout.

e2b: the test server runs code as plain local processes (it is no
isolation boundary: a setsid grandchild escapes its process-group kill,
where E2B destroys the whole VM), so only sandboxes are checked. After
SIGKILL the sandbox is left to E2B's own timer: the test reads, through
the E2B API, when every live sandbox ends, and that must be at most the
run's timeout plus E2B_MARGIN after the code started. That holds for the
one-shot sandbox of `runbox run` and of `runbox mcp`'s execute_code
(created to live its run) and for the session sandbox of `runbox repl`
(bounded to the run while a run goes on; tests/mcp/sdk/mcp_sigkill.mjs
checks an MCP session's).
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_hostile as h  # noqa: E402  (shares the host checks)

RUN_TIMEOUT = 8   # the run's own wall-clock limit
E2B_MARGIN = 60   # the e2b backend's lifetime past a run's timeout
GRACE = 15        # engine latency on a loaded, shared machine

CODE = ("import os, time, signal\n"
        "open('/proc/self/comm', 'w').write('{mark}')\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        fd = os.open(os.devnull, os.O_RDWR)\n"
        "        for i in (0, 1, 2): os.dup2(fd, i)\n"
        "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "        signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "        time.sleep(1000)\n"
        "    os._exit(0)\n"
        "print('up', flush=True)\n"
        "time.sleep(1000)\n")


class SignalsBase(h.HostileBase):
    def start(self, mode, mark):
        code = CODE.format(mark=mark)
        env = dict(os.environ)
        env.update(self.env)
        common = ["--config", self.config, "-b", self.backend, "-t", str(RUN_TIMEOUT)]
        if mode == "run":
            path = os.path.join(self.tmp, "sig.py")
            with open(path, "w") as f:
                f.write(code)
            argv, stdin = [h.CLI, "run", *common, "-f", path], b""
        elif mode == "repl":
            argv = [h.CLI, "repl", *common]
            stdin = f"exec({code!r})\n".encode()
        else:
            argv = [h.CLI, "mcp", *common]
            msgs = [
                {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": {"name": "signals", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                 "params": {"name": "execute_code", "arguments": {"code": code}}},
            ]
            stdin = "".join(json.dumps(m) + "\n" for m in msgs).encode()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        proc.stdin.write(stdin)
        proc.stdin.flush()  # kept open: repl and mcp would end at EOF
        return proc

    def check_signal(self, mode, sig):
        mark = "rbs" + uuid.uuid4().hex[:8]
        if self.backend == "e2b":
            self.e2b_post("/_test/reset", {})
        proc = self.start(mode, mark)
        t0 = time.monotonic()
        try:
            while not h.marked_processes(mark):
                if proc.poll() is not None or time.monotonic() - t0 > 60:
                    self.fail(f"the code never started: {proc.stderr.read()[-500:]!r}")
                time.sleep(0.1)
            running_since = time.time()  # the run started before this
            time.sleep(0.5)  # the grandchild is up too
            proc.send_signal(sig)
            if mode == "repl" and sig == signal.SIGINT:
                # Ctrl-C cancels the running input; the session goes on
                # and ends with its input.
                self.wait_clean(mark, proc.pid, t0 + RUN_TIMEOUT + GRACE, sig, mode,
                                session_alive=True)
                self.assertIsNone(proc.poll(), "runbox repl ended on Ctrl-C")
                proc.stdin.close()
                self.assertEqual(proc.wait(timeout=GRACE), 0)
            elif sig != signal.SIGKILL:
                try:
                    proc.wait(timeout=GRACE)
                except subprocess.TimeoutExpired:
                    self.fail(f"runbox {mode} still running {GRACE} s after {sig.name}")
            else:
                proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if not proc.stdin.closed:
                proc.stdin.close()
            err = proc.stderr.read()
            proc.stderr.close()
        if self.backend == "e2b" and sig == signal.SIGKILL:
            ends = self.e2b_sandbox_ends()
            self.assertTrue(ends, "no sandbox listed: the check would prove nothing")
            for end in ends:
                # endAt is in whole seconds (rounded down).
                self.assertLessEqual(
                    end - running_since, RUN_TIMEOUT + E2B_MARGIN,
                    f"after SIGKILL to runbox {mode}, its sandbox would outlive "
                    f"the run's {RUN_TIMEOUT} s timeout by more than {E2B_MARGIN} s")
            return
        # Everything must be gone by the run's timeout (plus grace).
        self.wait_clean(mark, proc.pid, t0 + RUN_TIMEOUT + GRACE, sig, mode, err)
        if self.backend == "docker" and sig == signal.SIGKILL:
            # The stopped record goes with the next runbox that opens docker.
            env = dict(os.environ)
            env.update(self.env)
            gc = subprocess.run([h.CLI, "gc", "--config", self.config, "-b", "docker"],
                                capture_output=True, env=env, timeout=120)
            self.assertEqual(gc.returncode, 0, gc.stderr)
            self.assertEqual(self.leftovers(mark, proc.pid), [],
                             "runbox gc left the killed runbox's container")

    def wait_clean(self, mark, cli_pid, deadline, sig, mode, err=b"",
                   session_alive=False):
        """session_alive: the session's own container or sandbox is
        rightly still there; only the cancelled input's processes count."""
        def left_now():
            if session_alive:
                # The session's resident interpreter is the session's own
                # (the code renamed it with the mark, as it ran there).
                return [] if self.backend == "e2b" else \
                    [f"process {p}" for p in h.marked_processes(mark)
                     if not resident_interpreter(p)]
            return self.leftovers(mark, cli_pid, running_only=sig == signal.SIGKILL)
        while time.monotonic() < deadline:
            if not left_now():
                break
            time.sleep(0.3)
        left = left_now()
        for pid in h.marked_processes(mark):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        self.assertEqual(left, [], f"after {sig.name} to runbox {mode}: {err[-300:]!r}")

    def e2b_post(self, path, body):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=10)
        try:
            c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            c.getresponse().read()
        finally:
            c.close()

    def e2b_sandbox_ends(self):
        """When E2B ends each running sandbox (epoch seconds), as its API's
        list says (endAt)."""
        import calendar
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=10)
        try:
            c.request("GET", "/v2/sandboxes", headers={"X-API-KEY": self.env["E2B_API_KEY"]})
            listed = json.loads(c.getresponse().read())
        finally:
            c.close()
        return [calendar.timegm(time.strptime(x["endAt"], "%Y-%m-%dT%H:%M:%SZ"))
                for x in listed]

    def leftovers(self, mark, cli_pid, running_only=False):
        """running_only: after SIGKILL runbox cannot remove its container;
        the container's own deadline stops it, and its stopped record is
        removed by the next runbox that opens docker (or `runbox gc`)."""
        left = [] if self.backend == "e2b" else \
            [f"process {p}" for p in h.marked_processes(mark)]
        if self.backend == "docker":
            filters = urllib.parse.quote(json.dumps(
                {"label": ["runbox=1", f"runbox.pid={cli_pid}"]}))
            every = "" if running_only else "all=1&"
            status, body = h.docker_get(f"/containers/json?{every}filters={filters}")
            left += [f"container {c['Id'][:12]}" for c in json.loads(body)]
        if self.backend == "e2b":
            live = self.e2b_stats()["live_sandboxes"]
            left += [f"{live} live sandbox(es)"] if live else []
        return left


def resident_interpreter(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"runbox_driver.py" in f.read()
    except OSError:
        return False


# Cases a backend cannot pass yet, with the reason (expected failures: the
# day one passes, the suite fails until its entry is removed).
KNOWN_GAPS = {}


def make_test(mode, sig):
    def test(self):
        self.check_signal(mode, sig)
    if (h.BACKEND, mode, sig.name) in KNOWN_GAPS:
        test = unittest.expectedFailure(test)
    return test


for _mode in ("run", "repl", "mcp"):
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        setattr(SignalsBase, f"test_{_mode}_{_sig.name.lower()}", make_test(_mode, _sig))

# Only the signal tests here, not the hostile cases this class inherits.
for _name in list(vars(h.HostileBase)):
    if _name.startswith("test_"):
        setattr(SignalsBase, _name, None)


if __name__ == "__main__":
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(
        SignalsBase(n) for n in loader.getTestCaseNames(SignalsBase)
        if getattr(SignalsBase, n) is not None)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
