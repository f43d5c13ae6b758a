/*
 * sandbox_init.h — the pieces of runbox-subprocess-init, the sandbox's
 * pid 1. This program is exec'd (never a fork of runbox): it starts in new
 * user, pid, mount, ipc and uts namespaces as uid 0 of its user namespace
 * (mapped to one unprivileged host uid), builds the sandbox's root and then
 * serves spawn and kill requests (sandbox_proto.h) until runbox closes the
 * socket. Single-threaded; every function reports a failure as -1 with
 * errno set and *step naming what failed.
 *
 * It is linked statically, with musl where the build has it (see
 * CMakeLists.txt), else with glibc: it uses only what both offer, and the
 * kernel's own headers and syscall() for the rest.
 */
#ifndef RUNBOX_SANDBOX_INIT_H
#define RUNBOX_SANDBOX_INIT_H

#include <fcntl.h>
#include <linux/filter.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef MOUNT_ATTR_RDONLY /* glibc 2.36 has these in sys/mount.h, musl not */
#include <linux/mount.h>
#endif

#include "sandbox_proto.h"

/* Calls musl has no wrapper for. */
static inline int sbx_mount_setattr(const char *path, unsigned flags,
                                    struct mount_attr *a)
{
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, flags, a, sizeof *a);
}
static inline void sbx_close_range(unsigned first, unsigned last)
{
    syscall(SYS_close_range, first, last, 0);
}

/* Builds the minimal root (tmpfs; read-only /usr, /lib*, parts of /etc,
 * binds; minimal /dev; fresh /proc; /tmp, /var/tmp, /dev/shm, /sandbox)
 * and pivots into it, dropping every host mount. binds: nbinds paths,
 * packages: packages_dir or NULL. */
int sbx_root_build(uint64_t tmpfs_bytes, const char *const *binds,
                   uint32_t nbinds, const char *packages, const char **step);

/* The seccomp filter installed in each spawned process: compiled by
 * libseccomp when runbox was built (filter_gen.c). */
extern const struct sock_filter sbx_filter_code[];
extern const unsigned short sbx_filter_len;

/* What a spawned process becomes; filled by init from an SBX_SPAWN. */
typedef struct sbx_plan {
    const sbx_spawn *req;
    char *const *argv;
    char *const *envp;
    const int *fds;          /* req->nfds descriptors, become 0..nfds-1 */
    const char *packages;    /* packages_dir, or NULL */
    const struct sock_fprog *filter;
    int errfd;               /* close-on-exec pipe: an error reaches init */
} sbx_plan;

/* In the forked child: enters its own user namespace as the unprivileged
 * inner uid, drops every capability, applies limits and the filter, and
 * executes argv. Writes {errno, step} to errfd and exits on failure. */
void sbx_child_exec(const sbx_plan *p) __attribute__((noreturn));

/* The record a failing child writes to errfd. */
typedef struct sbx_child_error {
    int err;
    char step[64];
} sbx_child_error;

#endif
