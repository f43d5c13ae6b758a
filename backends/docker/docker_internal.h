/*
 * docker_internal.h — what the files of the docker backend share.
 *
 * Private to backends/docker; nothing here crosses the plugin boundary.
 * Every function that can fail returns a RUNBOX_E* status and, unless it
 * says otherwise, has already recorded a message through host->fail.
 *
 * Threading: a docker_engine is read-only after docker_engine_open and may
 * be used from several threads at once; a docker_conn belongs to one
 * sandbox and so to one thread at a time (backend.h promises that calls on
 * one sandbox never overlap).
 */
#ifndef RUNBOX_DOCKER_INTERNAL_H
#define RUNBOX_DOCKER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "runbox/backend.h"

/* The Engine API version this backend was written and tested against. The
 * prefix used is min(this, the daemon's ApiVersion). */
#define DOCKER_API_VERSION_MAJOR 1
#define DOCKER_API_VERSION_MINOR 41

#define DOCKER_DEFAULT_HOST "unix:///var/run/docker.sock"
#define DOCKER_DEFAULT_IMAGE "runbox-python:3.11"
#define DOCKER_IMAGE_SCRIPT "backends/docker/image/build-offline-image.sh"
/* The work directory inside every container (a tmpfs for one-shot runs, a
 * volume for sessions so that the archive endpoints reach it). */
#define DOCKER_WORKDIR "/sandbox"

/* Labels on every container the backend makes; docker_reap_leftovers finds
 * crashed runs' containers by them. */
#define DOCKER_LABEL "runbox"
#define DOCKER_LABEL_PID "runbox.pid"
#define DOCKER_LABEL_PID_START "runbox.pid_start"
#define DOCKER_LABEL_HOST "runbox.host"

/* ------------------------------------------------------------------ */
/* Configuration ([docker] section), docker_config.c                   */
/* ------------------------------------------------------------------ */
typedef struct docker_config {
    char *host;            /* DOCKER_HOST form: unix:///path or tcp://h:p */
    char *image;
    int network;           /* 1 = bridge network, 0 = NetworkMode none */
    char *user;            /* "1000:1000" */
    uint64_t memory;       /* bytes, 0 = only the core's limit */
    double cpus;           /* NanoCpus / 1e9, 0 = unlimited */
    uint32_t pids_limit;   /* 0 = only the core's limit */
    int read_only;         /* read-only root file system */
    char *cap_drop;        /* comma-separated, "ALL" by default */
    int no_new_privileges;
    uint64_t tmpfs_bytes;  /* size of the /sandbox and /tmp tmpfs */
    int pull;              /* pull a missing image */
    char *runtime;         /* OCI runtime: "runc" (engine default), "runsc" */
    double idle_timeout;   /* seconds a session keeper lives unused, 0 = no end */
    int tls_verify;        /* TLS to a tcp:// engine, verified against ca.pem */
    char *cert_path;       /* ca.pem, cert.pem, key.pem; NULL = ~/.docker */
    char *context;         /* docker CLI context name; NULL = current one */
    /* Found at open, not a key: the engine's "<runtime>-nonet" variant
     * (no network stack at all), used for network-off sandboxes. */
    char *runtime_nonet;
} docker_config;

/* Grace after a one-shot run's timeout before its container stops on its
 * own (runbox normally kills it at the timeout). */
#define DOCKER_DEADLINE_GRACE_S 5.0

extern const char *const docker_config_keys[];
extern const runbox_setting docker_settings[]; /* docker_settings.c */

/* Reads every key through host->config_get; RUNBOX_ECONFIG via
 * host->config_error on a bad value. Owns its strings. */
int docker_config_load(docker_config *cfg, const runbox_host *host,
                       runbox_host_ctx *h);
void docker_config_clear(docker_config *cfg);

/* ------------------------------------------------------------------ */
/* Where the engine is, docker_endpoint.c                              */
/* ------------------------------------------------------------------ */
typedef struct docker_endpoint {
    char *host;   /* unix:///path or tcp://h:p */
    int tls;      /* https to a tcp:// engine */
    int verify;   /* check the engine's certificate against ca */
    char *ca, *cert, *key; /* PEM files, NULL when not given */
    char *source; /* "host", "default", "docker context 'x'" */
} docker_endpoint;

/* From [docker] host / DOCKER_HOST (+ DOCKER_TLS_VERIFY, DOCKER_CERT_PATH),
 * else the docker CLI's context, else the default socket. RUNBOX_ECONFIG
 * with what to fix when a named context or certificate is unusable.
 * Clear with docker_endpoint_clear, also after a failure. */
int docker_endpoint_resolve(docker_endpoint *ep, const runbox_host *host,
                            runbox_host_ctx *h, const docker_config *cfg);
void docker_endpoint_clear(docker_endpoint *ep);

/* ------------------------------------------------------------------ */
/* Engine client, docker_engine.c                                      */
/* ------------------------------------------------------------------ */
typedef struct docker_engine {
    const runbox_host *host;
    runbox_host_ctx *h;
    char *docker_host;  /* as configured, for messages */
    char *socket_path;  /* unix socket, or NULL for tcp */
    char *base_url;     /* "http://docker", "http(s)://host:port" */
    int tls, verify;
    char *ca, *cert, *key;
    char api_prefix[16]; /* "/v1.41" after negotiation, "" before */
    /* Found by docker_engine_negotiate: the engine is Podman's
     * Docker-compatible service (GET /version lists a component "Podman
     * Engine"); and, by docker_engine_identify, whether it runs rootless
     * and on cgroup v1, where Podman cannot set any resource limit. */
    int podman;
    int rootless;
    int cgroup_v1;
} docker_engine;

/* One reusable HTTP connection (a curl easy handle). */
typedef struct docker_conn {
    docker_engine *engine;
    CURL *curl;
    /* Optional: checked while a long request (pull, archive) runs; a
     * non-zero return aborts it with RUNBOX_ECANCELED. */
    int (*should_abort)(void *arg);
    void *abort_arg;
} docker_conn;

typedef struct docker_response {
    long status;
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
} docker_response;

/* For the endpoint ep (copied). RUNBOX_ECONFIG on a bad form. */
int docker_engine_open(docker_engine *e, const runbox_host *host,
                       runbox_host_ctx *h, const docker_endpoint *ep);
void docker_engine_close(docker_engine *e);

int docker_conn_open(docker_conn *c, docker_engine *e);
void docker_conn_close(docker_conn *c);

/* GET /version and chooses the API prefix; sets e->podman. */
int docker_engine_negotiate(docker_conn *c);
/* GET /info: sets e->rootless and e->cgroup_v1. After negotiate. */
int docker_engine_identify(docker_conn *c);
/* GET /_ping with a short timeout; for probe. */
int docker_engine_ping(docker_conn *c);

/* One request. path is under the API prefix ("/containers/json"). body
 * may be NULL. timeout_s 0 = none. Transport failures are recorded and
 * returned; an HTTP status is returned in resp->status for the caller to
 * judge (see docker_api_error). resp is cleared first; free it with
 * docker_response_clear. */
int docker_request(docker_conn *c, const char *method, const char *path,
                   const char *content_type, const void *body, size_t len,
                   double timeout_s, docker_response *resp);
/* The same with a JSON body (or NULL) that this call frees. */
int docker_request_json(docker_conn *c, const char *method, const char *path,
                        cJSON *body, double timeout_s, docker_response *resp);
void docker_response_clear(docker_response *r);
/* A request whose answer must have HTTP status expect: *doc (when doc is
 * not NULL) is its parsed JSON body, to cJSON_Delete. Any other status is
 * recorded with docker_api_error(what); *http_status (may be NULL) says
 * which it was, 0 after a transport failure. body is consumed. */
int docker_call_json(docker_conn *c, const char *method, const char *path,
                     cJSON *body, double timeout_s, long expect,
                     const char *what, cJSON **doc, long *http_status);

/* Records "Docker: <what>: <Docker's message>" for a failed HTTP answer and
 * returns the matching status (404 ENOTFOUND, 409 EBACKEND, 5xx ...). */
int docker_api_error(docker_engine *e, const docker_response *r,
                     const char *what);

/* Streams the body of a request to a callback (image pull progress). */
typedef int (*docker_chunk_cb)(void *arg, const char *data, size_t len);
int docker_request_stream(docker_conn *c, const char *method,
                          const char *path, docker_chunk_cb cb, void *arg,
                          long *status);

/* A hijacked connection: the HTTP request is upgraded to a raw duplex
 * stream (attach, exec start). */
typedef struct docker_hijack {
    CURL *curl;
    int fd;
    char *pending;      /* stream bytes that arrived with the headers */
    size_t pending_len;
} docker_hijack;

int docker_hijack_open(docker_engine *e, docker_hijack *hj, const char *path,
                       const char *json_body);
void docker_hijack_close(docker_hijack *hj);

/* ------------------------------------------------------------------ */
/* Stream demultiplexer, docker_stream.c                               */
/* ------------------------------------------------------------------ */
/* Docker frames a non-TTY stream as [type, 0, 0, 0, size32be] + payload.
 * The demuxer accepts the bytes as they arrive, split anywhere, and hands
 * each payload piece to the callback without buffering it. */
typedef int (*docker_frame_cb)(void *arg, int stream, const char *data,
                               size_t len);
typedef struct docker_demux {
    unsigned char header[8];
    size_t header_have;
    uint32_t remaining; /* payload bytes left in the current frame */
    int stream;
} docker_demux;

void docker_demux_init(docker_demux *d);
/* RUNBOX_EPROTO for a frame with an unknown stream type. */
int docker_demux_feed(docker_demux *d, const char *data, size_t len,
                      docker_frame_cb cb, void *arg);
/* Non-zero when input stopped in the middle of a frame. */
int docker_demux_partial(const docker_demux *d);

/* ------------------------------------------------------------------ */
/* Archives, docker_archive.c                                          */
/* ------------------------------------------------------------------ */
/* A tar holding the parent directories of rel_path (a relative path) and
 * the file itself with data, owned by uid:gid. *tar is malloc'd. */
int docker_archive_pack(char **tar, size_t *tar_len, const char *rel_path,
                        const void *data, size_t len, int uid, int gid);
/* The first regular file of a tar, into host->alloc'd memory with a
 * terminating NUL. RUNBOX_EINVAL (nothing recorded) when the entry is not
 * a regular file, RUNBOX_EPROTO on a malformed archive. */
int docker_archive_unpack(const runbox_host *host, const char *tar,
                          size_t tar_len, void **data, size_t *len);

/* ------------------------------------------------------------------ */
/* Running code over a hijacked stream, docker_pump.c                  */
/* ------------------------------------------------------------------ */
typedef enum docker_stop_reason {
    DOCKER_STOP_NONE = 0,
    DOCKER_STOP_TIMEOUT,
    DOCKER_STOP_CANCELED
} docker_stop_reason;

typedef struct docker_pump {
    const runbox_host *host;
    runbox_exec_io *io;  /* may be NULL: output is then collected */
    double deadline;     /* host->now() value, 0 = none */
    const char *input;   /* written to the code's stdin, then EOF */
    size_t input_len;
    /* Stops the code from outside (kill the container or its processes).
     * It runs on a thread of its own while the stream is still read: the
     * engine may not finish a kill while the process's output is unread. */
    int (*stop)(void *arg);
    void *stop_arg;
    /* Optional, called with stop_arg every few seconds while the code runs
     * (keeps a session's keeper alive). */
    int (*touch)(void *arg);
    /* Output collected when io is NULL (environment, install's pip). */
    char *collected;
    size_t collected_len;
    docker_stop_reason stopped;
} docker_pump;

/* Sends the input, half-closes, and relays output until the stream ends.
 * Returns RUNBOX_OK also when the code was stopped (see p->stopped). */
int docker_pump_run(docker_pump *p, docker_engine *e, docker_hijack *hj);

#endif /* RUNBOX_DOCKER_INTERNAL_H */
