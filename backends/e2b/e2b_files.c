/*
 * e2b_files.c — files in the sandbox through envd's /files endpoint.
 *
 * Uploads use multipart/form-data (one part named "file" whose filename is
 * the destination), which every envd version accepts; the raw octet-stream
 * form needs envd 0.5.7 or later. A relative path is resolved by envd
 * against the sandbox user's home directory, the work directory of code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2b_internal.h"

/* "/files?path=<escaped>", malloc'ed; envd before 0.4.0 also needs the
 * user named, as the SDK does. */
static char *e2b_files_path(const e2b_sandbox *sb, const char *path)
{
    char *esc = e2b_url_escape(path);
    if (!esc)
        return NULL;
    size_t n = strlen(esc) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "/files?path=%s%s", esc,
                 sb->envd_legacy_user ? "&username=user" : "");
    curl_free(esc);
    return p;
}

static int e2b_files_call(e2b_sandbox *sb, e2b_request *req,
                          const char *path, e2b_response *resp)
{
    const runbox_host *host = sb->st->host;
    int rc0 = e2b_api_keep_alive(sb, sb->st->request_timeout);
    if (rc0 != RUNBOX_OK)
        return rc0;
    char *url_path = e2b_files_path(sb, path);
    if (!url_path)
        return host->fail(sb->st->h, RUNBOX_ENOMEM,
                          "out of memory while %s", req->what);
    req->service = E2B_SVC_ENVD;
    req->path = url_path;
    int rc = e2b_http(sb, req, resp);
    if (rc == RUNBOX_OK && resp->status == 404)
        rc = host->fail(sb->st->h, RUNBOX_ENOTFOUND,
                        "no file %s in the E2B sandbox %s", path, sb->id);
    else if (rc == RUNBOX_OK && resp->status / 100 != 2)
        rc = e2b_http_fail_status(sb, req, resp);
    free(url_path);
    return rc;
}

int e2b_file_write(void *sandbox, const char *path, const void *data,
                   size_t len)
{
    e2b_sandbox *sb = sandbox;
    curl_mime *mime = curl_mime_init(sb->curl);
    curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
    if (!part || curl_mime_name(part, "file") != CURLE_OK ||
        curl_mime_filename(part, path) != CURLE_OK ||
        curl_mime_type(part, "application/octet-stream") != CURLE_OK ||
        curl_mime_data(part, len ? data : "", len) != CURLE_OK) {
        curl_mime_free(mime);
        return sb->st->host->fail(sb->st->h, RUNBOX_ENOMEM,
                                  "out of memory while writing %s", path);
    }
    e2b_request req = {
        .method = "POST",
        .what = "writing a file",
        .mime = mime,
    };
    e2b_response resp = {0};
    int rc = e2b_files_call(sb, &req, path, &resp);
    curl_mime_free(mime);
    e2b_response_free(&resp);
    return rc;
}

int e2b_file_read(void *sandbox, const char *path, void **data, size_t *len)
{
    e2b_sandbox *sb = sandbox;
    e2b_request req = {
        .method = "GET",
        .what = "reading a file",
        .idempotent = 1,
    };
    e2b_response resp = {0};
    int rc = e2b_files_call(sb, &req, path, &resp);
    if (rc == RUNBOX_OK) {
        /* The core frees with host->free: copy out of our buffer. */
        *data = sb->st->host->alloc(resp.body.len + 1);
        if (!*data) {
            rc = sb->st->host->fail(sb->st->h, RUNBOX_ENOMEM,
                                    "out of memory while reading %s", path);
        } else {
            if (resp.body.len)
                memcpy(*data, resp.body.data, resp.body.len);
            ((char *)*data)[resp.body.len] = '\0';
            *len = resp.body.len;
        }
    }
    e2b_response_free(&resp);
    return rc;
}
