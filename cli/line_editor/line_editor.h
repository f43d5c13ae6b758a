/*
 * line_editor.h — the terminal line editor of `runbox repl`: libedit (the
 * BSD-licensed editline library) behind a small table, in a library of its
 * own. The repl loads it with dlopen only when it talks to a terminal, so
 * that no other command loads libedit and its terminal database.
 *
 * Not thread-safe (libedit keeps global state): one repl, one thread.
 */
#ifndef RUNBOX_LINE_EDITOR_H
#define RUNBOX_LINE_EDITOR_H

#include <stdio.h>

typedef struct line_editor {
    /* Before the first prompt: history on, libedit's own signal handling
     * off (the repl has its handlers), prompts and echo to out. */
    void (*start)(FILE *out);
    /* Shows prompt and collects a line from the characters feed reads;
     * on_line then gets it (malloc'd, the caller frees it; NULL at end of
     * input) and the prompt is over. */
    void (*prompt)(const char *prompt, void (*on_line)(char *line));
    /* Ends the prompt, dropping what was typed. */
    void (*cancel)(void);
    /* Reads the characters waiting on stdin (after poll said so). */
    void (*feed)(void);
    /* Adds a whole input to the history (copied). */
    void (*remember)(const char *text);
} line_editor;

/* Found through the command's RUNPATH (the build tree's folder of this
 * library, or the install's lib/runbox/). */
#define LINE_EDITOR_LIBRARY "librunbox-line-editor.so.0"
#define LINE_EDITOR_SYMBOL "runbox_line_editor"

#endif
