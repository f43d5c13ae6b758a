/* Helpers shared by runbox's C tests. */
#ifndef RUNBOX_TESTUTIL_H
#define RUNBOX_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runbox/runbox.h"

/* A fresh private directory under /tmp; caller frees the string and may
 * remove the tree with tu_rmtree. */
char *tu_tmpdir(void);
void tu_rmtree(const char *dir);
/* Writes text to dir/name (name may be absolute when dir is NULL). */
void tu_write(const char *dir, const char *name, const char *text);
/* A config with defaults, then each "key=value" pair set as a flag. */
runbox_config *tu_config(const char *first, ...);
/* Context for backend with optional "key=value" flag pairs. */
runbox_context *tu_context(const char *backend, ...);
/* Runs python code one-shot in ctx; returns the call's status. */
int tu_run(runbox_context *ctx, const char *code, runbox_result *r);
/* Does s contain needle? (NULL-safe) */
int tu_contains(const char *s, const char *needle);
/* Is CI=true in the environment (skips become failures)? */
int tu_in_ci(void);

#endif
