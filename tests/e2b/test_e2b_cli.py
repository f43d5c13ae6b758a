"""The runbox command on the e2b backend, against the E2B test server:
exit statuses, the traceback of a raised exception, credentials, expiry
during a run, and `runbox gc`. Stdlib only."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

CLI = os.environ["RUNBOX_CLI"]
SOURCE = os.environ.get("RUNBOX_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
KEY = "e2b_cli_test_key_7d2a"


class Server:
    """The E2B test server on two free loopback ports."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="runbox-e2b-cli-")
        ports = os.path.join(self.dir, "ports.json")
        env = dict(os.environ, E2B_TEST_SERVER_KEY=KEY)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SOURCE, "tests/e2b/e2b_test_server.py"),
             "--port-file", ports], env=env, stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(ports):
                break
            time.sleep(0.05)
        with open(ports) as f:
            p = json.load(f)
        self.api = "http://127.0.0.1:%d" % p["api_port"]
        self.sandbox = "http://127.0.0.1:%d" % p["sandbox_port"]

    def call(self, method, path, body=None):
        req = urllib.request.Request(
            self.api + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-API-KEY": KEY})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


SERVER = None


def setUpModule():
    global SERVER
    SERVER = Server()


def tearDownModule():
    SERVER.stop()


def runbox_env(key=KEY, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("E2B_")}
    e.update(E2B_API_KEY=key, E2B_API_URL=SERVER.api,
             E2B_SANDBOX_URL=SERVER.sandbox, RUNBOX_E2B_REQUEST_TIMEOUT="10")
    e.update(env or {})
    return e


def runbox(*args, key=KEY, env=None, timeout=60):
    return subprocess.run([CLI] + list(args), env=runbox_env(key, env),
                          capture_output=True, timeout=timeout)


class CliOnE2b(unittest.TestCase):
    def setUp(self):
        SERVER.call("POST", "/_test/reset")

    def tearDown(self):
        self.assertEqual(SERVER.call("GET", "/_test/stats")["live_sandboxes"], 0)

    def test_traceback_is_printed(self):
        # E2B sends the traceback as data, not on stderr: the command
        # prints it, once, and exits 1.
        p = runbox("run", "-b", "e2b", "print('before')\n1/0")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, b"before\n")
        err = p.stderr.decode()
        self.assertIn("Traceback", err)
        self.assertEqual(err.count("ZeroDivisionError: division by zero"), 1, err)

    def test_traceback_not_doubled_on_a_plain_interpreter(self):
        # subprocess streams Python's own traceback on stderr already.
        p = runbox("run", "-b", "subprocess", "1/0")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.decode().count("Traceback (most recent call last)"), 1,
                         p.stderr)

    def test_sys_exit_is_the_exit_status(self):
        p = runbox("run", "-b", "e2b", "import sys\nsys.exit(3)")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stderr, b"")
        p = runbox("run", "-b", "e2b", "--json", "import sys\nsys.exit(3)")
        r = json.loads(p.stdout)
        self.assertEqual((p.returncode, r["verdict"], r["exit_code"], r["error"]),
                         (3, "exit_nonzero", 3, None))
        self.assertEqual(runbox("run", "-b", "e2b", "raise SystemExit").returncode, 0)

    def test_session_lifetime_does_not_end_a_oneshot(self):
        # e2b.sandbox_timeout is a session setting: a one-shot lives its
        # run's timeout plus a minute, so a 3 s run with a 2 s session
        # lifetime finishes.
        p = runbox("run", "-b", "e2b", "-t", "60",
                   "import time\ntime.sleep(3)\nprint('finished')",
                   env={"RUNBOX_E2B_SANDBOX_TIMEOUT": "2"})
        self.assertEqual((p.returncode, p.stdout), (0, b"finished\n"), p.stderr)
        self.assertEqual(SERVER.call("GET", "/_test/stats")["last_create"]["timeout"], 120)

    def test_expiry_mid_run_is_a_failure(self):
        SERVER.call("POST", "/_test/fault", {"path_prefix": "/execute", "expire_in": 1})
        p = runbox("run", "-b", "e2b", "-t", "60",
                   "import time\ntime.sleep(3)\nprint('finished')")
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"stopped while running the code", p.stderr)

    def live_ids(self):
        return {s["sandboxID"] for s in SERVER.call("GET", "/v2/sandboxes")}

    def killed_leftover(self):
        """A runbox killed with SIGKILL mid-run: its sandbox stays."""
        before = self.live_ids()
        p = subprocess.Popen([CLI, "run", "-b", "e2b", "-t", "60",
                              "import time\ntime.sleep(60)"],
                             env=runbox_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        for _ in range(200):
            new = self.live_ids() - before
            if new:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # the run has started
        p.kill()
        p.wait()
        self.assertEqual(len(new), 1)
        return new.pop()

    def test_gc_kills_what_killed_runs_left(self):
        # A live runbox's sandbox (started first: opening the backend
        # reaps too), a killed one's, one of another machine, one not
        # runbox's.
        live = subprocess.Popen([CLI, "run", "-b", "e2b", "-t", "60",
                                 "import time\ntime.sleep(60)"],
                                env=runbox_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for _ in range(200):
            if self.live_ids():
                break
            time.sleep(0.05)
        leftover = self.killed_leftover()
        other = SERVER.call("POST", "/v2/sandboxes", {
            "templateID": "code-interpreter-v1",
            "metadata": {"runbox": "1", "runbox_owner":
                         "another-boot/4026531836/%d/1" % os.getpid()}})["sandboxID"]
        foreign = SERVER.call("POST", "/v2/sandboxes", {
            "templateID": "code-interpreter-v1"})["sandboxID"]
        for _ in range(200):
            if len(self.live_ids()) == 4:
                break
            time.sleep(0.05)
        self.assertIn(leftover, self.live_ids())
        p = runbox("gc", "-b", "e2b", env={"RUNBOX_LOG": "info"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"e2b: removed 1 leftover sandbox\n")
        self.assertIn(leftover.encode(), p.stderr)
        ids = self.live_ids()
        self.assertNotIn(leftover, ids)
        self.assertIn(other, ids)
        self.assertIn(foreign, ids)
        self.assertEqual(len(ids), 3)  # the live run's is still there
        live.terminate()
        live.wait(30)
        self.assertEqual(self.live_ids(), {other, foreign})
        # Nothing left to do: a second gc removes nothing.
        p = runbox("gc", "-b", "e2b")
        self.assertEqual(p.stdout, b"e2b: removed 0 leftover sandboxes\n")
        SERVER.call("POST", "/_test/reset")

    def test_opening_the_backend_reaps(self):
        leftover = self.killed_leftover()
        p = runbox("run", "-b", "e2b", "print(1)")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(leftover, self.live_ids())

    def test_gc_on_a_backend_without_a_listing(self):
        p = runbox("gc", "-b", "subprocess")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"cannot list", p.stderr)

    def test_compare_prices_the_template_at_e2b_rates(self):
        # A template of 4 vCPU and 2 GiB: E2B's published rates
        # ($0.000014 per vCPU-second, $0.0000045 per GiB-second) give
        # $0.000065 per second of sandbox life.
        SERVER.call("POST", "/_test/fault", {
            "path_prefix": "/v2/sandboxes", "method": "POST",
            "cpu_count": 4, "memory_mb": 2048, "count": 1000})
        p = runbox("compare", "-b", "e2b", "--runs", "2", "--sections", "speed",
                   "--format", "json", timeout=170)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        rows = {row["key"]: row for row in doc["rows"]}
        wall = float(rows["cost.wall_s"]["values"]["e2b"].split()[0])
        value = float(rows["cost.price"]["values"]["e2b"].lstrip("$").split()[0])
        evidence = rows["cost.price"]["evidence"]["e2b"]
        self.assertAlmostEqual(value, wall * 0.000065, delta=wall * 0.000065 * 0.01 + 1e-7)
        for part in ("4 vCPU", "2.00 GiB", "2026-08-06", "created to killed"):
            self.assertIn(part, evidence)
        SERVER.call("POST", "/_test/reset")

    def test_wrong_key_is_a_configuration_error(self):
        for extra in ([], ["--json"]):
            p = runbox("run", "-b", "e2b", *extra, "print(1)", key="e2b_wrong")
            self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"E2B rejected the API key", p.stdout + p.stderr)
        self.assertNotIn(KEY.encode(), p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
