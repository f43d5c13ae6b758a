/* A backend's declared settings: what the core checks at load, how it
 * parses values for the backend (the host's typed getters), and how
 * `runbox config` and `runbox backends --settings` describe them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const char *const rb_type_names[] = {"string", "duration", "size",
                                            "count", "bool", "list"};

const char *rb_setting_type_name(int type)
{
    return type >= 0 && type <= RUNBOX_SETTING_LIST ? rb_type_names[type] : "?";
}

static rb_value_type rb_value_type_of(int type)
{
    switch (type) {
    case RUNBOX_SETTING_DURATION: return RB_T_DURATION;
    case RUNBOX_SETTING_SIZE: return RB_T_SIZE;
    case RUNBOX_SETTING_COUNT: return RB_T_COUNT;
    case RUNBOX_SETTING_BOOL: return RB_T_BOOL;
    default: return RB_T_STRING;
    }
}

const runbox_setting *rb_setting_find(const runbox_backend *vt, const char *key)
{
    for (const runbox_setting *s = vt ? vt->settings : NULL; s && s->name; s++)
        if (!strcmp(s->name, key))
            return s;
    return NULL;
}

int rb_setting_value_check(const runbox_setting *s, const char *value,
                           const char **why)
{
    return rb_value_check(rb_value_type_of(s->type), value, why);
}

int rb_backend_claims_check(const runbox_backend *vt, const char *path)
{
    static const struct {
        uint64_t cap;
        const char *cap_name;
        size_t slot; /* offset of the slot it needs */
        const char *slot_name;
    } needs[] = {
        {RUNBOX_CAP_FILES, "files", offsetof(runbox_backend, file_write), "file_write"},
        {RUNBOX_CAP_FILES, "files", offsetof(runbox_backend, file_read), "file_read"},
        {RUNBOX_CAP_INSTALL, "install", offsetof(runbox_backend, install), "install"},
        {RUNBOX_CAP_ENVIRONMENT, "environment", offsetof(runbox_backend, environment),
         "environment"},
    };
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        void (*slot)(void);
        memcpy(&slot, (const char *)vt + needs[i].slot, sizeof slot);
        if ((vt->capabilities & needs[i].cap) && !slot)
            return rb_fail(RUNBOX_EBACKEND, "backend %s claims the %s "
                           "capability but leaves its %s slot empty; the "
                           "backend is broken: fix it or drop the claim",
                           path, needs[i].cap_name, needs[i].slot_name);
    }
    for (const runbox_setting *s = vt->settings; s && s->name; s++) {
        const char *why = NULL;
        if (s->type < RUNBOX_SETTING_STRING || s->type > RUNBOX_SETTING_LIST)
            return rb_fail(RUNBOX_EBACKEND, "backend %s declares setting "
                           "'%s' with unknown type %d", path, s->name,
                           (int)s->type);
        if (s->default_value && rb_setting_value_check(s, s->default_value, &why))
            return rb_fail(RUNBOX_EBACKEND, "backend %s declares setting "
                           "'%s' with a default '%s' that is not a %s: %s",
                           path, s->name, s->default_value,
                           rb_type_names[s->type], why);
    }
    return RUNBOX_OK;
}

/* ---- the host's typed getters ---- */

/* The effective text of key and where it came from; the declared default
 * when unset. NULL when neither. */
static const char *rb_setting_text(runbox_host_ctx *h, const char *key,
                                   const char **origin)
{
    const rb_entry *e = rb_config_lookup(h->cfg, h->backend, key);
    if (e) {
        *origin = e->origin;
        return e->value;
    }
    const runbox_setting *s = rb_setting_find(h->vt, key);
    *origin = "default";
    return s ? s->default_value : NULL;
}

static int rb_typed_get(runbox_host_ctx *h, const char *key, rb_value_type t,
                        void *out)
{
    const char *origin = NULL, *why = NULL;
    const char *v = rb_setting_text(h, key, &origin);
    if (!v)
        return RUNBOX_ENOTFOUND;
    int bad = 0;
    switch (t) {
    case RB_T_DURATION: bad = rb_parse_duration(v, out, &why); break;
    case RB_T_SIZE: bad = rb_parse_size(v, out, &why); break;
    case RB_T_COUNT: bad = rb_parse_count(v, out, &why); break;
    case RB_T_BOOL: bad = rb_parse_bool(v, out, &why); break;
    default: break;
    }
    if (bad)
        return rb_fail(RUNBOX_ECONFIG, "%s: [%s] %s = '%s': %s", origin,
                       h->backend, key, v, why);
    return RUNBOX_OK;
}

int rb_host_config_duration(runbox_host_ctx *h, const char *key, double *out)
{
    return rb_typed_get(h, key, RB_T_DURATION, out);
}

int rb_host_config_size(runbox_host_ctx *h, const char *key, uint64_t *out)
{
    return rb_typed_get(h, key, RB_T_SIZE, out);
}

int rb_host_config_count(runbox_host_ctx *h, const char *key, uint64_t *out)
{
    return rb_typed_get(h, key, RB_T_COUNT, out);
}

int rb_host_config_bool(runbox_host_ctx *h, const char *key, int *out)
{
    return rb_typed_get(h, key, RB_T_BOOL, out);
}

/* One block: the pointer array, then the strings, so one free releases it. */
int rb_host_config_list(runbox_host_ctx *h, const char *key, char ***out)
{
    const char *origin = NULL;
    const char *v = rb_setting_text(h, key, &origin);
    *out = NULL;
    if (!v)
        return RUNBOX_ENOTFOUND;
    size_t items = 1, len = strlen(v);
    for (const char *p = v; *p; p++)
        items += *p == ',';
    char **list = malloc((items + 1) * sizeof *list + len + 1);
    if (!list)
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    char *text = (char *)(list + items + 1);
    memcpy(text, v, len + 1);
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(text, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        char *end = t + strlen(t);
        while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*t)
            list[n++] = t;
    }
    list[n] = NULL;
    *out = list;
    return RUNBOX_OK;
}

/* ---- describing settings ---- */

static void rb_mask(char *buf, size_t size, const char *value)
{
    size_t n = strlen(value);
    snprintf(buf, size, "%.*s****(%zu chars)", n > 8 ? 4 : 0, value, n);
}

static void rb_describe_one(const runbox_config *cfg, const char *backend,
                            const char *key, const char *type,
                            const char *def, int secret, const char *doc,
                            runbox_setting_cb cb, void *ud)
{
    const rb_entry *e = backend ? rb_config_lookup(cfg, backend, key)
                                : rb_config_entry(cfg, key);
    char full[256], masked[96];
    if (backend)
        snprintf(full, sizeof full, "%s.%s", backend, key);
    else
        snprintf(full, sizeof full, "%s", key);
    runbox_setting_info info = {0};
    info.key = full;
    info.type = type;
    info.default_value = def;
    info.secret = secret;
    info.doc = doc;
    info.value = e ? e->value : def;
    info.origin = e ? e->origin : def ? "default" : "unset";
    if (secret && info.value && *info.value) {
        rb_mask(masked, sizeof masked, info.value);
        info.value = masked;
    }
    cb(ud, &info);
}

static int rb_is_secret_key(const runbox_backend *vt, const char *key)
{
    const runbox_setting *s = rb_setting_find(vt, key);
    if (s && s->secret)
        return 1;
    for (const char *const *p = vt->secret_keys; p && *p; p++)
        if (!strcmp(*p, key))
            return 1;
    return 0;
}

RUNBOX_API int runbox_config_describe(const runbox_config *cfg,
                                      const char *backend,
                                      runbox_setting_cb cb, void *ud)
{
    if (!cfg || !cb)
        return rb_fail(RUNBOX_EINVAL, "runbox_config_describe: NULL argument");
    if (!backend) {
        for (const rb_core_key *k = rb_core_keys; k->name; k++) {
            static const char *const names[] = {"string", "duration", "size",
                                                "count", "bool"};
            rb_describe_one(cfg, NULL, k->name, names[k->type], k->def, 0,
                            k->help, cb, ud);
        }
        return RUNBOX_OK;
    }
    const rb_loaded *b = NULL;
    int rc = rb_backend_load(&b, backend, cfg);
    if (rc)
        return rc;
    const runbox_backend *vt = &b->vt;
    for (const runbox_setting *s = vt->settings; s && s->name; s++)
        rb_describe_one(cfg, vt->name, s->name, rb_setting_type_name(s->type),
                        s->default_value, s->secret, s->doc, cb, ud);
    /* Keys of the older, undocumented form. */
    for (const char *const *p = vt->config_keys; p && *p; p++)
        if (!rb_setting_find(vt, *p) && !rb_core_key_find(*p))
            rb_describe_one(cfg, vt->name, *p, "string", NULL,
                            rb_is_secret_key(vt, *p), "", cb, ud);
    /* Limits set for this backend only. */
    for (const rb_core_key *k = rb_core_keys; k->name; k++) {
        char full[256];
        snprintf(full, sizeof full, "%s.%s", vt->name, k->name);
        if (k->limit && rb_config_entry(cfg, full))
            rb_describe_one(cfg, vt->name, k->name, "limit", NULL, 0,
                            k->help, cb, ud);
    }
    return RUNBOX_OK;
}
