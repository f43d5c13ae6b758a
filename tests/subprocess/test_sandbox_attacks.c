/* The subprocess sandbox, attacked as hostile code would attack it.
 *
 * Each test runs real Python in the sandbox that tries to break out (read
 * another sandbox's files, runbox's environment, the host's files, keep
 * files for the next run, regain privilege, hold more memory than the
 * limit) and prints "BREACH <what>" for every attempt that works. A test
 * passes only when the attempts ran ("done") and none worked. The suite
 * runs as root and, in CI, as a freshly created normal user
 * (scripts/test.d/30-subprocess-nonroot.sh): what differs between the two
 * (a host uid and a cgroup per sandbox only as root) is asserted both ways.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static runbox_context *sandboxed(const char *extra1, const char *extra2)
{
    return tu_context("subprocess", "subprocess.isolation=auto", extra1, extra2, NULL);
}

static void token(char *out, size_t size)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    snprintf(out, size, "rbtok%d%09ld", (int)getpid(), t.tv_nsec);
}

/* Runs code and fails the test on any BREACH line or a missing "done". */
static void expect_held(runbox_context *ctx, runbox_session *s, const char *code,
                        runbox_result *r)
{
    runbox_exec_options opt = {.code = code, .timeout = 120};
    int rc = s ? runbox_session_execute(s, &opt, r) : runbox_execute(ctx, &opt, r);
    if (rc)
        fail_msg("run failed: %s", runbox_error_last());
    if (tu_contains(r->out.data, "BREACH") || !tu_contains(r->out.data, "done"))
        fail_msg("the sandbox did not hold:\nstdout: %s\nstderr: %s\nisolation: %s",
                 r->out.data ? r->out.data : "", r->err.data ? r->err.data : "",
                 r->isolation);
}

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    assert_non_null(s);
    return s;
}

/* ---- another sandbox ---- */

typedef struct victim {
    runbox_session *s;
    const char *tok;
    int ok;
} victim;

static void *victim_run(void *arg)
{
    victim *v = arg;
    char *code = format(
        "import os\n"
        "for d in ('/sandbox', '/tmp', '/var/tmp', '/dev/shm'):\n"
        "    open(d + '/secret-%s', 'w').write('%s')\n"
        "open('/sandbox/json.py', 'w').write('print(\"PLANTED %s\")')\n"
        "open('/tmp/json.py', 'w').write('print(\"PLANTED %s\")')\n"
        "os.chmod('/sandbox', 0o777)\n"
        "os.execv('/bin/sleep', ['sleep-%s', '4'])\n",
        v->tok, v->tok, v->tok, v->tok, v->tok);
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_options opt = {.code = code, .timeout = 30};
    v->ok = runbox_session_execute(v->s, &opt, &r) == RUNBOX_OK &&
            r.verdict == RUNBOX_VERDICT_OK;
    runbox_result_clear(&r);
    free(code);
    return NULL;
}

static void test_another_sandbox(void **state)
{
    (void)state;
    char tok[64];
    token(tok, sizeof tok);
    runbox_context *ctx = sandboxed(NULL, NULL);
    runbox_session *a = NULL, *b = NULL;
    assert_int_equal(runbox_session_open(&a, ctx), RUNBOX_OK);
    assert_int_equal(runbox_session_open(&b, ctx), RUNBOX_OK);
    victim v = {a, tok, 0};
    pthread_t t;
    pthread_create(&t, NULL, victim_run, &v);
    usleep(1500 * 1000); /* the victim is sleeping, its files written */
    char *code = format(
        "import os, sys\n"
        "tok = '%s'\n"
        "br = []\n"
        "for d, dirs, files in os.walk('/'):\n"
        "    if d.startswith(('/proc', '/usr', '/sys')):\n"
        "        dirs[:] = []\n        continue\n"
        "    for f in files + dirs:\n"
        "        if tok in f: br.append('file ' + os.path.join(d, f))\n"
        "mine = set()\n"  /* every thread too: the interpreter has some */
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit():\n"
        "        try: mine.update(int(t) for t in os.listdir(f'/proc/{p}/task'))\n"
        "        except OSError: pass\n"
        "for p in mine:\n"
        "    try:\n"
        "        if tok.encode() in open(f'/proc/{p}/cmdline', 'rb').read(): br.append(f'process {p}')\n"
        "    except OSError: pass\n"
        "for p in range(2, 4096):\n"
        "    try:\n        os.kill(p, 0)\n"
        "    except OSError: continue\n"
        "    if p not in mine: br.append(f'signal reaches {p}')\n"
        "sys.path.insert(0, '/tmp')\n"
        "import json\n"
        "if not json.__file__.startswith('/usr'): br.append('import ' + json.__file__)\n"
        "print('BREACH', br) if br else print('done')\n", tok);
    runbox_result r;
    runbox_result_init(&r);
    expect_held(ctx, b, code, &r);
    assert_false(tu_contains(r.out.data, "PLANTED"));
    char iso_b[96];
    snprintf(iso_b, sizeof iso_b, "%s", r.isolation);
    pthread_join(t, NULL);
    assert_true(v.ok);
    /* One host uid per live sandbox as root; a normal user's sandboxes
     * share its uid and are kept apart by their namespaces (above). */
    runbox_exec_options opt = {.code = "print('x')"};
    assert_int_equal(runbox_session_execute(a, &opt, &r), RUNBOX_OK);
    const char *ua = strstr(r.isolation, "host uid "), *ub = strstr(iso_b, "host uid ");
    assert_non_null(ua);
    assert_non_null(ub);
    if (geteuid() == 0)
        assert_int_not_equal(atol(ua + 9), atol(ub + 9));
    else
        assert_int_equal(atol(ua + 9), (long)getuid());
    runbox_result_clear(&r);
    free(code);
    runbox_session_close(a);
    runbox_session_close(b);
    runbox_context_free(ctx);
}

/* ---- runbox itself: its environment, descriptors, output ---- */

static const char init_probe[] =
    "import os\n"
    "br = []\n"
    "for what in ('environ', 'mem', 'maps', 'fd/3'):\n"
    "    try:\n        open('/proc/1/' + what, 'rb').read(1); br.append('/proc/1/' + what)\n"
    "    except OSError: pass\n"
    "for what in ('fd', 'root/.', 'cwd/.'):\n"
    "    try:\n        os.listdir('/proc/1/' + what); br.append('list /proc/1/' + what)\n"
    "    except OSError: pass\n"
    "try:\n    os.readlink('/proc/1/exe'); br.append('readlink exe')\n"
    "except OSError: pass\n"
    "for p in os.listdir('/proc'):\n"
    "    if not p.isdigit(): continue\n"
    "    try:\n"
    "        if b'rbcanary' in open(f'/proc/{p}/environ', 'rb').read(): br.append('canary in ' + p)\n"
    "    except OSError: pass\n"
    "if 'rbcanary' in str(os.environ): br.append('canary in own env')\n"
    /* The code shares its process with the resident interpreter: its
     * channel to runbox and the code's output are pipes (runbox reads both
     * as the code's words, docs/interpreter.md). Nothing else is open. */
    "for fd in range(0, 1024):\n"
    "    try:\n        os.fstat(fd)\n"
    "    except OSError: continue\n"
    "    t = os.readlink(f'/proc/self/fd/{fd}')\n"
    "    if not t.startswith(('pipe:', '/dev/null', '/memfd:')): br.append(f'fd {fd} is {t}')\n"
    "st = open('/proc/self/status').read()\n"
    "field = lambda k: st.split(k + ':')[1].split('\\n')[0].split()\n"
    "if field('Uid')[0] == '0' or os.getuid() == 0: br.append('uid 0')\n"
    "if int(field('CapEff')[0], 16) or int(field('CapPrm')[0], 16) or int(field('CapBnd')[0], 16): br.append('capabilities')\n"
    "if field('NoNewPrivs')[0] != '1': br.append('no NoNewPrivs')\n"
    "if field('Seccomp')[0] != '2': br.append('no seccomp')\n"
    "# forged lines on runbox's stdout: only through our own pipe\n"
    "for p in ('/proc/1/fd/1', '/proc/1/fd/3', '/dev/tty'):\n"
    "    try:\n        open(p, 'w').write('{\"verdict\": \"ok\", \"forged\": true}\\n'); br.append('wrote ' + p)\n"
    "    except OSError: pass\n"
    "print('BREACH', br) if br else print('done')\n"
    "print('{\"verdict\": \"ok\", \"exit_code\": 0, \"forged\": true}')\n"
    "raise SystemExit(7)\n";

static void test_runbox_unreachable(void **state)
{
    (void)state;
    setenv("E2B_API_KEY", "rbcanary-e2b-key", 1);
    setenv("RUNBOX_CANARY", "rbcanary", 1);
    runbox_context *ctx = sandboxed(NULL, NULL);
    runbox_result r;
    runbox_result_init(&r);
    expect_held(ctx, NULL, init_probe, &r);
    /* The forged line is the code's stdout, nothing more. */
    assert_int_equal(r.verdict, RUNBOX_VERDICT_EXIT_NONZERO);
    assert_int_equal(r.exit_code, 7);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
    unsetenv("E2B_API_KEY");
    unsetenv("RUNBOX_CANARY");
}

/* ---- mounts, namespaces, the kernel's wider surface ---- */

static const char privilege_probe[] =
    "import ctypes, errno, os, socket, subprocess\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "br = []\n"
    "def attempt(name, rc):\n"
    "    if rc >= 0: br.append(name)\n"
    "for path in ('/usr', '/proc', '/etc/hosts', '/dev/null', '/', '/sandbox', '/tmp'):\n"
    "    for flags in (0, 2):\n"
    "        attempt('umount ' + path, libc.umount2(path.encode(), flags))\n"
    "attempt('mount tmpfs', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
    "attempt('remount /usr rw', libc.mount(None, b'/usr', None, 0x20 | 0x1000, None))\n"
    "attempt('chroot', libc.chroot(b'/tmp'))\n"
    "SYS = dict(unshare=272, setns=308, keyctl=250, add_key=248, io_uring_setup=425,\n"
    "           bpf=321, perf_event_open=298, ptrace=101, process_vm_readv=310,\n"
    "           userfaultfd=323, clone=56, pivot_root=155, open_tree=428, fsopen=430)\n"
    "for flag, name in ((0x10000000, 'user'), (0x40000000, 'net'), (0x20000, 'mount'),\n"
    "                   (0x20000000, 'pid'), (0x08000000, 'ipc')):\n"
    "    attempt('unshare ' + name, libc.syscall(SYS['unshare'], flag))\n"
    "pid = libc.syscall(SYS['clone'], 0x10000000 | 0x40000000 | 17, 0, 0, 0, 0)\n"
    "if pid == 0: os._exit(0)\n"
    "attempt('clone with new namespaces', pid)\n"
    "attempt('keyctl', libc.syscall(SYS['keyctl'], 1, b'rb', 0, 0, 0))\n"
    "attempt('add_key', libc.syscall(SYS['add_key'], b'user', b'rb', b'x', 1, -3))\n"
    "params = ctypes.create_string_buffer(120)\n"
    "attempt('io_uring_setup', libc.syscall(SYS['io_uring_setup'], 4, params))\n"
    "attempt('bpf', libc.syscall(SYS['bpf'], 0, ctypes.create_string_buffer(128), 128))\n"
    "attr = ctypes.create_string_buffer(128); attr[4] = 128\n"
    "attempt('perf_event_open', libc.syscall(SYS['perf_event_open'], attr, 0, -1, -1, 0))\n"
    "attempt('ptrace', libc.syscall(SYS['ptrace'], 0, 0, 0, 0))\n"
    "attempt('process_vm_readv', libc.syscall(SYS['process_vm_readv'], 1, 0, 0, 0, 0, 0))\n"
    "attempt('userfaultfd', libc.syscall(SYS['userfaultfd'], 0))\n"
    "attempt('pivot_root', libc.syscall(SYS['pivot_root'], b'/tmp', b'/tmp'))\n"
    "attempt('open_tree', libc.syscall(SYS['open_tree'], -100, b'/usr', 1))\n"
    "attempt('fsopen', libc.syscall(SYS['fsopen'], b'tmpfs', 0))\n"
    "attempt('setns', libc.syscall(SYS['setns'], os.open('/proc/self/ns/net', os.O_RDONLY), 0))\n"
    "handle = ctypes.create_string_buffer(136); handle[0] = 128\n"
    "mount_id = ctypes.c_int()\n"
    "for name, nr, args in (('syslog', 103, (10, None, 0)), ('personality', 135, (0xffffffff,)),\n"
    "        ('name_to_handle_at', 303, (-100, b'/usr', handle, ctypes.byref(mount_id), 0)),\n"
    "        ('kcmp', 312, (1, 1, 0, 0, 0)), ('pidfd_getfd', 438, (0, 0, 0)),\n"
    "        ('process_madvise', 440, (0, None, 0, 0, 0)), ('init_module', 175, (None, 0, b'')),\n"
    "        ('finit_module', 313, (0, b'', 0)), ('delete_module', 176, (b'x', 0)),\n"
    "        ('kexec_load', 246, (0, 0, None, 0)), ('reboot', 169, (0, 0, 0, None)),\n"
    "        ('swapoff', 168, (b'/x',)), ('settimeofday', 164, (None, None)),\n"
    "        ('clock_settime', 227, (0, None)), ('acct', 163, (None,)),\n"
    "        ('quotactl', 179, (0, None, 0, None)), ('iopl', 172, (0,)), ('ioperm', 173, (0, 1, 0)),\n"
    "        ('vhangup', 153, ()), ('fanotify_init', 300, (0, 0)), ('sethostname', 170, (b'x', 1)),\n"
    "        ('request_key', 249, (b'user', b'rb', None, 0))):\n"
    "    attempt(name, libc.syscall(nr, *args))\n"
    "# typing into a terminal: the filter answers before the tty layer would\n"
    "ctypes.set_errno(0)\n"
    "rc = libc.ioctl(0, 0x5412, ctypes.c_char_p(b'x'))\n"
    "if rc >= 0 or ctypes.get_errno() != errno.EPERM: br.append('TIOCSTI not refused by the filter')\n"
    "if os.path.exists('/proc/1'): br.append('init is listed in /proc')\n"
    "for proto, name in ((9, 'audit'), (15, 'uevent'), (21, 'crypto')):\n"
    "    try:\n        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto); br.append('netlink ' + name)\n"
    "    except OSError: pass\n"
    "for cmd in (['unshare', '-Urn', 'true'], ['unshare', '-m', 'true']):\n"
    "    if subprocess.run(cmd, capture_output=True).returncode == 0: br.append(' '.join(cmd))\n"
    "for d in ('/home', '/root', '/work', '/sys', '/run', '/mnt', '/media', '/opt/runbox'):\n"
    "    if os.path.exists(d): br.append('sees ' + d)\n"
    "print('BREACH', br) if br else print('done')\n";

static void test_no_privilege(void **state)
{
    (void)state;
    runbox_context *ctx = sandboxed(NULL, NULL);
    runbox_result r;
    runbox_result_init(&r);
    expect_held(ctx, NULL, privilege_probe, &r);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

/* ---- the file API against a moved work dir and planted links ---- */

static void test_workdir_swapped_for_a_link(void **state)
{
    (void)state;
    char *host = tu_tmpdir();
    char secret[4300];
    snprintf(secret, sizeof secret, "%s/secret", host);
    tu_write(NULL, secret, "host-secret-rb");
    chmod(secret, 0600);
    chmod(host, 0755);
    runbox_context *ctx = sandboxed(NULL, NULL);
    runbox_session *s = NULL;
    assert_int_equal(runbox_session_open(&s, ctx), RUNBOX_OK);
    char *code = format(
        "import os\n"
        "br = []\n"
        "try:\n"
        "    os.rename('/sandbox', '/sandbox-moved'); os.symlink('%s', '/sandbox')\n"
        "    br.append('swapped /sandbox')\n"
        "except OSError: pass\n"
        "for f in os.listdir('/sandbox'): os.rename('/sandbox/' + f, '/tmp/' + f)\n"
        "os.symlink('%s/secret', '/sandbox/secret')\n"
        "os.symlink('%s', '/sandbox/hostdir')\n"
        "os.symlink('/proc/1/root', '/tmp/root1')\n"
        "os.symlink('/proc/self/root', '/tmp/self')\n"
        "os.symlink('/usr/bin', '/tmp/usrbin')\n"
        "print('BREACH', br) if br else print('done')\n", host, host, host);
    runbox_result r;
    runbox_result_init(&r);
    expect_held(ctx, s, code, &r);
    void *data = NULL;
    size_t len = 0;
    const char *reads[] = {"secret", "/sandbox/secret", "hostdir/secret",
                           "/tmp/root1/etc/passwd", "/tmp/self/etc/passwd",
                           "/tmp/usrbin/python3", "/proc/1/environ"};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        int rc = runbox_session_read_file(s, reads[i], &data, &len);
        if (rc == RUNBOX_OK) {
            int leak = tu_contains(data, "host-secret-rb") || len > 100000;
            free(data);
            if (leak)
                fail_msg("read %s reached the host", reads[i]);
        }
    }
    runbox_session_write_file(s, "hostdir/pwned", "x", 1);
    runbox_session_write_file(s, "secret", "x", 1);
    runbox_session_write_file(s, "/tmp/usrbin/pwned3", "x", 1);
    runbox_session_close(s);
    struct stat st;
    char path[4400];
    snprintf(path, sizeof path, "%s/pwned", host);
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_not_equal(stat("/usr/bin/pwned3", &st), 0);
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600); /* nothing chmod'ed it */
    assert_int_equal(st.st_size, 14);           /* nor wrote to it */
    assert_int_equal(st.st_uid, geteuid());
    runbox_result_clear(&r);
    free(code);
    runbox_context_free(ctx);
    tu_rmtree(host);
    free(host);
}

/* ---- the host's files: /tmp, the working directory, $HOME ---- */

static void test_host_files_invisible(void **state)
{
    (void)state;
    char tok[64], cwd[4096], marks[3][4400];
    token(tok, sizeof tok);
    assert_non_null(getcwd(cwd, sizeof cwd));
    const char *home = getenv("HOME");
    snprintf(marks[0], sizeof marks[0], "/tmp/%s-tmp", tok);
    snprintf(marks[1], sizeof marks[1], "%s/%s-cwd", cwd, tok);
    snprintf(marks[2], sizeof marks[2], "%s/%s-home", home && *home ? home : "/tmp", tok);
    for (int i = 0; i < 3; i++) {
        tu_write(NULL, marks[i], tok);
        chmod(marks[i], 0644);
    }
    char *code = format(
        "import os\n"
        "br = [p for p in ('%s', '%s', '%s') if os.path.exists(p)]\n"
        "for d, dirs, files in os.walk('/'):\n"
        "    if d.startswith(('/proc', '/usr')):\n"
        "        dirs[:] = []\n        continue\n"
        "    br += [os.path.join(d, f) for f in files if '%s' in f]\n"
        "print('BREACH', br) if br else print('done')\n",
        marks[0], marks[1], marks[2], tok);
    runbox_context *ctx = sandboxed(NULL, NULL);
    runbox_result r;
    runbox_result_init(&r);
    expect_held(ctx, NULL, code, &r);
    for (int i = 0; i < 3; i++)
        unlink(marks[i]);
    runbox_result_clear(&r);
    free(code);
    runbox_context_free(ctx);
}

/* ---- nothing of a run stays: not for the next run, not on the host ---- */

static int host_has(const char *dir, const char *tok, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (strstr(de->d_name, tok))
            found = 1;
        else if (depth > 0 && de->d_type == DT_DIR) {
            char sub[4400];
            snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
            found = host_has(sub, tok, depth - 1);
        }
    }
    closedir(d);
    return found;
}

static void test_nothing_persists(void **state)
{
    (void)state;
    char tok[64];
    token(tok, sizeof tok);
    char *leave = format(
        "import os\n"
        "for d in ('/tmp', '/var/tmp', '/dev/shm', '/sandbox'):\n"
        "    open(f'{d}/%s', 'w').write('x')\n"
        "os.chdir('/sandbox')\n"
        "for i in range(3000):\n"
        "    os.mkdir('d'); os.chdir('d')\n"
        "open('%s-deepest', 'w').write('x')\n"
        "print('done', len(os.getcwd()))\n", tok, tok);
    char *look = format(
        "import os\n"
        "br = [d for d in ('/tmp', '/var/tmp', '/dev/shm', '/sandbox')\n"
        "      if any('%s' in f for f in os.listdir(d))]\n"
        "print('BREACH', br) if br else print('done')\n", tok);
    runbox_context *ctx = sandboxed(NULL, NULL);
    runbox_result r;
    runbox_result_init(&r);
    expect_held(ctx, NULL, leave, &r);
    assert_int_equal(r.verdict, RUNBOX_VERDICT_OK);
    expect_held(ctx, NULL, look, &r);
    const char *u = strstr(r.isolation, "host uid ");
    unsigned long uid = u ? strtoul(u + 9, NULL, 10) : 0;
    runbox_context_free(ctx);
    /* As root: the uid's reservation went with the sandbox. */
    if (geteuid() == 0) {
        char lock[64];
        snprintf(lock, sizeof lock, "/run/runbox-uids/%lu", uid - 0x7e000000ul);
        struct stat st;
        assert_true(uid >= 0x7e000000ul);
        assert_int_not_equal(stat(lock, &st), 0);
    }
    /* Nothing reached the host's disk or scratch folders. */
    const char *tmp = getenv("TMPDIR");
    assert_false(host_has("/tmp", tok, 2));
    assert_false(host_has("/var/tmp", tok, 2));
    assert_false(host_has("/dev/shm", tok, 2));
    if (tmp && *tmp)
        assert_false(host_has(tmp, tok, 2));
    /* and no cgroup of this process is left behind */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sbx-%d-", (int)getpid());
    assert_false(host_has("/sys/fs/cgroup/memory", prefix, 5));
    assert_false(host_has("/sys/fs/cgroup/pids", prefix, 5));
    runbox_result_clear(&r);
    free(leave);
    free(look);
}

/* ---- memory for the whole sandbox: children and tmpfs ---- */

/* Four children each touch 120 MiB and hold it. Once every child has
 * reported or died, the probe counts the ones alive and holding at that one
 * moment: that is memory held together, whatever the scheduling. */
static const char children_probe[] =
    "import os, select, time\n"
    "r, w = os.pipe()\n"
    "kids = []\n"
    "for i in range(4):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        try:\n"
    "            b = bytearray(120 << 20)\n"
    "            for j in range(0, len(b), 4096): b[j] = 1\n"
    "            os.write(w, b'%d\\n' % os.getpid()); time.sleep(30)\n"
    "        finally:\n            os._exit(0)\n"
    "    kids.append(pid)\n"
    "os.close(w)\n"
    "reported, dead, buf = set(), set(), b''\n"
    "end = time.time() + 20\n"
    "while time.time() < end and len(reported | dead) < len(kids):\n"
    "    if select.select([r], [], [], 0.2)[0]:\n"
    "        buf += os.read(r, 4096)\n"
    "        *lines, buf = buf.split(b'\\n')\n"
    "        reported.update(int(x) for x in lines if x)\n"
    "    for k in kids:\n"
    "        if k not in dead and k not in reported and os.waitpid(k, os.WNOHANG)[0]:\n"
    "            dead.add(k)\n"
    "held = 0\n"
    "for k in reported - dead:\n"
    "    if os.waitpid(k, os.WNOHANG)[0] == 0: held += 1\n"
    "    else: dead.add(k)\n"
    "print('held', held)\n"
    "for k in kids:\n"
    "    if k not in dead:\n"
    "        os.kill(k, 9); os.waitpid(k, 0)\n"
    "print('done')\n";

static const char tmpfs_probe[] =
    "total = 0\n"
    "try:\n"
    "    with open('/dev/shm/fill', 'wb') as f:\n"
    "        while total < (512 << 20):\n"
    "            f.write(b'x' * (16 << 20)); f.flush(); total += 16 << 20\n"
    "except OSError as e:\n"
    "    print('stopped:', e)\n"
    "print('tmpfs', total >> 20)\n"
    "print('done')\n";

static void test_memory_whole_sandbox(void **state)
{
    (void)state;
    runbox_context *ctx = sandboxed("memory=256m", "timeout=60");
    runbox_result r;
    runbox_result_init(&r);
    runbox_exec_options opt = {.code = children_probe, .timeout = 60};
    assert_int_equal(runbox_execute(ctx, &opt, &r), RUNBOX_OK);
    if (geteuid() == 0) {
        /* 4 x 120 MiB cannot be held at once under 256 MiB counted
         * together (without the cgroup all four would be). */
        const char *h = strstr(r.out.data ? r.out.data : "", "held ");
        assert_non_null(h);
        assert_true(atoi(h + 5) * 120 <= 256);
        assert_true(r.limits_applied & RUNBOX_LIMIT_MEMORY);
        assert_true(tu_contains(r.isolation, "cgroup memory+pids"));
        assert_true(tu_contains(r.message, "OOM") || r.verdict == RUNBOX_VERDICT_OOM);
    } else {
        /* No cgroup here: honest, memory is not claimed. */
        assert_false(r.limits_applied & RUNBOX_LIMIT_MEMORY);
        assert_true(tu_contains(r.isolation, "no cgroup"));
    }
    /* The tmpfs is bounded by the limit in both cases (its size, and the
     * cgroup counts its pages as root). */
    opt.code = tmpfs_probe;
    assert_int_equal(runbox_execute(ctx, &opt, &r), RUNBOX_OK);
    const char *t = strstr(r.out.data ? r.out.data : "", "tmpfs ");
    if (t)
        assert_true(atoi(t + 6) <= 256);
    else /* killed while filling: only the cgroup's OOM kill ends it */
        assert_int_equal(r.verdict, RUNBOX_VERDICT_OOM);
    runbox_result_clear(&r);
    runbox_context_free(ctx);
}

/* ---- runbox killed: nothing of the sandbox survives ---- */

static int parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    int ppid = -1;
    char st = 0;
    if (rp && sscanf(rp + 1, " %c %d", &st, &ppid) == 2 && (st == 'Z' || st == 'X'))
        return -2; /* dead, waiting to be reaped */
    return ppid;
}

static int alive(pid_t pid)
{
    return parent_of(pid) >= 0;
}

/* Every descendant of root, found by walking /proc. */
static int descendants(pid_t root, pid_t *out, int max)
{
    int n = 0;
    out[n++] = root;
    for (int grew = 1; grew;) {
        grew = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) && n < max) {
            pid_t p = (pid_t)atoi(de->d_name);
            int pp = p > 0 ? parent_of(p) : -1;
            int known = 0, parent_known = 0;
            for (int i = 0; i < n; i++) {
                known |= out[i] == p;
                parent_known |= out[i] == pp;
            }
            if (!known && parent_known) {
                out[n++] = p;
                grew = 1;
            }
        }
        if (d)
            closedir(d);
    }
    return n;
}

static void test_runbox_killed(void **state)
{
    (void)state;
    const char *cli = getenv("RUNBOX_CLI");
    assert_non_null(cli);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl(cli, cli, "run", "-b", "subprocess", "import os, subprocess, time\n"
              "subprocess.Popen(['setsid', 'sleep', '60'])\n"
              "print('up', flush=True)\ntime.sleep(60)", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[16] = "";
    assert_true(read(p[0], buf, sizeof buf - 1) > 0);
    assert_true(tu_contains(buf, "up"));
    usleep(200 * 1000);
    pid_t tree[64];
    int n = descendants(pid, tree, 64);
    assert_true(n >= 4); /* runbox, init, python, sleep */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    int left = n - 1;
    for (int t = 0; t < 300 && left; t++) {
        usleep(10 * 1000);
        left = 0;
        for (int i = 1; i < n; i++)
            left += alive(tree[i]);
    }
    close(p[0]);
    if (left)
        fail_msg("%d process(es) of the sandbox survived runbox's SIGKILL", left);
    /* Its empty cgroups (root) are swept by the next runbox, and so is an
     * empty one over a minute old whose pid names another live process
     * now (here pid 1): one a fresh runbox made is left alone. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "sbx-%d-", (int)pid);
    if (geteuid() == 0) {
        int had = host_has("/sys/fs/cgroup/memory", prefix, 5);
        char parent[512] = "", stale[600] = "", fresh[600] = "";
        FILE *f = fopen("/proc/self/cgroup", "re");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            char *m = strstr(line, ":memory:");
            if (m) {
                m[strcspn(m, "\n")] = '\0';
                snprintf(parent, sizeof parent, "/sys/fs/cgroup/memory%s/runbox",
                         strcmp(m + 8, "/") ? m + 8 : "");
            }
        }
        if (f)
            fclose(f);
        if (parent[0] && (mkdir(parent, 0755) == 0 || errno == EEXIST)) {
            snprintf(stale, sizeof stale, "%s/sbx-1-%d", parent, (int)getpid());
            snprintf(fresh, sizeof fresh, "%s/sbx-1-%d", parent, (int)getpid() + 1);
            struct timespec old[2] = {{time(NULL) - 120, 0}, {time(NULL) - 120, 0}};
            assert_int_equal(mkdir(stale, 0755), 0);
            assert_int_equal(utimensat(AT_FDCWD, stale, old, 0), 0);
            assert_int_equal(mkdir(fresh, 0755), 0);
        }
        runbox_context *ctx = sandboxed(NULL, NULL);
        runbox_result r;
        runbox_result_init(&r);
        assert_int_equal(tu_run(ctx, "print(1)", &r), RUNBOX_OK);
        runbox_result_clear(&r);
        runbox_context_free(ctx);
        assert_true(had);
        assert_false(host_has("/sys/fs/cgroup/memory", prefix, 5));
        assert_false(host_has("/sys/fs/cgroup/pids", prefix, 5));
        if (stale[0]) {
            struct stat st;
            int fresh_left = stat(fresh, &st) == 0;
            rmdir(fresh);
            assert_int_not_equal(stat(stale, &st), 0);
            assert_true(fresh_left);
        }
    }
}

/* ---- fail closed without user namespaces ---- */

static int run_cli_without_userns(const char *isolation, char *out, size_t size)
{
    const char *cli = getenv("RUNBOX_CLI");
    char *tmp = tu_tmpdir();
    char cfg[4300];
    snprintf(cfg, sizeof cfg, "%s/runbox.ini", tmp);
    char text[100];
    snprintf(text, sizeof text, "[subprocess]\nisolation = %s\n", isolation);
    tu_write(NULL, cfg, text);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        /* A kernel that refuses user namespaces, as seen by runbox. */
        scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
        seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, 0x10000000, 0x10000000));
        seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, 0x10000000, 0x10000000));
        if (seccomp_load(f) < 0)
            _exit(126);
        execl(cli, cli, "run", "-b", "subprocess", "--json", "--config", cfg,
              "print(6 * 7)", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t k;
    while (got < size - 1 && (k = read(p[0], out + got, size - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = '\0';
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    tu_rmtree(tmp);
    free(tmp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_fail_closed(void **state)
{
    (void)state;
    char out[8192];
    int rc = run_cli_without_userns("auto", out, sizeof out);
    if (rc == 0 || tu_contains(out, "\"stdout\":\"42"))
        fail_msg("ran without a sandbox: %s", out);
    assert_true(tu_contains(out, "isolation = none"));
    /* Only an explicit isolation = none runs, and says so loudly. */
    rc = run_cli_without_userns("none", out, sizeof out);
    assert_int_equal(rc, 0);
    assert_true(tu_contains(out, "NONE: not sandboxed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_another_sandbox),
        cmocka_unit_test(test_runbox_unreachable),
        cmocka_unit_test(test_no_privilege),
        cmocka_unit_test(test_workdir_swapped_for_a_link),
        cmocka_unit_test(test_host_files_invisible),
        cmocka_unit_test(test_nothing_persists),
        cmocka_unit_test(test_memory_whole_sandbox),
        cmocka_unit_test(test_runbox_killed),
        cmocka_unit_test(test_fail_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
