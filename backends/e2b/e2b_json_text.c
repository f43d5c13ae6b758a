/*
 * e2b_json_text.c — JSON strings that cJSON cannot carry as they are.
 *
 * The code interpreter's lines are Python's json.dumps of Python strings:
 * a NUL the code printed arrives as \u0000, and a string holding a lone
 * surrogate (Python's surrogateescape form of an undecodable byte, e.g.
 * \udcff for the byte 0xff) arrives as that escape. cJSON turns \u0000
 * into a C string that ends there, and refuses lone surrogates outright, so
 * a whole line (and the run) would be lost to one odd character.
 *
 * Before parsing, such escapes are swapped for byte sequences that valid
 * UTF-8 never holds and that cJSON copies through untouched: NUL becomes
 * the overlong pair C0 80, a lone surrogate its 3-byte "generalised UTF-8"
 * form ED xx xx. Raw bytes of the line that already look like these (never
 * valid UTF-8, never sent by a real server) are replaced by U+FFFD first,
 * so a marker can only come from an escape. After parsing, each decoded
 * string is turned back into what the caller needs: the exact bytes, text
 * with U+FFFD, or a JSON escape again.
 */
#include <stdlib.h>
#include <string.h>

#include "e2b_internal.h"

static const char e2b_fffd[] = "\xEF\xBF\xBD";

static int e2b_hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Is p the start of a marker-like raw sequence (C0, or ED A0..BF)? */
static int e2b_marker_like(const unsigned char *p, const unsigned char *end)
{
    return *p == 0xC0 ||
           (*p == 0xED && p + 1 < end && p[1] >= 0xA0 && p[1] <= 0xBF);
}

int e2b_json_prepare(const char *line, size_t len, e2b_buf *out)
{
    const char *p = line, *end = line + len;
    out->len = 0;
    while (p < end) {
        const unsigned char c = (unsigned char)*p;
        unsigned cp, lo;
        int rc;
        if (c == 0xC0 || c == 0xED) {
            if (e2b_marker_like((const unsigned char *)p,
                                (const unsigned char *)end)) {
                rc = e2b_buf_append(out, e2b_fffd, 3);
                p++;
            } else {
                rc = e2b_buf_append(out, p++, 1);
            }
        } else if (c != '\\' || p + 1 >= end) {
            rc = e2b_buf_append(out, p++, 1);
        } else if (p[1] != 'u' || !e2b_hex4(p + 2, end, &cp)) {
            /* Any other escape (or a broken one, left for cJSON to
             * refuse) is copied with the character it escapes. */
            rc = e2b_buf_append(out, p, 2);
            p += 2;
        } else if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 12 &&
                   p[6] == '\\' && p[7] == 'u' &&
                   e2b_hex4(p + 8, end, &lo) && lo >= 0xDC00 &&
                   lo <= 0xDFFF) {
            rc = e2b_buf_append(out, p, 12); /* a proper pair */
            p += 12;
        } else if (cp == 0) {
            rc = e2b_buf_append(out, "\xC0\x80", 2);
            p += 6;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            char m[3] = {(char)0xED, (char)(0x80 | ((cp >> 6) & 0x3F)),
                         (char)(0x80 | (cp & 0x3F))};
            rc = e2b_buf_append(out, m, 3);
            p += 6;
        } else {
            rc = e2b_buf_append(out, p, 6);
            p += 6;
        }
        if (rc != RUNBOX_OK)
            return rc;
    }
    return e2b_buf_append(out, "", 0); /* a valid, terminated buffer */
}

char *e2b_json_unmark(const char *s, e2b_unmark mode, size_t *len)
{
    size_t n = strlen(s);
    /* The longest replacement (a 6-byte escape for a 2-byte marker) at
     * most triples the length. */
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        unsigned cp;
        size_t take;
        if (p[0] == 0xC0 && p[1] == 0x80) {
            cp = 0;
            take = 2;
        } else if (p[0] == 0xED && p[1] >= 0xA0 && p[1] <= 0xBF &&
                   (p[2] & 0xC0) == 0x80) {
            cp = 0xD000u | (unsigned)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
            take = 3;
        } else {
            out[o++] = (char)*p++;
            continue;
        }
        if (mode == E2B_UNMARK_TEXT) {
            memcpy(out + o, e2b_fffd, 3);
            o += 3;
        } else if (mode == E2B_UNMARK_ESCAPE) {
            static const char hex[] = "0123456789abcdef";
            memcpy(out + o, "\\u", 2);
            for (int i = 0; i < 4; i++)
                out[o + 2 + (size_t)i] = hex[(cp >> (12 - 4 * i)) & 0xF];
            o += 6;
        } else if (cp == 0) {
            out[o++] = '\0';
        } else if (cp >= 0xDC80 && cp <= 0xDCFF) {
            /* surrogateescape: the byte the code really wrote. */
            out[o++] = (char)(cp - 0xDC00);
        } else {
            /* No byte stands behind it: keep its 3-byte form, which is
             * not UTF-8, so it is shown as U+FFFD with an exact copy. */
            memcpy(out + o, p, 3);
            o += 3;
        }
        p += take;
    }
    out[o] = '\0';
    if (len)
        *len = o;
    return out;
}
