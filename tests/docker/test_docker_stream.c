/*
 * test_docker_stream.c — the demultiplexer of Docker's 8-byte-header
 * stdout/stderr framing, fed the same bytes split at every possible place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker_internal.h"

typedef struct collected {
    char out[256], err[256];
    size_t out_len, err_len;
} collected;

static int collect(void *arg, int stream, const char *data, size_t len)
{
    collected *c = arg;
    char *dst = stream == 1 ? c->out + c->out_len : c->err + c->err_len;
    memcpy(dst, data, len);
    *(stream == 1 ? &c->out_len : &c->err_len) += len;
    return RUNBOX_OK;
}

static size_t frame(unsigned char *at, int stream, const char *payload, size_t len)
{
    at[0] = (unsigned char)stream;
    at[1] = at[2] = at[3] = 0;
    at[4] = (unsigned char)(len >> 24);
    at[5] = (unsigned char)(len >> 16);
    at[6] = (unsigned char)(len >> 8);
    at[7] = (unsigned char)len;
    memcpy(at + 8, payload, len);
    return 8 + len;
}

static void test_every_split(void **state)
{
    (void)state;
    unsigned char buf[512];
    size_t n = 0;
    n += frame(buf + n, 1, "hello ", 6);
    n += frame(buf + n, 2, "oops\n", 5);
    n += frame(buf + n, 1, "", 0);
    n += frame(buf + n, 1, "world\n\0x", 8);
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            collected c = {0};
            docker_demux d;
            docker_demux_init(&d);
            assert_int_equal(docker_demux_feed(&d, (char *)buf, a, collect, &c), RUNBOX_OK);
            assert_int_equal(docker_demux_feed(&d, (char *)buf + a, b - a, collect, &c),
                             RUNBOX_OK);
            assert_int_equal(docker_demux_feed(&d, (char *)buf + b, n - b, collect, &c),
                             RUNBOX_OK);
            assert_false(docker_demux_partial(&d));
            assert_int_equal(c.out_len, 14);
            assert_memory_equal(c.out, "hello world\n\0x", 14);
            assert_int_equal(c.err_len, 5);
            assert_memory_equal(c.err, "oops\n", 5);
        }
    }
}

static void test_partial_and_garbage(void **state)
{
    (void)state;
    unsigned char buf[64];
    size_t n = frame(buf, 1, "abc", 3);
    collected c = {0};
    docker_demux d;
    docker_demux_init(&d);
    assert_int_equal(docker_demux_feed(&d, (char *)buf, n - 1, collect, &c), RUNBOX_OK);
    assert_true(docker_demux_partial(&d));
    docker_demux_init(&d);
    buf[0] = 9; /* no such stream */
    assert_int_equal(docker_demux_feed(&d, (char *)buf, n, collect, &c), RUNBOX_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_partial_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
