/* fss_softmax_focal_loss: argument checks and type dispatch in front of the
 * per-type focal-loss drivers (focal_driver_body.h). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../dispatch/isa_select.h"
#include "../include/fastsoftmax.h"
#include "loss_total.h"
#include "threads.h"

#define FSS_DCAT_(a, b) a##b
#define FSS_DCAT(a, b) FSS_DCAT_(a, b)

#define T float
#define TS f32
#define KSET fss_kernels_f32
#include "focal_driver_body.h"
#undef T
#undef TS
#undef KSET

#define T double
#define TS f64
#define KSET fss_kernels_f64
#include "focal_driver_body.h"
#undef T
#undef TS
#undef KSET

int fss_softmax_focal_loss(const fss_focal_args *a, double *loss_sum, int num_threads)
{
    if (a == NULL || a->n_rows < 0 || a->n_classes < 1 || a->logits == NULL || a->target == NULL)
        return FSS_ERR_ARG;
    if (!(a->gamma >= 0.0) || !isfinite(a->gamma))
        return FSS_ERR_ARG;
    const fss_isa_kernels *k = fss_active_kernels();
    if (a->dtype == FSS_FLOAT32)
        return fss_focal_run_f32(&k->f32, a, loss_sum, num_threads);
    if (a->dtype == FSS_FLOAT64)
        return fss_focal_run_f64(&k->f64, a, loss_sum, num_threads);
    return FSS_ERR_ARG;
}
