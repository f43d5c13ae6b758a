/* The sandbox's root file system, built by init in its own mount namespace.
 *
 * Like bubblewrap: a fresh tmpfs becomes the root; what the interpreter
 * needs is bound into it read-only; everything else of the host (homes,
 * the caller's directory, /sys, other users' /tmp) is simply absent, since
 * the old root is detached after pivot_root. The root itself ends
 * read-only (the code owns its files, being the sandbox's one uid, so
 * permissions alone would not stop it). A second tmpfs holds everything
 * writable: /sandbox, /tmp, /var/tmp and /dev/shm are folders of it bound
 * into place, so a run leaves nothing on the host's disk and one size
 * limit bounds all of them together.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sandbox_init.h"

/* The tmpfs is mounted on /tmp (every system has it; the mount is private
 * to this namespace) and pivoted into at once, with the host's root kept
 * at OLD until the binds are made: so a source under the host's /tmp
 * stays reachable. */
#define OLD "/.oldroot"

/* Directories of the host bound whole (when they are directories) or
 * recreated as the same symlink (merged /usr systems). */
static const char *const sbx_system_dirs[] = {
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", NULL};

/* The parts of /etc programs read: the loader's cache, name resolution,
 * certificates (pip over https), time zone, Debian's alternatives (links
 * in /usr/bin point there), Python's own settings and Debian's
 * matplotlibrc and fontconfig setup (matplotlib needs both). No passwd, shadow,
 * ssh keys or host secrets. */
static const char *const sbx_etc[] = {
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
    "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/host.conf",
    "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/localtime",
    "/etc/ssl", "/etc/ca-certificates", "/etc/alternatives", "/etc/mime.types",
    "/etc/python3", "/etc/python3.11", "/etc/python3.12", "/etc/python3.13",
    "/etc/matplotlibrc", "/etc/fonts", NULL};

static const char *const sbx_devices[] = {"null", "zero", "full", "random",
                                          "urandom", NULL};

static int sbx_mkdirs(const char *path, mode_t mode)
{
    char buf[4200];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* Adds flags to a mount and, with AT_RECURSIVE, to the mounts below it.
 * mount_setattr keeps the flags the kernel locked (nodev of a host mount
 * seen from a user namespace); the classic remount is the fallback for
 * kernels before 5.12. */
static int sbx_restrict(const char *path, uint64_t attrs)
{
    struct mount_attr a = {.attr_set = attrs};
    if (sbx_mount_setattr(path, AT_RECURSIVE, &a) == 0)
        return 0;
    if (errno != ENOSYS)
        return -1;
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        return -1;
    unsigned long f = MS_BIND | MS_REMOUNT;
    f |= (sv.f_flag & ST_NODEV) || (attrs & MOUNT_ATTR_NODEV) ? MS_NODEV : 0;
    f |= (sv.f_flag & ST_NOSUID) || (attrs & MOUNT_ATTR_NOSUID) ? MS_NOSUID : 0;
    f |= (sv.f_flag & ST_NOEXEC) || (attrs & MOUNT_ATTR_NOEXEC) ? MS_NOEXEC : 0;
    f |= (sv.f_flag & ST_RDONLY) || (attrs & MOUNT_ATTR_RDONLY) ? MS_RDONLY : 0;
    return mount(NULL, path, NULL, f, NULL);
}

/* Binds host path src (seen under OLD) at the same path inside. A missing source
 * is skipped unless required. */
static int sbx_bind(const char *src, uint64_t attrs, int required)
{
    struct stat st;
    char old[4200];
    snprintf(old, sizeof old, OLD "%s", src);
    if (stat(old, &st) < 0)
        return required ? -1 : 0;
    const char *dst = src;
    if (S_ISDIR(st.st_mode)) {
        if (sbx_mkdirs(dst, 0755) < 0)
            return -1;
    } else {
        char parent[4200];
        snprintf(parent, sizeof parent, "%s", dst);
        *strrchr(parent, '/') = '\0';
        if (sbx_mkdirs(parent, 0755) < 0)
            return -1;
        int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        close(fd);
    }
    if (mount(old, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -1;
    return sbx_restrict(dst, attrs);
}

static int sbx_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

#define FAIL(what)        \
    do {                  \
        *step = what;     \
        return -1;        \
    } while (0)

int sbx_root_build(uint64_t tmpfs_bytes, const char *const *binds,
                   uint32_t nbinds, const char *packages, const char **step)
{
    const uint64_t ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        FAIL("make the mounts private");
    if (mount("runbox", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
              "size=4m,nr_inodes=4096,mode=0755") < 0)
        FAIL("mount the sandbox's root");
    if (mkdir("/tmp" OLD, 0700) < 0 || chdir("/tmp") < 0 ||
        syscall(SYS_pivot_root, ".", "." OLD) < 0 || chdir("/") < 0)
        FAIL("pivot_root into the sandbox's root");
    for (size_t i = 0; sbx_system_dirs[i]; i++) {
        const char *d = sbx_system_dirs[i];
        char link[256], old[300];
        snprintf(old, sizeof old, OLD "%s", d);
        ssize_t n = readlink(old, link, sizeof link - 1);
        if (n > 0) {
            link[n] = '\0';
            if (symlink(link, d) < 0)
                FAIL("link a system directory");
        } else if (sbx_bind(d, ro, !strcmp(d, "/usr")) < 0) {
            FAIL("bind a system directory");
        }
    }
    if (mkdir("/etc", 0755) < 0)
        FAIL("make /etc");
    for (size_t i = 0; sbx_etc[i]; i++)
        if (sbx_bind(sbx_etc[i], ro, 0) < 0)
            FAIL("bind a file of /etc");
    /* Names for the ids the code sees; nothing of the host's users. */
    if (sbx_write("/etc/passwd",
                  "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                  "sandbox:x:1000:1000:sandbox:" SBX_WORKDIR ":/bin/sh\n"
                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n") < 0 ||
        sbx_write("/etc/group", "root:x:0:\nsandbox:x:1000:\n"
                                      "nogroup:x:65534:\n") < 0 ||
        sbx_write("/etc/hostname", "sandbox\n") < 0)
        FAIL("write /etc/passwd");
    /* nr_inodes bounds a tree of empty directories, which size does not. */
    char opts[128];
    snprintf(opts, sizeof opts, "size=%llu,nr_inodes=262144,mode=0755",
             (unsigned long long)tmpfs_bytes);
    if (mkdir("/.scratch", 0700) < 0 ||
        mount("runbox", "/.scratch", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        FAIL("mount the sandbox's tmpfs");
    static const char *const scratch[][2] = {
        {SBX_WORKDIR, "/.scratch/sandbox"}, {"/tmp", "/.scratch/tmp"},
        {"/var/tmp", "/.scratch/var-tmp"}, {"/dev/shm", "/.scratch/shm"}};
    for (size_t i = 0; i < 4; i++) {
        mode_t mode = i ? 01777 : 0755;
        if (sbx_mkdirs(scratch[i][0], 0755) < 0 || mkdir(scratch[i][1], mode) < 0 ||
            chmod(scratch[i][1], mode) < 0 ||
            mount(scratch[i][1], scratch[i][0], NULL, MS_BIND, NULL) < 0)
            FAIL("make the writable folders");
    }
    if (umount2("/.scratch", MNT_DETACH) < 0 || rmdir("/.scratch") < 0)
        FAIL("make the writable folders");
    for (uint32_t i = 0; i < nbinds; i++)
        if (sbx_bind(binds[i], ro, 1) < 0)
            FAIL("bind the interpreter's directory");
    if (packages && sbx_bind(packages, ro, 1) < 0)
        FAIL("bind packages_dir");

    if (sbx_mkdirs("/dev", 0755) < 0 || mkdir("/proc", 0555) < 0)
        FAIL("make /dev");
    for (size_t i = 0; sbx_devices[i]; i++) {
        char src[64];
        snprintf(src, sizeof src, "/dev/%s", sbx_devices[i]);
        if (sbx_bind(src, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 1) < 0)
            FAIL("bind a device");
    }
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"},
        {"/proc/self/fd/2", "/dev/stderr"}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][0], links[i][1]) < 0)
            FAIL("link /dev/fd");
    /* A fresh /proc shows only this pid namespace. It must be mounted
     * while the host's /proc is still visible (the kernel checks that). */
    /* hidepid=invisible: what the code cannot ptrace (init, not dumpable)
     * is not even listed. Older kernels know only the numeric form, the
     * oldest neither (then init's /proc files are still closed to it). */
    static const char *const proc_opts[] = {"hidepid=invisible", "hidepid=2", NULL};
    int proc = -1;
    for (size_t i = 0; i < 3 && proc < 0; i++)
        proc = mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     proc_opts[i]);
    if (proc < 0)
        FAIL("mount /proc");

    /* The detach drops every host mount from this namespace. */
    if (umount2(OLD, MNT_DETACH) < 0 || rmdir(OLD) < 0)
        FAIL("detach the host's root");
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                       MOUNT_ATTR_NODEV};
    if (sbx_mount_setattr("/", 0, &a) < 0 &&
        (errno != ENOSYS || mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
                                  MS_NOSUID | MS_NODEV, NULL) < 0))
        FAIL("make the root read-only");
    return 0;
}
