/* The [e2b] settings as runbox documents and checks them (`runbox backends
 * --settings e2b`). Defaults are the ones e2b_open falls back to. */
#include "e2b_internal.h"

const runbox_setting e2b_settings[] = {
    {"api_key", RUNBOX_SETTING_STRING, NULL, 1,
     "E2B API key (E2B_API_KEY); never shown, never passed to code"},
    {"domain", RUNBOX_SETTING_STRING, "e2b.app", 0,
     "E2B domain; the API is https://api.<domain> (E2B_DOMAIN)"},
    {"api_url", RUNBOX_SETTING_STRING, NULL, 0,
     "API base URL, overrides the domain (E2B_API_URL)"},
    {"sandbox_url", RUNBOX_SETTING_STRING, NULL, 0,
     "sandbox base URL, for a self-hosted or test server (E2B_SANDBOX_URL)"},
    {"template", RUNBOX_SETTING_STRING, "code-interpreter-v1", 0,
     "sandbox template the code runs in"},
    {"sandbox_timeout", RUNBOX_SETTING_COUNT, NULL, 0,
     "a session's lifetime after its last use, seconds, 1..86400 "
     "(unset: E2B's 300); while a run goes on, its timeout + 30 s"},
    {"request_timeout", RUNBOX_SETTING_STRING, "60", 0,
     "seconds per HTTP request, a number in 0.1..3600"},
    {NULL, RUNBOX_SETTING_STRING, NULL, 0, NULL}};
