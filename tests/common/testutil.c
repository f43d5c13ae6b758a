#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    char *d = strdup("/tmp/runbox-test-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

void tu_rmtree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}

void tu_write(const char *dir, const char *name, const char *text)
{
    char path[4200];
    if (dir)
        snprintf(path, sizeof path, "%s/%s", dir, name);
    else
        snprintf(path, sizeof path, "%s", name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static runbox_config *tu_vconfig(const char *first, va_list ap)
{
    runbox_config *cfg = NULL;
    assert_int_equal(runbox_config_new(&cfg), RUNBOX_OK);
    for (const char *kv = first; kv; kv = va_arg(ap, const char *)) {
        const char *eq = strchr(kv, '=');
        assert_non_null(eq);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
        int rc = runbox_config_set(cfg, key, eq + 1);
        if (rc)
            fail_msg("config %s: %s", kv, runbox_error_last());
    }
    return cfg;
}

runbox_config *tu_config(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    runbox_config *cfg = tu_vconfig(first, ap);
    va_end(ap);
    return cfg;
}

runbox_context *tu_context(const char *backend, ...)
{
    va_list ap;
    va_start(ap, backend);
    const char *first = va_arg(ap, const char *);
    runbox_config *cfg = tu_vconfig(first, ap);
    va_end(ap);
    assert_int_equal(runbox_config_set(cfg, "backend", backend), RUNBOX_OK);
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc)
        fail_msg("context for %s: %s", backend, runbox_error_last());
    return ctx;
}

int tu_run(runbox_context *ctx, const char *code, runbox_result *r)
{
    runbox_exec_options opt = {0};
    opt.code = code;
    return runbox_execute(ctx, &opt, r);
}

int tu_contains(const char *s, const char *needle)
{
    return s && needle && strstr(s, needle) != NULL;
}

int tu_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && (!strcmp(ci, "true") || !strcmp(ci, "1"));
}
