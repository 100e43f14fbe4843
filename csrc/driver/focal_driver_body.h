/* The softmax focal-loss driver for one element type, included by
 * focal_driver.c with T / TS / KSET bound to float or double. The row
 * kernels are the cross-entropy ones (row_maxmin, row_sumexp_c, row_scale of
 * the active kernel table); only the per-row focal factor is new.
 *
 * Per row with target t (classes contiguous):
 *   m = max z, rest = sum_{j != max} exp(z_j - m) (compensated), S = 1 + rest
 *   l = -log p_t = (m - z_t) + log1p(rest)   >= 0, accurate when tiny
 *   q = 1 - p_t = -expm1(-l)                  accurate near p_t = 1
 *   loss = w_t * alpha_t * q^gamma * l
 * Gradient with respect to z_j. With dl/dz_j = p_j - [j=t] and
 * dq/dz_j = p_t (p_j - [j=t]):
 *   d(q^g l)/dz_j = (p_j - [j=t]) * (q^g + g p_t l q^(g-1))
 *                 = (p_j - [j=t]) * F,   F = q^g * (1 + g p_t (l / q)).
 * l / q -> 1 as q -> 0 (l = -log(1 - q)), so F stays finite for every
 * gamma >= 0 (q^(g-1) alone is infinite at q = 0 for g < 1, which is where
 * autograd of the textbook formula gives NaN), and p_t l -> 0 as p_t -> 0.
 * So grad = K (p - onehot(t)) with K = w_t alpha_t F: cross-entropy's
 * gradient scaled per row. It is written exactly as the cross-entropy
 * driver writes it (e * K/S, and the target element from rest when z_t is
 * the maximum), which makes gamma = 0 reproduce cross_entropy bit for bit. */

#define FFN(name) FSS_DCAT(FSS_DCAT(fss_focal_, name), FSS_DCAT(_, TS))

static void FFN(fill)(T *y, int64_t n, T v)
{
    for (int64_t j = 0; j < n; ++j)
        y[j] = v;
}

static double FFN(row)(const KSET *k, const fss_focal_args *a, int64_t i)
{
    const int64_t n = a->n_classes;
    const T *x = (const T *)a->logits + i * a->x_row_stride;
    T *y = a->grad ? (T *)a->grad + i * a->grad_row_stride : NULL;
    const int64_t t = a->target[i];
    if (t == a->ignore_index) {
        if (y)
            FFN(fill)(y, n, 0);
        return 0.0;
    }
    T lo;
    const T m = k->row_maxmin(x, n, &lo);
    if (!isfinite(m)) {
        if (y)
            FFN(fill)(y, n, (T)NAN);
        return NAN;
    }
    const double zt = (double)x[t];
    /* the next row's logits are prefetched during the exponentials */
    const int last = i + 1 >= a->n_rows;
    double count = 0.0, unit;
    double rest = k->row_sumexp_c(x, n, m, lo, y, &count, last ? NULL : x + a->x_row_stride, NULL, &unit);
    if (isnan(rest)) {
        if (y)
            FFN(fill)(y, n, (T)NAN);
        return NAN;
    }
    rest += count - 1.0; /* the counted terms of exactly 1 but the max's own */
    const double S = 1.0 + rest;
    const double l = ((double)m - zt) + log1p(rest);
    const double q = -expm1(-l);
    const double qg = pow(q, a->gamma); /* pow(0, 0) = 1: gamma = 0 is cross-entropy */
    const double wt = a->weight ? a->weight[t] : 1.0;
    const double at = a->alpha ? a->alpha[t] : a->alpha_scalar;
    const double loss = wt * l * (at * qg);
    if (y) {
        const double pt = exp(-l);
        const double ratio = q > 0.0 ? l / q : 1.0;
        const double F = pt > 0.0 ? qg * (1.0 + a->gamma * pt * ratio) : qg;
        const double K = wt * (at * F);
        const double r = a->grad_scale;
        const double et = (double)y[t] / unit; /* the stored terms are exp(x - m) * unit */
        k->row_scale(y, n, (T)(r * K / (S * unit)), 0);
        const double gt = zt == (double)m ? -K * rest / S : K * et / S - K; /* K (p_t - 1) */
        y[t] = (T)(r * gt);
    }
    return loss;
}

/* Block bi of b: its rows' losses into loss_rows (if any), their sum
 * returned, added in row order */
static double FFN(block)(const KSET *k, const fss_focal_args *a, fss_loss_blocks b, int64_t bi)
{
    T *loss_rows = (T *)a->loss_rows;
    const int64_t r1 = (bi + 1) * b.len < b.units ? (bi + 1) * b.len : b.units;
    double acc = 0.0;
    for (int64_t i = bi * b.len; i < r1; ++i) {
        const double l = FFN(row)(k, a, i);
        if (loss_rows)
            loss_rows[i] = (T)l;
        acc += l;
    }
    return acc;
}

/* Rows in whole blocks per thread; the total has the same bits for any
 * thread count (loss_total.h). */
static int FFN(run)(const KSET *k, const fss_focal_args *a, double *loss_sum, int num_threads)
{
    const int64_t rows = a->n_rows, n = a->n_classes;
    if (loss_sum)
        *loss_sum = 0.0;
    if (rows == 0)
        return FSS_OK;
    const fss_loss_blocks blocks = fss_loss_blocks_for(rows, 1, FSS_LOSS_MIN_BLOCK / (n > 0 ? n : 1) + 1);
    const int nt = fss_threads_for(rows * (n > 0 ? n : 1), blocks.count, num_threads);
    double sums[FSS_LOSS_BLOCKS];
    /* one thread stays out of the OpenMP runtime (see fss_bin_run) */
#if defined(_OPENMP)
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t bi = 0; bi < blocks.count; ++bi)
            sums[bi] = FFN(block)(k, a, blocks, bi);
    } else
#endif
    {
        (void)nt;
        for (int64_t bi = 0; bi < blocks.count; ++bi)
            sums[bi] = FFN(block)(k, a, blocks, bi);
    }
    if (loss_sum)
        *loss_sum = fss_loss_blocks_total(sums, blocks.count);
    return FSS_OK;
}

#undef FFN
