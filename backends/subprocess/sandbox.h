/*
 * sandbox.h — a sandbox as runbox's side sees it: create one, spawn
 * programs in it, kill what runs in it, open its files, destroy it.
 *
 * A sandbox is a separate init process (runbox-subprocess-init, exec'd in
 * new user, pid, mount, ipc, uts and cgroup namespaces) whose root is a
 * private tmpfs with read-only binds of the system; it runs as one host
 * uid (its own when runbox is root, the caller's otherwise) and, where the
 * machine allows, in its own memory and pids cgroups. See
 * backends/subprocess/README.md for what this guarantees.
 *
 * Errors: functions return 0 or a negative errno and write a sentence into
 * err (what failed, what to do). Thread-safety: different sandboxes may be
 * used from different threads at once; one sandbox from one thread at a
 * time. Creation is safe in a multithreaded process (raw clone, then exec).
 */
#ifndef RUNBOX_SANDBOX_H
#define RUNBOX_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sp_box sp_box;

typedef struct sp_box_config {
    const char *init_path;     /* the runbox-subprocess-init executable */
    uint64_t tmpfs_bytes;      /* size of root + /tmp + /sandbox together */
    const char *binds[8];      /* extra read-only binds (same path inside),
                                  NULL-terminated */
    const char *packages_dir;  /* bound read-only, or NULL */
    uint64_t memory_bytes;     /* cgroup memory limit, 0 = none */
    uint32_t pids_max;         /* cgroup pids limit, 0 = none */
} sp_box_config;

int sp_box_create(sp_box **out, const sp_box_config *c, char *err, size_t esize);
/* Kills every process of the sandbox (its init and so its pid namespace),
 * frees its uid and cgroup. Accepts NULL. */
void sp_box_destroy(sp_box *b);

typedef struct sp_box_spawn_opts {
    const char *const *argv;   /* argv[0]: a path inside the sandbox */
    const char *const *envp;   /* the whole environment */
    const int *fds;            /* become 0..nfds-1 in the process */
    int nfds;                  /* <= 8 */
    int network;               /* 0: own network namespace (loopback only) */
    int packages_rw;           /* packages_dir writable for this process */
    uint64_t cpu_seconds, as_bytes, nproc, fsize_bytes, nofile; /* 0 = none;
        cpu_seconds: the process is SIGKILLed when its exact CPU clock
        reaches it (the processes it starts: RLIMIT_CPU at twice that) */
    int early;                 /* may start before the sandbox is in its
                                  cgroups: a process that runs nothing of
                                  the code until sp_box_settle (the resident
                                  interpreter, whose start then overlaps the
                                  cgroup move) */
} sp_box_spawn_opts;

/* Starts a process; *pid is its pid inside the sandbox. Returns once it
 * has exec'd (or failed to: -errno and what failed in err). Unless
 * o->early, the sandbox is in its cgroups first (sp_box_settle). */
int sp_box_spawn(sp_box *b, const sp_box_spawn_opts *o, int *pid, char *err,
                 size_t esize);

/* Returns once every process of the sandbox is in its cgroups: the move
 * of init, begun by sp_box_create on a thread of its own (the first move
 * into a cgroup v1 waits for an RCU grace period, ~10 ms), is over, and
 * the processes init started early follow it. Call before any code runs.
 * 0, or -errno and why in err (then the sandbox must not run code). */
int sp_box_settle(sp_box *b, char *err, size_t esize);

/* The descriptor to poll for news (POLLIN), then sp_box_pump. */
int sp_box_fd(const sp_box *b);
/* Reads what init sent without blocking; -EPIPE when init is gone. */
int sp_box_pump(sp_box *b);
/* 1 and the wait status and cpu time when pid has ended (consumed);
 * *cpu_limit_hit (may be NULL) says init killed it at its CPU limit. */
int sp_box_exited(sp_box *b, int pid, int *status, double *cpu_seconds,
                  int *cpu_limit_hit);

/* Kills every process of the sandbox except init and keep (0 = none) and
 * waits until they are gone (bounded: init gives up after 5 s). Returns
 * the number still alive, or -errno when init does not answer. */
int sp_box_kill(sp_box *b, int keep);

/* Opens a file of the sandbox's own: relative paths are relative to the
 * work directory, absolute ones must lie in /sandbox, /tmp, /var/tmp or
 * /dev/shm. Links resolve inside that folder and never leave it (openat2
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV). Created
 * files belong to the sandbox's uid. -errno on failure (-EXDEV: not one of
 * those folders, or a link or mount leading out of it). */
int sp_box_open(sp_box *b, const char *path, int flags, int *fd);

/* The sandbox's host uid/gid (owner of the files it writes). */
uid_t sp_box_uid(const sp_box *b);
gid_t sp_box_gid(const sp_box *b);
/* 1 when memory and processes are counted by a cgroup for the whole
 * sandbox; then the OOM kills so far (for a verdict from evidence). */
int sp_box_cgroup(const sp_box *b);
long sp_box_oom_kills(const sp_box *b);

#endif
