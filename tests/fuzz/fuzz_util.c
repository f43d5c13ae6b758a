/* Helpers for the fuzz harnesses (see fuzz.h). */
#include "fuzz.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

static void fuzz_cleanup(void)
{
    if (!fuzz_dir[0])
        return;
    char path[128];
    static const char *const names[] = {"input.ini", "empty.ini", ".env", "runbox.ini"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, names[i]);
        unlink(path);
    }
    rmdir(fuzz_dir);
}

const char *fuzz_workdir(void)
{
    if (fuzz_dir[0])
        return fuzz_dir;
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/runbox-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir) || chdir(fuzz_dir)) {
        perror("fuzz work dir");
        abort();
    }
    atexit(fuzz_cleanup);
    return fuzz_dir;
}

void fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(name);
        abort();
    }
    while (size) {
        ssize_t n = write(fd, data, size);
        if (n <= 0) {
            perror(name);
            abort();
        }
        data += n;
        size -= (size_t)n;
    }
    close(fd);
}

size_t fuzz_chunk_size(const uint8_t *data, size_t size)
{
    return size ? (size_t)data[0] % 17 + 1 : 1;
}
