/* The configuration store: keys, precedence, lookups and validation.
 * Where values come from (files, .env, environment) is config_sources.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

const rb_core_key rb_core_keys[] = {
    {"backend", RB_T_STRING, "e2b", 0, "backend name, or a path to a runbox-<name>.so"},
    {"backend_path", RB_T_STRING, NULL, 0, "extra backend folders, colon-separated absolute paths"},
    {"timeout", RB_T_DURATION, "60", RUNBOX_LIMIT_WALL, "wall-clock limit per execution"},
    {"cpu_time", RB_T_DURATION, "0", RUNBOX_LIMIT_CPU, "CPU time limit (0 = none)"},
    {"memory", RB_T_SIZE, "1g", RUNBOX_LIMIT_MEMORY, "memory limit (0 = none)"},
    {"processes", RB_T_COUNT, "256", RUNBOX_LIMIT_PROCESSES, "process/thread limit (0 = none)"},
    {"file_size", RB_T_SIZE, "256m", RUNBOX_LIMIT_FILE_SIZE, "largest file the code may write"},
    {"open_files", RB_T_COUNT, "1024", RUNBOX_LIMIT_OPEN_FILES, "open file descriptors"},
    {"output_limit", RB_T_SIZE, "1m", RUNBOX_LIMIT_OUTPUT, "bytes kept per output stream"},
    {"network", RB_T_BOOL, "off", RUNBOX_LIMIT_NETWORK, "let the code reach the network"},
    {"grace", RB_T_DURATION, "10", 0, "how long a backend may take to stop a run after its deadline or a cancel; then runbox gives up on the call (backend_failure)"},
    {"pass_env", RB_T_STRING, NULL, 0, "host environment variables passed to the code, comma-separated"},
    {"log", RB_T_STRING, "warn", 0, "log level: error, warn, info, debug"},
    {"pool_size", RB_T_COUNT, "0", 0, "fresh sandboxes kept started for one-shot runs (0 = no pool)"},
    {"pool_max_age", RB_T_DURATION, "300", 0, "seconds a pooled sandbox may wait before it is replaced"},
    {"max_timeout", RB_T_DURATION, "600", 0, "runbox mcp: the largest timeout a tool call may ask for"},
    {"session_idle", RB_T_DURATION, "300", 0, "runbox mcp: close a session unused this long (0 = never)"},
    {"mcp_text_limit", RB_T_COUNT, "20000", 0, "runbox mcp: characters of text a tool result shows the model"},
    {NULL, RB_T_STRING, NULL, 0, NULL},
};

/* Keys a backend's section may set too, overriding [runbox]: the limits
 * and the pool settings. */
int rb_core_key_per_backend(const rb_core_key *k)
{
    return k && (k->limit || !strncmp(k->name, "pool_", 5));
}

const rb_core_key *rb_core_key_find(const char *name)
{
    for (const rb_core_key *k = rb_core_keys; k->name; k++)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

RUNBOX_API int runbox_config_new(runbox_config **cfg)
{
    if (!cfg)
        return rb_fail(RUNBOX_EINVAL, "runbox_config_new: cfg is NULL");
    *cfg = calloc(1, sizeof **cfg);
    if (!*cfg)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    for (const rb_core_key *k = rb_core_keys; k->name; k++)
        if (k->def && rb_config_put(*cfg, k->name, k->def, RUNBOX_SRC_DEFAULT,
                                    "default") != RUNBOX_OK) {
            runbox_config_free(*cfg);
            *cfg = NULL;
            return rb_fail(RUNBOX_ENOMEM, "out of memory");
        }
    return RUNBOX_OK;
}

RUNBOX_API void runbox_config_free(runbox_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
        free(cfg->entries[i].origin);
    }
    free(cfg->entries);
    free(cfg);
}

const rb_entry *rb_config_entry(const runbox_config *cfg, const char *key)
{
    if (!cfg)
        return NULL;
    for (size_t i = 0; i < cfg->count; i++)
        if (!strcmp(cfg->entries[i].key, key))
            return &cfg->entries[i];
    return NULL;
}

/* A value only replaces one from a source of equal or lower precedence:
 * that makes the load order irrelevant. */
int rb_config_put(runbox_config *cfg, const char *key, const char *value,
                  runbox_config_source src, const char *origin)
{
    rb_entry *e = (rb_entry *)rb_config_entry(cfg, key);
    if (e && e->source > src)
        return RUNBOX_OK;
    char *v = strdup(value), *o = strdup(origin);
    if (!v || !o) {
        free(v);
        free(o);
        return RUNBOX_ENOMEM;
    }
    if (!e) {
        if (cfg->count == cfg->cap) {
            size_t cap = cfg->cap ? cfg->cap * 2 : 32;
            rb_entry *p = realloc(cfg->entries, cap * sizeof *p);
            if (!p) {
                free(v);
                free(o);
                return RUNBOX_ENOMEM;
            }
            cfg->entries = p;
            cfg->cap = cap;
        }
        e = &cfg->entries[cfg->count++];
        e->key = strdup(key);
        if (!e->key) {
            cfg->count--;
            free(v);
            free(o);
            return RUNBOX_ENOMEM;
        }
    } else {
        free(e->value);
        free(e->origin);
    }
    e->value = v;
    e->origin = o;
    e->source = src;
    return RUNBOX_OK;
}

int rb_config_copy(runbox_config **out, const runbox_config *in)
{
    runbox_config *c = calloc(1, sizeof *c);
    if (!c)
        return RUNBOX_ENOMEM;
    for (size_t i = 0; in && i < in->count; i++)
        if (rb_config_put(c, in->entries[i].key, in->entries[i].value,
                          in->entries[i].source, in->entries[i].origin)) {
            runbox_config_free(c);
            return RUNBOX_ENOMEM;
        }
    *out = c;
    return RUNBOX_OK;
}

RUNBOX_API const char *runbox_config_get(const runbox_config *cfg,
                                         const char *key)
{
    const rb_entry *e = rb_config_entry(cfg, key);
    return e ? e->value : NULL;
}

const rb_entry *rb_config_lookup(const runbox_config *cfg, const char *backend,
                                 const char *key)
{
    char full[256];
    snprintf(full, sizeof full, "%s.%s", backend, key);
    const rb_entry *own = rb_config_entry(cfg, full);
    const rb_entry *shared = rb_core_key_find(key) ? rb_config_entry(cfg, key) : NULL;
    if (own && shared)
        return shared->source > own->source ? shared : own;
    return own ? own : shared;
}

const char *rb_config_backend_path(const runbox_config *cfg)
{
    return runbox_config_get(cfg, "backend_path");
}

RUNBOX_API int runbox_config_get_number(const runbox_config *cfg,
                                        const char *key, double *out)
{
    const rb_core_key *k = rb_core_key_find(key);
    if (!k || k->type == RB_T_STRING)
        return rb_fail(RUNBOX_EINVAL, "'%s' is not a numeric setting", key);
    const rb_entry *e = rb_config_entry(cfg, key);
    const char *v = e ? e->value : k->def;
    const char *why = "no value";
    uint64_t u = 0;
    int b = 0, bad = !v;
    if (!bad) {
        switch (k->type) {
        case RB_T_DURATION: bad = rb_parse_duration(v, out, &why); break;
        case RB_T_SIZE: bad = rb_parse_size(v, &u, &why); *out = (double)u; break;
        case RB_T_COUNT: bad = rb_parse_count(v, &u, &why); *out = (double)u; break;
        default: bad = rb_parse_bool(v, &b, &why); *out = b; break;
        }
    }
    if (bad)
        return rb_fail(RUNBOX_ECONFIG, "%s: %s = '%s': %s",
                       e ? e->origin : "default", key, v ? v : "", why);
    return RUNBOX_OK;
}

static int rb_config_check_value(const char *key, const char *value,
                                 const char *origin)
{
    const char *dot = strchr(key, '.');
    const rb_core_key *k = rb_core_key_find(dot ? dot + 1 : key);
    if (!dot && !k)
        return rb_fail(RUNBOX_ECONFIG,
                       "%s: unknown setting '%s' (run `runbox config --help` "
                       "for the list)", origin, key);
    const char *why;
    if (k && (!dot || rb_core_key_per_backend(k)) &&
        rb_value_check(k->type, value, &why))
        return rb_fail(RUNBOX_ECONFIG, "%s: %s = '%s': %s", origin, key,
                       value, why);
    return RUNBOX_OK;
}

RUNBOX_API int runbox_config_set(runbox_config *cfg, const char *key,
                                 const char *value)
{
    if (!cfg || !key || !value)
        return rb_fail(RUNBOX_EINVAL, "runbox_config_set: NULL argument");
    int rc = rb_config_check_value(key, value, "command line");
    if (rc)
        return rc;
    if (rb_config_put(cfg, key, value, RUNBOX_SRC_FLAG, "command line"))
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    return RUNBOX_OK;
}

/* Exposed to config_sources.c through this prototype only. */
int rb_config_accept(runbox_config *cfg, const char *key, const char *value,
                     runbox_config_source src, const char *origin);
int rb_config_accept(runbox_config *cfg, const char *key, const char *value,
                     runbox_config_source src, const char *origin)
{
    int rc = rb_config_check_value(key, value, origin);
    if (rc)
        return rc;
    if (rb_config_put(cfg, key, value, src, origin))
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    return RUNBOX_OK;
}

int rb_config_check_backend(const runbox_config *cfg, const runbox_backend *vt)
{
    size_t n = strlen(vt->name);
    for (size_t i = 0; cfg && i < cfg->count; i++) {
        const rb_entry *e = &cfg->entries[i];
        if (strncmp(e->key, vt->name, n) || e->key[n] != '.')
            continue;
        const char *k = e->key + n + 1;
        const rb_core_key *ck = rb_core_key_find(k);
        if (rb_core_key_per_backend(ck))
            continue; /* value already checked when it was read */
        int known = 0;
        for (const char *const *p = vt->config_keys; p && *p; p++)
            if (!strcmp(*p, k))
                known = 1;
        const runbox_setting *s = rb_setting_find(vt, k);
        const char *why = NULL;
        if (s && rb_setting_value_check(s, e->value, &why))
            return rb_fail(RUNBOX_ECONFIG, "%s: [%s] %s = '%s': %s (a %s)",
                           e->origin, vt->name, k, e->value, why,
                           rb_setting_type_name(s->type));
        if (!known && !s) {
            rb_buf list = {0};
            for (const runbox_setting *d = vt->settings; d && d->name; d++)
                rb_buf_printf(&list, "%s%s", list.len ? ", " : "", d->name);
            for (const char *const *p = vt->config_keys; p && *p; p++)
                if (!rb_setting_find(vt, *p))
                    rb_buf_printf(&list, "%s%s", list.len ? ", " : "", *p);
            for (const rb_core_key *c = rb_core_keys; c->name; c++)
                if (rb_core_key_per_backend(c))
                    rb_buf_printf(&list, ", %s", c->name);
            int rc = rb_fail(RUNBOX_ECONFIG,
                             "%s: unknown setting '%s' in [%s]; it accepts: %s",
                             e->origin, k, vt->name, list.data ? list.data : "");
            rb_buf_free(&list);
            return rc;
        }
    }
    return RUNBOX_OK;
}

int rb_config_limits(const runbox_config *cfg, const char *backend,
                     runbox_limits *out, uint32_t *explicit_bits)
{
    memset(out, 0, sizeof *out);
    *explicit_bits = 0;
    for (const rb_core_key *k = rb_core_keys; k->name; k++) {
        if (!k->limit)
            continue;
        const rb_entry *e = rb_config_lookup(cfg, backend, k->name);
        const char *v = e ? e->value : k->def;
        const char *why;
        double d = 0;
        uint64_t u = 0;
        int b = 0;
        int bad = 0;
        switch (k->type) {
        case RB_T_DURATION: bad = rb_parse_duration(v, &d, &why); break;
        case RB_T_SIZE:
        case RB_T_COUNT:
            bad = k->type == RB_T_SIZE ? rb_parse_size(v, &u, &why)
                                       : rb_parse_count(v, &u, &why);
            break;
        case RB_T_BOOL: bad = rb_parse_bool(v, &b, &why); break;
        default: break;
        }
        if (bad)
            return rb_fail(RUNBOX_ECONFIG, "%s: %s = '%s': %s",
                           e ? e->origin : "default", k->name, v, why);
        if (e && e->source != RUNBOX_SRC_DEFAULT &&
            (k->limit != RUNBOX_LIMIT_NETWORK || !b))
            *explicit_bits |= (uint32_t)k->limit;
        switch (k->limit) {
        case RUNBOX_LIMIT_WALL: out->wall_seconds = d; break;
        case RUNBOX_LIMIT_CPU: out->cpu_seconds = d; break;
        case RUNBOX_LIMIT_MEMORY: out->memory_bytes = u; break;
        case RUNBOX_LIMIT_PROCESSES: out->processes = (uint32_t)u; break;
        case RUNBOX_LIMIT_FILE_SIZE: out->file_bytes = u; break;
        case RUNBOX_LIMIT_OPEN_FILES: out->open_files = (uint32_t)u; break;
        case RUNBOX_LIMIT_OUTPUT: out->output_bytes = u; break;
        case RUNBOX_LIMIT_NETWORK: out->network = b; break;
        default: break;
        }
    }
    /* A limit set to 0 means "none": nothing to require. */
    if (!out->cpu_seconds) *explicit_bits &= ~(uint32_t)RUNBOX_LIMIT_CPU;
    if (!out->memory_bytes) *explicit_bits &= ~(uint32_t)RUNBOX_LIMIT_MEMORY;
    if (!out->processes) *explicit_bits &= ~(uint32_t)RUNBOX_LIMIT_PROCESSES;
    if (!out->file_bytes) *explicit_bits &= ~(uint32_t)RUNBOX_LIMIT_FILE_SIZE;
    if (!out->open_files) *explicit_bits &= ~(uint32_t)RUNBOX_LIMIT_OPEN_FILES;
    return RUNBOX_OK;
}

/* Secrets are masked by name: any key that names a key, token, secret or
 * password. Cheap, and safe for third-party backends too. */
static int rb_key_is_secret(const char *key)
{
    static const char *marks[] = {"key", "token", "secret", "password"};
    for (size_t i = 0; i < 4; i++)
        if (strcasestr(key, marks[i]))
            return 1;
    return 0;
}

static int rb_entry_cmp(const void *a, const void *b)
{
    const rb_entry *x = *(const rb_entry *const *)a, *y = *(const rb_entry *const *)b;
    int xd = strchr(x->key, '.') != NULL, yd = strchr(y->key, '.') != NULL;
    if (xd != yd)
        return xd - yd; /* [runbox] keys first */
    return strcmp(x->key, y->key);
}

RUNBOX_API void runbox_config_foreach(const runbox_config *cfg,
                                      runbox_config_entry_cb cb, void *ud)
{
    if (!cfg || !cb)
        return;
    const rb_entry **sorted = malloc(cfg->count * sizeof *sorted + 1);
    if (!sorted)
        return;
    for (size_t i = 0; i < cfg->count; i++)
        sorted[i] = &cfg->entries[i];
    qsort(sorted, cfg->count, sizeof *sorted, rb_entry_cmp);
    for (size_t i = 0; i < cfg->count; i++) {
        const rb_entry *e = sorted[i];
        char masked[64];
        const char *shown = e->value;
        if (rb_key_is_secret(e->key) && *e->value) {
            size_t n = strlen(e->value);
            snprintf(masked, sizeof masked, "%.*s****(%zu chars)",
                     n > 8 ? 4 : 0, e->value, n);
            shown = masked;
        }
        cb(ud, e->key, shown, e->origin);
    }
    free(sorted);
}

RUNBOX_API int runbox_config_validate_all(const runbox_config *cfg)
{
    for (size_t i = 0; cfg && i < cfg->count; i++) {
        const char *key = cfg->entries[i].key, *dot = strchr(key, '.');
        if (!dot)
            continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(dot - key), key);
        const rb_loaded *b;
        int rc = rb_backend_load(&b, name, cfg);
        if (rc == RUNBOX_ENOTFOUND)
            return rb_fail(RUNBOX_ECONFIG, "%s: section [%s] names no backend "
                           "that is installed (%s)", cfg->entries[i].origin,
                           name, runbox_error_last());
        if (rc)
            return rc;
        if ((rc = rb_config_check_backend(cfg, &b->vt)))
            return rc;
    }
    return RUNBOX_OK;
}
