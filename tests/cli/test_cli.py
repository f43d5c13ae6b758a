"""The runbox command as a user drives it: exit statuses, output, errors."""
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import unittest
import urllib.parse

CLI = os.environ["RUNBOX_CLI"]
SOURCE = os.environ.get("RUNBOX_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
IN_CI = os.environ.get("CI") in ("true", "1")


def unavailable(why):
    """A missing daemon or SDK fails in CI and is a visible skip elsewhere."""
    if IN_CI:
        raise AssertionError(why)
    raise unittest.SkipTest(why)


class DockerSocket(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("docker", timeout=10)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect("/var/run/docker.sock")


def docker_get(path):
    c = DockerSocket()
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def interrupt_mid_run(test, args, env=None, sig=signal.SIGTERM):
    """Starts `runbox run ARGS` on code that prints 'up' then sleeps,
    signals runbox once the code is running, returns (process, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.Popen([CLI, "run", *args, "import time\nprint('up', flush=True)\n"
                             "time.sleep(60)"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full_env)
    line = proc.stdout.readline()
    if line != b"up\n":
        proc.kill()
        test.fail(f"the code never started: {line!r} {proc.stderr.read()!r}")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    test.assertEqual(proc.returncode, 130, err)
    return proc, err


def runbox(*args, stdin=None, env=None, cwd=None, timeout=60):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([CLI, *args], input=stdin, capture_output=True,
                          env=full_env, cwd=cwd, timeout=timeout)


class RunTest(unittest.TestCase):
    def test_prints_output_and_exits_zero(self):
        p = runbox("run", "-b", "subprocess", "print('hi')")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"hi\n")

    def test_exit_status_follows_the_verdict(self):
        self.assertEqual(runbox("run", "-b", "subprocess", "import sys; sys.exit(5)").returncode, 5)
        p = runbox("run", "-b", "subprocess", "1/0")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"ZeroDivisionError", p.stderr)
        p = runbox("run", "-b", "subprocess", "-t", "1", "while True: pass")
        self.assertEqual(p.returncode, 124)
        self.assertIn(b"timeout", p.stderr)
        p = runbox("run", "-b", "subprocess", "import os; os.kill(os.getpid(), 9)")
        self.assertEqual(p.returncode, 128 + 9)

    def test_code_from_stdin_and_file(self):
        p = runbox("run", "-b", "subprocess", stdin=b"print(2 + 2)")
        self.assertEqual(p.stdout, b"4\n")
        with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
            f.write("print('from file')\n")
            f.flush()
            p = runbox("run", "-b", "subprocess", "-f", f.name)
        self.assertEqual(p.stdout, b"from file\n")

    def test_json_result(self):
        p = runbox("run", "-b", "subprocess", "--json", "print(1); raise ValueError('v')")
        self.assertEqual(p.returncode, 1)
        r = json.loads(p.stdout)
        self.assertEqual(r["verdict"], "error")
        self.assertFalse(r["success"])
        self.assertEqual(r["error"]["name"], "ValueError")
        self.assertEqual(r["stdout"], "1\n")
        self.assertEqual(r["backend"], "subprocess")

    def test_language(self):
        p = runbox("run", "-b", "subprocess", "-l", "bash", "echo $((1+2))")
        self.assertEqual(p.stdout, b"3\n")

    def test_unknown_backend_is_one_clear_line(self):
        p = runbox("run", "-b", "nosuch", "print(1)")
        self.assertEqual(p.returncode, 2)  # a usage error, not a backend failure
        lines = p.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("no backend named 'nosuch'", lines[0])
        self.assertIn("subprocess", lines[0])  # lists what exists

    def test_bad_config_names_file_line_key(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "runbox.ini"), "w") as f:
                f.write("[runbox]\nbackend = subprocess\ntimeout = forever\n")
            p = runbox("run", "print(1)", cwd=d)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"runbox.ini:3", p.stderr)
        self.assertIn(b"timeout", p.stderr)

    def test_missing_e2b_key_is_reported(self):
        env = {"E2B_API_KEY": ""}
        with tempfile.TemporaryDirectory() as d:
            p = runbox("run", "print(1)", cwd=d, env={"HOME": d, **env})
        if b"no backend named 'e2b'" in p.stderr:
            self.skipTest("the e2b backend is not built here")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"E2B_API_KEY not configured", p.stderr)

    def test_sigterm_cleans_up(self):
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o1777)
            cfg = os.path.join(d, "rb.ini")
            with open(cfg, "w") as f:
                f.write(f"[subprocess]\nworkdir = {d}\n")
            proc = subprocess.Popen([CLI, "run", "--config", cfg, "-b", "subprocess",
                                     "import time\nprint('up', flush=True)\ntime.sleep(60)"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertEqual(proc.stdout.readline(), b"up\n")
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
            self.assertEqual(proc.returncode, 130, err)
            left = [x for x in os.listdir(d) if x.startswith("runbox-")]
            self.assertEqual(left, [], "work directory left behind")


class SignalTest(unittest.TestCase):
    """SIGINT/SIGTERM to runbox mid-run leave no sandbox behind."""

    def test_docker_container_removed(self):
        try:
            docker_get("/_ping")
        except OSError as e:
            unavailable(f"no Docker daemon at /var/run/docker.sock ({e})")
        proc, _ = interrupt_mid_run(self, ["-b", "docker"], sig=signal.SIGINT)
        filters = urllib.parse.quote(json.dumps(
            {"label": ["runbox=1", f"runbox.pid={proc.pid}"]}))
        status, body = docker_get(f"/containers/json?all=1&filters={filters}")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), [], "container left behind")

    def test_docker_gc_removes_what_a_killed_runbox_left(self):
        try:
            docker_get("/_ping")
        except OSError as e:
            unavailable(f"no Docker daemon at /var/run/docker.sock ({e})")
        proc = subprocess.Popen([CLI, "run", "-b", "docker", "-t", "60",
                                 "import time\nprint('up', flush=True)\ntime.sleep(60)"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = proc.stdout.readline()
        proc.kill()  # no chance to clean up
        proc.communicate(timeout=30)
        self.assertEqual(line, b"up\n")
        filters = urllib.parse.quote(json.dumps(
            {"label": ["runbox=1", f"runbox.pid={proc.pid}"]}))
        status, body = docker_get(f"/containers/json?all=1&filters={filters}")
        self.assertEqual(len(json.loads(body)), 1, "the killed run's container")
        p = runbox("gc", "-b", "docker")
        self.assertEqual(p.returncode, 0, p.stderr)
        removed = int(p.stdout.split()[2])
        self.assertGreaterEqual(removed, 1, p.stdout)
        status, body = docker_get(f"/containers/json?all=1&filters={filters}")
        self.assertEqual(json.loads(body), [], "gc left the container")

    def test_e2b_sandbox_killed(self):
        server = os.path.join(SOURCE, "tests", "e2b", "e2b_test_server.py")
        srv = subprocess.Popen(["/usr/bin/python3", server, "--api-key", "k"],
                               stdout=subprocess.PIPE)
        try:
            ports = json.loads(srv.stdout.readline())
            env = {"E2B_API_KEY": "k",
                   "E2B_API_URL": f"http://127.0.0.1:{ports['api_port']}",
                   "E2B_SANDBOX_URL": f"http://127.0.0.1:{ports['sandbox_port']}"}
            interrupt_mid_run(self, ["-b", "e2b"], env=env)
            c = http.client.HTTPConnection("127.0.0.1", ports["api_port"], timeout=10)
            c.request("GET", "/_test/stats")
            stats = json.loads(c.getresponse().read())
            self.assertEqual(stats["created"], 1)
            self.assertEqual(stats["live_sandboxes"], 0, "sandbox left alive")
        finally:
            srv.terminate()
            srv.wait(timeout=10)
            srv.stdout.close()


class PassEnvTest(unittest.TestCase):
    """pass_env hands exactly the named host variables to the code, on
    every backend; everything else of the host's environment stays out."""

    CODE = "import os; print(os.environ.get('PASSED_VAR'), os.environ.get('HIDDEN_VAR'))"
    ENV = {"RUNBOX_PASS_ENV": "PASSED_VAR", "PASSED_VAR": "yes", "HIDDEN_VAR": "no"}

    def check(self, backend, extra_env=None):
        p = runbox("run", "-b", backend, self.CODE, env={**self.ENV, **(extra_env or {})})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"yes None\n")

    def test_subprocess(self):
        self.check("subprocess")

    def test_docker(self):
        try:
            docker_get("/_ping")
        except OSError as e:
            unavailable(f"no Docker daemon at /var/run/docker.sock ({e})")
        self.check("docker")

    def test_e2b(self):
        server = os.path.join(SOURCE, "tests", "e2b", "e2b_test_server.py")
        with subprocess.Popen(["/usr/bin/python3", server, "--api-key", "k"],
                              stdout=subprocess.PIPE) as srv:
            try:
                ports = json.loads(srv.stdout.readline())
                self.check("e2b", {
                    "E2B_API_KEY": "k",
                    "E2B_API_URL": f"http://127.0.0.1:{ports['api_port']}",
                    "E2B_SANDBOX_URL": f"http://127.0.0.1:{ports['sandbox_port']}"})
            finally:
                srv.terminate()


class InfoTest(unittest.TestCase):
    def test_backends_lists_subprocess_usable(self):
        p = runbox("backends", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        found = {}
        for b in json.loads(p.stdout):  # the first of a name is the one used
            found.setdefault(b["name"], b)
        self.assertTrue(found["subprocess"]["usable"])
        self.assertIn("sessions", found["subprocess"]["capabilities"])
        if "e2b" in found:
            self.assertFalse(found["e2b"]["usable"] and not os.environ.get("E2B_API_KEY"))

    def test_config_shows_origins_and_masks_secrets(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, ".env"), "w") as f:
                f.write("E2B_API_KEY=e2b_0123456789abcdef\n")
            p = runbox("config", "-t", "9", cwd=d, env={"HOME": d})
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertNotIn("0123456789abcdef", out)
        self.assertRegex(out, r"timeout\s+= 9\s+# command line")
        self.assertRegex(out, r"e2b.api_key\s+= e2b_\*\*\*\*.*# \.env:1")

    def test_env_describes_the_sandbox(self):
        p = runbox("env", "-b", "subprocess")
        self.assertEqual(p.returncode, 0, p.stderr)
        e = json.loads(p.stdout)
        self.assertRegex(e["python"], r"^3\.\d+")
        self.assertEqual(e["backend"], "subprocess")
        self.assertIn("pip", e["packages"])

    def test_install_refuses_bad_spec(self):
        p = runbox("install", "-b", "subprocess", "--index-url=http://evil")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"looks like an option", p.stderr)

    def test_help_and_version(self):
        self.assertEqual(runbox("--version").returncode, 0)
        for cmd in ("run", "install", "env", "backends", "config"):
            p = runbox(cmd, "--help")
            self.assertEqual(p.returncode, 0, cmd)
            self.assertIn(b"usage: runbox " + cmd.encode(), p.stdout)
        p = runbox("frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"unknown command", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
