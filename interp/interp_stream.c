/* The runbox side of the driver's frame protocol: bounded parsing, and
 * frames turned into output, rich results and exceptions of the call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

void interp_frame_header(unsigned char hdr[5], char kind, uint32_t len)
{
    hdr[0] = (unsigned char)kind;
    hdr[1] = (unsigned char)(len >> 24);
    hdr[2] = (unsigned char)(len >> 16);
    hdr[3] = (unsigned char)(len >> 8);
    hdr[4] = (unsigned char)len;
}

void interp_stream_init(interp_stream *s, const runbox_host *host)
{
    memset(s, 0, sizeof *s);
    s->host = host;
}

void interp_stream_begin(interp_stream *s, runbox_exec_io *io)
{
    s->io = io;
    s->done = 0;
    s->rich_bytes = 0;
    s->memory_error = 0;
}

void interp_stream_free(interp_stream *s)
{
    free(s->payload);
    s->payload = NULL;
}

static int interp_refuse(interp_stream *s, const char *why)
{
    snprintf(s->error, sizeof s->error, "%s", why);
    return RUNBOX_EPROTO;
}

static uint32_t interp_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* X: three big-endian lengths, then name, value and traceback. */
static int interp_exception(interp_stream *s, const char *p, uint32_t n)
{
    if (n < 12)
        return interp_refuse(s, "a short exception frame");
    uint64_t len[3] = {interp_be32(p), interp_be32(p + 4), interp_be32(p + 8)};
    if (len[0] + len[1] + len[2] != n - 12 || len[0] > 256)
        return interp_refuse(s, "an exception frame with bad lengths");
    char *field[3];
    const char *at = p + 12;
    for (int i = 0; i < 3; i++) {
        field[i] = malloc(len[i] + 1);
        if (field[i]) {
            memcpy(field[i], at, len[i]);
            field[i][len[i]] = '\0';
        }
        at += len[i];
    }
    if (field[0] && field[1] && field[2] && s->io) {
        s->host->set_exception(s->io, field[0], field[1], field[2]);
        s->memory_error = !strcmp(field[0], "MemoryError");
    }
    int ok = field[0] && field[1] && field[2];
    for (int i = 0; i < 3; i++)
        free(field[i]);
    return ok ? RUNBOX_OK : interp_refuse(s, "out of memory for an exception");
}

static int interp_frame(interp_stream *s, char kind, const char *p, uint32_t n)
{
    const runbox_host *h = s->host;
    if (kind == 'O' || kind == 'E') {
        if (s->io && n)
            h->emit(s->io, kind == 'O' ? 1 : 2, p, n);
        return RUNBOX_OK;
    }
    if (kind == 'R') {
        const char *nul = n > 1 ? memchr(p + 1, '\0', n - 1) : NULL;
        if (!nul || nul == p + 1 || nul - p > 128)
            return interp_refuse(s, "a rich result without a MIME type");
        s->rich_bytes += n;
        if (s->rich_bytes > INTERP_RICH_MAX)
            return interp_refuse(s, "more rich-result data than runbox keeps "
                                    "for one run");
        if (s->io)
            h->add_rich(s->io, p + 1, nul + 1, n - (uint32_t)(nul + 1 - p),
                        p[0] == 1);
        return RUNBOX_OK;
    }
    if (kind == 'X')
        return interp_exception(s, p, n);
    if (kind != 'D')
        return interp_refuse(s, "a frame of unknown type");
    /* D: the execution count in decimal. */
    long count = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || i >= 9)
            return interp_refuse(s, "a malformed done frame");
        count = count * 10 + (p[i] - '0');
    }
    s->execution_count = (int)count;
    s->done = 1;
    return RUNBOX_OK;
}

int interp_stream_feed(interp_stream *s, const char *data, size_t len)
{
    if (s->error[0])
        return RUNBOX_EPROTO;
    while (len) {
        if (s->hdr_have < 5) {
            size_t take = 5 - s->hdr_have < len ? 5 - s->hdr_have : len;
            memcpy(s->hdr + s->hdr_have, data, take);
            s->hdr_have += take;
            data += take;
            len -= take;
            if (s->hdr_have < 5)
                break;
            s->need = (uint32_t)s->hdr[1] << 24 | (uint32_t)s->hdr[2] << 16 |
                      (uint32_t)s->hdr[3] << 8 | s->hdr[4];
            if (s->need > INTERP_FRAME_MAX)
                return interp_refuse(s, "a frame larger than runbox accepts");
            s->have = 0;
            /* Output frames pass straight through when whole in data. */
            if (len >= s->need) {
                int rc = interp_frame(s, (char)s->hdr[0], data, s->need);
                if (rc)
                    return rc;
                data += s->need;
                len -= s->need;
                s->hdr_have = 0;
                continue;
            }
            s->payload = malloc(s->need ? s->need : 1);
            if (!s->payload)
                return interp_refuse(s, "out of memory for a frame");
        }
        uint32_t take = s->need - s->have < len ? s->need - s->have : (uint32_t)len;
        memcpy(s->payload + s->have, data, take);
        s->have += take;
        data += take;
        len -= take;
        if (s->have == s->need) {
            int rc = interp_frame(s, (char)s->hdr[0], s->payload, s->need);
            free(s->payload);
            s->payload = NULL;
            s->hdr_have = 0;
            if (rc)
                return rc;
        }
    }
    return RUNBOX_OK;
}

void interp_tail_add(interp_tail *t, const char *data, size_t len)
{
    size_t room = sizeof t->text - 1;
    if (len >= room) {
        data += len - room;
        len = room;
    }
    if (t->len + len > room) {
        size_t drop = t->len + len - room;
        memmove(t->text, t->text + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->text + t->len, data, len);
    t->len += len;
    t->text[t->len] = '\0';
}
