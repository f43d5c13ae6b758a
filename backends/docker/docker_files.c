/*
 * docker_files.c — file_write / file_read through the engine's archive
 * endpoints (PUT and GET /containers/{id}/archive), so that files move
 * without running anything inside the sandbox.
 *
 * The endpoints see the container's root and its volumes but not a tmpfs,
 * which is why a keeper container has its work directory on a volume.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_sandbox.h"

#define DOCKER_ARCHIVE_TIMEOUT_S 300

/* Also makes sure the keeper container exists, which every file operation
 * needs. rel: the path relative to the work directory, for writing. abs: the
 * absolute path, for reading. A ".." component is refused: the archive
 * endpoint resolves paths in the container, but a path that climbs out of
 * the work directory is not what a caller of "write x.csv" means. */
static int docker_resolve(docker_sandbox *sb, const char *path, char **abs,
                          const char **rel)
{
    const runbox_host *host = sb->st->host;
    if (!path || !*path)
        return host->fail(sb->st->h, RUNBOX_EINVAL, "empty file path");
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return host->fail(sb->st->h, RUNBOX_EINVAL,
                              "file path %s: '..' is not allowed", path);
        if (!slash)
            break;
        p = slash + 1;
    }
    *rel = NULL;
    if (path[0] != '/') {
        *rel = path;
        if (asprintf(abs, DOCKER_WORKDIR "/%s", path) < 0)
            *abs = NULL;
    } else {
        if (strncmp(path, DOCKER_WORKDIR "/", sizeof(DOCKER_WORKDIR)) == 0 &&
            path[sizeof(DOCKER_WORKDIR)])
            *rel = path + sizeof(DOCKER_WORKDIR);
        *abs = strdup(path);
    }
    if (!*abs)
        return host->fail(sb->st->h, RUNBOX_ENOMEM, "out of memory");
    int rc = docker_sandbox_keeper(sb);
    if (rc != RUNBOX_OK) {
        free(*abs);
        *abs = NULL;
    }
    return rc;
}

int docker_file_write(void *sandbox, const char *path, const void *data,
                      size_t len)
{
    docker_sandbox *sb = sandbox;
    docker_state *st = sb->st;
    char *abs = NULL;
    const char *rel;
    int rc = docker_resolve(sb, path, &abs, &rel);
    if (rc != RUNBOX_OK)
        return rc;
    free(abs);
    if (!rel || rel[strlen(rel) - 1] == '/')
        return st->host->fail(st->h, RUNBOX_EDENIED,
                              "cannot write %s: files are written under the "
                              "work directory " DOCKER_WORKDIR " (give a "
                              "relative path)", path);

    unsigned uid = 1000, gid = 1000;
    if (sscanf(st->cfg.user, "%u:%u", &uid, &gid) == 1)
        gid = uid;
    char *tar = NULL;
    size_t tar_len = 0;
    rc = docker_archive_pack(&tar, &tar_len, rel, data, len, (int)uid, (int)gid);
    if (rc != RUNBOX_OK)
        return st->host->fail(st->h, rc, "cannot pack %s into a tar archive", path);
    char url[256];
    snprintf(url, sizeof(url), "/containers/%s/archive?path=" DOCKER_WORKDIR,
             sb->keeper_id);
    docker_response r;
    rc = docker_request(&sb->conn, "PUT", url, "application/x-tar", tar,
                        tar_len, DOCKER_ARCHIVE_TIMEOUT_S, &r);
    free(tar);
    if (rc == RUNBOX_OK && r.status != 200) {
        char what[300];
        snprintf(what, sizeof(what), "writing %s", path);
        rc = docker_api_error(&st->engine, &r, what);
        if (r.status == 403)
            rc = st->host->fail(st->h, RUNBOX_EDENIED,
                                "cannot write %s: that place in the sandbox is "
                                "read-only", path);
    }
    docker_response_clear(&r);
    return rc;
}

int docker_file_read(void *sandbox, const char *path, void **data, size_t *len)
{
    docker_sandbox *sb = sandbox;
    docker_state *st = sb->st;
    char *abs = NULL;
    const char *rel;
    int rc = docker_resolve(sb, path, &abs, &rel);
    if (rc != RUNBOX_OK)
        return rc;
    char *escaped = curl_easy_escape(sb->conn.curl, abs, 0);
    free(abs);
    char *url = NULL;
    if (!escaped || asprintf(&url, "/containers/%s/archive?path=%s",
                             sb->keeper_id, escaped) < 0) {
        curl_free(escaped);
        return st->host->fail(st->h, RUNBOX_ENOMEM, "out of memory");
    }
    curl_free(escaped);
    docker_response r;
    rc = docker_request(&sb->conn, "GET", url, NULL, NULL, 0,
                        DOCKER_ARCHIVE_TIMEOUT_S, &r);
    free(url);
    if (rc != RUNBOX_OK)
        return rc;
    if (r.status == 404) {
        rc = st->host->fail(st->h, RUNBOX_ENOTFOUND,
                            "no such file in the sandbox: %s", path);
    } else if (r.status != 200) {
        char what[300];
        snprintf(what, sizeof(what), "reading %s", path);
        rc = docker_api_error(&st->engine, &r, what);
    } else {
        rc = docker_archive_unpack(st->host, r.body, r.len, data, len);
        if (rc == RUNBOX_EINVAL)
            rc = st->host->fail(st->h, RUNBOX_EINVAL,
                                "%s is not a regular file", path);
        else if (rc != RUNBOX_OK)
            rc = st->host->fail(st->h, rc, "Docker sent a malformed archive "
                                           "for %s", path);
    }
    docker_response_clear(&r);
    return rc;
}
