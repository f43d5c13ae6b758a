/* Bounded line reading for the stdio transport (see mcp.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp.h"

#define MCP_READ_CHUNK 65536

void mcp_line_init(mcp_line_reader *r, int fd, size_t max)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->max = max;
}

void mcp_line_free(mcp_line_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = r->scanned = 0;
}

/* Drops the first n bytes (a returned line and its newline). */
static void mcp_line_consume(mcp_line_reader *r, size_t n)
{
    memmove(r->buf, r->buf + n, r->len - n);
    r->len -= n;
    r->scanned = 0;
}

long mcp_line_fill(mcp_line_reader *r)
{
    /* A line may need max bytes plus its newline and a NUL; never grow
     * beyond that, so an endless line costs bounded memory. */
    size_t want = r->len + MCP_READ_CHUNK + 1;
    if (want > r->cap) {
        size_t cap = r->cap ? r->cap : MCP_READ_CHUNK + 1;
        while (cap < want)
            cap *= 2;
        char *p = realloc(r->buf, cap);
        if (!p)
            return -1;
        r->buf = p;
        r->cap = cap;
    }
    ssize_t n = read(r->fd, r->buf + r->len, MCP_READ_CHUNK);
    if (n < 0)
        return -1;
    if (n == 0)
        r->eof = 1;
    r->len += (size_t)n;
    return (long)n;
}

/* Keeps the last MCP_LINE_KEEP bytes of what was dropped so far plus
 * s[0..n). */
static void mcp_line_keep_tail(mcp_line_reader *r, const char *s, size_t n)
{
    if (n >= MCP_LINE_KEEP) {
        memcpy(r->tail, s + n - MCP_LINE_KEEP, MCP_LINE_KEEP);
        r->tail_len = MCP_LINE_KEEP;
        return;
    }
    size_t keep = r->tail_len + n > MCP_LINE_KEEP ? MCP_LINE_KEEP - n : r->tail_len;
    memmove(r->tail, r->tail + r->tail_len - keep, keep);
    memcpy(r->tail + keep, s, n);
    r->tail_len = keep + n;
}

/* Starts dropping a line whose first n bytes are s. */
static void mcp_line_keep_head(mcp_line_reader *r, const char *s, size_t n)
{
    r->head_len = n < MCP_LINE_KEEP ? n : MCP_LINE_KEEP;
    memcpy(r->head, s, r->head_len);
    r->tail_len = 0;
    mcp_line_keep_tail(r, s, n);
}

void mcp_line_dropped(const mcp_line_reader *r, const char **head,
                      size_t *head_len, const char **tail, size_t *tail_len)
{
    *head = r->head;
    *head_len = r->head_len;
    *tail = r->tail;
    *tail_len = r->tail_len;
}

mcp_line_status mcp_line_next(mcp_line_reader *r, const char **line,
                              size_t *len)
{
    if (r->handed) {
        mcp_line_consume(r, r->handed);
        r->handed = 0;
    }
    for (;;) {
        char *nl = r->len > r->scanned
                       ? memchr(r->buf + r->scanned, '\n', r->len - r->scanned)
                       : NULL;
        if (!nl) {
            if (r->discarding) {
                mcp_line_keep_tail(r, r->buf, r->len);
                r->len = r->scanned = 0;
                if (r->eof) {
                    r->discarding = 0;
                    return MCP_LINE_TOO_LONG;
                }
                return MCP_LINE_NONE;
            }
            if (r->len > r->max) {
                /* Too long already: keep its ends, skip to its end. */
                mcp_line_keep_head(r, r->buf, r->len);
                r->len = r->scanned = 0;
                r->discarding = 1;
                if (r->eof) {
                    r->discarding = 0;
                    return MCP_LINE_TOO_LONG;
                }
                return MCP_LINE_NONE;
            }
            r->scanned = r->len;
            if (!r->eof || r->len == 0)
                return MCP_LINE_NONE;
            nl = r->buf + r->len; /* a last line without newline */
        }
        size_t n = (size_t)(nl - r->buf);
        size_t used = n < r->len ? n + 1 : n;
        if (r->discarding) {
            r->discarding = 0;
            mcp_line_keep_tail(r, r->buf, n);
            mcp_line_consume(r, used);
            return MCP_LINE_TOO_LONG;
        }
        if (n > r->max) {
            mcp_line_keep_head(r, r->buf, n);
            mcp_line_consume(r, used);
            return MCP_LINE_TOO_LONG;
        }
        /* Hand the line out in place (the buffer always has a spare byte
         * for the NUL); it is consumed on the next call. */
        r->buf[n] = '\0';
        if (n && r->buf[n - 1] == '\r')
            r->buf[--n] = '\0';
        r->handed = used;
        *line = r->buf;
        *len = n;
        return MCP_LINE_OK;
    }
}
