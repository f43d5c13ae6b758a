/*
 * docker_backend.c — the docker backend's entry point and vtable: probe,
 * open (configuration, version negotiation, reaping crashed runs'
 * containers) and close. The sandbox slots live in docker_sandbox.c and
 * docker_files.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_sandbox.h"

static const char *const docker_languages[] = {"python", NULL};
static const char *const docker_secret_keys[] = {NULL};

static int docker_probe(const runbox_host *host, runbox_host_ctx *h)
{
    docker_engine e;
    docker_conn c;
    docker_config cfg;
    docker_endpoint ep;
    int rc = docker_config_load(&cfg, host, h);
    if (rc != RUNBOX_OK)
        return rc;
    rc = docker_endpoint_resolve(&ep, host, h, &cfg);
    docker_config_clear(&cfg);
    if (rc == RUNBOX_OK)
        rc = docker_engine_open(&e, host, h, &ep);
    docker_endpoint_clear(&ep);
    if (rc != RUNBOX_OK)
        return rc;
    rc = docker_conn_open(&c, &e);
    if (rc == RUNBOX_OK) {
        rc = docker_engine_ping(&c);
        if (rc == RUNBOX_OK)
            rc = docker_engine_negotiate(&c);
        /* A usable engine still leaves a note: where it is, and whether the
         * image is there or would be pulled on first use. */
        if (rc == RUNBOX_OK) {
            const char *image = host->config_get(h, "image");
            if (!image || !*image)
                image = DOCKER_DEFAULT_IMAGE;
            char path[512];
            snprintf(path, sizeof path, "/images/%s/json", image);
            docker_response r = {0};
            int present = docker_request(&c, "GET", path, NULL, NULL, 0, 5, &r)
                              == RUNBOX_OK && r.status == 200;
            docker_response_clear(&r);
            host->fail(h, RUNBOX_OK, "Docker engine at %s (API %s); image %s %s",
                       e.docker_host, e.api_prefix[0] ? e.api_prefix + 2 : "?",
                       image, present ? "present"
                                      : "missing (pulled on first use; or "
                                        "backends/docker/image/build-offline-image.sh)");
        }
        docker_conn_close(&c);
    }
    docker_engine_close(&e);
    return rc;
}

/* A runtime other than the engine's default must be registered with it
 * (daemon.json "runtimes"); say so before any container is made. */
static int docker_runtime_check(docker_conn *c, docker_config *cfg)
{
    docker_engine *e = c->engine;
    if (strcmp(cfg->runtime, "runc") == 0)
        return RUNBOX_OK;
    cJSON *info = NULL;
    int rc = docker_call_json(c, "GET", "/info", NULL, 10, 200,
                              "reading the engine's runtimes", &info, NULL);
    if (rc != RUNBOX_OK)
        return rc;
    cJSON *runtimes = cJSON_GetObjectItemCaseSensitive(info, "Runtimes");
    if (cJSON_GetObjectItemCaseSensitive(runtimes, cfg->runtime)) {
        char nonet[128];
        snprintf(nonet, sizeof(nonet), "%s-nonet", cfg->runtime);
        if (cJSON_GetObjectItemCaseSensitive(runtimes, nonet))
            cfg->runtime_nonet = strdup(nonet);
        cJSON_Delete(info);
        return RUNBOX_OK;
    }
    char have[256] = "";
    cJSON *r;
    cJSON_ArrayForEach(r, runtimes) {
        size_t n = strlen(have);
        snprintf(have + n, sizeof(have) - n, "%s%s", n ? ", " : "", r->string);
    }
    cJSON_Delete(info);
    if (e->podman)
        return e->host->fail(e->h, RUNBOX_ECONFIG,
                             "runtime %s is not registered with Podman at %s "
                             "(it has: %s) — add it under [engine.runtimes] "
                             "in containers.conf, or set runtime = runc in "
                             "[docker]", cfg->runtime, e->docker_host,
                             have[0] ? have : "none");
    return e->host->fail(e->h, RUNBOX_ECONFIG,
                         "runtime %s is not registered with the engine at %s "
                         "(it has: %s) — add it to \"runtimes\" in "
                         "/etc/docker/daemon.json and send dockerd SIGHUP "
                         "(scripts/setup.d/21-docker-runtimes.sh does it for "
                         "runsc), or set runtime = runc in [docker]",
                         cfg->runtime, e->docker_host, have[0] ? have : "none");
}

static void docker_close(void *state)
{
    docker_state *st = state;
    if (!st)
        return;
    docker_engine_close(&st->engine);
    docker_config_clear(&st->cfg);
    free(st);
}

static int docker_open(void **state, const runbox_host *host,
                       runbox_host_ctx *h)
{
    docker_state *st = calloc(1, sizeof(*st));
    if (!st)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    st->host = host;
    st->h = h;
    docker_owner_self(&st->owner);
    int rc = docker_config_load(&st->cfg, host, h);
    if (rc != RUNBOX_OK) {
        free(st);
        return rc;
    }
    docker_endpoint ep;
    rc = docker_endpoint_resolve(&ep, host, h, &st->cfg);
    if (rc == RUNBOX_OK)
        rc = docker_engine_open(&st->engine, host, h, &ep);
    docker_endpoint_clear(&ep);
    if (rc != RUNBOX_OK) {
        docker_config_clear(&st->cfg);
        free(st);
        return rc;
    }
    docker_conn c;
    rc = docker_conn_open(&c, &st->engine);
    if (rc == RUNBOX_OK) {
        rc = docker_engine_negotiate(&c);
        if (rc == RUNBOX_OK)
            rc = docker_engine_identify(&c);
        if (rc == RUNBOX_OK)
            rc = docker_runtime_check(&c, &st->cfg);
        /* Leftovers of crashed runs go now; failing to list them must not
         * stop this run. */
        if (rc == RUNBOX_OK) {
            int n = docker_reap_leftovers(&c, &st->owner);
            if (n < 0)
                host->log(h, RUNBOX_LOG_WARN, "could not look for leftover "
                                              "runbox containers");
            else
                st->reaped_on_open = (unsigned)n;
        }
        docker_conn_close(&c);
    }
    if (rc != RUNBOX_OK) {
        docker_close(st);
        return rc;
    }
    *state = st;
    return RUNBOX_OK;
}

/* runbox gc: what open removed plus what has been left since. */
static int docker_reap_slot(void *state, unsigned *removed)
{
    docker_state *st = state;
    docker_conn c;
    int rc = docker_conn_open(&c, &st->engine);
    if (rc != RUNBOX_OK)
        return rc;
    int n = docker_reap_leftovers(&c, &st->owner);
    docker_conn_close(&c);
    if (n < 0)
        return n;
    *removed = (unsigned)n + __atomic_exchange_n(&st->reaped_on_open, 0,
                                                  __ATOMIC_RELAXED);
    return RUNBOX_OK;
}

/* A rootless engine on cgroup v1 sets no memory or pids limit (see
 * docker_container_spec), so this context must not claim it can. */
static uint64_t docker_capabilities_of(void *state)
{
    const docker_state *st = state;
    if (st->engine.rootless && st->engine.cgroup_v1)
        return ~(uint64_t)(RUNBOX_CAP_LIMIT_MEMORY | RUNBOX_CAP_LIMIT_PROCESSES);
    return UINT64_MAX;
}

static const runbox_backend docker_backend = {
    .abi_version = RUNBOX_BACKEND_ABI,
    .struct_size = sizeof(runbox_backend),
    .name = "docker",
    .description = "a fresh container per run on a Docker engine "
                   "(unix socket or DOCKER_HOST)",
    .capabilities = RUNBOX_CAP_SESSIONS | RUNBOX_CAP_FILES |
                    RUNBOX_CAP_STREAMING | RUNBOX_CAP_NETWORK_CONTROL |
                    RUNBOX_CAP_INSTALL | RUNBOX_CAP_ENVIRONMENT |
                    RUNBOX_CAP_INTERPRETER | RUNBOX_CAP_RICH_RESULTS |
                    RUNBOX_CAP_LIMIT_CPU | RUNBOX_CAP_LIMIT_MEMORY |
                    RUNBOX_CAP_LIMIT_PROCESSES | RUNBOX_CAP_LIMIT_FILE_SIZE |
                    RUNBOX_CAP_LIMIT_OPEN_FILES,
    .languages = docker_languages,
    .config_keys = docker_config_keys,
    .settings = docker_settings,
    .secret_keys = docker_secret_keys,
    .probe = docker_probe,
    .open = docker_open,
    .close = docker_close,
    .sandbox_create = docker_sandbox_create,
    .sandbox_destroy = docker_sandbox_destroy,
    .exec = docker_sandbox_exec,
    .install = docker_sandbox_install,
    .environment = docker_sandbox_environment,
    .file_write = docker_file_write,
    .file_read = docker_file_read,
    .sandbox_check = docker_sandbox_check,
    .reap = docker_reap_slot,
    .capabilities_of = docker_capabilities_of,
};

RUNBOX_BACKEND_EXPORT int runbox_backend_init(const runbox_host *host,
                                              const runbox_backend **backend,
                                              char *why, size_t why_size)
{
    int rc = runbox_host_check(host, "docker", why, why_size);
    if (rc != RUNBOX_OK)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(why, why_size, "libcurl failed to initialise");
        return RUNBOX_EBACKEND;
    }
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (!(v->features & CURL_VERSION_UNIX_SOCKETS)) {
        snprintf(why, why_size, "libcurl %s lacks unix socket support",
                 v->version);
        return RUNBOX_EBACKEND;
    }
    *backend = &docker_backend;
    return RUNBOX_OK;
}
