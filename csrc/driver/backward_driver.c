/* fss_softmax_backward: argument checks and type dispatch in front of the
 * per-type backward drivers (backward_driver_body.h). */
#include <math.h>
#include <stdlib.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../dispatch/backward_select.h"
#include "../include/fastsoftmax.h"
#include "../kernels/ksum.h"
#include "threads.h"

#define FSS_DCAT_(a, b) a##b
#define FSS_DCAT(a, b) FSS_DCAT_(a, b)

#define T float
#define TS f32
#define KSET fss_bwd_kernels_f32
#include "backward_driver_body.h"
#undef T
#undef TS
#undef KSET

#define T double
#define TS f64
#define KSET fss_bwd_kernels_f64
#include "backward_driver_body.h"
#undef T
#undef TS
#undef KSET

int fss_softmax_backward(fss_bwd_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 grad_output,
                         fss_view3 output, fss_view3 grad_input, int num_threads)
{
    if (shape.n_outer < 0 || shape.n_inner < 0 || shape.n_red < 0)
        return FSS_ERR_ARG;
    if (grad_output.data == NULL || output.data == NULL || grad_input.data == NULL)
        return FSS_ERR_ARG;
    if (op != FSS_SOFTMAX_BACKWARD && op != FSS_LOG_SOFTMAX_BACKWARD)
        return FSS_ERR_ARG;
    const int log_sm = op == FSS_LOG_SOFTMAX_BACKWARD;
    const fss_bwd_isa_kernels *k = fss_bwd_active_kernels();
    if (dtype == FSS_FLOAT32)
        return fss_bwd_drv_run_f32(&k->f32, log_sm, shape, grad_output, output, grad_input, num_threads);
    if (dtype == FSS_FLOAT64)
        return fss_bwd_drv_run_f64(&k->f64, log_sm, shape, grad_output, output, grad_input, num_threads);
    return FSS_ERR_ARG;
}
