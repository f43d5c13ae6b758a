/* The command's private libraries (the MCP server, the repl's line
 * editor), loaded only by the commands that need them.
 *
 * By name first, through the command's RUNPATH (the install's lib/runbox/,
 * or the build tree's folders). A sanitizer's dlopen interceptor makes its
 * runtime, not the command, the caller, which hides the command's RUNPATH
 * from the loader: then from the same folders named relative to the
 * command's own file (RUNBOX_CLI_PRIVATE_DIRS, set by CMake). */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void *cli_load_private(const char *name, char *why, size_t size)
{
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib)
        return lib;
    snprintf(why, size, "%s", dlerror());
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    if (!slash)
        return NULL;
    *slash = '\0';
    char dirs[] = RUNBOX_CLI_PRIVATE_DIRS, *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char path[PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s/%s", exe, d, name);
        if ((lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
            return lib;
    }
    return NULL;
}
