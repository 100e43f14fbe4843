/* A block of short rows with class-index targets through the cross-entropy
 * lane kernels (kernels/xent_lane_kernels.h), for one element type:
 * included by xent_driver_body.h and focal_driver_body.h with T / TS / KSET
 * bound. Both losses' gradients are K (p - onehot(t)) per row, so both
 * drivers take their factors from LBN(grad_factors): the focal loss at
 * gamma = 0 then gives cross_entropy's bits. */

#ifndef LBN
#define LBN(name) FSS_DCAT(FSS_DCAT(fss_lane_, name), FSS_DCAT(_, TS))
#endif

/* Whether rows of n classes take the lane kernels (with class-index
 * targets, and no per-class term in the gradient but the target's) */
static int LBN(takes)(const KSET *k, int64_t n) { return n <= k->short_max[FSS_LOG_SOFTMAX]; }

/* One row of a block, as the lane kernel leaves it */
typedef struct {
    T m;
    double rest, L, unit, et; /* et: the target's term, exp(z_t - m) * unit */
    double zt;
} LBN(row);

/* The block's nb rows z[j] with targets t[j] into block (FSS_XENT_LANE_BUF
 * elements); returns a bit per row taken. A row not taken is not finite or
 * has a NaN sum: the general path's result for it is NaN. */
static int LBN(sums)(const KSET *k, const T *const *z, const int64_t *t, int64_t n, int nb, T *block, LBN(row) *rows)
{
    T m[FSS_SHORT_ROWS_MAX];
    double rest[FSS_SHORT_ROWS_MAX], L[FSS_SHORT_ROWS_MAX], unit[FSS_SHORT_ROWS_MAX], et[FSS_SHORT_ROWS_MAX];
    const int ok = k->rows_xent_sums(z, n, nb, t, block, m, rest, L, unit, et);
    for (int j = 0; j < nb; ++j) {
        if (!(ok & (1 << j)))
            continue;
        LBN(row) *w = &rows[j];
        w->m = m[j], w->rest = rest[j], w->L = L[j], w->unit = unit[j], w->et = et[j];
        w->zt = (double)z[j][t[j]];
    }
    return ok;
}

/* -log p_t = (m - z_t) + log1p(rest): every piece >= 0 */
static double LBN(nll)(const LBN(row) *w) { return ((double)w->m - w->zt) + w->L; }

/* For a gradient r K (p - onehot(t)): *s, the factor of the row's stored
 * terms, and *gt, the target's element (from rest when z_t is the
 * maximum: p_t - 1 = -rest / S, without cancellation). One division: three
 * a row, in one chain, were a fifth of the time of (65536, 16) float32. */
static void LBN(grad_factors)(const LBN(row) *w, double r, double K, double *s, T *gt)
{
    const double inv = 1.0 / ((1.0 + w->rest) * w->unit); /* 1 / (S unit) */
    *s = r * K * inv;
    const double g = w->zt == (double)w->m ? -K * (w->rest * w->unit) * inv : K * w->et * inv - K;
    *gt = (T)(r * g);
}

/* One row's gradient r K (p - onehot(t)) through the row kernels: y holds
 * its terms (the target's among them, w->et is read from there) */
static void LBN(row_grad)(const KSET *k, T *y, int64_t n, int64_t t, LBN(row) w, double r, double K)
{
    w.et = (double)y[t];
    double f;
    T gt;
    LBN(grad_factors)(&w, r, K, &f, &gt);
    /* f as hi + lo: row_scale's one rounding per element, as rows_xent_scale */
    const T hi = (T)f;
    k->row_scale(y, n, hi, (T)(f - (double)hi));
    y[t] = gt;
}

/* The gradient rows y[j] of the rows taken (ok), from the terms in block
 * and each row's grad_factors */
static void LBN(write)(const KSET *k, T *block, T *const *y, const int64_t *t, int64_t n, int nb, int ok,
                       const double *s, const T *gt)
{
    k->rows_xent_scale(block, y, n, nb, ok, s);
    for (int j = 0; j < nb; ++j)
        if (ok & (1 << j))
            y[j][t[j]] = gt[j];
}
