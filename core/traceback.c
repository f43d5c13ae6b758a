/* Recognises an uncaught CPython exception at the end of stderr, so that
 * backends that run a plain interpreter (subprocess, docker) report the
 * exception's name, value and traceback like the E2B code interpreter. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int rb_result_parse_python_traceback(runbox_result *r)
{
    const char *mark = "Traceback (most recent call last):\n";
    if (!r->err.data || r->err.truncated)
        return 0;
    /* The last traceback printed is the one that ended the program. */
    const char *tb = NULL;
    for (const char *p = r->err.data; (p = strstr(p, mark)); p++)
        tb = p;
    if (!tb)
        return 0;
    /* Its final line is "Name: value" (or just "Name"). */
    const char *end = r->err.data + r->err.len;
    while (end > tb && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *line = end;
    while (line > tb && line[-1] != '\n')
        line--;
    if (line >= end || isspace((unsigned char)*line))
        return 0;
    size_t n = (size_t)(end - line);
    char *last = strndup(line, n);
    if (!last)
        return 0;
    char *colon = strstr(last, ": ");
    const char *value = "";
    if (colon) {
        *colon = '\0';
        value = colon + 2;
    }
    /* A dotted identifier, or this is not an exception line. */
    for (const char *c = last; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.') {
            free(last);
            return 0;
        }
    char *trace = strndup(tb, (size_t)(r->err.data + r->err.len - tb));
    rb_result_set_exception(r, last, value, trace);
    free(trace);
    free(last);
    return 1;
}

/* SystemExit(n) raised in a kernel (the E2B code interpreter keeps running
 * and reports it as an exception) means what it means to a plain
 * interpreter: exit status n & 0xff (None or no argument: 0, a bool: its
 * value), or, for any other argument, the argument on stderr and status 1.
 * The exception fields are cleared: the code exited, it did not fail. */
int rb_result_system_exit(runbox_result *r, runbox_exec_io *io)
{
    if (r->verdict != RUNBOX_VERDICT_ERROR || !r->error_name ||
        strcmp(r->error_name, "SystemExit") != 0)
        return 0;
    const char *v = r->error_value ? r->error_value : "";
    while (isspace((unsigned char)*v))
        v++;
    size_t n = strlen(v);
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    int code;
    char *end = NULL;
    long num = n ? strtol(v, &end, 10) : 0;
    if (n == 0 || (n == 4 && !strncmp(v, "None", 4)) ||
        (n == 5 && !strncmp(v, "False", 5)))
        code = 0;
    else if (n == 4 && !strncmp(v, "True", 4))
        code = 1;
    else if (end == v + n)
        code = (int)(num & 0xff);
    else {
        rb_host.emit(io, 2, v, n);
        rb_host.emit(io, 2, "\n", 1);
        code = 1;
    }
    free(r->error_name);
    free(r->error_value);
    free(r->traceback);
    r->error_name = r->error_value = r->traceback = NULL;
    r->exit_code = code;
    r->verdict = code ? RUNBOX_VERDICT_EXIT_NONZERO : RUNBOX_VERDICT_OK;
    return 1;
}
