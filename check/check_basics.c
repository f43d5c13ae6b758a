/* The behaviours every backend must have, whatever it claims. Each runs
 * one piece of Python through the public API and looks at the typed
 * result, as an application would. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

typedef struct check_case {
    const char *name;
    const char *code;
    /* Returns NULL when the result is right, else what is wrong. */
    const char *(*verify)(const runbox_result *r, char *why, size_t size);
} check_case;

static const char *check_expect(const runbox_result *r, runbox_verdict v,
                                const char *out, size_t out_len, char *why,
                                size_t size)
{
    if (r->verdict != v)
        snprintf(why, size, "verdict %s, expected %s (%s)",
                 runbox_verdict_name(r->verdict), runbox_verdict_name(v),
                 cmp_describe(r));
    else if (out && (r->out.len != out_len || memcmp(r->out.data ? r->out.data : "",
                                                     out, out_len)))
        snprintf(why, size, "stdout is %zu bytes \"%.60s\", expected %zu bytes",
                 r->out.len, r->out.data ? r->out.data : "", out_len);
    else
        return NULL;
    return why;
}

static const char *v_ok(const runbox_result *r, char *why, size_t size)
{
    const char *bad = check_expect(r, RUNBOX_VERDICT_OK, "hello\n", 6, why, size);
    if (!bad && r->exit_code != 0)
        snprintf(why, size, "exit_code %d, expected 0", r->exit_code);
    return bad ? bad : r->exit_code ? why : NULL;
}

static const char *v_exit(const runbox_result *r, char *why, size_t size)
{
    const char *bad = check_expect(r, RUNBOX_VERDICT_EXIT_NONZERO, NULL, 0, why, size);
    if (!bad && r->exit_code != 3) {
        snprintf(why, size, "exit_code %d, expected 3", r->exit_code);
        return why;
    }
    return bad;
}

static const char *v_error(const runbox_result *r, char *why, size_t size)
{
    const char *bad = check_expect(r, RUNBOX_VERDICT_ERROR, NULL, 0, why, size);
    if (!bad && (!r->error_name || strcmp(r->error_name, "ZeroDivisionError"))) {
        snprintf(why, size, "error_name %s, expected ZeroDivisionError",
                 r->error_name ? r->error_name : "(none)");
        return why;
    }
    return bad;
}

static const char *v_stderr(const runbox_result *r, char *why, size_t size)
{
    const char *bad = check_expect(r, RUNBOX_VERDICT_OK, "", 0, why, size);
    if (!bad && (r->err.len != 12 || memcmp(r->err.data, "to stderr ok", 12))) {
        snprintf(why, size, "stderr is \"%.60s\", expected \"to stderr ok\"",
                 r->err.data ? r->err.data : "");
        return why;
    }
    return bad;
}

static const char *v_empty(const runbox_result *r, char *why, size_t size)
{
    return check_expect(r, RUNBOX_VERDICT_OK, "", 0, why, size);
}

static const char *v_large(const runbox_result *r, char *why, size_t size)
{
    return check_expect(r, RUNBOX_VERDICT_OK, "large ok\n", 9, why, size);
}

static const char utf8_line[] = "h\xc3\xa9llo \xe2\x9c\x93 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x93\xa6\n";

static const char *v_unicode(const runbox_result *r, char *why, size_t size)
{
    return check_expect(r, RUNBOX_VERDICT_OK, utf8_line, sizeof utf8_line - 1,
                        why, size);
}

static const char *v_binary(const runbox_result *r, char *why, size_t size)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    return check_expect(r, RUNBOX_VERDICT_OK, (const char *)all, 256, why, size);
}

typedef struct check_canceller {
    volatile int flag;
    double after;
} check_canceller;

static void *check_cancel_main(void *p)
{
    check_canceller *c = p;
    struct timespec ts = {(time_t)c->after, 0};
    nanosleep(&ts, NULL);
    c->flag = 1;
    return NULL;
}

static double check_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_cancel(check_state *s)
{
    check_canceller c = {0, 1};
    pthread_t t;
    if (pthread_create(&t, NULL, check_cancel_main, &c)) {
        check_report(s, CHECK_FAIL, "cancel", "cannot start a thread");
        return;
    }
    runbox_exec_options opt = {.code = "import time\nwhile True:\n    time.sleep(0.05)\n",
                               .timeout = 120, .cancel = &c.flag};
    runbox_result r;
    runbox_result_init(&r);
    double t0 = check_now();
    runbox_execute(s->ctx, &opt, &r);
    double took = check_now() - t0;
    pthread_join(t, NULL);
    if (r.verdict == RUNBOX_VERDICT_CANCELED && took < 15)
        check_report(s, CHECK_PASS, "cancel", "cancelled after 1 s: verdict "
                     "canceled in %.1f s", took);
    else
        check_report(s, CHECK_FAIL, "cancel", "cancelled after 1 s: verdict %s "
                     "after %.1f s (%s)", runbox_verdict_name(r.verdict), took,
                     cmp_describe(&r));
    runbox_result_clear(&r);
}

void check_basics(check_state *s)
{
    size_t pad = 1 << 20;
    char *large = malloc(pad + 64);
    if (large) {
        memcpy(large, "# ", 2);
        memset(large + 2, 'a', pad);
        strcpy(large + 2 + pad, "\nprint('large', 'ok')\n");
    }
    char unicode[64];
    snprintf(unicode, sizeof unicode, "print(\"%.*s\")", (int)sizeof utf8_line - 2,
             utf8_line);
    const check_case cases[] = {
        {"ok", "print('hello')", v_ok},
        {"exit status", "import sys\nsys.exit(3)", v_exit},
        {"raised error", "1/0", v_error},
        {"stderr", "import sys\nsys.stderr.write('to stderr ok')", v_stderr},
        {"empty code", "", v_empty},
        {"large code (1 MiB)", large, v_large},
        {"unicode output", unicode, v_unicode},
        {"binary output", "import sys\nsys.stdout.buffer.write(bytes(range(256)))",
         v_binary},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].code) {
            check_report(s, CHECK_FAIL, cases[i].name, "out of memory");
            continue;
        }
        runbox_exec_options opt = {.code = cases[i].code, .timeout = 60};
        runbox_result r;
        runbox_result_init(&r);
        runbox_execute(s->ctx, &opt, &r);
        char why[800];
        const char *bad = cases[i].verify(&r, why, sizeof why);
        if (bad)
            check_report(s, CHECK_FAIL, cases[i].name, "%s", bad);
        else
            check_report(s, CHECK_PASS, cases[i].name, "verdict %s",
                         runbox_verdict_name(r.verdict));
        runbox_result_clear(&r);
    }
    free(large);
    check_cancel(s);
}
