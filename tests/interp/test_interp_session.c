/*
 * test_interp_session.c — the resident interpreter of a session, on the real
 * backend named by argv[1] (docker, subprocess): state persists, a timeout
 * interrupts and keeps it, an interpreter that dies or will not stop is
 * replaced with a new state epoch, final expressions and figures come back
 * as rich results, nothing the code starts outlives its call, forged frames
 * cannot take runbox over, and nothing is left after close or after runbox
 * itself is killed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runbox/backend.h"
#include "runbox/runbox.h"
#include "interp_test_backend.h"

static const char *backend;
static runbox_context *ctx;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sexec(runbox_session *s, const char *code, double timeout,
                  runbox_result *r)
{
    runbox_exec_options o = {.code = code, .timeout = timeout};
    runbox_result_init(r);
    int rc = runbox_session_execute(s, &o, r);
    if (rc != RUNBOX_OK)
        fail_msg("session execute %s: %s", code, runbox_error_last());
}

/* r's stdout (never NULL), for assertions. */
static const char *out_of(const runbox_result *r)
{
    if (!r->out.data)
        print_message("no stdout: verdict %s, message %s, stderr %s\n",
                      runbox_verdict_name(r->verdict), r->message,
                      r->err.data ? r->err.data : "");
    return r->out.data ? r->out.data : "";
}

static runbox_session *open_session(void)
{
    runbox_session *s = NULL;
    if (runbox_session_open(&s, ctx) != RUNBOX_OK)
        fail_msg("session open: %s", runbox_error_last());
    return s;
}

static const runbox_rich *rich(const runbox_result *r, const char *mime,
                               int is_main)
{
    for (size_t i = 0; i < r->rich_count; i++)
        if (!strcmp(r->rich[i].mime, mime) && r->rich[i].is_main == is_main)
            return &r->rich[i];
    return NULL;
}

static void test_capability(void **state)
{
    (void)state;
    assert_true(runbox_context_capabilities(ctx) & RUNBOX_CAP_INTERPRETER);
    assert_true(runbox_context_capabilities(ctx) & RUNBOX_CAP_RICH_RESULTS);
}

static void test_state_persists(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "x = 41\nimport math\ndef twice(v):\n    return 2 * v", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_int_equal(r.execution_count, 1);
    uint64_t epoch = r.state_epoch;
    assert_true(epoch > 0);
    runbox_result_clear(&r);

    sexec(s, "x += 1\nprint(x, twice(x), math.floor(2.5))", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(out_of(&r), "42 84 2\n");
    assert_int_equal(r.execution_count, 2);
    assert_int_equal(r.state_epoch, epoch);
    runbox_result_clear(&r);

    /* An exception keeps the state too. */
    sexec(s, "x = 100\n1/0", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_string_equal(r.error_name, "ZeroDivisionError");
    assert_non_null(strstr(r.err.data, "ZeroDivisionError"));
    runbox_result_clear(&r);
    sexec(s, "print(x, __name__)", 30, &r);
    assert_string_equal(out_of(&r), "100 __main__\n");
    assert_int_equal(r.state_epoch, epoch);
    runbox_result_clear(&r);
    runbox_session_close(s);
}

/* runbox's own work in a session (describing the environment) runs beside
 * the interpreter and must not end it. */
static void test_environment_keeps_state(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "x = 41", 30, &r);
    uint64_t epoch = r.state_epoch;
    runbox_result_clear(&r);
    char *json = NULL;
    if (runbox_session_environment(s, &json) != RUNBOX_OK)
        fail_msg("session environment: %s", runbox_error_last());
    free(json);
    sexec(s, "print(x + 1)", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(out_of(&r), "42\n");
    assert_int_equal(r.state_epoch, epoch);
    runbox_result_clear(&r);
    runbox_session_close(s);
}

/* The value of a final expression, as IPython shows it. */
/* code run as s's next cell, or alone as a one-shot run (its
 * interpreter's first cell). */
static const char *const how[] = {"session", "one-shot"};
static void one_cell(runbox_session *s, int one_shot, const char *code,
                     runbox_result *r)
{
    if (!one_shot) {
        sexec(s, code, 30, r);
        return;
    }
    runbox_exec_options o = {.code = code, .timeout = 30};
    runbox_result_init(r);
    if (runbox_execute(ctx, &o, r) != RUNBOX_OK)
        fail_msg("execute %s: %s", code, runbox_error_last());
}

static void test_final_expression(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "6 * 7", 30, &r);
    const runbox_rich *x = rich(&r, "text/plain", 1);
    assert_non_null(x);
    assert_int_equal(x->len, 2);
    assert_memory_equal(x->data, "42", 2);
    runbox_result_clear(&r);

    sexec(s, "class Shown:\n"
             "    def _repr_html_(self): return '<b>hi</b>'\n"
             "    def _repr_png_(self): return b'\\x89PNG\\r\\n\\x1a\\nfake'\n"
             "    def __repr__(self): return 'Shown()'\n"
             "Shown()", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_non_null((x = rich(&r, "text/html", 1)));
    assert_memory_equal(x->data, "<b>hi</b>", 9);
    assert_non_null((x = rich(&r, "image/png", 1)));
    assert_int_equal(x->len, 12);
    assert_memory_equal(x->data, "\x89PNG\r\n\x1a\nfake", 12);
    assert_non_null((x = rich(&r, "text/plain", 1)));
    assert_memory_equal(x->data, "Shown()", 7);
    runbox_result_clear(&r);

    /* None and statements give nothing; a broken repr is the code's error. */
    sexec(s, "None", 30, &r);
    assert_int_equal(r.rich_count, 0);
    runbox_result_clear(&r);
    sexec(s, "y = 3", 30, &r);
    assert_int_equal(r.rich_count, 0);
    runbox_result_clear(&r);

    /* Which statement is the last, however the cell is laid out: an
     * interpreter's first cell is split from its text, later ones from
     * their syntax tree, so each shape is checked both ways (as the
     * session's next cell and as a one-shot run) against what IPython
     * shows. */
    static const struct { const char *code, *shown; } cells[] = {
        {"q = 4; q * 2", "8"},                       /* several on a line */
        {"def f():\n    return 5\nf()", "5"},
        {"t = (1,\n 2)\nt", "(1, 2)"},
        {"u = [1,\n2]", NULL},                        /* a bracket spans lines */
        {"if 1 > 2:\n    pass\n    9", NULL},       /* inside a block */
        {"if False: 1\nelse: 2", NULL},              /* a clause, not an expression */
        {"v = 7 + \\\n1\nv", "8"},
        {"s = '''\n3\n'''\nlen(s)", "3"},
        {"w = 1\n# a comment at the end", NULL},
        {"# -*- coding: latin-1 -*-\n'\xe9'", "'\xc3\xa9'"},
        {"f = lambda *a: a\nf('''\ny = 2 #''')", "('\\ny = 2 #',)"},
        {"a = [1, 2]\n*a, 3", "(1, 2, 3)"},              /* starred */
        {"b = 5\nb, 6", "(5, 6)"},
        {"b = 5\nb  # the value, then a comment", "5"},
        {"def g():\n    yield 1\nnext(g())", "1"},
        {"print('a;b')", NULL},
        {"c = 1\nif c:\n    c = 2\nelse: c = 3", NULL},
        {"\\\n7", "7"},                  /* a continued empty line */
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        for (int one_shot = 0; one_shot < 2; one_shot++) {
            one_cell(s, one_shot, cells[i].code, &r);
            if (r.verdict != RUNBOX_VERDICT_OK)
                fail_msg("%s (%s): %s", cells[i].code, how[one_shot], r.err.data);
            x = rich(&r, "text/plain", 1);
            if (cells[i].shown ? !x || x->len != strlen(cells[i].shown) ||
                                         memcmp(x->data, cells[i].shown, x->len)
                               : x != NULL)
                fail_msg("%s (%s): shown %s, want %s", cells[i].code, how[one_shot],
                         x ? x->data : "nothing",
                         cells[i].shown ? cells[i].shown : "nothing");
            runbox_result_clear(&r);
        }
    }
    /* A cell that does not compile runs none of its lines, however it
     * would split. */
    static const char *const broken[] = {
        "print('ran')\n1) + (2", "print('ran')\n(yield)",
        "print('ran')\nreturn 5", "print('ran')\nx = (\n1",
        "print('ran')\nawait x",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        for (int one_shot = 0; one_shot < 2; one_shot++) {
            one_cell(s, one_shot, broken[i], &r);
            if (r.verdict != RUNBOX_VERDICT_ERROR || !r.error_name ||
                strcmp(r.error_name, "SyntaxError") || r.out.len)
                fail_msg("%s (%s): verdict %d, error %s, stdout %s", broken[i],
                         how[one_shot], (int)r.verdict,
                         r.error_name ? r.error_name : "none", out_of(&r));
            runbox_result_clear(&r);
        }
    }
    /* A traceback of the final expression names its own line. */
    sexec(s, "a = 1\n\n1 / 0", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_non_null(strstr(r.err.data, "line 3"));
    runbox_result_clear(&r);
    runbox_session_close(s);

    /* A compiler warning is given once, though the cell is checked before
     * it runs. */
    runbox_exec_options warned = {.code = "w = 1\n(1)[0] if w else 2", .timeout = 30};
    runbox_result_init(&r);
    assert_int_equal(runbox_execute(ctx, &warned, &r), RUNBOX_OK);
    const char *w1 = strstr(r.err.data, "SyntaxWarning");
    assert_non_null(w1);
    assert_null(strstr(w1 + 1, "SyntaxWarning"));
    runbox_result_clear(&r);

    /* So does a first cell's (here a one-shot run's), named as `python3 -c`
     * names its code. */
    runbox_exec_options first = {.code = "a = 1\n\n1 / 0", .timeout = 30};
    runbox_result_init(&r);
    assert_int_equal(runbox_execute(ctx, &first, &r), RUNBOX_OK);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_ERROR);
    assert_non_null(strstr(r.err.data, "File \"<string>\", line 3"));
    runbox_result_clear(&r);

    /* One-shot runs report the value too, with no state epoch. */
    runbox_exec_options o = {.code = "'a' * 3", .timeout = 30};
    runbox_result_init(&r);
    assert_int_equal(runbox_execute(ctx, &o, &r), RUNBOX_OK);
    assert_non_null((x = rich(&r, "text/plain", 1)));
    assert_memory_equal(x->data, "'aaa'", 5);
    assert_int_equal(r.state_epoch, 0);
    runbox_result_clear(&r);
}

/* A stand-in for matplotlib's pyplot with the calls the interpreter uses
 * (get_fignums, figure(n).savefig, close('all')), for images that ship
 * without matplotlib. Its PNG bytes name the figure. */
static const char fake_pyplot[] =
    "_open = {}\n"
    "class _Figure:\n"
    "    def __init__(self, n): self.n = n\n"
    "    def savefig(self, f, format=None, **kw):\n"
    "        f.write(b'\\x89PNG\\r\\n\\x1a\\nfigure%d' % self.n)\n"
    "def figure(num=None):\n"
    "    num = num or len(_open) + 1\n"
    "    return _open.setdefault(num, _Figure(num))\n"
    "def plot(*a): figure(max(_open) if _open else None)\n"
    "def show(): pass\n"
    "def get_fignums(): return sorted(_open)\n"
    "def close(which=None): _open.clear()\n";

static void test_figures(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    assert_int_equal(runbox_session_write_file(s, "fakeplot/matplotlib/__init__.py",
                                               "", 0), RUNBOX_OK);
    assert_int_equal(runbox_session_write_file(s, "fakeplot/matplotlib/pyplot.py",
                                               fake_pyplot, strlen(fake_pyplot)),
                     RUNBOX_OK);
    sexec(s, "import sys\nsys.path.insert(0, 'fakeplot')\n"
             "import matplotlib.pyplot as plt\n"
             "plt.figure(); plt.show()\nplt.figure(2)\nprint('drawn')", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(out_of(&r), "drawn\n");
    assert_int_equal(r.rich_count, 2);
    assert_string_equal(r.rich[0].mime, "image/png");
    assert_int_equal(r.rich[0].is_main, 0);
    assert_memory_equal(r.rich[0].data, "\x89PNG\r\n\x1a\nfigure1", 15);
    assert_memory_equal(r.rich[1].data, "\x89PNG\r\n\x1a\nfigure2", 15);
    runbox_result_clear(&r);
    /* Collected figures are closed: the next run reports only its own. */
    sexec(s, "print(plt.get_fignums())", 30, &r);
    assert_string_equal(out_of(&r), "[]\n");
    assert_int_equal(r.rich_count, 0);
    runbox_result_clear(&r);
    runbox_session_close(s);
}

/* The real matplotlib, where the sandbox has it (the host's Debian package
 * for subprocess; the full docker image). */
static void test_real_matplotlib(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "import importlib.util\n"
             "print(importlib.util.find_spec('matplotlib') is not None)", 30, &r);
    int have = r.out.data && !strcmp(r.out.data, "True\n");
    runbox_result_clear(&r);
    if (!have) {
        runbox_session_close(s);
        if (interp_test_needs_matplotlib(backend))
            fail_msg("matplotlib is missing in the %s sandbox; "
                     "scripts/setup.sh installs python3-matplotlib", backend);
        print_message("skipped: no matplotlib in the %s sandbox\n", backend);
        skip();
    }
    sexec(s, "import matplotlib.pyplot as plt\n"
             "plt.plot([1, 2, 3], [1, 4, 9])\nplt.show()\n"
             "fig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])", 60, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(r.err.data ? r.err.data : "", "");
    size_t pngs = 0;
    for (size_t i = 0; i < r.rich_count; i++)
        if (!strcmp(r.rich[i].mime, "image/png") && !r.rich[i].is_main) {
            assert_true(r.rich[i].len > 1000);
            assert_memory_equal(r.rich[i].data, "\x89PNG\r\n\x1a\n", 8);
            pngs++;
        }
    assert_int_equal(pngs, 2);
    /* The last expression's value (a BarContainer) is the main result. */
    assert_non_null(rich(&r, "text/plain", 1));
    runbox_result_clear(&r);
    runbox_session_close(s);
}

static void test_interrupt_keeps_state(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "kept = 'yes'", 30, &r);
    uint64_t epoch = r.state_epoch;
    runbox_result_clear(&r);
    double t0 = mono();
    sexec(s, "import time\nwhile True: time.sleep(0.01)", 1, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(mono() - t0 < 1.9);
    assert_string_equal(r.error_name, "KeyboardInterrupt");
    assert_non_null(strstr(r.message, "kept"));
    assert_int_equal(r.state_epoch, epoch);
    runbox_result_clear(&r);
    /* A pure-Python busy loop is interrupted as well. */
    sexec(s, "n = 0\nwhile True: n += 1", 1, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_int_equal(r.state_epoch, epoch);
    runbox_result_clear(&r);
    sexec(s, "print(kept, n > 0)", 30, &r);
    assert_string_equal(out_of(&r), "yes True\n");
    assert_int_equal(r.state_epoch, epoch);
    runbox_result_clear(&r);
    runbox_session_close(s);
}

/* Code that ignores the KeyboardInterrupt is killed after the grace, and
 * the result says its state is gone. */
static void test_hard_kill_new_epoch(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "lost = 1", 30, &r);
    uint64_t epoch = r.state_epoch;
    runbox_result_clear(&r);
    double t0 = mono();
    sexec(s, "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "time.sleep(60)", 1, &r);
    double took = mono() - t0;
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(took < 6);
    assert_true(r.state_epoch != epoch);
    assert_non_null(strstr(r.message, "lost"));
    uint64_t after = r.state_epoch;
    runbox_result_clear(&r);
    /* A handler that swallows the interrupt is no better. */
    sexec(s, "import time\nwhile True:\n    try:\n        time.sleep(10)\n"
             "    except KeyboardInterrupt:\n        pass", 1, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_TIMEOUT);
    assert_true(r.state_epoch != after);
    after = r.state_epoch;
    runbox_result_clear(&r);
    sexec(s, "print('lost' in globals())", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(out_of(&r), "False\n");
    assert_int_equal(r.state_epoch, after);
    runbox_result_clear(&r);
    runbox_session_close(s);
}

static void test_exit_new_epoch(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        runbox_verdict verdict;
        int exit_code, signal;
        const char *err;
    } cases[] = {
        {"import sys\nsys.exit(3)", RUNBOX_VERDICT_EXIT_NONZERO, 3, 0, ""},
        {"import sys\nsys.exit(0)", RUNBOX_VERDICT_OK, 0, 0, ""},
        {"raise SystemExit('bye')", RUNBOX_VERDICT_EXIT_NONZERO, 1, 0, "bye\n"},
        {"import os\nprint('out', flush=True)\nos._exit(5)",
         RUNBOX_VERDICT_EXIT_NONZERO, 5, 0, ""},
        {"import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
         RUNBOX_VERDICT_SIGNALED, -1, SIGSEGV, ""},
    };
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "v = 1", 30, &r);
    uint64_t epoch = r.state_epoch;
    runbox_result_clear(&r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sexec(s, "v = 2", 30, &r);
        assert_int_equal(r.state_epoch, epoch);
        runbox_result_clear(&r);
        sexec(s, cases[i].code, 30, &r);
        assert_int_equal(r.verdict, cases[i].verdict);
        assert_int_equal(r.exit_code, cases[i].exit_code);
        assert_int_equal(r.signal, cases[i].signal);
        assert_string_equal(r.err.data ? r.err.data : "", cases[i].err);
        assert_true(r.state_epoch > epoch);
        assert_non_null(strstr(r.message, "lost"));
        epoch = r.state_epoch;
        runbox_result_clear(&r);
        sexec(s, "print('v' in globals())", 30, &r);
        assert_string_equal(out_of(&r), "False\n");
        assert_int_equal(r.state_epoch, epoch);
        runbox_result_clear(&r);
    }
    runbox_session_close(s);
}

/* Whatever a call starts in the background is gone before the next. */
static void test_daemon_gone(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "import os, subprocess, time\n"
             "subprocess.Popen(['sleep', '300'])\n"
             "subprocess.Popen(['sleep', '301'], start_new_session=True)\n"
             "if os.fork() == 0:\n"          /* a double-forked daemon */
             "    os.setsid()\n"
             "    if os.fork() == 0:\n"
             "        time.sleep(302)\n"
             "    os._exit(0)\n"
             "time.sleep(0.2)\nprint('started')", 30, &r);
    assert_string_equal(out_of(&r), "started\n");
    runbox_result_clear(&r);
    sexec(s, "import os\n"
             "me = os.getpid()\n"
             "left = []\n"
             "for p in os.listdir('/proc'):\n"
             "    if p.isdigit() and int(p) not in (1, me):\n"
             "        try:\n"
             "            left.append(open(f'/proc/{p}/cmdline').read().replace('\\0', ' ')[:40])\n"
             "        except OSError:\n"
             "            pass\n"
             "print(left)", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(out_of(&r), "[]\n");
    runbox_result_clear(&r);
    runbox_session_close(s);
}

typedef struct racer {
    runbox_session *s;
    runbox_result r;
} racer;

static void *race(void *arg)
{
    racer *x = arg;
    runbox_exec_options o = {
        .code = "import time\nt0 = time.time()\ntime.sleep(0.4)\n"
                "print(f'{t0:.3f} {time.time():.3f}')",
        .timeout = 30};
    runbox_result_init(&x->r);
    runbox_session_execute(x->s, &o, &x->r);
    return NULL;
}

/* Two threads on one session: the calls run one after the other. */
static void test_serialized(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    racer a = {.s = s}, b = {.s = s};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.r.verdict, RUNBOX_VERDICT_OK);
    assert_int_equal(b.r.verdict, RUNBOX_VERDICT_OK);
    double a0, a1, b0, b1;
    assert_int_equal(sscanf(a.r.out.data, "%lf %lf", &a0, &a1), 2);
    assert_int_equal(sscanf(b.r.out.data, "%lf %lf", &b0, &b1), 2);
    assert_true(a1 <= b0 || b1 <= a0);
    assert_true(a.r.execution_count != b.r.execution_count);
    runbox_result_clear(&a.r);
    runbox_result_clear(&b.r);
    runbox_session_close(s);
}

/* The code's fd 1 is not the frame channel: printing a frame's bytes is
 * just output. Writing to the channel itself (the code shares the
 * interpreter's process) can only break the stream: runbox refuses it,
 * replaces the interpreter and says the state is lost. */
static void test_forged_frames(void **state)
{
    (void)state;
    runbox_session *s = open_session();
    runbox_result r;
    sexec(s, "import os, sys\n"
             "os.write(1, b'D\\0\\0\\0\\x17{\"execution_count\": 99}')\n"
             "sys.stdout.buffer.write(b'X\\0\\0\\0\\x02{}')\nprint()", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_int_equal(r.execution_count, 1);
    assert_null(r.error_name);
    assert_int_equal(r.out.len, 28 + 7 + 1);
    uint64_t epoch = r.state_epoch;
    runbox_result_clear(&r);

    /* Find the channel (the interpreter's own write end) and send it a
     * frame of absurd size, then garbage. */
    runbox_exec_options o = {
        .code = "import os\n"
                "for fd in range(3, 64):\n"
                "    try:\n"
                "        os.write(fd, b'O\\xff\\xff\\xff\\xff')\n"
                "    except OSError:\n"
                "        pass\n"
                "import time\ntime.sleep(5)",
        .timeout = 30};
    runbox_result_init(&r);
    assert_int_equal(runbox_session_execute(s, &o, &r), RUNBOX_EPROTO);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_BACKEND_FAILURE);
    assert_non_null(strstr(r.message, "frame"));
    assert_true(r.state_epoch != epoch);
    epoch = r.state_epoch;
    runbox_result_clear(&r);
    sexec(s, "print('fresh')", 30, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    assert_string_equal(out_of(&r), "fresh\n");
    assert_int_equal(r.state_epoch, epoch);
    runbox_result_clear(&r);
    runbox_session_close(s);
}

/* runbox killed with SIGKILL in the middle of a call: nothing of the
 * session outlives it (the backend's own evidence, see
 * interp_test_backend.c). */
static void test_sigkill_runbox(void **state)
{
    (void)state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        runbox_context *c = interp_test_context(backend);
        runbox_session *s = NULL;
        if (!c || runbox_session_open(&s, c) != RUNBOX_OK)
            _exit(1);
        runbox_exec_options o = {.code = "x = 1", .timeout = 30};
        runbox_result r;
        runbox_result_init(&r);
        runbox_session_execute(s, &o, &r);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        o.code = "import subprocess, time\n"
                 "subprocess.Popen(['sleep', '303'], start_new_session=True)\n"
                 "time.sleep(300)";
        runbox_session_execute(s, &o, &r);
        _exit(0);
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    usleep(500 * 1000); /* the second call is running */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    interp_test_assert_gone(backend, (long)pid);
}

static int setup(void **state)
{
    (void)state;
    ctx = interp_test_context(backend);
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (!ctx)
        return 0; /* the setup skipped (and said why) or failed */
    runbox_context_free(ctx);
    /* Last: nothing of this process's sessions is left. */
    interp_test_assert_gone(backend, (long)getpid());
    return 0;
}

int main(int argc, char **argv)
{
    backend = argc > 1 ? argv[1] : "subprocess";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capability),
        cmocka_unit_test(test_state_persists),
        cmocka_unit_test(test_environment_keeps_state),
        cmocka_unit_test(test_final_expression),
        cmocka_unit_test(test_figures),
        cmocka_unit_test(test_real_matplotlib),
        cmocka_unit_test(test_interrupt_keeps_state),
        cmocka_unit_test(test_hard_kill_new_epoch),
        cmocka_unit_test(test_exit_new_epoch),
        cmocka_unit_test(test_daemon_gone),
        cmocka_unit_test(test_serialized),
        cmocka_unit_test(test_forged_frames),
        cmocka_unit_test(test_sigkill_runbox),
    };
    return cmocka_run_group_tests_name(backend, tests, setup, teardown);
}
