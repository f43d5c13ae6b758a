/* What an MCP client sends to `runbox mcp`: bytes read by the bounded line
 * reader (mcp_line.c) from a file descriptor, each line parsed and
 * validated by mcp_jsonrpc.c. Every line must give a message or an error
 * response that is itself one line of valid JSON-RPC. */
#include "fuzz.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("mcp-input", MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) ||
        lseek(fd, 0, SEEK_SET) != 0)
        abort();
    mcp_line_reader rd;
    mcp_line_init(&rd, fd, 4096); /* small, so the too-long path is reached */
    for (;;) {
        const char *line;
        size_t len;
        mcp_line_status st = mcp_line_next(&rd, &line, &len);
        if (st == MCP_LINE_NONE) {
            long n = mcp_line_fill(&rd);
            FUZZ_CHECK(n >= 0);
            if (n == 0 && mcp_line_next(&rd, &line, &len) == MCP_LINE_NONE)
                break;
            continue;
        }
        if (st == MCP_LINE_TOO_LONG) {
            /* Answered from its two ends: one line of JSON-RPC. */
            const char *head, *tail;
            size_t hl, tl;
            mcp_line_dropped(&rd, &head, &hl, &tail, &tl);
            FUZZ_CHECK(hl <= MCP_LINE_KEEP && tl <= MCP_LINE_KEEP);
            char *error_line = mcp_jsonrpc_too_long(head, hl, tail, tl, 4096);
            FUZZ_CHECK(error_line && !strchr(error_line, '\n'));
            cJSON *e = cJSON_Parse(error_line);
            FUZZ_CHECK(cJSON_IsObject(e) && cJSON_GetObjectItem(e, "error"));
            cJSON_Delete(e);
            free(error_line);
            continue;
        }
        FUZZ_CHECK(len <= 4096 && strlen(line) <= len && !memchr(line, '\n', len));
        mcp_message msg;
        char *error_line = NULL;
        if (mcp_jsonrpc_parse(&msg, line, len, &error_line) == 0) {
            FUZZ_CHECK(msg.root != NULL);
            if (msg.kind != MCP_MSG_RESPONSE)
                FUZZ_CHECK(msg.method != NULL);
            mcp_message_clear(&msg);
        } else if (error_line) { /* NULL: a notification, never answered */
            FUZZ_CHECK(!strchr(error_line, '\n'));
            cJSON *e = cJSON_Parse(error_line);
            FUZZ_CHECK(cJSON_IsObject(e));
            cJSON_Delete(e);
            free(error_line);
        }
    }
    mcp_line_free(&rd);
    close(fd);
    return 0;
}
