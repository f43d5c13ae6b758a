/* Small helpers shared by the library's files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

double rb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *rb_strdup(const char *s) { return s ? strdup(s) : NULL; }

int rb_buf_append(rb_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return RUNBOX_ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return RUNBOX_OK;
}

int rb_buf_printf(rb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return RUNBOX_EINVAL;
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        return RUNBOX_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = rb_buf_append(b, tmp, (size_t)n);
    free(tmp);
    return rc;
}

void rb_buf_free(rb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
