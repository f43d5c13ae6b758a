/*
 * interp.h — the resident Python interpreter ("driver") that backends run
 * inside their sandboxes, and the frame protocol runbox speaks with it.
 *
 * For backends only (linked into them as a static library); nothing here
 * crosses the plugin boundary. The driver's source is interp/
 * runbox_driver.py, compiled into interp_driver_source at build time, so a
 * backend starts it as `python3 -I -c <source>` and the code can neither
 * import nor replace it.
 *
 * Frames are 1 type byte, a 4-byte big-endian length and the payload (see
 * runbox_driver.py for the types). Everything a frame says comes from the
 * sandbox, where the code can forge it: an interp_stream takes from frames
 * only what the code could report anyway (output, rich values, its
 * exception, the execution counter), bounds every size, and leaves timeouts,
 * restarts and exit statuses to the backend's own evidence.
 *
 * Threading: an interp_stream belongs to one sandbox, so to one thread at
 * a time. interp_driver_source and interp_driver_code are read-only.
 */
#ifndef RUNBOX_INTERP_H
#define RUNBOX_INTERP_H

#include <stddef.h>
#include <stdint.h>

#include "runbox/backend.h"

extern const char interp_driver_source[];
extern const size_t interp_driver_source_len;

/* The driver compiled at build time (interp/embed_code.py): the bytecode
 * magic number of the build's python3, a 4-byte big-endian length, the
 * marshalled code, then the source. Empty (len 0) when the build had no
 * python3. A backend that can hand the interpreter a descriptor passes
 * this in a sealed memfd as fd 3 and starts `python3 -I -c
 * INTERP_DRIVER_BOOT`: an interpreter with the same magic runs the
 * bytecode, any other compiles the source; fd 3 is closed before the
 * driver runs. */
extern const unsigned char interp_driver_code[];
extern const size_t interp_driver_code_len;
#define INTERP_DRIVER_BOOT                                                  \
    "import marshal as _m, os as _o, _frozen_importlib_external as _b\n"   \
    "_d = _o.pread(3, _o.fstat(3).st_size, 0)\n"                           \
    "_o.close(3)\n"                                                        \
    "_n = 8 + int.from_bytes(_d[4:8], 'big')\n"                            \
    "_c = (_m.loads(_d[8:_n]) if _d[:4] == _b.MAGIC_NUMBER\n"              \
    "      else compile(_d[_n:], 'runbox_driver.py', 'exec'))\n"           \
    "del _m, _o, _b, _d, _n\n"                                             \
    "exec(_c)\n"

/* Passed after the source: the driver kills every process it can signal
 * but itself and pid 1 after each call. Only for a driver that runs in its
 * own pid namespace (a container, a namespaced sandbox). */
#define INTERP_ARG_SWEEP "sweep"

/* How long code gets to stop after the KeyboardInterrupt a timeout or
 * cancel sends, before its interpreter is killed (and its state lost). */
#define INTERP_GRACE_S 1.0
/* The largest frame accepted, and the most rich-result bytes one call
 * may report; beyond either, the driver is treated as broken. */
#define INTERP_FRAME_MAX (64u << 20)
#define INTERP_RICH_MAX (64u << 20)

/* The 5-byte header of a frame of type kind ('C' code, 'I' interrupt). */
void interp_frame_header(unsigned char hdr[5], char kind, uint32_t len);

/* Parses the driver's frames as they arrive, split anywhere, and reports
 * them to the running execution through the host table. */
typedef struct interp_stream {
    const runbox_host *host;
    runbox_exec_io *io;   /* of the call in progress; NULL drops output */
    unsigned char hdr[5];
    size_t hdr_have;
    char *payload;        /* malloc'd while a frame is incomplete */
    uint32_t need, have;
    size_t rich_bytes;    /* this call's */
    int done;             /* this call's D frame arrived */
    int execution_count;  /* from the last D frame */
    int memory_error;     /* this call raised MemoryError (the code's word) */
    char error[160];      /* why the stream was refused */
} interp_stream;

void interp_stream_init(interp_stream *s, const runbox_host *host);
/* Starts a call: output goes to io from now on. */
void interp_stream_begin(interp_stream *s, runbox_exec_io *io);
/* Consumes bytes from the driver. RUNBOX_EPROTO, with s->error set, for a
 * malformed or oversized frame; the stream is unusable afterwards. */
int interp_stream_feed(interp_stream *s, const char *data, size_t len);
void interp_stream_free(interp_stream *s);

/* The last bytes the driver wrote to its own stderr (only a broken driver
 * writes there), kept NUL-terminated for a failure message. */
typedef struct interp_tail {
    char text[512];
    size_t len;
} interp_tail;

/* Appends data, dropping the oldest bytes past the buffer's size. */
void interp_tail_add(interp_tail *t, const char *data, size_t len);

#endif /* RUNBOX_INTERP_H */
