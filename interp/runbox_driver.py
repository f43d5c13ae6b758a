# runbox_driver.py — the resident Python interpreter of a runbox sandbox.
#
# runbox starts this once per sandbox as `python3 -I -c <this source>`
# (the source is compiled into the backend, so there is no file the code
# could replace or import) and runs every request in one persistent
# namespace. It speaks length-prefixed frames with runbox over its original
# stdin/stdout, which it moves to private descriptors before any code runs;
# the code's own fd 0 is /dev/null and its fd 1 and 2 are pipes the driver
# relays as output frames. A print, an os.write(1, ...) or a child process
# can therefore never be taken for a frame.
#
# Frame: 1 type byte, 4-byte big-endian payload length, payload.
#   runbox -> driver   C code (raw bytes)       I interrupt (empty)
#                      L limits for the next C {cpu_seconds}
#   driver -> runbox   O stdout bytes           E stderr bytes
#                      R rich: main flag byte, MIME, NUL, raw data
#                      X exception {name, value, traceback}
#                      D done {execution_count}
# Nothing is sent before the first C frame (a pool checks that a waiting
# interpreter is silent). Code that exits (sys.exit, os._exit, a crash) ends this process; runbox
# sees the stream end and reads the exit status from the kernel or the
# engine, not from a frame.
#
# The code runs in this same process, so it can reach the frame descriptor
# and this module's memory and forge frames. runbox therefore takes from
# frames only what the code could report anyway (its output, values, its
# exception, the execution counter); timeouts, restarts, the state epoch,
# exit statuses and limits come from runbox's own clock and from the
# kernel or engine.
import ast
import builtins
import io
import json
import linecache
import os
import queue
import resource
import select
import signal
import site
import struct
import sys
import threading
import time
import traceback
import types
import warnings

SWEEP = "sweep" in sys.argv[1:]  # kill what the code left after each call
RICH_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("text/latex", "_repr_latex_"),
    ("application/json", "_repr_json_"),
)

# --- the frame channel: off fds 0/1 before anything else can use them ---
chan_in = os.dup(0)
chan_out = os.dup(1)
write_lock = threading.Lock()


def send(kind, payload=b""):
    data = struct.pack(">cI", kind, len(payload)) + payload
    view = memoryview(data)
    with write_lock:
        while view:
            try:
                n = os.write(chan_out, view)
            except InterruptedError:
                continue
            except OSError:
                os._exit(0)  # runbox is gone
            view = view[n:]


def send_json(kind, obj):
    send(kind, json.dumps(obj).encode())


def read_exact(n):
    parts = []
    while n:
        try:
            chunk = os.read(chan_in, min(n, 1 << 20))
        except InterruptedError:
            continue
        if not chunk:
            # runbox closed the channel (it closed the session, or died):
            # end what the code started, then the interpreter.
            sweep()
            os._exit(0)
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


# --- the code's stdio: /dev/null in, pipes out ---
devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(devnull, 0)
os.close(devnull)
out_r, out_w = os.pipe()
err_r, err_w = os.pipe()
os.dup2(out_w, 1)
os.dup2(err_w, 2)
os.close(out_w)
os.close(err_w)
os.set_blocking(out_r, False)
os.set_blocking(err_r, False)
wake_r, wake_w = os.pipe()
# As `python3 -u` makes them: text layers writing straight through.
sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                              errors="surrogateescape", write_through=True)
sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                              errors="backslashreplace", write_through=True)
sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
drained = threading.Event()


def pump():
    """Relays the code's fd 1 and 2 as O and E frames; on a wake-up, reads
    both pipes empty and says so (the end of a call)."""
    kinds = {out_r: b"O", err_r: b"E"}
    while True:
        ready, _, _ = select.select([out_r, err_r, wake_r], [], [])
        flush = wake_r in ready
        if flush:
            os.read(wake_r, 64)
        for fd in (out_r, err_r):
            while fd in ready or flush:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                send(kinds[fd], chunk)
                if not flush:
                    break
        if flush:
            drained.set()


def drain():
    for f in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            f.flush()
        except Exception:
            pass
    drained.clear()
    os.write(wake_w, b"w")
    drained.wait()


# --- interrupts: only while code runs ---
running = False
run_lock = threading.Lock()
main_ident = threading.get_ident()


def on_sigint(signum, frame):
    if running:
        raise KeyboardInterrupt


signal.signal(signal.SIGINT, on_sigint)
requests = queue.SimpleQueue()


def reader():
    while True:
        kind, size = struct.unpack(">cI", read_exact(5))
        payload = read_exact(size)
        if kind == b"C":
            requests.put(payload)
        elif kind == b"L":
            requests.put(json.loads(payload))
        elif kind == b"I":
            with run_lock:
                if running:
                    signal.pthread_kill(main_ident, signal.SIGINT)


# --- what the code sees: its own __main__, the usual import path ---
main = types.ModuleType("__main__")
main.__dict__["__builtins__"] = builtins
sys.modules["__main__"] = main
if os.environ.get("PYTHONDONTWRITEBYTECODE"):
    sys.dont_write_bytecode = True
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
# -I dropped the work directory, PYTHONPATH and the user's site-packages;
# the code gets them back as `python3 -` would give them, after every
# module the driver needs is imported (a json.py in the work directory must
# not replace the driver's).
traceback.format_exception(ValueError, ValueError("warm"), None)
extra = [""] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
sys.path[0:0] = extra
user_site = site.getusersitepackages()
if os.path.isdir(user_site):
    first_site = next((i for i, p in enumerate(sys.path)
                       if p.endswith(("site-packages", "dist-packages"))), len(sys.path))
    sys.path.insert(first_site, user_site)
    site.addsitedir(user_site)
sys.argv = [""]

execution_count = 0


def rich_bundle(value):
    bundle = []
    for mime, method in RICH_METHODS:
        fn = getattr(value, method, None)
        if not callable(fn) or isinstance(value, type):
            continue
        try:
            data = fn()
        except Exception:
            continue
        if isinstance(data, tuple):
            data = data[0]
        if data is None:
            continue
        if mime == "application/json" and not isinstance(data, (str, bytes)):
            data = json.dumps(data)
        if isinstance(data, str):
            if mime in ("image/png", "image/jpeg"):
                import base64  # stdlib, imported before the code's path
                data = base64.b64decode(data)
            else:
                data = data.encode("utf-8", "surrogateescape")
        bundle.append((mime, bytes(data)))
    bundle.append(("text/plain", repr(value).encode("utf-8", "surrogateescape")))
    return bundle


def figures():
    """PNGs of every open matplotlib figure, which are then closed: what
    the code showed (Agg shows nothing) or left open."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None or not hasattr(plt, "get_fignums"):
        return []
    pngs = []
    for num in plt.get_fignums():
        buf = io.BytesIO()
        plt.figure(num).savefig(buf, format="png")
        pngs.append(buf.getvalue())
    plt.close("all")
    return pngs


def send_rich(mime, data, is_main):
    send(b"R", (b"\1" if is_main else b"\0") + mime.encode() + b"\0" + data)


def report(exc):
    """The code raised: the traceback goes to its stderr, as a script's
    would, without the driver's own frames, and to runbox as an X frame."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    if isinstance(exc, SyntaxError):
        text = "".join(traceback.format_exception_only(type(exc), exc))
    else:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    try:
        sys.stderr.write(text)
    except Exception:
        os.write(2, text.encode("utf-8", "replace"))
    send_json(b"X", {"name": type(exc).__name__, "value": str(exc),
                     "traceback": text})


def exit_status(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1


def sweep():
    """Kills every process the code left (daemons, background jobs); kill(-1)
    spares this process and the sandbox's init."""
    if not SWEEP:
        return
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    # Reap the killed children, so that none is left even as a zombie; a
    # SIGKILL lands quickly, but not at once.
    give_up = time.monotonic() + 0.5
    try:
        while time.monotonic() < give_up:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.001)
    except ChildProcessError:
        pass


cpu_limit = 0
cpu_limited = False
cpu_soft_given = resource.getrlimit(resource.RLIMIT_CPU)[0]


def apply_cpu_limit():
    """This run's CPU seconds on top of what the interpreter has used: a
    soft RLIMIT_CPU, so SIGXCPU ends a runaway loop (and the interpreter).
    The code could raise a soft limit again; runbox does not count it as
    enforced in a session."""
    if cpu_limit <= 0 and not cpu_limited:
        return  # the sandbox's own limit stays as it was given
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if cpu_limit > 0:
        used = resource.getrusage(resource.RUSAGE_SELF)
        want = int(used.ru_utime + used.ru_stime + cpu_limit + 0.999)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
    else:
        want = cpu_soft_given
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (want, hard))
    except (ValueError, OSError):
        pass


def run(code):
    global execution_count, running
    execution_count += 1
    name = "<cell %d>" % execution_count
    text = code.decode("utf-8", "replace")
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    results = []
    exit_code = None
    try:
        try:
            apply_cpu_limit()
            with run_lock:
                running = True
            tree = ast.parse(code, name, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, name, "exec", dont_inherit=True), main.__dict__)
            if last is not None:
                value = eval(compile(last, name, "eval", dont_inherit=True),
                             main.__dict__)
                if value is not None:
                    results = [(m, d, True) for m, d in rich_bundle(value)]
            results += [("image/png", png, False) for png in figures()]
        finally:
            with run_lock:
                running = False
    except SystemExit as e:
        exit_code = exit_status(e)
    except BaseException as e:
        report(e)
        try:
            figures()  # a failed cell's half-drawn figures are dropped
        except Exception:
            pass
    sweep()
    drain()
    if exit_code is not None:
        os._exit(exit_code)
    for mime, data, is_main in results:
        send_rich(mime, data, is_main)
    send_json(b"D", {"execution_count": execution_count})


threading.Thread(target=pump, daemon=True).start()
threading.Thread(target=reader, daemon=True).start()
while True:
    try:
        request = requests.get()
        if isinstance(request, dict):
            cpu_limit = float(request.get("cpu_seconds") or 0)
            cpu_limited = cpu_limit > 0
            continue
        run(request)
        if cpu_limit:
            cpu_limit = 0
            apply_cpu_limit()
            cpu_limited = False
    except KeyboardInterrupt:
        continue  # an interrupt that arrived just as a call ended
