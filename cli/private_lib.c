/* The command's private libraries (the MCP server, the repl's line
 * editor), loaded only by the commands that need them, from folders named
 * relative to the command's own file (RUNBOX_CLI_PRIVATE_DIRS, set by
 * CMake: the install's lib/runbox/, then the build tree's folders). Never
 * by bare name: that would search LD_LIBRARY_PATH and the system's
 * folders for a library that only ever lives next to the command. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void *cli_load_private(const char *name, char *why, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    if (!slash) {
        snprintf(why, size, "cannot find the runbox command's own file");
        return NULL;
    }
    *slash = '\0';
    snprintf(why, size, "%s is in none of %s (relative to %s)", name,
             RUNBOX_CLI_PRIVATE_DIRS, exe);
    char dirs[] = RUNBOX_CLI_PRIVATE_DIRS, *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char path[PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s/%s", exe, d, name);
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (lib)
            return lib;
        if (access(path, F_OK) == 0) { /* there, but it does not load */
            snprintf(why, size, "%s", dlerror());
            return NULL;
        }
    }
    return NULL;
}
