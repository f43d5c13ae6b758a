/*
 * sandbox_uid.h — host uids for sandboxes when runbox is root.
 *
 * sp_uid_acquire picks a uid no other live sandbox on this machine holds
 * (any runbox process) and returns a lock descriptor that holds it until
 * sp_uid_release(uid, fd) (or the process's death), which also removes
 * its lock file. 0 or -errno. Thread-safe.
 */
#ifndef RUNBOX_SANDBOX_UID_H
#define RUNBOX_SANDBOX_UID_H

#include <sys/types.h>

int sp_uid_acquire(uid_t *uid, int *lock_fd);
void sp_uid_release(uid_t uid, int lock_fd);

#endif
