/* The typed result: lifetime, verdict names, exception fields. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *rb_verdict_names[] = {
    "ok", "error", "exit_nonzero", "signaled", "timeout",
    "oom", "truncated", "backend_failure", "canceled",
};
#define RB_NVERDICTS (sizeof rb_verdict_names / sizeof rb_verdict_names[0])

RUNBOX_API const char *runbox_verdict_name(runbox_verdict v)
{
    return (unsigned)v < RB_NVERDICTS ? rb_verdict_names[v] : "unknown";
}

RUNBOX_API int runbox_verdict_parse(runbox_verdict *out, const char *name)
{
    for (size_t i = 0; name && i < RB_NVERDICTS; i++)
        if (!strcmp(name, rb_verdict_names[i])) {
            *out = (runbox_verdict)i;
            return RUNBOX_OK;
        }
    return RUNBOX_EINVAL;
}

RUNBOX_API void runbox_result_init(runbox_result *r)
{
    if (!r)
        return;
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    r->cpu_seconds = -1;
}

RUNBOX_API void runbox_result_clear(runbox_result *r)
{
    if (!r)
        return;
    free(r->out.data);
    free(r->err.data);
    free(r->error_name);
    free(r->error_value);
    free(r->traceback);
    for (size_t i = 0; i < r->rich_count; i++) {
        free(r->rich[i].mime);
        free(r->rich[i].data);
    }
    free(r->rich);
    runbox_result_init(r);
}

int rb_result_set_exception(runbox_result *r, const char *name,
                            const char *value, const char *traceback)
{
    free(r->error_name);
    free(r->error_value);
    free(r->traceback);
    r->error_name = rb_strdup(name);
    r->error_value = rb_strdup(value);
    r->traceback = rb_strdup(traceback);
    return RUNBOX_OK;
}
