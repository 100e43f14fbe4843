/* fastsoftmax C API: what the Python binding calls. C only, no Python headers.
 *
 * Arrays are described as strided 3-D views: (outer, inner) index the
 * independent rows, "red" is the reduced axis. Strides are in elements and may
 * be negative; sizes and strides are int64_t, so views over 2^31 elements work. */
#ifndef FASTSOFTMAX_H
#define FASTSOFTMAX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FSS_SOFTMAX = 0, FSS_LOG_SOFTMAX = 1, FSS_LOGSUMEXP = 2 } fss_op;
typedef enum { FSS_FLOAT32 = 0, FSS_FLOAT64 = 1 } fss_dtype;

typedef struct {
    int64_t n_outer, n_inner, n_red;
} fss_shape3;

typedef struct {
    void *data;                        /* address of element (0, 0, 0) */
    int64_t s_outer, s_inner, s_red;   /* strides in elements */
} fss_view3;

enum { FSS_OK = 0, FSS_ERR_NOMEM = -1, FSS_ERR_ARG = -2 };

/* softmax / log_softmax write y with x's shape; logsumexp writes y of shape
 * (outer, inner) and ignores y.s_red. y may be x (in place). num_threads <= 0
 * means the OpenMP default (OMP_NUM_THREADS, threadpoolctl). Returns FSS_OK or
 * an FSS_ERR_* code. Safe to call without the GIL, from several threads. */
int fss_softmax_family(fss_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 x, fss_view3 y,
                       int num_threads);

/* ---- runtime ----------------------------------------------------------- */
/* Name of the kernel set in use ("scalar", "avx2", "avx512", "neon"). */
const char *fss_isa_current(void);
/* Kernel sets compiled into this build, best last; returns how many. */
int fss_isa_compiled(const char **names, int capacity);
/* 1 when this CPU and OS can run the named kernel set. */
int fss_isa_supported(const char *name);
/* Switch to the named kernel set, or the best supported one for NULL or "".
 * Returns 0, -1 for an unknown name, -2 for one this CPU cannot run. */
int fss_isa_select(const char *name);

int fss_openmp_enabled(void);
/* e.g. "libgomp (OpenMP 201511)"; "none" without OpenMP. */
const char *fss_openmp_description(void);
/* Threads a call with num_threads=None would be allowed to use. */
int fss_default_threads(void);

#ifdef __cplusplus
}
#endif

#endif
