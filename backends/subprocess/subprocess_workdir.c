/* Work directories: made private, removed completely and safely.
 *
 * Removal walks with openat/unlinkat relative to directory descriptors
 * opened with O_NOFOLLOW, so a symlink the code planted is removed, never
 * followed; FIFOs and device nodes are unlinked, never opened; a directory
 * the code made unreadable is chmod'ed back first; huge sparse files cost
 * one unlink. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subprocess.h"

int sp_workdir_create(sp_backend *b, char *dir, size_t size)
{
    snprintf(dir, size, "%s/runbox-XXXXXX", b->workdir_base);
    if (!mkdtemp(dir))
        return b->host->fail(b->hctx, RUNBOX_EIO, "cannot create a work "
                             "directory in %s: %s (set workdir in "
                             "[subprocess])", b->workdir_base, strerror(errno));
    /* The code runs as another uid (or as root of a user namespace mapped
     * to it): hand the directory over. */
    if (geteuid() == 0 && chown(dir, b->run_uid, b->run_gid) < 0) {
        int e = errno;
        sp_workdir_remove(dir);
        return b->host->fail(b->hctx, RUNBOX_EIO, "cannot hand the work "
                             "directory %s to uid %u: %s", dir,
                             (unsigned)b->run_uid, strerror(e));
    }
    return RUNBOX_OK;
}

static void sp_remove_children(int dfd, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM)
            continue;
        if (depth > 256) /* absurd nesting: stop rather than exhaust fds */
            continue;
        fchmodat(dirfd(d), de->d_name, 0700, AT_SYMLINK_NOFOLLOW);
        int sub = openat(dirfd(d), de->d_name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            sp_remove_children(sub, depth + 1);
        unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

int sp_workdir_remove(const char *dir)
{
    chmod(dir, 0700);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? RUNBOX_OK : RUNBOX_EIO;
    sp_remove_children(fd, 0);
    return rmdir(dir) == 0 || errno == ENOENT ? RUNBOX_OK : RUNBOX_EIO;
}
