"""Warm pools on every backend, driven through tests/pool/pool_driver.c:
a pool never hands out a used sandbox, refills, replaces expired and dead
sandboxes, and leaves nothing behind after close, SIGTERM and SIGKILL.

docker runs against the real engine, e2b against tests/e2b/e2b_test_server.py.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

DRIVER = os.environ["RUNBOX_POOL_DRIVER"]
SOURCE = os.environ.get("RUNBOX_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
IN_CI = os.environ.get("CI") in ("true", "1")

# Each run checks for what an earlier run would have left (a file in the
# work directory and, where the sandbox has its own, in /tmp; a detached
# process where it has its own process table), then leaves them.
PROBE = r"""
import os, subprocess, sys
WHOLE = WHOLE_VALUE
left_file = os.path.exists('pool_marker') or (
    WHOLE and os.path.exists('/tmp/pool_marker'))
left_proc = False
for p in os.listdir('/proc') if WHOLE else ():
    try:
        with open('/proc/%s/cmdline' % p, 'rb') as f:
            left_proc |= b'runbox-pool-daemon' in f.read()
    except OSError:
        pass
print(left_file, left_proc)
open('pool_marker', 'w').write('x')
if WHOLE:
    open('/tmp/pool_marker', 'w').write('x')
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)',
                  'runbox-pool-daemon'], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


def unavailable(why):
    """A missing daemon fails in CI and is a visible skip elsewhere."""
    if IN_CI:
        raise AssertionError(why)
    raise unittest.SkipTest(why)


class Driver:
    """One pool_driver process: a pool of `size` on `backend`."""

    def __init__(self, backend, size, max_age, env):
        full = dict(os.environ)
        full.update(env)
        self.proc = subprocess.Popen(
            [DRIVER, backend, str(size), str(max_age)], env=full,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()
        if not first:
            raise AssertionError("pool_driver did not start (see stderr)")
        self.pid = json.loads(first)["pid"]

    def cmd(self, **kw):
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("pool_driver died")
        return json.loads(line)

    def wait(self, n, timeout=90):
        a = self.cmd(op="wait", n=n, timeout=timeout)
        assert a["rc"] == 0, a
        return a["pool"]

    def run(self, code):
        return self.cmd(op="run", code=code)

    def close(self, timeout=60):
        self.proc.stdin.close()
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def descendants(pid):
    """(pid, start time) of every process under pid."""
    parent, start = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(p)] = int(fields[1])
        start[int(p)] = fields[19]
    out, todo = set(), [pid]
    while todo:
        cur = todo.pop()
        for child, par in parent.items():
            if par == cur:
                out.add((child, start[child]))
                todo.append(child)
    return out


def alive(procs):
    left = set()
    for pid, start in procs:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[19] == start and fields[0] != "Z":
                left.add(pid)
        except OSError:
            pass
    return left


class PoolCases:
    """The cases every backend must pass; subclasses say how to reach the
    backend and how to see what a driver left behind."""
    backend = None
    # Does a sandbox have its own /tmp and process table?
    whole_machine = True

    def env(self):
        return {"RUNBOX_TIMEOUT": "20"}

    def driver(self, size=2, max_age=300, env=None):
        e = self.env()
        e.update(env or {})
        d = Driver(self.backend, size, max_age, e)
        self.addCleanup(d.kill)
        return d

    # what a driver process made that is still there
    def before_exit(self, d):
        return None

    def leftovers(self, d, seen):
        raise NotImplementedError

    def test_never_hands_out_a_used_sandbox(self):
        d = self.driver(size=2)
        for i in range(5):
            d.wait(1)
            a = d.run(PROBE.replace("WHOLE_VALUE", str(self.whole_machine)))
            self.assertEqual(a["verdict"], "ok", a)
            self.assertEqual(a["stdout"].strip(), "False False",
                             f"run {i} saw what an earlier run left: {a}")
        self.assertGreaterEqual(a["pool"]["hits"], 5, a["pool"])
        self.assertEqual(d.close(), 0)

    def test_refills(self):
        d = self.driver(size=2)
        d.wait(2)
        a = d.run("print(6*7)")
        self.assertEqual(a["stdout"], "42\n", a)
        self.assertEqual(a["pool"]["hits"], 1, a["pool"])
        st = d.wait(2)
        self.assertEqual(st["ready"], 2, st)
        self.assertGreaterEqual(st["created"], 3, st)

    def test_replaces_expired(self):
        d = self.driver(size=1, max_age=1)
        first = d.wait(1)
        time.sleep(2.5)
        st = d.wait(1)
        self.assertGreaterEqual(st["expired"], 1, st)
        self.assertGreater(st["created"], first["created"], st)
        a = d.run("print(1)")
        self.assertEqual(a["stdout"], "1\n", a)
        self.assertEqual(a["pool"]["hits"], 1, a["pool"])

    def kill_one_pooled(self, d):
        """Kills one ready sandbox from outside, as a crash would."""
        raise unittest.SkipTest("no way to kill one from outside")

    def test_replaces_dead(self):
        d = self.driver(size=1)
        d.wait(1)
        self.kill_one_pooled(d)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = d.cmd(op="stats")["pool"]
            if st["dead"] >= 1 and st["ready"] == 1:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(st["dead"], 1, st)
        a = d.run("print(1)")
        self.assertEqual((a["verdict"], a["stdout"]), ("ok", "1\n"), a)
        self.assertEqual(a["pool"]["hits"], 1, a["pool"])

    def test_close_leaves_nothing(self):
        d = self.driver(size=2)
        d.wait(2)
        d.run("print(1)")
        d.wait(2)
        seen = self.before_exit(d)
        self.assertEqual(d.close(), 0)
        self.assertEqual(self.leftovers(d, seen), set())

    def test_sigterm_and_sigint_leave_nothing(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            d = self.driver(size=2)
            d.wait(2)
            seen = self.before_exit(d)
            d.proc.send_signal(sig)
            self.assertEqual(d.proc.wait(60), 130)
            self.assertEqual(self.leftovers(d, seen), set(), sig)

    def test_sigkill_leaves_nothing_past_the_lifetime(self):
        # timeout 2 s and max age 2 s: every pooled sandbox ends by itself
        # within 2 + 2 + 10 s of its creation, without runbox.
        d = self.driver(size=2, max_age=2, env={"RUNBOX_TIMEOUT": "2"})
        d.wait(2)
        seen = self.before_exit(d)
        d.proc.kill()
        d.proc.wait()
        deadline = time.monotonic() + 40
        left = self.running_after_kill(d, seen)
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = self.running_after_kill(d, seen)
        self.assertEqual(left, set())
        self.reaped_by_the_next_runbox(d, seen)

    def test_sigkill_mid_run_ends_by_the_lifetime(self):
        # A pooled sandbox whose run is under way when runbox is killed
        # ends by itself within its lifetime (2 + 2 + 10 s), whatever its
        # code does.
        d = self.driver(size=1, max_age=2, env={"RUNBOX_TIMEOUT": "2"})
        d.wait(1)
        d.proc.stdin.write(json.dumps({"op": "run", "code":
                                       "import time\nwhile True: time.sleep(1)"}) + "\n")
        d.proc.stdin.flush()
        time.sleep(0.5)
        seen = self.before_exit(d)
        d.proc.kill()
        d.proc.wait()
        deadline = time.monotonic() + 40
        left = self.running_after_kill(d, seen)
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = self.running_after_kill(d, seen)
        self.assertEqual(left, set())

    def running_after_kill(self, d, seen):
        """What still runs of a killed driver's sandboxes."""
        return self.leftovers(d, seen)

    def reaped_by_the_next_runbox(self, d, seen):
        pass


class SubprocessPool(PoolCases, unittest.TestCase):
    backend = "subprocess"

    def before_exit(self, d):
        seen = descendants(d.pid)
        self.assertTrue(seen, "the pool's sandboxes are not under runbox")
        return seen

    def leftovers(self, d, seen):
        deadline = time.monotonic() + 5  # the kernel's death signal
        left = alive(seen)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = alive(seen)
        return left

    def kill_one_pooled(self, d):
        stubs = [pid for pid, _ in descendants(d.pid)
                 if b"runbox_driver.py" in cmdline(pid)]
        self.assertEqual(len(stubs), 1, "one waiting interpreter expected")
        os.kill(stubs[0], signal.SIGKILL)


class DockerSocket(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("docker", timeout=20)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect("/var/run/docker.sock")


def docker(method, path):
    c = DockerSocket()
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class DockerPool(PoolCases, unittest.TestCase):
    backend = "docker"

    @classmethod
    def setUpClass(cls):
        try:
            status, _ = docker("GET", "/_ping")
        except OSError as e:
            unavailable(f"no Docker engine at /var/run/docker.sock: {e}")
        if status != 200:
            unavailable(f"Docker answered /_ping with {status}")

    def containers(self, pid, running_only=False):
        flt = json.dumps({"label": [f"runbox.pid={pid}"]})
        status, body = docker("GET", "/containers/json?all=%d&filters=%s" % (
            0 if running_only else 1, urllib_quote(flt)))
        self.assertEqual(status, 200, body)
        return {c["Id"] for c in json.loads(body)}

    def before_exit(self, d):
        seen = self.containers(d.pid)
        self.assertTrue(seen, "no container labelled with the driver's pid")
        return seen

    def leftovers(self, d, seen):
        return self.containers(d.pid)

    def running_after_kill(self, d, seen):
        # A waiting container exits when the killed runbox's end of its
        # input closes; an exited one holds nothing but its record, which
        # the next runbox that opens docker removes (checked below).
        return self.containers(d.pid, running_only=True)

    def reaped_by_the_next_runbox(self, d, seen):
        p = subprocess.run([os.environ["RUNBOX_CLI"], "run", "-b", "docker",
                            "print(1)"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.containers(d.pid), set())

    def kill_one_pooled(self, d):
        ids = sorted(self.containers(d.pid))
        self.assertEqual(len(ids), 1, ids)
        status, body = docker("POST", f"/containers/{ids[0]}/kill")
        self.assertEqual(status, 204, body)


def urllib_quote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


class E2bPool(PoolCases, unittest.TestCase):
    backend = "e2b"
    key = "e2b_pool_test_key"
    # The test server runs each sandbox as a local process with its own
    # home directory, not a VM: only the work directory is its own.
    whole_machine = False

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="runbox-pool-e2b-")
        ports = os.path.join(cls.tmp, "ports.json")
        env = dict(os.environ, E2B_TEST_SERVER_KEY=cls.key)
        cls.server = subprocess.Popen(
            [sys.executable, os.path.join(SOURCE, "tests", "e2b",
                                          "e2b_test_server.py"),
             "--port-file", ports], env=env, stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(ports):
                break
            time.sleep(0.05)
        with open(ports) as f:
            p = json.load(f)
        cls.api = f"http://127.0.0.1:{p['api_port']}"
        cls.sbx = f"http://127.0.0.1:{p['sandbox_port']}"

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(30)

    def env(self):
        return {"RUNBOX_TIMEOUT": "20", "E2B_API_KEY": self.key,
                "E2B_API_URL": self.api, "E2B_SANDBOX_URL": self.sbx}

    def server_call(self, method, path):
        host, port = self.api[len("http://"):].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=20)
        try:
            c.request(method, path, headers={"X-API-KEY": self.key})
            r = c.getresponse()
            return json.loads(r.read() or b"null")
        finally:
            c.close()

    def setUp(self):
        self.server_call("POST", "/_test/reset")

    def before_exit(self, d):
        live = self.server_call("GET", "/_test/stats")["live_sandboxes"]
        self.assertGreater(live, 0)
        return live

    def leftovers(self, d, seen):
        live = self.server_call("GET", "/_test/stats")["live_sandboxes"]
        return set(range(live))

    def kill_one_pooled(self, d):
        raise unittest.SkipTest("e2b: a pooled sandbox killed by E2B is only "
                                "noticed when a run uses it (checking would "
                                "cost a request); its lifetime is watched")


class McpUsesThePool(unittest.TestCase):
    """`runbox mcp` with pool_size set: sandboxes wait between calls, a
    call runs in one of them, SIGTERM leaves nothing."""

    def rpc(self, proc, id_, method, params):
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": id_,
                                     "method": method, "params": params}) + "\n")
        proc.stdin.flush()
        while True:
            msg = json.loads(proc.stdout.readline())
            if msg.get("id") == id_:
                return msg

    def test_mcp_execute_code_takes_a_pooled_sandbox(self):
        env = dict(os.environ, RUNBOX_SUBPROCESS_POOL_SIZE="2")
        proc = subprocess.Popen([os.environ["RUNBOX_CLI"], "mcp", "-b",
                                 "subprocess"], env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.stdin.close)
        self.rpc(proc, 1, "initialize", {"protocolVersion": "2024-11-05",
                                         "capabilities": {},
                                         "clientInfo": {"name": "t", "version": "1"}})
        proc.stdin.write(json.dumps({"jsonrpc": "2.0",
                                     "method": "notifications/initialized"}) + "\n")
        proc.stdin.flush()

        # The server opens the backend, and so starts the pool, on its
        # first call.
        a = self.rpc(proc, 2, "tools/call", {"name": "execute_code",
                                             "arguments": {"code": "print(1)"}})
        self.assertIn("1", json.dumps(a["result"]))

        def waiting():
            return [pid for pid, _ in descendants(proc.pid)
                    if b"runbox_driver.py" in cmdline(pid)]
        deadline = time.monotonic() + 30
        while len(waiting()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = set(waiting())
        self.assertEqual(len(before), 2, "no pooled sandboxes waiting")
        a = self.rpc(proc, 3, "tools/call", {"name": "execute_code",
                                             "arguments": {"code": "print(6*7)"}})
        self.assertIn("42", json.dumps(a["result"]))
        # The call used one of the waiting interpreters, which the pool
        # then destroys in the background.
        deadline = time.monotonic() + 10
        while (len(before & set(waiting())) == 2
               and time.monotonic() < deadline):
            time.sleep(0.1)
        self.assertLess(len(before & set(waiting())), 2)
        seen = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        end = time.monotonic() + 5
        while alive(seen) and time.monotonic() < end:
            time.sleep(0.1)
        self.assertEqual(alive(seen), set())


class PoolSettings(unittest.TestCase):
    """Bad pool settings are refused with a message that names them."""

    def test_bad_size_and_age(self):
        for env, want in (({"RUNBOX_POOL_SIZE": "65"}, "at most 64"),
                          ({"RUNBOX_POOL_SIZE": "two"}, "pool_size"),
                          ({"RUNBOX_SUBPROCESS_POOL_MAX_AGE": "soon"},
                           "pool_max_age")):
            # the context reads the settings (and would start its own pool)
            p = subprocess.run([DRIVER, "subprocess", "1", "0"], text=True,
                               capture_output=True, timeout=30,
                               env=dict(os.environ, **env))
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(want, p.stderr)
        for size in ("0", "65"):
            p = subprocess.run([DRIVER, "subprocess", size, "0"], text=True,
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 1)
            self.assertIn("pool size", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
