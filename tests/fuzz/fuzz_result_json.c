/* The result JSON (what `runbox run --json`, the MCP server and callers
 * exchange): any accepted text must survive a round trip exactly, i.e.
 * to_json(from_json(to_json(from_json(x)))) == to_json(from_json(x)). */
#include "fuzz.h"

#include <string.h>

#include "runbox/runbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    runbox_result a, b;
    runbox_result_init(&a);
    runbox_result_init(&b);
    if (runbox_result_from_json(&a, text) == RUNBOX_OK) {
        char *j1 = NULL, *j2 = NULL;
        FUZZ_CHECK(runbox_result_to_json(&j1, &a) == RUNBOX_OK);
        FUZZ_CHECK(runbox_result_from_json(&b, j1) == RUNBOX_OK);
        FUZZ_CHECK(runbox_result_to_json(&j2, &b) == RUNBOX_OK);
        if (strcmp(j1, j2))
            fprintf(stderr, "first:  %s\nsecond: %s\n", j1, j2);
        FUZZ_CHECK(strcmp(j1, j2) == 0);
        FUZZ_CHECK(a.verdict == b.verdict && a.out.len == b.out.len &&
                   a.err.len == b.err.len && a.rich_count == b.rich_count);
        FUZZ_CHECK(!a.out.len || !memcmp(a.out.data, b.out.data, a.out.len));
        FUZZ_CHECK(!a.err.len || !memcmp(a.err.data, b.err.data, a.err.len));
        free(j1);
        free(j2);
    }
    runbox_result_clear(&a);
    runbox_result_clear(&b);
    free(text);
    return 0;
}
