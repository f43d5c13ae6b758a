/*
 * interp_test_backend.h — what test_interp_session needs to know about the
 * backend under test: how to open it, and how to see, from outside the
 * sandbox, that nothing of a runbox process's sessions is left.
 */
#ifndef RUNBOX_INTERP_TEST_BACKEND_H
#define RUNBOX_INTERP_TEST_BACKEND_H

#include "runbox/runbox.h"

/* A context on backend with the test settings; skips (fails under CI)
 * when the backend cannot work here. */
runbox_context *interp_test_context(const char *backend);
/* Must the sandbox have matplotlib (CI installs it for this backend)? */
int interp_test_needs_matplotlib(const char *backend);
/* Fails unless every sandbox and process of runbox process pid is gone
 * (waiting a few seconds for the backend to finish removing them). */
void interp_test_assert_gone(const char *backend, long pid);

#endif
