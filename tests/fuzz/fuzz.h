/* Shared by the libFuzzer harnesses in tests/fuzz. Each harness is a thin
 * LLVMFuzzerTestOneInput around one of runbox's real parsers; the same file
 * is linked with libFuzzer (RUNBOX_FUZZ builds, scripts/fuzz.sh) or with
 * replay_main.c, which runs it over the seed corpus and every saved crash
 * as a ctest regression test in every build. */
#ifndef RUNBOX_FUZZ_H
#define RUNBOX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the parser broke: print it and abort, which libFuzzer saves
 * as a crash and the replay test reports as a failure. */
#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,       \
                    __LINE__, #cond);                                       \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* A private working directory (made once, removed at exit), for parsers
 * that read files; the process changes into it. */
const char *fuzz_workdir(void);
/* Writes data to name in the current directory. */
void fuzz_write_file(const char *name, const uint8_t *data, size_t size);
/* Splits the input into chunks of a size taken from its first byte, so a
 * stream parser sees frames and lines cut at arbitrary places. */
size_t fuzz_chunk_size(const uint8_t *data, size_t size);

#endif
