/*
 * docker_sandbox.h — the backend's state and its sandboxes, shared by the
 * vtable (docker_backend.c), execution (docker_sandbox.c) and files
 * (docker_files.c). Private to backends/docker.
 *
 * A one-shot sandbox makes its container inside exec (create + attach +
 * start in one go, code on stdin). A session sandbox, or a one-shot one
 * asked for install/environment/files, owns a "keeper" container that
 * stays up and runs each piece of work as an exec.
 */
#ifndef RUNBOX_DOCKER_SANDBOX_H
#define RUNBOX_DOCKER_SANDBOX_H

#include "docker_container.h"
#include "interp.h"

typedef struct docker_state {
    const runbox_host *host;
    runbox_host_ctx *h;
    docker_config cfg;
    docker_engine engine;
    docker_owner owner;
    unsigned reaped_on_open; /* for the first reap call (runbox gc) */
} docker_state;

/* A session's resident interpreter: one exec in the keeper whose
 * hijacked stream stays open across calls (docker_interp.c). */
typedef struct docker_interp {
    int running;
    char *exec_id;
    docker_hijack hj;
    docker_demux demux;
    interp_stream stream;
    uint64_t epoch;   /* changes whenever an interpreter ends; 0 = none yet */
    interp_tail stderr_tail; /* the driver's own stderr, for messages */
} docker_interp;

/* How a piece of work in a container ended. */
typedef struct docker_ending {
    docker_stop_reason stopped;
    int status; /* exit status as Docker reports it (128+N: signal N) */
    int oom;
    docker_applied applied;
} docker_ending;

typedef struct docker_sandbox {
    docker_state *st;
    docker_conn conn;
    int oneshot;
    int network;
    runbox_limits limits;
    const char *const *env; /* extra "NAME=value" from the core, or NULL */
    char *run_id;    /* one-shot run container, removed on destroy */
    char *keeper_id; /* keeper container, removed on destroy */
    /* The keeper's attach, held open (never read) while the sandbox lives:
     * its end, with runbox's, ends the keeper (docker_keeper.c). */
    docker_hijack keeper_hj;
    docker_applied keeper_applied;
    double touched_at; /* host->now() of the last signal to the keeper */
    unsigned long oom_kills_seen; /* the keeper cgroup's oom_kill count */
    runbox_exec_io *io; /* of the call in progress, for cancellation */
    int exec_count;
    /* A pooled sandbox (prestart): run_id was created, attached and
     * started ahead; its `python3 -` waits on the open stream for code. */
    int prestarted;
    docker_hijack pre_hj;
    docker_applied pre_applied;
    docker_interp interp;
} docker_sandbox;

int docker_sandbox_create(void **sandbox, void *state,
                          const runbox_sandbox_opts *opts);
void docker_sandbox_destroy(void *sandbox);
int docker_sandbox_exec(void *sandbox, const runbox_exec_request *req,
                        runbox_exec_outcome *out);
int docker_sandbox_install(void *sandbox, const char *spec,
                           const runbox_exec_request *req,
                           runbox_exec_outcome *out);
int docker_sandbox_environment(void *sandbox, char **json);
/* Whether a prestarted sandbox's container is still waiting for code. */
int docker_sandbox_check(void *sandbox);

/* Makes and starts the keeper container when the sandbox has none yet. */
int docker_sandbox_keeper(docker_sandbox *sb);
/* Makes the keeper, attaches to it (sb->keeper_hj) and starts it, then
 * waits until its init is ready for code (docker_keeper.c). On failure
 * nothing of it is left and keeper_id is NULL. */
int docker_keeper_start(docker_sandbox *sb);
/* Attaches to the created container id (stdin, stdout, stderr) and starts
 * it; on success *hj is open and the caller closes it. */
int docker_attach_start(docker_sandbox *sb, const char *id, docker_hijack *hj);

/* Creates a run container of kind (DOCKER_RUN_CODE: `python3 -` reading
 * the code from stdin; DOCKER_RUN_DRIVER: the interpreter waiting for
 * frames), attaches to it and starts it; its init stops it life seconds
 * from now (0 = never). argv is what DOCKER_RUN_CODE runs. On success *hj
 * is open: the caller closes it. */
int docker_run_start(docker_sandbox *sb, docker_container_kind kind,
                     const runbox_limits *limits, const char *const *argv,
                     double life, docker_hijack *hj, docker_applied *applied);
/* Stops a run container at once (its init kills everything and exits);
 * safe from any thread: it uses a connection of its own. */
int docker_stop_run(docker_sandbox *sb);
/* The verdict and note for how the work ended (docker_sandbox.c). */
void docker_outcome(const docker_sandbox *sb, const runbox_exec_request *req,
                    const docker_ending *end, runbox_exec_outcome *out);
/* How many processes the keeper's container holds (itself included), or
 * -1 when the engine does not say. */
int docker_keeper_processes(docker_sandbox *sb);
/* After the keeper was told to kill everything: waits until it has. */
void docker_keeper_quiet(docker_sandbox *sb);
/* Whether the kernel OOM-killed something in the keeper since last asked. */
int docker_keeper_oom_killed(docker_sandbox *sb);

/* Runs Python code through the resident interpreter (docker_interp.c): the
 * session's, started on first use, or a one-shot container's. Fills *end
 * and *out (state_epoch for sessions). */
int docker_interp_exec(docker_sandbox *sb, const runbox_exec_request *req,
                       runbox_exec_outcome *out, docker_ending *end);
/* Drops the session's interpreter connection (destroy). */
void docker_interp_close(docker_sandbox *sb);
/* The keeper killed everything: the interpreter is gone, its state too. */
void docker_interp_lost(docker_sandbox *sb);

int docker_file_write(void *sandbox, const char *path, const void *data,
                      size_t len);
int docker_file_read(void *sandbox, const char *path, void **data,
                     size_t *len);

#endif /* RUNBOX_DOCKER_SANDBOX_H */
