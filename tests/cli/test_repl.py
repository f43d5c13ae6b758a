"""`runbox repl` driven for real through a pseudo-terminal, as a person
types: values printed, multi-line input, :reset, :quit, Ctrl-C during a
run, end of input, and SIGTERM/SIGKILL leaving nothing running."""
import http.client
import json
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

CLI = os.environ["RUNBOX_CLI"]
SOURCE = os.environ.get("RUNBOX_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
PROMPT = b">>> "
MORE = b"... "


class Repl:
    """runbox repl on a pty; read() collects what the terminal shows."""

    def __init__(self, args, env=None):
        full = dict(os.environ)
        full.update(env or {})
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(CLI, [CLI, "repl", *args], full)
            finally:
                os._exit(127)
        self.seen = b""

    def read_until(self, pattern, timeout=30):
        end = time.monotonic() + timeout
        while pattern not in self.seen:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} within {timeout} s; "
                                     f"the terminal shows {self.seen!r}")
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"repl ended while waiting for "
                                         f"{pattern!r}: {self.seen!r}")
                self.seen += data
        at = self.seen.index(pattern) + len(pattern)
        out, self.seen = self.seen[:at], self.seen[at:]
        return out

    def send(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def line(self, text, until=PROMPT, timeout=30):
        self.send(text + "\r")
        return self.read_until(until, timeout)

    def wait(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:  # keep the pty drained so the repl never blocks on it
                if select.select([self.fd], [], [], 0.1)[0]:
                    self.seen += os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"repl did not exit: {self.seen!r}")

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def marked_processes(marker):
    """pids on this machine whose command line holds marker."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(p))
        except OSError:
            pass
    return found


SLEEPER = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
           "'import time; time.sleep(60)', '{m}']); print('done')")


class ReplSubprocess(unittest.TestCase):
    backend = ["-b", "subprocess"]

    def repl(self, *extra):
        r = Repl([*self.backend, *extra])
        self.addCleanup(r.kill)
        banner = r.read_until(PROMPT)
        self.assertIn(b"runbox repl on", banner)
        return r

    def test_multi_line_block_runs_after_an_empty_line(self):
        r = self.repl()
        self.assertIn(MORE, r.line("def f(a):", until=MORE))
        r.line("    return a * 2", until=MORE)
        # still inside the block: the call is part of the same input
        out = r.line("print(f(21))", until=MORE)
        self.assertNotIn(b"42", out)
        self.assertIn(b"42", r.line(""))
        # an open bracket continues too, and ends when it closes
        r.line("print(1 +", until=MORE)
        self.assertIn(b"3\r\n", r.line("2)"))
        self.assertEqual(r.line(":quit", until=b"\n"), b":quit\r\n")
        self.assertEqual(r.wait(), 0)

    def test_line_editing_and_history(self):
        # The line editor is loaded on a terminal: Up recalls the last
        # input, and editing keys change the line before it runs.
        r = self.repl()
        self.assertIn(b"42", r.line("print(6 * 7)"))
        r.send("\x1b[A")  # Up: the previous input comes back
        r.read_until(b"print(6 * 7)")
        self.assertIn(b"42", r.line(""))
        r.send("print(5 * 9)")
        r.read_until(b"print(5 * 9)")
        r.send("\x01y = 7; ")  # Ctrl-A (to the start of the line), insert
        r.read_until(b"\x1b[1@;")  # the terminal shows the insertion
        r.line("", until=b"45")
        r.read_until(PROMPT)
        r.line("print(y + 100)", until=b"107")  # the inserted part ran
        self.assertNotIn(b"cannot load", r.seen)

    def test_error_and_verdict_are_shown(self):
        r = self.repl("-t", "2")
        self.assertIn(b"ZeroDivisionError", r.line("1/0"))
        self.assertIn(b"[exit_nonzero: exit status 3",
                      r.line("import sys; sys.exit(3)"))
        self.assertIn(b"[timeout", r.line("while True: pass", timeout=30))
        self.assertIn(b"still here", r.line("print('still here')"))

    def test_reset_gives_a_new_session(self):
        r = self.repl()
        r.line("open('kept.txt', 'w').write('x')")
        self.assertIn(b"True", r.line("import os; print(os.path.exists('kept.txt'))"))
        self.assertIn(b"new session", r.line(":reset"))
        self.assertIn(b"False", r.line("import os; print(os.path.exists('kept.txt'))"))

    def test_env_describes_the_sandbox(self):
        r = self.repl()
        out = r.line(":env")
        doc = json.loads(out[out.index(b"{"):out.rindex(b"}") + 1])
        self.assertEqual(doc["backend"], self.backend[1])

    def test_ctrl_c_cancels_the_run_not_the_repl(self):
        r = self.repl()
        r.send("import time; print('sleeping', flush=True); time.sleep(30)\r")
        r.read_until(b"sleeping\r\n")
        t0 = time.monotonic()
        r.send(b"\x03")
        out = r.read_until(PROMPT, timeout=15)
        self.assertIn(b"[canceled", out)
        self.assertLess(time.monotonic() - t0, 10)
        # Ctrl-C at the prompt drops the line being typed
        r.send("print('dropped')\x03")
        self.assertIn(b"KeyboardInterrupt", r.read_until(PROMPT))
        out = r.line("print('alive')")
        self.assertIn(b"alive", out)
        self.assertNotIn(b"dropped\r\n", out)

    def test_end_of_input_exits(self):
        r = self.repl()
        r.send(b"\x04")
        self.assertEqual(r.wait(), 0)

    def start_sleeper(self, r):
        marker = f"runbox-repl-sleeper-{os.getpid()}-{time.monotonic_ns()}"
        r.send(SLEEPER.format(m=marker) + "\r")
        end = time.monotonic() + 30
        while not marked_processes(marker) and time.monotonic() < end:
            time.sleep(0.1)
        self.assertTrue(marked_processes(marker), "the code never started")
        return marker

    def gone_within(self, marker, seconds):
        end = time.monotonic() + seconds
        while marked_processes(marker) and time.monotonic() < end:
            time.sleep(0.2)
        self.assertEqual(marked_processes(marker), [],
                         f"code still running {seconds} s later")

    def test_sigterm_during_a_run_leaves_nothing(self):
        r = self.repl()
        marker = self.start_sleeper(r)
        os.kill(r.pid, signal.SIGTERM)
        self.assertEqual(r.wait(), 130)
        self.gone_within(marker, 5)

    def test_sigkill_leaves_nothing_past_the_timeout(self):
        r = self.repl("-t", "3")
        marker = self.start_sleeper(r)
        os.kill(r.pid, signal.SIGKILL)
        os.waitpid(r.pid, 0)
        self.gone_within(marker, 3 + 10)


class ReplE2b(unittest.TestCase):
    """On the E2B test server the value of a final expression comes back as
    a notebook result, which the repl prints. (The test server runs each
    execution in a fresh process, so it cannot show variables persisting.)"""
    key = "e2b_repl_test_key"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="runbox-repl-e2b-")
        ports = os.path.join(cls.tmp, "ports.json")
        cls.server = subprocess.Popen(
            [sys.executable, os.path.join(SOURCE, "tests", "e2b",
                                          "e2b_test_server.py"),
             "--port-file", ports],
            env=dict(os.environ, E2B_TEST_SERVER_KEY=cls.key),
            stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(ports):
                break
            time.sleep(0.05)
        with open(ports) as f:
            p = json.load(f)
        cls.env = {"E2B_API_KEY": cls.key,
                   "E2B_API_URL": f"http://127.0.0.1:{p['api_port']}",
                   "E2B_SANDBOX_URL": f"http://127.0.0.1:{p['sandbox_port']}"}

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(30)

    def live(self):
        host, port = self.env["E2B_API_URL"][7:].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request("GET", "/_test/stats")
        return json.loads(c.getresponse().read())["live_sandboxes"]

    def test_values_reset_and_quit(self):
        r = Repl(["-b", "e2b"], env=self.env)
        self.addCleanup(r.kill)
        r.read_until(PROMPT)
        self.assertIn(b"\r\n42\r\n", r.line("6 * 7"))
        self.assertIn(b"\r\n'ab'\r\n", r.line("'a' + 'b'"))
        self.assertNotIn(b"None", r.line("x = 1"))
        r.line("open('kept.txt', 'w').write('x')")
        self.assertIn(b"True", r.line("import os; os.path.exists('kept.txt')"))
        self.assertIn(b"new session", r.line(":reset"))
        self.assertIn(b"False", r.line("import os; os.path.exists('kept.txt')"))
        self.assertEqual(self.live(), 1)
        r.line(":quit", until=b"\n")
        self.assertEqual(r.wait(), 0)
        self.assertEqual(self.live(), 0)


def docker_reachable():
    import socket
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("/var/run/docker.sock")
        s.close()
        return True
    except OSError:
        return False


class ReplDocker(unittest.TestCase):
    """On docker a session keeps a resident interpreter: variables persist
    until :reset, and values print like a notebook."""

    def setUp(self):
        if not docker_reachable():
            why = "no Docker engine at /var/run/docker.sock"
            if os.environ.get("CI") in ("true", "1"):
                raise AssertionError(why)
            raise unittest.SkipTest(why)

    def repl(self, *extra):
        r = Repl(["-b", "docker", *extra])
        self.addCleanup(r.kill)
        self.assertIn(b"variables and files persist", r.read_until(PROMPT, 120))
        return r

    def test_state_values_reset(self):
        r = self.repl()
        r.line("x = 41", timeout=60)
        self.assertIn(b"\r\n42\r\n", r.line("x + 1", timeout=60))
        r.line("def f(a):", until=MORE)
        r.line("    return a * x", until=MORE)
        r.line("")
        self.assertIn(b"\r\n82\r\n", r.line("f(2)", timeout=60))
        self.assertIn(b"new session", r.line(":reset", timeout=120))
        self.assertIn(b"NameError", r.line("x", timeout=60))
        r.line(":quit", until=b"\n")
        self.assertEqual(r.wait(60), 0)

    def test_ctrl_c_and_sigterm(self):
        r = self.repl()
        r.send("import time; print('sleeping', flush=True); time.sleep(30)\r")
        r.read_until(b"sleeping\r\n", 60)
        r.send(b"\x03")
        self.assertIn(b"[canceled", r.read_until(PROMPT, 30))
        self.assertIn(b"alive", r.line("print('alive')", timeout=60))
        marker = ReplSubprocess.start_sleeper(self, r)
        os.kill(r.pid, signal.SIGTERM)
        self.assertEqual(r.wait(60), 130)
        ReplSubprocess.gone_within(self, marker, 10)

    def test_sigkill_leaves_nothing_past_the_timeout(self):
        r = self.repl("-t", "3")
        marker = ReplSubprocess.start_sleeper(self, r)
        os.kill(r.pid, signal.SIGKILL)
        os.waitpid(r.pid, 0)
        ReplSubprocess.gone_within(self, marker, 3 + 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
