#include "threads.h"
#include "../include/fastsoftmax.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

int fss_default_threads(void)
{
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int fss_threads_for(int64_t work, int64_t units, int requested)
{
    int64_t nt = requested > 0 ? requested : fss_default_threads();
    const int64_t by_work = work / FSS_MIN_ELEMS_PER_THREAD;
    if (nt > by_work)
        nt = by_work;
    if (nt > units)
        nt = units;
    return nt < 1 ? 1 : (int)nt;
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
