/*
 * e2b_backend.c — the e2b backend's vtable, configuration and sandbox
 * lifecycle. Code runs in E2B cloud sandboxes (Firecracker microVMs)
 * through E2B's REST API and each sandbox's code interpreter and envd.
 *
 * Configuration, section [e2b] (the core maps E2B_API_KEY, E2B_DOMAIN,
 * E2B_API_URL and E2B_SANDBOX_URL, and .env, onto these keys):
 *   api_key          secret, sent only as the X-API-KEY header
 *   domain           default e2b.app
 *   api_url          default https://api.<domain>
 *   sandbox_url      one base URL for the whole data plane (tests, proxies)
 *   template         default code-interpreter-v1
 *   sandbox_timeout  a session's lifetime after its last use, seconds
 *                    (default: E2B's 300 s); while a session runs
 *                    something, its sandbox lives that run's timeout
 *                    plus 30 s instead, and one-shot sandboxes live
 *                    their run's timeout plus 60 s
 *   request_timeout  seconds per HTTP request, default 60
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "e2b_internal.h"

#define E2B_MISSING_KEY \
    "E2B_API_KEY not configured: set it in the environment or in .env"

static const char *const e2b_languages[] = {"python", "javascript", "r",
                                            "java", "bash", NULL};
static const char *const e2b_config_keys[] = {
    "api_key", "domain", "api_url", "sandbox_url", "template",
    "sandbox_timeout", "request_timeout", NULL};
static const char *const e2b_secret_keys[] = {"api_key", NULL};
extern const runbox_setting e2b_settings[]; /* e2b_settings.c */

/* A configured key: set and not blank. */
static const char *e2b_api_key(const runbox_host *host, runbox_host_ctx *h)
{
    const char *key = host->config_get(h, "api_key");
    return key && key[strspn(key, " \t")] ? key : NULL;
}

static int e2b_probe(const runbox_host *host, runbox_host_ctx *h)
{
    /* No network here: whether the key is accepted shows on first use. */
    if (!e2b_api_key(host, h))
        return host->fail(h, RUNBOX_EAUTH, E2B_MISSING_KEY);
    return RUNBOX_OK;
}

static int e2b_has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* An http(s) URL, copied without trailing slashes. */
static int e2b_config_url(e2b_state *st, const char *key, char **out)
{
    const char *v = st->host->config_get(st->h, key);
    if (!v || !*v)
        return RUNBOX_OK;
    if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
        e2b_has_ctl(v) || strchr(v, ' ') || strchr(v, '?') || strchr(v, '#'))
        return st->host->config_error(st->h, key,
                                      "must be an http:// or https:// URL "
                                      "without query, e.g. "
                                      "https://api.e2b.app");
    if (!(*out = strdup(v)))
        return RUNBOX_ENOMEM;
    size_t n = strlen(*out);
    while (n > 8 && (*out)[n - 1] == '/')
        (*out)[--n] = '\0';
    return RUNBOX_OK;
}

/* A number within [lo, hi]; *out keeps its default when unset. */
static int e2b_config_number(e2b_state *st, const char *key, double lo,
                             double hi, int integer, double *out)
{
    const char *v = st->host->config_get(st->h, key);
    if (!v || !*v)
        return RUNBOX_OK;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == v || *end || errno || d != d || d < lo || d > hi ||
        (integer && d != (double)(long)d))
        return st->host->config_error(st->h, key,
                                      "must be %s between %g and %g seconds",
                                      integer ? "a whole number" : "a number",
                                      lo, hi);
    *out = d;
    return RUNBOX_OK;
}

/* A host name or template name: letters, digits and a few separators. */
static int e2b_config_name(e2b_state *st, const char *key, const char *def,
                           const char *extra, char **out)
{
    const char *v = st->host->config_get(st->h, key);
    if (!v || !*v)
        v = def;
    if (!e2b_is_name(v, extra, 253))
        return st->host->config_error(st->h, key,
                                      "may only hold letters, digits "
                                      "and \"%s\" (at most 253)",
                                      extra);
    return (*out = strdup(v)) ? RUNBOX_OK : RUNBOX_ENOMEM;
}

static void e2b_state_free(e2b_state *st)
{
    if (!st)
        return;
    if (st->api_key) {
        sodium_memzero(st->api_key, strlen(st->api_key));
        free(st->api_key);
    }
    free(st->domain);
    free(st->api_url);
    free(st->sandbox_url);
    free(st->template_id);
    free(st);
}

static int e2b_configure(e2b_state *st)
{
    const runbox_host *host = st->host;
    const char *key = e2b_api_key(host, st->h);
    double sandbox_timeout = 0, request_timeout = 60;
    int rc;
    /* Checked before anything else, and before any network call. */
    if (!key)
        return host->fail(st->h, RUNBOX_EAUTH, E2B_MISSING_KEY);
    if (e2b_has_ctl(key) || strlen(key) > 512)
        return host->config_error(st->h, "api_key",
                                  "holds a control character (a pasted "
                                  "line break?) or is too long");
    if (!(st->api_key = strdup(key)))
        return RUNBOX_ENOMEM;
    if ((rc = e2b_config_name(st, "domain", "e2b.app", ".-",
                              &st->domain)) ||
        (rc = e2b_config_name(st, "template", "code-interpreter-v1", "-_./:",
                              &st->template_id)) ||
        (rc = e2b_config_url(st, "api_url", &st->api_url)) ||
        (rc = e2b_config_url(st, "sandbox_url", &st->sandbox_url)) ||
        (rc = e2b_config_number(st, "sandbox_timeout", 1, 86400, 1,
                                &sandbox_timeout)) ||
        (rc = e2b_config_number(st, "request_timeout", 0.1, 3600, 0,
                                &request_timeout)))
        return rc;
    st->sandbox_timeout = (int)sandbox_timeout;
    st->request_timeout = request_timeout;
    if (!st->api_url) {
        size_t n = strlen(st->domain) + 16;
        if (!(st->api_url = malloc(n)))
            return RUNBOX_ENOMEM;
        snprintf(st->api_url, n, "https://api.%s", st->domain);
    }
    return RUNBOX_OK;
}

static int e2b_open(void **state, const runbox_host *host, runbox_host_ctx *h)
{
    e2b_state *st = calloc(1, sizeof(*st));
    if (!st)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory opening e2b");
    st->host = host;
    st->h = h;
    int rc = e2b_configure(st);
    if (rc == RUNBOX_ENOMEM)
        rc = host->fail(h, rc, "out of memory opening e2b");
    if (rc != RUNBOX_OK) {
        e2b_state_free(st);
        return rc;
    }
    host->log(h, RUNBOX_LOG_DEBUG, "e2b: API %s, template %s%s%s",
              st->api_url, st->template_id,
              st->sandbox_url ? ", sandboxes at " : "",
              st->sandbox_url ? st->sandbox_url : "");
    /* Sandboxes of runbox processes killed before they could kill them
     * would run (and be paid for) until their lifetime ends. */
    e2b_reap(st, 1, &st->reaped_on_open);
    *state = st;
    return RUNBOX_OK;
}

static void e2b_close(void *state)
{
    e2b_state_free(state);
}

void e2b_sandbox_free(e2b_sandbox *sb)
{
    if (!sb)
        return;
    if (sb->multi)
        curl_multi_cleanup(sb->multi);
    if (sb->curl)
        curl_easy_cleanup(sb->curl);
    free(sb->id);
    free(sb->access_token);
    free(sb->traffic_token);
    free(sb->domain);
    free(sb->envd_version);
    free(sb);
}

e2b_sandbox *e2b_sandbox_alloc(e2b_state *st)
{
    e2b_sandbox *sb = calloc(1, sizeof(*sb));
    if (sb) {
        sb->st = st;
        sb->curl = curl_easy_init();
        sb->multi = curl_multi_init();
    }
    if (!sb || !sb->curl || !sb->multi) {
        e2b_sandbox_free(sb);
        return NULL;
    }
    return sb;
}

/* E2B sizes a sandbox by its template: CPU time, memory, process, file
 * size and descriptor limits cannot be set per sandbox. An explicitly set
 * one is refused rather than silently ignored. */
static int e2b_check_required(const e2b_state *st,
                              const runbox_sandbox_opts *opts)
{
    static const struct {
        uint32_t bit;
        const char *setting;
    } unenforced[] = {
        {RUNBOX_LIMIT_CPU, "cpu_time"},
        {RUNBOX_LIMIT_MEMORY, "memory"},
        {RUNBOX_LIMIT_PROCESSES, "processes"},
        {RUNBOX_LIMIT_FILE_SIZE, "file_size"},
        {RUNBOX_LIMIT_OPEN_FILES, "open_files"},
    };
    if (opts->struct_size < offsetof(runbox_sandbox_opts, limits_required) +
                                sizeof(opts->limits_required))
        return RUNBOX_OK;
    for (size_t i = 0; i < sizeof(unenforced) / sizeof(unenforced[0]); i++)
        if (opts->limits_required & unenforced[i].bit)
            return st->host->fail(st->h, RUNBOX_EUNSUPPORTED,
                                  "the e2b backend cannot enforce the %s "
                                  "limit (an E2B sandbox is sized by its "
                                  "template); unset %s or pick a template "
                                  "with e2b.template",
                                  unenforced[i].setting,
                                  unenforced[i].setting);
    return RUNBOX_OK;
}

static int e2b_sandbox_create(void **sandbox, void *state,
                              const runbox_sandbox_opts *opts)
{
    e2b_state *st = state;
    int rc = e2b_check_required(st, opts);
    if (rc != RUNBOX_OK)
        return rc;
    e2b_sandbox *sb = e2b_sandbox_alloc(st);
    if (!sb)
        return st->host->fail(st->h, RUNBOX_ENOMEM,
                              "out of memory creating an E2B sandbox");
    /* A core built with a smaller opts struct leaves the rest zero. */
    memcpy(&sb->opts, opts,
           opts->struct_size < sizeof(sb->opts) ? opts->struct_size
                                                 : sizeof(sb->opts));
    sb->opts.struct_size = sizeof(sb->opts);
    sb->network_off = opts->limits.network == 0;
    /* A one-shot is created by its run (e2b_sandbox_ready), unless a pool
     * makes it ahead of time. */
    if (!sb->opts.oneshot || sb->opts.prestart) {
        e2b_abort aborted;
        rc = e2b_api_create(sb, 0, 0, NULL, &aborted);
        if (rc != RUNBOX_OK) {
            e2b_sandbox_free(sb);
            return rc;
        }
    }
    *sandbox = sb;
    return RUNBOX_OK;
}

static void e2b_sandbox_destroy(void *sandbox)
{
    e2b_sandbox *sb = sandbox;
    if (!sb)
        return;
    e2b_api_kill(sb);
    e2b_sandbox_free(sb);
}

static int e2b_reap_slot(void *state, unsigned *removed)
{
    e2b_state *st = state;
    unsigned now = 0;
    int rc = e2b_reap(st, 0, &now);
    *removed = now + __atomic_exchange_n(&st->reaped_on_open, 0,
                                         __ATOMIC_RELAXED);
    return rc;
}

static const runbox_backend e2b_backend = {
    .abi_version = RUNBOX_BACKEND_ABI,
    .struct_size = sizeof(runbox_backend),
    .name = "e2b",
    .description = "E2B cloud sandboxes (Firecracker microVMs) through the "
                   "E2B API and code interpreter",
    .capabilities = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_FILES |
                    RUNBOX_CAP_STREAMING | RUNBOX_CAP_NETWORK_CONTROL |
                    RUNBOX_CAP_INSTALL | RUNBOX_CAP_ENVIRONMENT |
                    RUNBOX_CAP_INTERPRETER | RUNBOX_CAP_RICH_RESULTS,
    .languages = e2b_languages,
    .config_keys = e2b_config_keys,
    .settings = e2b_settings,
    .secret_keys = e2b_secret_keys,
    .probe = e2b_probe,
    .open = e2b_open,
    .close = e2b_close,
    .sandbox_create = e2b_sandbox_create,
    .sandbox_destroy = e2b_sandbox_destroy,
    .exec = e2b_execute,
    .install = e2b_install,
    .environment = e2b_environment,
    .file_write = e2b_file_write,
    .file_read = e2b_file_read,
    .reap = e2b_reap_slot,
};

static CURLcode e2b_curl_status = CURLE_FAILED_INIT;
static int e2b_sodium_status = -1;

static void e2b_global_init(void)
{
    e2b_curl_status = curl_global_init(CURL_GLOBAL_DEFAULT);
    e2b_sodium_status = sodium_init();
}

RUNBOX_BACKEND_EXPORT int runbox_backend_init(const runbox_host *host,
                                              const runbox_backend **backend,
                                              char *why, size_t why_size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int rc = runbox_host_check(host, "e2b", why, why_size);
    if (rc != RUNBOX_OK)
        return rc;
    pthread_once(&once, e2b_global_init);
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (e2b_curl_status != CURLE_OK || e2b_sodium_status < 0) {
        snprintf(why, why_size, "libcurl or libsodium failed to initialise");
        return RUNBOX_EBACKEND;
    }
    if (v->version_num < 0x075500 || !(v->features & CURL_VERSION_SSL)) {
        snprintf(why, why_size,
                 "the e2b backend needs libcurl >= 7.85 with TLS (found %s)",
                 v->version);
        return RUNBOX_EBACKEND;
    }
    *backend = &e2b_backend;
    return RUNBOX_OK;
}
