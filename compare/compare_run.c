/* runbox compare: the order of the work for each column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

void cmp_run(const cmp_options *o, cmp_list *cols)
{
    for (size_t i = 0; i < cols->n && !runbox_interrupted(); i++) {
        cmp_backend *b = &cols->v[i];
        const char *const *settings;
        if (b->usable && cmp_column_backend(b->name, &settings) && settings) {
            /* A variant whose settings this machine lacks (a runtime the
             * engine does not have) is listed with the backend's reason. */
            runbox_context *ctx = NULL;
            char err[600];
            if (cmp_open(&ctx, &o->probe, b->name, NULL, err, sizeof err)) {
                b->usable = 0;
                free(b->note);
                b->note = strdup(err);
            }
            runbox_context_free(ctx);
        }
        const char *note = b->note && *b->note ? b->note : NULL;
        const char *what = b->description ? b->description : "";
        if (!b->usable) {
            /* The reason up to its first colon is short enough for a cell. */
            char brief[64];
            snprintf(brief, sizeof brief, "%s", note ? note : "unusable here");
            brief[strcspn(brief, ":")] = '\0';
            cmp_set(b, CMP_SETUP_STATUS, "skipped", "%s", note ? note : "");
            cmp_set(b, CMP_SETUP_FOUND, b->path ? brief : "not found", "%s%s%s",
                    what, *what ? "; " : "", note ? note : "");
            continue;
        }
        cmp_set(b, CMP_SETUP_STATUS, "ready", "%s", b->path ? b->path : "");
        cmp_set(b, CMP_SETUP_FOUND, note ? note : "found (its probe gave no note)",
                "%s%s%s", what, *what ? "; " : "",
                note ? note : "the backend's probe found what it needs");
        cmp_measure(o, b); /* first: the code's peak RSS is clean then */
        if (o->sections & CMP_SECTION_SECURITY)
            cmp_probe_security(&o->probe, b);
        if (o->sections & CMP_SECTION_RESOURCES)
            cmp_probe_resources(&o->probe, b);
    }
}
