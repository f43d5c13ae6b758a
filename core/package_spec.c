/* Package specs accepted by install_package: a PEP 508 name, optional
 * extras and an optional version specifier list. No URLs, paths, options
 * or markers: the spec reaches pip as one argument, and nothing in it may
 * change what pip does beyond choosing a package. */
#include <regex.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define RB_NAME "[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
#define RB_VERSION "[A-Za-z0-9_.*+!-]+"
#define RB_CLAUSE "(~=|==|!=|<=|>=|<|>|===)[ ]*" RB_VERSION
#define RB_SPEC "^" RB_NAME "(\\[" RB_NAME "([ ]*,[ ]*" RB_NAME ")*\\])?" \
                "([ ]*" RB_CLAUSE "([ ]*,[ ]*" RB_CLAUSE ")*)?$"

RUNBOX_API int runbox_package_spec_check(const char *spec)
{
    if (!spec || !*spec)
        return rb_fail(RUNBOX_EDENIED, "empty package spec: give a name such "
                       "as numpy or numpy>=1.26");
    if (spec[0] == '-')
        return rb_fail(RUNBOX_EDENIED, "package spec '%s' looks like an "
                       "option; give a package name such as numpy", spec);
    if (strlen(spec) > 200)
        return rb_fail(RUNBOX_EDENIED, "package spec is longer than 200 "
                       "characters");
    if (strstr(spec, "://") || strchr(spec, '@') || strchr(spec, '/') ||
        strchr(spec, '\\'))
        return rb_fail(RUNBOX_EDENIED, "package spec '%s' names a URL or a "
                       "path; only index packages are allowed (name with an "
                       "optional version, e.g. numpy>=1.26)", spec);
    /* pip takes a name that ends like an archive for a local file, which
     * the code in the sandbox may have planted. */
    static const char *const archives[] = {".whl", ".zip", ".tar", ".tar.gz",
                                           ".tgz", ".tar.bz2", ".tbz",
                                           ".tar.xz", ".txz", ".tar.lz",
                                           ".egg", NULL};
    size_t n = strlen(spec);
    for (const char *const *a = archives; *a; a++) {
        size_t k = strlen(*a);
        if (n > k && !strcasecmp(spec + n - k, *a))
            return rb_fail(RUNBOX_EDENIED, "package spec '%s' names a local "
                           "archive file (%s), which pip would install from "
                           "the sandbox's disk; give an index package name "
                           "instead (e.g. numpy>=1.26)", spec, *a);
    }
    regex_t re;
    if (regcomp(&re, RB_SPEC, REG_EXTENDED | REG_NOSUB))
        return rb_fail(RUNBOX_EBACKEND, "internal error: bad spec pattern");
    int ok = regexec(&re, spec, 0, NULL, 0) == 0;
    regfree(&re);
    if (!ok)
        return rb_fail(RUNBOX_EDENIED, "package spec '%s' is not a package "
                       "name with an optional version specifier (e.g. numpy, "
                       "pandas==2.2.2, requests[socks]>=2,<3)", spec);
    return RUNBOX_OK;
}
