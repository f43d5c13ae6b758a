/*
 * docker_stream.c — the stdout/stderr multiplexing of a non-TTY attach or
 * exec stream: each frame is an 8-byte header (stream type, three zero
 * bytes, payload size as big-endian uint32) followed by the payload.
 *
 * Reads split frames anywhere, so the demuxer keeps only the header bytes
 * seen so far and how much payload is left; payload is passed on in place,
 * which keeps memory flat however much the code prints.
 */
#include <string.h>

#include "docker_internal.h"

void docker_demux_init(docker_demux *d)
{
    memset(d, 0, sizeof(*d));
}

int docker_demux_feed(docker_demux *d, const char *data, size_t len,
                      docker_frame_cb cb, void *arg)
{
    while (len) {
        if (d->remaining == 0) {
            size_t take = sizeof(d->header) - d->header_have;
            if (take > len)
                take = len;
            memcpy(d->header + d->header_have, data, take);
            d->header_have += take;
            data += take;
            len -= take;
            if (d->header_have < sizeof(d->header))
                return RUNBOX_OK;
            d->header_have = 0;
            /* 0 stdin (echoed by some engines), 1 stdout, 2 stderr, 3 the
             * engine's own error text for exec (systemerr). */
            if (d->header[0] > 3)
                return RUNBOX_EPROTO;
            d->stream = d->header[0] == 1 ? 1 : 2;
            d->remaining = (uint32_t)d->header[4] << 24 |
                           (uint32_t)d->header[5] << 16 |
                           (uint32_t)d->header[6] << 8 | d->header[7];
            if (d->header[0] == 0)
                d->stream = 0;
            continue;
        }
        size_t take = d->remaining < len ? d->remaining : len;
        if (d->stream != 0) {
            int rc = cb(arg, d->stream, data, take);
            if (rc != RUNBOX_OK)
                return rc;
        }
        d->remaining -= (uint32_t)take;
        data += take;
        len -= take;
    }
    return RUNBOX_OK;
}

int docker_demux_partial(const docker_demux *d)
{
    return d->remaining != 0 || d->header_have != 0;
}
