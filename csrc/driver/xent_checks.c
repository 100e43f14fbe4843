/* The data checks cross_entropy and softmax_focal_loss make before any
 * kernel writes. fss_check_labels: the labels' range, the ignored rows and
 * the "mean" denominator in one scan, rather than NumPy's min, max, count
 * and fancy-indexed sum (each a few microseconds on a small batch, more than
 * the kernel); fss_first_bad_weight: the same for np.all(np.isfinite(w))
 * and np.any(w < 0). */
#include <math.h>
#include <stddef.h>

#include "../include/fastsoftmax.h"
#include "../kernels/ksum.h"

/* The label's class weight times the sample weight, in double. */
static double fss_label_weight(fss_dtype wdtype, const void *weight, const double *sample_weight,
                               int64_t i, int64_t t)
{
    double v = 1.0;
    if (weight)
        v = wdtype == FSS_FLOAT32 ? (double)((const float *)weight)[t] : ((const double *)weight)[t];
    if (sample_weight)
        v *= sample_weight[i];
    return v;
}

int fss_check_labels(const fss_label_args *a, fss_label_stats *out)
{
    if (a == NULL || out == NULL || a->n < 0 || a->n_classes < 1)
        return FSS_ERR_ARG;
    if (a->weight && a->weight_dtype != FSS_FLOAT32 && a->weight_dtype != FSS_FLOAT64)
        return FSS_ERR_ARG;
    out->n_ignored = 0;
    out->first_bad = -1;
    out->weight_total = 0.0;
    const int64_t n = a->n, C = a->n_classes, ignore = a->ignore_index;
    const int weighted = a->weight != NULL || a->sample_weight != NULL;
    fss_ksum total = { 0.0, 0.0 };
    if (a->target == NULL) { /* soft targets: every row counts */
        for (int64_t i = 0; i < n && a->sample_weight; ++i)
            fss_ksum_add(&total, a->sample_weight[i]);
        out->weight_total = a->sample_weight ? fss_ksum_value(&total) : (double)n;
        return FSS_OK;
    }
    int64_t ignored = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t t = a->target[i];
        /* ignore_index wins over a class of the same number (as in the
         * kernels). An unsigned target's values from 2^63 up read as
         * negative here: never ignore_index, and, compared as unsigned,
         * above every class. */
        if (t == ignore && !(a->target_unsigned && t < 0)) {
            ++ignored;
        } else if ((uint64_t)t < (uint64_t)C) {
            if (weighted)
                fss_ksum_add(&total, fss_label_weight(a->weight_dtype, a->weight, a->sample_weight, i, t));
        } else {
            out->first_bad = i;
            return FSS_OK;
        }
    }
    out->n_ignored = ignored;
    out->weight_total = weighted ? fss_ksum_value(&total) : (double)(n - ignored);
    return FSS_OK;
}

int64_t fss_first_bad_weight(const double *v, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        if (!(v[i] >= 0.0 && v[i] < INFINITY)) /* NaN fails both */
            return i;
    return -1;
}
