/*
 * subprocess.h — internals of the subprocess backend, shared by its files.
 *
 * The backend runs code as processes on this machine. With isolation
 * (the default) a runbox sandbox is a sandbox.h box: its own init, root,
 * tmpfs, uid and cgroup; every execution is one process tree in it. With
 * isolation = none it is a work directory on the host and each execution
 * a process tree of the calling user (subprocess_spawn.c).
 */
#ifndef RUNBOX_SUBPROCESS_H
#define RUNBOX_SUBPROCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "runbox/backend.h"
#include "runbox/kit.h"
#include "sandbox.h"

typedef enum sp_isolation {
    SP_ISOLATION_AUTO,       /* the sandbox; refuses to run without it */
    SP_ISOLATION_NAMESPACES, /* the same, spelled out */
    SP_ISOLATION_NONE
} sp_isolation;

/* The backend instance: settings read once at open. Read-only after open,
 * so sandboxes on several threads may share it. */
typedef struct sp_backend {
    const runbox_host *host;
    runbox_host_ctx *hctx;
    char python[4096];     /* resolved interpreter (a real executable) */
    char workdir_base[4096];
    char packages_dir[4096]; /* persistent package dir, "" = per sandbox */
    char index_url[1024];
    sp_isolation isolation;
    uid_t run_uid;         /* isolation none: who the code runs as */
    gid_t run_gid;
    char init_path[4096];  /* runbox-subprocess-init, beside this backend */
    char binds[3][4096];   /* read-only binds besides the system's: the
                              interpreter's folders outside /usr and a
                              file:// index_url, or "" */
} sp_backend;

typedef struct sp_sandbox {
    sp_backend *b;
    sp_box *box;           /* the sandbox, or NULL with isolation none */
    char dir[4096];        /* the work directory (as the code sees it) */
    runbox_limits limits;
    const char *const *env; /* extra "NAME=value" from the core, or NULL */
    /* A pooled sandbox (prestart): its resident interpreter already runs
     * and waits for the code (subprocess_interp.c). */
    int prestarted;
    int oneshot;
    /* The resident Python interpreter (subprocess_interp.c), or NULL. */
    struct sp_interp *interp;
} sp_sandbox;

typedef struct sp_interp sp_interp;
/* Runs Python code in the box through the resident interpreter, starting
 * it when none runs: kept across calls when session, else used once.
 * Sets out->state_epoch for sessions. */
int sp_interp_exec(sp_sandbox *s, const runbox_exec_request *req, int session,
                   runbox_exec_outcome *out);
/* For pools: starts the interpreter now; tells whether it still waits. */
int sp_interp_prestart(sp_sandbox *s);
int sp_interp_check(sp_sandbox *s);
/* The note for a MemoryError raised under the per-process address-space
 * limit when no cgroup counts the sandbox (the code's word, not a verdict). */
void sp_memory_error_note(runbox_exec_outcome *out, uint64_t limit);
/* The running interpreter's pid inside the box, or 0: what a sweep after
 * another process (install, environment) must spare. */
int sp_interp_pid(const sp_sandbox *s);
/* Closes runbox's ends of the interpreter (the box's end kills it). */
void sp_interp_free(sp_sandbox *s);

/* A process started in a box, until sp_box_finish. */
typedef struct sp_box_proc {
    int pid;          /* inside the box */
    int out_fd, err_fd; /* read ends of its stdout and stderr */
    long oom_before;  /* the cgroup's OOM kills before it started */
} sp_box_proc;

/* Where a child's output goes while it runs. */
typedef void (*sp_sink_fn)(void *ud, int stream, const char *data, size_t len);

typedef struct sp_spawn {
    const char *const *argv; /* argv[0] is an absolute path */
    const char *code;        /* passed as fd 3 (a sealed memfd), may be NULL */
    size_t code_len;
    int network;             /* 1 = keep the host's network */
    int packages_rw;         /* packages_dir writable (pip) */
    const runbox_limits *limits;
    double deadline;         /* host->now() value, 0 = none */
    sp_sink_fn sink;
    void *sink_ud;
    runbox_exec_io *io;      /* for host->cancelled, or NULL */
} sp_spawn;

/* Runs one process tree in the sandbox and waits for it (and every
 * descendant) to end. Fills verdict, exit code, signal, cpu time, applied
 * limits and isolation of *out. Returns RUNBOX_OK when it ran. */
int sp_spawn_run(sp_sandbox *s, const sp_spawn *sp, runbox_exec_outcome *out);
/* The same in a sandbox.h box (subprocess_boxrun.c), also in two steps:
 * start with code_fd as fd 3 (-1: sp->code as a memfd), then finish. */
int sp_box_run(sp_sandbox *s, const sp_spawn *sp, runbox_exec_outcome *out);
int sp_box_start(sp_sandbox *s, const sp_spawn *sp, int code_fd, sp_box_proc *p);
int sp_box_finish(sp_sandbox *s, const sp_spawn *sp, sp_box_proc *p,
                  runbox_exec_outcome *out);


/* The code's environment (NULL-terminated, free with sp_free_env). The
 * code as a memfd, pipes clear of fd 3 and the verdict of a wait status
 * are the kit's (rbk_code_fd, rbk_pipe_above_3, rbk_set_verdict). */
char **sp_build_env(const sp_sandbox *s);
void sp_free_env(char **env);

/* Can this process create user+pid+net+mount+ipc namespaces? Cached. */
int sp_namespaces_available(void);

/* Work directories. */
int sp_workdir_create(sp_backend *b, char *dir, size_t size);
/* Removes dir and everything below it without following symlinks and
 * without blocking on FIFOs; makes unreadable dirs readable first. */
int sp_workdir_remove(const char *dir);

/* The interpreter is found by the kit (rbk_resolve_interpreter). */

#endif
