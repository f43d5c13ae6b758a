#!/usr/bin/env python3
"""E2B-compatible test server for runbox's e2b backend and the official SDK.

Speaks the wire protocol of E2B's control plane (API) on one port and of the
sandbox data plane (envd on 49983 and the code interpreter on 49999, told
apart by the E2b-Sandbox-Port header or by path) on another, both on
127.0.0.1 only. Code really runs, in the sandbox's own temporary home:
Python in one resident interpreter per code context (and per language's
default context) that keeps its variables for the sandbox's lifetime, like
the real code interpreter's Jupyter kernels; bash/node in a process per
execution. Nothing a cell starts outlives it. It is a test double, not a
sandbox: the code is NOT isolated.

Test-only endpoints (on both ports, no auth):
  GET  /_test/stats  -> {"live_sandboxes", "requests": {"METHOD /route": n},
                         "server_seconds": total handling time, "created": n,
                         "last_create": body of the last POST /v2/sandboxes,
                         "last_start": the last process.Process/Start request,
                         "timeouts": the lifetimes POST /sandboxes/{id}/timeout
                         set, in order}
  POST /_test/reset  -> clears counters and faults, kills every sandbox
                        (only the counters and faults with
                        {"counters_only": true})
  POST /_test/fault  {"path_prefix", "method"?, "status"?, "body"?,
                      "retry_after"?, "delay"?, "reset"?, "malformed"?,
                      "truncate"?, "drop_mid_stream"?, "null_error_name"?,
                      "expire_in"?, "expire_at_start"?, "content_type"?,
                      "end_error"?,
                      "envd_version"?, "cpu_count"?, "memory_mb"?,
                      "count"? (default 1)}
      reset: drop the connection (TCP RST) instead of answering;
      malformed: a broken line/frame in an /execute or Start stream;
      truncate: end such a stream cleanly but without its end marker;
      drop_mid_stream: drop the connection after the stream started;
      null_error_name: error records carry "name": null;
      expire_in: the sandbox of the request (data plane) expires that many
      seconds later, as E2B ends a sandbox at its lifetime;
      expire_at_start: (on a Start stream) the sandbox ends right after
      the process has started, while it runs;
      content_type: a Start stream answered with this Content-Type;
      end_error: a Start stream ended at once with this Connect error
      ({"code", "message"}) in its end-of-stream message;
      cpu_count, memory_mb: (on POST /v2/sandboxes) the template size the
      sandbox reports (default 2 vCPU, 512 MiB, E2B's default template);
      envd_version: (on POST /v2/sandboxes) the sandbox reports this
      envdVersion; below 0.4.0 its envd, like the real one, has no
      default user and refuses calls that do not name one.
A sandbox that expires or is killed while a stream runs has that
connection dropped, as E2B's edge does when the VM goes away; later
requests to it are answered 502.

Usage: e2b_test_server.py [--api-key KEY] [--port-file FILE]
The first stdout line is {"api_port": N, "sandbox_port": M, "pid": P}.
Stdlib only.
"""

import argparse
import ast
import base64
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENVD_PORT = "49983"
INTERPRETER_PORT = "49999"
ENVD_VERSION = "0.5.7"

# The kernel is one code context's resident Python, as a Jupyter kernel is
# for the real code interpreter: every cell runs in the same namespace, so
# variables, imports and functions persist for the sandbox's lifetime. A
# cell arrives as one JSON line on a private pipe (fd argv[1]); the value of
# a trailing expression becomes the main result (its repr as text/plain, as
# IPython shows it), an exception becomes an error record,
# display_png()/display_svg() publish non-main results, and a "done" record
# ends the cell. Records go to another private pipe (fd argv[2]) so they
# never mix with the code's own output. SIGINT interrupts a cell
# (KeyboardInterrupt) and keeps the namespace.
KERNEL = r"""
import ast, base64, json, os, sys, traceback
_ctl = os.fdopen(int(sys.argv[1]), "r")
_chan = os.fdopen(int(sys.argv[2]), "w", buffering=1)
del sys.argv[1:3]
def _send(rec):
    sys.stdout.flush(); sys.stderr.flush()
    _chan.write(json.dumps(rec) + "\n")
def display_png(data):
    _send({"type": "result", "png": base64.b64encode(bytes(data)).decode(), "is_main_result": False})
def display_svg(text):
    _send({"type": "result", "svg": str(text), "is_main_result": False})
# Like a Jupyter kernel, hand output over a line at a time, not per write.
sys.stdout.reconfigure(line_buffering=True)
_g = {"__name__": "__main__", "display_png": display_png, "display_svg": display_svg}
def _cell(src):
    try:
        _tree = ast.parse(src, "<cell>", "exec")
        _last = None
        if _tree.body and isinstance(_tree.body[-1], ast.Expr):
            _last = ast.Expression(_tree.body.pop().value)
        exec(compile(_tree, "<cell>", "exec"), _g)
        if _last is not None:
            _v = eval(compile(_last, "<cell>", "eval"), _g)
            if _v is not None:
                _r = {"type": "result", "text": repr(_v), "is_main_result": True}
                if isinstance(_v, (dict, list)):
                    _r["json"] = _v
                _send(_r)
    except BaseException as _e:
        _send({"type": "error", "name": type(_e).__name__, "value": str(_e),
               "traceback": "".join(traceback.format_exception(
                   type(_e), _e, _e.__traceback__.tb_next))})
for _line in _ctl:
    _req = json.loads(_line)
    _saved = {k: os.environ.get(k) for k in _req.get("env", {})}
    os.environ.update(_req.get("env", {}))
    try:
        _cell(_req["code"])
    except BaseException:
        pass  # an interrupt that came after the cell ended
    for _k, _v in _saved.items():
        if _v is None:
            os.environ.pop(_k, None)
        else:
            os.environ[_k] = _v
    _send({"type": "done"})
"""


class Kernel:
    """One code context's resident interpreter, in a process group of its
    own so that what its cells start can be found and ended."""

    def __init__(self, sbx):
        ctl_r, self.ctl_w = os.pipe()
        self.chan, chan_w = os.pipe()
        self.p = sbx.spawn([sys.executable, "-c", KERNEL, str(ctl_r),
                            str(chan_w)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           pass_fds=(ctl_r, chan_w))
        os.close(ctl_r)
        os.close(chan_w)
        self.sbx = sbx
        self.count = 0
        self.lock = threading.Lock()  # one cell at a time, as in Jupyter

    def alive(self):
        return self.p.poll() is None

    def strays(self):
        """The processes of the kernel's group other than the kernel."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == self.p.pid:
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.p.pid:  # pgrp
                out.append(int(d))
        return out

    def end_strays(self):
        # Like the one-shot runs before: nothing a cell started outlives it.
        for pid in self.strays():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except OSError:
            pass
        self.p.wait()
        self.sbx.forget(self.p)
        for fd in (self.ctl_w, self.chan):
            try:
                os.close(fd)
            except OSError:
                pass
        self.p.stdout.close()
        self.p.stderr.close()


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Sandbox:
    def __init__(self, sandbox_id, template, timeout, metadata, env_vars,
                 internet):
        self.id = sandbox_id
        self.template = template
        self.token = "envd-" + uuid.uuid4().hex[:16]
        self.root = tempfile.mkdtemp(prefix="e2b-sbx-")
        self.home = os.path.join(self.root, "home", "user")
        os.makedirs(self.home)
        self.metadata = metadata
        self.env_vars = env_vars
        self.internet = internet
        self.started = time.time()
        self.end_at = time.time() + timeout
        self.exec_count = 0
        self.procs = set()
        self.dead = threading.Event()  # killed or expired
        self.envd_version = ENVD_VERSION
        self.cpu_count, self.memory_mb = 2, 512
        self.contexts = {}
        self.kernels = {}  # context id or "default:<language>" -> Kernel
        self.lock = threading.Lock()

    def kernel(self, key):
        """The context's resident interpreter, started on first use and
        again after it ended."""
        with self.lock:
            k = self.kernels.get(key)
            if k is not None and k.alive():
                return k
        k = Kernel(self)
        with self.lock:
            self.kernels[key] = k
        return k

    def drop_kernel(self, key):
        with self.lock:
            k = self.kernels.pop(key, None)
        if k is not None:
            k.kill()

    def legacy_envd(self):
        """envd before 0.4.0 had no default user: every call names one."""
        return tuple(int(x) for x in self.envd_version.split(".")[:3]) < (0, 4, 0)

    def path(self, p):
        """Maps a sandbox path into this sandbox's root (relative = home)."""
        if not p:
            return self.home
        full = os.path.join(self.root, p.lstrip("/")) if p.startswith("/") \
            else os.path.join(self.home, p)
        full = os.path.normpath(full)
        if not (full + "/").startswith(self.root + "/"):
            raise ValueError("path escapes the sandbox")
        return full

    def env(self, extra=None):
        # A fresh environment: the server's own (which may hold secrets)
        # never reaches the code; only what the client sent does.
        # "python3" is the interpreter running this server; pip installs
        # into the sandbox's own site directory, which goes away with it.
        site = os.path.join(self.root, "site-packages")
        env = {"PATH": os.path.dirname(sys.executable) + ":" +
               os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": self.home, "LANG": "C.UTF-8", "E2B_SANDBOX": "true",
               "E2B_SANDBOX_ID": self.id}
        for k, v in os.environ.items():
            if k.startswith("PIP_"):
                env[k] = v
        env.update({"PIP_TARGET": site, "PYTHONPATH": site,
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        env.update(self.env_vars or {})
        env.update(extra or {})
        return env

    def spawn(self, argv, extra_env=None, **kw):
        p = subprocess.Popen(argv, cwd=self.home, env=self.env(extra_env),
                             start_new_session=True, **kw)
        with self.lock:
            self.procs.add(p)
        return p

    def forget(self, p):
        with self.lock:
            self.procs.discard(p)

    def kill(self):
        self.dead.set()
        with self.lock:
            procs = list(self.procs)
            self.procs.clear()
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def info(self):
        return {"sandboxID": self.id, "templateID": self.template,
                "clientID": "runbox-test", "envdVersion": self.envd_version,
                "envdAccessToken": self.token, "trafficAccessToken": None,
                "domain": None}

    def detail(self):
        d = self.info()
        d.update({"startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime(self.started)),
                  "endAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                         time.gmtime(self.end_at)),
                  "state": "running", "cpuCount": self.cpu_count,
                  "memoryMB": self.memory_mb,
                  "diskSizeMB": 1024, "metadata": self.metadata,
                  "allowInternetAccess": self.internet})
        return d


class State:
    def __init__(self, api_key):
        self.api_key = api_key
        self.lock = threading.Lock()
        self.sandboxes = {}
        self.faults = []
        self.reset_counters()

    def reset_counters(self):
        self.requests = {}
        self.server_seconds = 0.0
        self.created = 0
        self.last_create = None
        self.last_start = None
        self.timeouts = []

    def count(self, route):
        """Counted on arrival: a client that has its answer must already
        see its request in /_test/stats."""
        with self.lock:
            self.requests[route] = self.requests.get(route, 0) + 1

    def add_seconds(self, seconds):
        with self.lock:
            self.server_seconds += seconds

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if path.startswith(f.get("path_prefix", "/")) and \
                        f.get("method", method) == method:
                    f["count"] = f.get("count", 1) - 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                    return dict(f)
        return None

    def get(self, sandbox_id):
        with self.lock:
            return self.sandboxes.get(sandbox_id)

    def remove(self, sandbox_id):
        with self.lock:
            sbx = self.sandboxes.pop(sandbox_id, None)
        if sbx:
            sbx.kill()
        return sbx

    def expire(self):
        t = time.time()
        with self.lock:
            gone = [s for s in self.sandboxes.values() if s.end_at <= t]
        for s in gone:
            self.remove(s.id)

    def kill_all(self):
        with self.lock:
            ids = list(self.sandboxes)
        for i in ids:
            self.remove(i)


STATE = None


def route_of(path):
    """Groups request paths for the statistics ("/sandboxes/{id}")."""
    parts = path.split("?")[0].split("/")
    if len(parts) > 2 and parts[1] == "sandboxes":
        parts[2] = "{id}"
    if len(parts) > 3 and parts[1] == "v2" and parts[2] == "sandboxes":
        parts[3] = "{id}"
    if len(parts) > 2 and parts[1] == "contexts":
        parts[2] = "{id}"
    return "/".join(parts)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "e2b-test-server"

    def log_message(self, fmt, *args):
        if os.environ.get("E2B_TEST_SERVER_VERBOSE"):
            sys.stderr.write("e2b-test-server: " + (fmt % args) + "\n")

    # ---- plumbing -----------------------------------------------------
    def body(self):
        if getattr(self, "_body", None) is not None:
            return self._body
        data = b""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n else b""
        self._body = data
        return data

    def json_body(self):
        raw = self.body()
        return json.loads(raw) if raw.strip() else {}

    def send(self, status, payload=None, ctype="application/json",
             headers=None):
        if payload is None:
            data = b""
        elif isinstance(payload, (bytes, bytearray)):
            data = bytes(payload)
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload).encode()
        self.send_response(status)
        if data or ctype == "application/octet-stream":
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def error(self, status, message):
        self.send(status, {"code": status, "message": message})

    def start_stream(self, ctype):
        self.send_response(200)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self):
        """Closes the connection with a TCP reset: a dropped connection."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def client_gone(self):
        r, _, _ = select.select([self.connection], [], [], 0)
        if not r:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # ---- dispatch -----------------------------------------------------
    def handle_any(self):
        t0 = time.monotonic()
        self._body = None
        self.is_api = self.server.role == "api"
        path = self.path.split("?")[0]
        route = path if path.startswith("/_test/") else route_of(self.path)
        if not path.startswith("/_test/"):
            STATE.count(self.command + " " + route)
        try:
            if path.startswith("/_test/"):
                return self.test_endpoint(path)
            self.body()
            fault = STATE.take_fault(self.command, path)
            if fault:
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                if fault.get("reset"):
                    return self.drop()
                if fault.get("status"):
                    hdr = {}
                    if fault.get("retry_after") is not None:
                        hdr["Retry-After"] = fault["retry_after"]
                    body = fault.get("body")
                    if body is None:
                        body = {"code": fault["status"],
                                "message": "injected fault"}
                    return self.send(int(fault["status"]), body,
                                     headers=hdr)
            self.fault = fault or {}
            if self.fault.get("expire_in") is not None:
                # E2B ends a sandbox at its lifetime, whatever it runs.
                target = STATE.get(self.headers.get("E2b-Sandbox-Id", ""))
                if target:
                    target.end_at = time.time() + float(self.fault["expire_in"])
            if self.is_api:
                self.api(path)
            else:
                self.data_plane(path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if not path.startswith("/_test/"):
                STATE.add_seconds(time.monotonic() - t0)

    do_GET = do_POST = do_DELETE = do_PUT = handle_any

    def test_endpoint(self, path):
        if path == "/_test/stats":
            STATE.expire()
            with STATE.lock:
                out = {"live_sandboxes": len(STATE.sandboxes),
                       "requests": dict(STATE.requests),
                       "server_seconds": STATE.server_seconds,
                       "created": STATE.created,
                       "last_create": STATE.last_create,
                       "last_start": STATE.last_start,
                       "timeouts": list(STATE.timeouts)}
            return self.send(200, out)
        if path == "/_test/reset":
            if not self.json_body().get("counters_only"):
                STATE.kill_all()
            with STATE.lock:
                STATE.faults.clear()
                STATE.reset_counters()
            return self.send(200, {})
        if path == "/_test/fault":
            f = self.json_body()
            with STATE.lock:
                STATE.faults.append(f)
            return self.send(200, {})
        return self.error(404, "no such test endpoint")

    # ---- control plane ------------------------------------------------
    def api(self, path):
        if self.headers.get("X-API-KEY") != STATE.api_key:
            return self.error(401, "Invalid API key, it must start with "
                              "'e2b_' and be one of yours")
        parts = path.strip("/").split("/")
        if parts == ["v2", "sandboxes"] and self.command == "POST":
            req = self.json_body()
            if not req.get("templateID"):
                return self.error(400, "templateID is required")
            sbx = Sandbox("i" + uuid.uuid4().hex[:19], req["templateID"],
                          int(req.get("timeout") or 300),
                          req.get("metadata") or {}, req.get("envVars") or {},
                          req.get("allow_internet_access", True))
            if self.fault.get("envd_version"):
                sbx.envd_version = self.fault["envd_version"]
            # The template's size, which E2B bills by.
            sbx.cpu_count = int(self.fault.get("cpu_count", 2))
            sbx.memory_mb = int(self.fault.get("memory_mb", 512))
            with STATE.lock:
                STATE.sandboxes[sbx.id] = sbx
                STATE.created += 1
                STATE.last_create = req
            return self.send(201, sbx.info())
        if parts == ["v2", "sandboxes"] and self.command == "GET":
            STATE.expire()
            # The real API's filters: metadata=<url-encoded k=v&...> and
            # state=running,paused (every sandbox here runs).
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            want = dict(urllib.parse.parse_qsl(q.get("metadata", [""])[0]))
            states = ",".join(q.get("state", ["running"])).split(",")
            with STATE.lock:
                items = [s.detail() for s in STATE.sandboxes.values()
                         if "running" in states and
                         all(s.metadata.get(k) == v for k, v in want.items())]
            return self.send(200, items)
        if len(parts) >= 2 and parts[0] == "sandboxes" or \
                len(parts) >= 3 and parts[:2] == ["v2", "sandboxes"]:
            sid = parts[1] if parts[0] == "sandboxes" else parts[2]
            rest = parts[2:] if parts[0] == "sandboxes" else parts[3:]
            STATE.expire()
            sbx = STATE.get(sid)
            if sbx is None:
                return self.error(404, "sandbox \"%s\" not found" % sid)
            if not rest and self.command == "GET":
                return self.send(200, sbx.detail())
            if not rest and self.command == "DELETE":
                STATE.remove(sid)
                return self.send(204)
            if rest == ["timeout"] and self.command == "POST":
                # Like E2B: a required whole number of seconds, counted
                # from now, that may shorten the lifetime as well as
                # extend it.
                try:
                    t = self.json_body().get("timeout")
                except (ValueError, AttributeError):
                    t = None
                if not isinstance(t, int) or isinstance(t, bool) or t < 0:
                    return self.error(400, "timeout must be a whole number "
                                      "of seconds")
                sbx.end_at = time.time() + t
                with STATE.lock:
                    STATE.timeouts.append(t)
                return self.send(204)
            if rest == ["connect"] and self.command == "POST":
                t = int(self.json_body().get("timeout") or 300)
                sbx.end_at = max(sbx.end_at, time.time() + t)
                return self.send(200, sbx.info())
        return self.error(404, "no route for %s %s" % (self.command, path))

    # ---- data plane ---------------------------------------------------
    def data_plane(self, path):
        port = self.headers.get("E2b-Sandbox-Port")
        if port is None:
            port = INTERPRETER_PORT if path == "/execute" or \
                path.startswith("/contexts") else ENVD_PORT
        STATE.expire()
        sbx = STATE.get(self.headers.get("E2b-Sandbox-Id", ""))
        if sbx is None:
            # What E2B's edge proxy answers for a sandbox that is gone.
            return self.send(502, "sandbox not found", ctype="text/plain")
        needs_token = not (port == INTERPRETER_PORT and
                           path.startswith("/contexts"))
        if needs_token and self.headers.get("X-Access-Token") != sbx.token:
            return self.error(401, "invalid access token")
        if port == INTERPRETER_PORT:
            if path == "/execute" and self.command == "POST":
                return self.execute(sbx)
            if path == "/health":
                return self.send(200, "OK", ctype="text/plain")
            if path.startswith("/contexts"):
                return self.contexts(sbx, path)
        else:
            if path == "/health":
                return self.send(204)
            if path == "/files":
                return self.files(sbx)
            if path == "/process.Process/Start":
                return self.process_start(sbx)
            if path == "/process.Process/SendSignal":
                return self.send_signal(sbx)
            if path == "/filesystem.Filesystem/Stat":
                return self.stat(sbx)
        return self.send(404, "not found", ctype="text/plain")

    def contexts(self, sbx, path):
        parts = path.strip("/").split("/")
        if len(parts) == 1 and self.command == "POST":
            req = self.json_body()
            ctx = {"id": str(uuid.uuid4()),
                   "language": req.get("language", "python"),
                   "cwd": req.get("cwd", "/home/user")}
            sbx.contexts[ctx["id"]] = ctx
            return self.send(200, ctx)
        if len(parts) == 1:
            return self.send(200, list(sbx.contexts.values()))
        if parts[1] not in sbx.contexts:
            return self.send(404, "context not found", ctype="text/plain")
        if self.command == "DELETE":
            del sbx.contexts[parts[1]]
        if self.command == "DELETE" or parts[2:] == ["restart"]:
            sbx.drop_kernel(parts[1])  # its variables go with it
        return self.send(200, "null")

    def execute(self, sbx):
        req = self.json_body()
        if "code" not in req:
            return self.send(400, "code is required", ctype="text/plain")
        lang = (req.get("language") or "python").lower()
        key = "default:" + lang
        if req.get("context_id"):
            ctx = sbx.contexts.get(req["context_id"])
            if ctx is None:
                return self.send(404, "context not found", ctype="text/plain")
            lang = ctx["language"]
            key = req["context_id"]
        kernel = None
        if lang in ("python", "py"):
            kernel = sbx.kernel(key)
            argv = []
        elif lang == "bash":
            argv = ["bash", "-s"]
        elif lang in ("javascript", "js") and shutil.which("node"):
            argv = ["node", "-"]
        else:
            argv = None
        while kernel is not None:
            kernel.lock.acquire()  # cells of one context queue up
            if kernel.alive() and sbx.kernels.get(key) is kernel:
                break
            kernel.lock.release()  # ended while this cell waited
            kernel = sbx.kernel(key)
        try:
            self.execute_locked(sbx, req, lang, argv, kernel, key)
        finally:
            if kernel is not None:
                kernel.lock.release()

    def execute_locked(self, sbx, req, lang, argv, kernel, key):
        if kernel is not None:
            kernel.count += 1  # the kernel's own counter, as in Jupyter
            count = kernel.count
        else:
            sbx.exec_count += 1
            count = sbx.exec_count
        self.start_stream(None)
        self.line({"type": "number_of_executions",
                   "execution_count": count})
        if self.fault.get("drop_mid_stream"):
            return self.drop()
        if self.fault.get("truncate"):
            return self.end_stream()  # cleanly, but without the end marker
        if self.fault.get("malformed"):
            self.chunk(b'{"type": "stdout", "text": \n')
        if argv is None:
            self.line({"type": "error", "name": "UnsupportedLanguage",
                       "value": "no %s kernel in this test server" % lang,
                       "traceback": ""})
        elif kernel is not None:
            self.run_cell(sbx, kernel, key, req["code"], req.get("env_vars"))
        else:
            self.run_streaming(sbx, argv, req["code"].encode(),
                               req.get("env_vars"))
        if sbx.dead.is_set():
            # The VM is gone: E2B's edge cuts the connection, it does not
            # finish the answer.
            return self.drop()
        self.line({"type": "end_of_execution"})
        self.end_stream()

    def line(self, rec):
        self.chunk(json.dumps(rec).encode() + b"\n")

    def cell_record(self, rec):
        if self.fault.get("null_error_name"):
            r = json.loads(rec)
            if r.get("type") == "error":
                r["name"] = None  # as some server-side failures do
                rec = json.dumps(r).encode()
        return rec

    def emit(self, rec):
        """Sends one line; False when the client is gone."""
        try:
            self.chunk(rec + b"\n")
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def run_cell(self, sbx, kernel, key, code, env_vars):
        """Runs one cell in the context's kernel, streaming its output and
        records until its "done". A client that hangs up interrupts the
        cell (KeyboardInterrupt, variables kept); a cell that does not stop
        within a second ends the kernel, as does the kernel dying."""
        try:
            os.write(kernel.ctl_w, json.dumps(
                {"code": code, "env": env_vars or {}}).encode() + b"\n")
        except OSError:
            pass  # a dead kernel: its channel's EOF says so below
        out, err = kernel.p.stdout.fileno(), kernel.p.stderr.fileno()
        names = {out: "stdout", err: "stderr", kernel.chan: "chan"}
        pending, last = b"", time.monotonic()
        done = dead = gone = False
        deadline = checked = None
        while not done and not dead:
            ready, _, _ = select.select(list(names), [], [], 0.2)
            now = time.monotonic()
            if not gone and (not ready or now - (checked or 0) > 0.2):
                checked = now
                gone = self.client_gone()
            if gone and deadline is None:
                deadline = now + 1.0
                try:
                    os.kill(kernel.p.pid, signal.SIGINT)
                except OSError:
                    pass
            if gone and now > deadline:
                break
            if not ready:
                if not gone and now - last > 5:
                    # Like the real server: a keepalive after 5 s of silence.
                    gone = not self.emit(b'{"type": "keepalive"}')
                    last = now
                continue
            # The code's output first: a record is written after a flush.
            for fd in sorted(ready, key=lambda f: f == kernel.chan):
                data = os.read(fd, 65536)
                if not data:
                    dead = dead or fd == kernel.chan
                    names.pop(fd, None)
                    continue
                last = time.monotonic()
                if fd != kernel.chan:
                    if not gone:
                        gone = not self.emit(json.dumps({
                            "type": names[fd], "timestamp": now_iso(),
                            "text": data.decode("utf-8", "surrogateescape")
                        }).encode())
                    continue
                pending += data
                while b"\n" in pending:
                    rec, pending = pending.split(b"\n", 1)
                    if json.loads(rec).get("type") == "done":
                        done = True
                        break
                    if not gone:
                        gone = not self.emit(self.cell_record(rec))
        kernel.end_strays()
        # What the cell printed before its "done" is already in the pipes.
        drain = [fd for fd in (out, err) if fd in names]
        while done and not gone and drain:
            ready, _, _ = select.select(drain, [], [], 0)
            if not ready:
                break
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    drain.remove(fd)
                    continue
                self.line({"type": names[fd], "timestamp": now_iso(),
                           "text": data.decode("utf-8", "surrogateescape")})
        if not done:
            if dead and not gone and not sbx.dead.is_set():
                self.line({"type": "error", "name": "DeadKernelError",
                           "value": "the kernel died; its variables are "
                           "lost and the next execution starts a new one",
                           "traceback": ""})
            sbx.drop_kernel(key)

    def run_streaming(self, sbx, argv, code, env_vars):
        rfd, wfd = os.pipe()
        p = sbx.spawn(argv, extra_env=env_vars, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      pass_fds=(wfd,))
        os.close(wfd)
        try:
            p.stdin.write(code)
            p.stdin.close()
        except BrokenPipeError:
            pass
        streams = {p.stdout.fileno(): "stdout", p.stderr.fileno(): "stderr",
                   rfd: "chan"}
        pending = [b""]
        last = [time.monotonic()]

        def on_data(name, data):
            last[0] = time.monotonic()
            if name != "chan":
                return self.line({"type": name, "timestamp": now_iso(),
                                  "text": data.decode("utf-8",
                                                      "surrogateescape")})
            pending[0] += data
            while b"\n" in pending[0]:
                rec, pending[0] = pending[0].split(b"\n", 1)
                if self.fault.get("null_error_name"):
                    r = json.loads(rec)
                    if r.get("type") == "error":
                        r["name"] = None  # as some server-side failures do
                        rec = json.dumps(r).encode()
                self.chunk(rec + b"\n")

        def on_idle():
            # Like the real server: a keepalive line after 5 s of silence.
            if time.monotonic() - last[0] > 5:
                self.line({"type": "keepalive"})
                last[0] = time.monotonic()

        try:
            self.pump(streams, on_data, on_idle)
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
            sbx.forget(p)
            os.close(rfd)
            p.stdout.close()
            p.stderr.close()

    def pump(self, streams, on_data, on_idle=None):
        """Hands the output of the fds in streams ({fd: name}) to on_data
        as it comes, until they all close or the client hangs up (then the
        real servers stop the code too, and so do the callers' finally)."""
        while streams:
            ready, _, _ = select.select(list(streams), [], [], 0.2)
            if not ready:
                if self.client_gone():
                    return
                if on_idle:
                    on_idle()
            for fd in ready:
                data = os.read(fd, 65536)
                if data:
                    on_data(streams[fd], data)
                else:
                    del streams[fd]

    def files(self, sbx):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        path = q.get("path", [""])[0]
        if sbx.legacy_envd() and q.get("username", [""])[0] != "user":
            return self.error(400, "envd %s needs the user named "
                              "(username=user)" % sbx.envd_version)
        if self.command == "GET":
            try:
                full = sbx.path(path)
            except ValueError as e:
                return self.error(400, str(e))
            if os.path.isdir(full):
                return self.error(400, "path '%s' is a directory" % path)
            try:
                with open(full, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                return self.error(404, "file '%s' does not exist" % path)
            return self.send(200, data, ctype="application/octet-stream")
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            entries = self.multipart(ctype, self.body())
            if path and len(entries) == 1:
                entries = [(path, entries[0][1])]
        else:
            entries = [(path, self.body())]
        if not entries or any(not p for p, _ in entries):
            return self.error(400, "no file path given")
        out = []
        for p, data in entries:
            try:
                full = sbx.path(p)
            except ValueError as e:
                return self.error(400, str(e))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
            out.append({"name": os.path.basename(full), "type": "file",
                        "path": p})
        return self.send(200, out)

    @staticmethod
    def multipart(ctype, body):
        boundary = ctype.split("boundary=", 1)[1].strip().strip('"')
        entries = []
        for part in body.split(b"--" + boundary.encode())[1:]:
            if part.startswith(b"--"):
                break
            head, _, data = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
            name = b""
            for h in head.split(b"\r\n"):
                if h.lower().startswith(b"content-disposition") and \
                        b'filename="' in h:
                    name = h.split(b'filename="', 1)[1].split(b'"', 1)[0]
            entries.append((name.decode(), data[:-2]
                            if data.endswith(b"\r\n") else data))
        return entries

    # Connect protocol: 1 flag byte + 4-byte big-endian length + JSON.
    def frame(self, flag, msg):
        data = msg if isinstance(msg, bytes) else json.dumps(msg).encode()
        self.chunk(struct.pack(">BI", flag, len(data)) + data)

    def process_start(self, sbx):
        raw = self.body()
        if len(raw) < 5:
            return self.send(400, {"code": "invalid_argument",
                                   "message": "no envelope"})
        _, n = struct.unpack(">BI", raw[:5])
        req = json.loads(raw[5:5 + n])
        with STATE.lock:
            STATE.last_start = req
        if sbx.legacy_envd() and \
                self.headers.get("Authorization") != "Basic dXNlcjo=":
            # Before the stream starts: an HTTP status, as connect-go does.
            return self.send(401, {"code": "unauthenticated",
                                   "message": "envd %s needs the user named"
                                   % sbx.envd_version})
        proc = req.get("process", {})
        argv = [proc.get("cmd", "")] + list(proc.get("args", []))
        self.start_stream(self.fault.get("content_type",
                                         "application/connect+json"))
        try:
            p = sbx.spawn(argv, extra_env=proc.get("envs"),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
        except OSError as e:
            self.frame(2, {"error": {"code": "invalid_argument",
                                     "message": str(e)}})
            return self.end_stream()
        self.frame(0, {"event": {"start": {"pid": p.pid}}})
        if self.fault.get("expire_at_start"):
            STATE.remove(sbx.id)  # its lifetime ends while the process runs
        if self.fault.get("end_error"):
            # envd ending the stream with a Connect error (e.g. its own
            # deadline_exceeded), the process killed.
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            sbx.forget(p)
            p.stdout.close()
            p.stderr.close()
            self.frame(2, {"error": self.fault["end_error"]})
            return self.end_stream()
        if self.fault.get("malformed"):
            self.frame(0, b'{"event": {"data"')
        streams = {p.stdout.fileno(): "stdout", p.stderr.fileno(): "stderr"}
        try:
            self.pump(streams, lambda name, data: self.frame(0, {"event": {
                "data": {name: base64.b64encode(data).decode()}}}))
        finally:
            if streams:
                os.killpg(p.pid, signal.SIGKILL)
            code = p.wait()
            sbx.forget(p)
            p.stdout.close()
            p.stderr.close()
        if self.fault.get("drop_mid_stream") or sbx.dead.is_set():
            return self.drop()
        if self.fault.get("truncate"):
            return self.end_stream()  # no end event, no end-of-stream
        end = {"exited": True, "status": "exit status %d" % code}
        if code:
            end["exitCode"] = code
            end["error"] = "exit status %d" % code
        self.frame(0, {"event": {"end": end}})
        self.frame(2, {})
        self.end_stream()

    def send_signal(self, sbx):
        pid = self.json_body().get("process", {}).get("pid")
        with sbx.lock:
            p = next((x for x in sbx.procs if x.pid == pid), None)
        if p is None:
            return self.send(404, {"code": "not_found",
                                   "message": "process %s not found" % pid})
        os.killpg(p.pid, signal.SIGKILL)
        return self.send(200, {})

    def stat(self, sbx):
        path = self.json_body().get("path", "")
        try:
            st = os.stat(sbx.path(path))
        except (OSError, ValueError):
            return self.send(404, {"code": "not_found",
                                   "message": "path '%s' not found" % path})
        return self.send(200, {"entry": {
            "name": os.path.basename(path), "path": path,
            "type": "FILE_TYPE_DIRECTORY" if os.path.isdir(sbx.path(path))
            else "FILE_TYPE_FILE", "size": str(st.st_size),
            "mode": st.st_mode & 0o777}})


def make_server(role):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.role = role
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api-key", default=os.environ.get(
        "E2B_TEST_SERVER_KEY", "e2b_test_key"))
    ap.add_argument("--port-file")
    args = ap.parse_args()
    STATE = State(args.api_key)
    api, sbx = make_server("api"), make_server("sandbox")
    ports = {"api_port": api.server_address[1],
             "sandbox_port": sbx.server_address[1], "pid": os.getpid()}
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(ports, f)
        os.replace(tmp, args.port_file)
    print(json.dumps(ports), flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.2):
        STATE.expire()  # sandboxes die when their timeout passes
    STATE.kill_all()
    api.shutdown()
    sbx.shutdown()


if __name__ == "__main__":
    main()
