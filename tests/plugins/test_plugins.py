"""What the core does whatever a plugin does: broken backends (built from
unruly_backend.c and liar_backend.c) driven through the runbox command.
Each test attacks one promise of include/runbox/backend.h."""
import json
import os
import select
import signal
import subprocess
import tempfile
import time
import unittest

CLI = os.environ["RUNBOX_CLI"]
FIXTURES = os.environ["UNRULY_FIXTURES"]


def so(name):
    return os.path.join(FIXTURES, "runbox-%s.so" % name)


def env(**extra):
    e = dict(os.environ)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def runbox(*args, timeout=60, **extra):
    t0 = time.monotonic()
    p = subprocess.run([CLI, *args], capture_output=True, timeout=timeout,
                       env=env(**extra))
    p.elapsed = time.monotonic() - t0
    return p


class Deadline(unittest.TestCase):
    """The wall-clock limit is runbox's, not the backend's."""

    def test_hang_in_exec_is_given_up_after_the_grace(self):
        p = runbox("run", "-b", so("unruly"), "-t", "1", "hang", RUNBOX_GRACE=1)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn(b"the unruly backend did not end the call", p.stderr)
        self.assertIn(b"deadline", p.stderr)
        # deadline 1 s + 0.5 s for the backend's own timeout + grace 1 s
        self.assertLess(p.elapsed, 8, "runbox waited for a hung backend")

    def test_given_up_result_is_backend_failure_in_json(self):
        p = runbox("run", "--json", "-b", so("unruly"), "-t", "1", "hang",
                   RUNBOX_GRACE=1)
        r = json.loads(p.stdout)
        self.assertEqual(r["verdict"], "backend_failure")
        self.assertIn("unruly", r["message"])
        self.assertEqual(p.returncode, 125)

    def test_output_after_giving_up_goes_nowhere(self):
        # chatter emits for 20 s and ignores cancel; runbox returns after
        # the grace with what came before, and nothing crashes later.
        p = runbox("run", "-b", so("unruly"), "-t", "1", "chatter", RUNBOX_GRACE=1)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertLess(p.elapsed, 8)
        self.assertIn(b"chatter\n", p.stdout)
        self.assertLess(p.stdout.count(b"chatter"), 200)

    def test_core_raises_cancelled_at_the_deadline(self):
        # polite ignores req->deadline but stops on cancelled(): the core's
        # deadline makes that a timeout, not a cancel.
        p = runbox("run", "--json", "-b", so("unruly"), "-t", "1", "polite")
        r = json.loads(p.stdout)
        self.assertEqual(r["verdict"], "timeout", r)
        self.assertEqual(p.returncode, 124)
        self.assertLess(r["wall_time"], 3)

    def test_second_signal_exits_at_once(self):
        proc = subprocess.Popen([CLI, "run", "-b", so("unruly"), "-t", "100", "hang"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env(RUNBOX_GRACE=60))
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        self.assertIsNone(proc.poll(), "the first signal only asks to stop")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=5)
        self.assertLess(time.monotonic() - t0, 2)
        self.assertEqual(rc, 128 + signal.SIGINT)

    def test_one_sigterm_gives_up_after_the_grace(self):
        proc = subprocess.Popen([CLI, "run", "-b", so("unruly"), "-t", "100", "hang"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env(RUNBOX_GRACE=1))
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 125, err)
        self.assertIn(b"cancel", err)


class Claims(unittest.TestCase):
    """What a plugin claims is checked before anything relies on it."""

    def test_empty_slot_for_a_claimed_capability_refuses_to_load(self):
        p = runbox("run", "-b", so("nullslot"), "print(1)")
        self.assertEqual(p.returncode, 125)
        self.assertIn(b"claims the files capability but leaves its file_write "
                      b"slot empty", p.stderr)
        listing = runbox("backends", RUNBOX_BACKEND_PATH=FIXTURES)
        self.assertRegex(listing.stdout.decode(), r"nullslot\s+broken")

    def test_explicit_limit_without_capability_is_refused_before_any_call(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "calls")
            for setting, value in (("RUNBOX_MEMORY", "512m"), ("RUNBOX_CPU_TIME", "5"),
                                   ("RUNBOX_PROCESSES", "10"), ("RUNBOX_NETWORK", "off")):
                p = runbox("run", "-b", so("unruly"), "print(1)", UNRULY_LOG=log,
                           **{setting: value})
                self.assertEqual(p.returncode, 2, (setting, p.stderr))
                self.assertIn(b"cannot enforce this limit", p.stderr)
            self.assertFalse(os.path.exists(log), "exec was called anyway")
            # the default limits it cannot enforce are not a reason to refuse
            p = runbox("run", "-b", so("unruly"), "fine", UNRULY_LOG=log)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(os.path.exists(log))

    def test_verdict_outside_the_enum_is_backend_failure(self):
        for code in ("verdict 42", "verdict -3"):
            p = runbox("run", "--json", "-b", so("unruly"), code)
            r = json.loads(p.stdout)
            self.assertEqual(r["verdict"], "backend_failure", r)
            self.assertIn("not a runbox verdict", r["message"])
            self.assertEqual(p.returncode, 125)

    def test_plugin_output_cannot_corrupt_json(self):
        p = runbox("run", "--json", "-b", so("unruly"), "print")
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout)  # exactly one object: nothing forged in it
        self.assertEqual(r["stdout"], "ok\n")
        self.assertNotIn(b"forged", p.stdout)
        for how in (b"by printf", b"by write", b"by a child"):
            self.assertIn(how, p.stderr)

    def test_plugin_built_against_a_newer_header_loads(self):
        p = runbox("run", "-b", so("newer"), "hello from the future")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"hello from the future")

    def test_unknown_backend_and_language_are_usage_errors(self):
        self.assertEqual(runbox("run", "-b", "no-such-backend", "x").returncode, 2)
        p = runbox("run", "-b", so("unruly"), "-l", "cobol", "x")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"cannot run cobol", p.stderr)
        p = runbox("run", "--json", "-b", so("unruly"), "-l", "cobol", "x")
        self.assertEqual(p.returncode, 2)


class Settings(unittest.TestCase):
    """Declared settings: checked, defaulted, parsed and shown by the core."""

    def test_defaults_and_typed_parsing(self):
        p = runbox("run", "-b", "unruly", "settings", RUNBOX_BACKEND_PATH=FIXTURES)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"block=4096 patience=60 loud=0 tries=3 "
                                   b"colours=[red],[green],[blue]")
        p = runbox("run", "-b", "unruly", "settings", RUNBOX_BACKEND_PATH=FIXTURES,
                   RUNBOX_UNRULY_BLOCK="2m", RUNBOX_UNRULY_PATIENCE="1.5h",
                   RUNBOX_UNRULY_LOUD="yes", RUNBOX_UNRULY_TRIES="7",
                   RUNBOX_UNRULY_COLOURS="a,b")
        self.assertEqual(p.stdout, b"block=2097152 patience=5400 loud=1 tries=7 "
                                   b"colours=[a],[b]")

    def test_bad_value_is_refused_with_its_origin(self):
        p = runbox("run", "-b", "unruly", "settings", RUNBOX_BACKEND_PATH=FIXTURES,
                   RUNBOX_UNRULY_BLOCK="lots")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"RUNBOX_UNRULY_BLOCK", p.stderr)
        self.assertIn(b"block", p.stderr)

    def test_config_shows_every_setting_with_default_and_origin(self):
        p = runbox("config", "-b", "unruly", RUNBOX_BACKEND_PATH=FIXTURES,
                   RUNBOX_UNRULY_TRIES="9", RUNBOX_UNRULY_TOKEN="s3cr3t-value-xyz")
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(out, r"unruly\.block\s+= 4k\s+# default")
        self.assertRegex(out, r"unruly\.tries\s+= 9\s+# environment RUNBOX_UNRULY_TRIES \(default 3\)")
        self.assertNotIn("s3cr3t-value-xyz", out)
        self.assertRegex(out, r"unruly\.token\s+= s3cr\*\*\*\*")
        # without -b: every backend found, this one included
        p = runbox("config", RUNBOX_BACKEND_PATH=FIXTURES)
        self.assertIn("[unruly]", p.stdout.decode())
        self.assertIn("unruly.colours", p.stdout.decode())

    def test_built_in_backends_declare_their_settings(self):
        p = runbox("config", "-b", "docker")
        self.assertRegex(p.stdout.decode(), r"docker\.image\s+= \S+\s+# ")
        p = runbox("backends", "--settings", "docker")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.decode(), r"image\s+string\s+default runbox-python")
        p = runbox("backends", "--settings", "unruly", RUNBOX_BACKEND_PATH=FIXTURES)
        self.assertRegex(p.stdout.decode(), r"token\s+string\s+default \(none\)\s+a secret \[secret\]")


class Search(unittest.TestCase):
    def test_many_backend_folders_are_each_searched_once(self):
        import shutil
        with tempfile.TemporaryDirectory() as d:
            dirs = [os.path.join(d, "f%02d" % i) for i in range(20)]
            for x in dirs:
                os.mkdir(x)
            shutil.copy(so("newer"), dirs[18])
            path = ":".join(dirs + [dirs[18], dirs[18] + "/"])
            p = runbox("backends", RUNBOX_BACKEND_PATH=path)
            out = p.stdout.decode()
            self.assertEqual(out.count("runbox-newer.so"), 1, out)
            self.assertNotIn("duplicate", out)


class Mcp(unittest.TestCase):
    """The MCP server stays in charge with a backend that hangs."""

    def start(self, **extra):
        proc = subprocess.Popen([CLI, "mcp", "-b", so("unruly")], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env(**extra))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.send(proc, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "t", "version": "1"}}})
        self.assertEqual(self.read(proc, 10)["id"], 0)
        self.send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        return proc

    def send(self, proc, msg):
        proc.stdin.write((json.dumps(msg) + "\n").encode())
        proc.stdin.flush()

    def read(self, proc, timeout):
        """The next line of stdout, which must be JSON-RPC."""
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        self.assertTrue(ready, "no answer within %ss" % timeout)
        line = proc.stdout.readline()
        msg = json.loads(line)
        self.assertEqual(msg["jsonrpc"], "2.0")
        return msg

    def call(self, proc, id, code, timeout):
        self.send(proc, {"jsonrpc": "2.0", "id": id, "method": "tools/call",
                         "params": {"name": "execute_code",
                                    "arguments": {"code": code, "timeout": timeout}}})

    def answer(self, proc, id, timeout):
        end = time.monotonic() + timeout
        while True:
            msg = self.read(proc, max(0.1, end - time.monotonic()))
            if msg.get("id") == id:
                return msg

    def test_answers_after_a_hung_call_and_stays_usable(self):
        proc = self.start(RUNBOX_GRACE=1)
        self.call(proc, 1, "hang", 1)
        r = self.answer(proc, 1, 10)["result"]
        self.assertTrue(r["isError"])
        self.assertEqual(r["structuredContent"]["verdict"], "backend_failure")
        self.call(proc, 2, "still here", 5)
        r = self.answer(proc, 2, 10)["result"]
        self.assertEqual(r["structuredContent"]["stdout"], "still here")
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=10), 0)

    def test_session_stuck_in_a_given_up_call_says_so(self):
        proc = self.start(RUNBOX_GRACE=1)
        self.send(proc, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                         "params": {"name": "execute_code", "arguments":
                                    {"code": "hang", "timeout": 1, "session": "s"}}})
        r = self.answer(proc, 1, 10)["result"]
        self.assertEqual(r["structuredContent"]["verdict"], "backend_failure")
        # the session's sandbox is still inside that call: refused at once
        self.send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                         "params": {"name": "execute_code", "arguments":
                                    {"code": "again", "timeout": 5, "session": "s"}}})
        t0 = time.monotonic()
        r = self.answer(proc, 2, 10)["result"]
        self.assertLess(time.monotonic() - t0, 3)
        self.assertTrue(r["isError"])
        self.assertIn("gave up on", json.dumps(r))
        # other work goes on
        self.call(proc, 3, "fresh", 5)
        self.assertEqual(self.answer(proc, 3, 10)["result"]["structuredContent"]["stdout"],
                         "fresh")
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=10), 0)

    def test_plugin_output_stays_off_the_protocol(self):
        proc = self.start()
        self.call(proc, 1, "print", 5)
        r = self.answer(proc, 1, 10)["result"]  # every line read was JSON-RPC
        self.assertEqual(r["structuredContent"]["stdout"], "ok\n")
        proc.stdin.close()
        proc.wait(timeout=10)
        self.assertIn(b"forged", proc.stderr.read())

    def test_eof_with_a_hung_call_exits(self):
        proc = self.start(RUNBOX_GRACE=1)
        self.call(proc, 1, "hang", 300)
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=15), 0)
        self.assertLess(time.monotonic() - t0, 8)

    def test_sigterm_with_a_hung_call_exits(self):
        proc = self.start(RUNBOX_GRACE=1)
        self.call(proc, 1, "hang", 300)
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        self.assertLess(time.monotonic() - t0, 8)


if __name__ == "__main__":
    unittest.main(verbosity=2)
