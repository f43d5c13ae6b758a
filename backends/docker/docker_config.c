/*
 * docker_config.c — the [docker] section: every key the backend accepts,
 * its default, and its parsing. Defaults are the secure choice; each one
 * can be relaxed by configuration.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docker_internal.h"

const char *const docker_config_keys[] = {
    "host",              /* unix:///var/run/docker.sock, tcp://h:p */
    "image",             /* runbox-python:3.11 */
    "network",           /* off: NetworkMode none */
    "user",              /* 1000:1000 */
    "memory",            /* e.g. 512m; MemorySwap is set equal */
    "cpus",              /* 1: CPU quota (NanoCpus), 0 = none */
    "pids_limit",        /* 256 */
    "read_only",         /* on: read-only root file system */
    "cap_drop",          /* ALL */
    "no_new_privileges", /* on */
    "tmpfs_size",        /* 256m for /sandbox (one-shot) and /tmp */
    "pull",              /* on: pull a missing image */
    "runtime",           /* runc; runsc = gVisor */
    "idle_timeout",      /* 1800: seconds a session lives unused */
    "tls_verify",        /* off; DOCKER_TLS_VERIFY */
    "cert_path",         /* ~/.docker; DOCKER_CERT_PATH */
    "context",           /* the docker CLI's current one; DOCKER_CONTEXT */
    NULL};

static int docker_parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "on", "true", "yes", NULL};
    static const char *const no[] = {"0", "off", "false", "no", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    return -1;
}

/* "512m", "2g", "1048576": binary suffixes, as Docker's own flags take. */
static int docker_parse_size(const char *v, uint64_t *out)
{
    char *end;
    double n = strtod(v, &end);
    if (end == v || n < 0)
        return -1;
    double mult = 1;
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'b': mult = 1; end++; break;
    case 'k': mult = 1024.0; end++; break;
    case 'm': mult = 1024.0 * 1024; end++; break;
    case 'g': mult = 1024.0 * 1024 * 1024; end++; break;
    default: return -1;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end)
        return -1;
    *out = (uint64_t)(n * mult);
    return 0;
}

static const char *docker_get(const runbox_host *host, runbox_host_ctx *h,
                              const char *key, const char *fallback)
{
    const char *v = host->config_get(h, key);
    return v && *v ? v : fallback;
}

int docker_config_load(docker_config *cfg, const runbox_host *host,
                       runbox_host_ctx *h)
{
    memset(cfg, 0, sizeof(*cfg));
    const char *v;

    /* NULL: from the docker CLI's context, else the default socket
     * (docker_endpoint_resolve). */
    const char *where = docker_get(host, h, "host", NULL);
    cfg->host = where ? strdup(where) : NULL;
    cfg->image = strdup(docker_get(host, h, "image", DOCKER_DEFAULT_IMAGE));
    cfg->user = strdup(docker_get(host, h, "user", "1000:1000"));
    cfg->cap_drop = strdup(docker_get(host, h, "cap_drop", "ALL"));
    cfg->runtime = strdup(docker_get(host, h, "runtime", "runc"));
    v = docker_get(host, h, "cert_path", NULL);
    int lost = v && !(cfg->cert_path = strdup(v));
    v = docker_get(host, h, "context", NULL);
    lost |= v && !(cfg->context = strdup(v));
    if (lost || (where && !cfg->host) || !cfg->image || !cfg->user || !cfg->cap_drop ||
        !cfg->runtime) {
        docker_config_clear(cfg);
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    }

    struct {
        const char *key, *def;
        int *out;
    } bools[] = {{"network", "off", &cfg->network},
                 {"read_only", "on", &cfg->read_only},
                 {"no_new_privileges", "on", &cfg->no_new_privileges},
                 {"pull", "on", &cfg->pull}};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        v = docker_get(host, h, bools[i].key, bools[i].def);
        if (docker_parse_bool(v, bools[i].out) != 0) {
            docker_config_clear(cfg);
            return host->config_error(h, bools[i].key, "expected on or off");
        }
    }

    struct {
        const char *key, *def;
        uint64_t *out;
    } sizes[] = {{"memory", "0", &cfg->memory},
                 {"tmpfs_size", "256m", &cfg->tmpfs_bytes}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        v = docker_get(host, h, sizes[i].key, sizes[i].def);
        if (docker_parse_size(v, sizes[i].out) != 0) {
            docker_config_clear(cfg);
            return host->config_error(h, sizes[i].key,
                                      "expected a size such as 512m or 2g");
        }
    }
    if (cfg->memory && cfg->memory < (6u << 20)) {
        docker_config_clear(cfg);
        return host->config_error(h, "memory",
                                  "Docker needs at least 6m of memory");
    }

    /* One CPU by default: one sandbox cannot take every core. */
    v = docker_get(host, h, "cpus", "1");
    char *end;
    cfg->cpus = strtod(v, &end);
    if (end == v || *end || cfg->cpus < 0 || cfg->cpus > 1024) {
        docker_config_clear(cfg);
        return host->config_error(h, "cpus", "expected a number of CPUs such as 1.5");
    }

    v = docker_get(host, h, "pids_limit", "256");
    long pids = strtol(v, &end, 10);
    if (end == v || *end || pids < 0 || pids > 4194304) {
        docker_config_clear(cfg);
        return host->config_error(h, "pids_limit",
                                  "expected a number of processes (0 = none)");
    }
    cfg->pids_limit = (uint32_t)pids;

    v = docker_get(host, h, "idle_timeout", "1800");
    cfg->idle_timeout = strtod(v, &end);
    if (end == v || *end || cfg->idle_timeout < 0) {
        docker_config_clear(cfg);
        return host->config_error(h, "idle_timeout",
                                  "expected seconds (0 = sessions never end "
                                  "on their own)");
    }
    /* As the docker CLI reads DOCKER_TLS_VERIFY: set means on, except an
     * explicit off. */
    v = docker_get(host, h, "tls_verify", "off");
    if (docker_parse_bool(v, &cfg->tls_verify) != 0)
        cfg->tls_verify = 1;
    for (const char *p = cfg->runtime; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
            docker_config_clear(cfg);
            return host->config_error(h, "runtime",
                                      "expected a runtime name such as runc "
                                      "or runsc");
        }
    return RUNBOX_OK;
}

void docker_config_clear(docker_config *cfg)
{
    free(cfg->host);
    free(cfg->image);
    free(cfg->user);
    free(cfg->cap_drop);
    free(cfg->runtime);
    free(cfg->cert_path);
    free(cfg->context);
    free(cfg->runtime_nonet);
    memset(cfg, 0, sizeof(*cfg));
}
