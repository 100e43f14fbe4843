/* fss_sigmoid_map, fss_bce_with_logits, fss_sigmoid_focal: argument checks,
 * the kernel set matching the active ISA, and type dispatch in front of the
 * per-type drivers (sigmoid_driver_body.h). */
#include <stddef.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../dispatch/isa_select.h"
#include "../include/fastsoftmax.h"
#include "../kernels/sigmoid_kernel_table.h"
#include "loss_total.h"
#include "threads.h"

#define FSS_DCAT_(a, b) a##b
#define FSS_DCAT(a, b) FSS_DCAT_(a, b)

/* The sigmoid kernel set compiled for the same ISA as the active softmax set,
 * so FASTSOFTMAX_ISA and set_isa switch both. */
static const fss_sig_isa_kernels *fss_sig_active(void)
{
    const fss_isa_kernels *k = fss_active_kernels();
#if defined(FSS_HAVE_AVX512)
    if (k == &fss_kernels_avx512)
        return &fss_sig_kernels_avx512;
#endif
#if defined(FSS_HAVE_AVX2)
    if (k == &fss_kernels_avx2)
        return &fss_sig_kernels_avx2;
#endif
#if defined(FSS_HAVE_NEON)
    if (k == &fss_kernels_neon)
        return &fss_sig_kernels_neon;
#endif
    (void)k;
    return &fss_sig_kernels_scalar;
}

#define T float
#define TS f32
#define KSET fss_sig_kernels_f32
#include "sigmoid_driver_body.h"
#undef T
#undef TS
#undef KSET

#define T double
#define TS f64
#define KSET fss_sig_kernels_f64
#include "sigmoid_driver_body.h"
#undef T
#undef TS
#undef KSET

int fss_sigmoid_map(fss_sig_op op, fss_dtype dtype, const void *x, int64_t n, void *y, int num_threads)
{
    if (n < 0 || (n > 0 && (x == NULL || y == NULL)) || (op != FSS_SIGMOID && op != FSS_LOG_SIGMOID))
        return FSS_ERR_ARG;
    if (n == 0)
        return FSS_OK;
    const fss_sig_isa_kernels *k = fss_sig_active();
    if (dtype == FSS_FLOAT32)
        fss_sig_map_f32(&k->f32, op, (const float *)x, n, (float *)y, num_threads);
    else if (dtype == FSS_FLOAT64)
        fss_sig_map_f64(&k->f64, op, (const double *)x, n, (double *)y, num_threads);
    else
        return FSS_ERR_ARG;
    return FSS_OK;
}

static int fss_bin_run(const fss_bce_args *a, int focal, double *loss_sum, int num_threads)
{
    if (a == NULL || a->n < 0 || a->n_last < 1 || a->n % a->n_last != 0)
        return FSS_ERR_ARG;
    if (a->n > 0 && (a->logits == NULL || a->target == NULL))
        return FSS_ERR_ARG;
    if (!(a->label_smoothing >= 0.0 && a->label_smoothing <= 1.0))
        return FSS_ERR_ARG;
    if (a->n == 0) {
        if (loss_sum != NULL)
            *loss_sum = 0.0;
        return FSS_OK;
    }
    const fss_sig_isa_kernels *k = fss_sig_active();
    if (a->dtype == FSS_FLOAT32)
        return fss_bin_run_f32(&k->f32, a, focal, loss_sum, num_threads);
    if (a->dtype == FSS_FLOAT64)
        return fss_bin_run_f64(&k->f64, a, focal, loss_sum, num_threads);
    return FSS_ERR_ARG;
}

int fss_bce_with_logits(const fss_bce_args *a, double *loss_sum, int num_threads)
{
    return fss_bin_run(a, 0, loss_sum, num_threads);
}

int fss_sigmoid_focal(const fss_bce_args *a, double *loss_sum, int num_threads)
{
    if (a != NULL && (a->weight != NULL || a->pos_weight != NULL || !(a->gamma >= 0.0)))
        return FSS_ERR_ARG;
    return fss_bin_run(a, 1, loss_sum, num_threads);
}
