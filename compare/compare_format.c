/* runbox compare output: aligned table, GitHub markdown, JSON and CSV. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "compare.h"

#define CMP_CELL_MAX 40 /* table cells longer than this are cut; see evidence */

static const char *cmp_value(const cmp_backend *b, int row)
{
    if (b->cells[row].value)
        return b->cells[row].value;
    return b->usable ? NULL : "skipped";
}

/* A row is shown when some backend measured it (sections may be off). */
static int cmp_row_shown(const cmp_backend *bs, size_t n, int row)
{
    for (size_t i = 0; i < n; i++)
        if (bs[i].cells[row].value)
            return 1;
    return row <= CMP_SETUP_FOUND;
}

static int cmp_new_section(int row)
{
    return row == 0 || strcmp(cmp_rows[row].section, cmp_rows[row - 1].section);
}

static void cmp_print_table(FILE *fp, const cmp_backend *bs, size_t n)
{
    int label_w = 0, w[64];
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        int l = (int)strlen(cmp_rows[r].label) + 2;
        label_w = l > label_w ? l : label_w;
    }
    for (size_t i = 0; i < n && i < 64; i++) {
        w[i] = (int)strlen(bs[i].name);
        for (int r = 0; r < CMP_ROW_COUNT; r++) {
            const char *v = cmp_value(&bs[i], r);
            int l = v ? (int)strlen(v) : 1;
            w[i] = l > w[i] ? (l > CMP_CELL_MAX ? CMP_CELL_MAX : l) : w[i];
        }
    }
    fprintf(fp, "%-*s", label_w, "");
    if (n)
        w[(n < 64 ? n : 64) - 1] = 0; /* no padding after the last column */
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(fp, "  %-*s", w[i], bs[i].name);
    fputc('\n', fp);
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        if (!cmp_row_shown(bs, n, r))
            continue;
        if (cmp_new_section(r))
            fprintf(fp, "%s\n", cmp_rows[r].section);
        fprintf(fp, "  %-*s", label_w - 2, cmp_rows[r].label);
        for (size_t i = 0; i < n && i < 64; i++) {
            const char *v = cmp_value(&bs[i], r);
            v = v ? v : "-";
            if ((int)strlen(v) > CMP_CELL_MAX)
                fprintf(fp, "  %.*s...", CMP_CELL_MAX - 3, v);
            else
                fprintf(fp, "  %-*s", w[i], v);
        }
        fputc('\n', fp);
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "\n%s:\n", bs[i].name);
        for (int r = 0; r < CMP_ROW_COUNT; r++) {
            const char *e = bs[i].cells[r].evidence;
            if (e && *e && cmp_row_shown(bs, n, r))
                fprintf(fp, "  %s / %s: %s\n", cmp_rows[r].section,
                        cmp_rows[r].label, e);
        }
    }
}

static void cmp_md(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputc('\\', fp);
        fputc(*s == '\n' ? ' ' : *s, fp);
    }
}

static void cmp_print_markdown(FILE *fp, const cmp_backend *bs, size_t n)
{
    fprintf(fp, "| Feature |");
    for (size_t i = 0; i < n; i++)
        fprintf(fp, " %s |", bs[i].name);
    fprintf(fp, "\n|---|");
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "---|");
    fputc('\n', fp);
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        if (!cmp_row_shown(bs, n, r))
            continue;
        if (cmp_new_section(r)) {
            fprintf(fp, "| **%s** |", cmp_rows[r].section);
            for (size_t i = 0; i < n; i++)
                fprintf(fp, " |");
            fputc('\n', fp);
        }
        fprintf(fp, "| %s |", cmp_rows[r].label);
        for (size_t i = 0; i < n; i++) {
            const char *v = cmp_value(&bs[i], r);
            fputc(' ', fp);
            cmp_md(fp, v ? v : "-");
            fprintf(fp, " |");
        }
        fputc('\n', fp);
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "\n**%s**\n\n", bs[i].name);
        for (int r = 0; r < CMP_ROW_COUNT; r++) {
            const char *e = bs[i].cells[r].evidence;
            if (!e || !*e || !cmp_row_shown(bs, n, r))
                continue;
            fprintf(fp, "- %s / %s: ", cmp_rows[r].section, cmp_rows[r].label);
            cmp_md(fp, e);
            fputc('\n', fp);
        }
    }
}

static int cmp_print_json(FILE *fp, const cmp_options *o, const cmp_backend *bs,
                          size_t n)
{
    cJSON *root = cJSON_CreateObject(), *backends = cJSON_CreateArray(),
          *rows = cJSON_CreateArray();
    cJSON_AddNumberToObject(root, "runs", o->runs);
    if (o->e2b_price > 0) /* else derived per backend, in its cost row */
        cJSON_AddNumberToObject(root, "e2b_price_per_second", o->e2b_price);
    cJSON_AddItemToObject(root, "backends", backends);
    cJSON_AddItemToObject(root, "rows", rows);
    for (size_t i = 0; i < n; i++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", bs[i].name);
        if (bs[i].path)
            cJSON_AddStringToObject(b, "path", bs[i].path);
        else
            cJSON_AddNullToObject(b, "path");
        cJSON_AddBoolToObject(b, "usable", bs[i].usable);
        cJSON_AddStringToObject(b, bs[i].usable ? "note" : "reason",
                                bs[i].note ? bs[i].note : "");
        cJSON_AddItemToArray(backends, b);
    }
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        if (!cmp_row_shown(bs, n, r))
            continue;
        cJSON *row = cJSON_CreateObject(), *values = cJSON_CreateObject(),
              *evidence = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "section", cmp_rows[r].section);
        cJSON_AddStringToObject(row, "row", cmp_rows[r].label);
        cJSON_AddStringToObject(row, "key", cmp_rows[r].key);
        for (size_t i = 0; i < n; i++) {
            const char *v = cmp_value(&bs[i], r), *e = bs[i].cells[r].evidence;
            if (v)
                cJSON_AddStringToObject(values, bs[i].name, v);
            else
                cJSON_AddNullToObject(values, bs[i].name);
            if (e)
                cJSON_AddStringToObject(evidence, bs[i].name, e);
            else
                cJSON_AddNullToObject(evidence, bs[i].name);
        }
        cJSON_AddItemToObject(row, "values", values);
        cJSON_AddItemToObject(row, "evidence", evidence);
        cJSON_AddItemToArray(rows, row);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return -1;
    fprintf(fp, "%s\n", text);
    cJSON_free(text);
    return 0;
}

static void cmp_csv(FILE *fp, const char *s, const char *after)
{
    fputc('"', fp);
    for (; s && *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
    fputs(after, fp);
}

/* Long form, one line per row and backend, so the evidence fits. */
static void cmp_print_csv(FILE *fp, const cmp_backend *bs, size_t n)
{
    fprintf(fp, "section,row,key,backend,value,evidence\n");
    for (int r = 0; r < CMP_ROW_COUNT; r++) {
        if (!cmp_row_shown(bs, n, r))
            continue;
        for (size_t i = 0; i < n; i++) {
            const char *v = cmp_value(&bs[i], r);
            cmp_csv(fp, cmp_rows[r].section, ",");
            cmp_csv(fp, cmp_rows[r].label, ",");
            cmp_csv(fp, cmp_rows[r].key, ",");
            cmp_csv(fp, bs[i].name, ",");
            cmp_csv(fp, v ? v : "", ",");
            cmp_csv(fp, bs[i].cells[r].evidence, "\n");
        }
    }
}

int cmp_print(FILE *fp, const cmp_options *o, cmp_backend *bs, size_t n)
{
    switch (o->format) {
    case CMP_FORMAT_TABLE: cmp_print_table(fp, bs, n); return 0;
    case CMP_FORMAT_MARKDOWN: cmp_print_markdown(fp, bs, n); return 0;
    case CMP_FORMAT_JSON: return cmp_print_json(fp, o, bs, n);
    case CMP_FORMAT_CSV: cmp_print_csv(fp, bs, n); return 0;
    }
    return -1;
}
