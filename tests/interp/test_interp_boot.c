/*
 * test_interp_boot.c — INTERP_DRIVER_BOOT (interp.h) with the bytecode the
 * build made, under the real python3: the bytecode runs when the magic
 * matches (even if the source beside it is broken), the source runs when
 * it does not, and a driver so started answers a call.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "interp.h"

#define PYTHON "/usr/bin/python3"

/* The build's blob with its magic and/or its source replaced. */
static int blob_fd(int flip_magic, const char *source)
{
    size_t code_end = 8 + ((size_t)interp_driver_code[4] << 24 |
                           (size_t)interp_driver_code[5] << 16 |
                           (size_t)interp_driver_code[6] << 8 | interp_driver_code[7]);
    int fd = memfd_create("blob", MFD_CLOEXEC);
    assert_true(fd >= 0);
    unsigned char head[8];
    memcpy(head, interp_driver_code, 8);
    if (flip_magic)
        head[0] ^= 0xff;
    assert_int_equal(write(fd, head, 8), 8);
    assert_int_equal(write(fd, interp_driver_code + 8, code_end - 8), (ssize_t)(code_end - 8));
    const char *src = source ? source : (const char *)interp_driver_code + code_end;
    size_t src_len = source ? strlen(source) : interp_driver_code_len - code_end;
    assert_int_equal(write(fd, src, src_len), (ssize_t)src_len);
    return fd;
}

/* Starts the boot with fd 3 = blob, sends one C frame and returns the
 * code's stdout (the O frames' payloads, NUL-terminated) once the D frame
 * came (or the driver ended); then closes its input, which ends it. */
static void boot_call(int blob, const char *code, char *text, size_t size, int *status)
{
    int in[2], back[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(back), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(back[1], 1);
        if (blob == 3)
            fcntl(3, F_SETFD, 0); /* dup2 onto itself would keep CLOEXEC */
        else
            dup2(blob, 3);
        close_range(4, ~0u, 0); /* no other end of the pipes stays open */
        execl(PYTHON, PYTHON, "-I", "-c", INTERP_DRIVER_BOOT, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(back[1]);
    unsigned char hdr[5];
    interp_frame_header(hdr, 'C', (uint32_t)strlen(code));
    assert_int_equal(write(in[1], hdr, 5), 5);
    assert_int_equal(write(in[1], code, strlen(code)), (ssize_t)strlen(code));
    char buf[8192];
    size_t have = 0, at = 0, tlen = 0;
    ssize_t n;
    int done = 0;
    while (!done && have < sizeof buf &&
           (n = read(back[0], buf + have, sizeof buf - have)) > 0) {
        have += (size_t)n;
        while (!done && have - at >= 5) { /* whole frames so far */
            const unsigned char *h = (const unsigned char *)buf + at;
            size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
            if (have - at < 5 + len)
                break;
            if (h[0] == 'O' && tlen + len < size) {
                memcpy(text + tlen, h + 5, len);
                tlen += len;
            }
            done = h[0] == 'D';
            at += 5 + len;
        }
    }
    text[tlen] = '\0';
    close(in[1]);
    close(back[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
}

static void test_bytecode_runs_when_magic_matches(void **state)
{
    (void)state;
    /* The source beside the bytecode would exit 7: it must not be used. */
    int fd = blob_fd(0, "raise SystemExit(7)\n");
    char out[256];
    int status;
    boot_call(fd, "print(6 * 7)", out, sizeof out, &status);
    close(fd);
    assert_string_equal(out, "42\n");
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_source_runs_when_magic_differs(void **state)
{
    (void)state;
    int fd = blob_fd(1, NULL);
    char out[256];
    int status;
    boot_call(fd, "print(6 * 7)", out, sizeof out, &status);
    close(fd);
    assert_string_equal(out, "42\n");
    /* ... and it is the source: a broken one shows. */
    fd = blob_fd(1, "raise SystemExit(7)\n");
    boot_call(fd, "print(6 * 7)", out, sizeof out, &status);
    close(fd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

int main(void)
{
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "SKIP: %s is missing\n", PYTHON);
        return getenv("CI") && !strcmp(getenv("CI"), "true") ? 1 : 77;
    }
    if (interp_driver_code_len == 0) {
        fprintf(stderr, "SKIP: this build has no compiled driver (no python3 at build time)\n");
        return getenv("CI") && !strcmp(getenv("CI"), "true") ? 1 : 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytecode_runs_when_magic_matches),
        cmocka_unit_test(test_source_runs_when_magic_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
