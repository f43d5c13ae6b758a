/* Status codes, their names and the per-thread last error message. */
#include <stdio.h>

#include "internal.h"

/* libgit2-style: the message lives per thread, so concurrent failing calls
 * on different threads never see each other's text. */
static _Thread_local char rb_last_error[1024];

static const struct {
    int status;
    const char *name;
    const char *text;
} rb_statuses[] = {
    {RUNBOX_OK, "OK", "success"},
    {RUNBOX_EINVAL, "EINVAL", "invalid argument"},
    {RUNBOX_ENOMEM, "ENOMEM", "out of memory"},
    {RUNBOX_ECONFIG, "ECONFIG", "bad configuration"},
    {RUNBOX_ENOTFOUND, "ENOTFOUND", "not found"},
    {RUNBOX_EABI, "EABI", "backend ABI mismatch"},
    {RUNBOX_EUNSUPPORTED, "EUNSUPPORTED", "not supported by this backend"},
    {RUNBOX_EBACKEND, "EBACKEND", "backend failure"},
    {RUNBOX_EUNAVAILABLE, "EUNAVAILABLE", "backend unavailable (retryable)"},
    {RUNBOX_EAUTH, "EAUTH", "credentials missing or rejected"},
    {RUNBOX_ETIMEOUT, "ETIMEOUT", "request timed out"},
    {RUNBOX_EGONE, "EGONE", "sandbox is gone"},
    {RUNBOX_ECANCELED, "ECANCELED", "cancelled"},
    {RUNBOX_EIO, "EIO", "input/output error"},
    {RUNBOX_EPROTO, "EPROTO", "malformed response from the backend"},
    {RUNBOX_EDENIED, "EDENIED", "refused by policy"},
};

RUNBOX_API const char *runbox_strerror(int status)
{
    for (size_t i = 0; i < sizeof rb_statuses / sizeof rb_statuses[0]; i++)
        if (rb_statuses[i].status == status)
            return rb_statuses[i].text;
    return "unknown error";
}

RUNBOX_API const char *runbox_err_name(int status)
{
    for (size_t i = 0; i < sizeof rb_statuses / sizeof rb_statuses[0]; i++)
        if (rb_statuses[i].status == status)
            return rb_statuses[i].name;
    return "EUNKNOWN";
}

RUNBOX_API const char *runbox_error_last(void) { return rb_last_error; }

void rb_error_clear(void) { rb_last_error[0] = '\0'; }

int rb_vfail(int status, const char *fmt, va_list ap)
{
    /* Format into a scratch buffer first: callers may pass the current
     * message as an argument to wrap it. */
    char tmp[sizeof rb_last_error];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    snprintf(rb_last_error, sizeof rb_last_error, "%s", tmp);
    return status;
}

int rb_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rb_vfail(status, fmt, ap);
    va_end(ap);
    return status;
}
