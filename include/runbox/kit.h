/*
 * kit.h — the backend kit: the generic pieces of a backend that runs code
 * as local processes, so that a plugin writes only what is its own.
 *
 *  - a process runner: argv in a work directory with the limits as
 *    rlimits, signals reset, a fresh session, the code on fd 3, output
 *    streamed to the host, the deadline and cancelled() watched, the whole
 *    process tree killed at the end, and the verdict mapped;
 *  - files confined to a root directory (openat2 RESOLVE_BENEATH: no "..",
 *    no absolute or planted symbolic links out of it);
 *  - private work directories, removed without following what the code
 *    left in them;
 *  - the interpreter lookup (a real ELF, not a version manager's shim) and
 *    the Python environment probe.
 *
 * The built-in subprocess backend uses these same functions. Link the
 * static library librunbox-kit.a (CMake: runbox::kit); it needs only the C
 * library and never librunbox: everything it reports goes through the
 * runbox_host table the backend was given. Thread-safe: no global state.
 * Linux only.
 */
#ifndef RUNBOX_KIT_H
#define RUNBOX_KIT_H

#include <stddef.h>
#include <sys/types.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- running a process ---- */

/* Where output goes while the process runs; NULL = host->emit(io, ...). */
typedef void (*rbk_sink_fn)(void *userdata, int stream, const char *data,
                            size_t len);

typedef struct rbk_process {
    const char *backend;        /* for messages: "<backend> backend cannot ..." */
    const runbox_host *host;
    runbox_host_ctx *h;
    const char *const *argv;    /* argv[0] is an absolute path */
    char *const *envp;          /* the whole environment of the code */
    const char *dir;            /* working directory */
    const char *code;           /* given as fd 3 (a sealed memfd), or NULL */
    size_t code_len;
    const runbox_limits *limits; /* cpu, memory (per process: RLIMIT_AS),
                                    processes, file size, open files */
    int drop_uid;               /* switch to uid/gid before exec (as root) */
    uid_t uid;
    gid_t gid;
    double deadline;            /* host->now() value, 0 = none */
    runbox_exec_io *io;         /* for cancelled() and emit, or NULL */
    rbk_sink_fn sink;           /* or NULL */
    void *sink_userdata;
} rbk_process;

/* Runs one process tree and waits until every process of it is gone:
 * a shim (a child subreaper) forks the code, kills the tree when the code
 * ends or on the deadline/cancel, and reports the code's status. Fills
 * verdict, exit_code, signal, cpu_seconds and limits_applied (wall, cpu,
 * processes, file size, open files; never memory: RLIMIT_AS bounds each
 * process, not the tree) of *out; isolation is the caller's to say.
 * RUNBOX_OK when the code ran, else a status with the message recorded
 * through host->fail. */
int rbk_process_run(const rbk_process *p, runbox_exec_outcome *out);

/* The verdict from a wait status: timeout and cancel first, then exit
 * status, then signal (SIGXCPU, or SIGKILL past the CPU limit, is the CPU
 * limit). exit_code is -1 and signal SIGKILL after timeout or cancel. */
void rbk_set_verdict(runbox_exec_outcome *out, const runbox_limits *l,
                     int wstatus, int timed_out, int cancelled);

/* The code as a sealed memfd (close-on-exec) at offset 0, or -1. */
int rbk_code_fd(const char *code, size_t len);
/* pipe2(O_CLOEXEC) with both ends above fd 3 (the code's). 0 or -1. */
int rbk_pipe_above_3(int fds[2]);
/* Closes what is open of a pair and marks it -1. */
void rbk_close_pair(int fds[2]);

/* ---- files inside a root directory ---- */

/* Opens path beneath root: a relative path, or an absolute one inside
 * root. With O_CREAT, missing parent directories are made (each resolved
 * beneath root). Nothing may lead out of root: "..", absolute symbolic
 * links, links the code planted, magic links. RUNBOX_OK with *fd, or
 * RUNBOX_ENOTFOUND, RUNBOX_EINVAL (outside the sandbox), RUNBOX_EGONE (no
 * root), RUNBOX_EIO, with the message through host->fail. */
int rbk_open_beneath(const runbox_host *host, runbox_host_ctx *h,
                     const char *root, const char *path, int flags, int *fd);
/* Writes all of data to fd. RUNBOX_OK or RUNBOX_EIO (message names path). */
int rbk_write_all(const runbox_host *host, runbox_host_ctx *h, int fd,
                  const char *path, const void *data, size_t len);
/* Reads a regular file from fd into *data (host->alloc, NUL-terminated,
 * *len bytes). RUNBOX_OK, RUNBOX_EINVAL (not a regular file), RUNBOX_ENOMEM. */
int rbk_read_all(const runbox_host *host, runbox_host_ctx *h, int fd,
                 const char *path, void **data, size_t *len);

/* ---- work directories ---- */

/* Makes a private directory base/runbox-XXXXXX (0700), handed to uid:gid
 * when run as root and uid differs. 0, or an errno value. */
int rbk_workdir_create(const char *base, uid_t uid, gid_t gid, char *dir,
                       size_t size);
/* Removes dir and everything below it without following symbolic links,
 * without opening FIFOs or devices, making unreadable folders readable
 * first. RUNBOX_OK or RUNBOX_EIO. */
int rbk_workdir_remove(const char *dir);

/* ---- the interpreter ---- */

/* Finds a real (ELF) executable for name: an absolute path is checked, a
 * bare name searched in PATH (never the current directory), skipping
 * shell-script shims and, with for_others, files another user could not
 * reach and run. RUNBOX_OK, RUNBOX_ENOTFOUND or RUNBOX_ENOMEM. */
int rbk_resolve_interpreter(const char *name, int for_others, char *out,
                            size_t size);

/* Python code that prints one JSON object describing its interpreter:
 * python, implementation, executable, platform, machine, packages
 * {name: version}: what environment() returns. Run it with the
 * sandbox's interpreter and limits. */
extern const char rbk_python_environment_probe[];

#ifdef __cplusplus
}
#endif
#endif /* RUNBOX_KIT_H */
