/* Cross-entropy's short rows, a lane a row: the lane kernel of
 * short_row_kernels.h in two halves around the driver's per-row factors.
 *
 * rows_xent_sums moves k <= W rows into the caller's block buffer and
 * leaves there their terms, formed as row_sumexp_c forms them (the
 * compensated exp(x - m), or unshifted with each lane's own unit), with
 * each row's maximum, rest (its terms' sum but the maximum's own, the
 * counted ones included), log1p(rest), unit and its target's term. The
 * driver works out each row's loss and the factor of its terms
 * (xent_driver_body.h, focal_driver_body.h); rows_xent_scale scales the
 * terms by it, split hi + lo (one rounding of the product, where the row
 * kernels' row_scale rounds the factor too), and moves them out.
 *
 * A row's results do not depend on the other rows of its block (the sums
 * by element position, each lane's own plan: short_sums_c), so a row gets
 * the same bits alone, in any block and on any thread. Through the row
 * kernels in groups of rows (xent_short_kernels.h) and the staged driver,
 * the loss and gradient of (65536, 16) float32 took 34 ns a row on Zen 5,
 * a third of it the driver's per-row steps and row_scale's calls: 0.6x
 * PyTorch's forward and backward.
 *
 * Included by kernels/instantiate.h after short_row_kernels.h. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

_Static_assert(FSS_SHORT_MAX_LSM(W) * W <= FSS_XENT_LANE_BUF, "the driver's block buffer holds a block");

/* Rows xr[j] (j < k, n <= FSS_SHORT_MAX_LSM(W) elements, targets t[j] in
 * [0, n)) into block; for each row it takes, m[j], rest[j], L[j] =
 * log1p(rest[j]), unit[j] (block holds exp(x - m) * unit) and et[j], the
 * target's term as stored. Returns a bit per row taken (1 << j): the rows
 * that are not finite, or whose sum is NaN, are left to the caller. */
static int FSS_FN(rows_xent_sums)(const T *const *xr, int64_t n, int k, const int64_t *t, T *block, T *m,
                                  double *rest, double *L, double *unit, double *et)
{
    T(*buf)[W] = (T(*)[W])block;
    T mv[W], nmv[W];
    double r[W] = { 0 }, cnt[W] = { 0 }; /* (set: GCC cannot see every lane written) */
    FSS_FN(short_gather)(buf, xr, n, k);
    int ok = FSS_FN(short_block_max)(buf, n, k, mv, nmv);
    FSS_FN(short_sums_c)(buf, n, VOP(loadu)(mv), VOP(loadu)(nmv), ok, 1, r, cnt, unit);
    for (int j = 0; j < W; ++j)
        r[j] += cnt[j] - 1.0; /* the counted terms of exactly 1 but the max's own */
    FSS_FN(log1p_lanes)(r, L);
    for (int j = 0; j < k; ++j) {
        if (!(ok & (1 << j)) || isnan(r[j])) {
            ok &= ~(1 << j);
            continue;
        }
        m[j] = mv[j], rest[j] = r[j];
        et[j] = (double)buf[t[j]][j];
    }
    return ok;
}

/* yr[j] = the terms rows_xent_sums left in block times s[j], for the rows
 * whose bit is set in ok */
static void FSS_FN(rows_xent_scale)(T *block, T *const *yr, int64_t n, int k, int ok, const double *s)
{
    T(*buf)[W] = (T(*)[W])block;
    T hi[W] = { 0 }, lo[W] = { 0 };
    for (int j = 0; j < W; ++j) {
        const double sj = j < k && (ok & (1 << j)) ? s[j] : 0.0;
        hi[j] = (T)sj;
        lo[j] = (T)(sj - (double)hi[j]);
    }
    const V vh = VOP(loadu)(hi), vl = VOP(loadu)(lo);
    for (int64_t i = 0; i < n; ++i) {
        const V e = VOP(loadu)(buf[i]);
        VOP(storeu)(buf[i], VOP(fmadd)(e, vh, VOP(mul)(e, vl)));
    }
    FSS_FN(short_scatter)(buf, yr, n, k, ok);
}

#undef FSS_FN
