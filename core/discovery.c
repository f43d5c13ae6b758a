/* `runbox backends`: every backend on the search path, what it can do and
 * whether it can work on this machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
    uint64_t bit;
    const char *name;
} rb_cap_names[] = {
    {RUNBOX_CAP_SESSIONS, "sessions"},
    {RUNBOX_CAP_FILES, "files"},
    {RUNBOX_CAP_STREAMING, "streaming"},
    {RUNBOX_CAP_NETWORK_CONTROL, "network-control"},
    {RUNBOX_CAP_INSTALL, "install"},
    {RUNBOX_CAP_ENVIRONMENT, "environment"},
    {RUNBOX_CAP_INTERPRETER, "interpreter"},
    {RUNBOX_CAP_RICH_RESULTS, "rich-results"},
    {RUNBOX_CAP_LIMIT_CPU, "limit-cpu"},
    {RUNBOX_CAP_LIMIT_MEMORY, "limit-memory"},
    {RUNBOX_CAP_LIMIT_PROCESSES, "limit-processes"},
    {RUNBOX_CAP_LIMIT_FILE_SIZE, "limit-file-size"},
    {RUNBOX_CAP_LIMIT_OPEN_FILES, "limit-open-files"},
};

RUNBOX_API void runbox_capabilities_str(uint64_t caps, char *buf, size_t size)
{
    if (!buf || !size)
        return;
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < sizeof rb_cap_names / sizeof rb_cap_names[0]; i++)
        if (caps & rb_cap_names[i].bit) {
            int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
                             rb_cap_names[i].name);
            if (n < 0 || (size_t)n >= size - used)
                break;
            used += (size_t)n;
        }
}

typedef struct rb_list {
    const runbox_config *cfg;
    runbox_backend_info_cb cb;
    void *ud;
} rb_list;

static void rb_list_one(void *ud, const char *name, const char *path, int dup)
{
    rb_list *l = ud;
    runbox_backend_info info = {0};
    info.name = name;
    info.path = path;
    char why[1024] = "";
    if (dup) {
        snprintf(why, sizeof why, "duplicate: a backend named '%s' was found "
                 "earlier in the search path; this file is ignored", name);
        info.load_error = why;
        l->cb(l->ud, &info);
        return;
    }
    const rb_loaded *b = NULL;
    int rc = rb_backend_load(&b, name, l->cfg);
    if (rc) {
        snprintf(why, sizeof why, "%s", runbox_error_last());
        info.load_error = why;
        l->cb(l->ud, &info);
        return;
    }
    info.description = b->vt.description;
    info.capabilities = b->vt.capabilities;
    info.usable = 1;
    if (b->vt.probe) {
        runbox_host_ctx h = {b->name, &b->vt, l->cfg};
        rb_error_clear();
        if (b->vt.probe(&rb_host, &h) != RUNBOX_OK) {
            info.usable = 0;
            snprintf(why, sizeof why, "%s", runbox_error_last()[0]
                                                ? runbox_error_last()
                                                : "the backend's probe failed");
        } else {
            snprintf(why, sizeof why, "%s", runbox_error_last());
        }
    }
    info.why = why[0] ? why : NULL;
    l->cb(l->ud, &info);
}

RUNBOX_API int runbox_backends_list(const runbox_config *cfg,
                                    runbox_backend_info_cb cb, void *ud)
{
    if (!cb)
        return rb_fail(RUNBOX_EINVAL, "runbox_backends_list: cb is NULL");
    rb_list l = {cfg, cb, ud};
    rb_backend_scan(cfg, rb_list_one, &l);
    return RUNBOX_OK;
}
