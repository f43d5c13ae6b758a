/* Parsing of configuration values: durations, sizes, counts, booleans. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

int rb_parse_duration(const char *s, double *out, const char **why)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0) {
        *why = "expected a duration in seconds such as 60, 1.5, 2m or 1h";
        return -1;
    }
    double mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm' && end[1] != 's')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'm' && end[1] == 's')
        mul = 0.001, end += 2;
    if (*end) {
        *why = "expected a duration in seconds such as 60, 1.5, 2m or 1h";
        return -1;
    }
    *out = v * mul;
    return 0;
}

int rb_parse_size(const char *s, uint64_t *out, const char **why)
{
    char *end;
    errno = 0;
    if (*s == '-') {
        *why = "expected a size such as 512m, 1g or 1048576";
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno) {
        *why = "expected a size such as 512m, 1g or 1048576";
        return -1;
    }
    uint64_t mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    case 't': case 'T': mul = 1ull << 40; end++; break;
    default: break;
    }
    if (mul > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || (mul > 1 && v > UINT64_MAX / mul)) {
        *why = "expected a size such as 512m, 1g or 1048576";
        return -1;
    }
    *out = (uint64_t)v * mul;
    return 0;
}

int rb_parse_count(const char *s, uint64_t *out, const char **why)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || *s == '-' || v > UINT32_MAX) {
        *why = "expected a whole number";
        return -1;
    }
    *out = v;
    return 0;
}

int rb_parse_bool(const char *s, int *out, const char **why)
{
    static const char *yes[] = {"1", "on", "true", "yes", "enabled"};
    static const char *no[] = {"0", "off", "false", "no", "disabled"};
    for (size_t i = 0; i < 5; i++) {
        if (!strcasecmp(s, yes[i])) { *out = 1; return 0; }
        if (!strcasecmp(s, no[i])) { *out = 0; return 0; }
    }
    *why = "expected on or off";
    return -1;
}

int rb_value_check(rb_value_type t, const char *s, const char **why)
{
    double d;
    uint64_t u;
    int b;
    switch (t) {
    case RB_T_DURATION: return rb_parse_duration(s, &d, why);
    case RB_T_SIZE: return rb_parse_size(s, &u, why);
    case RB_T_COUNT: return rb_parse_count(s, &u, why);
    case RB_T_BOOL: return rb_parse_bool(s, &b, why);
    case RB_T_STRING: return 0;
    }
    return 0;
}
