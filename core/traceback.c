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
