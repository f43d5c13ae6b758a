/* The [subprocess] settings as runbox documents and checks them (`runbox
 * backends --settings subprocess`). Unset ones are found on the host. */
#include "subprocess.h"

const runbox_setting sp_settings[] = {
    {"python", RUNBOX_SETTING_STRING, NULL, 0,
     "interpreter to run (unset: python3 from PATH)"},
    {"isolation", RUNBOX_SETTING_STRING, "auto", 0,
     "auto (namespaces when the kernel allows), namespaces, or none"},
    {"workdir", RUNBOX_SETTING_STRING, NULL, 0,
     "folder the sandboxes' work dirs are made in (unset: $TMPDIR or /tmp)"},
    {"user", RUNBOX_SETTING_STRING, NULL, 0,
     "user the code runs as (unset: the kernel's overflow uid, nobody)"},
    {"packages_dir", RUNBOX_SETTING_STRING, NULL, 0,
     "absolute path of a persistent package folder for runbox install"},
    {"index_url", RUNBOX_SETTING_STRING, NULL, 0,
     "package index pip installs from (unset: pip's default)"},
    {NULL, RUNBOX_SETTING_STRING, NULL, 0, NULL}};
