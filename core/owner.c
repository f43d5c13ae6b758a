/* Owners of leftovers: how a backend marks what it creates outside this
 * process (a container, a cloud sandbox) so that a later runbox on the same
 * machine can tell whether the process that made it is gone, e.g. killed
 * with SIGKILL before it could clean up.
 *
 * An owner is "<boot id>/<pid namespace>/<pid>/<start time>". The boot id
 * and the pid namespace say where the pid means something: a runbox in
 * another container or on another machine sharing the same E2B account or
 * Docker engine is never judged from here. The start time (in clock ticks
 * since boot) tells a recycled pid from the original process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static void rb_read_line(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(buf, (int)size, f))
        buf[strcspn(buf, "\r\n")] = '\0';
    fclose(f);
}

/* Field 22 of /proc/PID/stat, or 0; the fields after the command's
 * closing parenthesis are plain. */
static unsigned long long rb_pid_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* "<boot id>/<pid namespace inode>", "" when /proc cannot say. */
static void rb_owner_place(char *buf, size_t size)
{
    char boot[64];
    struct stat ns;
    rb_read_line("/proc/sys/kernel/random/boot_id", boot, sizeof boot);
    if (!boot[0] || stat("/proc/self/ns/pid", &ns) != 0) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, size, "%s/%llu", boot, (unsigned long long)ns.st_ino);
}

void rb_owner_self(char *buf, size_t size)
{
    char place[128];
    rb_owner_place(place, sizeof place);
    long pid = (long)getpid();
    snprintf(buf, size, "%s/%ld/%llu", place[0] ? place : "unknown/0", pid,
             rb_pid_start(pid));
}

int rb_owner_gone(const char *owner)
{
    char place[128];
    rb_owner_place(place, sizeof place);
    size_t n = strlen(place);
    if (!owner || !n || strncmp(owner, place, n) != 0 || owner[n] != '/')
        return 0; /* another machine, boot or pid namespace */
    char *end;
    errno = 0;
    long pid = strtol(owner + n + 1, &end, 10);
    if (errno || pid <= 0 || *end != '/')
        return 0;
    unsigned long long start = strtoull(end + 1, &end, 10);
    if (*end)
        return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 1;
    /* Alive, but maybe a new process that got the same pid. */
    unsigned long long now = rb_pid_start(pid);
    return start && now && start != now;
}
