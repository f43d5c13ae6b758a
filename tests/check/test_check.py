"""runbox check, the conformance kit: it must pass a backend that keeps the
contract and catch each lie of one that does not (tests/plugins/liar)."""
import os
import subprocess
import sys
import unittest

CLI = os.environ["RUNBOX_CLI"]
FIXTURES = os.environ["UNRULY_FIXTURES"]


def check(backend, **extra):
    env = dict(os.environ)
    env.update(extra)
    return subprocess.run([CLI, "check", backend], capture_output=True,
                          timeout=240, env=env)


def status(p, name):
    """ok, FAIL or skip for the check called name, or None."""
    for line in p.stdout.decode().splitlines():
        if line[5:].startswith(name + ": "):
            return line[:4].strip()
    return None


class Check(unittest.TestCase):
    def test_catches_every_lie(self):
        p = check(os.path.join(FIXTURES, "runbox-liar.so"))
        self.assertEqual(p.returncode, 1, p.stdout)
        for lie in ("claim: sessions keep state", "claim: files stay inside the sandbox",
                    "claim: memory limit stops a memory bomb"):
            self.assertEqual(status(p, lie), "FAIL", (lie, p.stdout.decode()))
        # what it does do is not blamed on it
        for fine in ("ok", "exit status", "raised error", "binary output", "cancel"):
            self.assertEqual(status(p, fine), "ok", (fine, p.stdout.decode()))
        self.assertEqual(status(p, "claim: process limit stops a fork bomb"), "skip")

    def test_passes_the_subprocess_backend(self):
        p = check("subprocess")
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
        self.assertRegex(p.stdout.decode(), r"\d+ passed, 0 failed")

    def test_a_backend_that_cannot_load_fails_one_check(self):
        p = check(os.path.join(FIXTURES, "runbox-nullslot.so"))
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"FAIL loads: ", p.stdout)
        self.assertIn(b"leaves its", p.stdout)

    def test_usage(self):
        p = subprocess.run([CLI, "check"], capture_output=True)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([CLI, "check", "--help"], capture_output=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"usage: runbox check", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
