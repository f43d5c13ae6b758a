/* The E2B code interpreter's newline-delimited JSON answer to /execute,
 * fed in arbitrary chunks into the real line handler of
 * e2b_execute_stream.c (included, to reach its file-local parser) with the
 * core's real host table filling a runbox_result. */
#include "fuzz.h"

#include "e2b_execute_stream.c"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_io io;
    rb_exec_io_init(&io, &r, NULL, 1 << 20);
    e2b_state st = {.host = &rb_host};
    e2b_sandbox sb = {.st = &st, .id = "fuzz"};
    runbox_exec_request req = {.abi_version = RUNBOX_BACKEND_ABI,
                               .struct_size = sizeof req, .io = &io};
    runbox_exec_outcome out;
    memset(&out, 0, sizeof out);
    e2b_ndjson p = {.sb = &sb, .req = &req, .out = &out};
    size_t chunk = fuzz_chunk_size(data, size);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = e2b_ndjson_feed(&p, (const char *)data + off, n);
    }
    /* As e2b_execute: a final line without '\n' still counts. */
    if (rc == 0 && !p.failed && !p.ended && p.line.len)
        e2b_ndjson_line(&p, p.line.data, p.line.len);
    if (p.failed)
        FUZZ_CHECK(p.why[0] != '\0');
    /* Output never grows past the input but by repair: an invalid byte in
     * a line becomes U+FFFD, three bytes (the exact bytes go to base64). */
    FUZZ_CHECK(r.out.len <= 3 * size && r.err.len <= 3 * size);
    e2b_buf_free(&p.line);
    e2b_buf_free(&p.prepared);
    runbox_result_clear(&r);
    return 0;
}
