/* Per-sandbox cgroups (v1: the memory and pids hierarchies).
 *
 * Groups live in a runbox/ folder below runbox's own group in each
 * hierarchy (so the limits of whatever contains runbox, a container or a
 * service, still cover its sandboxes), named by runbox's pid and a
 * counter, so concurrent runbox processes never collide. The memory limit
 * covers swap too where the kernel accounts it (memsw), so a sandbox
 * cannot push its pages out to keep growing. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_cgroup.h"

#define SP_CG_ROOT "/sys/fs/cgroup"

static int sp_cg_write(const char *dir, const char *file, const char *text)
{
    char path[640];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -(n < 0 ? e : EIO);
}

/* runbox's own group in the hierarchy of ctrl ("" = the root), from
 * /proc/self/cgroup ("4:memory:/path"). */
static void sp_cg_own(const char *ctrl, char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[512];
    size_t n = strlen(ctrl);
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (!c || strncmp(c + 1, ctrl, n) || c[1 + n] != ':')
            continue;
        char *path = c + 2 + n;
        path[strcspn(path, "\n")] = '\0';
        if (strcmp(path, "/") && !strstr(path, ".."))
            snprintf(out, size, "%s", path);
        break;
    }
    if (f)
        fclose(f);
}

static void sp_cg_parent(char *out, size_t size, const char *ctrl)
{
    char own[256];
    sp_cg_own(ctrl, own, sizeof own);
    snprintf(out, size, SP_CG_ROOT "/%s%s/runbox", ctrl, own);
}

static int sp_cg_make(char *out, size_t size, const char *ctrl, const char *name)
{
    char parent[320];
    sp_cg_parent(parent, sizeof parent, ctrl);
    snprintf(out, size, "%s/%s", parent, name);
    /* Another sandbox's removal may take the shared parent away between
     * the two mkdirs: then make it again. */
    for (int tries = 0; tries < 3; tries++) {
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
            break;
        if (mkdir(out, 0755) == 0)
            return 0;
        if (errno != ENOENT)
            break;
    }
    int e = errno;
    out[0] = '\0';
    return -e;
}

int sp_cgroup_create(sp_cgroup *g, uint64_t memory_bytes, uint32_t pids_max)
{
    static atomic_uint counter;
    memset(g, 0, sizeof *g);
    if (access(SP_CG_ROOT "/memory/memory.limit_in_bytes", W_OK) ||
        access(SP_CG_ROOT "/pids", W_OK))
        return -EACCES; /* no v1 hierarchies we may change */
    char name[64];
    snprintf(name, sizeof name, "sbx-%d-%u", (int)getpid(),
             atomic_fetch_add(&counter, 1));
    int rc = sp_cg_make(g->memory, sizeof g->memory, "memory", name);
    if (!rc)
        rc = sp_cg_make(g->pids, sizeof g->pids, "pids", name);
    char v[32];
    if (!rc && memory_bytes) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)memory_bytes);
        rc = sp_cg_write(g->memory, "memory.limit_in_bytes", v);
        /* Absent without swap accounting: then there is no swap to use. */
        int sw = sp_cg_write(g->memory, "memory.memsw.limit_in_bytes", v);
        if (!rc && sw && sw != -ENOENT)
            rc = sw;
    }
    if (!rc && pids_max) {
        snprintf(v, sizeof v, "%u", pids_max);
        rc = sp_cg_write(g->pids, "pids.max", v);
    }
    if (rc)
        sp_cgroup_remove(g);
    return rc;
}

int sp_cgroup_enter(const sp_cgroup *g, pid_t pid)
{
    char v[32];
    snprintf(v, sizeof v, "%d", (int)pid);
    int rc = sp_cg_write(g->memory, "cgroup.procs", v);
    return rc ? rc : sp_cg_write(g->pids, "cgroup.procs", v);
}

long sp_cgroup_oom_kills(const sp_cgroup *g)
{
    if (!g->memory[0])
        return -1;
    char path[640], buf[512];
    snprintf(path, sizeof path, "%s/memory.oom_control", g->memory);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *k = strstr(buf, "oom_kill ");
    return k ? atol(k + 9) : -1;
}

void sp_cgroup_remove(sp_cgroup *g)
{
    /* The last task's exit can lag its reaping by a moment. */
    char *dirs[2] = {g->memory, g->pids};
    for (int i = 0; i < 2; i++) {
        for (int t = 0; dirs[i][0] && t < 200; t++) {
            if (rmdir(dirs[i]) == 0 || errno == ENOENT)
                break;
            usleep(1000);
        }
        /* The runbox/ folder goes with its last group, so that nothing
         * of runbox keeps the group it lives in from being removed. */
        char *slash = dirs[i][0] ? strrchr(dirs[i], '/') : NULL;
        if (slash) {
            *slash = '\0';
            rmdir(dirs[i]);
        }
        dirs[i][0] = '\0';
    }
}

void sp_cgroup_sweep(void)
{
    static const char *const ctrls[] = {"memory", "pids"};
    for (int i = 0; i < 2; i++) {
        char parent[320];
        sp_cg_parent(parent, sizeof parent, ctrls[i]);
        DIR *d = opendir(parent);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            int pid = 0;
            if (sscanf(de->d_name, "sbx-%d-", &pid) != 1 || pid <= 0)
                continue;
            char dir[640];
            snprintf(dir, sizeof dir, "%s/%s", parent, de->d_name);
            /* A group whose runbox is gone is empty, or about to be: rmdir
             * removes it (or refuses while a task is in it). So does one
             * over a minute old whose pid now names another process: a
             * live runbox fills its groups within milliseconds of making
             * them and keeps them filled until it removes them. */
            struct stat st;
            if ((kill(pid, 0) == 0 || errno != ESRCH) &&
                (stat(dir, &st) < 0 || time(NULL) - st.st_mtime < 60))
                continue;
            rmdir(dir);
        }
        if (d)
            closedir(d);
        rmdir(parent); /* only when empty */
    }
}
