# runbox_driver.py — the resident Python interpreter of a runbox sandbox.
#
# runbox starts this once per sandbox as `python3 -I -c <this source>`
# (the source is compiled into the backend, so there is no file the code
# could replace or import), or from the bytecode the build made of it,
# handed over in a sealed memfd (interp.h, INTERP_DRIVER_BOOT), and it runs
# every request in one persistent
# namespace. It speaks length-prefixed frames with runbox over its original
# stdin/stdout, which it moves to private descriptors before any code runs;
# the code's own fd 0 is /dev/null and its fd 1 and 2 are pipes the driver
# relays as output frames. A print, an os.write(1, ...) or a child process
# can therefore never be taken for a frame.
#
# Frame: 1 type byte, 4-byte big-endian payload length, payload.
#   runbox -> driver   C code (raw bytes)       I interrupt (empty)
#                      L CPU seconds for the next C (decimal text)
#   driver -> runbox   O stdout bytes           E stderr bytes
#                      R rich: main flag byte, MIME, NUL, raw data
#                      X exception: three 4-byte big-endian lengths, then
#                        name, value and traceback (UTF-8)
#                      D done: the execution count (decimal text)
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
#
# Only modules built into the interpreter are imported at start (a run's
# first frame should cost little more than `python3 -c`); the rest comes
# from the standard library on first need, never from the code's path.
import _queue
import _signal
import _struct
import _thread
import builtins
import io
import os
import resource
import select
import sys
import time
import warnings

STDLIB_PATH = list(sys.path)


def stdlib(name):
    """Imports a standard module as the driver found it at start, even once
    the work directory (where the code may have a json.py) is on the path."""
    if name in sys.modules:
        return sys.modules[name]
    saved = sys.path
    sys.path = STDLIB_PATH
    try:
        return __import__(name)
    finally:
        sys.path = saved

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
own_stderr = os.dup(2)  # kept open: runbox reads its end as the driver's
write_lock = _thread.allocate_lock()
HEADER = _struct.Struct(">cI")
LENGTHS = _struct.Struct(">III")


def send(kind, payload=b""):
    data = HEADER.pack(kind, len(payload)) + payload
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
drained = _thread.allocate_lock()
drained.acquire()


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
            drained.release()


def drain():
    for f in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            f.flush()
        except Exception:
            pass
    os.write(wake_w, b"w")
    drained.acquire()


# --- interrupts: only while code runs ---
running = False
run_lock = _thread.allocate_lock()
main_ident = _thread.get_ident()


def on_sigint(signum, frame):
    if running:
        raise KeyboardInterrupt


_signal.signal(_signal.SIGINT, on_sigint)
requests = _queue.SimpleQueue()


def take_frame():
    """Reads one frame from runbox and queues or acts on it; returns its kind."""
    kind, size = HEADER.unpack(read_exact(5))
    payload = read_exact(size)
    if kind == b"C":
        requests.put(payload)
    elif kind == b"L":
        requests.put(float(payload or b"0"))
    elif kind == b"I":
        with run_lock:
            if running:
                _signal.pthread_kill(main_ident, _signal.SIGINT)
    return kind


def reader():
    while True:
        take_frame()


# --- what the code sees: its own __main__, the usual import path ---
main = type(sys)("__main__")
main.__dict__["__builtins__"] = builtins
sys.modules["__main__"] = main
if os.environ.get("PYTHONDONTWRITEBYTECODE"):
    sys.dont_write_bytecode = True
os.environ.setdefault("MPLBACKEND", "Agg")


class Mentions(str):
    """A warnings filter's message test without the re module (costly to
    import at start): warnings calls .match(text) on it, as on a regex."""

    def match(self, text):
        return self in text


# matplotlib's "FigureCanvasAgg is non-interactive, and thus cannot be
# shown" at plt.show(): the figures come back as results instead.
warnings.filterwarnings("ignore", category=UserWarning)  # no message: no re
warnings.filters[0] = ("ignore", Mentions("non-interactive"), UserWarning, None, 0)
# -I dropped the work directory, PYTHONPATH and the user's site-packages;
# the code gets them back as `python3 -` would give them.
extra = [""] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
sys.path[0:0] = extra
site = sys.modules["site"]
user_site = site.getusersitepackages()
if os.path.isdir(user_site):
    first_site = next((i for i, p in enumerate(sys.path)
                       if p.endswith(("site-packages", "dist-packages"))), len(sys.path))
    sys.path.insert(first_site, user_site)
    site.addsitedir(user_site)
sys.argv = [""]

execution_count = 0


class Cells(dict):
    """The source of every cell, handed to linecache once a traceback
    needs it (linecache is too costly to import at start)."""

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        lc = sys.modules.get("linecache")
        if lc is not None:
            lc.cache.update(self)


cells = Cells()


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
            data = stdlib("json").dumps(data)
        if isinstance(data, str):
            if mime in ("image/png", "image/jpeg"):
                data = stdlib("binascii").a2b_base64(data)
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


def plain_traceback(exc, tb):
    """A traceback without the traceback module, for when it cannot be
    imported (the code used up every file descriptor, say)."""
    lines = ["Traceback (most recent call last):\n"]
    while tb is not None:
        code = tb.tb_frame.f_code
        lines.append('  File "%s", line %d, in %s\n'
                     % (code.co_filename, tb.tb_lineno, code.co_name))
        source = cells.get(code.co_filename)
        if source and 0 < tb.tb_lineno <= len(source[2]):
            lines.append("    %s\n" % source[2][tb.tb_lineno - 1].strip())
        tb = tb.tb_next
    try:
        detail = str(exc)
    except Exception:
        detail = ""
    name = type(exc).__name__
    lines.append("%s: %s\n" % (name, detail) if detail else name + "\n")
    return "".join(lines)


def report(exc):
    """The code raised: the traceback goes to its stderr, as a script's
    would, without the driver's own frames, and to runbox as an X frame."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    try:
        traceback = stdlib("traceback")
        sys.modules["linecache"].cache.update(cells)
        if isinstance(exc, SyntaxError):
            text = "".join(traceback.format_exception_only(type(exc), exc))
        else:
            text = "".join(traceback.format_exception(type(exc), exc, tb))
    except Exception:
        text = plain_traceback(exc, tb)
    try:
        sys.stderr.write(text)
    except Exception:
        os.write(2, text.encode("utf-8", "replace"))
    try:
        value = str(exc)
    except Exception:
        value = ""
    fields = [f.encode("utf-8", "backslashreplace")
              for f in (type(exc).__name__, value, text)]
    send(b"X", LENGTHS.pack(*map(len, fields)) + b"".join(fields))


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


def reap():
    """Collects the children the previous call left (the sandbox killed
    them after it), so that none lingers as a zombie."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def sweep():
    """Kills every process the code left (daemons, background jobs); kill(-1)
    spares this process and the sandbox's init."""
    if not SWEEP:
        return
    try:
        os.kill(-1, _signal.SIGKILL)
    except OSError:
        return  # nothing else runs
    # Orphans go to the sandbox's init, which reaps them a moment later:
    # wait for that too, so that the next call starts with none left.
    me = str(os.getpid())
    give_up = time.monotonic() + 3.0  # gVisor delivers kills lazily under load
    while time.monotonic() < give_up:
        try:
            if not [p for p in os.listdir("/proc") if p.isdigit() and p not in ("1", me)
                    and not os.path.exists("/proc/%s/task/%s" % (me, p))]:
                break
        except OSError:
            break
        time.sleep(0.002)
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


def split_ast(code, name):
    """The code compiled as its body and its final expression statement
    (None when its last statement is not one), as IPython splits a cell."""
    import _ast
    tree = compile(code, name, "exec", _ast.PyCF_ONLY_AST, True)
    last = None
    if tree.body and isinstance(tree.body[-1], _ast.Expr):
        last = compile(_ast.Expression(tree.body.pop().value), name, "eval",
                       dont_inherit=True)
    return compile(tree, name, "exec", dont_inherit=True), last


def parses(text):
    """Whether text, a function definition, is valid Python: it only
    defines the function, so nothing in it runs, and it needs no compile().
    Its compiler warnings are the real run's to give."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(text, {})
            return True
        except Exception:
            return False


def split_text(code):
    """The first cell split as split_ast splits it, as source text, or None
    when that cannot be told this way.

    The interpreter's first compile() builds every AST class (over 1 ms,
    as much as the rest of a short run); exec and eval of source text do
    not. A cell whose last line is a whole statement at column 0 splits
    there: the lines before it parse on their own (checked as a function's
    body) exactly when they end outside any bracket, string or clause, and
    the last line is an expression statement exactly when it parses after
    `return`. A ';' in the last line (several statements), 'yield' there
    (a function may hold it, a module may not), lines before it that end
    in a backslash (the `pass` the check appends would continue them), an
    encoding cookie, a form feed or a lone CR go to split_ast. The code is
    named "<string>", as `python3 -c` names its own."""
    text = code.rstrip()
    cut = text.rfind(b"\n") + 1
    body, last = text[:cut], text[cut:]
    if (not last or last[:1] in b" \t#" or b";" in last or b"yield" in last
            or b"\r" in text or b"\f" in text or body.endswith(b"\\\n")
            or b"coding" in b"".join(text.split(b"\n", 2)[:2])
            or not parses(b"def _():\n\t" + body.replace(b"\n", b"\n\t") + b"pass")):
        return None
    if not parses(b"def _():\n\treturn " + last):
        return code, None  # the last statement is not an expression
    # Padded to its own line number, for tracebacks. eval() takes a
    # starred item ("*a, 3") only in parentheses, opened on the line before.
    lines = text.count(b"\n")
    if b"*" not in last:
        return body, b"\n" * lines + last
    if not lines:
        return None
    return body, b"\n" * (lines - 1) + b"(\n" + last + b"\n)"


def run(code):
    global execution_count, running
    reap()
    execution_count += 1
    split = split_text(code) if execution_count == 1 else None
    name = "<string>" if split else "<cell %d>" % execution_count
    text = code.decode("utf-8", "replace")
    cells[name] = (len(text), None, text.splitlines(True), name)
    results = []
    exit_code = None
    try:
        try:
            apply_cpu_limit()
            with run_lock:
                running = True
            body, last = split or split_ast(code, name)
            exec(body, main.__dict__)
            if last is not None:
                value = eval(last, main.__dict__)
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
    send(b"D", b"%d" % execution_count)


# The frames up to the first call are read here, before the threads
# start: a one-shot run's code is already waiting, and handing it over
# from the reader thread costs more than reading it.
while take_frame() != b"C":
    pass
_thread.start_new_thread(pump, ())
_thread.start_new_thread(reader, ())
while True:
    try:
        request = requests.get()
        if isinstance(request, float):
            cpu_limit = request
            cpu_limited = cpu_limit > 0
            continue
        run(request)
        if cpu_limit:
            cpu_limit = 0
            apply_cpu_limit()
            cpu_limited = False
    except KeyboardInterrupt:
        continue  # an interrupt that arrived just as a call ended
