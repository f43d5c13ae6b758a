/* Where configuration comes from: the INI file (parsed by libinih), .env
 * in the working directory, and the environment. Precedence is enforced by
 * the store (config.c), so the order of loading does not matter. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;
int rb_config_accept(runbox_config *cfg, const char *key, const char *value,
                     runbox_config_source src, const char *origin);

/* Environment names that other tools already use for these settings. */
static const struct {
    const char *env, *key;
} rb_env_aliases[] = {
    {"E2B_API_KEY", "e2b.api_key"},
    {"E2B_DOMAIN", "e2b.domain"},
    {"E2B_API_URL", "e2b.api_url"},
    {"E2B_SANDBOX_URL", "e2b.sandbox_url"},
    {"DOCKER_HOST", "docker.host"},
    {"DOCKER_TLS_VERIFY", "docker.tls_verify"},
    {"DOCKER_CERT_PATH", "docker.cert_path"},
    {"DOCKER_CONTEXT", "docker.context"},
};

typedef struct rb_ini_state {
    runbox_config *cfg;
    const char *path;
    FILE *fp;
    int line;   /* counted by rb_ini_reader: inih gives no line numbers */
    int status; /* first error */
} rb_ini_state;

static char *rb_ini_reader(char *str, int num, void *stream)
{
    rb_ini_state *st = stream;
    char *r = fgets(str, num, st->fp);
    if (r)
        st->line++;
    return r;
}

static int rb_ini_handler(void *user, const char *section, const char *name,
                          const char *value)
{
    rb_ini_state *st = user;
    if (st->status)
        return 0;
    char origin[512], key[256];
    snprintf(origin, sizeof origin, "%s:%d", st->path, st->line);
    if (!*section || !strcmp(section, "runbox")) {
        snprintf(key, sizeof key, "%s", name);
    } else {
        if (!rb_backend_exists(st->cfg, section)) {
            char *names = rb_backend_names(st->cfg);
            st->status = rb_fail(RUNBOX_ECONFIG,
                                 "%s: unknown section [%s]: no such backend "
                                 "(found: %s)", origin, section,
                                 names ? names : "none");
            free(names);
            return 0;
        }
        snprintf(key, sizeof key, "%s.%s", section, name);
    }
    st->status = rb_config_accept(st->cfg, key, value, RUNBOX_SRC_FILE, origin);
    return st->status == RUNBOX_OK;
}

static int rb_load_ini(runbox_config *cfg, const char *path, int must_exist)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        if (!must_exist && errno == ENOENT)
            return RUNBOX_OK;
        return rb_fail(RUNBOX_ECONFIG, "cannot read config file %s: %s",
                       path, strerror(errno));
    }
    rb_ini_state st = {cfg, path, fp, 0, RUNBOX_OK};
    int rc = ini_parse_stream(rb_ini_reader, &st, rb_ini_handler, &st);
    fclose(fp);
    if (st.status)
        return st.status;
    if (rc > 0)
        return rb_fail(RUNBOX_ECONFIG, "%s:%d: malformed line (expected "
                       "[section] or key = value)", path, rc);
    if (rc < 0)
        return rb_fail(RUNBOX_ECONFIG, "cannot parse config file %s", path);
    return RUNBOX_OK;
}

/* Maps an environment-style name to a key: an alias, RUNBOX_<KEY> for a
 * core key, or RUNBOX_<BACKEND>_<KEY> for a backend that exists. Returns 0
 * when the name is not runbox's. */
static int rb_env_key(const runbox_config *cfg, const char *name, char *key,
                      size_t size)
{
    for (size_t i = 0; i < sizeof rb_env_aliases / sizeof rb_env_aliases[0]; i++)
        if (!strcmp(name, rb_env_aliases[i].env)) {
            snprintf(key, size, "%s", rb_env_aliases[i].key);
            return 1;
        }
    if (strncmp(name, "RUNBOX_", 7))
        return 0;
    char lower[256];
    size_t n = 0;
    for (const char *p = name + 7; *p && n + 1 < sizeof lower; p++)
        lower[n++] = (char)tolower((unsigned char)*p);
    lower[n] = '\0';
    if (rb_core_key_find(lower)) {
        snprintf(key, size, "%s", lower);
        return 1;
    }
    char *us = strchr(lower, '_');
    if (!us)
        return 0;
    *us = '\0';
    if (!rb_backend_exists(cfg, lower))
        return 0;
    snprintf(key, size, "%s.%s", lower, us + 1);
    return 1;
}

static int rb_load_environ(runbox_config *cfg)
{
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char name[256], key[300], origin[300];
        snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
        if (!rb_env_key(cfg, name, key, sizeof key))
            continue;
        snprintf(origin, sizeof origin, "environment %s", name);
        int rc = rb_config_accept(cfg, key, eq + 1, RUNBOX_SRC_ENV, origin);
        if (rc)
            return rc;
    }
    return RUNBOX_OK;
}

/* .env: KEY=VALUE lines, optional `export `, # comments, optional single
 * or double quotes. Names that are not runbox's are ignored: a project's
 * .env holds other tools' settings too. */
static int rb_load_dotenv(runbox_config *cfg, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return RUNBOX_OK;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = RUNBOX_OK;
    while (rc == RUNBOX_OK && getline(&line, &cap, fp) >= 0) {
        lineno++;
        char *s = line;
        s[strcspn(s, "\r\n")] = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#')
            continue;
        if (!strncmp(s, "export ", 7))
            s += 7;
        char *eq = strchr(s, '=');
        char origin[300];
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        if (!eq || eq == s) {
            rc = rb_fail(RUNBOX_ECONFIG, "%s: malformed line (expected "
                         "NAME=value)", origin);
            break;
        }
        char *end = eq;
        while (end > s && isspace((unsigned char)end[-1]))
            end--;
        *end = '\0';
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        } else {
            char *hash = strstr(v, " #");
            if (hash)
                *hash = '\0';
            vl = strlen(v);
            while (vl && isspace((unsigned char)v[vl - 1]))
                v[--vl] = '\0';
        }
        char key[300];
        if (rb_env_key(cfg, s, key, sizeof key))
            rc = rb_config_accept(cfg, key, v, RUNBOX_SRC_DOTENV, origin);
    }
    free(line);
    fclose(fp);
    return rc;
}

RUNBOX_API int runbox_config_load(runbox_config *cfg, const char *path)
{
    if (!cfg)
        return rb_fail(RUNBOX_EINVAL, "runbox_config_load: cfg is NULL");
    int rc;
    if (path) {
        rc = rb_load_ini(cfg, path, 1);
    } else if (access("runbox.ini", F_OK) == 0) {
        rc = rb_load_ini(cfg, "runbox.ini", 1);
    } else {
        char user[1024];
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(user, sizeof user, "%s/runbox/config.ini", xdg);
        else
            snprintf(user, sizeof user, "%s/.config/runbox/config.ini",
                     home ? home : "/nonexistent");
        rc = rb_load_ini(cfg, user, 0);
    }
    if (rc == RUNBOX_OK)
        rc = rb_load_dotenv(cfg, ".env");
    if (rc == RUNBOX_OK)
        rc = rb_load_environ(cfg);
    return rc;
}
