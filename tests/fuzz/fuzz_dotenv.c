/* The project's .env file, read by runbox_config_load from the current
 * directory after the INI file. */
#include "fuzz.h"

#include <string.h>

#include "runbox/runbox.h"

/* Every entry must be a readable key, value and origin. */
static void fuzz_touch(void *ud, const char *key, const char *value,
                       const char *origin)
{
    size_t *n = ud;
    FUZZ_CHECK(key && *key);
    *n += strlen(key) + (value ? strlen(value) : 0) +
          (origin ? strlen(origin) : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_workdir();
    fuzz_write_file("empty.ini", NULL, 0);
    fuzz_write_file(".env", data, size);
    runbox_config *cfg = NULL;
    if (runbox_config_new(&cfg) != RUNBOX_OK)
        abort();
    if (runbox_config_load(cfg, "empty.ini") == RUNBOX_OK) {
        size_t n = 0;
        runbox_config_foreach(cfg, fuzz_touch, &n);
    } else {
        FUZZ_CHECK(runbox_error_last()[0] != '\0');
    }
    runbox_config_free(cfg);
    return 0;
}
