/* runbox env / backends / config: what runbox would do, and why. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char env_help[] =
    "usage: runbox env [-b BACKEND] [--config FILE]\n"
    "Describes a fresh sandbox as JSON: interpreter version, platform,\n"
    "installed packages with versions, backend, capabilities and limits.\n";

int cli_env(int argc, char **argv)
{
    cli_common common = {0};
    int rc = cli_parse_common_only(&common, argc, argv, env_help, NULL);
    if (rc >= 0)
        return rc;
    runbox_config *cfg = cli_config_no_pool(&common);
    if (!cfg)
        return 2;
    cli_handle_signals(NULL);
    runbox_context *ctx = NULL;
    rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc)
        return cli_error(rc, NULL);
    char *json = NULL;
    rc = runbox_get_environment(ctx, &json);
    if (!rc)
        fprintf(cli_out, "%s\n", json);
    free(json);
    runbox_context_free(ctx);
    return rc ? cli_error(rc, NULL) : 0;
}

static const char backends_help[] =
    "usage: runbox backends [--config FILE] [--json]\n"
    "       runbox backends --settings NAME\n"
    "Lists every backend found (RUNBOX_BACKEND_PATH, backend_path, the build\n"
    "tree, the install directory), its capabilities, and whether it can work\n"
    "on this machine with this configuration, and if not why.\n\n"
    "  --settings NAME   document the settings of backend NAME (a name or a\n"
    "                    path to its .so): type, default, what each does\n";

typedef struct list_state {
    int json;
    int first;
} list_state;

static void print_json_string(const char *s)
{
    fputc('"', cli_out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(cli_out, "\\%c", c);
        else if (c < 0x20)
            fprintf(cli_out, "\\u%04x", c);
        else
            fputc(c, cli_out);
    }
    fputc('"', cli_out);
}

static void print_backend(void *ud, const runbox_backend_info *b)
{
    list_state *st = ud;
    char caps[512];
    runbox_capabilities_str(b->capabilities, caps, sizeof caps);
    if (st->json) {
        fprintf(cli_out, "%s{\"name\":", st->first ? "" : ",");
        print_json_string(b->name);
        fprintf(cli_out, ",\"path\":");
        print_json_string(b->path);
        fprintf(cli_out, ",\"usable\":%s,\"capabilities\":", b->usable ? "true" : "false");
        print_json_string(caps);
        fprintf(cli_out, ",\"note\":");
        print_json_string(b->load_error ? b->load_error : b->why ? b->why : "");
        fprintf(cli_out, "}");
        st->first = 0;
        return;
    }
    fprintf(cli_out, "%-12s %-10s %s\n", b->name,
           b->load_error ? "broken" : b->usable ? "usable" : "unusable",
           b->path);
    if (b->description)
        fprintf(cli_out, "             %s\n", b->description);
    if (!b->load_error)
        fprintf(cli_out, "             capabilities: %s\n", caps[0] ? caps : "(none)");
    if (b->load_error || b->why)
        fprintf(cli_out, "             %s: %s\n", b->load_error ? "error" : b->usable ? "note" : "why",
               b->load_error ? b->load_error : b->why);
}

static void print_setting_doc(void *ud, const runbox_setting_info *s)
{
    (void)ud;
    const char *dot = strchr(s->key, '.');
    fprintf(cli_out, "  %-20s %-9s default %-22s %s%s\n", dot ? dot + 1 : s->key,
            s->type, s->default_value ? s->default_value : "(none)",
            s->doc ? s->doc : "", s->secret ? " [secret]" : "");
}

static int backend_settings(const cli_common *common, const char *name)
{
    runbox_config *cfg = cli_config(common);
    if (!cfg)
        return 2;
    fprintf(cli_out, "[%s] settings (runbox.ini section [%s], or the "
            "environment as RUNBOX_<BACKEND>_<KEY>):\n", name, name);
    int rc = runbox_config_describe(cfg, name, print_setting_doc, NULL);
    if (!rc)
        fprintf(cli_out, "Limits (timeout, memory, cpu_time, processes, "
                "file_size, open_files, output_limit, network) may also be "
                "set in [%s]; `runbox config --help` lists them.\n", name);
    runbox_config_free(cfg);
    return rc ? cli_error(rc, NULL) : 0;
}

int cli_backends(int argc, char **argv)
{
    cli_common common = {0};
    list_state st = {0, 1};
    /* --settings NAME is this command's own option. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--settings") || !strncmp(argv[i], "--settings=", 11)) {
            const char *name = argv[i][10] == '=' ? argv[i] + 11
                               : i + 1 < argc ? argv[i + 1] : NULL;
            if (!name || !*name) {
                fprintf(stderr, "runbox backends: --settings needs a backend "
                                "name\n");
                return 2;
            }
            int skip = argv[i][10] == '=' ? 1 : 2;
            for (int j = i; j + skip < argc; j++)
                argv[j] = argv[j + skip];
            argc -= skip;
            int rc = cli_parse_common_only(&common, argc, argv, backends_help, NULL);
            if (rc >= 0)
                return rc;
            return backend_settings(&common, name);
        }
    int rc = cli_parse_common_only(&common, argc, argv, backends_help, &st.json);
    if (rc >= 0)
        return rc;
    runbox_config *cfg = cli_config(&common);
    if (!cfg)
        return 2;
    if (st.json)
        fprintf(cli_out, "[");
    rc = runbox_backends_list(cfg, print_backend, &st);
    if (st.json)
        fprintf(cli_out, "]\n");
    runbox_config_free(cfg);
    return rc ? cli_error(rc, NULL) : 0;
}

static const char config_help[] =
    "usage: runbox config [-b BACKEND] [-t SECONDS] [--config FILE]\n"
    "Prints every effective setting, its value (secrets masked), where it\n"
    "came from and its default: runbox's own settings, then those of the\n"
    "backend given with -b, or of every backend found without -b.\n"
    "Precedence: flag > environment > ./.env > config file > default.\n"
    "Files: --config FILE, else ./runbox.ini, else\n"
    "$XDG_CONFIG_HOME/runbox/config.ini (~/.config/runbox/config.ini).\n"
    "Environment: RUNBOX_<KEY>, RUNBOX_<BACKEND>_<KEY>, E2B_API_KEY,\n"
    "E2B_DOMAIN, E2B_API_URL, E2B_SANDBOX_URL, DOCKER_HOST.\n"
    "`runbox backends --settings NAME` documents a backend's settings.\n";

static void print_setting(void *ud, const runbox_setting_info *s)
{
    (void)ud;
    char origin[512];
    if (s->default_value && strcmp(s->origin, "default"))
        snprintf(origin, sizeof origin, "%s (default %s)", s->origin,
                 s->default_value);
    else
        snprintf(origin, sizeof origin, "%s", s->origin);
    fprintf(cli_out, "%-24s = %-28s # %s\n", s->key, s->value ? s->value : "",
            origin);
}

typedef struct config_walk {
    const runbox_config *cfg;
    int status;
} config_walk;

static void config_one_backend(void *ud, const runbox_backend_info *b)
{
    config_walk *w = ud;
    if (b->load_error) {
        fprintf(cli_out, "\n[%s]  # cannot be loaded: %s\n", b->name, b->load_error);
        return;
    }
    fprintf(cli_out, "\n[%s]\n", b->name);
    if (runbox_config_describe(w->cfg, b->name, print_setting, NULL))
        w->status = cli_error(RUNBOX_EBACKEND, b->name);
}

int cli_config_cmd(int argc, char **argv)
{
    cli_common common = {0};
    int rc = cli_parse_common_only(&common, argc, argv, config_help, NULL);
    if (rc >= 0)
        return rc;
    runbox_config *cfg = cli_config(&common);
    if (!cfg)
        return 2;
    rc = runbox_config_validate_all(cfg);
    if (rc) {
        runbox_config_free(cfg);
        return cli_error(rc, NULL);
    }
    fprintf(cli_out, "[runbox]\n");
    runbox_config_describe(cfg, NULL, print_setting, NULL);
    config_walk w = {cfg, 0};
    if (common.backend) {
        fprintf(cli_out, "\n[%s]\n", common.backend);
        rc = runbox_config_describe(cfg, common.backend, print_setting, NULL);
        if (rc)
            w.status = cli_error(rc, NULL);
    } else {
        runbox_backends_list(cfg, config_one_backend, &w);
    }
    runbox_config_free(cfg);
    return w.status;
}
