/* Finds backends (runbox-<name>.so) and loads them behind the ABI checks.
 *
 * Search order: RUNBOX_BACKEND_PATH, the config's backend_path, the build
 * tree (only for the library of that build tree, never for an installed
 * one), <libdir>/runbox/backends next to this library, the configured
 * install directory. Never the current directory: a sandboxing
 * tool must not run code that happens to lie where it was started. Each
 * backend is loaded once per process and never unloaded, so vtables and
 * strings it hands out stay valid for the process's lifetime. */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#ifndef RUNBOX_BUILD_BACKEND_DIR
#define RUNBOX_BUILD_BACKEND_DIR ""
#endif
#ifndef RUNBOX_BUILD_LIBRARY_DIR
#define RUNBOX_BUILD_LIBRARY_DIR ""
#endif
#ifndef RUNBOX_INSTALL_BACKEND_SUBDIR
#define RUNBOX_INSTALL_BACKEND_SUBDIR "runbox/backends"
#endif
#ifndef RUNBOX_INSTALL_BACKEND_DIR
#define RUNBOX_INSTALL_BACKEND_DIR "/usr/local/lib/runbox/backends"
#endif

/* The smallest vtable a plugin of this ABI may declare: up to exec. */
#define RB_MIN_VTABLE_SIZE \
    (offsetof(runbox_backend, exec) + sizeof(((runbox_backend *)0)->exec))

static pthread_mutex_t rb_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static rb_loaded **rb_registry;
static size_t rb_registry_count;

typedef void (*rb_dir_cb)(void *ud, const char *dir);

/* Calls cb once per distinct directory: the same folder reached twice
 * (RUNBOX_BACKEND_PATH naming the build tree) is not a duplicate. Any
 * number of folders: the identities seen grow as needed. */
typedef struct rb_dirs_seen {
    rb_dir_cb cb;
    void *ud;
    dev_t *dev;
    ino_t *ino;
    size_t n, cap;
} rb_dirs_seen;

/* Same folder = same device and inode: one stat, where realpath would
 * read every component (this runs on every cold start). The identity is
 * copied out of the struct stat in a helper of its own: with the stat
 * buffer in rb_visit_once, GCC 12 at -O2 (inlined into the caller's strtok
 * loop) reports a false -Wdangling-pointer on it. */
static int rb_dir_identity(const char *dir, dev_t *dev, ino_t *ino)
{
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return -1;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

static void rb_visit_once(rb_dirs_seen *v, const char *dir)
{
    dev_t dev;
    ino_t ino;
    if (rb_dir_identity(dir, &dev, &ino))
        return;
    for (size_t i = 0; i < v->n; i++)
        if (v->dev[i] == dev && v->ino[i] == ino)
            return;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        dev_t *d = realloc(v->dev, cap * sizeof *d);
        if (d)
            v->dev = d;
        ino_t *i = d ? realloc(v->ino, cap * sizeof *i) : NULL;
        if (i)
            v->ino = i;
        if (!d || !i)
            return; /* out of memory: better skip a folder than list it twice */
        v->cap = cap;
    }
    v->dev[v->n] = dev;
    v->ino[v->n++] = ino;
    v->cb(v->ud, dir);
}

/* The folder of the runbox library this code runs in, or "". */
static void rb_library_dir(char *dir, size_t size)
{
    Dl_info info;
    dir[0] = '\0';
    if (dladdr((void *)rb_library_dir, &info) && info.dli_fname) {
        snprintf(dir, size, "%s", info.dli_fname);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            dir[0] = '\0';
    }
}

/* Is dir the build tree's library folder? Only a runbox run from its
 * build tree searches the build tree's backends: an installed one must
 * not load whatever a later build leaves at that absolute path, nor see
 * its own installed backends as duplicates of the build's. */
static int rb_is_build_library_dir(const char *dir)
{
    dev_t d1, d2;
    ino_t i1, i2;
    return RUNBOX_BUILD_LIBRARY_DIR[0] && dir[0] &&
           !rb_dir_identity(dir, &d1, &i1) &&
           !rb_dir_identity(RUNBOX_BUILD_LIBRARY_DIR, &d2, &i2) &&
           d1 == d2 && i1 == i2;
}

static void rb_each_search_dir(const runbox_config *cfg, rb_dir_cb cb, void *ud)
{
    rb_dirs_seen *v = calloc(1, sizeof *v);
    if (!v)
        return;
    v->cb = cb;
    v->ud = ud;
    const char *lists[2] = {getenv("RUNBOX_BACKEND_PATH"),
                            rb_config_backend_path(cfg)};
    for (int i = 0; i < 2; i++) {
        if (!lists[i])
            continue;
        char *copy = strdup(lists[i]), *save = NULL;
        for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
             d = strtok_r(NULL, ":", &save))
            if (d[0] == '/') /* relative entries would mean the cwd */
                rb_visit_once(v, d);
        free(copy);
    }
    char libdir[PATH_MAX];
    rb_library_dir(libdir, sizeof libdir);
    if (RUNBOX_BUILD_BACKEND_DIR[0] && rb_is_build_library_dir(libdir))
        rb_visit_once(v, RUNBOX_BUILD_BACKEND_DIR);
    /* Next to this library: an installed tree found wherever it was put. */
    if (libdir[0]) {
        char dir[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/%s", libdir, RUNBOX_INSTALL_BACKEND_SUBDIR);
        rb_visit_once(v, dir);
    }
    rb_visit_once(v, RUNBOX_INSTALL_BACKEND_DIR);
    free(v->dev);
    free(v->ino);
    free(v);
}

typedef struct rb_scan {
    rb_found_cb cb;
    void *ud;
    char **seen;
    size_t nseen;
} rb_scan;

static int rb_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rb_scan_dir(void *ud, const char *dir)
{
    rb_scan *s = ud;
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 10 || strncmp(de->d_name, "runbox-", 7) ||
            strcmp(de->d_name + len - 3, ".so"))
            continue;
        char **p = realloc(names, (n + 1) * sizeof *names);
        if (!p)
            break;
        names = p;
        names[n] = strndup(de->d_name + 7, len - 10);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n) /* names is NULL for a folder without backends */
        qsort(names, n, sizeof *names, rb_name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/runbox-%s.so", dir, names[i]);
        int dup = 0;
        for (size_t j = 0; j < s->nseen; j++)
            if (!strcmp(s->seen[j], names[i]))
                dup = 1;
        if (!dup) {
            char **p = realloc(s->seen, (s->nseen + 1) * sizeof *p);
            if (p) {
                s->seen = p;
                s->seen[s->nseen++] = strdup(names[i]);
            }
        }
        if (s->cb)
            s->cb(s->ud, names[i], path, dup);
        free(names[i]);
    }
    free(names);
}

void rb_backend_scan(const runbox_config *cfg, rb_found_cb cb, void *ud)
{
    rb_scan s = {cb, ud, NULL, 0};
    rb_each_search_dir(cfg, rb_scan_dir, &s);
    for (size_t i = 0; i < s.nseen; i++)
        free(s.seen[i]);
    free(s.seen);
}

typedef struct rb_find {
    const char *name;
    char path[PATH_MAX];
    int found;
    rb_buf names;
} rb_find;

static void rb_find_cb(void *ud, const char *name, const char *path, int dup)
{
    rb_find *f = ud;
    if (dup)
        return;
    if (f->name && !f->found && !strcmp(name, f->name)) {
        snprintf(f->path, sizeof f->path, "%s", path);
        f->found = 1;
    }
    rb_buf_printf(&f->names, "%s%s", f->names.len ? ", " : "", name);
}

char *rb_backend_names(const runbox_config *cfg)
{
    rb_find f = {0};
    rb_backend_scan(cfg, rb_find_cb, &f);
    return f.names.data;
}

int rb_backend_exists(const runbox_config *cfg, const char *name)
{
    rb_find f = {0};
    f.name = name;
    rb_backend_scan(cfg, rb_find_cb, &f);
    rb_buf_free(&f.names);
    return f.found;
}

/* Loads one file; on success registers it. Caller holds the lock. */
static int rb_load_file(const rb_loaded **out, const char *path,
                        const char *expect_name)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return rb_fail(RUNBOX_ENOTFOUND, "backend file %s does not exist", path);
    for (size_t i = 0; i < rb_registry_count; i++)
        if (!strcmp(rb_registry[i]->path, real)) {
            *out = rb_registry[i];
            return RUNBOX_OK;
        }
    dlerror();
    void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return rb_fail(RUNBOX_EBACKEND, "cannot load backend %s: %s", real,
                       dlerror());
    runbox_backend_init_fn init;
    *(void **)&init = dlsym(h, RUNBOX_BACKEND_ENTRY);
    if (!init) {
        const char *e = dlerror();
        int rc = rb_fail(RUNBOX_EBACKEND, "%s is not a runbox backend: no "
                         "%s symbol (%s)", real, RUNBOX_BACKEND_ENTRY,
                         e ? e : "symbol missing");
        dlclose(h);
        return rc;
    }
    const runbox_backend *vt = NULL;
    char why[512] = "";
    int rc = init(&rb_host, &vt, why, sizeof why);
    if (rc || !vt) {
        rc = rb_fail(rc ? rc : RUNBOX_EBACKEND, "backend %s refused to "
                     "initialise: %s", real, why[0] ? why : runbox_strerror(rc));
        dlclose(h);
        return rc;
    }
    if (vt->abi_version != RUNBOX_BACKEND_ABI) {
        rc = rb_fail(RUNBOX_EABI, "backend %s was built for backend ABI %u, "
                     "this runbox speaks ABI %u: rebuild it against this "
                     "runbox's backend.h", real, vt->abi_version,
                     RUNBOX_BACKEND_ABI);
        dlclose(h);
        return rc;
    }
    if (vt->struct_size < RB_MIN_VTABLE_SIZE) {
        rc = rb_fail(RUNBOX_EABI, "backend %s declares a vtable of %u bytes, "
                     "smaller than the %zu that ABI %u requires", real,
                     vt->struct_size, (size_t)RB_MIN_VTABLE_SIZE,
                     RUNBOX_BACKEND_ABI);
        dlclose(h);
        return rc;
    }
    rb_loaded *l = calloc(1, sizeof *l);
    if (!l) {
        dlclose(h);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    /* Copy only what the plugin declared: slots of a newer host stay NULL,
     * members of a newer plugin are ignored. */
    memcpy(&l->vt, vt, vt->struct_size < sizeof l->vt ? vt->struct_size
                                                       : sizeof l->vt);
    l->vt.struct_size = sizeof l->vt;
    if (!l->vt.name || !l->vt.sandbox_create || !l->vt.sandbox_destroy ||
        !l->vt.exec || !l->vt.open || !l->vt.close) {
        free(l);
        dlclose(h);
        return rb_fail(RUNBOX_EABI, "backend %s leaves a required slot empty "
                       "(name, open, close, sandbox_create, sandbox_destroy, "
                       "exec)", real);
    }
    if ((rc = rb_backend_claims_check(&l->vt, real))) {
        free(l);
        dlclose(h);
        return rc;
    }
    if (expect_name && strcmp(l->vt.name, expect_name)) {
        rc = rb_fail(RUNBOX_EBACKEND, "backend %s calls itself '%s'; the file "
                     "must be named runbox-%s.so", real, l->vt.name,
                     l->vt.name);
        free(l);
        dlclose(h);
        return rc;
    }
    for (size_t i = 0; i < rb_registry_count; i++)
        if (!strcmp(rb_registry[i]->name, l->vt.name)) {
            rc = rb_fail(RUNBOX_EBACKEND, "duplicate backend name '%s': %s "
                         "and %s both declare it; remove one", l->vt.name,
                         rb_registry[i]->path, real);
            free(l);
            dlclose(h);
            return rc;
        }
    rb_loaded **reg = realloc(rb_registry, (rb_registry_count + 1) * sizeof *reg);
    l->name = strdup(l->vt.name);
    l->path = strdup(real);
    if (!reg || !l->name || !l->path) {
        if (reg)
            rb_registry = reg;
        free(l->name);
        free(l->path);
        free(l);
        dlclose(h);
        return rb_fail(RUNBOX_ENOMEM, "out of memory");
    }
    rb_registry = reg;
    rb_registry[rb_registry_count++] = l;
    *out = l;
    return RUNBOX_OK;
}

int rb_backend_load(const rb_loaded **out, const char *name_or_path,
                    const runbox_config *cfg)
{
    if (!name_or_path || !*name_or_path)
        return rb_fail(RUNBOX_ECONFIG, "no backend configured: set backend "
                       "in runbox.ini, RUNBOX_BACKEND or -b");
    pthread_mutex_lock(&rb_registry_lock);
    int rc;
    if (strchr(name_or_path, '/')) {
        rc = rb_load_file(out, name_or_path, NULL);
    } else {
        rc = RUNBOX_ENOTFOUND;
        for (size_t i = 0; i < rb_registry_count; i++)
            if (!strcmp(rb_registry[i]->name, name_or_path)) {
                *out = rb_registry[i];
                rc = RUNBOX_OK;
            }
        if (rc) {
            rb_find f = {0};
            f.name = name_or_path;
            rb_backend_scan(cfg, rb_find_cb, &f);
            if (f.found)
                rc = rb_load_file(out, f.path, name_or_path);
            else
                rc = rb_fail(RUNBOX_ENOTFOUND, "no backend named '%s' (found: "
                             "%s); search path: RUNBOX_BACKEND_PATH, "
                             "backend_path, %s", name_or_path,
                             f.names.data ? f.names.data : "none",
                             RUNBOX_INSTALL_BACKEND_DIR);
            rb_buf_free(&f.names);
        }
    }
    pthread_mutex_unlock(&rb_registry_lock);
    return rc;
}
