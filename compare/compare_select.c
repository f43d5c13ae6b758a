/* runbox compare: which backends were found and which become columns. */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static cmp_backend *cmp_find(cmp_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

static cmp_backend *cmp_add(cmp_list *l, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        cmp_backend *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    cmp_backend *b = &l->v[l->n++];
    memset(b, 0, sizeof *b);
    b->name = strdup(name);
    return b;
}

/* The search path may hold the same backend twice (build tree and
 * RUNBOX_BACKEND_PATH); the first one found is the one runbox uses. */
static void cmp_on_backend(void *ud, const runbox_backend_info *info)
{
    cmp_list *l = ud;
    if (!info->name || cmp_find(l, info->name))
        return;
    cmp_backend *b = cmp_add(l, info->name);
    if (!b)
        return;
    b->path = info->path ? strdup(info->path) : NULL;
    b->usable = info->usable && !info->load_error;
    const char *note = info->load_error ? info->load_error : info->why;
    b->note = note ? strdup(note) : NULL;
    b->description = info->description ? strdup(info->description) : NULL;
}

static void cmp_backend_free(cmp_backend *b)
{
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        free(b->cells[r].value);
        free(b->cells[r].evidence);
    }
    free(b->name);
    free(b->path);
    free(b->note);
    free(b->description);
    free(b->cold);
    free(b->warm);
}

/* A variant column ("docker+gvisor") starts as a copy of its backend's
 * entry; whether its settings work here is found when it is measured. */
static void cmp_add_variant(cmp_list *out, const cmp_backend *base,
                            const char *column)
{
    cmp_backend *b = cmp_add(out, column);
    if (!b)
        return;
    b->path = base->path ? strdup(base->path) : NULL;
    b->usable = base->usable;
    b->note = base->note ? strdup(base->note) : NULL;
    b->description = base->description ? strdup(base->description) : NULL;
}

/* Picks the columns: every backend found followed by the variants of the
 * ones found, or the -b list in its order, with names that are not
 * backends listed as "not found". */
static int cmp_select(cmp_list *out, cmp_list *found, const char *wanted)
{
    if (!wanted) {
        *out = *found;
        memset(found, 0, sizeof *found);
        size_t n = out->n;
        for (const char *const *v = cmp_variant_columns; *v; v++) {
            const char *const *settings;
            const char *base = cmp_column_backend(*v, &settings);
            for (size_t i = 0; i < n; i++)
                if (!strcmp(out->v[i].name, base)) {
                    cmp_backend copy = out->v[i]; /* out->v may move */
                    cmp_add_variant(out, &copy, *v);
                    break;
                }
        }
        return 0;
    }
    char *copy = strdup(wanted), *save = NULL;
    if (!copy)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t || cmp_find(out, t))
            continue;
        const char *const *settings;
        const char *base = cmp_column_backend(t, &settings);
        /* The base's entry is in out when it was listed earlier (its
         * entry in found was moved there), else still in found. */
        cmp_backend *base_entry = settings ? cmp_find(out, base) : NULL;
        if (!base_entry && settings)
            base_entry = cmp_find(found, base);
        if (base_entry) {
            cmp_backend copy = *base_entry;
            cmp_add_variant(out, &copy, t);
            continue;
        }
        cmp_backend *src = cmp_find(found, t), *b = cmp_add(out, t);
        if (!b)
            break;
        if (src) {
            free(b->name);
            *b = *src;
            memset(src, 0, sizeof *src);
            src->name = strdup(t); /* keeps cmp_find working on found */
            continue;
        }
        size_t len = 64;
        for (size_t i = 0; i < found->n; i++)
            len += strlen(found->v[i].name) + 2;
        b->note = malloc(len);
        if (b->note) {
            strcpy(b->note, "not found: no backend of that name; found: ");
            for (size_t i = 0; i < found->n; i++)
                strcat(strcat(b->note, i ? ", " : ""), found->v[i].name);
            if (!found->n)
                strcat(b->note, "none (set RUNBOX_BACKEND_PATH)");
        }
    }
    free(copy);
    return 0;
}

int cmp_columns(const runbox_config *cfg, const char *wanted, cmp_list *cols)
{
    cmp_list found = {0};
    int rc = runbox_backends_list(cfg, cmp_on_backend, &found);
    if (!rc)
        cmp_select(cols, &found, wanted);
    cmp_list_free(&found);
    return rc;
}

void cmp_list_free(cmp_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        cmp_backend_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}
