/*
 * docker_container.h — containers and execs on the engine: the secure
 * container configuration, create (pulling a missing image), start, wait,
 * kill, remove, exec, and the reaping of crashed runs' leftovers.
 *
 * Private to backends/docker. Errors are recorded through host->fail and
 * returned as RUNBOX_E* statuses. A docker_conn is used by one thread at a
 * time; the functions keep no state of their own.
 */
#ifndef RUNBOX_DOCKER_CONTAINER_H
#define RUNBOX_DOCKER_CONTAINER_H

#include "docker_internal.h"

/* Who owns the containers this process makes, written into their labels. */
typedef struct docker_owner {
    char hostname[128];
    long pid;
    unsigned long long pid_start; /* clock ticks after boot; tells pid reuse */
} docker_owner;

void docker_owner_self(docker_owner *o);

/* What a container is made for. */
typedef enum docker_container_kind {
    DOCKER_RUN_CODE, /* runs `python3 -` with the code on stdin, once */
    DOCKER_KEEPER,   /* stays up for execs: sessions, install, files */
    DOCKER_RUN_DRIVER /* runs the resident interpreter for one call */
} docker_container_kind;

/* The limits and settings actually put on a container. */
typedef struct docker_applied {
    uint64_t memory;
    uint32_t pids;
    uint64_t cpu_seconds;
    uint64_t file_bytes;
    uint32_t open_files;
    int network;
    int64_t nano_cpus; /* CPU quota in 1e-9 CPUs, 0 = none */
    uint32_t bits; /* RUNBOX_LIMIT_* */
} docker_applied;

/* The body of POST /containers/create. NULL on out of memory.
 * env: extra "NAME=value" for the code (pass_env), may be NULL.
 * deadline_s: the container's own deadline, enforced by its init even
 * when runbox is gone: for DOCKER_RUN_CODE the seconds after which it
 * stops, for DOCKER_KEEPER its idle lifetime (0 = none).
 * argv: what DOCKER_RUN_CODE runs (its stdin is the attached one).
 * e: the engine it is for (Podman takes a few things differently). */
cJSON *docker_container_spec(const docker_config *cfg, const docker_engine *e,
                             const docker_owner *o,
                             docker_container_kind kind,
                             const runbox_limits *limits, int network,
                             const char *const *env, double deadline_s,
                             const char *const *argv, docker_applied *applied);

/* What a keeper's init writes on stdout once it is non-dumpable and
 * watches its stdin (docker_keeper.c waits for it). */
#define DOCKER_KEEPER_READY "R"

/* The prelude of every session exec (see docker_container.c): argv is
 * python3 -I -c docker_exec_py CPU FSIZE NOFILE COMMAND... */
extern const char docker_exec_py[];

/* Creates a container from spec (consumed), pulling the image once when
 * the engine does not have it and pulling is on. *id is malloc'd. */
int docker_container_create(docker_conn *c, const docker_config *cfg,
                            cJSON *spec, char **id);
int docker_container_start(docker_conn *c, const char *id);
/* Sends signal ("KILL", "USR1", "USR2", "HUP") to the container's init; a container that
 * already stopped is not an error. */
int docker_container_kill(docker_conn *c, const char *id, const char *signal);
/* Force-removes it with its anonymous volumes; missing is not an error. */
int docker_container_remove(docker_conn *c, const char *id);
/* Waits for the container to stop; *status is its exit status. */
int docker_container_wait(docker_conn *c, const char *id, double timeout_s,
                          int *status);
/* State.OOMKilled and State.Running from inspect. */
int docker_container_state(docker_conn *c, const char *id, int *oom_killed,
                           int *running);

/* Creates an exec of argv (NULL-terminated) in container id, attached to
 * stdin/stdout/stderr when attach is non-zero. *exec_id is malloc'd.
 * RUNBOX_EGONE when the container no longer runs. */
int docker_exec_create(docker_conn *c, const docker_config *cfg,
                       const char *id, const char *const *argv,
                       const char *const *env, int attach, char **exec_id);
/* The exit code of a finished exec (waits briefly for the engine to
 * record it). */
int docker_exec_exit_code(docker_conn *c, const char *exec_id, int *code);
/* Removes containers labelled runbox=1 on this host whose owner process is
 * gone. Returns how many were removed, or a negative status. */
int docker_reap_leftovers(docker_conn *c, const docker_owner *self);

#endif /* RUNBOX_DOCKER_CONTAINER_H */
