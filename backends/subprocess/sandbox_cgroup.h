/*
 * sandbox_cgroup.h — a memory and pids cgroup per sandbox.
 *
 * With cgroup v1 (memory and pids hierarchies under /sys/fs/cgroup) it
 * works where runbox may make groups there: as root. Elsewhere (a normal
 * user without delegation) sp_cgroup_create fails and the sandbox runs
 * without: the backend then does not claim a memory limit. Memory counts
 * every page of the sandbox's processes, tmpfs pages included.
 * Thread-safe (each group is its own).
 */
#ifndef RUNBOX_SANDBOX_CGROUP_H
#define RUNBOX_SANDBOX_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

typedef struct sp_cgroup {
    char memory[512]; /* the group's directories, "" when not made */
    char pids[512];
} sp_cgroup;

/* Makes the groups with these limits (0 = unlimited). 0 or -errno. */
int sp_cgroup_create(sp_cgroup *g, uint64_t memory_bytes, uint32_t pids_max);
/* Moves pid (and its future children) into the groups. */
int sp_cgroup_enter(const sp_cgroup *g, pid_t pid);
/* OOM kills in the group so far (oom_kill of memory.oom_control), or -1. */
long sp_cgroup_oom_kills(const sp_cgroup *g);
/* Removes the groups; call after every process in them has ended. */
void sp_cgroup_remove(sp_cgroup *g);
/* Removes the empty groups left by runbox processes that died (SIGKILL
 * leaves no chance to clean up). Cheap when there are none. */
void sp_cgroup_sweep(void);

#endif
