/* runbox gc: removes what killed or crashed runbox processes of this
 * machine left behind, through the backend's own listing (E2B sandboxes
 * by their metadata, containers by their labels). */
#include <string.h>

#include "cli.h"

static const char gc_help[] =
    "usage: runbox gc [-b BACKEND] [--config FILE]\n"
    "Removes the sandboxes (E2B sandboxes, containers) that runbox processes\n"
    "of this machine left running when they were killed or crashed, and\n"
    "prints how many. Sandboxes of runbox processes that still run, of other\n"
    "machines or containers, and anything runbox did not create are left\n"
    "alone. Opening a backend already does this; gc says how many it found.\n"
    "Exit status: 0 done; 2 usage, config or credential error, or a backend\n"
    "with no way to list its sandboxes; 125 the backend could not list them.\n";

int cli_gc(int argc, char **argv)
{
    cli_common common = {0};
    int status = cli_parse_common_only(&common, argc, argv, gc_help, NULL);
    if (status >= 0)
        return status;
    runbox_config *cfg = cli_config(&common);
    if (!cfg)
        return 2;
    runbox_context *ctx = NULL;
    int rc = runbox_context_new(&ctx, cfg);
    runbox_config_free(cfg);
    if (rc)
        return cli_error(rc, NULL);
    unsigned removed = 0;
    rc = runbox_context_reap(ctx, &removed);
    if (!rc)
        fprintf(cli_out, "%s: removed %u leftover sandbox%s\n",
                runbox_context_backend(ctx), removed, removed == 1 ? "" : "es");
    status = rc ? cli_error(rc, NULL) : 0;
    runbox_context_free(ctx);
    return status;
}
