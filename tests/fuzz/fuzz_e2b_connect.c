/* envd's Connect-protocol server stream (process.Process/Start): 5-byte
 * envelopes around JSON, fed in arbitrary chunks into the real frame
 * reader of e2b_connect_rpc.c (included, to reach its file-local parser),
 * then mapped to a status as a finished run would be. */
#include "fuzz.h"

#include "e2b_connect_rpc.c"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_io io;
    rb_exec_io_init(&io, &r, NULL, 1 << 20);
    e2b_state st = {.host = &rb_host};
    e2b_sandbox sb = {.st = &st, .id = "fuzz"};
    e2b_buf out = {0}, err = {0};
    e2b_stream s = {.sb = &sb, .io = &io, .capture = {NULL, &out, &err}};
    size_t chunk = fuzz_chunk_size(data, size);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = e2b_stream_feed(&s, (const char *)data + off, n);
    }
    int status = e2b_stream_status(&sb, &s, "fuzz");
    if (rc)
        FUZZ_CHECK(status != RUNBOX_OK);
    if (status != RUNBOX_OK)
        FUZZ_CHECK(runbox_error_last()[0] != '\0');
    FUZZ_CHECK(out.len == r.out.len || r.out.truncated);
    e2b_buf_free(&s.pending);
    e2b_buf_free(&out);
    e2b_buf_free(&err);
    runbox_result_clear(&r);
    return 0;
}
