/* line_editor.h over libedit's readline-compatible callback interface:
 * the repl's one poll() loop waits for keys and signals alike, and hands
 * libedit the keys as they come. */
#include <editline/readline.h>

#include "line_editor.h"

static void le_start(FILE *out)
{
    rl_catch_signals = 0;
    rl_outstream = out;
    using_history();
}

static void le_prompt(const char *prompt, void (*on_line)(char *line))
{
    rl_callback_handler_install(prompt, on_line);
}

static void le_cancel(void)
{
    rl_callback_handler_remove();
}

static void le_feed(void)
{
    rl_callback_read_char();
}

static void le_remember(const char *text)
{
    add_history(text);
}

__attribute__((visibility("default")))
const line_editor runbox_line_editor = {le_start, le_prompt, le_cancel, le_feed,
                                        le_remember};
