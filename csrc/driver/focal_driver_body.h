/* The softmax focal-loss driver for one element type, included by
 * focal_driver.c with T / TS / KSET bound to float or double. The kernels
 * are the cross-entropy ones (row_xent_terms, row_scale of the
 * active kernel table; rows up to the lane kernel's length through the
 * lane kernels, lane_block.h, as cross_entropy takes them); only the
 * per-row focal factor is new.
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

#include "lane_block.h"

static void FFN(fill)(T *y, int64_t n, T v)
{
    for (int64_t j = 0; j < n; ++j)
        y[j] = v;
}

/* The row's loss (returned) and, if K is not NULL, its gradient factor K
 * (see above), from l = -log p_t >= 0 */
static double FFN(factors)(const fss_focal_args *a, int64_t t, double l, double *K)
{
    const double q = -expm1(-l);
    const double qg = pow(q, a->gamma); /* pow(0, 0) = 1: gamma = 0 is cross-entropy */
    const double wt = a->weight ? a->weight[t] : 1.0;
    const double at = a->alpha ? a->alpha[t] : a->alpha_scalar;
    if (K) {
        const double pt = exp(-l);
        const double ratio = q > 0.0 ? l / q : 1.0;
        const double F = pt > 0.0 ? qg * (1.0 + a->gamma * pt * ratio) : qg;
        *K = wt * (at * F);
    }
    return wt * l * (at * qg);
}

/* Whether the rows through the row kernels copy their logits to a scratch
 * row first: in place (gradient = logits), row_xent_terms writes its terms
 * over the row before it knows whether its one pass holds, and then falls
 * back to the logits */
static int FFN(copies)(const KSET *k, const fss_focal_args *a)
{
    return a->grad != NULL && a->grad == a->logits && !LBN(takes)(k, a->n_classes);
}

/* scratch: n elements where FFN(copies) */
static double FFN(row)(const KSET *k, const fss_focal_args *a, int64_t i, T *scratch)
{
    const int64_t n = a->n_classes;
    const T *x = (const T *)a->logits + i * a->x_row_stride, *next = x + a->x_row_stride;
    T *y = a->grad ? (T *)a->grad + i * a->grad_row_stride : NULL;
    const int64_t t = a->target[i];
    if (t == a->ignore_index) {
        if (y)
            FFN(fill)(y, n, 0);
        return 0.0;
    }
    if (scratch) {
        k->row_multo(x, n, (T)1, scratch);
        x = scratch;
    }
    T m, lo;
    const double zt = (double)x[t];
    /* the next row's logits are prefetched during the exponentials */
    const int last = i + 1 >= a->n_rows;
    double count = 0.0, unit;
    double rest = k->row_xent_terms(x, n, t, y, &m, &lo, &count, last ? NULL : next, NULL, &unit);
    if (!isfinite(m) || isnan(rest)) {
        if (y)
            FFN(fill)(y, n, (T)NAN);
        return NAN;
    }
    rest += count - 1.0; /* the counted terms of exactly 1 but the max's own */
    const double L = log1p(rest);
    const double l = ((double)m - zt) + L;
    double K;
    const double loss = FFN(factors)(a, t, l, y ? &K : NULL);
    if (y) { /* K (p - onehot(t)), as cross_entropy's rows */
        const LBN(row) lr = { m, rest, L, unit, 0.0, zt };
        LBN(row_grad)(k, y, n, t, lr, a->grad_scale, K);
    }
    return loss;
}

/* Rows [r0, r1) of up to the lane kernel's length through it, blocks of
 * short_rows consecutive rows (ignored ones left out), their losses into
 * loss (see LBN(grad_factors) for the gradient) */
static void FFN(lanes)(const KSET *k, const fss_focal_args *a, int64_t r0, int64_t r1, double *loss)
{
    const int64_t n = a->n_classes;
    const int per = k->short_rows;
    T block[FSS_XENT_LANE_BUF];
    for (int64_t i0 = r0; i0 < r1; i0 += per) {
        const int g = (int)(r1 - i0 < per ? r1 - i0 : per);
        const T *zr[FSS_SHORT_ROWS_MAX];
        T *yr[FSS_SHORT_ROWS_MAX], gt[FSS_SHORT_ROWS_MAX];
        int64_t tr[FSS_SHORT_ROWS_MAX], ir[FSS_SHORT_ROWS_MAX];
        int nl = 0;
        for (int64_t i = i0; i < i0 + g; ++i) {
            T *y = a->grad ? (T *)a->grad + i * a->grad_row_stride : NULL;
            loss[i - r0] = 0.0;
            if (a->target[i] == a->ignore_index) {
                if (y)
                    FFN(fill)(y, n, 0);
                continue;
            }
            zr[nl] = (const T *)a->logits + i * a->x_row_stride, yr[nl] = y, tr[nl] = a->target[i], ir[nl++] = i;
        }
        if (nl == 0)
            continue;
        LBN(row) rows[FSS_SHORT_ROWS_MAX];
        double s[FSS_SHORT_ROWS_MAX];
        const int ok = LBN(sums)(k, zr, tr, n, nl, block, rows);
        for (int j = 0; j < nl; ++j) {
            if (!(ok & (1 << j))) { /* not finite, or a NaN sum: as FFN(row) */
                loss[ir[j] - r0] = NAN;
                if (yr[j])
                    FFN(fill)(yr[j], n, (T)NAN);
                continue;
            }
            double K;
            loss[ir[j] - r0] = FFN(factors)(a, tr[j], LBN(nll)(&rows[j]), yr[j] ? &K : NULL);
            if (yr[j])
                LBN(grad_factors)(&rows[j], a->grad_scale, K, &s[j], &gt[j]);
        }
        if (a->grad && ok)
            LBN(write)(k, block, yr, tr, n, nl, ok, s, gt);
    }
}

/* Block bi of b: its rows' losses into loss_rows (if any), their sum
 * returned, added in row order */
static double FFN(block)(const KSET *k, const fss_focal_args *a, fss_loss_blocks b, int64_t bi, T *scratch)
{
    T *loss_rows = (T *)a->loss_rows;
    const int64_t r1 = (bi + 1) * b.len < b.units ? (bi + 1) * b.len : b.units;
    double acc = 0.0;
    if (LBN(takes)(k, a->n_classes)) {
        /* the lane kernels, a chunk of rows at a time */
        double loss[4 * FSS_SHORT_ROWS_MAX];
        for (int64_t c0 = bi * b.len; c0 < r1; c0 += 4 * FSS_SHORT_ROWS_MAX) {
            const int64_t c1 = r1 - c0 < 4 * FSS_SHORT_ROWS_MAX ? r1 : c0 + 4 * FSS_SHORT_ROWS_MAX;
            FFN(lanes)(k, a, c0, c1, loss);
            for (int64_t i = c0; i < c1; ++i) {
                if (loss_rows)
                    loss_rows[i] = (T)loss[i - c0];
                acc += loss[i - c0];
            }
        }
        return acc;
    }
    for (int64_t i = bi * b.len; i < r1; ++i) {
        const double l = FFN(row)(k, a, i, scratch);
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
    T *scratch = NULL;
    if (FFN(copies)(k, a)) {
        scratch = (T *)malloc((size_t)n * sizeof(T) * (size_t)nt);
        if (scratch == NULL)
            return FSS_ERR_NOMEM;
    }
    /* one thread stays out of the OpenMP runtime (see fss_bin_run) */
#if defined(_OPENMP)
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t bi = 0; bi < blocks.count; ++bi)
            sums[bi] = FFN(block)(k, a, blocks, bi, scratch ? scratch + (size_t)n * (size_t)omp_get_thread_num() : NULL);
    } else
#endif
    {
        (void)nt;
        for (int64_t bi = 0; bi < blocks.count; ++bi)
            sums[bi] = FFN(block)(k, a, blocks, bi, scratch);
    }
    free(scratch);
    if (loss_sum)
        *loss_sum = fss_loss_blocks_total(sums, blocks.count);
    return FSS_OK;
}

#undef FFN
