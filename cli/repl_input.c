/* When is the text typed into `runbox repl` a whole piece of code? Decided
 * here, in C, with one simple rule (documented in `runbox repl --help`),
 * rather than by asking the sandbox's interpreter: a round trip per line
 * would make typing as slow as the backend, and the rule must also hold
 * for a backend without a resident interpreter.
 *
 * Brackets, quotes and '#' comments are tracked as Python's tokenizer
 * would, closely enough: strings may hold brackets and ':' and a comment
 * may hold anything. */
#include <string.h>

#include "cli.h"

int cli_repl_incomplete(const char *text)
{
    int depth = 0, block = 0;
    char quote = 0;  /* inside a string opened by this quote */
    int triple = 0;  /* ... that is triple-quoted */
    int line_start = 1;
    char last = 0;   /* last significant character of the current line */
    int blank = 1;   /* the current line holds only white space */
    for (const char *p = text; *p; p++) {
        char c = *p;
        if (c == '\n') {
            if (!quote && depth == 0 && last == ':')
                block = 1;
            if (quote && !triple)
                quote = 0; /* an unterminated string: Python will say so */
            line_start = 1;
            blank = 1;
            if (!quote)
                last = 0;
            continue;
        }
        if (c != ' ' && c != '\t' && c != '\r')
            blank = 0;
        if (quote) {
            if (c == '\\' && p[1]) {
                p++;
                if (*p == '\n')
                    line_start = 1;
                continue;
            }
            if (c == quote && (!triple || (p[1] == quote && p[2] == quote))) {
                p += triple ? 2 : 0;
                quote = 0;
                last = c;
            }
            continue;
        }
        if (line_start && c == '@' && depth == 0)
            block = 1; /* a decorator: the definition follows */
        if (c != ' ' && c != '\t')
            line_start = 0;
        switch (c) {
        case '#':
            while (p[1] && p[1] != '\n')
                p++;
            continue;
        case '\'':
        case '"':
            quote = c;
            triple = p[1] == c && p[2] == c;
            p += triple ? 2 : 0;
            break;
        case '(': case '[': case '{': depth++; break;
        case ')': case ']': case '}': if (depth) depth--; break;
        default: break;
        }
        if (c != ' ' && c != '\t' && c != '\r')
            last = c;
    }
    /* The last line has no '\n' yet. */
    if (quote && triple)
        return 1;
    if (depth > 0 || last == '\\')
        return 1;
    if (!quote && last == ':')
        return 1;
    return block && !blank;
}
