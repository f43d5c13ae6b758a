/*
 * docker_test_util.h — what the docker tests share: a context on the real
 * engine, a raw Engine API client for checks behind runbox's back, and the
 * rule for a missing daemon (fail under CI=true, skip otherwise).
 */
#ifndef RUNBOX_DOCKER_TEST_UTIL_H
#define RUNBOX_DOCKER_TEST_UTIL_H

#include <stddef.h>

#include "runbox/runbox.h"

/* The image the tests run: $RUNBOX_DOCKER_IMAGE, else the minimal image
 * that build-offline-image.sh --minimal makes. */
const char *dt_image(void);
/* The engine address: $DOCKER_HOST, else the default socket. */
const char *dt_docker_host(void);
/* The OCI runtime the suite runs on: $RUNBOX_DOCKER_RUNTIME, else NULL
 * (the backend's default, runc). */
const char *dt_runtime(void);

/* What the engine under test is, asked once from the engine itself:
 * Podman's Docker-compatible service (GET /version lists "Podman
 * Engine"), and whether it runs rootless (Docker: GET /info
 * SecurityOptions "name=rootless"; Podman: GET /libpod/info). */
int dt_engine_podman(void);
int dt_engine_rootless(void);
/* A rootless engine on cgroup v1 (GET /info CgroupVersion "1"): it sets
 * no memory, pids or CPU limit, and runbox must not claim them. */
int dt_engine_no_cgroups(void);
/* For such an engine: a context with the limit key=value set explicitly
 * must be refused (RUNBOX_EUNSUPPORTED), and the caller's test is then
 * skipped with why. Returns when the engine has cgroups. */
void dt_refused_without_cgroups(const char *key, const char *value,
                                const char *why);

/* A config for the docker backend with the test image; extra key=value
 * pairs (NULL-terminated) are set on top. Caller frees. */
runbox_config *dt_config(const char *const *extra);

/* A context, or NULL after skipping/failing the test when the daemon or
 * the image is missing (see above). */
runbox_context *dt_context(const char *const *extra);

/* Raw request to the engine (path without the /vX.Y prefix). Returns the
 * HTTP status (0 on transport failure) and the malloc'd body in *body. */
long dt_api(const char *method, const char *path, const char *json_body,
            char **body);

/* The engine's list of runbox containers (all: stopped ones too), as
 * parsed JSON; the caller cJSON_Deletes it. A listing the engine fails
 * (Podman answers 500 while a container it lists is being removed) is
 * asked again for up to 5 s before the test fails. */
struct cJSON *dt_list_runbox(int all);
/* Number of containers labelled runbox=1 with runbox.pid = pid;
 * dt_count_running_of counts only the running ones. */
int dt_count_containers_of(long pid);
int dt_count_running_of(long pid);

/* The Id of the running container labelled runbox.pid = pid (malloc'd),
 * or NULL when there is none. */
char *dt_container_of(long pid);
/* GET /containers/ID/json, parsed; NULL when it is gone. */
struct cJSON *dt_inspect(const char *id);

#endif
