/*
 * docker_sandbox.c — sandboxes: running code (one-shot containers and
 * session execs), pip installs, the environment report, and the verdict
 * drawn from how the code ended.
 */
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_sandbox.h"

/* Reported by environment; parsed as data on our side. Run isolated
 * (python3 -I), so a module planted in /sandbox cannot stand in for json
 * or platform; the user site (pip install --user) is read as metadata
 * only, never imported from. */
static const char docker_environment_py[] =
    "import json, os, platform, site, sys\n"
    "import importlib.metadata as md\n"
    "packages = {}\n"
    "for d in md.distributions(path=sys.path + [site.getusersitepackages()]):\n"
    "    name = d.metadata['Name']\n"
    "    if name:\n"
    "        packages[name] = d.version\n"
    "print(json.dumps({'python': platform.python_version(),\n"
    "    'implementation': platform.python_implementation(),\n"
    "    'platform': platform.platform(), 'machine': platform.machine(),\n"
    "    'executable': sys.executable, 'uid': os.getuid(),\n"
    "    'cwd': os.getcwd(), 'packages': packages}))\n";

static int docker_abort_check(void *arg)
{
    docker_sandbox *sb = arg;
    return sb->io && sb->st->host->cancelled(sb->io);
}

static void docker_begin(docker_sandbox *sb, runbox_exec_io *io)
{
    sb->io = io;
    sb->conn.should_abort = io ? docker_abort_check : NULL;
    sb->conn.abort_arg = sb;
}

static void docker_end(docker_sandbox *sb)
{
    sb->io = NULL;
    sb->conn.should_abort = NULL;
}

int docker_sandbox_create(void **sandbox, void *state,
                          const runbox_sandbox_opts *opts)
{
    docker_state *st = state;
    docker_sandbox *sb = calloc(1, sizeof(*sb));
    if (!sb)
        return st->host->fail(st->h, RUNBOX_ENOMEM, "out of memory");
    sb->st = st;
    sb->oneshot = opts->oneshot;
    sb->limits = opts->limits;
    if (opts->struct_size >= offsetof(runbox_sandbox_opts, env) + sizeof opts->env)
        sb->env = opts->env;
    /* The network is on when the run's limits allow it or [docker] says
     * so; off otherwise (NetworkMode none). */
    sb->network = opts->limits.network || st->cfg.network;
    int rc = docker_conn_open(&sb->conn, &st->engine);
    if (rc == RUNBOX_OK && !sb->oneshot)
        rc = docker_sandbox_keeper(sb);
    /* For a pool: the container is made, attached and started now; exec
     * only writes the code to its waiting `python3 -`. */
    if (rc == RUNBOX_OK && sb->oneshot &&
        opts->struct_size >= offsetof(runbox_sandbox_opts, prestart) +
                                 sizeof opts->prestart && opts->prestart) {
        /* Its init ends it by the pool's lifetime, else by the run's
         * timeout plus a grace counted from now. */
        double life = 0;
        if (opts->struct_size >= offsetof(runbox_sandbox_opts, lifetime) +
                                     sizeof opts->lifetime)
            life = opts->lifetime;
        if (life <= 0 && sb->limits.wall_seconds > 0)
            life = sb->limits.wall_seconds + DOCKER_DEADLINE_GRACE_S;
        rc = docker_run_start(sb, DOCKER_RUN_DRIVER, &sb->limits, NULL, life,
                              &sb->pre_hj, &sb->pre_applied);
        sb->prestarted = rc == RUNBOX_OK;
    }
    if (rc != RUNBOX_OK) {
        docker_sandbox_destroy(sb);
        return rc;
    }
    *sandbox = sb;
    return RUNBOX_OK;
}

void docker_sandbox_destroy(void *sandbox)
{
    docker_sandbox *sb = sandbox;
    if (!sb)
        return;
    docker_end(sb); /* removal must not be cut short by a cancel */
    if (sb->prestarted)
        docker_hijack_close(&sb->pre_hj);
    docker_interp_close(sb);
    char *ids[] = {sb->run_id, sb->keeper_id};
    for (size_t i = 0; i < 2; i++) {
        if (ids[i] && sb->conn.curl &&
            docker_container_remove(&sb->conn, ids[i]) != RUNBOX_OK)
            sb->st->host->log(sb->st->h, RUNBOX_LOG_WARN,
                              "could not remove container %.12s; it is "
                              "reaped the next time runbox opens docker",
                              ids[i]);
        free(ids[i]);
    }
    /* After the removal: closing it first would make the keeper end and
     * the engine auto-remove it while we remove it too. */
    docker_hijack_close(&sb->keeper_hj);
    docker_conn_close(&sb->conn);
    free(sb);
}

int docker_sandbox_keeper(docker_sandbox *sb)
{
    if (sb->keeper_id)
        return RUNBOX_OK;
    int rc = docker_keeper_start(sb);
    sb->touched_at = sb->st->host->now();
    return rc;
}

/* Tells the keeper that runbox still uses it (its idle deadline starts
 * again); needed only when the last signal is a while ago. */
static int docker_keeper_touch(void *arg)
{
    docker_sandbox *sb = arg;
    double now = sb->st->host->now();
    if (!sb->keeper_id || now - sb->touched_at < sb->st->cfg.idle_timeout / 4)
        return RUNBOX_OK;
    sb->touched_at = now;
    return docker_container_kill(&sb->conn, sb->keeper_id, "USR2");
}

/* A signal to a container on a connection of its own: stops run on the
 * pump's stop thread (docker_pump.c) and must not share sb->conn, which
 * belongs to the thread that runs the sandbox. */
static int docker_signal(docker_sandbox *sb, const char *id, const char *sig)
{
    docker_conn c;
    int rc = docker_conn_open(&c, &sb->st->engine);
    if (rc == RUNBOX_OK)
        rc = docker_container_kill(&c, id, sig);
    docker_conn_close(&c);
    return rc;
}

int docker_stop_run(docker_sandbox *sb)
{
    /* USR1 makes the container's init kill everything and exit; unlike
     * KILL, the engine answers without waiting for the exit, which under
     * an output flood waits for output nobody reads yet. */
    if (docker_signal(sb, sb->run_id, "USR1") == RUNBOX_OK)
        return RUNBOX_OK;
    return docker_signal(sb, sb->run_id, "KILL");
}

/* Stops a one-shot run: the container is the run. */
static int docker_stop_container(void *arg)
{
    return docker_stop_run(arg);
}

/* Stops a session's code and keeps the session: the keeper kills every
 * other process on SIGUSR1. Only when that cannot be sent does the whole
 * container go. */
static int docker_stop_keeper_code(void *arg)
{
    docker_sandbox *sb = arg;
    if (docker_signal(sb, sb->keeper_id, "USR1") == RUNBOX_OK)
        return RUNBOX_OK;
    return docker_signal(sb, sb->keeper_id, "KILL");
}

static void docker_pump_setup(docker_pump *p, docker_sandbox *sb,
                              runbox_exec_io *io, double deadline,
                              const char *input, size_t input_len)
{
    memset(p, 0, sizeof(*p));
    p->host = sb->st->host;
    p->io = io;
    p->deadline = deadline;
    p->input = input;
    p->input_len = input_len;
    p->stop_arg = sb;
}

int docker_run_start(docker_sandbox *sb, docker_container_kind kind,
                     const runbox_limits *limits, const char *const *argv,
                     double life, docker_hijack *hj, docker_applied *applied)
{
    docker_state *st = sb->st;
    cJSON *spec = docker_container_spec(&st->cfg, &st->engine, &st->owner, kind,
                                        limits, sb->network, sb->env, life,
                                        argv, applied);
    if (!spec)
        return st->host->fail(st->h, RUNBOX_ENOMEM, "out of memory");
    if (sb->run_id) { /* a second run in a one-shot sandbox */
        docker_container_remove(&sb->conn, sb->run_id);
        free(sb->run_id);
        sb->run_id = NULL;
    }
    int rc = docker_container_create(&sb->conn, &st->cfg, spec, &sb->run_id);
    if (rc != RUNBOX_OK)
        return rc;
    return docker_attach_start(sb, sb->run_id, hj);
}

int docker_attach_start(docker_sandbox *sb, const char *id, docker_hijack *hj)
{
    /* Attach before start so that no early output is lost, and so that
     * the container's stdin is this connection's from the first moment. */
    char path[256];
    snprintf(path, sizeof(path),
             "/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1", id);
    int rc = docker_hijack_open(&sb->st->engine, hj, path, NULL);
    if (rc != RUNBOX_OK)
        return rc;
    rc = docker_container_start(&sb->conn, id);
    if (rc != RUNBOX_OK)
        docker_hijack_close(hj);
    return rc;
}

int docker_sandbox_check(void *sandbox)
{
    docker_sandbox *sb = sandbox;
    if (!sb->prestarted)
        return RUNBOX_OK;
    /* The interpreter prints nothing before its first code frame:
     * anything on the stream, or its end, means it is no longer waiting. */
    struct pollfd pfd = {.fd = sb->pre_hj.fd, .events = POLLIN};
    if (sb->pre_hj.pending_len || poll(&pfd, 1, 0) != 0)
        return RUNBOX_EGONE;
    return RUNBOX_OK;
}

/* A fresh container running `python3 -` with input on stdin (a pool's
 * prestarted interpreter is not that: it is replaced). */
static int docker_run_code(docker_sandbox *sb, const runbox_limits *limits,
                           const char *const *argv, docker_pump *p,
                           docker_ending *end)
{
    docker_state *st = sb->st;
    docker_engine *e = &st->engine;
    docker_hijack hj;
    if (sb->prestarted) {
        docker_hijack_close(&sb->pre_hj);
        sb->prestarted = 0;
    }
    double life = 0;
    if (p->deadline > 0)
        life = p->deadline - st->host->now() + DOCKER_DEADLINE_GRACE_S;
    int rc = docker_run_start(sb, DOCKER_RUN_CODE, limits, argv, life, &hj,
                              &end->applied);
    if (rc != RUNBOX_OK)
        return rc;
    p->stop = docker_stop_container;
    rc = docker_pump_run(p, e, &hj);
    docker_hijack_close(&hj);
    end->stopped = p->stopped;
    if (rc != RUNBOX_OK || p->stopped != DOCKER_STOP_NONE)
        return rc;
    double timeout = 30;
    if (p->deadline > 0)
        timeout += p->deadline - st->host->now();
    rc = docker_container_wait(&sb->conn, sb->run_id, timeout, &end->status);
    /* Docker reports an OOM kill only through inspect. */
    if (rc == RUNBOX_OK && end->status > 128 && end->applied.memory)
        rc = docker_container_state(&sb->conn, sb->run_id, &end->oom, NULL);
    return rc;
}

/* After a stop, the keeper goes on killing until nothing but itself is
 * left (a fork bomb outlives the first pass). The next run must not start
 * before that, or the keeper would kill it too: wait until the container
 * holds the keeper alone, for at most 5 s. */
int docker_keeper_processes(docker_sandbox *sb)
{
    char path[256];
    /* Podman 4.3's compatible top answers 200 with an empty body; its own
     * endpoint gives the same JSON when asked not to stream. */
    snprintf(path, sizeof(path), sb->st->engine.podman
                                     ? "/libpod/containers/%s/top?stream=false"
                                     : "/containers/%s/top", sb->keeper_id);
    cJSON *doc = NULL;
    if (docker_call_json(&sb->conn, "GET", path, NULL, 5, 200,
                         "listing the session's processes", &doc, NULL)
        != RUNBOX_OK)
        return -1;
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "Processes"));
    cJSON_Delete(doc);
    return n;
}

void docker_keeper_quiet(docker_sandbox *sb)
{
    /* Alone twice, 100 ms apart: the keeper's last kill pass, which would
     * hit a process started now, has then surely ended. */
    double until = sb->st->host->now() + 5;
    int alone = 0;
    while (sb->st->host->now() < until) {
        int n = docker_keeper_processes(sb);
        if (n < 0 || (n <= 1 && ++alone == 2))
            return;
        if (n > 1)
            alone = 0;
        usleep(alone ? 100 * 1000 : 50 * 1000);
    }
}

/* argv as an exec in the keeper, with input on its stdin, started by
 * docker_exec_py with the per-call rlimits lim (cpu, fsize, nofile; NULL =
 * none). Afterwards the keeper kills what the call left running (daemons);
 * when the call was stopped, it has killed everything already. */
static int docker_run_exec(docker_sandbox *sb, const char *const *argv,
                           const runbox_limits *lim, docker_pump *p,
                           docker_ending *end)
{
    docker_state *st = sb->st;
    int rc = docker_sandbox_keeper(sb);
    if (rc != RUNBOX_OK)
        return rc;
    end->applied = sb->keeper_applied;
    char nums[3][24] = {"0", "0", "0"};
    if (lim) {
        uint64_t cpu = (uint64_t)lim->cpu_seconds +
                       (lim->cpu_seconds > (uint64_t)lim->cpu_seconds);
        snprintf(nums[0], sizeof(nums[0]), "%llu", (unsigned long long)cpu);
        snprintf(nums[1], sizeof(nums[1]), "%llu", (unsigned long long)lim->file_bytes);
        snprintf(nums[2], sizeof(nums[2]), "%u", lim->open_files);
        end->applied.bits |= (cpu ? RUNBOX_LIMIT_CPU : 0) |
                             (lim->file_bytes ? RUNBOX_LIMIT_FILE_SIZE : 0) |
                             (lim->open_files ? RUNBOX_LIMIT_OPEN_FILES : 0);
    }
    const char *full[32] = {"python3", "-I", "-c", docker_exec_py,
                            nums[0], nums[1], nums[2]};
    size_t n = 7;
    for (size_t i = 0; argv[i] && n < 31; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    docker_keeper_touch(sb);
    char *exec_id = NULL;
    rc = docker_exec_create(&sb->conn, &st->cfg, sb->keeper_id, full, sb->env,
                            1, &exec_id);
    if (rc != RUNBOX_OK)
        return rc;
    char path[256];
    snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
    docker_hijack hj;
    rc = docker_hijack_open(&st->engine, &hj, path, "{\"Detach\":false,\"Tty\":false}");
    if (rc == RUNBOX_OK) {
        p->stop = docker_stop_keeper_code;
        p->touch = docker_keeper_touch;
        rc = docker_pump_run(p, &st->engine, &hj);
        docker_hijack_close(&hj);
    }
    end->stopped = p->stopped;
    if (p->stopped != DOCKER_STOP_NONE) {
        docker_keeper_quiet(sb);
        docker_interp_lost(sb); /* the keeper killed it too */
    }
    if (rc == RUNBOX_OK && p->stopped == DOCKER_STOP_NONE) {
        docker_end(sb); /* the code is done; only bookkeeping is left */
        rc = docker_exec_exit_code(&sb->conn, exec_id, &end->status);
        if (rc == RUNBOX_ETIMEOUT) /* it closed its output but runs on */
            docker_container_kill(&sb->conn, sb->keeper_id, "USR1");
        else if (rc == RUNBOX_OK && end->status == 128 + SIGKILL && end->applied.memory)
            end->oom = docker_keeper_oom_killed(sb);
    }
    if (p->stopped == DOCKER_STOP_NONE && sb->keeper_id && !sb->interp.running) {
        /* Whatever the call started in the background goes now; the next
         * exec waits until it is gone. (A running interpreter sweeps after
         * its own calls.) */
        if (docker_container_kill(&sb->conn, sb->keeper_id, "HUP") == RUNBOX_OK)
            sb->touched_at = st->host->now();
    }
    free(exec_id);
    return rc;
}

/* Whether the kernel OOM-killed something in the keeper since the last
 * look. Docker sets State.OOMKilled only when a container's init dies, so
 * for an exec the count comes from the container's own memory cgroup
 * (oom_kill in memory.events on cgroup v2, memory.oom_control on v1). */
int docker_keeper_oom_killed(docker_sandbox *sb)
{
    static const char *const argv[] = {
        "sh", "-c", "cat /sys/fs/cgroup/memory.events "
                    "/sys/fs/cgroup/memory/memory.oom_control 2>/dev/null", NULL};
    docker_pump p;
    docker_ending end = {0};
    docker_pump_setup(&p, sb, NULL, sb->st->host->now() + 30, NULL, 0);
    int killed = 0;
    if (docker_run_exec(sb, argv, NULL, &p, &end) == RUNBOX_OK && p.collected) {
        const char *at = strstr(p.collected, "oom_kill ");
        unsigned long count = at ? strtoul(at + 9, NULL, 10) : 0;
        killed = count > sb->oom_kills_seen;
        sb->oom_kills_seen = count;
    }
    free(p.collected);
    return killed;
}

static void docker_isolation(const docker_sandbox *sb, const docker_applied *a,
                             char *buf, size_t size)
{
    const docker_config *cfg = &sb->st->cfg;
    char cpus[32] = "";
    if (a->nano_cpus)
        snprintf(cpus, sizeof(cpus), ",%.3g cpus", a->nano_cpus / 1e9);
    const docker_engine *e = &sb->st->engine;
    /* A description: one longer than buf is cut, and that is fine. The cut
     * is handled visibly only for GCC's -Wformat-truncation (MinSizeRel). */
    if (snprintf(buf, size, "docker(%s%s%s,user %s,%s%s%s%s%s)",
             e->podman ? (e->rootless ? "Podman rootless," : "Podman,")
                       : (e->rootless ? "rootless," : ""),
             strcmp(cfg->runtime, "runsc") == 0 ? "gVisor " : "", cfg->runtime,
             cfg->user, a->network ? "network" : "no network", cpus,
             strcmp(cfg->cap_drop, "ALL") == 0 ? ",no caps" : "",
             cfg->read_only ? ",ro root" : "",
             cfg->no_new_privileges ? ",no-new-privs" : "") >= (int)size)
        buf[size - 1] = '\0';
}

/* The verdict and note for how the work ended. */
void docker_outcome(const docker_sandbox *sb, const runbox_exec_request *req,
                    const docker_ending *end, runbox_exec_outcome *out)
{
    out->limits_applied = end->applied.bits;
    if (req->deadline > 0)
        out->limits_applied |= RUNBOX_LIMIT_WALL;
    docker_isolation(sb, &end->applied, out->isolation, sizeof(out->isolation));
    out->exit_code = end->status;
    out->signal = 0;
    if (end->stopped == DOCKER_STOP_TIMEOUT) {
        out->verdict = RUNBOX_VERDICT_TIMEOUT;
        out->exit_code = -1;
        out->signal = SIGKILL;
        snprintf(out->message, sizeof(out->message),
                 "stopped after the %.3g s time limit; Docker killed the code",
                 req->limits.wall_seconds);
        return;
    }
    if (end->stopped == DOCKER_STOP_CANCELED) {
        out->verdict = RUNBOX_VERDICT_CANCELED;
        out->exit_code = -1;
        snprintf(out->message, sizeof(out->message),
                 "cancelled; Docker killed the code");
        return;
    }
    if (end->oom) {
        out->verdict = RUNBOX_VERDICT_OOM;
        out->exit_code = -1;
        out->signal = SIGKILL;
        snprintf(out->message, sizeof(out->message),
                 "killed by the kernel: the %llu MiB memory limit was reached",
                 (unsigned long long)(end->applied.memory >> 20));
        return;
    }
    if (end->status == 0) {
        out->verdict = RUNBOX_VERDICT_OK;
    } else if (end->status > 128 && end->status <= 128 + 64) {
        out->signal = end->status - 128;
        out->exit_code = -1;
        out->verdict = RUNBOX_VERDICT_SIGNALED;
        if (out->signal == SIGXCPU && req->limits.cpu_seconds > 0) {
            out->verdict = RUNBOX_VERDICT_TIMEOUT;
            snprintf(out->message, sizeof(out->message),
                     "stopped by the %.3g s CPU time limit",
                     req->limits.cpu_seconds);
        } else if (out->signal == SIGXFSZ && req->limits.file_bytes) {
            snprintf(out->message, sizeof(out->message),
                     "killed for writing past the %llu byte file size limit",
                     (unsigned long long)req->limits.file_bytes);
        }
    } else {
        out->verdict = RUNBOX_VERDICT_EXIT_NONZERO;
    }
}

/* A failure of the backend while the code was not the cause: a cancel that
 * came during create/start still counts as CANCELED, not as an error. */
static int docker_finish(docker_sandbox *sb, const runbox_exec_request *req,
                         int rc, const docker_ending *end,
                         runbox_exec_outcome *out)
{
    docker_end(sb);
    if (rc == RUNBOX_ECANCELED || (rc != RUNBOX_OK && req->io &&
                                   sb->st->host->cancelled(req->io))) {
        docker_ending canceled = *end;
        canceled.stopped = DOCKER_STOP_CANCELED;
        docker_outcome(sb, req, &canceled, out);
        return RUNBOX_OK;
    }
    if (rc == RUNBOX_OK)
        docker_outcome(sb, req, end, out);
    return rc;
}

int docker_sandbox_exec(void *sandbox, const runbox_exec_request *req,
                        runbox_exec_outcome *out)
{
    docker_sandbox *sb = sandbox;
    docker_ending end = {0};
    docker_begin(sb, req->io);
    int rc = docker_interp_exec(sb, req, out, &end);
    sb->exec_count++;
    docker_end(sb);
    if (rc == RUNBOX_ECANCELED || (rc != RUNBOX_OK && req->io &&
                                   sb->st->host->cancelled(req->io))) {
        end.stopped = DOCKER_STOP_CANCELED;
        docker_outcome(sb, req, &end, out);
        return RUNBOX_OK;
    }
    return rc;
}

int docker_sandbox_install(void *sandbox, const char *spec,
                           const runbox_exec_request *req,
                           runbox_exec_outcome *out)
{
    docker_sandbox *sb = sandbox;
    docker_state *st = sb->st;
    if (!sb->network)
        return st->host->fail(st->h, RUNBOX_EDENIED,
                              "package install needs the network: set network "
                              "= on in [docker] (or RUNBOX_DOCKER_NETWORK=on)");
    /* An argument list, never a shell line: spec reaches pip as one argv
     * entry. --user puts it in the work directory, which the session keeps. */
    const char *argv[] = {"python3", "-m", "pip", "install", "--user",
                          "--no-input", "--progress-bar", "off", spec, NULL};
    docker_ending end = {0};
    docker_pump p;
    docker_begin(sb, req->io);
    docker_pump_setup(&p, sb, req->io, req->deadline, NULL, 0);
    int rc = docker_run_exec(sb, argv, NULL, &p, &end);
    free(p.collected);
    return docker_finish(sb, req, rc, &end, out);
}

int docker_sandbox_environment(void *sandbox, char **json)
{
    docker_sandbox *sb = sandbox;
    docker_state *st = sb->st;
    docker_ending end = {0};
    docker_pump p;
    docker_begin(sb, NULL);
    docker_pump_setup(&p, sb, NULL, st->host->now() + 120,
                      docker_environment_py, sizeof(docker_environment_py) - 1);
    int rc;
    static const char *const argv[] = {"python3", "-I", "-", NULL};
    if (sb->oneshot && !sb->keeper_id) {
        runbox_limits none = sb->limits;
        rc = docker_run_code(sb, &none, argv, &p, &end);
    } else {
        rc = docker_run_exec(sb, argv, NULL, &p, &end);
    }
    docker_end(sb);
    cJSON *doc = NULL;
    if (rc == RUNBOX_OK) {
        /* Data from inside the sandbox: parsed as JSON, nothing more. */
        doc = p.collected ? cJSON_Parse(p.collected) : NULL;
        if (end.stopped != DOCKER_STOP_NONE || end.status != 0 ||
            !cJSON_IsObject(doc))
            rc = st->host->fail(st->h, RUNBOX_EBACKEND,
                                "could not describe the image %s: python3 "
                                "exited with %d: %.200s", st->cfg.image,
                                end.status, p.collected ? p.collected : "");
    }
    free(p.collected);
    if (rc != RUNBOX_OK) {
        cJSON_Delete(doc);
        return rc;
    }
    cJSON *docker = cJSON_CreateObject();
    cJSON_AddStringToObject(docker, "image", st->cfg.image);
    cJSON_AddStringToObject(docker, "host", st->engine.docker_host);
    cJSON_AddStringToObject(docker, "api", st->engine.api_prefix + 2);
    cJSON_AddStringToObject(docker, "user", st->cfg.user);
    cJSON_AddBoolToObject(docker, "network", sb->network);
    cJSON_AddItemToObject(doc, "docker", docker);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    size_t n = text ? strlen(text) : 0;
    *json = text ? st->host->alloc(n + 1) : NULL;
    if (*json)
        memcpy(*json, text, n + 1);
    free(text);
    return *json ? RUNBOX_OK : st->host->fail(st->h, RUNBOX_ENOMEM, "out of memory");
}
