/*
 * docker_container.c — container and exec lifecycle on the engine.
 *
 * Every container is made secure by default: no network, every capability
 * dropped, no-new-privileges, a read-only root, a non-root user, pids,
 * memory and ulimit caps. The code itself never travels on a command line:
 * the command is the fixed `python3 -` and the code arrives on stdin
 * through a hijacked attach (see docker_pump.c), so any size and any bytes
 * work and nothing of it shows in `ps` or in the container's config.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker_container.h"
#include "interp.h"

/* pid 1 of every container: python3 -I -c docker_init_py MODE SECONDS
 * [CPU FSIZE NOFILE ARGV...]. It carries the container's own deadline, so that no code
 * outlives a runbox that was killed or hangs:
 * - "run": starts ARGV (the code) as its child and exits with the child's
 *   status (128+N for signal N); past SECONDS it kills everything and exits,
 *   which ends the container.
 * - "keep" (sessions): runs no code itself; every call is an exec. It exits
 *   after SECONDS without a signal from the engine (idle lifetime), and as
 *   soon as its stdin ends: runbox holds the container's only attach
 *   connection for the session's life and the container is made with
 *   StdinOnce, so when runbox ends, however it ends (SIGKILL included),
 *   the kernel closes that connection, the engine closes the keeper's
 *   stdin, and a thread blocked reading it kills everything and exits.
 *   Then it writes DOCKER_KEEPER_READY, which runbox waits for before the
 *   first exec. The code cannot hold that stdin open: it is a pipe from
 *   the engine's shim, and pid 1 is non-dumpable by then, so /proc/1/fd
 *   is closed to the code (except under gVisor: see the README).
 * Signals from the engine (POST /kill) arrive with si_pid 0; the code can
 * signal pid 1 too, but its signals carry its pid and are ignored, so it
 * cannot extend the deadline. SIGUSR2 only keeps the keeper alive; SIGHUP
 * (after every call) also kills every process except those the engine
 * started (parent pid 0: runbox's own execs); SIGUSR1 (stop) kills every
 * process once, then sweeps like SIGHUP until nothing the code forked is
 * left (a fork bomb outruns one pass), so that an exec runbox starts
 * meanwhile survives. In "run" mode SIGUSR1 kills everything and exits:
 * a stop the engine answers at once (a KILL request waits for the exit,
 * which an unread output flood delays). The kernel protects pid 1 from SIGKILL/SIGSTOP sent from inside;
 * it makes itself non-dumpable so that the code (same uid) cannot ptrace it
 * or write its memory. If it dies anyway, the container ends with it. */
static const char docker_init_py[] =
    "import os, signal, sys, time\n"
    "try:\n"
    "    import ctypes\n"
    "    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n" /* PR_SET_DUMPABLE 0 */
    "except Exception:\n"
    "    pass\n"
    "mode, limit = sys.argv[1], float(sys.argv[2])\n"
    "waited = [signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP]\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, waited)\n"
    "child = 0\n"
    "if mode == 'run':\n"
    "    child = os.fork()\n"
    "    if child == 0:\n"
    "        signal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
    "        try:\n"
    /* rlimits here as well as in the OCI spec: gVisor ignores the spec's */
    "            import resource\n"
    "            for name, v in zip(('RLIMIT_CPU', 'RLIMIT_FSIZE',\n"
    "                                'RLIMIT_NOFILE'), sys.argv[3:6]):\n"
    "                v = int(v)\n"
    "                if v > 0:\n"
    "                    resource.setrlimit(getattr(resource, name),\n"
    "                                       (v, v + (name == 'RLIMIT_CPU')))\n"
    "            os.execvp(sys.argv[6], sys.argv[6:])\n"
    "        finally:\n"
    "            os._exit(127)\n"
    "def reap():\n"
    "    while True:\n"
    "        try:\n"
    "            pid, st = os.waitpid(-1, os.WNOHANG)\n"
    "        except ChildProcessError:\n"
    "            return\n"
    "        if pid == 0:\n"
    "            return\n"
    "        if pid == child:\n"
    "            os._exit(128 + os.WTERMSIG(st) if os.WIFSIGNALED(st)\n"
    "                     else os.WEXITSTATUS(st))\n"
    "def ppid(pid):\n"
    "    try:\n"
    "        with open('/proc/%d/stat' % pid) as f:\n"
    "            return int(f.read().rsplit(')', 1)[1].split()[1])\n"
    "    except (OSError, ValueError, IndexError):\n"
    "        return -1\n"
    "def kill_all():\n"
    "    for _ in range(100000):\n" /* a fork bomb forks while we kill */
    "        try:\n"
    "            os.kill(-1, signal.SIGKILL)\n"
    "        except ProcessLookupError:\n"
    "            break\n"
    "        reap()\n"
    "def kill_leftovers():\n"
    "    for _ in range(100000):\n"
    "        hit = False\n"
    "        for p in os.listdir('/proc'):\n"
    "            if p.isdigit() and p != '1' and ppid(int(p)) != 0:\n"
    "                try:\n"
    "                    os.kill(int(p), signal.SIGKILL)\n"
    "                    hit = True\n"
    "                except OSError:\n"
    "                    pass\n"
    "        reap()\n"
    "        if not hit:\n"
    "            break\n"
    "if mode == 'keep':\n"
    "    import _thread\n"
    "    def owner_gone():\n"  /* EOF on stdin: runbox's attach ended */
    "        while True:\n"
    "            try:\n"
    "                if not os.read(0, 4096):\n"
    "                    break\n"
    "            except InterruptedError:\n"
    "                continue\n"
    "            except OSError:\n"
    "                break\n"
    "        kill_all()\n"
    "        os._exit(0)\n"
    "    _thread.start_new_thread(owner_gone, ())\n"
    "    os.write(1, b'" DOCKER_KEEPER_READY "')\n"
    "deadline = time.monotonic() + limit if limit > 0 else None\n"
    "while True:\n"
    "    reap()\n"
    "    wait = 3600.0\n"
    "    if deadline is not None:\n"
    "        wait = deadline - time.monotonic()\n"
    "        if wait <= 0:\n"
    "            kill_all()\n"
    "            os._exit(128 + signal.SIGKILL)\n"
    "    info = signal.sigtimedwait(waited, wait)\n"
    "    if not info or info.si_pid != 0 or info.si_signo == signal.SIGCHLD:\n"
    "        continue\n"
    "    if mode == 'run':\n"  /* USR1: stop, without the engine waiting */
    "        if info.si_signo == signal.SIGUSR1:\n"
    "            kill_all()\n"
    "            os._exit(128 + signal.SIGKILL)\n"
    "        continue\n"
    "    if mode == 'keep' and deadline is not None:\n"
    "        deadline = time.monotonic() + limit\n"
    "    if info.si_signo == signal.SIGUSR1:\n"
    "        try:\n"
    "            os.kill(-1, signal.SIGKILL)\n"
    "        except ProcessLookupError:\n"
    "            pass\n"
    "    if info.si_signo in (signal.SIGUSR1, signal.SIGHUP):\n"
    "        kill_leftovers()\n";

/* Starts every exec in a session: python3 -I -c docker_exec_py CPU FSIZE
 * NOFILE ARGV... It waits until the keeper has cleared what the previous
 * call left (nothing but pid 1 and the engine's own execs remain, at most
 * 5 s), sets the per-call rlimits (an exec cannot carry ulimits), then
 * becomes ARGV. Isolated (-I) and passed on the command line, so nothing
 * the code plants in /sandbox or the environment changes it. */
const char docker_exec_py[] =
    "import os, resource, sys, time\n"
    "me = os.getpid()\n"
    "end = time.monotonic() + 5\n"
    "def busy():\n"
    "    for p in os.listdir('/proc'):\n"
    "        if p.isdigit() and int(p) not in (1, me):\n"
    "            try:\n"
    "                with open('/proc/%s/stat' % p) as f:\n"
    "                    if int(f.read().rsplit(')', 1)[1].split()[1]) != 0:\n"
    "                        return True\n"
    "            except (OSError, ValueError, IndexError):\n"
    "                pass\n"
    "    return False\n"
    "while busy() and time.monotonic() < end:\n"
    "    time.sleep(0.01)\n"
    "for name, v in zip(('RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE'),\n"
    "                   sys.argv[1:4]):\n"
    "    v = int(v)\n"
    "    if v > 0:\n"
    "        resource.setrlimit(getattr(resource, name),\n"
    "                           (v, v + (name == 'RLIMIT_CPU')))\n"
    "os.execvp(sys.argv[4], sys.argv[4:])\n";

static const char *const docker_env[] = {
    "HOME=" DOCKER_WORKDIR, "LANG=C.UTF-8", "PYTHONUNBUFFERED=1",
    "PYTHONDONTWRITEBYTECODE=1", "PIP_BREAK_SYSTEM_PACKAGES=1",
    "PIP_DISABLE_PIP_VERSION_CHECK=1", "MPLBACKEND=Agg", NULL};

/* Field 22 of /proc/PID/stat (start time in clock ticks after boot), or 0;
 * the fields after the command's closing parenthesis are plain. */
static unsigned long long docker_pid_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

void docker_owner_self(docker_owner *o)
{
    memset(o, 0, sizeof(*o));
    gethostname(o->hostname, sizeof(o->hostname) - 1);
    o->pid = (long)getpid();
    o->pid_start = docker_pid_start(o->pid);
}

static cJSON *docker_string_array(const char *const *items)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && items[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
    return a;
}

/* The code's environment: runbox's fixed settings plus what the core
 * passes from the host (pass_env), nothing else of the host's. */
static cJSON *docker_env_array(const char *const *extra)
{
    cJSON *a = docker_string_array(docker_env);
    for (size_t i = 0; a && extra && extra[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(extra[i]));
    return a;
}

static void docker_add_ulimit(cJSON *ulimits, const char *name, uint64_t soft,
                              uint64_t hard)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "Name", name);
    cJSON_AddNumberToObject(u, "Soft", (double)soft);
    cJSON_AddNumberToObject(u, "Hard", (double)hard);
    cJSON_AddItemToArray(ulimits, u);
}

/* The smaller of two limits where 0 means none. */
static uint64_t docker_min_limit(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

cJSON *docker_container_spec(const docker_config *cfg, const docker_engine *e,
                             const docker_owner *o,
                             docker_container_kind kind,
                             const runbox_limits *limits, int network,
                             const char *const *env, double deadline_s,
                             const char *const *argv, docker_applied *applied)
{
    memset(applied, 0, sizeof(*applied));
    cJSON *spec = cJSON_CreateObject();
    cJSON *hc = cJSON_CreateObject();
    cJSON *labels = cJSON_CreateObject();
    cJSON *ulimits = cJSON_CreateArray();
    if (!spec || !hc || !labels || !ulimits) {
        cJSON_Delete(spec), cJSON_Delete(hc), cJSON_Delete(labels);
        cJSON_Delete(ulimits);
        return NULL;
    }
    char num[32];
    cJSON_AddStringToObject(spec, "Image", cfg->image);
    cJSON_AddStringToObject(spec, "User", cfg->user);
    cJSON_AddStringToObject(spec, "WorkingDir", DOCKER_WORKDIR);
    /* An explicit environment: nothing of the host's reaches the code. */
    cJSON_AddItemToObject(spec, "Env", docker_env_array(env));
    cJSON_AddStringToObject(labels, DOCKER_LABEL, "1");
    snprintf(num, sizeof(num), "%ld", o->pid);
    cJSON_AddStringToObject(labels, DOCKER_LABEL_PID, num);
    snprintf(num, sizeof(num), "%llu", o->pid_start);
    cJSON_AddStringToObject(labels, DOCKER_LABEL_PID_START, num);
    cJSON_AddStringToObject(labels, DOCKER_LABEL_HOST, o->hostname);
    cJSON_AddItemToObject(spec, "Labels", labels);
    cJSON_AddBoolToObject(spec, "Tty", 0);
    /* pid 1 is runbox's own init (docker_init_py), which carries the
     * container's deadline; see there. */
    char limit[32];
    snprintf(limit, sizeof(limit), "%.3f", deadline_s > 0 ? deadline_s : 0.0);
    cJSON *cmd = cJSON_CreateArray();
    static const char *const init[] = {"python3", "-I", "-c", docker_init_py, NULL};
    for (size_t i = 0; init[i]; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(init[i]));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(kind == DOCKER_KEEPER ? "keep" : "run"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(limit));
    cJSON_AddItemToObject(spec, "Cmd", cmd);
    /* stdin stays open until our half-close (a run) or until runbox's
     * attach connection ends (a keeper), then closes for good. */
    cJSON_AddBoolToObject(spec, "OpenStdin", 1);
    cJSON_AddBoolToObject(spec, "StdinOnce", 1);
    cJSON_AddBoolToObject(spec, "AttachStdin", 1);
    cJSON_AddBoolToObject(spec, "AttachStdout", 1);
    cJSON_AddBoolToObject(spec, "AttachStderr", 1);
    if (kind == DOCKER_KEEPER) {
        /* A keeper that ends on its own (idle lifetime, runbox gone) takes
         * its container and work directory with it. */
        cJSON_AddBoolToObject(hc, "AutoRemove", 1);
    }
    /* No log: runbox reads output through attach, and a log would store
     * everything the code prints on the engine's disk. */
    cJSON *log = cJSON_CreateObject();
    cJSON_AddStringToObject(log, "Type", "none");
    cJSON_AddItemToObject(log, "Config", cJSON_CreateObject());
    cJSON_AddItemToObject(hc, "LogConfig", log);
    if (!network && cfg->runtime_nonet)
        cJSON_AddStringToObject(hc, "Runtime", cfg->runtime_nonet);
    else if (strcmp(cfg->runtime, "runc") != 0)
        cJSON_AddStringToObject(hc, "Runtime", cfg->runtime);

    applied->network = network;
    /* Rootless Podman's "bridge" needs its rootless network namespace
     * set up under a systemd-style runtime directory; its own default for
     * rootless containers, and what works everywhere, is slirp4netns. */
    const char *net_on = e->podman && e->rootless ? "slirp4netns" : "bridge";
    cJSON_AddStringToObject(hc, "NetworkMode", network ? net_on : "none");
    if (!network)
        applied->bits |= RUNBOX_LIMIT_NETWORK;
    cJSON *caps = cJSON_CreateArray();
    char *list = strdup(cfg->cap_drop), *save = NULL;
    for (char *t = list ? strtok_r(list, ", ", &save) : NULL; t;
         t = strtok_r(NULL, ", ", &save))
        cJSON_AddItemToArray(caps, cJSON_CreateString(t));
    free(list);
    cJSON_AddItemToObject(hc, "CapDrop", caps);
    if (cfg->no_new_privileges) {
        static const char *const sec[] = {"no-new-privileges", NULL};
        cJSON_AddItemToObject(hc, "SecurityOpt", docker_string_array(sec));
    }
    cJSON_AddBoolToObject(hc, "ReadonlyRootfs", cfg->read_only);

    /* /tmp is always a tmpfs, and so is the work directory: for a one-shot
     * run a plain tmpfs mount, for a keeper an anonymous volume whose
     * storage is a tmpfs of that size (the engine's archive endpoints, which
     * carry files in and out, see volumes but not tmpfs mounts). Either way
     * the code cannot write more than tmpfs_size there, and the pages count
     * against the container's memory limit. */
    cJSON *tmpfs = cJSON_CreateObject();
    char opts[160], owner[64] = "";
    snprintf(opts, sizeof(opts), "rw,nosuid,nodev,size=%llu",
             (unsigned long long)cfg->tmpfs_bytes);
    cJSON_AddStringToObject(tmpfs, "/tmp", opts);
    /* Podman mounts a tmpfs of no set size, writable by all, on /var/tmp
     * of a read-only container unless one is given: the same as /tmp. */
    if (e->podman)
        cJSON_AddStringToObject(tmpfs, "/var/tmp", opts);
    /* uid/gid so that the non-root user owns its work directory. Podman
     * refuses tmpfs options it does not know (uid= among them) and has
     * its own: U, the mount belongs to the container's user. */
    unsigned uid = 1000, gid = 1000;
    if (e->podman)
        snprintf(owner, sizeof(owner), ",U");
    else if (sscanf(cfg->user, "%u:%u", &uid, &gid) >= 1)
        snprintf(owner, sizeof(owner), ",uid=%u,gid=%u", uid,
                 strchr(cfg->user, ':') ? gid : uid);
    if (kind != DOCKER_KEEPER || e->podman) {
        snprintf(opts, sizeof(opts), "rw,nosuid,nodev,exec,size=%llu,mode=0755%s",
                 (unsigned long long)cfg->tmpfs_bytes, owner);
        cJSON_AddStringToObject(tmpfs, DOCKER_WORKDIR, opts);
    } else {
        snprintf(opts, sizeof(opts), "size=%llu,mode=0755,nosuid,nodev%s",
                 (unsigned long long)cfg->tmpfs_bytes, owner);
        cJSON *mounts = cJSON_CreateArray();
        cJSON *m = cJSON_CreateObject();
        cJSON *vo = cJSON_CreateObject();
        cJSON *dc = cJSON_CreateObject();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "tmpfs");
        cJSON_AddStringToObject(o, "device", "tmpfs");
        cJSON_AddStringToObject(o, "o", opts);
        cJSON_AddStringToObject(dc, "Name", "local");
        cJSON_AddItemToObject(dc, "Options", o);
        cJSON_AddItemToObject(vo, "DriverConfig", dc);
        cJSON_AddStringToObject(m, "Type", "volume");
        cJSON_AddStringToObject(m, "Target", DOCKER_WORKDIR);
        cJSON_AddItemToObject(m, "VolumeOptions", vo);
        cJSON_AddItemToArray(mounts, m);
        cJSON_AddItemToObject(hc, "Mounts", mounts);
    }
    cJSON_AddItemToObject(hc, "Tmpfs", tmpfs);

    /* A rootless engine on cgroup v1 cannot put its containers in
     * cgroups of their own (an unprivileged user cannot be delegated a v1
     * hierarchy): Podman then ignores memory, pids and CPU limits. They
     * are not asked for, so not reported as applied either. */
    int cgroups = !(e->rootless && e->cgroup_v1);
    applied->memory = cgroups ? docker_min_limit(cfg->memory, limits->memory_bytes) : 0;
    if (applied->memory) {
        if (applied->memory < (6u << 20))
            applied->memory = 6u << 20; /* the engine's minimum */
        cJSON_AddNumberToObject(hc, "Memory", (double)applied->memory);
        /* Equal to Memory: no swap, so the limit is the limit. */
        cJSON_AddNumberToObject(hc, "MemorySwap", (double)applied->memory);
        applied->bits |= RUNBOX_LIMIT_MEMORY;
    }
    applied->pids = cgroups ? (uint32_t)docker_min_limit(cfg->pids_limit,
                                                         limits->processes) : 0;
    if (applied->pids) {
        cJSON_AddNumberToObject(hc, "PidsLimit", applied->pids);
        applied->bits |= RUNBOX_LIMIT_PROCESSES;
    }
    if (cfg->cpus > 0 && cgroups) {
        applied->nano_cpus = (int64_t)(cfg->cpus * 1e9);
        cJSON_AddNumberToObject(hc, "NanoCpus", (double)applied->nano_cpus);
    }
    if (limits->cpu_seconds > 0 && kind != DOCKER_KEEPER) {
        /* SIGXCPU at the soft limit, SIGKILL one second later. */
        applied->cpu_seconds = (uint64_t)limits->cpu_seconds +
                               (limits->cpu_seconds > (uint64_t)limits->cpu_seconds);
        docker_add_ulimit(ulimits, "cpu", applied->cpu_seconds,
                          applied->cpu_seconds + 1);
        applied->bits |= RUNBOX_LIMIT_CPU;
    }
    if (limits->file_bytes) {
        applied->file_bytes = limits->file_bytes;
        docker_add_ulimit(ulimits, "fsize", limits->file_bytes, limits->file_bytes);
        applied->bits |= RUNBOX_LIMIT_FILE_SIZE;
    }
    if (limits->open_files) {
        applied->open_files = limits->open_files;
        docker_add_ulimit(ulimits, "nofile", limits->open_files, limits->open_files);
        applied->bits |= RUNBOX_LIMIT_OPEN_FILES;
    }
    /* Podman, given any ulimit, adds nofile and nproc ones of its own at
     * their maximum (rootless: at its own hard limits), which the runtime
     * then fails to set where the engine lacks CAP_SYS_RESOURCE ("error
     * setting rlimit type 6"). It gets none: the init (run) and the exec
     * prelude (sessions) set the same limits inside, as for gVisor. */
    if (e->podman)
        cJSON_Delete(ulimits);
    else
        cJSON_AddItemToObject(hc, "Ulimits", ulimits);
    cJSON_AddItemToObject(spec, "HostConfig", hc);
    if (kind != DOCKER_KEEPER) {
        uint64_t nums[3] = {applied->cpu_seconds, applied->file_bytes,
                            applied->open_files};
        for (size_t i = 0; i < 3; i++) {
            snprintf(num, sizeof(num), "%llu", (unsigned long long)nums[i]);
            cJSON_AddItemToArray(cmd, cJSON_CreateString(num));
        }
        const char *driver[] = {"python3", "-I", "-c", interp_driver_source, NULL};
        if (kind == DOCKER_RUN_DRIVER)
            argv = driver;
        for (size_t i = 0; argv && argv[i]; i++)
            cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
    }
    return spec;
}

/* ------------------------------------------------------------------ */
/* Images                                                              */
/* ------------------------------------------------------------------ */
typedef struct docker_pull {
    const runbox_host *host;
    int show;        /* stderr is a terminal */
    char line[4096];
    size_t line_len;
    char error[512];
} docker_pull;

static void docker_pull_line(docker_pull *p)
{
    p->line[p->line_len] = '\0';
    p->line_len = 0;
    cJSON *doc = cJSON_Parse(p->line);
    cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
    if (!cJSON_IsString(err))
        err = cJSON_GetObjectItemCaseSensitive(doc, "message");
    if (cJSON_IsString(err) && !p->error[0])
        snprintf(p->error, sizeof(p->error), "%s", err->valuestring);
    if (p->show) {
        cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
        cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
        cJSON *progress = cJSON_GetObjectItemCaseSensitive(doc, "progress");
        if (cJSON_IsString(status))
            fprintf(stderr, "\r\033[K%s%s%s %s", cJSON_IsString(id) ? id->valuestring : "",
                    cJSON_IsString(id) ? ": " : "", status->valuestring,
                    cJSON_IsString(progress) ? progress->valuestring : "");
    }
    cJSON_Delete(doc);
}

static int docker_pull_chunk(void *arg, const char *data, size_t len)
{
    docker_pull *p = arg;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n' || p->line_len == sizeof(p->line) - 1)
            docker_pull_line(p);
        else
            p->line[p->line_len++] = data[i];
    }
    return RUNBOX_OK;
}

static int docker_image_pull(docker_conn *c, const char *image)
{
    docker_engine *e = c->engine;
    /* fromImage=repo and tag=tag; the tag is what follows the last ':'
     * after the last '/', so that registry:5000/name works. */
    char *repo = strdup(image);
    if (!repo)
        return e->host->fail(e->h, RUNBOX_ENOMEM, "out of memory");
    const char *tag = "latest";
    char *slash = strrchr(repo, '/'), *colon = strrchr(repo, ':');
    if (strchr(repo, '@'))
        tag = NULL;
    else if (colon && (!slash || colon > slash)) {
        *colon = '\0';
        tag = colon + 1;
    }
    char *erepo = curl_easy_escape(c->curl, repo, 0);
    char *etag = tag ? curl_easy_escape(c->curl, tag, 0) : NULL;
    char *path = NULL;
    int n = asprintf(&path, "/images/create?fromImage=%s%s%s", erepo,
                     etag ? "&tag=" : "", etag ? etag : "");
    curl_free(erepo);
    curl_free(etag);
    free(repo);
    if (n < 0)
        return e->host->fail(e->h, RUNBOX_ENOMEM, "out of memory");

    docker_pull pull = {.host = e->host, .show = isatty(2)};
    long status = 0;
    e->host->log(e->h, RUNBOX_LOG_INFO, "pulling image %s", image);
    int rc = docker_request_stream(c, "POST", path, docker_pull_chunk, &pull,
                                   &status);
    free(path);
    if (pull.line_len)
        docker_pull_line(&pull);
    if (pull.show)
        fputs("\r\033[K", stderr);
    if (rc != RUNBOX_OK)
        return rc;
    if (status != 200 || pull.error[0])
        return e->host->fail(e->h, RUNBOX_EBACKEND,
                             "Docker could not pull image %s: %s — build it "
                             "locally with " DOCKER_IMAGE_SCRIPT " (no registry "
                             "needed) or `docker build -t %s "
                             "backends/docker/image`, or set image in [docker]",
                             image, pull.error[0] ? pull.error : "pull refused",
                             image);
    return RUNBOX_OK;
}

int docker_container_create(docker_conn *c, const docker_config *cfg,
                            cJSON *spec, char **id)
{
    docker_engine *e = c->engine;
    char *body = cJSON_PrintUnformatted(spec);
    cJSON_Delete(spec);
    if (!body)
        return e->host->fail(e->h, RUNBOX_ENOMEM, "out of memory");
    docker_response r;
    int rc = RUNBOX_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = docker_request(c, "POST", "/containers/create", NULL, body,
                            strlen(body), 60, &r);
        if (rc != RUNBOX_OK)
            break;
        if (r.status == 404 && attempt == 0) {
            docker_response_clear(&r);
            if (!cfg->pull) {
                rc = e->host->fail(e->h, RUNBOX_EBACKEND,
                                   "image %s is not on Docker at %s: build it "
                                   "with " DOCKER_IMAGE_SCRIPT " or set pull "
                                   "= on in [docker]", cfg->image,
                                   e->docker_host);
                break;
            }
            rc = docker_image_pull(c, cfg->image);
            if (rc != RUNBOX_OK)
                break;
            continue;
        }
        if (r.status != 201) {
            rc = docker_api_error(e, &r, "creating a container");
            docker_response_clear(&r);
            break;
        }
        cJSON *doc = cJSON_Parse(r.body);
        cJSON *jid = cJSON_GetObjectItemCaseSensitive(doc, "Id");
        *id = cJSON_IsString(jid) ? strdup(jid->valuestring) : NULL;
        cJSON_Delete(doc);
        docker_response_clear(&r);
        if (!*id)
            rc = e->host->fail(e->h, RUNBOX_EPROTO,
                               "Docker created a container but sent no Id");
        break;
    }
    free(body);
    return rc;
}

/* A request on one container whose expected answers are 2xx/304;
 * not_found_ok makes a 404 (already gone) a success too. */
static int docker_container_call(docker_conn *c, const char *method,
                                 const char *id, const char *suffix,
                                 double timeout_s, int not_found_ok,
                                 const char *what, docker_response *out)
{
    char path[256];
    snprintf(path, sizeof(path), "/containers/%s%s", id, suffix);
    docker_response r;
    int rc = docker_request(c, method, path, NULL, NULL, 0, timeout_s, &r);
    if (rc != RUNBOX_OK)
        return rc;
    if ((r.status >= 200 && r.status < 300) || r.status == 304 ||
        (not_found_ok && r.status == 404)) {
        if (out)
            *out = r;
        else
            docker_response_clear(&r);
        return RUNBOX_OK;
    }
    rc = docker_api_error(c->engine, &r, what);
    if (r.status == 404 || r.status == 409)
        rc = c->engine->host->fail(c->engine->h, RUNBOX_EGONE,
                                   "the sandbox's container is gone: %s", what);
    docker_response_clear(&r);
    return rc;
}

int docker_container_start(docker_conn *c, const char *id)
{
    return docker_container_call(c, "POST", id, "/start", 60, 0,
                                 "starting the container", NULL);
}

int docker_container_kill(docker_conn *c, const char *id, const char *signal)
{
    /* 409 = not running any more, which is what we wanted. */
    char path[256];
    snprintf(path, sizeof(path), "/containers/%s/kill?signal=%s", id, signal);
    docker_response r;
    int rc = docker_request(c, "POST", path, NULL, NULL, 0, 30, &r);
    if (rc == RUNBOX_OK && r.status != 204 && r.status != 409 && r.status != 404)
        rc = docker_api_error(c->engine, &r, "signalling the container");
    docker_response_clear(&r);
    return rc;
}

int docker_container_remove(docker_conn *c, const char *id)
{
    /* Podman refuses a forced removal while a container that has just
     * exited is still being cleaned up ("could not be stopped ... container
     * state improper: stopped", HTTP 500); a moment later it succeeds. */
    for (int attempt = 0; c->engine->podman && attempt < 50; attempt++) {
        char path[256];
        snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
        docker_response r;
        int rc = docker_request(c, "DELETE", path, NULL, NULL, 0, 60, &r);
        if (rc == RUNBOX_OK && ((r.status >= 200 && r.status < 300) ||
                                r.status == 404)) {
            docker_response_clear(&r);
            return RUNBOX_OK;
        }
        int improper = rc == RUNBOX_OK && r.status == 500 && r.body &&
                       strstr(r.body, "state improper");
        docker_response_clear(&r);
        if (!improper)
            break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return docker_container_call(c, "DELETE", id, "?force=1&v=1", 60, 1,
                                 "removing the container", NULL);
}

int docker_container_wait(docker_conn *c, const char *id, double timeout_s,
                          int *status)
{
    docker_response r;
    int rc = docker_container_call(c, "POST", id, "/wait", timeout_s, 0,
                                   "waiting for the container", &r);
    if (rc != RUNBOX_OK)
        return rc;
    cJSON *doc = cJSON_Parse(r.body);
    cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "StatusCode");
    if (cJSON_IsNumber(code))
        *status = code->valueint;
    else
        rc = c->engine->host->fail(c->engine->h, RUNBOX_EPROTO,
                                   "Docker's wait answer has no StatusCode");
    cJSON_Delete(doc);
    docker_response_clear(&r);
    return rc;
}

int docker_container_state(docker_conn *c, const char *id, int *oom_killed,
                           int *running)
{
    docker_response r;
    int rc = docker_container_call(c, "GET", id, "/json", 30, 0,
                                   "inspecting the container", &r);
    if (rc != RUNBOX_OK)
        return rc;
    cJSON *doc = cJSON_Parse(r.body);
    cJSON *state = cJSON_GetObjectItemCaseSensitive(doc, "State");
    if (oom_killed)
        *oom_killed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "OOMKilled"));
    if (running)
        *running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
    cJSON_Delete(doc);
    docker_response_clear(&r);
    return RUNBOX_OK;
}

/* ------------------------------------------------------------------ */
/* Exec                                                                */
/* ------------------------------------------------------------------ */
int docker_exec_create(docker_conn *c, const docker_config *cfg,
                       const char *id, const char *const *argv,
                       const char *const *env, int attach, char **exec_id)
{
    cJSON *body = cJSON_CreateObject();
    if (!body)
        return c->engine->host->fail(c->engine->h, RUNBOX_ENOMEM, "out of memory");
    cJSON_AddBoolToObject(body, "AttachStdin", attach);
    cJSON_AddBoolToObject(body, "AttachStdout", attach);
    cJSON_AddBoolToObject(body, "AttachStderr", attach);
    cJSON_AddBoolToObject(body, "Tty", 0);
    cJSON_AddStringToObject(body, "User", cfg->user);
    cJSON_AddStringToObject(body, "WorkingDir", DOCKER_WORKDIR);
    cJSON_AddItemToObject(body, "Env", docker_env_array(env));
    cJSON_AddItemToObject(body, "Cmd", docker_string_array(argv));
    char path[256];
    snprintf(path, sizeof(path), "/containers/%s/exec", id);
    cJSON *doc = NULL;
    long status = 0;
    int rc = docker_call_json(c, "POST", path, body, 30, 201,
                              "creating an exec", &doc, &status);
    if (status == 404 || status == 409)
        return c->engine->host->fail(c->engine->h, RUNBOX_EGONE,
                                     "the sandbox's container is no longer "
                                     "running (it was stopped or removed)");
    if (rc != RUNBOX_OK)
        return rc;
    cJSON *jid = cJSON_GetObjectItemCaseSensitive(doc, "Id");
    *exec_id = cJSON_IsString(jid) ? strdup(jid->valuestring) : NULL;
    cJSON_Delete(doc);
    if (!*exec_id)
        return c->engine->host->fail(c->engine->h, RUNBOX_EPROTO,
                                     "Docker created an exec but sent no Id");
    return RUNBOX_OK;
}

int docker_exec_exit_code(docker_conn *c, const char *exec_id, int *code)
{
    char path[256];
    snprintf(path, sizeof(path), "/exec/%s/json", exec_id);
    /* The stream can end a moment before the engine records the exit. */
    for (int attempt = 0; attempt < 500; attempt++) {
        cJSON *doc = NULL;
        int rc = docker_call_json(c, "GET", path, NULL, 30, 200,
                                  "inspecting an exec", &doc, NULL);
        if (rc != RUNBOX_OK)
            return rc;
        int running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "Running"));
        cJSON *ec = cJSON_GetObjectItemCaseSensitive(doc, "ExitCode");
        if (!running && cJSON_IsNumber(ec))
            *code = ec->valueint;
        cJSON_Delete(doc);
        if (!running)
            return RUNBOX_OK;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return c->engine->host->fail(c->engine->h, RUNBOX_ETIMEOUT,
                                 "an exec's stream ended but it kept running");
}

/* ------------------------------------------------------------------ */
/* Leftovers of crashed runs                                           */
/* ------------------------------------------------------------------ */
static int docker_owner_dead(const char *pid_s, const char *start_s)
{
    char *end;
    long pid = strtol(pid_s, &end, 10);
    if (end == pid_s || *end || pid <= 0)
        return 1;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 1;
    /* Alive, but maybe a new process that got the same pid. */
    unsigned long long start = start_s ? strtoull(start_s, NULL, 10) : 0;
    unsigned long long now_start = docker_pid_start(pid);
    return start && now_start && start != now_start;
}

int docker_reap_leftovers(docker_conn *c, const docker_owner *self)
{
    docker_engine *e = c->engine;
    cJSON *list = NULL;
    /* filters={"label":["runbox=1"]}, URL-encoded. */
    int rc = docker_call_json(c, "GET",
                              "/containers/json?all=1&filters=%7B%22label%22"
                              "%3A%5B%22" DOCKER_LABEL "%3D1%22%5D%7D",
                              NULL, 30, 200, "listing containers", &list, NULL);
    if (rc != RUNBOX_OK)
        return rc;
    int removed = 0;
    cJSON *item;
    cJSON_ArrayForEach(item, list) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "Id");
        cJSON *labels = cJSON_GetObjectItemCaseSensitive(item, "Labels");
        cJSON *host = cJSON_GetObjectItemCaseSensitive(labels, DOCKER_LABEL_HOST);
        cJSON *pid = cJSON_GetObjectItemCaseSensitive(labels, DOCKER_LABEL_PID);
        cJSON *start = cJSON_GetObjectItemCaseSensitive(labels, DOCKER_LABEL_PID_START);
        /* Only this machine's pids mean anything here: a shared engine may
         * serve runbox processes on other hosts. */
        if (!cJSON_IsString(id) || !cJSON_IsString(host) || !cJSON_IsString(pid) ||
            strcmp(host->valuestring, self->hostname) != 0)
            continue;
        if (!docker_owner_dead(pid->valuestring,
                               cJSON_IsString(start) ? start->valuestring : NULL))
            continue;
        if (docker_container_remove(c, id->valuestring) == RUNBOX_OK) {
            removed++;
            e->host->log(e->h, RUNBOX_LOG_INFO,
                         "removed container %.12s left by crashed runbox pid %s",
                         id->valuestring, pid->valuestring);
        }
    }
    cJSON_Delete(list);
    return removed;
}
