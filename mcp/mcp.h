/*
 * mcp.h — the pieces of `runbox mcp`, the python_executor tool server that
 * speaks the Model Context Protocol (JSON-RPC 2.0) on standard input and
 * output (one message per line) or over Streamable HTTP.
 *
 * Layers, from the wire inwards:
 *   mcp_line.c      bounded line reader (a huge line is dropped as it
 *                   streams in, never held whole; its ends are kept so
 *                   that its id can still be answered)
 *   mcp_jsonrpc.c   parses and validates one message, builds responses;
 *                   pure
 *   mcp_protocol.c  lifecycle and method routing (initialize, ping,
 *                   tools/list, errors); pure, the backend's facts come
 *                   through a callback
 *   mcp_schemas.c   the tool definitions, their JSON Schemas and the
 *                   instructions, generated from the backend's facts
 *   mcp_text.c      the text a model reads for a result, within a limit
 *   mcp_runtime.c   the backend context (opened on first use), its facts,
 *                   and the named sessions (idle ones closed, the oldest
 *                   evicted)
 *   mcp_tools.c     execute_code, install_package, get_environment,
 *                   close_session
 *   mcp_engine.c    tool calls on worker threads: progress, cancellation,
 *                   shutdown; one engine for every transport
 *   mcp_server.c    mcp_server_main and the stdio transport
 *   mcp_http.c      the Streamable HTTP transport (libmicrohttpd)
 *
 * Everything returning char * or cJSON * hands ownership to the caller
 * (free() / cJSON_Delete()) unless it says "borrowed".
 */
#ifndef RUNBOX_MCP_H
#define RUNBOX_MCP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "runbox/runbox.h"
/* RUNBOX_CAP_* names (runbox_context_capabilities returns these bits). */
#include "runbox/backend.h"

#define MCP_SERVER_NAME "python_executor"
/* Longest accepted message; a longer one is answered with an error. */
#define MCP_MAX_LINE (16u * 1024 * 1024)
/* The smallest text limit honoured (mcp_text_limit below it is raised):
 * the error, exit status and verdict need room. */
#define MCP_MIN_TEXT 1000u
/* Sessions each hold a sandbox (a container, a VM): at most this many are
 * open at once; opening one more closes the least recently used. */
#define MCP_MAX_SESSIONS 16

/* JSON-RPC 2.0 error codes used by MCP. */
enum {
    MCP_PARSE_ERROR = -32700,
    MCP_INVALID_REQUEST = -32600,
    MCP_METHOD_NOT_FOUND = -32601,
    MCP_INVALID_PARAMS = -32602,
    MCP_INTERNAL_ERROR = -32603
};

/* ------------------------------------------------------------------ */
/* mcp_line.c                                                          */
/* ------------------------------------------------------------------ */
typedef enum mcp_line_status {
    MCP_LINE_NONE = 0,    /* no complete line buffered: fill again */
    MCP_LINE_OK = 1,      /* *line holds one line without its newline */
    MCP_LINE_TOO_LONG = 2 /* a line over the limit was dropped entirely;
                             mcp_line_dropped gives its two ends */
} mcp_line_status;

/* How much of each end of a dropped line is kept: enough for an id
 * written before or after a huge "params". */
#define MCP_LINE_KEEP 4096

/* Reads newline-separated lines from a file descriptor. The buffer never
 * grows past about twice max, whatever the input: a longer line is dropped
 * as it streams in. Not thread-safe. */
typedef struct mcp_line_reader {
    int fd;
    size_t max;      /* longest line kept */
    char *buf;
    size_t len;      /* bytes buffered */
    size_t cap;
    size_t scanned;  /* bytes of buf known to hold no newline */
    size_t handed;   /* bytes of the line last returned, dropped next */
    int discarding;  /* inside an over-long line: drop until newline */
    int eof;
    /* The ends of the line being (or last) dropped. */
    char head[MCP_LINE_KEEP];
    size_t head_len;
    char tail[MCP_LINE_KEEP];
    size_t tail_len;
} mcp_line_reader;

void mcp_line_init(mcp_line_reader *r, int fd, size_t max);
void mcp_line_free(mcp_line_reader *r);
/* One read(2) into the buffer. Returns the byte count, 0 at end of input,
 * -1 with errno on error (EINTR and EAGAIN included). */
long mcp_line_fill(mcp_line_reader *r);
/* The next buffered line. *line is borrowed until the next call; it is
 * NUL-terminated and has no trailing "\n" or "\r\n". After end of input a
 * last unterminated line is returned too. A line over the limit is
 * reported once, when its end has been read (or input ended). */
mcp_line_status mcp_line_next(mcp_line_reader *r, const char **line,
                              size_t *len);
/* The first and last bytes (up to MCP_LINE_KEEP each) of the line last
 * reported as MCP_LINE_TOO_LONG. Borrowed until the next mcp_line_next. */
void mcp_line_dropped(const mcp_line_reader *r, const char **head,
                      size_t *head_len, const char **tail, size_t *tail_len);

/* ------------------------------------------------------------------ */
/* mcp_jsonrpc.c (no state: every function is thread-safe)            */
/* ------------------------------------------------------------------ */
typedef enum mcp_message_kind {
    MCP_MSG_REQUEST,      /* method and id */
    MCP_MSG_NOTIFICATION, /* method, no id: never answered */
    MCP_MSG_RESPONSE      /* result or error: the peer answering us */
} mcp_message_kind;

/* One validated message. root is owned; id, method and params are
 * borrowed from it. params is NULL when absent, else an object or an
 * array (a known method rejects an array with MCP_INVALID_PARAMS).
 * has_nul is set when a string held \u0000, which C strings cannot carry:
 * the string was cut there, so whoever uses it must refuse it. */
typedef struct mcp_message {
    mcp_message_kind kind;
    cJSON *root;
    const cJSON *id;
    const char *method;
    const cJSON *params;
    int has_nul;
} mcp_message;

/* Parses and validates one message. Returns 0 and fills msg (release with
 * mcp_message_clear), or -1 and sets *error_line to the error response to
 * send, or to NULL when nothing may be answered (a broken notification).
 * The error carries the message's id whenever one can be read, even from
 * text that is not valid JSON or not UTF-8, so that no client waits
 * forever; without one the id is left out (never "id": null):
 *   MCP_PARSE_ERROR     not JSON, or no readable id;
 *   MCP_INVALID_REQUEST not an object, a batch array, wrong "jsonrpc",
 *                       a bad id, a method that is not a string;
 *   MCP_INVALID_PARAMS  a readable request whose strings are not valid
 *                       UTF-8 or hold a lone UTF-16 surrogate.
 * *error_line is NULL too when the memory for it could not be had. */
int mcp_jsonrpc_parse(mcp_message *msg, const char *line, size_t len,
                      char **error_line);
void mcp_message_clear(mcp_message *msg);
/* The error line for a message over MCP_MAX_LINE given its two ends (see
 * mcp_line_dropped): MCP_INVALID_REQUEST with the id when one of the ends
 * shows the top-level id, else MCP_PARSE_ERROR without id. */
char *mcp_jsonrpc_too_long(const char *head, size_t head_len,
                           const char *tail, size_t tail_len, size_t max);

/* One-line messages (no newline). id NULL leaves "id" out (an error
 * about a message whose id could not be read). result and params are
 * consumed, even on failure. NULL when out of memory. */
char *mcp_jsonrpc_result(const cJSON *id, cJSON *result);
char *mcp_jsonrpc_error(const cJSON *id, int code, const char *message);
char *mcp_jsonrpc_notification(const char *method, cJSON *params);

/* An id in a form that compares equal exactly when two ids are the same
 * JSON value (1 and "1" differ). Caller-owned, NULL when out of memory. */
char *mcp_jsonrpc_id_key(const cJSON *id);

/* Non-zero when s[0..len) is well-formed UTF-8 (no overlongs, no
 * surrogates). */
int mcp_utf8_valid(const char *s, size_t len);
/* The longest prefix of the UTF-8 text s[0..len) that is at most max
 * bytes and does not split a character. */
size_t mcp_utf8_prefix(const char *s, size_t len, size_t max);
/* Where a suffix of s[0..len) of at most max bytes starts without
 * splitting a character. */
size_t mcp_utf8_suffix_start(const char *s, size_t len, size_t max);

/* ------------------------------------------------------------------ */
/* mcp_text.c                                                          */
/* ------------------------------------------------------------------ */
/* A growable text buffer; after an allocation failure failed is set and
 * further additions are ignored. Release data with free(). */
typedef struct mcp_text {
    char *data;
    size_t len, cap;
    int failed;
} mcp_text;

void mcp_text_add(mcp_text *t, const char *s, size_t n);
/* Adds a string literal. */
#define mcp_text_lit(t, lit) mcp_text_add((t), "" lit, sizeof(lit) - 1)
void mcp_text_addf(mcp_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds s with every invalid UTF-8 sequence and every NUL replaced by
 * U+FFFD, so that it can travel as a JSON string. */
void mcp_text_add_utf8(mcp_text *t, const char *s, size_t n);
/* Makes every string (and key) in the tree valid UTF-8: sandbox output is
 * untrusted, and one bad byte would make the whole response invalid. */
void mcp_json_repair_strings(cJSON *node);
/* The text a model reads for a run: preface (may be NULL), then stdout,
 * stderr and the main value ("Out: ..."), each cut in its middle when too
 * long with the original byte counts stated, then, always whole and at
 * the end, the error (name, value, traceback), the exit code or the
 * signal's name, and the verdict. At most limit bytes of valid UTF-8
 * (limit is raised to MCP_MIN_TEXT). */
void mcp_text_for_model(mcp_text *t, const char *preface,
                        const runbox_result *r, size_t limit);
/* s made valid UTF-8 and cut in the middle to at most limit bytes,
 * saying how much was left out. */
void mcp_text_trimmed(mcp_text *t, const char *s, size_t n, size_t limit);

/* ------------------------------------------------------------------ */
/* mcp_runtime.c / mcp_schemas.c: the facts tools are described from   */
/* ------------------------------------------------------------------ */
/* What the server knows about its backend and settings. */
typedef struct mcp_facts {
    int available;      /* the backend opened; the rest below is known */
    char backend[32];
    char error[RUNBOX_MESSAGE_SIZE]; /* why not available */
    uint64_t caps;      /* RUNBOX_CAP_* */
    const char *const *languages; /* borrowed from the open context */
    int network;        /* the sandboxes reach the network */
    double timeout;     /* default per call, seconds */
    double max_timeout; /* the largest a call may ask for */
    double session_idle; /* seconds before an unused session closes; 0 never */
    int max_sessions;
} mcp_facts;

/* ------------------------------------------------------------------ */
/* mcp_schemas.c                                                       */
/* ------------------------------------------------------------------ */
/* The tools/list entry for every tool: an array of Tool objects whose
 * descriptions, language enum, timeout maximum and annotations follow
 * facts (f NULL: nothing known about the backend). */
cJSON *mcp_schemas_tools(const mcp_facts *f);
/* The initialize result's instructions. Caller frees. */
char *mcp_schemas_instructions(const mcp_facts *f);
/* Non-zero when name is one of the tools. */
int mcp_schemas_known(const char *name);

/* ------------------------------------------------------------------ */
/* mcp_protocol.c                                                      */
/* ------------------------------------------------------------------ */
/* Fills f with the backend's facts (opening it when needed). */
typedef void (*mcp_facts_fn)(void *userdata, mcp_facts *f);

/* Lifecycle state of one connection (one stdio peer or one HTTP
 * session). Used by one thread at a time. */
typedef struct mcp_protocol {
    int initialized;
    char version[16];   /* the negotiated protocol version */
    mcp_facts_fn facts; /* NULL: nothing known about the backend */
    void *facts_userdata;
} mcp_protocol;

typedef enum mcp_route {
    MCP_ROUTE_DONE,      /* answered in *reply (or nothing to answer) */
    MCP_ROUTE_TOOL_CALL, /* a valid tools/call: the server runs it */
    MCP_ROUTE_CANCEL     /* notifications/cancelled with a valid requestId */
} mcp_route;

/* The protocol versions spoken, newest first, NULL-terminated. */
extern const char *const mcp_protocol_versions[];
/* Non-zero when version is one of them. */
int mcp_protocol_supported(const char *version);

void mcp_protocol_init(mcp_protocol *p);
/* Handles one message. *reply is the line to send, or NULL. For
 * MCP_ROUTE_TOOL_CALL the params hold a known tool name and arguments
 * that are absent or an object; for MCP_ROUTE_CANCEL a requestId that is
 * a string or a number. */
mcp_route mcp_protocol_handle(mcp_protocol *p, const mcp_message *m,
                              char **reply);

/* ------------------------------------------------------------------ */
/* mcp_runtime.c                                                       */
/* ------------------------------------------------------------------ */
/* The backend side of the server: one context, opened on first use, and
 * the sessions by owner and name. Thread-safe. A reaper thread closes
 * sessions unused for session_idle seconds. */
typedef struct mcp_runtime mcp_runtime;

/* Takes cfg (which may be NULL when config_error says why loading
 * failed; every tool call then reports config_error). NULL on ENOMEM. */
mcp_runtime *mcp_runtime_new(runbox_config *cfg, const char *config_error);
/* Closes every session, then the context. No call may be running. */
void mcp_runtime_free(mcp_runtime *rt);
/* The context, opening the backend on first use. On failure returns the
 * status and writes why into msg. */
int mcp_runtime_context(mcp_runtime *rt, runbox_context **ctx, char *msg,
                        size_t size);
/* The facts (opens the backend; on failure f->available is 0 and
 * f->error says why). Suits mcp_facts_fn with the runtime as userdata. */
void mcp_runtime_facts(void *rt, mcp_facts *f);
/* The text limit (mcp_text_limit, at least MCP_MIN_TEXT). */
size_t mcp_runtime_text_limit(mcp_runtime *rt);

/* A session held by one call: unlock it with mcp_runtime_session_release. */
typedef struct mcp_session_ref mcp_session_ref;
/* Locks owner's session called name, opening it when new. owner keeps
 * the sessions of HTTP clients apart ("" for stdio). Waits while another
 * call uses it, until *cancel becomes non-zero (RUNBOX_ECANCELED). When
 * MCP_MAX_SESSIONS are open, the least recently used idle one is closed
 * first. *note (a static string or "") tells why a name that was used
 * before starts afresh (closed when idle, evicted). Errors (status + msg):
 * RUNBOX_EINVAL for a bad name, RUNBOX_EUNAVAILABLE when every session is
 * busy, what opening the backend or the session returned. */
int mcp_runtime_session_acquire(mcp_runtime *rt, const char *owner,
                                const char *name, const volatile int *cancel,
                                mcp_session_ref **ref, const char **note,
                                char *msg, size_t size);
/* Borrowed session of a held ref. */
runbox_session *mcp_session_ref_session(mcp_session_ref *ref);
/* Unlocks; with discard the sandbox is closed, so the next use starts a
 * fresh one (for a session whose sandbox is gone). */
void mcp_runtime_session_release(mcp_runtime *rt, mcp_session_ref *ref,
                                 int discard);
/* Closes owner's session name (waiting for a call using it, until
 * *cancel). RUNBOX_ENOTFOUND when no such session is open. */
int mcp_runtime_session_close(mcp_runtime *rt, const char *owner,
                              const char *name, const volatile int *cancel,
                              char *msg, size_t size);
/* Closes every session of owner (an HTTP session that ended). */
void mcp_runtime_close_owner(mcp_runtime *rt, const char *owner);
/* Closes sessions idle for longer than session_idle; returns how many.
 * The reaper thread calls it; exposed for tests. */
int mcp_runtime_reap_idle(mcp_runtime *rt);

/* ------------------------------------------------------------------ */
/* mcp_tools.c                                                         */
/* ------------------------------------------------------------------ */
/* What one tools/call needs besides its arguments. on_output, when set,
 * sees the code's output as it comes (see runbox_output_cb). */
typedef struct mcp_tool_env {
    mcp_runtime *rt;
    const char *owner;  /* whose sessions ("" for stdio) */
    const volatile int *cancel;
    runbox_output_cb on_output;
    void *userdata;
    int has_nul;        /* the request held \u0000 (see mcp_message) */
} mcp_tool_env;

/* Runs tool name (known: mcp_schemas_known) with arguments (an object or
 * NULL) and returns the CallToolResult object. Problems with the
 * arguments, the code or the backend are results with isError true.
 * NULL only when out of memory. Thread-safe: each call runs on its own
 * thread, calls on one session wait for each other. */
cJSON *mcp_tools_call(const mcp_tool_env *env, const char *name,
                      const cJSON *arguments);

/* ------------------------------------------------------------------ */
/* mcp_engine.c                                                        */
/* ------------------------------------------------------------------ */
/* Where the messages of one call go: send takes a whole message (no
 * newline) and frees it; close says the call's last message was sent.
 * Both may run on any thread. */
typedef struct mcp_sink {
    void (*send)(void *userdata, char *line);
    void (*close)(void *userdata);
    void *userdata;
} mcp_sink;

/* Runs tool calls on worker threads, sends progress for those that ask
 * (at least once a second, more often while output flows; none after the
 * call was cancelled or answered), cancels on request and at shutdown.
 * Thread-safe. */
typedef struct mcp_engine mcp_engine;

/* NULL on ENOMEM. rt is borrowed. */
mcp_engine *mcp_engine_new(mcp_runtime *rt);
/* Starts the call of m (routed MCP_ROUTE_TOOL_CALL) for owner; takes
 * m->root. Every message of the call goes to sink, then sink.close runs
 * (also when the call is refused at once, or is cancelled and so never
 * answered). */
void mcp_engine_start(mcp_engine *e, const char *owner, mcp_message *m,
                      mcp_sink sink);
/* notifications/cancelled for owner's request (m routed MCP_ROUTE_CANCEL):
 * the run stops and the call sends nothing more. */
void mcp_engine_cancel(mcp_engine *e, const char *owner,
                       const mcp_message *m);
/* Cancels every call of owner ("" included only when asked for by name). */
void mcp_engine_cancel_owner(mcp_engine *e, const char *owner);
/* Cancels every call and waits until each has answered (verdict
 * canceled) and closed its sink. New calls may still start. */
void mcp_engine_drain(mcp_engine *e);
/* Drains, then frees the engine. */
void mcp_engine_free(mcp_engine *e);

/* ------------------------------------------------------------------ */
/* mcp_http.c                                                          */
/* ------------------------------------------------------------------ */
typedef struct mcp_http_options {
    const char *address;   /* "127.0.0.1:8080", "[::1]:8080", "localhost:0" */
    const char *token;     /* required bearer token; NULL: no auth */
    const char *const *origins; /* extra allowed Origin values, NULL-ended */
    const char *port_file; /* when set, the bound port is written there */
} mcp_http_options;

/* Serves MCP over Streamable HTTP at /mcp until wake_fd becomes readable
 * (the signal handler writes to it), then ends every MCP session and
 * returns 0; or prints why it cannot listen and returns -1. */
int mcp_http_serve(mcp_engine *e, mcp_runtime *rt,
                   const mcp_http_options *opt, int wake_fd);

#endif
