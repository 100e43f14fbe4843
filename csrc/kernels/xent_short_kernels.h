/* Cross-entropy kernels for groups of short rows (n <= 2W elements each):
 * row_max and row_sumexp_c row by row inside one call.
 *
 * A short row is a chain of dependent steps with little work in each (load,
 * max, exponential, widening, horizontal sum); one kernel call per row
 * leaves the core waiting on that chain, and the next call's independent
 * chain starts too late to overlap it (a call's prologue and block loops
 * fill the window; on Zen 1 the FP scheduler is the tighter limit). Here the
 * rows' straight-line bodies follow one another in one loop, close enough
 * to overlap. Each row takes exactly the operations row_max and
 * row_sumexp_c take for it (xent_kernels.h, softmax_kernels.h: for n <= 2W
 * one pair of vectors, or one or two tail vectors, one block), in the same
 * order, so the same bits.
 *
 * Included by kernels/instantiate.h after xent_kernels.h. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

/* m[r] = row_max(x[r], n) for r < k; n <= 2W */
static void FSS_FN(rows_max)(int k, const T *const *x, int64_t n, T *m)
{
    const V ninf = VOP(set1)(-(T)INFINITY);
    for (int r = 0; r < k; ++r) {
        V m0 = ninf;
        for (int64_t i = 0; i < n; i += W)
            m0 = VOP(max)(m0, n - i >= W ? VOP(loadu)(x[r] + i) : VOP(load_part)(x[r] + i, n - i, -(T)INFINITY));
        m[r] = VOP(hmax)(VOP(max)(VOP(max)(m0, ninf), VOP(max)(ninf, ninf)));
    }
}

/* rest[r] = row_sumexp_c(x[r], n, m[r], e_out[r], &count[r], NULL, NULL)
 * for r < k (count[r] is added to, e_out[r] may be NULL); n <= 2W. A row's
 * two vectors take their exponentials interleaved (xent_expc_n, the
 * same bits lane by lane) whether row_sumexp_c would take them as a pair
 * (n = 2W) or in its last step (the block's last vectors); they are summed
 * as it does. */
static void FSS_FN(rows_sumexp_c)(int k, const T *const *x, int64_t n, const T *m, T *const *e_out,
                                  double *rest, double *count)
{
    for (int r = 0; r < k; ++r) {
        T *er = e_out[r];
        const V vm = VOP(set1)(m[r]), vnm = VOP(set1)(-m[r]);
        /* one or two vectors, the last padded with m (see row_sumexp_c) */
        V e[FSS_EXP_MAXN];
        const int nv = FSS_FN(load_last)(x[r], n, m[r], e);
        FSS_FN(xent_expc_n)(e, nv, vm, vnm, 1, FSS_SUB_ORDERED);
        if (er)
            FSS_FN(store_last)(er, n, e);
        FSS_FN(lane_sum) a0 = FSS_FN(lane_sum_start)();
        V c = VOP(set1)(0);
        double cnt = 0.0;
        if (n == 2 * W) { /* as row_sumexp_c's last step: a pair */
            FSS_FN(lane_sum_add)(&a0, VOP(add)(FSS_FN(count_ones)(e[0], &c), FSS_FN(count_ones)(e[1], &c)));
        } else { /* or one by one */
            for (int j = 0; j < nv; ++j)
                FSS_FN(lane_sum_add)(&a0, FSS_FN(count_ones)(e[j], &c));
            if (n % W != 0 && m[r] == m[r])
                cnt -= (double)(W - n % W);
        }
        fss_ksum total = { 0.0, 0.0 };
        FSS_FN(lane_sum_flush)(&total, a0);
        cnt += ACC(hsum)(ACC(add)(ACC(zero)(), c));
        count[r] += cnt;
        rest[r] = fss_ksum_value(&total);
    }
}

#undef FSS_FN
