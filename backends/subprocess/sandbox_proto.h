/*
 * sandbox_proto.h — the messages between the backend (in runbox) and the
 * sandbox's init (runbox-subprocess-init, pid 1 inside the sandbox).
 *
 * They travel over one AF_UNIX SOCK_SEQPACKET pair: one message per
 * datagram, descriptors attached with SCM_RIGHTS. Both ends are built from
 * the same source tree, so the structs are sent as they are; the version in
 * the config message catches an init from another build.
 *
 * Order: host sends GO (init may exec), CONFIG; init answers READY (err 0)
 * or READY with err/step and exits. Then any number of SPAWN (answered by
 * SPAWNED) and KILL (answered by KILLED); init sends EXITED whenever a
 * spawned process ends, at any time. EOF on the socket (runbox died or
 * destroyed the sandbox) makes init exit, which kills every process of the
 * sandbox: the kernel ends a pid namespace with its init.
 */
#ifndef RUNBOX_SANDBOX_PROTO_H
#define RUNBOX_SANDBOX_PROTO_H

#include <stdint.h>

#define SBX_PROTO_VERSION 2
#define SBX_MSG_MAX (256 * 1024) /* largest message (argv + env strings) */
#define SBX_MAX_FDS 8            /* descriptors handed to one spawned process */
#define SBX_CTL_FD 3             /* the socket's number in init */
#define SBX_INNER_ID 1000        /* uid/gid of the code inside the sandbox */
#define SBX_WORKDIR "/sandbox"   /* the code's work directory inside */

enum sbx_op {
    SBX_GO = 1,      /* host -> child: the id maps are written, exec init */
    SBX_CONFIG = 2,  /* host -> init: sbx_config + strings */
    SBX_SPAWN = 3,   /* host -> init: sbx_spawn + strings + descriptors */
    SBX_KILL = 4,    /* host -> init: kill every process but init and keep */
    SBX_READY = 100, /* init -> host: sbx_reply, err = 0 or why setup failed */
    SBX_SPAWNED = 101,
    SBX_EXITED = 102,
    SBX_KILLED = 103
};

/* Read-only binds are named in the strings that follow: each path is
 * mounted at the same path inside. */
typedef struct sbx_config {
    uint32_t op, version;
    uint64_t tmpfs_bytes;    /* size of the sandbox's tmpfs (its root) */
    uint32_t nbinds;         /* read-only binds, strings after the struct */
    uint32_t has_packages;   /* the last string is packages_dir */
} sbx_config;

enum sbx_spawn_flags {
    SBX_SPAWN_NET_OFF = 1u << 0,     /* own network namespace, loopback only */
    SBX_SPAWN_PACKAGES_RW = 1u << 1  /* packages_dir writable (pip only) */
};

typedef struct sbx_spawn {
    uint32_t op, flags;
    uint32_t argc, envc;     /* argv then env strings, NUL-terminated */
    uint32_t nfds;           /* attached descriptors become 0 .. nfds-1 */
    uint32_t pad;
    /* Resource limits of the process (0 = leave unlimited). cpu_seconds
     * is enforced by init on the process's exact CPU clock (the kernel's
     * RLIMIT_CPU samples ticks and can fire early on a busy machine);
     * RLIMIT_CPU stays as a backstop at twice the limit for the
     * processes it starts. */
    uint64_t cpu_seconds, as_bytes, nproc, fsize_bytes, nofile;
} sbx_spawn;

typedef struct sbx_kill {
    uint32_t op;
    int32_t keep; /* a pid (inside) to spare, or 0 */
} sbx_kill;

typedef struct sbx_reply {
    uint32_t op;
    int32_t pid;        /* SPAWNED/EXITED: pid inside the sandbox */
    int32_t status;     /* EXITED: wait status; KILLED: processes left */
    int32_t err;        /* errno of the failed step, 0 = done; EXITED:
                           1 when init killed it at its CPU limit */
    uint64_t cpu_usec;  /* EXITED: user + system time of pid and what it reaped */
    char step[64];      /* READY/SPAWNED with err: the step that failed */
} sbx_reply;

#endif
