/*
 * e2b_reap.c — sandboxes left running by runbox processes that were killed
 * (SIGKILL, a crash) before they could kill them.
 *
 * Every sandbox runbox creates carries the metadata runbox=1 and
 * runbox_owner=<host->owner_self>. GET /v2/sandboxes filtered on
 * runbox=1 lists the account's running ones; those whose owner the host
 * says has ended (same machine boot and pid namespace, process gone) are
 * killed. Sandboxes of runbox processes that still run, of other machines
 * sharing the account, and anything else on the account are left alone.
 * The sandbox's lifetime remains the safety net for those.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "e2b_internal.h"

/* One page is plenty: leftovers are few, and the next reap sees the
 * rest. */
#define E2B_REAP_PATH \
    "/v2/sandboxes?metadata=runbox%3D1&state=running&limit=100"
#define E2B_REAP_TIMEOUT 5.0

int e2b_reap(e2b_state *st, int quiet, unsigned *removed)
{
    const runbox_host *host = st->host;
    *removed = 0;
    if (!RUNBOX_HOST_HAS(host, owner_gone))
        return quiet ? RUNBOX_EUNSUPPORTED
                     : host->fail(st->h, RUNBOX_EUNSUPPORTED,
                                  "this runbox cannot tell whose sandboxes "
                                  "are left over; upgrade it");
    e2b_sandbox *sb = e2b_sandbox_alloc(st);
    if (!sb)
        return quiet ? RUNBOX_ENOMEM
                     : host->fail(st->h, RUNBOX_ENOMEM,
                                  "out of memory listing E2B sandboxes");
    e2b_request req = {
        .service = E2B_SVC_API,
        .method = "GET",
        .path = E2B_REAP_PATH,
        .what = "listing runbox's sandboxes",
        .idempotent = 1,
        .quiet = quiet,
        .timeout = st->request_timeout < E2B_REAP_TIMEOUT
                       ? st->request_timeout
                       : E2B_REAP_TIMEOUT,
    };
    e2b_response resp = {0};
    int rc = e2b_http(sb, &req, &resp);
    if (rc == RUNBOX_OK && resp.status / 100 != 2)
        rc = quiet ? RUNBOX_EBACKEND : e2b_http_fail_status(sb, &req, &resp);
    cJSON *list = rc == RUNBOX_OK ? cJSON_ParseWithLength(resp.body.data,
                                                          resp.body.len)
                                  : NULL;
    if (rc == RUNBOX_OK && !cJSON_IsArray(list))
        rc = quiet ? RUNBOX_EPROTO
                   : host->fail(st->h, RUNBOX_EPROTO,
                                "the E2B API listed sandboxes without a JSON "
                                "array; is %s an E2B API?",
                                st->api_url);
    if (rc != RUNBOX_OK)
        host->log(st->h, RUNBOX_LOG_DEBUG,
                  "e2b: could not list sandboxes left by killed runs "
                  "(status %d, HTTP %ld)",
                  rc, resp.status);
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "sandboxID");
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(item, "metadata");
        const cJSON *mark = cJSON_GetObjectItemCaseSensitive(meta, "runbox");
        const cJSON *owner =
            cJSON_GetObjectItemCaseSensitive(meta, "runbox_owner");
        /* The filter is the server's; the check is ours. */
        if (!cJSON_IsString(id) || !e2b_is_name(id->valuestring, "-_", 128) ||
            !cJSON_IsString(mark) || strcmp(mark->valuestring, "1") != 0 ||
            !cJSON_IsString(owner) || !host->owner_gone(owner->valuestring))
            continue;
        sb->id = id->valuestring; /* borrowed for the kill only */
        if (e2b_api_kill(sb) == RUNBOX_OK) {
            (*removed)++;
            host->log(st->h, RUNBOX_LOG_INFO,
                      "e2b: killed sandbox %s left by runbox process %s, "
                      "which ended without killing it",
                      id->valuestring, owner->valuestring);
        }
        sb->id = NULL;
    }
    cJSON_Delete(list);
    e2b_response_free(&resp);
    e2b_sandbox_free(sb);
    return rc;
}
