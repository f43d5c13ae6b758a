/* The [docker] settings as runbox documents and checks them (`runbox
 * backends --settings docker`). The defaults are the ones
 * docker_config_load falls back to; memory and network are runbox's own
 * limits and documented there. */
#include "docker_internal.h"

const runbox_setting docker_settings[] = {
    {"host", RUNBOX_SETTING_STRING, DOCKER_DEFAULT_HOST, 0,
     "Docker engine: unix:///path/to/docker.sock or tcp://host:port (DOCKER_HOST)"},
    {"image", RUNBOX_SETTING_STRING, DOCKER_DEFAULT_IMAGE, 0,
     "image the code runs in; it needs python3"},
    {"user", RUNBOX_SETTING_STRING, "1000:1000", 0,
     "uid:gid the code runs as inside the container"},
    {"cpus", RUNBOX_SETTING_STRING, "0", 0,
     "CPUs the container may use, a decimal number such as 1.5 (0 = no limit)"},
    {"pids_limit", RUNBOX_SETTING_COUNT, "256", 0,
     "processes and threads in the container (0 = no limit)"},
    {"read_only", RUNBOX_SETTING_BOOL, "on", 0,
     "read-only root file system (the work dir and /tmp are tmpfs)"},
    {"cap_drop", RUNBOX_SETTING_STRING, "ALL", 0,
     "Linux capabilities dropped from the container"},
    {"no_new_privileges", RUNBOX_SETTING_BOOL, "on", 0,
     "no privilege gain through setuid binaries"},
    {"tmpfs_size", RUNBOX_SETTING_SIZE, "256m", 0,
     "size of the /sandbox and /tmp tmpfs mounts"},
    {"pull", RUNBOX_SETTING_BOOL, "on", 0,
     "pull the image when the engine does not have it"},
    {NULL, RUNBOX_SETTING_STRING, NULL, 0, NULL}};
