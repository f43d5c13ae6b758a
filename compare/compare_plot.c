/*
 * --plot FILE: a PNG with two panels per comparison, drawn by gnuplot
 * (Debian: gnuplot-nox). Left: cold p50, cold p95 and warm p50 per
 * backend; right: every cold run's latency, in run order.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"

extern char **environ;

static int cmp_write_data(const char *dir, const cmp_backend *bs, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.dat", dir);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    fprintf(fp, "# backend cold_p50 cold_p95 warm_p50 (ms)\n");
    for (size_t i = 0; i < n; i++) {
        if (!bs[i].cold_count)
            continue;
        double *c = malloc(bs[i].cold_count * sizeof *c);
        double *w = bs[i].warm_count ? malloc(bs[i].warm_count * sizeof *w) : NULL;
        if (!c) {
            free(w);
            continue;
        }
        memcpy(c, bs[i].cold, bs[i].cold_count * sizeof *c);
        fprintf(fp, "%s %.3f %.3f ", bs[i].name,
                cmp_percentile(c, bs[i].cold_count, 50) * 1e3,
                cmp_percentile(c, bs[i].cold_count, 95) * 1e3);
        if (w) {
            memcpy(w, bs[i].warm, bs[i].warm_count * sizeof *w);
            fprintf(fp, "%.3f\n", cmp_percentile(w, bs[i].warm_count, 50) * 1e3);
        } else {
            fprintf(fp, "?\n");
        }
        free(c);
        free(w);
    }
    if (fclose(fp))
        return -1;
    snprintf(path, sizeof path, "%s/runs.dat", dir);
    fp = fopen(path, "w");
    if (!fp)
        return -1;
    /* One block per backend (two blank lines apart) for `index`. */
    for (size_t i = 0; i < n; i++) {
        if (!bs[i].cold_count)
            continue;
        fprintf(fp, "# %s\n", bs[i].name);
        for (size_t k = 0; k < bs[i].cold_count; k++)
            fprintf(fp, "%zu %.3f\n", k + 1, bs[i].cold[k] * 1e3);
        fprintf(fp, "\n\n");
    }
    return fclose(fp) ? -1 : 0;
}

static int cmp_write_script(const char *dir, const char *out,
                            const cmp_backend *bs, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plot.gp", dir);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    fprintf(fp,
            "set terminal pngcairo size 1200,520 font 'sans,10' noenhanced\n"
            "set output '%s'\n"
            "set datafile missing '?'\n"
            "set multiplot layout 1,2 title 'runbox compare: print(1) latency per "
            "backend (ms, log scale)'\n"
            "set logscale y\n"
            "set grid ytics\n"
            "set key top left\n"
            "set ylabel 'milliseconds'\n"
            "set title 'cold p50 / cold p95 / warm p50 (session)'\n"
            "set style data histogram\n"
            "set style histogram clustered gap 1\n"
            "set style fill solid 0.8 border -1\n"
            "set boxwidth 0.9\n"
            "set yrange [0.5:*]\n"
            "plot '%s/summary.dat' using 2:xtic(1) title 'cold p50', "
            "'' using 3 title 'cold p95', '' using 4 title 'warm p50'\n"
            "set title 'every cold run, in order'\n"
            "set xlabel 'run'\n"
            "set style data linespoints\n"
            "set autoscale y\n",
            out, dir);
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!bs[i].cold_count)
            continue;
        fprintf(fp, "%s'%s/runs.dat' index %d using 1:2 with linespoints "
                "title '%s'", k ? ", " : "plot ", dir, k, bs[i].name);
        k++;
    }
    fprintf(fp, "%s\nunset multiplot\n", k ? "" : "plot 1 notitle");
    return fclose(fp) ? -1 : 0;
}

static void cmp_rmtree(const char *dir)
{
    static const char *files[] = {"summary.dat", "runs.dat", "plot.gp", "gnuplot.err"};
    char path[PATH_MAX];
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int cmp_plot(const char *file, cmp_backend *bs, size_t n)
{
    char dir[] = "/tmp/runbox-plot-XXXXXX", script[PATH_MAX], errfile[PATH_MAX];
    char out[PATH_MAX];
    if (file[0] != '/' && getcwd(out, sizeof out))
        snprintf(out + strlen(out), sizeof out - strlen(out), "/%s", file);
    else
        snprintf(out, sizeof out, "%s", file);
    if (strchr(out, '\'')) {
        fprintf(stderr, "runbox compare: --plot: the file name may not contain a "
                        "single quote\n");
        return 1;
    }
    if (!mkdtemp(dir)) {
        fprintf(stderr, "runbox compare: --plot: cannot make a temporary "
                        "directory: %s\n", strerror(errno));
        return 1;
    }
    if (cmp_write_data(dir, bs, n) || cmp_write_script(dir, out, bs, n)) {
        fprintf(stderr, "runbox compare: --plot: cannot write in %s: %s\n", dir,
                strerror(errno));
        cmp_rmtree(dir);
        return 1;
    }
    snprintf(script, sizeof script, "%s/plot.gp", dir);
    snprintf(errfile, sizeof errfile, "%s/gnuplot.err", dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, errfile, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"gnuplot", script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    if (rc == ENOENT) {
        fprintf(stderr, "runbox compare: --plot: gnuplot not found in PATH: "
                        "install it (Debian: apt-get install gnuplot-nox)\n");
    } else if (rc) {
        fprintf(stderr, "runbox compare: --plot: cannot run gnuplot: %s\n",
                strerror(rc));
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            cmp_rmtree(dir);
            return 0;
        }
        fprintf(stderr, "runbox compare: --plot: gnuplot failed (status %d); "
                        "its messages:\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        FILE *fp = fopen(errfile, "r");
        char line[512];
        while (fp && fgets(line, sizeof line, fp))
            fprintf(stderr, "  %s", line);
        if (fp)
            fclose(fp);
    }
    cmp_rmtree(dir);
    return 1;
}
