/* For each capability a backend claims, that it holds. The limits,
 * timeout, output cap and network are the probes' questions (probes/);
 * sessions and files are asked here. A capability not claimed is
 * skipped, and the core must refuse what needs it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "runbox/backend.h" /* the RUNBOX_CAP_* bits */

static void check_random(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, raw, n / 2) : -1;
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char b = got == (ssize_t)(n / 2) ? raw[i] : (unsigned char)rand();
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 15];
    }
    out[n / 2 * 2] = '\0';
}

/* Runs code in session s; its stdout, or NULL with why set. Caller frees. */
static char *check_session_run(runbox_session *s, const char *code, char *why,
                               size_t size)
{
    runbox_exec_options opt = {.code = code, .timeout = 60};
    runbox_result r;
    runbox_result_init(&r);
    int rc = runbox_session_execute(s, &opt, &r);
    char *out = NULL;
    if (rc || r.verdict != RUNBOX_VERDICT_OK)
        snprintf(why, size, "%s", cmp_describe(&r));
    else
        out = strdup(r.out.data ? r.out.data : "");
    runbox_result_clear(&r);
    return out;
}

static runbox_session *check_session(check_state *s, runbox_context **ctx,
                                     const char *name)
{
    char err[800];
    if (cmp_open(ctx, &s->o->probe, s->o->backend, NULL, err, sizeof err)) {
        check_report(s, CHECK_FAIL, name, "cannot open the backend: %s", err);
        return NULL;
    }
    runbox_session *sess = NULL;
    if (runbox_session_open(&sess, *ctx)) {
        check_report(s, CHECK_FAIL, name, "cannot open a session: %s",
                     runbox_error_last());
        runbox_context_free(*ctx);
        *ctx = NULL;
        return NULL;
    }
    return sess;
}

static void check_sessions(check_state *s)
{
    const char *name = "claim: sessions keep state";
    if (!(s->caps & RUNBOX_CAP_SESSIONS)) {
        check_report(s, CHECK_SKIP, name, "not claimed");
        return;
    }
    runbox_context *ctx = NULL;
    runbox_session *sess = check_session(s, &ctx, name);
    if (!sess)
        return;
    char why[800] = "", *out = check_session_run(
        sess, "open('rbx_check_state.txt', 'w').write('41')", why, sizeof why);
    free(out);
    out = out ? check_session_run(sess, "print(int(open('rbx_check_state.txt')"
                                  ".read()) + 1)", why, sizeof why) : NULL;
    if (out && !strcmp(out, "42\n"))
        check_report(s, CHECK_PASS, name, "a file written by one run is read by "
                     "the next");
    else
        check_report(s, CHECK_FAIL, name, "a file written by one run was not "
                     "there for the next: %s", out ? out : why);
    free(out);
    runbox_session_close(sess);
    runbox_context_free(ctx);
}

/* A host file the sandbox must not reach, with random content. */
static int check_host_marker(char *path, size_t size, char *secret)
{
    char tag[17];
    check_random(tag, 16);
    check_random(secret, 32);
    snprintf(path, size, "/tmp/runbox-check-%s", tag);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, secret, strlen(secret));
    close(fd);
    return n == (ssize_t)strlen(secret) ? 0 : -1;
}

static void check_files(check_state *s)
{
    const char *name = "claim: files round-trip";
    const char *conf = "claim: files stay inside the sandbox";
    if (!(s->caps & RUNBOX_CAP_FILES)) {
        check_report(s, CHECK_SKIP, name, "not claimed");
        check_report(s, CHECK_SKIP, conf, "not claimed");
        return;
    }
    runbox_context *ctx = NULL;
    runbox_session *sess = check_session(s, &ctx, name);
    if (!sess)
        return;
    char data[33], why[800] = "";
    check_random(data, 32);
    void *got = NULL;
    size_t len = 0;
    int rc = runbox_session_write_file(sess, "rbx_check_in.txt", data, strlen(data));
    char *out = rc ? NULL : check_session_run(
        sess, "print(open('rbx_check_in.txt').read())\n"
              "open('rbx_check_out.txt', 'w').write('back:' + "
              "open('rbx_check_in.txt').read())", why, sizeof why);
    if (rc)
        snprintf(why, sizeof why, "write_file: %s", runbox_error_last());
    if (out && !runbox_session_read_file(sess, "rbx_check_out.txt", &got, &len) &&
        len == strlen(data) + 5 && !memcmp((char *)got + 5, data, strlen(data)) &&
        !strncmp(out, data, strlen(data)))
        check_report(s, CHECK_PASS, name, "written, read by the code, written "
                     "back and read");
    else
        check_report(s, CHECK_FAIL, name, "%s", out ? "the file read back "
                     "differs from what the code wrote" : why);
    free(out);
    free(got);
    got = NULL;

    /* Confinement: a host file by absolute path, a link the code leaves
     * pointing at it, and writes to host paths, directly and through a
     * link. None may reach the host. */
    char marker[128], secret[33], target[128], target2[128], junk[33];
    if (s->o->skip_isolation) {
        check_report(s, CHECK_SKIP, conf, "--skip-isolation");
        goto done;
    }
    if (check_host_marker(marker, sizeof marker, secret)) {
        check_report(s, CHECK_FAIL, conf, "cannot create a marker file in /tmp");
        goto done;
    }
    check_random(junk, 16);
    snprintf(target, sizeof target, "/tmp/runbox-check-w-%s", junk);
    check_random(junk, 16);
    snprintf(target2, sizeof target2, "/tmp/runbox-check-l-%s", junk);
    const char *leak = NULL;
    if (!runbox_session_read_file(sess, marker, &got, &len) &&
        len == strlen(secret) && !memcmp(got, secret, len))
        leak = "read_file of an absolute host path returned the host file";
    free(got);
    got = NULL;
    char code[512];
    snprintf(code, sizeof code, "import os\nos.symlink('%s', 'rbx_check_link')\n"
             "os.symlink('%s', 'rbx_check_wlink')\n", marker, target2);
    free(check_session_run(sess, code, why, sizeof why));
    if (!leak && !runbox_session_read_file(sess, "rbx_check_link", &got, &len) &&
        len == strlen(secret) && !memcmp(got, secret, len))
        leak = "read_file followed a link left by the code to a host file";
    free(got);
    runbox_session_write_file(sess, target, "x", 1);
    runbox_session_write_file(sess, "rbx_check_wlink", "x", 1);
    struct stat st;
    if (!leak && !stat(target, &st))
        leak = "write_file of an absolute path created the host file";
    if (!leak && !lstat(target2, &st))
        leak = "write_file followed a link left by the code to a host path";
    if (leak)
        check_report(s, CHECK_FAIL, conf, "%s", leak);
    else
        check_report(s, CHECK_PASS, conf, "host files unreachable by path and "
                     "through links the code left");
    unlink(marker);
    unlink(target);
    unlink(target2);
done:
    runbox_session_close(sess);
    runbox_context_free(ctx);
}

static void check_row(check_state *s, const cmp_backend *b, cmp_row row,
                      const char *name, int claimed, const char *want)
{
    const cmp_cell *c = &b->cells[row];
    const char *v = c->value ? c->value : "not measured";
    if (!claimed)
        check_report(s, CHECK_SKIP, name, "not claimed (probe: %s)", v);
    else if (!strcmp(v, want))
        check_report(s, CHECK_PASS, name, "%s", c->evidence ? c->evidence : v);
    else
        check_report(s, CHECK_FAIL, name, "%s: %s", v, c->evidence ? c->evidence : "");
}

void check_claims(check_state *s)
{
    check_sessions(s);
    check_files(s);
    cmp_backend b;
    memset(&b, 0, sizeof b);
    b.name = (char *)s->o->backend;
    cmp_probe_resources(&s->o->probe, &b);
    check_row(s, &b, CMP_RES_TIMEOUT, "timeout", 1, "yes");
    check_row(s, &b, CMP_RES_OUTPUT, "output cap", 1, "yes");
    check_row(s, &b, CMP_RES_MEMORY, "claim: memory limit stops a memory bomb",
              !!(s->caps & RUNBOX_CAP_LIMIT_MEMORY), "yes");
    check_row(s, &b, CMP_RES_PROCESSES, "claim: process limit stops a fork bomb",
              !!(s->caps & RUNBOX_CAP_LIMIT_PROCESSES), "yes");
    if ((s->caps & RUNBOX_CAP_NETWORK_CONTROL) && s->o->skip_isolation) {
        check_report(s, CHECK_SKIP, "claim: network off cuts the network",
                     "--skip-isolation");
    } else if (s->caps & RUNBOX_CAP_NETWORK_CONTROL) {
        static const char *const off[] = {"network", "off", NULL};
        probe_options po = s->o->probe;
        po.overrides = off;
        cmp_probe_security(&po, &b);
        check_row(s, &b, CMP_SEC_NETWORK, "claim: network off cuts the network",
                  1, "no");
        check_row(s, &b, CMP_SEC_LOOPBACK, "claim: network off cuts the host's "
                  "loopback", 1, "no");
    } else {
        check_report(s, CHECK_SKIP, "claim: network off cuts the network",
                     "not claimed");
    }
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        free(b.cells[r].value);
        free(b.cells[r].evidence);
    }
}
