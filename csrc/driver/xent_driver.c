/* fss_cross_entropy: argument checks and type dispatch in front of the
 * per-type cross-entropy drivers (xent_driver_body.h). */
#include <math.h>
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

/* Rows up to this size go through the driver's stages in groups
 * (xent_driver_body.h, group_rows and rows_range), their log1p(rest) in one
 * vector call (log1p_rows). Raised from 1024 on Zen 5, against the same
 * build with 1024 (thread time): (1024, 1000) float32 loss and gradient 12%
 * faster (the log1p calls, and the rows' chains overlapping); groups of
 * 16 KiB rows, (256, 4000), measured 6% slower, so 8 KiB. */
#define FSS_XENT_GROUP_BYTES 8192

/* Rows per group for rows longer than the short-row group kernels take:
 * 16 against 8 (the short rows' FSS_XENT_ROWS), Zen 5, float32, the same
 * build otherwise (thread time): (1024, 1000) and (4096, 250) loss and
 * gradient 2.5% faster, (512, 2000) the same */
#define FSS_XENT_LONG_GROUP 16
_Static_assert(FSS_XENT_LONG_GROUP >= FSS_XENT_ROWS, "a group holds the short rows' groups too");

#define T float
#define TS f32
#define KSET fss_kernels_f32
#include "xent_driver_body.h"
#undef T
#undef TS
#undef KSET

#define T double
#define TS f64
#define KSET fss_kernels_f64
#include "xent_driver_body.h"
#undef T
#undef TS
#undef KSET

int fss_cross_entropy(const fss_xent_args *a, double *loss_sum, int num_threads)
{
    if (a == NULL || a->n_rows < 0 || a->n_classes < 1 || a->logits == NULL)
        return FSS_ERR_ARG;
    if ((a->target == NULL) == (a->soft_target == NULL))
        return FSS_ERR_ARG;
    if (!(a->temperature > 0.0) || !(a->label_smoothing >= 0.0 && a->label_smoothing <= 1.0))
        return FSS_ERR_ARG;
    const fss_isa_kernels *k = fss_active_kernels();
    if (a->dtype == FSS_FLOAT32)
        return fss_xent_run_f32(&k->f32, a, loss_sum, num_threads);
    if (a->dtype == FSS_FLOAT64)
        return fss_xent_run_f64(&k->f64, a, loss_sum, num_threads);
    return FSS_ERR_ARG;
}
