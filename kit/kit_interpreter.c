/* Resolving the interpreter to a real executable.
 *
 * Version managers put shell-script shims first in PATH (pyenv's
 * ~/.pyenv/shims/python3 is a bash script that runs several programs before
 * Python). Running a shim costs time, depends on the host's environment and
 * would run outside our control, so we take the first ELF binary found. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runbox/kit.h"

/* When the code runs as another user (runbox as root drops to nobody),
 * that user must be able to reach and run the file: every directory on
 * the way searchable and the file executable by others. */
static int rbk_others_can_run(const char *real)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", real);
    struct stat st;
    if (stat(path, &st) || !(st.st_mode & S_IXOTH))
        return 0;
    for (char *slash = strrchr(path, '/'); slash && slash != path;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (stat(path, &st) || !(st.st_mode & S_IXOTH))
            return 0;
    }
    return 1;
}

static int rbk_is_elf(const char *path, int for_others)
{
    char real[PATH_MAX];
    /* One cheap syscall rules out most PATH entries before realpath. */
    if (access(path, X_OK) || !realpath(path, real))
        return 0;
    if (for_others && !rbk_others_can_run(real))
        return 0;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char magic[4];
    ssize_t n = read(fd, magic, 4);
    close(fd);
    return n == 4 && !memcmp(magic, "\x7f" "ELF", 4);
}

int rbk_resolve_interpreter(const char *name, int for_others, char *out,
                           size_t size)
{
    if (strchr(name, '/')) {
        if (!rbk_is_elf(name, for_others))
            return RUNBOX_ENOTFOUND;
        snprintf(out, size, "%s", name);
        return RUNBOX_OK;
    }
    const char *path = getenv("PATH");
    char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    if (!copy)
        return RUNBOX_ENOMEM;
    int rc = RUNBOX_ENOTFOUND;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (d[0] != '/')
            continue; /* never the current directory */
        char cand[PATH_MAX];
        snprintf(cand, sizeof cand, "%s/%s", d, name);
        if (rbk_is_elf(cand, for_others)) {
            snprintf(out, size, "%s", cand);
            rc = RUNBOX_OK;
            break;
        }
    }
    free(copy);
    return rc;
}
