/* The [docker] settings as runbox documents and checks them (`runbox
 * backends --settings docker`). The defaults are the ones
 * docker_config_load falls back to; memory and network are runbox's own
 * limits and documented there. */
#include "docker_internal.h"

const runbox_setting docker_settings[] = {
    {"host", RUNBOX_SETTING_STRING, NULL, 0,
     "Docker engine: unix:///path/to/docker.sock or tcp://host:port (DOCKER_HOST); "
     "unset: the docker CLI's context, else the default socket"},
    {"image", RUNBOX_SETTING_STRING, DOCKER_DEFAULT_IMAGE, 0,
     "image the code runs in; it needs python3"},
    {"user", RUNBOX_SETTING_STRING, "1000:1000", 0,
     "uid:gid the code runs as inside the container"},
    {"cpus", RUNBOX_SETTING_STRING, "1", 0,
     "CPUs the container may use (NanoCpus), a decimal number such as 1.5 (0 = no limit)"},
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
    {"runtime", RUNBOX_SETTING_STRING, "runc", 0,
     "OCI runtime registered with the engine: runc, or runsc for gVisor"},
    {"idle_timeout", RUNBOX_SETTING_STRING, "1800", 0,
     "seconds a session container lives without a call, enforced inside it (0 = no end)"},
    {"tls_verify", RUNBOX_SETTING_BOOL, "off", 0,
     "TLS to a tcp:// engine, verified against ca.pem (DOCKER_TLS_VERIFY)"},
    {"cert_path", RUNBOX_SETTING_STRING, NULL, 0,
     "folder with ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH); unset: ~/.docker"},
    {"context", RUNBOX_SETTING_STRING, NULL, 0,
     "docker CLI context to use (DOCKER_CONTEXT); unset: the CLI's current one"},
    {NULL, RUNBOX_SETTING_STRING, NULL, 0, NULL}};
