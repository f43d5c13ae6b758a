/* runbox check: opens the backend and runs the checks in order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

void check_report(check_state *s, check_status status, const char *name,
                  const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (status == CHECK_FAIL)
        s->failures++;
    s->o->report(s->o->userdata, status, name, detail);
}

int check_run(const check_options *o)
{
    check_state s = {o, NULL, 0, 0};
    char err[1024];
    if (cmp_open(&s.ctx, &o->probe, o->backend, NULL, err, sizeof err)) {
        check_report(&s, CHECK_FAIL, "loads", "%s", err);
        return s.failures;
    }
    s.caps = runbox_context_capabilities(s.ctx);
    char caps[512];
    runbox_capabilities_str(s.caps, caps, sizeof caps);
    check_report(&s, CHECK_PASS, "loads", "backend %s; claims: %s",
                 runbox_context_backend(s.ctx), caps[0] ? caps : "nothing");
    check_basics(&s);
    runbox_context_free(s.ctx);
    s.ctx = NULL;
    check_claims(&s);
    return s.failures;
}
