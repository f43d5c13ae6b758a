/* Package specs: whatever runbox_package_spec_check accepts reaches pip as
 * one argument, so it must be a plain name with extras and version
 * clauses: no option, URL, path, marker, quote, space run or control byte. */
#include "fuzz.h"

#include <string.h>

#include "runbox/runbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    if (!spec)
        abort();
    memcpy(spec, data, size);
    spec[size] = '\0';
    if (runbox_package_spec_check(spec) == RUNBOX_OK) {
        size_t n = strlen(spec); /* what a C caller passes stops at a NUL */
        FUZZ_CHECK(n > 0 && n <= 200 && spec[0] != '-');
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789._-[], ~=!<>*+", spec[i]));
    } else {
        FUZZ_CHECK(runbox_error_last()[0] != '\0');
    }
    free(spec);
    return 0;
}
