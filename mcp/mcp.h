/*
 * mcp.h — the pieces of `runbox mcp`, the python_executor tool server that
 * speaks the Model Context Protocol (JSON-RPC 2.0, one message per line)
 * on standard input and output.
 *
 * Layers, from the wire inwards:
 *   mcp_line.c      bounded line reader (a huge line is dropped as it
 *                   streams in, never held whole)
 *   mcp_jsonrpc.c   parses and validates one line, builds responses; pure
 *   mcp_protocol.c  lifecycle and method routing (initialize, ping,
 *                   tools/list, errors); pure, no backend involved
 *   mcp_schemas.c   the three tool definitions and their JSON Schemas
 *   mcp_runtime.c   the backend context (opened on first use) and the
 *                   named sessions
 *   mcp_tools.c     execute_code, install_package, get_environment
 *   mcp_server.c    mcp_server_main: the read loop, one worker thread per call,
 *                   cancellation, progress, shutdown
 *
 * Everything returning char * or cJSON * hands ownership to the caller
 * (free() / cJSON_Delete()) unless it says "borrowed".
 */
#ifndef RUNBOX_MCP_H
#define RUNBOX_MCP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "runbox/runbox.h"

#define MCP_SERVER_NAME "python_executor"
/* Longest accepted message; a longer line is answered with an error. */
#define MCP_MAX_LINE (16u * 1024 * 1024)
/* Text content of a tool result is cut beyond this, saying so. */
#define MCP_MAX_TEXT (100u * 1024)

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
    MCP_LINE_TOO_LONG = 2 /* a line over the limit was dropped entirely */
} mcp_line_status;

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
} mcp_line_reader;

void mcp_line_init(mcp_line_reader *r, int fd, size_t max);
void mcp_line_free(mcp_line_reader *r);
/* One read(2) into the buffer. Returns the byte count, 0 at end of input,
 * -1 with errno on error (EINTR and EAGAIN included). */
long mcp_line_fill(mcp_line_reader *r);
/* The next buffered line. *line is borrowed until the next call; it is
 * NUL-terminated and has no trailing "\n" or "\r\n". After end of input a
 * last unterminated line is returned too. */
mcp_line_status mcp_line_next(mcp_line_reader *r, const char **line,
                              size_t *len);

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
 * array (a known method rejects an array with MCP_INVALID_PARAMS). */
typedef struct mcp_message {
    mcp_message_kind kind;
    cJSON *root;
    const cJSON *id;
    const char *method;
    const cJSON *params;
} mcp_message;

/* Parses and validates one line. Returns 0 and fills msg (release with
 * mcp_message_clear), or -1 and sets *error_line to the error response to
 * send: MCP_PARSE_ERROR (not JSON, not UTF-8; id null) or
 * MCP_INVALID_REQUEST (not an object, a batch array, wrong "jsonrpc",
 * an id that is not a string or integer, a method that is not a string).
 * *error_line is NULL when the memory for it could not be had. */
int mcp_jsonrpc_parse(mcp_message *msg, const char *line, size_t len,
                      char **error_line);
void mcp_message_clear(mcp_message *msg);

/* One-line messages (no newline). id may be NULL for null. result and
 * params are consumed, even on failure. NULL when out of memory. */
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

/* ------------------------------------------------------------------ */
/* mcp_schemas.c                                                       */
/* ------------------------------------------------------------------ */
/* The tools/list entry for every tool: an array of Tool objects. */
cJSON *mcp_schemas_tools(void);
/* Non-zero when name is one of the tools. */
int mcp_schemas_known(const char *name);

/* ------------------------------------------------------------------ */
/* mcp_protocol.c                                                      */
/* ------------------------------------------------------------------ */
/* Lifecycle state of one connection. Used by the reading thread only. */
typedef struct mcp_protocol {
    int initialized;
    char version[16]; /* the negotiated protocol version */
} mcp_protocol;

typedef enum mcp_route {
    MCP_ROUTE_DONE,      /* answered in *reply (or nothing to answer) */
    MCP_ROUTE_TOOL_CALL, /* a valid tools/call: the server runs it */
    MCP_ROUTE_CANCEL     /* notifications/cancelled with a valid requestId */
} mcp_route;

/* The newest protocol version first. */
extern const char *const mcp_protocol_versions[];

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
 * the sessions by name. Thread-safe. */
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

/* A session held by one call: unlock it with mcp_runtime_session_release. */
typedef struct mcp_session_ref mcp_session_ref;
/* Locks the session called name, opening it when new. Waits while another
 * call uses it, until *cancel becomes non-zero (RUNBOX_ECANCELED).
 * Errors (status + msg):
 * RUNBOX_EINVAL for a bad name, RUNBOX_EUNAVAILABLE when too many
 * sessions are open, what opening the backend or the session returned. */
int mcp_runtime_session_acquire(mcp_runtime *rt, const char *name,
                                const volatile int *cancel,
                                mcp_session_ref **ref, char *msg,
                                size_t size);
/* Borrowed session of a held ref. */
runbox_session *mcp_session_ref_session(mcp_session_ref *ref);
/* Unlocks; with discard the sandbox is closed and the name forgotten, so
 * the next use starts a fresh one (for a session whose sandbox is gone). */
void mcp_runtime_session_release(mcp_runtime *rt, mcp_session_ref *ref,
                                 int discard);

/* ------------------------------------------------------------------ */
/* mcp_tools.c                                                         */
/* ------------------------------------------------------------------ */
/* What one tools/call needs besides its arguments. on_output, when set,
 * sees the code's output as it comes (see runbox_output_cb). */
typedef struct mcp_tool_env {
    mcp_runtime *rt;
    const volatile int *cancel;
    runbox_output_cb on_output;
    void *userdata;
} mcp_tool_env;

/* Runs tool name (known: mcp_schemas_known) with arguments (an object or
 * NULL) and returns the CallToolResult object. Problems with the
 * arguments, the code or the backend are results with isError true.
 * NULL only when out of memory. Thread-safe: each call runs on its own
 * thread, calls on one session wait for each other. */
cJSON *mcp_tools_call(const mcp_tool_env *env, const char *name,
                      const cJSON *arguments);

#endif
