/*
 * The Security and Resource management rows. Each question is answered by
 * code run inside the backend against something the host set up for it:
 * a marker file with random content, a random environment variable, TCP
 * listeners that send a random token, and limits that the probe exceeds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "probes.h"

#define CMP_CANARY_VAR "RUNBOX_COMPARE_CANARY"

static void cmp_random_hex(char *out, size_t bytes)
{
    unsigned char raw[32];
    if (bytes > sizeof raw)
        bytes = sizeof raw;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, raw, bytes) : -1;
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < bytes; i++) {
        if (got != (ssize_t)bytes)
            raw[i] = (unsigned char)(rand() ^ (getpid() >> (i % 8)));
        sprintf(out + 2 * i, "%02x", raw[i]);
    }
}

/* ---- host fixtures: TCP listeners that answer with a token ---- */

typedef struct cmp_listener {
    int fd[2];         /* [0] 127.0.0.1, [1] a non-loopback address (or -1) */
    int port[2];
    char token[2][40];
    char addr[INET_ADDRSTRLEN];
    char iface[IF_NAMESIZE + 1];
    int stop[2];
    pthread_t thread;
    int running;
} cmp_listener;

static int cmp_listen_on(const char *ip, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    if (fd < 0)
        return -1;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&sa, &len)) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* The address of this host that the outside would use: an up, non-loopback
 * IPv4 interface, preferring real ones over container bridges. */
static int cmp_host_address(char *addr, char *iface)
{
    struct ifaddrs *ifs = NULL;
    int best = -1;
    if (getifaddrs(&ifs))
        return -1;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
            !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        int bridge = !strncmp(i->ifa_name, "docker", 6) ||
                     !strncmp(i->ifa_name, "br-", 3) ||
                     !strncmp(i->ifa_name, "veth", 4);
        int rank = bridge ? 1 : 2;
        if (rank <= best)
            continue;
        best = rank;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr,
                  INET_ADDRSTRLEN);
        snprintf(iface, IF_NAMESIZE + 1, "%s", i->ifa_name);
    }
    freeifaddrs(ifs);
    return best > 0 ? 0 : -1;
}

static void *cmp_listener_main(void *arg)
{
    cmp_listener *l = arg;
    for (;;) {
        struct pollfd p[3] = {{l->stop[0], POLLIN, 0}, {l->fd[0], POLLIN, 0},
                              {l->fd[1], POLLIN, 0}};
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        for (int k = 0; k < 2; k++) {
            if (!(p[k + 1].revents & POLLIN))
                continue;
            int c = accept4(l->fd[k], NULL, NULL, SOCK_CLOEXEC);
            if (c < 0)
                continue;
            ssize_t w = write(c, l->token[k], strlen(l->token[k]));
            (void)w;
            close(c);
        }
    }
    return NULL;
}

static void cmp_listener_start(cmp_listener *l)
{
    memset(l, 0, sizeof *l);
    l->fd[0] = l->fd[1] = l->stop[0] = l->stop[1] = -1;
    cmp_random_hex(l->token[0], 16);
    cmp_random_hex(l->token[1], 16);
    l->fd[0] = cmp_listen_on("127.0.0.1", &l->port[0]);
    if (!cmp_host_address(l->addr, l->iface))
        l->fd[1] = cmp_listen_on(l->addr, &l->port[1]);
    if (l->fd[1] < 0)
        l->addr[0] = '\0';
    if (pipe2(l->stop, O_CLOEXEC) == 0 &&
        pthread_create(&l->thread, NULL, cmp_listener_main, l) == 0)
        l->running = 1;
}

static void cmp_listener_stop(cmp_listener *l)
{
    if (l->running) {
        ssize_t w = write(l->stop[1], "x", 1);
        (void)w;
        pthread_join(l->thread, NULL);
    }
    for (int k = 0; k < 2; k++) {
        if (l->fd[k] >= 0)
            close(l->fd[k]);
        if (l->stop[k] >= 0)
            close(l->stop[k]);
    }
}

/* ---- host fixtures: marker files ---- */

typedef struct cmp_markers {
    char path[2][4096];
    size_t count;
    char secret[40];
} cmp_markers;

static void cmp_markers_make(cmp_markers *m)
{
    memset(m, 0, sizeof *m);
    cmp_random_hex(m->secret, 16);
    const char *tmp = getenv("TMPDIR");
    char cwd[3800];
    snprintf(m->path[0], sizeof m->path[0], "%s/runbox-compare-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (getcwd(cwd, sizeof cwd))
        snprintf(m->path[1], sizeof m->path[1], "%s/.runbox-compare-XXXXXX", cwd);
    for (int k = 0; k < 2; k++) {
        if (!m->path[k][0])
            continue;
        int fd = mkstemp(m->path[k]);
        if (fd < 0 || write(fd, m->secret, strlen(m->secret)) < 0 ||
            fchmod(fd, 0644)) {
            if (fd >= 0) {
                close(fd);
                unlink(m->path[k]);
            }
            m->path[k][0] = '\0';
            continue;
        }
        close(fd);
        if (k != (int)m->count)
            memcpy(m->path[m->count], m->path[k], sizeof m->path[k]);
        m->count++;
    }
}

static void cmp_markers_remove(cmp_markers *m)
{
    for (size_t k = 0; k < m->count; k++)
        unlink(m->path[k]);
}

/* ---- the security probe ---- */

/* Runs inside the backend; the host's values are prepended as variables.
 * It only reports what it saw; the host decides what that means. */
static const char security_probe[] =
    "import errno, json, os, socket\n"
    "R = {}\n"
    "def why(e):\n"
    "    n = getattr(e, 'errno', None)\n"
    "    if isinstance(e, socket.timeout): return 'timed out'\n"
    "    return errno.errorcode.get(n, type(e).__name__) if n else type(e).__name__\n"
    "def read(p):\n"
    "    try:\n"
    "        with open(p) as f: return 'match' if f.read().strip() == SECRET else 'other content'\n"
    "    except Exception as e: return why(e)\n"
    "R['file'] = [[p, read(p)] for p in PATHS]\n"
    "R['env'] = sorted(k for k, v in os.environ.items() if CANARY in v)\n"
    "def connect(host, port, token):\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
    "    s.settimeout(2)\n"
    "    try:\n"
    "        s.connect((host, port))\n"
    "        try: got = s.recv(64).decode('ascii', 'replace')\n"
    "        except Exception: got = ''\n"
    "        return 'token' if got == token else 'connected'\n"
    "    except Exception as e: return why(e)\n"
    "    finally: s.close()\n"
    "R['loopback'] = connect('127.0.0.1', LPORT, LTOKEN)\n"
    "R['network'] = connect(NADDR, NPORT, NTOKEN) if NPORT else None\n"
    "try:\n"
    "    with open('/proc/net/dev') as f:\n"
    "        R['ifaces'] = sorted(l.split(':')[0].strip() for l in list(f)[2:])\n"
    "except Exception: R['ifaces'] = None\n"
    "R['routes'] = []\n"
    "try:\n"
    "    with open('/proc/net/route') as f:\n"
    "        for line in list(f)[1:]:\n"
    "            p = line.split()\n"
    "            if len(p) > 1 and p[0] != 'lo':\n"
    "                R['routes'].append(p[0] + (' (default)' if p[1] == '00000000' else ''))\n"
    "except Exception: pass\n"
    "R['uid'] = os.getuid()\n"
    "R['capeff'] = None\n"
    "try:\n"
    "    with open('/proc/self/status') as f:\n"
    "        for line in f:\n"
    "            if line.startswith('CapEff:'): R['capeff'] = line.split()[1]\n"
    "except Exception: pass\n"
    "print('RUNBOX_COMPARE ' + json.dumps(R))\n";

/* A Python string literal (the host's paths may hold quotes). */
static void cmp_py_str(char *out, size_t size, const char *s)
{
    size_t n = 0;
    if (size < 3)
        return;
    out[n++] = '\'';
    for (; *s && n + 4 < size; s++) {
        if (*s == '\'' || *s == '\\')
            out[n++] = '\\';
        out[n++] = *s;
    }
    out[n++] = '\'';
    out[n] = '\0';
}

static char *cmp_security_code(const cmp_markers *m, const cmp_listener *l,
                               const char *canary)
{
    char paths[2][8300], addr[64];
    for (int k = 0; k < 2; k++)
        cmp_py_str(paths[k], sizeof paths[k], m->path[k]);
    cmp_py_str(addr, sizeof addr, l->addr);
    char *code = NULL;
    if (asprintf(&code,
                 "SECRET = '%s'\nPATHS = [%s%s%s]\nCANARY = '%s'\n"
                 "LPORT = %d\nLTOKEN = '%s'\nNADDR = %s\nNPORT = %d\nNTOKEN = '%s'\n%s",
                 m->secret, m->count > 0 ? paths[0] : "", m->count > 1 ? ", " : "",
                 m->count > 1 ? paths[1] : "", canary, l->port[0], l->token[0],
                 addr, l->fd[1] >= 0 ? l->port[1] : 0, l->token[1],
                 security_probe) < 0)
        return NULL;
    return code;
}

static const char *cmp_json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "a, b, c" from a JSON array of strings; "none" when empty. */
static void cmp_join(char *out, size_t size, const cJSON *arr)
{
    size_t n = 0;
    out[0] = '\0';
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (cJSON_IsString(it))
            n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s",
                                  n ? ", " : "", it->valuestring);
    }
    if (!out[0])
        snprintf(out, size, "none");
}

static int cmp_in_userns(const runbox_result *r)
{
    return strstr(r->isolation, "user") && strstr(r->isolation, "namespace");
}

static void cmp_security_verdicts(cmp_backend *b, const cJSON *j,
                                  const runbox_result *r, const cmp_markers *m,
                                  const cmp_listener *l, const char *canary)
{
    /* host file */
    const cJSON *it;
    char seen[600] = "";
    size_t n = 0;
    const char *hit = NULL;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "file")) {
        const char *p = cJSON_GetStringValue(cJSON_GetArrayItem(it, 0));
        const char *what = cJSON_GetStringValue(cJSON_GetArrayItem(it, 1));
        if (!p || !what)
            continue;
        if (!strcmp(what, "match") && !hit)
            hit = p;
        n += (size_t)snprintf(seen + n, n < sizeof seen ? sizeof seen - n : 0,
                              "%s%s: %s", n ? "; " : "", p, what);
    }
    if (hit)
        cmp_set(b, CMP_SEC_FILE, "yes", "read %s and its random content matches "
                "what the host wrote", hit);
    else
        cmp_set(b, CMP_SEC_FILE, "no", "%s", m->count ? seen
                : "no marker file could be written on the host");

    /* environment */
    char names[300];
    cmp_join(names, sizeof names, cJSON_GetObjectItemCaseSensitive(j, "env"));
    if (strcmp(names, "none"))
        cmp_set(b, CMP_SEC_ENV, "yes", "the random value of $%s is visible "
                "inside as %s", CMP_CANARY_VAR, names);
    else
        cmp_set(b, CMP_SEC_ENV, "no", "%s=%s was set in runbox's environment; "
                "no variable inside holds that value", CMP_CANARY_VAR, canary);

    /* host loopback */
    const char *lo = cmp_json_str(j, "loopback");
    if (lo && !strcmp(lo, "token"))
        cmp_set(b, CMP_SEC_LOOPBACK, "yes", "connected to 127.0.0.1:%d and "
                "received the token of runbox's listener", l->port[0]);
    else
        cmp_set(b, CMP_SEC_LOOPBACK, "no", "connect 127.0.0.1:%d: %s%s", l->port[0],
                lo ? lo : "?", lo && !strcmp(lo, "connected")
                ? " (something answered, but not runbox's listener: the "
                  "sandbox's own loopback)" : "");

    /* network: no internet here, so a non-loopback address of this host
     * stands in for "somewhere else", next to the interfaces inside. */
    char ifaces[300], routes[300];
    cmp_join(ifaces, sizeof ifaces, cJSON_GetObjectItemCaseSensitive(j, "ifaces"));
    cmp_join(routes, sizeof routes, cJSON_GetObjectItemCaseSensitive(j, "routes"));
    const char *net = cmp_json_str(j, "network");
    if (l->addr[0] && net && !strcmp(net, "token"))
        cmp_set(b, CMP_SEC_NETWORK, "yes", "connected to %s:%d (the host's %s "
                "address) and received runbox's token; interfaces inside: %s; "
                "routes: %s", l->addr, l->port[1], l->iface, ifaces, routes);
    else if (l->addr[0])
        cmp_set(b, CMP_SEC_NETWORK, "no", "connect %s:%d (the host's %s address): "
                "%s; interfaces inside: %s; routes: %s", l->addr, l->port[1],
                l->iface, net ? net : "?", ifaces, routes);
    else
        cmp_set(b, CMP_SEC_NETWORK, strcmp(routes, "none") ? "has routes" : "no",
                "the host has no non-loopback address to try; interfaces "
                "inside: %s; routes: %s", ifaces, routes);

    /* root and capabilities */
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(j, "uid");
    int userns = cmp_in_userns(r);
    const char *host_uid = strstr(r->isolation, "uid ");
    if (!cJSON_IsNumber(uid))
        cmp_set(b, CMP_SEC_ROOT, "error", "the probe reported no uid");
    else if (uid->valueint == 0 && userns)
        cmp_set(b, CMP_SEC_ROOT, "yes (userns)", "uid 0 inside: root in a user "
                "namespace, %s (isolation: %s)", host_uid ? host_uid
                : "not root on the host", r->isolation);
    else
        cmp_set(b, CMP_SEC_ROOT, uid->valueint == 0 ? "yes" : "no",
                "uid %d inside; isolation: %s", uid->valueint,
                r->isolation[0] ? r->isolation : "not reported");

    const char *cap = cmp_json_str(j, "capeff");
    unsigned long long bits = cap ? strtoull(cap, NULL, 16) : 0;
    if (!cap)
        cmp_set(b, CMP_SEC_CAPS, "unknown", "no CapEff line in /proc/self/status");
    else if (!bits)
        cmp_set(b, CMP_SEC_CAPS, "no", "CapEff %s", cap);
    else
        cmp_set(b, CMP_SEC_CAPS, userns ? "yes (userns)" : "yes",
                "CapEff %s: %d capabilities%s", cap, __builtin_popcountll(bits),
                userns ? ", valid only over the sandbox's own namespaces" : "");
}

static const cmp_row security_rows[] = {CMP_SEC_FILE, CMP_SEC_ENV, CMP_SEC_LOOPBACK,
                                        CMP_SEC_NETWORK, CMP_SEC_ROOT, CMP_SEC_CAPS};

static void cmp_rows_fail(cmp_backend *b, const cmp_row *rows, size_t n,
                          const char *value, const char *why)
{
    for (size_t i = 0; i < n; i++)
        cmp_set(b, rows[i], value, "%s", why);
}

void cmp_probe_security(const probe_options *o, cmp_backend *b)
{
    cmp_progress(o, b->name, "security probes");
    cmp_markers m;
    cmp_listener l;
    char canary[40], err[600];
    cmp_random_hex(canary, 16);
    cmp_markers_make(&m);
    cmp_listener_start(&l);
    /* Set before the context opens: a backend may copy the environment. */
    setenv(CMP_CANARY_VAR, canary, 1);
    runbox_context *ctx = NULL;
    runbox_result r;
    runbox_result_init(&r);
    char *code = cmp_security_code(&m, &l, canary);
    int rc = code ? cmp_open(&ctx, o, b->name, NULL, err, sizeof err) : RUNBOX_ENOMEM;
    if (!rc) {
        runbox_exec_options opt = {.code = code, .timeout = 30};
        rc = runbox_execute(ctx, &opt, &r);
        if (rc)
            snprintf(err, sizeof err, "%s", cmp_describe(&r));
    }
    unsetenv(CMP_CANARY_VAR);
    cJSON *j = rc ? NULL : cJSON_Parse(cmp_report_line(&r) ? cmp_report_line(&r) : "");
    if (rc)
        cmp_rows_fail(b, security_rows, 6, "error", err);
    else if (!j)
        cmp_rows_fail(b, security_rows, 6, "error", cmp_describe(&r));
    else
        cmp_security_verdicts(b, j, &r, &m, &l, canary);
    cJSON_Delete(j);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
    free(code);
    cmp_listener_stop(&l);
    cmp_markers_remove(&m);
}

/* ---- resource management ---- */

static const char memory_probe[] =
    "chunks = []\n"
    "for _ in range(64):\n"
    "    chunks.append(b'x' * (8 << 20))\n"
    "print('RUNBOX_COMPARE', len(chunks) * 8)\n";

static const char process_probe[] =
    "import errno, os, time\n"
    "kids, why = [], 'no failure'\n"
    "try:\n"
    "    for _ in range(200):\n"
    "        pid = os.fork()\n"
    "        if pid == 0:\n"
    "            time.sleep(3)\n"
    "            os._exit(0)\n"
    "        kids.append(pid)\n"
    "except OSError as e:\n"
    "    why = errno.errorcode.get(e.errno, str(e))\n"
    "for k in kids:\n"
    "    try: os.kill(k, 9)\n"
    "    except OSError: pass\n"
    "for k in kids:\n"
    "    try: os.waitpid(k, 0)\n"
    "    except OSError: pass\n"
    "print('RUNBOX_COMPARE', len(kids), why)\n";

static const char output_probe[] =
    "import sys\n"
    "sys.stdout.write('x' * (4 << 20))\n"
    "sys.stdout.flush()\n";

/* Runs code once in a context with the overrides; 0 with r filled, or
 * non-zero with the reason in err (the backend refused the limit). */
static int cmp_run_limited(const probe_options *o, const cmp_backend *b,
                           const char *const *overrides, const char *code,
                           double timeout, runbox_result *r, double *wall,
                           char *err, size_t err_size)
{
    runbox_context *ctx = NULL;
    int rc = cmp_open(&ctx, o, b->name, overrides, err, err_size);
    if (rc)
        return rc;
    runbox_exec_options opt = {.code = code, .timeout = timeout};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = runbox_execute(ctx, &opt, r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc)
        snprintf(err, err_size, "%s", cmp_describe(r));
    runbox_context_free(ctx);
    return rc;
}

void cmp_probe_resources(const probe_options *o, cmp_backend *b)
{
    char err[600];
    double wall = 0;
    runbox_result r;
    runbox_result_init(&r);

    cmp_progress(o, b->name, "timeout probe");
    if (cmp_run_limited(o, b, NULL, "while True:\n    pass\n", 2, &r, &wall, err,
                        sizeof err))
        cmp_set(b, CMP_RES_TIMEOUT, "error", "%s", err);
    else
        cmp_set(b, CMP_RES_TIMEOUT, r.verdict == RUNBOX_VERDICT_TIMEOUT ? "yes" : "no",
                "`while True: pass` with a 2 s timeout: verdict %s after %.2f s",
                runbox_verdict_name(r.verdict), wall);
    runbox_result_clear(&r);

    cmp_progress(o, b->name, "memory probe");
    static const char *const mem[] = {"memory", "256m", NULL};
    if (cmp_run_limited(o, b, mem, memory_probe, 30, &r, &wall, err, sizeof err))
        cmp_set(b, CMP_RES_MEMORY, "unsupported", "memory = 256m refused: %s", err);
    else if (r.verdict == RUNBOX_VERDICT_OOM ||
             (r.error_name && !strcmp(r.error_name, "MemoryError")))
        cmp_set(b, CMP_RES_MEMORY, "yes", "allocating 512 MiB under memory = "
                "256m: %s", r.verdict == RUNBOX_VERDICT_OOM ? "killed, verdict oom"
                : "MemoryError raised");
    else
        cmp_set(b, CMP_RES_MEMORY, "no", "allocating 512 MiB under memory = 256m: "
                "%s%s", cmp_report_line(&r) ? "all of it succeeded; "
                : "", cmp_describe(&r));
    runbox_result_clear(&r);

    cmp_progress(o, b->name, "process probe");
    static const char *const procs[] = {"processes", "64", NULL};
    int kids = -1;
    char why[64] = "";
    if (cmp_run_limited(o, b, procs, process_probe, 30, &r, &wall, err, sizeof err))
        cmp_set(b, CMP_RES_PROCESSES, "unsupported", "processes = 64 refused: %s", err);
    else if (!cmp_report_line(&r) ||
             sscanf(cmp_report_line(&r), "%d %63s", &kids, why) != 2)
        cmp_set(b, CMP_RES_PROCESSES, "error", "forking under processes = 64: %s",
                cmp_describe(&r));
    else if (kids < 200)
        cmp_set(b, CMP_RES_PROCESSES, "yes", "under processes = 64, fork failed "
                "(%s) after %d children", why, kids);
    else
        cmp_set(b, CMP_RES_PROCESSES, "no", "under processes = 64, 200 children "
                "were forked without a failure");
    runbox_result_clear(&r);

    cmp_progress(o, b->name, "output probe");
    static const char *const out[] = {"output_limit", "64k", NULL};
    if (cmp_run_limited(o, b, out, output_probe, 30, &r, &wall, err, sizeof err))
        cmp_set(b, CMP_RES_OUTPUT, "unsupported", "output_limit = 64k refused: %s", err);
    else
        cmp_set(b, CMP_RES_OUTPUT, r.out.truncated ? "yes" : "no",
                "printed 4 MiB under output_limit = 64k: kept %zu of %llu bytes, "
                "truncated flag %s, verdict %s", r.out.len,
                (unsigned long long)r.out.total, r.out.truncated ? "set" : "not set",
                runbox_verdict_name(r.verdict));
    runbox_result_clear(&r);
}
