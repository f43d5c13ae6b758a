/*
 * docker_archive.c — the tar archives that the engine's archive endpoints
 * speak (PUT/GET /containers/{id}/archive), made and read with libarchive
 * so that long names, odd modes and the PAX extensions Docker emits are
 * handled by a library that knows tar, not by hand.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "docker_internal.h"

typedef struct docker_tarbuf {
    char *data;
    size_t len, cap;
} docker_tarbuf;

static la_ssize_t docker_tar_write(struct archive *a, void *arg,
                                   const void *buf, size_t len)
{
    (void)a;
    docker_tarbuf *t = arg;
    if (t->len + len > t->cap) {
        size_t cap = t->cap ? t->cap : 16384;
        while (cap < t->len + len)
            cap *= 2;
        char *g = realloc(t->data, cap);
        if (!g)
            return -1;
        t->data = g;
        t->cap = cap;
    }
    memcpy(t->data + t->len, buf, len);
    t->len += len;
    return (la_ssize_t)len;
}

static int docker_tar_add(struct archive *a, const char *name, int is_dir,
                          const void *data, size_t len, int uid, int gid)
{
    struct archive_entry *entry = archive_entry_new();
    if (!entry)
        return -1;
    archive_entry_set_pathname(entry, name);
    archive_entry_set_filetype(entry, is_dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry, is_dir ? 0755 : 0644);
    archive_entry_set_size(entry, is_dir ? 0 : (la_int64_t)len);
    archive_entry_set_uid(entry, uid);
    archive_entry_set_gid(entry, gid);
    archive_entry_set_mtime(entry, time(NULL), 0);
    int bad = archive_write_header(a, entry) != ARCHIVE_OK;
    if (!bad && !is_dir && len)
        bad = archive_write_data(a, data, len) != (la_ssize_t)len;
    archive_entry_free(entry);
    return bad ? -1 : 0;
}

int docker_archive_pack(char **tar, size_t *tar_len, const char *rel_path,
                        const void *data, size_t len, int uid, int gid)
{
    docker_tarbuf t = {0};
    struct archive *a = archive_write_new();
    if (!a)
        return RUNBOX_ENOMEM;
    int bad = archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
              archive_write_open(a, &t, NULL, docker_tar_write, NULL) != ARCHIVE_OK;
    /* Parent directories first, so that writing "out/data/x.csv" works in
     * a fresh sandbox; existing ones are left as they are by the engine. */
    char *dirs = strdup(rel_path);
    for (char *slash = dirs ? strchr(dirs, '/') : NULL; !bad && slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        bad = docker_tar_add(a, dirs, 1, NULL, 0, uid, gid);
        *slash = '/';
    }
    if (!dirs)
        bad = 1;
    free(dirs);
    if (!bad)
        bad = docker_tar_add(a, rel_path, 0, data, len, uid, gid);
    if (archive_write_close(a) != ARCHIVE_OK)
        bad = 1;
    archive_write_free(a);
    if (bad) {
        free(t.data);
        return RUNBOX_ENOMEM;
    }
    *tar = t.data;
    *tar_len = t.len;
    return RUNBOX_OK;
}

int docker_archive_unpack(const runbox_host *host, const char *tar,
                          size_t tar_len, void **data, size_t *len)
{
    struct archive *a = archive_read_new();
    struct archive_entry *entry;
    if (!a)
        return RUNBOX_ENOMEM;
    archive_read_support_format_tar(a);
    int rc = RUNBOX_EPROTO;
    if (archive_read_open_memory(a, tar, tar_len) != ARCHIVE_OK ||
        archive_read_next_header(a, &entry) != ARCHIVE_OK)
        goto done;
    if (archive_entry_filetype(entry) != AE_IFREG) {
        rc = RUNBOX_EINVAL;
        goto done;
    }
    la_int64_t size = archive_entry_size(entry);
    if (size < 0 || (uint64_t)size > tar_len) {
        rc = RUNBOX_EPROTO;
        goto done;
    }
    char *out = host->alloc((size_t)size + 1);
    if (!out) {
        rc = RUNBOX_ENOMEM;
        goto done;
    }
    size_t have = 0;
    while (have < (size_t)size) {
        la_ssize_t n = archive_read_data(a, out + have, (size_t)size - have);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    if (have != (size_t)size) {
        host->free(out);
        goto done;
    }
    out[have] = '\0';
    *data = out;
    *len = have;
    rc = RUNBOX_OK;
done:
    archive_read_free(a);
    return rc;
}
