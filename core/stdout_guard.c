/* runbox_reserve_stdout: the application's output channel kept away from
 * backends. A backend is code in the same process: its printf, a library
 * it links, or a child it forgets to redirect all write to fd 1. An
 * application whose stdout carries a protocol (JSON results, JSON-RPC)
 * would be corrupted by one stray line, so the real stdout moves to a
 * private descriptor and fd 1 becomes a copy of stderr, where stray
 * output is merely noise in the log. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "internal.h"

static pthread_mutex_t rb_stdout_lock = PTHREAD_MUTEX_INITIALIZER;
static int rb_stdout_fd = -2; /* -2: not reserved yet */
static int rb_stdout_errno;

RUNBOX_API int runbox_reserve_stdout(void)
{
    pthread_mutex_lock(&rb_stdout_lock);
    if (rb_stdout_fd == -2) {
        fflush(stdout);
        /* Above 2, so that nobody mistakes it for a standard stream. */
        int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            rb_stdout_errno = errno;
            rb_stdout_fd = -1;
        } else {
            if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
                /* No stderr either: stray output goes nowhere. */
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0) {
                    dup2(null, STDOUT_FILENO);
                    close(null);
                }
            }
            rb_stdout_fd = fd;
        }
    }
    int fd = rb_stdout_fd;
    if (fd < 0)
        errno = rb_stdout_errno;
    pthread_mutex_unlock(&rb_stdout_lock);
    return fd;
}
