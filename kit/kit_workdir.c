/* Work directories: made private, removed completely and safely.
 *
 * Removal walks with openat/unlinkat relative to directory descriptors
 * opened with O_NOFOLLOW, so a symlink the code planted is removed, never
 * followed; FIFOs and device nodes are unlinked, never opened; a directory
 * the code made unreadable is chmod'ed back first; huge sparse files cost
 * one unlink; nesting of any depth is walked one descriptor at a time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runbox/kit.h"

int rbk_workdir_create(const char *base, uid_t uid, gid_t gid, char *dir,
                       size_t size)
{
    snprintf(dir, size, "%s/runbox-XXXXXX", base);
    if (!mkdtemp(dir))
        return errno;
    /* The code runs as another uid: hand the directory over. */
    if (geteuid() == 0 && uid != 0 && chown(dir, uid, gid) < 0) {
        int e = errno;
        rbk_workdir_remove(dir);
        return e;
    }
    return 0;
}

/* Removes every entry of the directory open as cur that is not a
 * non-empty directory. Returns 1 and the name of the first directory that
 * still has contents in sub (to descend into), 0 when cur is now empty. */
static int rbk_clear_level(int cur, char *sub, size_t size)
{
    int fd = dup(cur);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(cur, de->d_name, 0) == 0 ||
            (errno != EISDIR && errno != EPERM))
            continue;
        fchmodat(cur, de->d_name, 0700, AT_SYMLINK_NOFOLLOW);
        if (unlinkat(cur, de->d_name, AT_REMOVEDIR) == 0 || errno != ENOTEMPTY)
            continue;
        snprintf(sub, size, "%s", de->d_name);
        found = 1;
    }
    closedir(d);
    return found;
}

/* Depth-first without recursion and with one directory descriptor at a
 * time: the code may nest directories thousands deep (past PATH_MAX and
 * any fd limit). Going up is openat(".."), safe because the code's
 * processes are gone and depth never goes above the work directory. */
static void rbk_remove_children(int root)
{
    int cur = dup(root);
    long depth = 0;
    char sub[NAME_MAX + 1];
    while (cur >= 0) {
        int next;
        if (rbk_clear_level(cur, sub, sizeof sub)) {
            next = openat(cur, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0) { /* cannot enter: give up rather than spin */
                close(cur);
                return;
            }
            depth++;
        } else if (depth > 0) {
            next = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            depth--;
        } else {
            next = -1;
        }
        close(cur);
        cur = next;
    }
}

int rbk_workdir_remove(const char *dir)
{
    chmod(dir, 0700);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? RUNBOX_OK : RUNBOX_EIO;
    rbk_remove_children(fd);
    close(fd);
    return rmdir(dir) == 0 || errno == ENOENT ? RUNBOX_OK : RUNBOX_EIO;
}
