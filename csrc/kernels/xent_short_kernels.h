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
 * one pair of vectors, or one or two tail vectors, one block; with
 * FSS_MASKED_TAIL one masked step), in the same order, so the same bits.
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

/* rest[r] = row_sumexp_c(x[r], n, m[r], e_out[r], &count[r], NULL, NULL,
 * &unit[r]) for r < k (count[r] is added to, e_out[r] may be NULL); n <= 2W.
 * A row's two vectors take their terms interleaved (term_exps, the same
 * bits lane by lane) whether row_sumexp_c would take them as a pair (n = 2W)
 * or in its last step (the block's last vectors); they are summed as it
 * does. */
static void FSS_FN(rows_sumexp_c)(int k, const T *const *x, int64_t n, const T *m, T *const *e_out,
                                  double *rest, double *count, double *unit)
{
#if FSS_EXP_UNSHIFTED
    /* the unshifted plans' em and unit for every row at once, a lane a row
     * (unshifted_plan's steps, lane-wise: the same bits, which
     * test_cross_entropy_groups checks). One row at a time they made
     * cross_entropy of (4096, 10) and (4096, 16) 16-22% slower than the
     * shifted terms; so, 6-8%: for rows this short the plan costs more than
     * the compensation it saves */
    int unshifted[FSS_XENT_ROWS];
    T K[FSS_XENT_ROWS], em[FSS_XENT_ROWS + 16], mg[FSS_XENT_ROWS + 16];
    double d[FSS_XENT_ROWS + 8];
    for (int r = 0; r < FSS_XENT_ROWS + 16; ++r) /* lanes past k: exp(0) */
        em[r] = 0, mg[r] = FSS_FN(unshifted_magic)(0);
    for (int r = 0; r < FSS_XENT_ROWS + 8; ++r)
        d[r] = 0;
    for (int r = 0; r < k; ++r) {
        unshifted[r] = FSS_FN(unshifted_k)(m[r], &K[r]);
        if (!unshifted[r])
            K[r] = 0;
        em[r] = unshifted[r] ? m[r] : 0;
        mg[r] = FSS_FN(unshifted_magic)(K[r]);
        d[r] = FSS_FN(unshifted_d)(em[r], K[r]);
    }
    FSS_FN(lanes_unshifted)(k, em, mg, d);
#endif
    for (int r = 0; r < k; ++r) {
        T *er = e_out[r];
        FSS_FN(term_plan) p;
        int how = FSS_SUB_ORDERED;
#if FSS_EXP_UNSHIFTED
        if (unshifted[r]) {
            p = FSS_FN(unshifted_plan_of)(m[r], K[r], em[r]);
            unit[r] = 1.0 + d[r];
            how = FSS_SUB_NONE;
        } else
#endif
        {
            p = FSS_FN(shifted_plan)(m[r]);
            unit[r] = 1.0;
        }
        FSS_FN(lane_sum) a0 = FSS_FN(lane_sum_start)();
        V c = VOP(set1)(0);
        double cnt = 0.0;
#if FSS_MASKED_TAIL
        /* row_sumexp_c's one masked step; how passed as a constant, as each
         * call inlines its own steps */
        if (how == FSS_SUB_NONE && n <= W)
            FSS_FN(sumexp_masked_step)(x[r], n, m[r], &p, er, &a0, &c, 1, FSS_SUB_NONE, 1);
        else if (how == FSS_SUB_NONE)
            FSS_FN(sumexp_masked_step)(x[r], n, m[r], &p, er, &a0, &c, 1, FSS_SUB_NONE, 2);
        else if (n <= W)
            FSS_FN(sumexp_masked_step)(x[r], n, m[r], &p, er, &a0, &c, 1, FSS_SUB_ORDERED, 1);
        else
            FSS_FN(sumexp_masked_step)(x[r], n, m[r], &p, er, &a0, &c, 1, FSS_SUB_ORDERED, 2);
#else
        /* one or two vectors, the last padded with m (see row_sumexp_c);
         * how passed as a constant, as each call inlines its own steps */
        V e[FSS_EXP_STEP];
        const int nv = FSS_FN(load_last)(x[r], n, m[r], e);
        if (how == FSS_SUB_NONE)
            FSS_FN(term_exps)(e, nv, &p, 1, FSS_SUB_NONE);
        else
            FSS_FN(term_exps)(e, nv, &p, 1, FSS_SUB_ORDERED);
        if (er)
            FSS_FN(store_last)(er, n, e);
        if (n == 2 * W) { /* as row_sumexp_c's last step: a pair */
            FSS_FN(lane_sum_add)(&a0,
                                 VOP(add)(FSS_FN(count_top)(e[0], p.top, &c), FSS_FN(count_top)(e[1], p.top, &c)));
        } else { /* or one by one */
            for (int j = 0; j < nv; ++j)
                FSS_FN(lane_sum_add)(&a0, FSS_FN(count_top)(e[j], p.top, &c));
            if (n % W != 0 && m[r] == m[r])
                cnt -= (double)(W - n % W);
        }
#endif
        fss_ksum total = { 0.0, 0.0 };
        FSS_FN(lane_sum_flush)(&total, a0);
        cnt += ACC(hsum)(ACC(add)(ACC(zero)(), c));
        count[r] += cnt;
        rest[r] = fss_ksum_value(&total) / unit[r];
    }
}

#undef FSS_FN
