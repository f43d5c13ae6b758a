/* Runs a fuzz harness over saved inputs without libFuzzer: every file in
 * the directories (or the files) given. This makes the seed corpus and
 * each crash ever found a regression test in every build. Fails when no
 * input was found, so a moved corpus cannot pass by running nothing. */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *p = realloc(buf, cap);
            if (!p)
                abort();
            buf = p;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        if (!n)
            break;
        len += n;
    }
    fclose(fp);
    /* A copy of exactly len bytes, so ASan sees reads past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact)
        abort();
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]))
                return 1;
            count++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, alphasort);
        for (int j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
            if (names[j]->d_name[0] != '.' && !stat(path, &st) &&
                S_ISREG(st.st_mode)) {
                if (replay_file(path))
                    return 1;
                count++;
            }
            free(names[j]);
        }
        free(names);
    }
    printf("replayed %d inputs\n", count);
    if (!count) {
        fprintf(stderr, "no inputs found in the corpus directories given\n");
        return 1;
    }
    return 0;
}
