/* filter_gen OUT.c: writes the seccomp filter of every process in the
 * sandbox, compiled by libseccomp, as a C array (sbx_filter_code) that
 * init installs as it is. Run at build time, for the architecture being
 * built: init then needs no library and no work to have its filter (at
 * run time libseccomp took about 0.2 ms of every sandbox's start).
 *
 * An allow-list would break ordinary Python (and each new glibc); like
 * Docker's default profile and bubblewrap's, this is a deny-list of the
 * calls that reach kernel surface an unprivileged program has no use for:
 * namespaces and mounts (the way to regain privilege or pin kernel
 * memory), keyrings, io_uring, bpf, perf, ptrace and the other
 * process-inspection calls, module loading, clocks, and terminal
 * injection. Calls of a foreign ABI (32-bit int 0x80, x32) kill the
 * process: libseccomp's default for an architecture not in the filter.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const sbx_denied[] = {
    /* mounts and namespaces */
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "unshare", "setns",
    /* kernel keyrings, io_uring, bpf, perf, userfaultfd */
    "keyctl", "add_key", "request_key", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "bpf", "perf_event_open", "userfaultfd",
    /* other processes */
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
    "kcmp", "pidfd_getfd",
    /* the machine */
    "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "acct", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "syslog", "uselib",
    "quotactl", "quotactl_fd", "lookup_dcookie", "nfsservctl", "vhangup",
    "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm",
    "fanotify_init", "sethostname", "setdomainname", "personality",
    NULL};

/* The rules, as a libseccomp context; NULL with a message on failure. */
static scmp_filter_ctx sbx_filter_rules(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return NULL;
    int rc = 0;
    for (size_t i = 0; sbx_denied[i] && !rc; i++) {
        int nr = seccomp_syscall_resolve_name(sbx_denied[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a call of this architecture */
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    /* clone3 hides its flags in memory a filter cannot read: ENOSYS makes
     * glibc fall back to clone, whose flags are checked here. */
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    static const unsigned long ns_flags[] = {
        CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
        CLONE_NEWNET, CLONE_NEWCGROUP};
    for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0] && !rc; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
    /* Typing into the terminal of whoever reads the sandbox's output. */
    static const unsigned long tty_inject[] = {TIOCSTI, TIOCLINUX};
    for (size_t i = 0; i < 2 && !rc; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, tty_inject[i]));
    /* Netlink beyond routing information (audit, uevents, crypto, ...). */
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 2,
                              SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
                              SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE, 0));
    if (rc) {
        fprintf(stderr, "filter_gen: a rule was refused: %s\n", strerror(-rc));
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: filter_gen OUT.c\n");
        return 2;
    }
    scmp_filter_ctx ctx = sbx_filter_rules();
    if (!ctx)
        return 1;
    /* libseccomp 2.5 exports to a descriptor only: a memfd, read back. */
    int fd = memfd_create("runbox-filter", MFD_CLOEXEC);
    int rc = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    off_t size = rc < 0 ? 0 : lseek(fd, 0, SEEK_END);
    struct sock_filter *f = size > 0 ? malloc((size_t)size) : NULL;
    if (!f || pread(fd, f, (size_t)size, 0) != size) {
        fprintf(stderr, "filter_gen: cannot export the filter: %s\n",
                strerror(rc < 0 ? -rc : EIO));
        return 1;
    }
    close(fd);
    size_t n = (size_t)size / sizeof *f;
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fprintf(out, "/* Generated by filter_gen.c (libseccomp %u.%u.%u); do not edit. */\n"
            "#include \"sandbox_init.h\"\n"
            "const unsigned short sbx_filter_len = %zu;\n"
            "const struct sock_filter sbx_filter_code[] = {\n",
            seccomp_version()->major, seccomp_version()->minor,
            seccomp_version()->micro, n);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "    {0x%04x, %u, %u, 0x%08x},\n", f[i].code, f[i].jt, f[i].jf,
                f[i].k);
    fprintf(out, "};\n");
    free(f);
    return fclose(out) == 0 ? 0 : 1;
}
