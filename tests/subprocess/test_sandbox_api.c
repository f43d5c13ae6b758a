/* backends/subprocess/sandbox.h on its own: the internal API that runs
 * every execution, and that resident interpreters and warm pools build
 * on. Programs with any descriptors, killing all but one process, files
 * through the sandbox, and nothing left after destroy. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

static char init_path[4200];

static sp_box *make_box(void)
{
    const char *dir = getenv("RUNBOX_BACKEND_PATH");
    assert_non_null(dir);
    snprintf(init_path, sizeof init_path, "%s/runbox-subprocess-init", dir);
    sp_box_config c = {.init_path = init_path, .tmpfs_bytes = 64 << 20,
                       .memory_bytes = 256 << 20, .pids_max = 64};
    sp_box *b = NULL;
    char err[600];
    if (sp_box_create(&b, &c, err, sizeof err))
        fail_msg("create: %s", err);
    return b;
}

static int spawn(sp_box *b, const char *script, const int *fds, int nfds)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    const char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    sp_box_spawn_opts o = {.argv = argv, .envp = envp, .fds = fds, .nfds = nfds};
    int pid = 0;
    char err[600];
    if (sp_box_spawn(b, &o, &pid, err, sizeof err))
        fail_msg("spawn: %s", err);
    return pid;
}

static int wait_exit(sp_box *b, int pid, int *status)
{
    double cpu;
    for (int i = 0; i < 500; i++) {
        if (sp_box_exited(b, pid, status, &cpu, NULL))
            return 1;
        struct pollfd pf = {sp_box_fd(b), POLLIN, 0};
        poll(&pf, 1, 10);
        sp_box_pump(b);
    }
    return 0;
}

static void read_all(int fd, char *buf, size_t size)
{
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
}

/* stdin, stdout, stderr and an extra pipe pair (3 in, 4 out). */
static void test_descriptors(void **state)
{
    (void)state;
    sp_box *b = make_box();
    int in[2], out[2], x_in[2], x_out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(x_in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(x_out, O_CLOEXEC), 0);
    int fds[5] = {in[0], out[1], out[1], x_in[0], x_out[1]};
    int pid = spawn(b, "read a; read b <&3; echo \"$a/$b\"; echo side >&4; "
                       "ls /proc/self/fd | wc -l", fds, 5);
    close(in[0]);
    close(out[1]);
    close(x_in[0]);
    close(x_out[1]);
    assert_int_equal(write(in[1], "one\n", 4), 4);
    assert_int_equal(write(x_in[1], "two\n", 4), 4);
    close(in[1]);
    close(x_in[1]);
    char buf[256];
    read_all(out[0], buf, sizeof buf);
    /* 0-4 and ls's own directory descriptor: nothing else came along */
    assert_string_equal(buf, "one/two\n6\n");
    read_all(x_out[0], buf, sizeof buf);
    assert_string_equal(buf, "side\n");
    int st = -1;
    assert_true(wait_exit(b, pid, &st));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(out[0]);
    close(x_out[0]);
    sp_box_destroy(b);
}

/* The resident-interpreter case: everything dies but the one kept. */
static void test_kill_all_but_one(void **state)
{
    (void)state;
    sp_box *b = make_box();
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int fds[3] = {devnull, devnull, devnull};
    int keep = spawn(b, "exec sleep 30", fds, 3);
    int other = spawn(b, "setsid sleep 30 & exec sleep 30", fds, 3);
    usleep(100 * 1000);
    assert_int_equal(sp_box_kill(b, keep), 0);
    int st = -1;
    assert_true(wait_exit(b, other, &st));
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    double cpu;
    assert_false(sp_box_exited(b, keep, &st, &cpu, NULL));
    /* still usable, and the kept process still there to be killed */
    int again = spawn(b, "exit 5", fds, 3);
    assert_true(wait_exit(b, again, &st));
    assert_int_equal(WEXITSTATUS(st), 5);
    assert_int_equal(sp_box_kill(b, 0), 0);
    assert_true(wait_exit(b, keep, &st));
    assert_true(WIFSIGNALED(st));
    close(devnull);
    sp_box_destroy(b);
}

static void test_files_and_failures(void **state)
{
    (void)state;
    sp_box *b = make_box();
    int fd = -1;
    assert_int_equal(sp_box_open(b, "dir/f.txt", O_WRONLY | O_CREAT | O_TRUNC, &fd), 0);
    assert_int_equal(write(fd, "data", 4), 4);
    close(fd);
    assert_int_equal(sp_box_open(b, "/etc/passwd", O_RDONLY, &fd), -EXDEV);
    int out[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int fds[3] = {devnull, out[1], out[1]};
    int pid = spawn(b, "cat /sandbox/dir/f.txt; echo more >> dir/f.txt", fds, 3);
    close(out[1]);
    char buf[64];
    read_all(out[0], buf, sizeof buf);
    assert_string_equal(buf, "data");
    int st;
    assert_true(wait_exit(b, pid, &st));
    assert_int_equal(sp_box_open(b, "/sandbox/dir/f.txt", O_RDONLY, &fd), 0);
    read_all(fd, buf, sizeof buf);
    assert_string_equal(buf, "datamore\n");
    close(fd);
    /* A program that does not exist: an error naming the step. */
    const char *argv[] = {"/nonexistent", NULL};
    int nulls[3] = {devnull, devnull, devnull};
    sp_box_spawn_opts o = {.argv = argv, .fds = nulls, .nfds = 3};
    char err[600];
    int rc = sp_box_spawn(b, &o, &pid, err, sizeof err);
    if (rc != -ENOENT)
        fail_msg("spawn of a missing program: %d %s", rc, err);
    assert_true(tu_contains(err, "start the program"));
    /* A closed descriptor is the caller's error; the sandbox lives on. */
    assert_int_equal(sp_box_spawn(b, &o, &pid, err, sizeof err), -ENOENT);
    int bad[3] = {devnull, 999, devnull};
    o.fds = bad;
    assert_int_equal(sp_box_spawn(b, &o, &pid, err, sizeof err), -EBADF);
    o.fds = nulls;
    assert_int_equal(sp_box_spawn(b, &o, &pid, err, sizeof err), -ENOENT);
    close(out[0]);
    close(devnull);
    sp_box_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptors),
        cmocka_unit_test(test_kill_all_but_one),
        cmocka_unit_test(test_files_and_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
