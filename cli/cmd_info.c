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
        printf("%s\n", json);
    free(json);
    runbox_context_free(ctx);
    return rc ? cli_error(rc, NULL) : 0;
}

static const char backends_help[] =
    "usage: runbox backends [--config FILE] [--json]\n"
    "Lists every backend found (RUNBOX_BACKEND_PATH, backend_path, the build\n"
    "tree, the install directory), its capabilities, and whether it can work\n"
    "on this machine with this configuration, and if not why.\n";

typedef struct list_state {
    int json;
    int first;
} list_state;

static void print_json_string(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_backend(void *ud, const runbox_backend_info *b)
{
    list_state *st = ud;
    char caps[512];
    runbox_capabilities_str(b->capabilities, caps, sizeof caps);
    if (st->json) {
        printf("%s{\"name\":", st->first ? "" : ",");
        print_json_string(b->name);
        printf(",\"path\":");
        print_json_string(b->path);
        printf(",\"usable\":%s,\"capabilities\":", b->usable ? "true" : "false");
        print_json_string(caps);
        printf(",\"note\":");
        print_json_string(b->load_error ? b->load_error : b->why ? b->why : "");
        printf("}");
        st->first = 0;
        return;
    }
    printf("%-12s %-10s %s\n", b->name,
           b->load_error ? "broken" : b->usable ? "usable" : "unusable",
           b->path);
    if (b->description)
        printf("             %s\n", b->description);
    if (!b->load_error)
        printf("             capabilities: %s\n", caps[0] ? caps : "(none)");
    if (b->load_error || b->why)
        printf("             %s: %s\n", b->load_error ? "error" : b->usable ? "note" : "why",
               b->load_error ? b->load_error : b->why);
}

int cli_backends(int argc, char **argv)
{
    cli_common common = {0};
    list_state st = {0, 1};
    int rc = cli_parse_common_only(&common, argc, argv, backends_help, &st.json);
    if (rc >= 0)
        return rc;
    runbox_config *cfg = cli_config(&common);
    if (!cfg)
        return 2;
    if (st.json)
        printf("[");
    rc = runbox_backends_list(cfg, print_backend, &st);
    if (st.json)
        printf("]\n");
    runbox_config_free(cfg);
    return rc ? cli_error(rc, NULL) : 0;
}

static const char config_help[] =
    "usage: runbox config [-b BACKEND] [-t SECONDS] [--config FILE]\n"
    "Prints every effective setting, its value (secrets masked) and where it\n"
    "came from. Precedence: flag > environment > ./.env > config file >\n"
    "default. Files: --config FILE, else ./runbox.ini, else\n"
    "$XDG_CONFIG_HOME/runbox/config.ini (~/.config/runbox/config.ini).\n"
    "Environment: RUNBOX_<KEY>, RUNBOX_<BACKEND>_<KEY>, E2B_API_KEY,\n"
    "E2B_DOMAIN, E2B_API_URL, E2B_SANDBOX_URL, DOCKER_HOST.\n";

static void print_entry(void *ud, const char *key, const char *value,
                        const char *origin)
{
    (void)ud;
    printf("%-22s = %-28s # %s\n", key, value, origin);
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
    if (!rc)
        runbox_config_foreach(cfg, print_entry, NULL);
    runbox_config_free(cfg);
    return rc ? cli_error(rc, NULL) : 0;
}
