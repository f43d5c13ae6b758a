/* One host uid per live sandbox, when runbox is root.
 *
 * Ids come from a high range no account uses (above systemd's container
 * range). A slot is taken by holding an flock on its file in a root-only
 * directory: the kernel drops the lock when the holder dies, so a crashed
 * runbox never leaks a slot, and processes that never talk to each other
 * still never share an id. The lock is released only after the sandbox's
 * last process is gone (its pid namespace ended with its init).
 *
 * A normal user can map only its own uid without a setuid helper
 * (newuidmap) and /etc/subuid; its sandboxes share that uid and are kept
 * apart by their namespaces instead (see README.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_uid.h"

#define SP_UID_BASE 0x7e000000u
#define SP_UID_COUNT 65536u
#define SP_UID_DIR "/run/runbox-uids"

int sp_uid_acquire(uid_t *uid, int *lock_fd)
{
    if (mkdir(SP_UID_DIR, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    /* Refuse a directory someone else made: its locks would mean nothing. */
    if (lstat(SP_UID_DIR, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
        (st.st_mode & 022))
        return -EPERM;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    unsigned start = (unsigned)(getpid() * 7919u + (unsigned)t.tv_nsec) % SP_UID_COUNT;
    for (unsigned i = 0; i < SP_UID_COUNT; i++) {
        unsigned slot = (start + i) % SP_UID_COUNT;
        char path[64];
        snprintf(path, sizeof path, SP_UID_DIR "/%u", slot);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return -errno;
        /* Held, and still the file at that name: a releaser unlinks
         * before it unlocks, so a lock won on an unlinked file is void. */
        struct stat held, named;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 &&
            stat(path, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev) {
            *uid = SP_UID_BASE + slot;
            *lock_fd = fd;
            return 0;
        }
        close(fd);
    }
    return -EAGAIN;
}

void sp_uid_release(uid_t uid, int lock_fd)
{
    if (lock_fd < 0)
        return;
    /* No file per sandbox ever made is left behind in the directory. */
    char path[64];
    snprintf(path, sizeof path, SP_UID_DIR "/%u", (unsigned)(uid - SP_UID_BASE));
    unlink(path);
    close(lock_fd);
}
