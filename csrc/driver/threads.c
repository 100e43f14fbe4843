#include "threads.h"
#include "../include/fastsoftmax.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

/* GCC's libgomp cannot start a team in a child forked after the parent ran
 * one (the child hangs). A fork handler marks the child, and the child then
 * runs every call serially, without entering the OpenMP runtime. */
static volatile int fss_forked_child = 0;

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
static void fss_mark_child(void) { fss_forked_child = 1; }
void fss_runtime_init(void)
{
    static int registered = 0;
    if (!registered) {
        registered = 1;
        pthread_atfork(NULL, NULL, fss_mark_child);
    }
}
#else
void fss_runtime_init(void) {}
#endif

int fss_in_forked_child(void) { return fss_forked_child; }

int fss_default_threads(void)
{
#if defined(_OPENMP)
    if (fss_forked_child)
        return 1;
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int fss_threads_for(int64_t work, int64_t units, int requested)
{
#if !defined(_OPENMP)
    /* no team to start: a request for more threads runs on the caller's */
    (void)work, (void)units, (void)requested;
    return 1;
#else
    if (fss_forked_child)
        return 1;
    int64_t nt = requested > 0 ? requested : fss_default_threads();
    const int64_t by_work = work / FSS_MIN_ELEMS_PER_THREAD;
    if (nt > by_work)
        nt = by_work;
    if (nt > units)
        nt = units;
    return nt < 1 ? 1 : (int)nt;
#endif
}

int fss_openmp_enabled(void)
{
#if defined(_OPENMP)
    return 1;
#else
    return 0;
#endif
}

const char *fss_openmp_description(void)
{
#if !defined(_OPENMP)
    return "none";
#else
#define FSS_STR_(x) #x
#define FSS_STR(x) FSS_STR_(x)
#if defined(__clang__) || defined(__INTEL_LLVM_COMPILER)
    return "libomp (OpenMP " FSS_STR(_OPENMP) ")";
#elif defined(_MSC_VER)
    return "vcomp (OpenMP " FSS_STR(_OPENMP) ")";
#else
    return "libgomp (OpenMP " FSS_STR(_OPENMP) ")";
#endif
#endif
}
