/* The runbox side of the driver's frame protocol: bounded parsing, and
 * frames turned into output, rich results and exceptions of the call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

static const char *interp_json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
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
    if (kind != 'X' && kind != 'D')
        return interp_refuse(s, "a frame of unknown type");
    cJSON *o = cJSON_ParseWithLength(p, n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return interp_refuse(s, "a frame with malformed JSON");
    }
    if (kind == 'X') {
        if (s->io)
            h->set_exception(s->io, interp_json_str(o, "name"),
                             interp_json_str(o, "value"),
                             interp_json_str(o, "traceback"));
    } else {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "execution_count");
        s->execution_count = cJSON_IsNumber(c) && c->valuedouble >= 0 &&
                                     c->valuedouble < 2e9
                                 ? (int)c->valuedouble : 0;
        s->done = 1;
    }
    cJSON_Delete(o);
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
