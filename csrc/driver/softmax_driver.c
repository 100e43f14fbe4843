/* fss_softmax_family: type dispatch in front of the per-type drivers. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../dispatch/isa_select.h"
#include "../include/fastsoftmax.h"
#include "../kernels/ksum.h"
#include "half_driver.h"
#include "threads.h"

#define FSS_DCAT_(a, b) a##b
#define FSS_DCAT(a, b) FSS_DCAT_(a, b)

/* Long rows split across threads: at most this many chunks per row (each of
 * at least FSS_SPLIT_MIN_CHUNK elements, threads.h). */
#define FSS_SPLIT_MAX 256

/* log_softmax and logsumexp rows of up to FSS_ROWS_GROUP_BYTES go through
 * rows_range in groups of FSS_ROWS_GROUP, their log1p(rest) in one vector
 * call (softmax_driver_body.h) */
#define FSS_ROWS_GROUP FSS_SPEC_ROWS /* (8) rows_spec_end's most */
#define FSS_ROWS_GROUP_BYTES 8192

#define T float
#define TS f32
#define KSET fss_kernels_f32
#define LOGSUB_ROW fss_logsub_row_f32
#define FSS_DRIVER_F32 1
#include "softmax_driver_body.h"
#undef T
#undef TS
#undef KSET
#undef LOGSUB_ROW
#undef FSS_DRIVER_F32
#define FSS_DRIVER_F32 0

#define T double
#define TS f64
#define KSET fss_kernels_f64
#define LOGSUB_ROW fss_logsub_row_f64
#include "softmax_driver_body.h"
#undef T
#undef TS
#undef KSET
#undef LOGSUB_ROW

int fss_softmax_family(fss_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 x, fss_view3 y, double temperature,
                       int num_threads)
{
    return fss_softmax_family_causal(op, dtype, shape, x, y, temperature, 0, num_threads);
}

int fss_softmax_family_causal(fss_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 x, fss_view3 y,
                              double temperature, int64_t causal_L, int num_threads)
{
    if (shape.n_outer < 0 || shape.n_inner < 0 || shape.n_red < 0 || x.data == NULL || y.data == NULL)
        return FSS_ERR_ARG;
    if (!(temperature > 0.0) || isinf(temperature))
        return FSS_ERR_ARG;
    if (op != FSS_SOFTMAX && op != FSS_LOG_SOFTMAX && op != FSS_LOGSUMEXP)
        return FSS_ERR_ARG;
    if (causal_L < 0 || (causal_L > 0 && (shape.n_outer * shape.n_inner) % causal_L != 0))
        return FSS_ERR_ARG;
    const fss_isa_kernels *k = fss_active_kernels();
    if (dtype == FSS_FLOAT32)
        return fss_drv_run_f32(k, op, shape, x, y, temperature, causal_L, num_threads);
    if (dtype == FSS_FLOAT64)
        return fss_drv_run_f64(k, op, shape, x, y, temperature, causal_L, num_threads);
    if (dtype == FSS_FLOAT16 && causal_L == 0) /* causal float16: the binding computes in float32 */
        return fss_drv_half(op, shape, x, y, temperature, num_threads);
    return FSS_ERR_ARG;
}

int fss_exp_nonpos(fss_dtype dtype, const void *x, int64_t n, void *y)
{
    const fss_isa_kernels *k = fss_active_kernels();
    if (dtype == FSS_FLOAT32)
        k->f32.row_expscale((const float *)x, n, 0.0f, 1.0f, (float *)y);
    else if (dtype == FSS_FLOAT64)
        k->f64.row_expscale((const double *)x, n, 0.0, 1.0, (double *)y);
    else
        return FSS_ERR_ARG;
    return FSS_OK;
}
