/* Docker's multiplexed attach/exec stream (docker_stream.c). Property: the
 * bytes each stream receives, the status and the partial-frame flag do not
 * depend on how the input was cut into reads. */
#include "fuzz.h"

#include <string.h>

#include "docker_internal.h"

typedef struct fuzz_sink {
    uint8_t *data[3];
    size_t len[3];
} fuzz_sink;

static int fuzz_collect(void *arg, int stream, const char *data, size_t len)
{
    fuzz_sink *s = arg;
    FUZZ_CHECK(stream == 1 || stream == 2);
    FUZZ_CHECK(len > 0);
    uint8_t *p = realloc(s->data[stream], s->len[stream] + len);
    if (!p)
        abort();
    memcpy(p + s->len[stream], data, len);
    s->data[stream] = p;
    s->len[stream] += len;
    return RUNBOX_OK;
}

static int fuzz_demux(const uint8_t *data, size_t size, size_t chunk,
                      fuzz_sink *s, int *partial)
{
    docker_demux d;
    docker_demux_init(&d);
    int rc = RUNBOX_OK;
    for (size_t off = 0; off < size && rc == RUNBOX_OK; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = docker_demux_feed(&d, (const char *)data + off, n, fuzz_collect, s);
    }
    *partial = docker_demux_partial(&d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_sink whole, cut;
    memset(&whole, 0, sizeof whole);
    memset(&cut, 0, sizeof cut);
    int pw, pc;
    int rw = fuzz_demux(data, size, size ? size : 1, &whole, &pw);
    int rcut = fuzz_demux(data, size, fuzz_chunk_size(data, size), &cut, &pc);
    FUZZ_CHECK(rw == rcut);
    for (int s = 1; s <= 2; s++) {
        FUZZ_CHECK(whole.len[s] <= size);
        if (rw == RUNBOX_OK) {
            FUZZ_CHECK(whole.len[s] == cut.len[s]);
            FUZZ_CHECK(!whole.len[s] ||
                       !memcmp(whole.data[s], cut.data[s], whole.len[s]));
        }
        free(whole.data[s]);
        free(cut.data[s]);
    }
    if (rw == RUNBOX_OK)
        FUZZ_CHECK(pw == pc);
    return 0;
}
