/*
 * docker_endpoint.c — where the engine is, read the way the docker CLI
 * reads it, so that a user's existing setup works unchanged:
 *   1. host in [docker] (or DOCKER_HOST): unix:// or tcp://; with
 *      tls_verify (DOCKER_TLS_VERIFY) a tcp:// engine is spoken to over TLS
 *      with ca.pem, cert.pem and key.pem from cert_path (DOCKER_CERT_PATH,
 *      else ~/.docker);
 *   2. else the CLI context named by context (DOCKER_CONTEXT), else the
 *      config's currentContext ($DOCKER_CONFIG or ~/.docker/config.json):
 *      contexts/meta/<sha256(name)>/meta.json gives Endpoints.docker.Host
 *      and SkipTLSVerify, contexts/tls/<sha256(name)>/docker/ the files;
 *   3. else the default socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "docker_internal.h"

/* The docker CLI's configuration directory. */
static char *docker_config_dir(void)
{
    const char *d = getenv("DOCKER_CONFIG");
    char *out = NULL;
    if (d && *d)
        return strdup(d);
    const char *home = getenv("HOME");
    if (home && *home && asprintf(&out, "%s/.docker", home) < 0)
        out = NULL;
    return out;
}

static char *docker_read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* dir/name when that file exists, else NULL. */
static char *docker_existing(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    if (access(p, R_OK) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* ca/cert/key from dir: verify needs ca.pem; a client certificate is used
 * when both of its files are there. */
static int docker_tls_files(docker_endpoint *ep, const runbox_host *host,
                            runbox_host_ctx *h, const char *dir,
                            const char *what)
{
    ep->ca = docker_existing(dir, "ca.pem");
    ep->cert = docker_existing(dir, "cert.pem");
    ep->key = docker_existing(dir, "key.pem");
    if (ep->verify && !ep->ca)
        return host->fail(h, RUNBOX_ECONFIG,
                          "%s asks for TLS verification but %s/ca.pem cannot "
                          "be read — set DOCKER_CERT_PATH (cert_path in "
                          "[docker]) to the folder with ca.pem, cert.pem and "
                          "key.pem", what, dir);
    if (!ep->cert != !ep->key)
        return host->fail(h, RUNBOX_ECONFIG,
                          "%s: %s has only one of cert.pem and key.pem", what,
                          dir);
    return RUNBOX_OK;
}

static int docker_from_context(docker_endpoint *ep, const runbox_host *host,
                               runbox_host_ctx *h, const char *name,
                               const char *dir)
{
    if (sodium_init() < 0)
        return host->fail(h, RUNBOX_EBACKEND, "libsodium failed to initialise");
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(digest, (const unsigned char *)name, strlen(name));
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    char *meta_path = NULL, *tls_dir = NULL;
    if (asprintf(&meta_path, "%s/contexts/meta/%s/meta.json", dir, hex) < 0)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    char *text = docker_read_file(meta_path, 1 << 20);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *ept = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "Endpoints"), "docker");
    cJSON *where = cJSON_GetObjectItemCaseSensitive(ept, "Host");
    int rc = RUNBOX_OK;
    if (!cJSON_IsString(where)) {
        rc = host->fail(h, RUNBOX_ECONFIG,
                        "docker context '%s' has no endpoint: %s is missing "
                        "or has no Endpoints.docker.Host — `docker context "
                        "ls` shows the contexts; set DOCKER_CONTEXT or "
                        "host in [docker]", name, meta_path);
        goto out;
    }
    ep->host = strdup(where->valuestring);
    ep->verify = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ept, "SkipTLSVerify"));
    if (asprintf(&ep->source, "docker context '%s'", name) < 0)
        ep->source = NULL;
    if (asprintf(&tls_dir, "%s/contexts/tls/%s/docker", dir, hex) < 0)
        tls_dir = NULL;
    if (!ep->host || !ep->source || !tls_dir) {
        rc = host->fail(h, RUNBOX_ENOMEM, "out of memory");
        goto out;
    }
    /* A context stores TLS material only when the endpoint uses TLS. */
    if (access(tls_dir, F_OK) == 0) {
        ep->tls = 1;
        rc = docker_tls_files(ep, host, h, tls_dir, ep->source);
    } else {
        ep->verify = 0;
    }
out:
    cJSON_Delete(doc);
    free(meta_path);
    free(tls_dir);
    return rc;
}

int docker_endpoint_resolve(docker_endpoint *ep, const runbox_host *host,
                            runbox_host_ctx *h, const docker_config *cfg)
{
    memset(ep, 0, sizeof(*ep));
    char *dir = docker_config_dir();
    int rc = RUNBOX_OK;
    if (cfg->host) {
        ep->host = strdup(cfg->host);
        ep->source = strdup("host");
        if (!ep->host || !ep->source) {
            rc = host->fail(h, RUNBOX_ENOMEM, "out of memory");
        } else if (cfg->tls_verify && strncmp(cfg->host, "tcp://", 6) == 0) {
            ep->tls = ep->verify = 1;
            const char *certs = cfg->cert_path ? cfg->cert_path : dir;
            rc = certs ? docker_tls_files(ep, host, h, certs, "DOCKER_TLS_VERIFY")
                       : host->fail(h, RUNBOX_ECONFIG,
                                    "DOCKER_TLS_VERIFY is set but neither "
                                    "DOCKER_CERT_PATH nor HOME is");
        }
        free(dir);
        return rc;
    }
    char *name = cfg->context ? strdup(cfg->context) : NULL;
    if (!name && dir) {
        /* The CLI's current context, when the user picked one. */
        char *path = NULL;
        if (asprintf(&path, "%s/config.json", dir) >= 0) {
            char *text = docker_read_file(path, 1 << 20);
            cJSON *doc = text ? cJSON_Parse(text) : NULL;
            cJSON *cur = cJSON_GetObjectItemCaseSensitive(doc, "currentContext");
            if (cJSON_IsString(cur) && *cur->valuestring)
                name = strdup(cur->valuestring);
            cJSON_Delete(doc);
            free(text);
            free(path);
        }
    }
    if (name && strcmp(name, "default") != 0) {
        if (!dir)
            rc = host->fail(h, RUNBOX_ECONFIG,
                            "docker context '%s' is asked for but neither "
                            "DOCKER_CONFIG nor HOME is set", name);
        else
            rc = docker_from_context(ep, host, h, name, dir);
    } else {
        ep->host = strdup(DOCKER_DEFAULT_HOST);
        ep->source = strdup("default");
        if (!ep->host || !ep->source)
            rc = host->fail(h, RUNBOX_ENOMEM, "out of memory");
    }
    free(name);
    free(dir);
    return rc;
}

void docker_endpoint_clear(docker_endpoint *ep)
{
    free(ep->host);
    free(ep->source);
    free(ep->ca);
    free(ep->cert);
    free(ep->key);
    memset(ep, 0, sizeof(*ep));
}
