/* The softmax-family kernel bodies, written once against the vector layer.
 *
 * Included by kernels/instantiate.h twice per ISA: once with the float binding
 * (T = float, VOP(x) = vf_x, ACC(x) = vfacc_x) and once with the double one.
 * Nothing here knows which ISA it is compiled for. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

static T FSS_FN(row_max)(const T *restrict x, int64_t n)
{
    const V ninf = VOP(set1)(-(T)INFINITY);
    V m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        m0 = VOP(max)(m0, VOP(loadu)(x + i));
        m1 = VOP(max)(m1, VOP(loadu)(x + i + W));
        m2 = VOP(max)(m2, VOP(loadu)(x + i + 2 * W));
        m3 = VOP(max)(m3, VOP(loadu)(x + i + 3 * W));
    }
    for (; i < n; i += W)
        m0 = VOP(max)(m0, VOP(load_part)(x + i, n - i, -(T)INFINITY));
    return VOP(hmax)(VOP(max)(VOP(max)(m0, m1), VOP(max)(m2, m3)));
}

/* Sum of exp(x - m) over the whole row, exponentials stored to e_out (may
 * alias x): what softmax needs, which divides by the sum and so has no use
 * for row_sumexp_c's exact counting of the maximum's terms (xent_kernels.h).
 * Double: two accumulators, so each lane of a block sums 16 terms (the bound
 * of the double softmax needs that; one accumulator measured 1-2 ULP over it,
 * and one accumulator of pair sums 1 ULP over). Float terms are summed in
 * double; adding pairs in float first keeps the float bounds of
 * tests/test_accuracy.py. */
static double FSS_FN(row_expsum)(const T *x, int64_t n, T m, T *e_out)
{
    const V vm = VOP(set1)(m);
    fss_ksum total = { 0.0, 0.0 };
    int64_t i = 0;
    while (i < n) {
        const int64_t block_end = n - i > FSS_SUM_BLOCK ? i + FSS_SUM_BLOCK : n;
        ACCT a0 = ACC(zero)(), a1 = ACC(zero)();
#if !FSS_SUM_PAIRS
        ACCT c0 = ACC(zero)(), c1 = ACC(zero)();
#endif
        for (; i + 2 * W <= block_end; i += 2 * W) {
            const V e0 = VOP(exp_nonpos)(VOP(sub)(VOP(loadu)(x + i), vm));
            VOP(storeu)(e_out + i, e0);
            const V e1 = VOP(exp_nonpos)(VOP(sub)(VOP(loadu)(x + i + W), vm));
            VOP(storeu)(e_out + i + W, e1);
#if FSS_SUM_PAIRS
            /* float: the pair is added in T before widening (as row_sumexp_c):
             * the terms are >= 0, so this costs at most one rounding of T
             * relative to the row sum, and halves the widening work (12% of
             * this loop on Zen 1) */
            a0 = ACC(add)(a0, VOP(add)(e0, e1));
#else
            /* double: every lane compensated (Fast2Sum): plain lane sums
             * measured up to 3.5 ULP of error, a whole softmax bound's worth;
             * the adds ride on pipes the exponential leaves idle */
            ACC(cadd)(&a0, &c0, e0);
            ACC(cadd)(&a1, &c1, e1);
#endif
        }
        for (; i < block_end; i += W) {
            const int64_t left = block_end - i;
            const V e0 = VOP(exp_nonpos)(VOP(sub)(VOP(load_part)(x + i, left, -(T)INFINITY), vm));
            VOP(store_part)(e_out + i, e0, left);
#if FSS_SUM_PAIRS
            a0 = ACC(add)(a0, e0);
#else
            ACC(cadd)(&a0, &c0, e0);
#endif
        }
        fss_ksum_add(&total, ACC(hsum)(ACC(merge)(a0, a1)));
#if !FSS_SUM_PAIRS
        fss_ksum_add(&total, ACC(hsum)(ACC(merge)(c0, c1)));
#endif
    }
    return fss_ksum_value(&total);
}

/* y *= s + s_lo, one rounding per element (s_lo: the part of the scale s
 * cannot hold, see fss_recip_split; 0 for a plain scale) */
static void FSS_FN(row_scale)(T *restrict y, int64_t n, T s, T s_lo)
{
    const V vs = VOP(set1)(s), vl = VOP(set1)(s_lo);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V y0 = VOP(loadu)(y + i), y1 = VOP(loadu)(y + i + W);
        VOP(storeu)(y + i, VOP(fmadd)(y0, vs, VOP(mul)(y0, vl)));
        VOP(storeu)(y + i + W, VOP(fmadd)(y1, vs, VOP(mul)(y1, vl)));
    }
    for (; i < n; i += W) {
        const V y0 = VOP(load_part)(y + i, n - i, 0);
        VOP(store_part)(y + i, VOP(fmadd)(y0, vs, VOP(mul)(y0, vl)), n - i);
    }
}

static void FSS_FN(row_expscale)(const T *x, int64_t n, T m, T s, T *y)
{
    const V vm = VOP(set1)(m), vs = VOP(set1)(s);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V e0 = VOP(exp_nonpos)(VOP(sub)(VOP(loadu)(x + i), vm));
        const V e1 = VOP(exp_nonpos)(VOP(sub)(VOP(loadu)(x + i + W), vm));
        VOP(storeu)(y + i, VOP(mul)(e0, vs));
        VOP(storeu)(y + i + W, VOP(mul)(e1, vs));
    }
    for (; i < n; i += W) {
        const V e0 = VOP(exp_nonpos)(VOP(sub)(VOP(load_part)(x + i, n - i, m), vm));
        VOP(store_part)(y + i, VOP(mul)(e0, vs), n - i);
    }
}

/* (x - m) - L, in that order: both terms are <= 0, so nothing cancels and an
 * output near 0 keeps its relative precision. */
static void FSS_FN(row_logsub)(const T *x, int64_t n, T m, T L, T *y)
{
    const V vm = VOP(set1)(m), vl = VOP(set1)(L);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V d0 = VOP(sub)(VOP(loadu)(x + i), vm);
        const V d1 = VOP(sub)(VOP(loadu)(x + i + W), vm);
        VOP(storeu)(y + i, VOP(sub)(d0, vl));
        VOP(storeu)(y + i + W, VOP(sub)(d1, vl));
    }
    for (; i < n; i += W)
        VOP(store_part)(y + i, VOP(sub)(VOP(sub)(VOP(load_part)(x + i, n - i, m), vm), vl), n - i);
}

#undef FSS_FN
