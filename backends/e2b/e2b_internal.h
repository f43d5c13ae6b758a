/*
 * e2b_internal.h — shared between the files of the e2b backend only.
 *
 * The backend talks to three HTTP services (see the protocol notes in each
 * file): the control plane (api_url), and per sandbox envd (port 49983) and
 * the code interpreter (port 49999). Every function here reports failures
 * through host->fail on the context's runbox_host_ctx and returns the
 * RUNBOX_E* status it recorded.
 *
 * Threading: one e2b_state is shared read-only by every sandbox after
 * open(). An e2b_sandbox (and its curl handles) is used by one thread at a
 * time, as backend.h promises.
 */
#ifndef RUNBOX_E2B_INTERNAL_H
#define RUNBOX_E2B_INTERNAL_H

#include <curl/curl.h>
#include <stddef.h>

#include "runbox/backend.h"

#define E2B_ENVD_PORT 49983
#define E2B_INTERPRETER_PORT 49999

/* Read-only after open. Owns every string. */
typedef struct e2b_state {
    const runbox_host *host;
    runbox_host_ctx *h;
    char *api_key;     /* secret: only ever put in the X-API-KEY header */
    char *domain;
    char *api_url;     /* without trailing slash */
    char *sandbox_url; /* NULL: per-port host names under the domain */
    char *template_id;
    int sandbox_timeout; /* seconds, 0 = not configured */
    unsigned reaped_on_open; /* leftovers open removed, for the reap slot */
    double request_timeout;
} e2b_state;

typedef struct e2b_sandbox {
    e2b_state *st;
    /* What sandbox_create was asked for (env borrowed until destroy). A
     * one-shot sandbox is created by its one run (e2b_sandbox_ready), so
     * that input refused up front costs no sandbox and creation counts
     * against the run's deadline. */
    runbox_sandbox_opts opts;
    int lifetime;        /* seconds asked for at creation, 0 = E2B's 300 */
    double created_at;   /* host->now() when E2B answered, 0 = not yet */
    double killed_at;    /* host->now() when the kill was answered */
    CURL *curl;    /* reused so that keep-alive connections are reused */
    CURLM *multi;  /* drives curl so that cancellation is polled often */
    char *id;
    char *access_token;  /* envdAccessToken, may be NULL */
    char *traffic_token; /* trafficAccessToken, may be NULL */
    char *domain;        /* the sandbox's domain, or a copy of the config's */
    char *envd_version;  /* envdVersion, may be NULL */
    int envd_legacy_user; /* envd older than 0.4.0 has no default user:
                             name "user" as the SDK does (Authorization
                             on RPC, username= on /files) */
    int network_off;     /* created with allow_internet_access false */
    int session;         /* kept across runs: its lifetime follows them */
    /* The generation of the session's Python interpreter (the code
     * interpreter's default context), starting at 1. Changed when runbox
     * cut an execution short (timeout, cancel, a dropped stream: the
     * interpreter may have been restarted) or the interpreter reported
     * that it died; see e2b_execute. */
    uint64_t state_epoch;
    double expires_at;   /* host->now() by which E2B will kill it */
    /* Why restoring the idle lifetime after the last run failed ("" when
     * it did not): the sandbox may then end early, and the next call that
     * finds it gone says why. */
    char restore_failed[96];
} e2b_sandbox;

/* A growable byte buffer; data is always NUL-terminated. */
typedef struct e2b_buf {
    char *data;
    size_t len, cap;
} e2b_buf;

int e2b_buf_append(e2b_buf *b, const void *data, size_t len);
void e2b_buf_free(e2b_buf *b);

/* Which service a request goes to: decides the base URL, the headers and
 * how failures are worded. */
typedef enum e2b_service {
    E2B_SVC_API,
    E2B_SVC_ENVD,
    E2B_SVC_INTERPRETER
} e2b_service;

/* One HTTP request. Zero-initialise, then fill in. */
typedef struct e2b_request {
    e2b_service service;
    const char *method;  /* "GET", "POST", "DELETE" */
    const char *path;    /* appended to the service's base URL */
    const char *what;    /* for messages: "creating the sandbox" */
    const char *body;    /* may be NULL */
    size_t body_len;
    const char *content_type;
    curl_mime *mime;     /* instead of body: multipart upload */
    struct curl_slist *extra_headers; /* borrowed */
    /* Safe to send again after a 5xx or a dropped connection (GET, DELETE,
     * or a create answered 503 = not processed). 429 with Retry-After is
     * retried on the control plane whatever this says. */
    int idempotent;
    int retry_503;
    /* Transport failures are returned without host->fail, for cleanup
     * paths that must not replace the message of the real failure. */
    int quiet;
    /* Streaming: body bytes go to on_data as they arrive (for 2xx only;
     * error bodies are collected in the response). Returning non-zero
     * aborts the transfer. */
    int (*on_data)(void *ud, const char *data, size_t len);
    void *ud;
    /* For executions: the deadline (host->now() value, 0 = none) and the
     * io to poll for cancellation. */
    double deadline;
    runbox_exec_io *io;
    /* Seconds this request (and its retries) may take, 0 = the configured
     * request_timeout. Streams are bounded by deadline instead. */
    double timeout;
    /* For a 2xx stream: the Content-Type it must have ("application/
     * connect+json"); anything else is refused as the SDK does. */
    const char *expect_type;
} e2b_request;

typedef enum e2b_abort {
    E2B_ABORT_NONE = 0,
    E2B_ABORT_DEADLINE,
    E2B_ABORT_CANCELED
} e2b_abort;

typedef struct e2b_response {
    long status;
    e2b_buf body;       /* non-streamed bodies and every error body */
    CURLcode curl_code; /* CURLE_OK when the transfer completed */
    e2b_abort aborted;  /* why the transfer was stopped by us */
    int stopped;        /* on_data asked to stop (e.g. malformed data) */
    int wrong_type;     /* a stream answered with another Content-Type, */
    char got_type[64];  /* this one */
    char curl_error[CURL_ERROR_SIZE];
} e2b_response;

/* Performs req with retries as the request allows. Returns RUNBOX_OK when
 * a response arrived (any status: check resp->status), or a failure
 * recorded with host->fail (unreachable, timed out, ...). A deadline or
 * cancellation is not a failure: RUNBOX_OK with resp->aborted set.
 * resp must be zeroed; release with e2b_response_free. */
int e2b_http(e2b_sandbox *sb, const e2b_request *req, e2b_response *resp);
void e2b_response_free(e2b_response *resp);
/* Turns a non-2xx response into the matching status and message. */
int e2b_http_fail_status(e2b_sandbox *sb, const e2b_request *req,
                         const e2b_response *resp);
/* For transfers that ended early (connection dropped mid-stream). */
int e2b_http_fail_transfer(e2b_sandbox *sb, const e2b_request *req,
                           const e2b_response *resp);
/* What every run in sb reports: isolation and the limits applied. */
void e2b_outcome_init(const e2b_sandbox *sb, runbox_exec_outcome *out);
/* Fills out for a run stopped by deadline or cancellation. */
void e2b_outcome_aborted(e2b_abort why, const runbox_exec_request *req,
                         runbox_exec_outcome *out);
/* Non-empty, at most max bytes, only letters, digits and bytes of extra:
 * for values that end up in host names, paths and headers. */
int e2b_is_name(const char *s, const char *extra, size_t max);
/* URL-encodes s with curl; caller frees with curl_free. NULL on ENOMEM. */
char *e2b_url_escape(const char *s);

/* Control plane (e2b_api.c). */
/* Creates the sandbox behind sb unless it exists. For a one-shot, the
 * lifetime asked for is the run's (run_seconds + 60 s; an hour when the
 * run has no limit), so that E2B cannot end it mid-run; a session gets
 * e2b.sandbox_timeout, set around each run by e2b_api_run_lifetime and
 * e2b_api_idle_lifetime. The request
 * stops at deadline (0 = none) or when io is cancelled: then *aborted
 * says why and RUNBOX_OK is returned (a sandbox E2B made anyway expires
 * at its lifetime). Errors via host->fail. */
int e2b_api_create(e2b_sandbox *sb, double run_seconds, double deadline,
                   runbox_exec_io *io, e2b_abort *aborted);
/* e2b_api_create for a run: when creation was stopped by the deadline or
 * a cancellation, out says so (verdict timeout/canceled) and *stop is
 * set. */
int e2b_sandbox_ready(e2b_sandbox *sb, const runbox_exec_request *req,
                      runbox_exec_outcome *out, int *stop);
/* Adds what E2B bills a sandbox by, its template's "cpu_count" and
 * "memory_mb" (GET /sandboxes/{id}), to obj; nothing when E2B does not
 * say. */
struct cJSON;
void e2b_api_describe(e2b_sandbox *sb, struct cJSON *obj);
/* Is the semver version (envdVersion) older than major.minor.patch? 0 for
 * NULL or unparseable. */
int e2b_envd_before(const char *version, int major, int minor, int patch);
/* Kills the sandbox (if created), bounded by a few seconds: a kill that
 * hangs must not hold the caller, and E2B ends the sandbox at its
 * lifetime anyway. Never fails visibly; logs a warning. */
int e2b_api_kill(e2b_sandbox *sb);
/* Kills the sandboxes of runbox processes of this machine that ended
 * without cleaning up: lists running sandboxes with runbox's metadata and
 * kills those whose runbox_owner host->owner_gone says has ended. *removed
 * counts the kills. quiet: failures are logged, not recorded (for open).
 * (e2b_reap.c) */
int e2b_reap(e2b_state *st, int quiet, unsigned *removed);
/* A sandbox handle without a sandbox (curl handles only), for calls that
 * are not about one of ours; NULL when out of memory. (e2b_backend.c) */
e2b_sandbox *e2b_sandbox_alloc(e2b_state *st);
void e2b_sandbox_free(e2b_sandbox *sb);
/* After a stream broke off: asks envd's /health, briefly, whether the
 * sandbox still exists, as the SDK does. If it is gone, records EGONE with
 * a message that says the run did not finish and returns it; otherwise
 * returns rc unchanged. */
int e2b_sandbox_gone_check(e2b_sandbox *sb, int rc, const char *during);
/* Before a session's file call that could outlast the sandbox's lifetime
 * (E2B kills it then, by default 300 s after creation): extends it with
 * POST /sandboxes/{id}/timeout to cover the call plus the idle lifetime.
 * One-shot sandboxes are left alone. Errors via host->fail (EGONE when
 * the sandbox already expired). */
int e2b_api_keep_alive(e2b_sandbox *sb, double run_seconds);
/* Around each run in a session or a pooled sandbox (execute, install,
 * describe). Before it, e2b_api_run_lifetime makes the sandbox end
 * E2B_RUN_MARGIN (30 s) after the run's deadline (an hour without one),
 * so that if runbox is killed mid-run E2B ends the sandbox soon after the
 * run's timeout; no request when the lifetime already ends within
 * [-10, +20] s of that. Errors via host->fail (EGONE when the sandbox is
 * gone). After the run, whatever its outcome, e2b_api_idle_lifetime gives
 * a session's sandbox back its idle lifetime (e2b.sandbox_timeout from
 * now) unless it already lives that long and at most a minute longer,
 * bounded by 5 s as a kill is; a failure there leaves the run's result
 * and message alone: it is logged and kept in restore_failed for the
 * message of the call that finds the sandbox gone. A pooled one-shot sandbox (made ahead of its run, to live
 * the pool's lifetime) is bounded the same way and not restored, as it is
 * killed after its run; one created by its run lives its run's timeout
 * plus 60 s from creation and is left alone. */
int e2b_api_run_lifetime(e2b_sandbox *sb, double deadline);
void e2b_api_idle_lifetime(e2b_sandbox *sb);
/* Records EGONE for sb with a message that says why when runbox knows
 * (restore_failed) and what to do. */
int e2b_api_gone(e2b_sandbox *sb);
/* Code interpreter (e2b_execute_stream.c). */
int e2b_execute(void *sandbox, const runbox_exec_request *req,
                runbox_exec_outcome *out);

/* envd processes (e2b_connect_rpc.c). Runs argv[0] with argv[1..] in the
 * sandbox through process.Process/Start (no shell, so nothing in argv is
 * interpreted). Output goes to io (when non-NULL) as it arrives and is
 * appended to the capture buffers (when non-NULL). RUNBOX_OK when the
 * process ran: *exit_code is its status, or *aborted says why it was
 * stopped (deadline, 0 = none, or cancellation of io). */
int e2b_process_run(e2b_sandbox *sb, const char *const *argv,
                    runbox_exec_io *io, double deadline,
                    e2b_buf *capture_stdout, e2b_buf *capture_stderr,
                    int *exit_code, e2b_abort *aborted);
int e2b_install(void *sandbox, const char *spec,
                const runbox_exec_request *req, runbox_exec_outcome *out);
int e2b_environment(void *sandbox, char **json);

/* envd files (e2b_files.c). */
int e2b_file_write(void *sandbox, const char *path, const void *data,
                   size_t len);
int e2b_file_read(void *sandbox, const char *path, void **data, size_t *len);

/* JSON text the code interpreter may send but cJSON cannot hold
 * (e2b_json_text.c): \u0000 and lone surrogate escapes. prepare copies
 * line into out with those escapes swapped for markers cJSON passes
 * through; unmark turns a string parsed from it back into the exact bytes
 * (*len counts them; NUL bytes included), valid UTF-8 text (U+FFFD for
 * each), or JSON text with the original escapes. unmark's result is
 * malloc'ed, NULL when out of memory. */
typedef enum e2b_unmark {
    E2B_UNMARK_BYTES,
    E2B_UNMARK_TEXT,
    E2B_UNMARK_ESCAPE
} e2b_unmark;
int e2b_json_prepare(const char *line, size_t len, e2b_buf *out);
char *e2b_json_unmark(const char *s, e2b_unmark mode, size_t *len);

/* Lenient base64 (standard or URL-safe, padding optional, whitespace
 * ignored). *out is malloc'ed (NUL-terminated); RUNBOX_EPROTO if invalid. */
int e2b_base64_decode(const char *in, size_t in_len, char **out,
                      size_t *out_len);

#endif /* RUNBOX_E2B_INTERNAL_H */
