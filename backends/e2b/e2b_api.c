/*
 * e2b_api.c — the control plane: create and kill sandboxes.
 *
 * Create is POST /v2/sandboxes and is retried only when E2B said 503 (not
 * processed) or 429 with Retry-After: a dropped connection may have created
 * a sandbox already, and creating a second one would leak the first until
 * its timeout. Kill is DELETE /sandboxes/{id}, safe to repeat, and a 404
 * means the sandbox is already gone, which is what we wanted.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "e2b_internal.h"

#define E2B_DEFAULT_LIFETIME 300 /* what E2B gives a sandbox created
                                     without a timeout */
#define E2B_UNLIMITED_RUN_LIFETIME 3600 /* the Hobby plan's maximum */
#define E2B_MAX_LIFETIME 86400          /* the Pro plan's maximum */
#define E2B_KILL_TIMEOUT 5.0
#define E2B_RUN_MARGIN 30 /* a session's lifetime past its run's deadline */
#define E2B_IDLE_SLACK 60 /* how much longer than e2b.sandbox_timeout an
                             idle session may be left to live */

static int e2b_idle_lifetime(const e2b_state *st)
{
    return st->sandbox_timeout > 0 ? st->sandbox_timeout
                                   : E2B_DEFAULT_LIFETIME;
}

/* Sandbox lifetime in seconds for the create request, 0 = let E2B choose
 * (300 s). A one-shot sandbox lives a minute longer than its run may take,
 * so that E2B never ends it mid-run and a crashed runbox leaks it only
 * briefly; without a run limit it gets an hour, the longest every E2B plan
 * allows. A pooled one lives as long as the pool asks (its wait, then its
 * run). A session lives e2b.sandbox_timeout after its last use and,
 * while it runs something, at most E2B_RUN_MARGIN past that run's deadline
 * (e2b_api_run_lifetime). opts is the sandbox's own full-size copy. */
static int e2b_lifetime(const e2b_state *st, const runbox_sandbox_opts *opts,
                        double run_seconds)
{
    if (opts->lifetime > 0)
        return opts->lifetime > E2B_MAX_LIFETIME ? E2B_MAX_LIFETIME
                                                 : (int)ceil(opts->lifetime);
    if (!opts->oneshot)
        return st->sandbox_timeout;
    if (run_seconds <= 0)
        return E2B_UNLIMITED_RUN_LIFETIME;
    double t = ceil(run_seconds) + 60;
    return t > E2B_MAX_LIFETIME ? E2B_MAX_LIFETIME : (int)t;
}

static char *e2b_create_body(const e2b_state *st,
                             const runbox_sandbox_opts *opts, int lifetime)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "templateID", st->template_id);
    if (lifetime > 0)
        cJSON_AddNumberToObject(root, "timeout", lifetime);
    cJSON_AddBoolToObject(root, "allow_internet_access",
                          opts->limits.network != 0);
    /* The host variables the user passes (pass_env) become the sandbox's
     * default environment; nothing else of the host's goes there. */
    const char *const *env = NULL;
    if (opts->struct_size >= offsetof(runbox_sandbox_opts, env) + sizeof opts->env)
        env = opts->env;
    if (env && env[0]) {
        cJSON *vars = cJSON_AddObjectToObject(root, "envVars");
        for (size_t i = 0; env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            if (!eq)
                continue;
            char *name = strndup(env[i], (size_t)(eq - env[i]));
            if (name)
                cJSON_AddStringToObject(vars, name, eq + 1);
            free(name);
        }
    }
    /* Marks runbox's sandboxes in the E2B dashboard and in list calls,
     * and names the process that made it, for e2b_reap. */
    char owner[128];
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    cJSON_AddStringToObject(meta, "runbox", "1");
    if (RUNBOX_HOST_HAS(st->host, owner_self)) {
        st->host->owner_self(owner, sizeof(owner));
        cJSON_AddStringToObject(meta, "runbox_owner", owner);
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return body;
}

static char *e2b_json_strdup(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring[0] ? strdup(v->valuestring)
                                                  : NULL;
}

int e2b_api_create(e2b_sandbox *sb, double run_seconds, double deadline,
                   runbox_exec_io *io, e2b_abort *aborted)
{
    const runbox_host *host = sb->st->host;
    const runbox_sandbox_opts *opts = &sb->opts;
    *aborted = E2B_ABORT_NONE;
    if (sb->id)
        return RUNBOX_OK;
    int lifetime = e2b_lifetime(sb->st, opts, run_seconds);
    char *body = e2b_create_body(sb->st, opts, lifetime);
    if (!body)
        return host->fail(sb->st->h, RUNBOX_ENOMEM,
                          "out of memory while creating an E2B sandbox");
    e2b_request req = {
        .service = E2B_SVC_API,
        .method = "POST",
        .path = "/v2/sandboxes",
        .what = "creating the sandbox",
        .body = body,
        .body_len = strlen(body),
        .content_type = "application/json",
        .retry_503 = 1,
        .deadline = deadline,
        .io = io,
    };
    e2b_response resp = {0};
    int rc = e2b_http(sb, &req, &resp);
    free(body);
    if (rc == RUNBOX_OK && resp.aborted) {
        *aborted = resp.aborted;
        host->log(sb->st->h, RUNBOX_LOG_WARN,
                  "e2b: stopped waiting for the sandbox creation (%s); if "
                  "E2B created one anyway it expires %d s after creation",
                  resp.aborted == E2B_ABORT_DEADLINE ? "the run's deadline "
                                                       "passed"
                                                     : "cancelled",
                  lifetime > 0 ? lifetime : E2B_DEFAULT_LIFETIME);
        e2b_response_free(&resp);
        return RUNBOX_OK;
    }
    if (rc == RUNBOX_OK && resp.status == 400 && lifetime > 3600)
        rc = host->fail(sb->st->h, RUNBOX_EBACKEND,
                        "E2B refused to create a sandbox living %d s (the "
                        "run's timeout plus a minute); the plan's longest "
                        "sandbox lifetime is shorter (an hour on Hobby): "
                        "lower the timeout",
                        lifetime);
    else if (rc == RUNBOX_OK && resp.status / 100 != 2)
        rc = e2b_http_fail_status(sb, &req, &resp);
    if (rc != RUNBOX_OK) {
        e2b_response_free(&resp);
        return rc;
    }

    cJSON *j = cJSON_ParseWithLength(resp.body.data, resp.body.len);
    sb->id = e2b_json_strdup(j, "sandboxID");
    sb->access_token = e2b_json_strdup(j, "envdAccessToken");
    sb->traffic_token = e2b_json_strdup(j, "trafficAccessToken");
    sb->domain = e2b_json_strdup(j, "domain");
    sb->envd_version = e2b_json_strdup(j, "envdVersion");
    if (!sb->domain)
        sb->domain = strdup(sb->st->domain);
    cJSON_Delete(j);
    e2b_response_free(&resp);
    sb->created_at = host->now();
    sb->envd_legacy_user = e2b_envd_before(sb->envd_version, 0, 4, 0);
    /* These go into host names, paths and headers: refuse anything that
     * could change their meaning. */
    if (!sb->id || !e2b_is_name(sb->id, "-_", 128) ||
        (sb->access_token && !e2b_is_name(sb->access_token, "-_.=+/", 512)) ||
        (sb->traffic_token &&
         !e2b_is_name(sb->traffic_token, "-_.=+/", 512)) ||
        (sb->domain && !e2b_is_name(sb->domain, ".-", 253))) {
        e2b_api_kill(sb);
        return host->fail(sb->st->h, RUNBOX_EPROTO,
                          "the E2B API answered the sandbox creation "
                          "without a usable sandboxID, token or domain; is "
                          "%s an E2B API?",
                          sb->st->api_url);
    }
    if (!sb->domain)
        return host->fail(sb->st->h, RUNBOX_ENOMEM,
                          "out of memory while creating an E2B sandbox");
    sb->lifetime = lifetime;
    sb->session = !opts->oneshot;
    sb->expires_at = sb->created_at +
                     (lifetime > 0 ? lifetime : E2B_DEFAULT_LIFETIME);
    host->log(sb->st->h, RUNBOX_LOG_DEBUG,
              "e2b: created sandbox %s (%s, lifetime %d s)", sb->id,
              sb->st->template_id,
              lifetime > 0 ? lifetime : E2B_DEFAULT_LIFETIME);
    return RUNBOX_OK;
}

void e2b_api_describe(e2b_sandbox *sb, cJSON *obj)
{
    char *esc = e2b_url_escape(sb->id);
    char path[256];
    snprintf(path, sizeof(path), "/sandboxes/%s", esc ? esc : sb->id);
    curl_free(esc);
    e2b_request req = {
        .service = E2B_SVC_API,
        .method = "GET",
        .path = path,
        .what = "describing the sandbox",
        .idempotent = 1,
        .quiet = 1,
    };
    e2b_response resp = {0};
    if (e2b_http(sb, &req, &resp) == RUNBOX_OK && resp.status == 200) {
        cJSON *d = cJSON_ParseWithLength(resp.body.data, resp.body.len);
        const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(d, "cpuCount");
        const cJSON *mem = cJSON_GetObjectItemCaseSensitive(d, "memoryMB");
        if (cJSON_IsNumber(cpu) && cpu->valuedouble > 0)
            cJSON_AddNumberToObject(obj, "cpu_count", cpu->valuedouble);
        if (cJSON_IsNumber(mem) && mem->valuedouble > 0)
            cJSON_AddNumberToObject(obj, "memory_mb", mem->valuedouble);
        cJSON_Delete(d);
    }
    e2b_response_free(&resp);
}

int e2b_envd_before(const char *version, int major, int minor, int patch)
{
    int v[3] = {0, 0, 0};
    /* "0.3.0", maybe with a pre-release or build suffix; an unknown or
     * missing version is taken as current. */
    if (!version || sscanf(version, "%d.%d.%d", &v[0], &v[1], &v[2]) < 2)
        return 0;
    if (v[0] != major)
        return v[0] < major;
    if (v[1] != minor)
        return v[1] < minor;
    return v[2] < patch;
}

int e2b_sandbox_ready(e2b_sandbox *sb, const runbox_exec_request *req,
                      runbox_exec_outcome *out, int *stop)
{
    e2b_abort why = E2B_ABORT_NONE;
    double run = req->limits.wall_seconds;
    *stop = 0;
    int rc = e2b_api_create(sb, run, req->deadline, req->io, &why);
    if (rc != RUNBOX_OK || why == E2B_ABORT_NONE)
        return rc;
    *stop = 1;
    e2b_outcome_aborted(why, req, out);
    int lifetime = e2b_lifetime(sb->st, &sb->opts, run);
    snprintf(out->message, sizeof(out->message),
             "%s while the E2B sandbox was being created, before the code "
             "ran; if E2B created it anyway it expires %d s after creation",
             why == E2B_ABORT_CANCELED ? "cancelled" : "timed out",
             lifetime > 0 ? lifetime : E2B_DEFAULT_LIFETIME);
    return RUNBOX_OK;
}

/* POST /sandboxes/{id}/timeout: E2B ends the sandbox secs from when it
 * receives this, sooner or later than before. RUNBOX_OK with
 * resp->status set when E2B answered; sb->expires_at follows a 2xx.
 * after_run: nothing recorded with host->fail, and bounded as a kill is,
 * since the run's caller waits for it (and on SIGTERM the kill after it). */
static int e2b_api_set_timeout(e2b_sandbox *sb, int secs, const char *what,
                               int after_run, e2b_response *resp)
{
    double bound = sb->st->request_timeout < E2B_KILL_TIMEOUT
                       ? sb->st->request_timeout
                       : E2B_KILL_TIMEOUT;
    double now = sb->st->host->now();
    char *esc = e2b_url_escape(sb->id);
    char path[256], body[64];
    snprintf(path, sizeof(path), "/sandboxes/%s/timeout", esc ? esc : sb->id);
    curl_free(esc);
    snprintf(body, sizeof(body), "{\"timeout\":%d}", secs);
    e2b_request req = {
        .service = E2B_SVC_API,
        .method = "POST",
        .path = path,
        .what = what,
        .body = body,
        .body_len = strlen(body),
        .content_type = "application/json",
        .idempotent = 1,
        .quiet = after_run,
        .timeout = after_run ? bound : 0,
    };
    int rc = e2b_http(sb, &req, resp);
    if (rc == RUNBOX_OK && resp->status / 100 == 2) {
        sb->expires_at = now + secs;
        sb->restore_failed[0] = '\0';
    } else if (rc == RUNBOX_OK && !after_run && resp->status == 404) {
        rc = e2b_api_gone(sb);
    } else if (rc == RUNBOX_OK && !after_run && resp->status == 400 &&
               secs > E2B_UNLIMITED_RUN_LIFETIME) {
        rc = sb->st->host->fail(sb->st->h, RUNBOX_EBACKEND,
                                "E2B refused to let sandbox %s live %d s "
                                "more; the plan's longest sandbox lifetime "
                                "is shorter (an hour on Hobby): lower the "
                                "timeout",
                                sb->id, secs);
    } else if (rc == RUNBOX_OK && !after_run && resp->status / 100 != 2) {
        rc = e2b_http_fail_status(sb, &req, resp);
    }
    return rc;
}

int e2b_api_gone(e2b_sandbox *sb)
{
    if (sb->restore_failed[0])
        return sb->st->host->fail(
            sb->st->h, RUNBOX_EGONE,
            "the E2B sandbox %s is gone: after the previous run runbox "
            "could not give it back its idle lifetime (%s), so E2B ended it "
            "at the shorter lifetime it had during that run; open a new "
            "session",
            sb->id, sb->restore_failed);
    return sb->st->host->fail(sb->st->h, RUNBOX_EGONE,
                              "the E2B sandbox %s is gone (it timed out or "
                              "was killed); %s",
                              sb->id, sb->session ? "open a new session"
                                                  : "run it again");
}

int e2b_api_keep_alive(e2b_sandbox *sb, double run_seconds)
{
    double now = sb->st->host->now();
    /* A margin for the requests around the call itself. */
    if (!sb->session || now + run_seconds + 30 < sb->expires_at)
        return RUNBOX_OK;
    double want = ceil(run_seconds) + 30 + e2b_idle_lifetime(sb->st);
    e2b_response resp = {0};
    int rc = e2b_api_set_timeout(sb, want > E2B_MAX_LIFETIME
                                         ? E2B_MAX_LIFETIME
                                         : (int)want,
                                 "extending the sandbox's lifetime", 0,
                                 &resp);
    e2b_response_free(&resp);
    return rc;
}

int e2b_api_run_lifetime(e2b_sandbox *sb, double deadline)
{
    /* A one-shot made by its run already lives just that run; a pooled
     * one was made to wait for it too, for as long as the pool allows. */
    if (!sb->id || (!sb->session && sb->opts.lifetime <= 0))
        return RUNBOX_OK;
    double now = sb->st->host->now();
    /* Without a deadline, the longest lifetime every plan allows, as for
     * a one-shot run without a timeout. */
    double want = deadline > 0 ? ceil(deadline - now) + E2B_RUN_MARGIN
                               : E2B_UNLIMITED_RUN_LIFETIME;
    int secs = want < 1 ? 1 : want > E2B_MAX_LIFETIME ? E2B_MAX_LIFETIME
                                                      : (int)want;
    /* No request when the lifetime already ends about then: 10 s less
     * still covers the requests around the run, 20 s more still ends
     * within a minute of the run's end (what the documentation says), with
     * room for the request's own delay. A short sandbox_timeout often
     * lands here right after the previous run. */
    if (sb->expires_at >= now + secs - 10 && sb->expires_at <= now + secs + 20)
        return RUNBOX_OK;
    e2b_response resp = {0};
    int rc = e2b_api_set_timeout(sb, secs,
                                 "bounding the sandbox's lifetime to the run",
                                 0, &resp);
    e2b_response_free(&resp);
    return rc;
}

void e2b_api_idle_lifetime(e2b_sandbox *sb)
{
    if (!sb->session || !sb->id)
        return;
    const runbox_host *host = sb->st->host;
    int idle = e2b_idle_lifetime(sb->st);
    /* The run's own lifetime already covers the idle time, without
     * outlasting it by more than a minute (a short sandbox_timeout). */
    double left = sb->expires_at - host->now();
    if (left >= idle && left <= idle + E2B_IDLE_SLACK)
        return;
    e2b_response resp = {0};
    int rc = e2b_api_set_timeout(sb, idle, "restoring the sandbox's idle "
                                           "lifetime",
                                 1, &resp);
    /* 404: it ended during the run, which the run has said. */
    if (rc != RUNBOX_OK || (resp.status / 100 != 2 && resp.status != 404)) {
        /* The run's result stands; the sandbox ends with the run's
         * lifetime unless the next run comes first, and that run says
         * why the sandbox is gone if it does not. */
        if (resp.status)
            snprintf(sb->restore_failed, sizeof(sb->restore_failed),
                     "E2B answered HTTP %ld", resp.status);
        else
            snprintf(sb->restore_failed, sizeof(sb->restore_failed), "%s",
                     curl_easy_strerror(resp.curl_code));
        host->log(sb->st->h, RUNBOX_LOG_WARN,
                  "e2b: could not restore the idle lifetime of session "
                  "sandbox %s (%s); it ends %.0f s from now unless the "
                  "session runs something sooner",
                  sb->id, sb->restore_failed, sb->expires_at - host->now());
    }
    e2b_response_free(&resp);
}

int e2b_api_kill(e2b_sandbox *sb)
{
    if (!sb->id)
        return RUNBOX_OK;
    const runbox_host *host = sb->st->host;
    char *esc = e2b_url_escape(sb->id);
    char path[256];
    snprintf(path, sizeof(path), "/sandboxes/%s", esc ? esc : sb->id);
    curl_free(esc);
    double bound = sb->st->request_timeout < E2B_KILL_TIMEOUT
                       ? sb->st->request_timeout
                       : E2B_KILL_TIMEOUT;
    e2b_request req = {
        .service = E2B_SVC_API,
        .method = "DELETE",
        .path = path,
        .what = "killing the sandbox",
        .idempotent = 1,
        .quiet = 1,
        .timeout = bound,
    };
    e2b_response resp = {0};
    /* destroy "must not fail visibly": a failure is logged, and the
     * sandbox's own lifetime is the safety net. */
    int rc = e2b_http(sb, &req, &resp);
    sb->killed_at = host->now();
    if (rc == RUNBOX_OK && resp.status / 100 != 2 && resp.status != 404) {
        host->log(sb->st->h, RUNBOX_LOG_WARN,
                  "e2b: killing sandbox %s answered HTTP %ld; it will "
                  "expire by its lifetime",
                  sb->id, resp.status);
        rc = RUNBOX_EUNAVAILABLE;
    } else if (resp.curl_code != CURLE_OK) {
        host->log(sb->st->h, RUNBOX_LOG_WARN,
                  "e2b: could not kill sandbox %s within %g s (%s); it will "
                  "expire by its lifetime",
                  sb->id, bound, curl_easy_strerror(resp.curl_code));
        rc = RUNBOX_EUNAVAILABLE;
    }
    e2b_response_free(&resp);
    return rc;
}

int e2b_sandbox_gone_check(e2b_sandbox *sb, int rc, const char *during)
{
    if (!sb->id)
        return rc;
    const runbox_host *host = sb->st->host;
    e2b_request req = {
        .service = E2B_SVC_ENVD,
        .method = "GET",
        .path = "/health",
        .what = "asking whether the sandbox still exists",
        .quiet = 1,
        .timeout = E2B_KILL_TIMEOUT,
    };
    e2b_response resp = {0};
    int probe = e2b_http(sb, &req, &resp);
    /* The edge answers 502 for a sandbox that no longer exists. */
    int gone = probe == RUNBOX_OK && (resp.status == 502 || resp.status == 404);
    e2b_response_free(&resp);
    if (!gone)
        return rc;
    double now = host->now();
    int expired = sb->expires_at > 0 && now >= sb->expires_at - 1;
    return host->fail(sb->st->h, RUNBOX_EGONE,
                      "the E2B sandbox %s stopped while %s, %.0f s after "
                      "its creation (%s); the run did not finish and its "
                      "result is incomplete",
                      sb->id, during, now - sb->created_at,
                      expired ? "it reached its lifetime"
                              : "it was killed or reached its lifetime");
}
