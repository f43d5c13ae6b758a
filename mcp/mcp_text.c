/* The text a model reads (see mcp.h). A model sees only this text, and
 * reads its end most carefully: so whatever happens to the output, the
 * error, the exit status and the verdict are kept whole and last, and the
 * streams give way, trimmed in their middle (a program's first and last
 * lines say the most), with the original byte counts stated. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

void mcp_text_add(mcp_text *t, const char *s, size_t n)
{
    if (t->failed || n == 0)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->data, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->data = p;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void mcp_text_addf(mcp_text *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        mcp_text_add(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void mcp_text_add_utf8(mcp_text *t, const char *s, size_t n)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && (unsigned char)s[run] < 0x80 && s[run] != '\0')
            run++;
        mcp_text_add(t, s + i, run - i);
        i = run;
        if (i >= n)
            break;
        size_t len = (unsigned char)s[i] >= 0xF0 ? 4
                     : (unsigned char)s[i] >= 0xE0 ? 3 : 2;
        if (s[i] != '\0' && i + len <= n && mcp_utf8_valid(s + i, len)) {
            mcp_text_add(t, s + i, len);
            i += len;
        } else {
            mcp_text_add(t, replacement, 3);
            i++;
        }
    }
}

void mcp_json_repair_strings(cJSON *node)
{
    for (; node; node = node->next) {
        if (cJSON_IsString(node) && node->valuestring &&
            !mcp_utf8_valid(node->valuestring, strlen(node->valuestring))) {
            mcp_text t = {0};
            mcp_text_add_utf8(&t, node->valuestring, strlen(node->valuestring));
            if (t.data)
                cJSON_SetValuestring(node, t.data);
            free(t.data);
        }
        if (node->string && !mcp_utf8_valid(node->string, strlen(node->string))) {
            mcp_text t = {0};
            mcp_text_add_utf8(&t, node->string, strlen(node->string));
            if (t.data && !(node->type & cJSON_StringIsConst)) {
                free(node->string);
                node->string = t.data;
                t.data = NULL;
            }
            free(t.data);
        }
        mcp_json_repair_strings(node->child);
    }
}

/* s repaired to valid UTF-8 (a new buffer). */
static mcp_text mcp_repaired(const char *s, size_t n)
{
    mcp_text t = {0};
    mcp_text_add_utf8(&t, s ? s : "", s ? n : 0);
    return t;
}

/* Appends the valid UTF-8 text s, keeping its first and last parts when it
 * is longer than limit, with a line saying how much was left out. */
static void mcp_add_cut(mcp_text *t, const char *s, size_t n, size_t limit)
{
    if (n <= limit) {
        mcp_text_add(t, s, n);
        return;
    }
    char mark[128];
    int m = snprintf(mark, sizeof mark, "\n[... %zu bytes left out here ...]\n",
                     n);
    size_t room = limit > (size_t)m + 16 ? limit - (size_t)m - 16 : 0;
    size_t head = mcp_utf8_prefix(s, n, room * 2 / 5);
    size_t tail = mcp_utf8_suffix_start(s, n, room - head);
    m = snprintf(mark, sizeof mark, "\n[... %zu bytes left out here ...]\n",
                 tail - head);
    mcp_text_add(t, s, head);
    mcp_text_add(t, mark, (size_t)m);
    mcp_text_add(t, s + tail, n - tail);
}

void mcp_text_trimmed(mcp_text *t, const char *s, size_t n, size_t limit)
{
    mcp_text r = mcp_repaired(s, n);
    if (r.failed)
        t->failed = 1;
    else
        mcp_add_cut(t, r.data ? r.data : "", r.len, limit);
    free(r.data);
}

static void mcp_newline(mcp_text *t)
{
    if (t->len && t->data[t->len - 1] != '\n')
        mcp_text_lit(t, "\n");
}

/* The main text/plain value, or NULL. */
static const runbox_rich *mcp_main_value(const runbox_result *r)
{
    for (size_t i = 0; i < r->rich_count; i++)
        if (r->rich[i].is_main && r->rich[i].mime &&
            !strcmp(r->rich[i].mime, "text/plain"))
            return &r->rich[i];
    return NULL;
}

/* One stream: whole, or cut to budget with a header giving the counts.
 * stdout has no header when it is shown whole. */
static void mcp_stream(mcp_text *t, const char *label, const mcp_text *s,
                       const runbox_output *o, size_t budget)
{
    if (s->len == 0 && o->total == 0)
        return;
    mcp_newline(t);
    int cut = s->len > budget;
    if (cut || o->truncated) {
        mcp_text_addf(t, "--- %s: %llu bytes written", label,
                      (unsigned long long)(o->truncated ? o->total : o->len));
        if (o->truncated)
            mcp_text_addf(t, ", the first %zu kept by the output limit", o->len);
        if (cut)
            mcp_text_lit(t, ", middle left out below ---\n");
        else
            mcp_text_lit(t, " ---\n");
    } else if (strcmp(label, "stdout")) {
        mcp_text_addf(t, "--- %s ---\n", label);
    }
    mcp_add_cut(t, s->data ? s->data : "", s->len, budget);
}

/* The part that is always kept: error, exit status, verdict. */
static void mcp_ending(mcp_text *t, const runbox_result *r, int traceback,
                       size_t limit)
{
    if (r->error_name) {
        mcp_newline(t);
        mcp_text_lit(t, "--- error ---\n");
        if (traceback && r->traceback && *r->traceback) {
            /* A traceback's end names the failing line: keep that. */
            mcp_text_trimmed(t, r->traceback, strlen(r->traceback), limit / 4);
            mcp_newline(t);
        }
        mcp_text_trimmed(t, r->error_name, strlen(r->error_name), 200);
        mcp_text_lit(t, ": ");
        if (r->error_value)
            mcp_text_trimmed(t, r->error_value, strlen(r->error_value), limit / 8);
        mcp_text_lit(t, "\n");
    }
    if (r->signal > 0) {
        const char *abbrev = sigabbrev_np(r->signal);
        mcp_newline(t);
        mcp_text_addf(t, "--- killed by signal %d (SIG%s) ---\n", r->signal,
                      abbrev ? abbrev : "?");
    } else if (r->exit_code > 0) {
        mcp_newline(t);
        mcp_text_addf(t, "--- exit code %d ---\n", r->exit_code);
    }
    if (r->verdict != RUNBOX_VERDICT_OK) {
        mcp_newline(t);
        mcp_text_lit(t, "--- verdict: ");
        mcp_text_add(t, runbox_verdict_name(r->verdict),
                     strlen(runbox_verdict_name(r->verdict)));
        if (r->message[0]) {
            mcp_text_lit(t, ": ");
            mcp_text_trimmed(t, r->message, strlen(r->message), 600);
        }
        mcp_text_lit(t, " ---\n");
    }
}

/* Splits room between two streams: each gets what it needs when both fit,
 * else the smaller keeps what it needs up to half and the other the rest. */
static void mcp_split(size_t room, size_t a, size_t b, size_t *ga, size_t *gb)
{
    if (a + b <= room) {
        *ga = a;
        *gb = b;
    } else if (a <= room / 2) {
        *ga = a;
        *gb = room - a;
    } else if (b <= room / 2) {
        *gb = b;
        *ga = room - b;
    } else {
        *ga = room / 2;
        *gb = room - room / 2;
    }
}

void mcp_text_for_model(mcp_text *t, const char *preface,
                        const runbox_result *r, size_t limit)
{
    if (limit < MCP_MIN_TEXT)
        limit = MCP_MIN_TEXT;
    mcp_text out = mcp_repaired(r->out.data, r->out.len);
    mcp_text err = mcp_repaired(r->err.data, r->err.len);
    const runbox_rich *main = mcp_main_value(r);
    mcp_text value = main ? mcp_repaired(main->data, main->len) : (mcp_text){0};

    /* Python prints the traceback to stderr on most backends: repeat it in
     * the ending only when stderr cannot be shown whole. */
    int tb_in_err = r->traceback && *r->traceback && err.data &&
                    strstr(err.data, r->traceback);
    mcp_text ending = {0};
    mcp_ending(&ending, r, !tb_in_err, limit);
    size_t fixed = (preface ? strlen(preface) : 0) + ending.len + 400;
    if (tb_in_err && fixed + out.len + err.len + value.len > limit) {
        free(ending.data);
        ending = (mcp_text){0};
        mcp_ending(&ending, r, 1, limit);
        fixed = (preface ? strlen(preface) : 0) + ending.len + 400;
    }
    size_t room = limit > fixed ? limit - fixed : 0;
    size_t value_room = value.len < room / 4 ? value.len : room / 4;
    room -= value_room;
    size_t out_room, err_room;
    mcp_split(room, out.len, err.len, &out_room, &err_room);

    if (preface)
        mcp_text_add(t, preface, strlen(preface));
    mcp_stream(t, "stdout", &out, &r->out, out_room);
    mcp_stream(t, "stderr", &err, &r->err, err_room);
    if (main) {
        mcp_newline(t);
        mcp_text_lit(t, "Out: ");
        mcp_add_cut(t, value.data ? value.data : "", value.len, value_room);
        mcp_text_lit(t, "\n");
    }
    mcp_text_add(t, ending.data, ending.len);
    if (out.failed || err.failed || value.failed || ending.failed)
        t->failed = 1;
    if (t->len == 0)
        mcp_text_lit(t, "(no output)\n");
    free(out.data);
    free(err.data);
    free(value.data);
    free(ending.data);
}
