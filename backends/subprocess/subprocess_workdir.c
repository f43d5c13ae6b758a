/* Work directories: made private and removed completely and safely by
 * the kit (kit/kit_workdir.c), with this backend's messages. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subprocess.h"

int sp_workdir_create(sp_backend *b, char *dir, size_t size)
{
    /* The code runs as another uid (or as root of a user namespace mapped
     * to it): the kit hands the directory over. */
    int e = rbk_workdir_create(b->workdir_base, b->run_uid, b->run_gid, dir, size);
    if (e)
        return b->host->fail(b->hctx, RUNBOX_EIO, "cannot create a work "
                             "directory in %s for uid %u: %s (set workdir in "
                             "[subprocess])", b->workdir_base,
                             (unsigned)b->run_uid, strerror(e));
    return RUNBOX_OK;
}

int sp_workdir_remove(const char *dir)
{
    return rbk_workdir_remove(dir);
}
