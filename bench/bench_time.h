/*
 * bench_time.h — what the C benchmarks share: a monotonic clock and a sort
 * of timings for their percentiles. Header-only: each benchmark is built
 * alone by its run script (cc -Iinclude bench/NAME/NAME_bench.c).
 */
#ifndef RUNBOX_BENCH_TIME_H
#define RUNBOX_BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts n timings in place, fastest first. */
static inline void bench_sort(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
}

#endif
