/* What a process spawned in the sandbox goes through before exec.
 *
 * init is uid 0 of the sandbox's user namespace with every capability
 * there (it needed them to build the root). The child first uses them for
 * what only it may do (a network namespace of its own, a writable
 * packages_dir for pip), then gives them up for good: a nested user
 * namespace in which the code is uid SBX_INNER_ID (still the sandbox's one
 * host uid), no capabilities in any set, the bounding set empty, securebits
 * locked, no_new_privs, and the seccomp filter last, right before exec.
 * Mounts made by init belong to init's user namespace, so the code can
 * neither unmount nor remount them (and the filter refuses the calls).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_init.h"

static void __attribute__((noreturn)) sbx_die(int fd, const char *step)
{
    sbx_child_error e = {errno, ""};
    snprintf(e.step, sizeof e.step, "%s", step);
    if (write(fd, &e, sizeof e) < 0) {
        /* init sees the exit status instead */
    }
    _exit(127);
}

static int sbx_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void sbx_loopback_up(int errfd)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        sbx_die(errfd, "find the loopback interface");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        sbx_die(errfd, "bring up the loopback interface");
    close(s);
}

static void sbx_limit(int resource, uint64_t value)
{
    if (!value)
        return;
    struct rlimit rl = {value, value};
    if (resource == RLIMIT_CPU) /* a backstop: init watches the exact clock */
        rl.rlim_cur = rl.rlim_max = 2 * value + 1;
    setrlimit(resource, &rl);
}

static void sbx_drop_capabilities(int errfd)
{
    if (prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP |
                  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
                  SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
        sbx_die(errfd, "lock the securebits");
    /* EINVAL past the kernel's last capability ends the list. */
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL && cap > CAP_LAST_CAP / 2)
                break;
            sbx_die(errfd, "empty the capability bounding set");
        }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capset, &h, d) < 0)
        sbx_die(errfd, "drop the capabilities");
}

void sbx_child_exec(const sbx_plan *p)
{
    const sbx_spawn *r = p->req;
    int e = p->errfd;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (setsid() < 0)
        sbx_die(e, "start a session");
    if (r->flags & SBX_SPAWN_NET_OFF) {
        if (unshare(CLONE_NEWNET) < 0)
            sbx_die(e, "create a network namespace");
        sbx_loopback_up(e);
    }
    if ((r->flags & SBX_SPAWN_PACKAGES_RW) && p->packages) {
        /* Writable in a mount namespace of this process tree only. */
        struct mount_attr a = {.attr_clr = MOUNT_ATTR_RDONLY};
        if (unshare(CLONE_NEWNS) < 0 ||
            sbx_mount_setattr(p->packages, 0, &a) < 0)
            sbx_die(e, "make packages_dir writable");
    }
    /* The nested user namespace: uid 0 of init's namespace (the sandbox's
     * host uid) appears as SBX_INNER_ID; no other id exists in it. */
    char map[64];
    snprintf(map, sizeof map, "%d 0 1\n", SBX_INNER_ID);
    if (unshare(CLONE_NEWUSER) < 0 ||
        sbx_write_file("/proc/self/uid_map", map) < 0 ||
        sbx_write_file("/proc/self/setgroups", "deny") < 0 ||
        sbx_write_file("/proc/self/gid_map", map) < 0)
        sbx_die(e, "enter the unprivileged user namespace");
    if (syscall(SYS_setresgid, SBX_INNER_ID, SBX_INNER_ID, SBX_INNER_ID) < 0 ||
        syscall(SYS_setresuid, SBX_INNER_ID, SBX_INNER_ID, SBX_INNER_ID) < 0)
        sbx_die(e, "switch to the sandbox user");

    /* Descriptors: the given ones become 0..n-1 (moved above n first so
     * that no dup2 overwrites one still to be copied), all others close. */
    int moved[SBX_MAX_FDS];
    for (uint32_t i = 0; i < r->nfds; i++)
        if ((moved[i] = fcntl(p->fds[i], F_DUPFD_CLOEXEC, 64)) < 0)
            sbx_die(e, "pass the descriptors");
    int keep_err = fcntl(e, F_DUPFD_CLOEXEC, 128);
    if (keep_err < 0)
        sbx_die(e, "pass the descriptors");
    e = keep_err;
    for (uint32_t i = 0; i < r->nfds; i++)
        if (dup2(moved[i], (int)i) < 0)
            sbx_die(e, "pass the descriptors");
    sbx_close_range(r->nfds, (unsigned)e - 1);
    sbx_close_range((unsigned)e + 1, ~0U);
    if (chdir(SBX_WORKDIR) < 0)
        sbx_die(e, "enter the work directory");

    sbx_limit(RLIMIT_CPU, r->cpu_seconds);
    sbx_limit(RLIMIT_AS, r->as_bytes);
    sbx_limit(RLIMIT_NPROC, r->nproc);
    sbx_limit(RLIMIT_FSIZE, r->fsize_bytes);
    sbx_limit(RLIMIT_NOFILE, r->nofile);
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);

    sbx_drop_capabilities(e);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        sbx_die(e, "set no_new_privs");
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, p->filter) < 0)
        sbx_die(e, "install the seccomp filter");
    execve(p->argv[0], p->argv, p->envp);
    sbx_die(e, "start the program");
}
