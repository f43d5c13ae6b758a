#!/usr/bin/env python3
"""Tests of `runbox compare`: each probe against a backend whose answer is
known, the output formats, and backends that cannot run here.

Usage: test_compare.py CASE (see CASES). Needs RUNBOX_CLI (the built runbox
command) and RUNBOX_BACKEND_PATH, as ctest sets them. Exit 0 pass, 1 fail,
77 skipped (only where skipping is allowed: no Docker daemon outside CI).
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

CLI = os.environ.get("RUNBOX_CLI", "runbox")
SOURCE = os.environ.get("RUNBOX_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
SKIP = 77


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def compare(*args, env=None, expect=0, cwd=None):
    """Runs runbox compare; returns (stdout, stderr)."""
    p = subprocess.run([CLI, "compare", *args], capture_output=True, text=True,
                       env=env, timeout=170, cwd=cwd)
    check(p.returncode == expect,
          f"runbox compare {' '.join(args)}: exit {p.returncode}, wanted "
          f"{expect}\nstderr: {p.stderr[-2000:]}")
    check(expect != 0 or "\r" not in p.stderr,
          "progress lines were written to a pipe")
    return p.stdout, p.stderr


def compare_json(*args, env=None):
    out, _ = compare(*args, "--format", "json", env=env)
    doc = json.loads(out)
    cells = {}
    for row in doc["rows"]:
        for name, value in row["values"].items():
            cells[(name, row["key"])] = (value, row["evidence"].get(name))
    return doc, cells


def expect_cell(cells, backend, key, wanted):
    value, evidence = cells.get((backend, key), (None, None))
    check(value == wanted, f"{backend} {key}: got {value!r} ({evidence}), "
                           f"wanted {wanted!r}")


def config_file(tmp, text):
    path = os.path.join(tmp, "runbox.ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def backends():
    p = subprocess.run([CLI, "backends", "--json"], capture_output=True,
                       text=True, timeout=60)
    found = {}
    for b in json.loads(p.stdout or "[]"):
        found.setdefault(b["name"], b)
    return found


# ---- cases ----

def subprocess_probes(tmp, isolation, expected):
    """Runs the security and resource probes on subprocess with the given
    isolation and checks the cells named in expected."""
    cfg = config_file(tmp, f"[subprocess]\nisolation = {isolation}\n")
    _, cells = compare_json("-b", "subprocess", "--config", cfg, "--runs", "1",
                            "--sections", "security,resources")
    for key, wanted in expected.items():
        expect_cell(cells, "subprocess", key, wanted)


def case_subprocess_no_isolation(tmp):
    """Without namespaces the code shares the host: it can read a host file
    and reach a host loopback port, but the environment is still scrubbed;
    the wall timeout and the output cap hold anyway."""
    subprocess_probes(tmp, "none", {
        "security.host_file": "yes", "security.host_env": "no",
        "security.host_loopback": "yes", "resources.timeout": "yes",
        "resources.output": "yes"})


def case_subprocess_namespaces(tmp):
    """The sandbox: its own network namespace (no host loopback, no
    network), none of the host's files, not root, no capabilities."""
    note = backends().get("subprocess", {}).get("note", "")
    if "namespaces" not in note:
        print(f"skip: user namespaces are not available here ({note})")
        return SKIP
    subprocess_probes(tmp, "namespaces", {
        "security.host_loopback": "no", "security.network": "no",
        "security.host_env": "no", "security.host_file": "no",
        "security.root": "no", "security.capabilities": "no",
        "resources.timeout": "yes", "resources.output": "yes"})


def case_docker(tmp):
    """A container sees neither the host's files nor its environment."""
    b = backends().get("docker")
    if not b or not b["usable"]:
        why = b["note"] if b else "no docker backend was built"
        if os.environ.get("CI") == "true":
            raise Failure(f"CI needs a reachable Docker daemon: {why}")
        print(f"skip: docker is not usable here: {why}")
        return SKIP
    _, cells = compare_json("-b", "docker", "--runs", "1", "--sections",
                            "security")
    expect_cell(cells, "docker", "security.host_file", "no")
    expect_cell(cells, "docker", "security.host_env", "no")
    expect_cell(cells, "docker", "security.host_loopback", "no")


def case_docker_gvisor(tmp):
    """docker and docker+gVisor side by side: the variant column really runs
    under runsc (gVisor's kernel answers 4.4.0 inside) and keeps the same
    posture."""
    b = backends().get("docker")
    if not b or not b["usable"]:
        why = b["note"] if b else "no docker backend was built"
        if os.environ.get("CI") == "true":
            raise Failure(f"CI needs a reachable Docker daemon: {why}")
        print(f"skip: docker is not usable here: {why}")
        return SKIP
    doc, cells = compare_json("-b", "docker,docker+gvisor", "--runs", "1",
                              "--sections", "security")
    names = [c["name"] for c in doc["backends"]]
    check(names == ["docker", "docker+gvisor"], f"columns: {names}")
    status, why = cells[("docker+gvisor", "setup.status")]
    if status != "ready":
        if os.environ.get("CI") == "true":
            raise Failure(f"CI registers runsc with the engine: {why}")
        print(f"skip: gVisor (runsc) is not registered with the engine: {why}")
        return SKIP
    for key in ("security.host_file", "security.host_env",
                "security.host_loopback", "security.network",
                "security.root", "security.capabilities"):
        expect_cell(cells, "docker+gvisor", key, "no")
    _, evidence = cells[("docker+gvisor", "security.root")]
    check("runsc" in (evidence or ""), f"isolation evidence: {evidence}")
    _, evidence = cells[("docker", "security.root")]
    check("runc" in (evidence or "") and "runsc" not in evidence,
          f"plain docker column: {evidence}")
    env = {"RUNBOX_DOCKER_RUNTIME": "runsc"}
    p = subprocess.run([CLI, "run", "-b", "docker", "import os; print(os.uname().release)"],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, **env})
    check(p.stdout.strip() == "4.4.0", f"kernel inside gVisor: {p.stdout!r} {p.stderr!r}")


def case_formats(tmp):
    """Every format parses, and they agree on the rows."""
    args = ["-b", "subprocess", "--runs", "2"]
    doc, cells = compare_json(*args)
    names = [b["name"] for b in doc["backends"]]
    check(names == ["subprocess"], f"backends in json: {names}")
    keys = [r["key"] for r in doc["rows"]]
    sections = []
    for r in doc["rows"]:
        if r["section"] not in sections:
            sections.append(r["section"])
    check(sections == ["Setup", "Security", "Resource management",
                       "Speed and scale", "Cost"], f"sections: {sections}")
    for key in keys:
        value, evidence = cells[("subprocess", key)]
        check(value not in (None, "", "error"),
              f"json: {key} was not measured: {value!r} ({evidence})")
    expect_cell(cells, "subprocess", "setup.status", "ready")

    out, _ = compare(*args, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    check(rows[0] == ["section", "row", "key", "backend", "value", "evidence"],
          f"csv header: {rows[0]}")
    check(len(rows) == 1 + len(keys),
          f"csv: {len(rows) - 1} data rows, wanted {len(keys)}")
    check([r[2] for r in rows[1:]] == keys, "csv rows differ from json rows")
    check(all(len(r) == 6 for r in rows), "csv: a row without 6 fields")

    out, _ = compare(*args, "--format", "markdown")
    lines = out.splitlines()
    check(lines[0].startswith("| Feature | subprocess |"), f"md: {lines[0]}")
    check(lines[1] == "|---|---|", f"md separator: {lines[1]!r}")
    for section in sections:
        check(f"| **{section}** |" in out, f"md: no {section} row")

    out, _ = compare(*args)
    for section in sections:
        check(f"\n{section}\n" in out, f"table: no {section} line")
    check("reads a host file" in out and "cold start p50" in out,
          "table: rows missing")


def case_unusable(tmp):
    """A backend that cannot work here, or a name that is no backend, is a
    listed column with its reason, and the run still succeeds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("E2B_")}
    env["HOME"] = tmp  # no user config that could carry a key
    doc, cells = compare_json("-b", "nosuch,e2b,subprocess", "--runs", "1",
                              "--sections", "security", env=env)
    by = {b["name"]: b for b in doc["backends"]}
    check(list(by) == ["nosuch", "e2b", "subprocess"], f"columns: {list(by)}")
    check(not by["nosuch"]["usable"], "nosuch is usable?")
    reason = by["nosuch"]["reason"]
    check("not found" in reason and "subprocess" in reason,
          f"nosuch: the reason should list the backends found: {reason}")
    if "e2b" in backends():
        check(not by["e2b"]["usable"], "e2b usable without E2B_API_KEY")
        check("E2B_API_KEY" in by["e2b"]["reason"], f"e2b: {by['e2b']['reason']}")
        expect_cell(cells, "e2b", "security.host_file", "skipped")
    expect_cell(cells, "nosuch", "setup.status", "skipped")
    expect_cell(cells, "subprocess", "setup.status", "ready")


def case_e2b_test_server(tmp):
    """With a key and URLs, the e2b column is measured (against the local
    E2B-compatible server, which runs code unisolated: it can read a host
    file, which is the known answer)."""
    if "e2b" not in backends():
        print("skip: no e2b backend was built")
        return SKIP
    server = os.path.join(SOURCE, "tests", "e2b", "e2b_test_server.py")
    proc = subprocess.Popen([sys.executable, server, "--api-key", "cmp-key"],
                            stdout=subprocess.PIPE, text=True)
    try:
        ports = json.loads(proc.stdout.readline())
        env = dict(os.environ, E2B_API_KEY="cmp-key",
                   E2B_API_URL=f"http://127.0.0.1:{ports['api_port']}",
                   E2B_SANDBOX_URL=f"http://127.0.0.1:{ports['sandbox_port']}")
        doc, cells = compare_json("-b", "e2b", "--runs", "2", env=env)
        check(doc["backends"][0]["usable"], f"e2b: {doc['backends'][0]}")
        expect_cell(cells, "e2b", "setup.status", "ready")
        expect_cell(cells, "e2b", "security.host_file", "yes")
        expect_cell(cells, "e2b", "resources.output", "yes")
        value, ev = cells[("e2b", "speed.cold_p50_s")]
        check(value and value.endswith("ms") or value.endswith(" s"),
              f"e2b cold p50: {value} ({ev})")
        value, ev = cells[("e2b", "cost.price")]
        check(value.startswith("$") and "(est.)" in value, f"e2b price: {value}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def case_plot(tmp):
    """--plot writes a PNG with gnuplot, or says clearly that it is missing."""
    png = os.path.join(tmp, "latency.png")
    args = ["-b", "subprocess", "--runs", "3", "--sections", "speed",
            "--plot", png]
    env = dict(os.environ, PATH="/nonexistent")
    _, err = compare(*args, env=env, expect=1)
    check("gnuplot not found" in err, f"missing gnuplot: {err}")
    if not shutil.which("gnuplot"):
        print("gnuplot is not installed: only the missing case was checked")
        return 0
    compare(*args)
    with open(png, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "the plot is not a PNG")


def case_usage(tmp):
    """Bad options are usage errors (exit 2), --help is not."""
    compare("--format", "xml", expect=2)
    compare("--runs", "0", expect=2)
    compare("--sections", "nonsense", expect=2)
    out, _ = compare("--help")
    check("--e2b-price-per-second" in out, "help lacks an option")


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(CASES)}}}")
    with tempfile.TemporaryDirectory(prefix="runbox-compare-test-") as tmp:
        try:
            rc = CASES[sys.argv[1]](tmp) or 0
        except Failure as e:
            print(f"FAIL {sys.argv[1]}: {e}")
            sys.exit(1)
    print(f"{'skip' if rc == SKIP else 'ok'} {sys.argv[1]}")
    sys.exit(rc)
