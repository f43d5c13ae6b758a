/* Text encodings at the JSON boundary: UTF-8 repair (libunistring) and
 * base64 (libsodium). JSON strings cannot hold NUL or invalid UTF-8, and
 * the result channel must stay binary-safe. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "internal.h"

char *rb_utf8_repair(const char *data, size_t len, int *lossy)
{
    /* Worst case every byte becomes the 3-byte U+FFFD. */
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const uint8_t *s = (const uint8_t *)data, *end = s + len;
    *lossy = 0;
    while (s < end) {
        const uint8_t *bad = u8_check(s, (size_t)(end - s));
        const uint8_t *stop = bad ? bad : end;
        /* Copy the valid run, replacing NUL, which C strings cannot carry. */
        for (const uint8_t *p = s; p < stop; p++) {
            if (*p == 0) {
                memcpy(out + o, "\xEF\xBF\xBD", 3);
                o += 3;
                *lossy = 1;
            } else {
                out[o++] = (char)*p;
            }
        }
        if (!bad)
            break;
        memcpy(out + o, "\xEF\xBF\xBD", 3);
        o += 3;
        *lossy = 1;
        s = bad + 1;
    }
    out[o] = '\0';
    return out;
}

char *rb_base64_encode(const void *data, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(n);
    if (!out)
        return NULL;
    sodium_bin2base64(out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int rb_base64_decode(const char *text, void **out, size_t *len)
{
    size_t tl = strlen(text);
    unsigned char *buf = malloc(tl / 4 * 3 + 4);
    if (!buf)
        return RUNBOX_ENOMEM;
    size_t n = 0;
    const char *end = NULL;
    /* Padding is optional in what we accept; "=" is ignored as padding. */
    if (sodium_base642bin(buf, tl / 4 * 3 + 3, text, tl, "=", &n, &end,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        (end && *end)) {
        free(buf);
        return RUNBOX_EPROTO;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return RUNBOX_OK;
}
