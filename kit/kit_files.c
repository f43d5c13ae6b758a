/* Files confined to a root directory, for a backend's file_write and
 * file_read. openat2 with RESOLVE_BENEATH resolves every component inside
 * the root: "..", absolute symbolic links and links the code planted
 * cannot lead to the host's files. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runbox/kit.h"

int rbk_open_beneath(const runbox_host *host, runbox_host_ctx *h,
                     const char *root, const char *path, int flags, int *fd)
{
    size_t dl = strlen(root);
    const char *rel = path;
    if (path[0] == '/') {
        if (strncmp(path, root, dl) || (path[dl] != '/' && path[dl]))
            return host->fail(h, RUNBOX_EINVAL, "%s is outside the sandbox: "
                              "its files live in its work directory; give a "
                              "relative path", path);
        rel = path[dl] ? path + dl + 1 : ".";
    }
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return host->fail(h, RUNBOX_EGONE, "the sandbox's work directory is "
                          "gone");
    if (flags & O_CREAT) {
        /* Make parent directories, each resolved beneath the root. */
        char *copy = strdup(rel);
        for (char *p = copy ? strchr(copy, '/') : NULL; p; p = strchr(p + 1, '/')) {
            *p = '\0';
            mkdirat(dfd, copy, 0755);
            *p = '/';
        }
        free(copy);
    }
    /* openat2 insists on mode 0 unless a file may be created. */
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .mode = (flags & O_CREAT) ? 0644 : 0,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    *fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
    int e = errno;
    close(dfd);
    if (*fd < 0) {
        if (e == ENOENT)
            return host->fail(h, RUNBOX_ENOTFOUND, "no file %s in the sandbox",
                              path);
        return host->fail(h, e == EXDEV ? RUNBOX_EINVAL : RUNBOX_EIO,
                          "cannot open %s in the sandbox: %s", path,
                          e == EXDEV ? "it leads outside the sandbox"
                                     : strerror(e));
    }
    return RUNBOX_OK;
}

int rbk_write_all(const runbox_host *host, runbox_host_ctx *h, int fd,
                  const char *path, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return host->fail(h, RUNBOX_EIO, "cannot write %s: %s", path,
                              strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return RUNBOX_OK;
}

int rbk_read_all(const runbox_host *host, runbox_host_ctx *h, int fd,
                 const char *path, void **data, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        return host->fail(h, RUNBOX_EINVAL, "%s is not a regular file", path);
    char *buf = host->alloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (!buf)
        return host->fail(h, RUNBOX_ENOMEM, "out of memory");
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return RUNBOX_OK;
}
