"""The runbox command as a user drives it: exit statuses, output, errors."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

CLI = os.environ["RUNBOX_CLI"]


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
        self.assertEqual(p.returncode, 125)
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
