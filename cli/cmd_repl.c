/* runbox repl: an interactive session in a terminal.
 *
 * Line editing and history come from libedit (Debian libedit-dev), the BSD
 * licensed editline library: readline-style editing without tying runbox
 * to the GPL, through its readline-compatible callback interface so that
 * one poll() loop waits for keys and for signals alike. It sits in a
 * library of its own (line_editor/), loaded on a terminal only. Without a
 * terminal (input from a pipe or file) lines are read plainly and no
 * prompt is shown, so scripts can drive it too.
 *
 * SIGINT during a run cancels that run (the session's cancel flag), not
 * the repl; at the prompt it drops the line being typed. SIGTERM and
 * SIGHUP cancel a run in progress, close the session and exit 130. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "line_editor.h"

static const char repl_help[] =
    "usage: runbox repl [options]\n"
    "An interactive session in one sandbox of the chosen backend: each\n"
    "input runs in the same sandbox, files persist until :reset, and\n"
    "variables persist where the backend keeps a resident interpreter (the\n"
    "banner says which). The value of a final expression is printed as a\n"
    "notebook shows it; a run that does not end ok prints its verdict.\n\n"
    "  -b, --backend NAME   backend (default from config: e2b)\n"
    "  -t, --timeout SECS   wall-clock limit per input\n"
    "      --config FILE    configuration file (default ./runbox.ini)\n\n"
    "Multi-line input: a line continues while a bracket ( [ { or a\n"
    "triple-quoted string is open, or when it ends with '\\'. A line ending\n"
    "with ':' (def, class, if, for, with, ...) or starting with '@' opens a\n"
    "block, which ends with an empty line.\n\n"
    "Commands: :reset (a new, empty session), :env (describe the sandbox),\n"
    ":quit (or end of input, Ctrl-D), :help.\n"
    "Ctrl-C cancels the running input (or drops the line being typed).\n"
    "Exit status: 0 at :quit or end of input, 130 after SIGTERM/SIGHUP,\n"
    "2 usage or configuration error, 125 the backend failed.\n";

static volatile sig_atomic_t repl_running; /* an input is executing */
static volatile int repl_cancel;            /* the running input's flag */
static volatile sig_atomic_t repl_sigint;   /* Ctrl-C at the prompt */
static volatile sig_atomic_t repl_quit;     /* SIGTERM or SIGHUP */
static int repl_wake[2] = {-1, -1};         /* self-pipe for the poll loop */

static void repl_on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGINT) {
        if (repl_running)
            repl_cancel = 1;
        else
            repl_sigint = 1;
    } else {
        repl_quit = 1;
        runbox_interrupt();
    }
    if (repl_wake[1] >= 0 && write(repl_wake[1], "x", 1) < 0) {
        /* nothing to do: the pipe is full, a wake-up is pending anyway */
    }
    errno = saved;
}

typedef struct repl {
    runbox_context *ctx;
    runbox_session *session;
    int tty;
    const line_editor *editor; /* on a terminal, when it could be loaded */
    char *buf;    /* the input gathered so far */
    size_t len;
    int status;   /* exit status when the loop ends */
} repl;

static int repl_open_session(repl *r)
{
    int rc = runbox_session_open(&r->session, r->ctx);
    if (rc)
        r->status = cli_error(rc, "could not open a session");
    return rc;
}

static void repl_banner(const repl *r)
{
    char caps[256];
    runbox_capabilities_str(runbox_context_capabilities(r->ctx), caps,
                            sizeof caps);
    fprintf(stderr, "runbox repl on %s: %s. :help lists the commands.\n",
            runbox_context_backend(r->ctx),
            strstr(caps, "interpreter")
                ? "variables and files persist until :reset"
                : "files persist until :reset; variables are not "
                  "promised to (the backend declares no resident "
                  "interpreter)");
}

/* The value and rich results of a run, as a notebook shows them. */
static void repl_print_results(const runbox_result *res)
{
    for (size_t i = 0; i < res->rich_count; i++) {
        const runbox_rich *x = &res->rich[i];
        if (x->is_main && !strcmp(x->mime, "text/plain")) {
            fwrite(x->data, 1, x->len, cli_out);
            if (!x->len || x->data[x->len - 1] != '\n')
                fputc('\n', cli_out);
        } else if (strncmp(x->mime, "text/", 5) || !x->is_main) {
            /* A figure or another value a terminal cannot show. */
            int main_text = 0;
            for (size_t j = 0; j < res->rich_count; j++)
                main_text |= res->rich[j].is_main &&
                             !strcmp(res->rich[j].mime, "text/plain") &&
                             res->rich[j].is_main == x->is_main;
            if (!main_text || !x->is_main)
                fprintf(cli_out, "[%s, %zu bytes]\n", x->mime, x->len);
        }
    }
    fflush(cli_out);
}

static void repl_execute(repl *r, const char *code)
{
    runbox_exec_options opt = {0};
    opt.code = code;
    opt.on_output = cli_print_stream;
    opt.cancel = &repl_cancel;
    runbox_result res;
    runbox_result_init(&res);
    repl_cancel = 0;
    repl_running = 1;
    int rc = runbox_session_execute(r->session, &opt, &res);
    repl_running = 0;
    (void)rc; /* a failed call is reported through the result's verdict */
    fflush(cli_out);
    repl_print_results(&res);
    if (res.verdict == RUNBOX_VERDICT_ERROR)
        cli_print_exception(&res);
    else if (res.verdict == RUNBOX_VERDICT_EXIT_NONZERO)
        fprintf(stderr, "[exit_nonzero: exit status %d%s%s]\n", res.exit_code,
                res.message[0] ? "; " : "", res.message);
    else if (res.verdict != RUNBOX_VERDICT_OK)
        fprintf(stderr, "[%s%s%s]\n", runbox_verdict_name(res.verdict),
                res.message[0] ? ": " : "", res.message);
    runbox_result_clear(&res);
}

/* A line that starts with ':' at the start of an input is a command.
 * Returns 1 when the repl should end. */
static int repl_command(repl *r, const char *line)
{
    char cmd[32];
    if (sscanf(line, ":%31s", cmd) != 1)
        cmd[0] = '\0';
    if (!strcmp(cmd, "quit") || !strcmp(cmd, "q") || !strcmp(cmd, "exit"))
        return 1;
    if (!strcmp(cmd, "reset")) {
        runbox_session_close(r->session);
        r->session = NULL;
        if (repl_open_session(r))
            return 1;
        fprintf(stderr, "[a new session: nothing of the old one is left]\n");
    } else if (!strcmp(cmd, "env")) {
        char *json = NULL;
        int rc = runbox_session_environment(r->session, &json);
        if (rc)
            cli_error(rc, "could not describe the sandbox");
        else
            fprintf(cli_out, "%s\n", json);
        free(json);
    } else if (!strcmp(cmd, "help")) {
        fputs(repl_help, cli_out);
    } else {
        fprintf(stderr, "unknown command %s: :reset, :env, :quit, :help\n",
                line);
    }
    fflush(cli_out);
    return 0;
}

/* Takes one line of input. Returns 1 when the repl should end. */
static int repl_line(repl *r, const char *line)
{
    if (!r->len && line[0] == ':')
        return repl_command(r, line);
    if (!r->len && !line[line[0] == '\r' ? 1 : 0])
        return 0;
    size_t n = strlen(line);
    char *b = realloc(r->buf, r->len + n + 2);
    if (!b) {
        fprintf(stderr, "runbox: out of memory\n");
        r->status = 125;
        return 1;
    }
    r->buf = b;
    if (r->len)
        r->buf[r->len++] = '\n';
    memcpy(r->buf + r->len, line, n + 1);
    r->len += n;
    if (cli_repl_incomplete(r->buf))
        return 0;
    if (r->editor)
        r->editor->remember(r->buf);
    repl_execute(r, r->buf);
    r->len = 0;
    r->buf[0] = '\0';
    return 0;
}

static const char *repl_prompt(const repl *r)
{
    return r->len ? "... " : ">>> ";
}

/* libedit's callback interface: the handler hands the line to the loop. */
static char *repl_got;
static int repl_have_line;

static void repl_on_line(char *line)
{
    repl_got = line;
    repl_have_line = 1;
}

static void repl_drain_wake(void)
{
    char junk[64];
    while (read(repl_wake[0], junk, sizeof junk) > 0)
        ;
}

static void repl_loop_tty(repl *r)
{
    const line_editor *ed = r->editor;
    /* The prompt and the echo belong with runbox's output, not with fd 1
     * (stderr since runbox_reserve_stdout). */
    ed->start(cli_out);
    int installed = 0;
    for (;;) {
        if (repl_quit)
            break;
        if (!installed) {
            ed->prompt(repl_prompt(r), repl_on_line);
            installed = 1;
        }
        struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = repl_wake[0], .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            repl_drain_wake();
        if (repl_sigint) {
            repl_sigint = 0;
            ed->cancel();
            installed = 0;
            fputs("\nKeyboardInterrupt\n", cli_out);
            fflush(cli_out);
            r->len = 0;
            continue;
        }
        if (!(pfd[0].revents & (POLLIN | POLLHUP)))
            continue;
        ed->feed();
        if (!repl_have_line)
            continue;
        repl_have_line = 0;
        ed->cancel(); /* the line is in: the prompt is over */
        installed = 0;
        char *line = repl_got;
        repl_got = NULL;
        if (!line) { /* Ctrl-D */
            fputc('\n', cli_out);
            break;
        }
        int end = repl_line(r, line);
        free(line);
        if (end)
            break;
    }
    if (installed)
        ed->cancel();
}

/* The line editor, or NULL (then the terminal gets plain lines). */
static const line_editor *repl_editor(void)
{
    char why[512] = "";
    void *lib = cli_load_private(LINE_EDITOR_LIBRARY, why, sizeof why);
    const line_editor *ed = lib ? dlsym(lib, LINE_EDITOR_SYMBOL) : NULL;
    if (!ed)
        fprintf(stderr, "runbox repl: no line editing (cannot load %s: %s)\n",
                LINE_EDITOR_LIBRARY, lib ? dlerror() : why);
    return ed;
}

static void repl_loop_plain(repl *r)
{
    char *line = NULL;
    size_t cap = 0;
    /* repl_quit is checked before reading too: a SIGTERM that came while
     * an input ran has cancelled it, and must not wait for more input. */
    while (!repl_quit) {
        errno = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (repl_quit)
            break;
        if (n < 0) {
            if (errno == EINTR) { /* Ctrl-C: drop what was gathered */
                clearerr(stdin);
                repl_sigint = 0;
                r->len = 0;
                continue;
            }
            /* End of input finishes a pending block as an empty line
             * would. */
            if (r->len)
                repl_line(r, "");
            break;
        }
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (repl_line(r, line))
            break;
    }
    free(line);
}

int cli_repl(int argc, char **argv)
{
    cli_common common = {0};
    int rc = cli_parse_common_only(&common, argc, argv, repl_help, NULL);
    if (rc >= 0)
        return rc;
    runbox_config *cfg = cli_config_no_pool(&common);
    if (!cfg)
        return 2;
    repl r = {0};
    rc = runbox_context_new(&r.ctx, cfg);
    runbox_config_free(cfg);
    if (rc)
        return cli_error(rc, NULL);
    if (pipe(repl_wake) == 0) {
        for (int i = 0; i < 2; i++) {
            int fl = fcntl(repl_wake[i], F_GETFL);
            fcntl(repl_wake[i], F_SETFL, fl | O_NONBLOCK);
            fcntl(repl_wake[i], F_SETFD, FD_CLOEXEC);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = repl_on_signal; /* no SA_RESTART: reads see EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    r.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (!repl_open_session(&r)) {
        if (r.tty)
            repl_banner(&r);
        if (r.tty && (r.editor = repl_editor()))
            repl_loop_tty(&r);
        else
            repl_loop_plain(&r);
        if (repl_quit)
            r.status = 130;
    }
    runbox_session_close(r.session);
    runbox_context_free(r.ctx);
    free(r.buf);
    return r.status;
}
