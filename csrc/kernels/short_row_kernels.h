/* Short rows (up to FSS_SHORT_MAX elements, see there): W rows
 * at a time, one row per lane.
 * For short rows (10-class classifiers, small attention heads) the general
 * path's three kernel calls, block loops and compensated block sums cost more
 * than the arithmetic, and a row in its own vector leaves most lanes idle and
 * runs one latency chain (max, exp, sum, reciprocal) after another.
 *
 * The block is transposed into a stack buffer (element i of row j at
 * [i][j]), so every step is a vertical vector operation over W rows; the
 * results are transposed back. Same arithmetic as the general path in
 * driver/softmax_driver_body.h: the terms of exactly 1 (the maximum's own)
 * are counted, not summed; softmax scales plain exponentials by 1/sum split hi + lo,
 * log_softmax and logsumexp use the compensated or unshifted ones (term_plan,
 * each lane with its own row's plan: short_sums_c) and log1p(rest) (here a
 * vector log1p over the block's lanes, where the general path, one row at a
 * time, calls libm's; both are within 1 ULP of double). A row's
 * terms are summed in double by element position (short_combine), so a row's result does not
 * depend on the other rows of its block, and -inf elements (exact zero
 * terms) anywhere in a row leave it as its other elements alone would give:
 * the causal driver relies on that. Rows that are not finite, and logsumexp
 * rows whose result cancels (they need the wider re-sum), are left to the
 * general path.
 *
 * Included by kernels/instantiate.h after xent_kernels.h. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))
/* Rows up to these lengths take the lane kernel, 8W - 1 elements for
 * softmax, 8W for log_softmax, 12W for logsumexp (which writes one value a row, so
 * its general path's per-row setup weighs more), each within [32, 64]. On
 * Zen 1 (AVX2) the lane kernel beat the general path for softmax and
 * log_softmax of float rows up to 56 elements (7W; at 48, log_softmax 190 ->
 * 133 ns a row) and of double rows up to 40 (10W), and lost at 64 float
 * (softmax 140 -> 165 ns) and 48 double (261 -> 293); logsumexp won at 64
 * float (181 -> 141) and 48 double (275 -> 220). Once the lane kernel took
 * four element rows a step, float log_softmax of 57-64 elements measured
 * 210-270 -> 145-160 ns a row in it (softmax at 64: 128 -> 140, so it stays
 * at 7W). The crossover scales with W. On Zen 5, once softmax's general
 * path took the one pass from 64 floats (softmax_row_kernels.h), the lane
 * kernel still won at 57-63 floats on AVX2 (cycles a float 3.9 -> 2.5 at 57,
 * 3.57 -> 2.66 at 63) and lost at 64 (2.28 against 2.38-2.50), where the
 * general path's steps have no tail: 8W - 1. Double rows of 57-63 on
 * AVX-512 (8W - 1 = 63 there too) measured the same either way. */
#ifndef FSS_SHORT_MAX
#define FSS_SHORT_CLAMP(n) ((n) < 32 ? 32 : (n) > 64 ? 64 : (n))
#define FSS_SHORT_MAX(w) FSS_SHORT_CLAMP(8 * (w) - 1)
#define FSS_SHORT_MAX_LSM(w) FSS_SHORT_CLAMP(8 * (w))
#define FSS_SHORT_MAX_LSE(w) FSS_SHORT_CLAMP(12 * (w))
#endif

/* buf[i][j] = xr[j][i] for i < n, lanes j >= k zero: blocks of W elements
 * transposed in registers where the ISA can, the rest (the last n % W
 * elements) one by one, or where masks are cheap (FSS_MASKED_TAIL) as one
 * more block of masked loads (on AVX2 masked loads measured slower; on Zen
 * 5 the scalar moves of 8 elements took log_softmax of rows of 24 longer
 * than of rows of 32). A block of k < W rows is transposed too (as many
 * moves as a whole one: 12 rows one by one took longer than 16 in lanes). */
static inline void FSS_FN(short_gather)(T buf[][W], const T *const *xr, int64_t n, int k)
{
    int64_t i0 = 0;
#if FSS_TRANSPOSE
    for (; i0 + W <= n; i0 += W) {
        V v[W];
        if (k == W) /* spelt out: with the test in the loop, whole blocks of 96-128 floats measured 10% slower */
            for (int j = 0; j < W; ++j)
                v[j] = VOP(loadu)(xr[j] + i0);
        else
            for (int j = 0; j < W; ++j)
                v[j] = j < k ? VOP(loadu)(xr[j] + i0) : VOP(set1)(0);
        VOP(transpose)(v);
        for (int j = 0; j < W; ++j)
            VOP(storeu)(buf[i0 + j], v[j]);
    }
#if FSS_MASKED_TAIL
    if (i0 < n) {
        V v[W];
        for (int j = 0; j < W; ++j)
            v[j] = j < k ? VOP(load_part)(xr[j] + i0, n - i0, 0) : VOP(set1)(0);
        VOP(transpose)(v);
        for (int j = 0; j < n - i0; ++j)
            VOP(storeu)(buf[i0 + j], v[j]);
        return;
    }
#endif
#endif
    for (int64_t i = i0; i < n; ++i)
        for (int j = 0; j < W; ++j)
            buf[i][j] = j < k ? xr[j][i] : (T)0;
}

/* yr[j][i] = buf[i][j] for the rows j whose bit is set in ok (as
 * short_gather: W elements at a time in registers) */
static inline void FSS_FN(short_scatter)(T buf[][W], T *const *yr, int64_t n, int k, int ok)
{
    int64_t i0 = 0;
#if FSS_TRANSPOSE
    for (; i0 + W <= n; i0 += W) {
        V v[W];
        for (int j = 0; j < W; ++j)
            v[j] = VOP(loadu)(buf[i0 + j]);
        VOP(transpose)(v);
        if (k == W && ok == (1 << W) - 1)
            for (int j = 0; j < W; ++j)
                VOP(storeu)(yr[j] + i0, v[j]);
        else
            for (int j = 0; j < k; ++j)
                if (ok & (1 << j))
                    VOP(storeu)(yr[j] + i0, v[j]);
    }
#if FSS_MASKED_TAIL
    if (i0 < n) {
        V v[W];
        for (int j = 0; j < W; ++j)
            v[j] = j < n - i0 ? VOP(loadu)(buf[i0 + j]) : VOP(set1)(0);
        VOP(transpose)(v);
        for (int j = 0; j < k; ++j)
            if (ok & (1 << j))
                VOP(store_part)(yr[j] + i0, v[j], n - i0);
        return;
    }
#endif
#endif
    for (int j = 0; j < k; ++j)
        if (ok & (1 << j))
            for (int64_t i = i0; i < n; ++i)
                yr[j][i] = buf[i][j];
}

/* l[j] = log1p(r[j]) for W lane sums r[j] >= 0 (or NaN), VD_W at a time:
 * both short-row kernels take their logs here, so a row gets the same bits
 * in a block and alone (vd_log1p_nonneg; the general path keeps libm's). */
static inline void FSS_FN(log1p_lanes)(const double *r, double *l)
{
    for (int j = 0; j < W; j += VD_W)
        vd_storeu(l + j, vd_log1p_nonneg(vd_loadu(r + j)));
}

/* A row's terms are summed in FSS_SHORT_SUMS accumulators, element i in
 * accumulator i % FSS_SHORT_SUMS, then combined (short_combine): the order
 * is fixed by position alone, and a single row (row_short) runs four
 * independent chains instead of one. Summed in element order, row_short took
 * a row of 128 floats about 100 ns, most of it the one chain of adds. */
#define FSS_SHORT_SUMS 4
_Static_assert(FSS_EXP_STEP % FSS_SHORT_SUMS == 0, "a step's element rows keep their accumulators");

#ifndef FSS_SHORT_COMBINE_COMP
#define FSS_SHORT_COMBINE_COMP
/* The sum of compensated double accumulators: v[q] their sums (a - 1,
 * exact) and c[q] their compensations, added with TwoSum so the
 * combination keeps them */
static inline double fss_short_combine_comp(const double *v, const double *c)
{
    double s = v[0], e = c[0];
    for (int q = 1; q < FSS_SHORT_SUMS; ++q) {
        const double t = s + v[q], b = t - s;
        e += ((s - (t - b)) + (v[q] - b)) + c[q];
        s = t;
    }
    return s + e;
}
#endif

/* The row's sum from its accumulators (float terms: plain double sums;
 * double ones: compensated, fss_short_combine_comp) */
static inline double FSS_FN(short_combine)(const double *v, const double *c)
{
#if FSS_SUM_PAIRS
    (void)c;
    return (v[0] + v[1]) + (v[2] + v[3]);
#else
    return fss_short_combine_comp(v, c);
#endif
}

/* rest[j] = lane j's sum over the accumulators acc (short_combine) */
static inline void FSS_FN(short_sums_store)(double *rest, const FSS_FN(lane_sum) *acc)
{
#if FSS_SUM_PAIRS
    /* short_combine's adds, lane-wise */
    _Static_assert(FSS_SHORT_SUMS == 4, "short_combine's pairs");
    ACC(store)(rest, ACC(merge)(ACC(merge)(acc[0].a, acc[1].a), ACC(merge)(acc[2].a, acc[3].a)));
#else
    double v[FSS_SHORT_SUMS][W], c[FSS_SHORT_SUMS][W];
    for (int q = 0; q < FSS_SHORT_SUMS; ++q) {
        VOP(storeu)(v[q], VOP(sub)(acc[q].a, VOP(set1)(1)));
        VOP(storeu)(c[q], acc[q].c);
    }
    for (int j = 0; j < W; ++j) {
        double vj[FSS_SHORT_SUMS], cj[FSS_SHORT_SUMS];
        for (int q = 0; q < FSS_SHORT_SUMS; ++q)
            vj[q] = v[q][j], cj[q] = c[q][j];
        rest[j] = FSS_FN(short_combine)(vj, cj);
    }
#endif
}

/* softmax's terms in short_sum_pass: plain exp(x - m) */
#define FSS_SHORT_PLAIN (-1)

/* e[j] = the terms of x[j], nv vectors interleaved: for how =
 * FSS_SHORT_PLAIN exp(x - m) (softmax), else by plan p (term_exps: the
 * compensated exp(x - m), or unshifted) */
static FSS_INLINE void FSS_FN(short_terms)(const V *x, V *e, int nv, const FSS_FN(term_plan) *p, const int how)
{
    for (int j = 0; j < nv; ++j)
        e[j] = how == FSS_SHORT_PLAIN ? VOP(sub)(x[j], p->vm) : x[j];
    if (how == FSS_SHORT_PLAIN)
        VOP(exp_nonpos_n)(e, nv, 1);
    else
        FSS_FN(term_exps)(e, nv, p, 1, how);
}

/* Each lane's terms of the block's n element rows, by plan p (a lane a
 * row: p's vectors hold each lane's m, and for unshifted terms its own K),
 * FSS_EXP_STEP element rows at a time (past n: the maximum, discarded),
 * their exponentials interleaved (exp_poly.h); the terms above p->top
 * counted in cnt[j], the others added to their accumulator
 * (FSS_SHORT_SUMS) and combined into rest[j]. store: the terms go back
 * into buf (softmax's, cross-entropy's). how and store are constants at
 * each call. */
static FSS_INLINE void FSS_FN(short_sum_pass)(T buf[][W], int64_t n, const FSS_FN(term_plan) *plan, const int how,
                                              const int store, double *rest, double *cnt)
{
    /* a local copy, kept in registers across the stores (as sumexp_c_loop) */
    const FSS_FN(term_plan) pl = *plan, *p = &pl;
    FSS_FN(lane_sum) acc[FSS_SHORT_SUMS];
    for (int q = 0; q < FSS_SHORT_SUMS; ++q)
        acc[q] = FSS_FN(lane_sum_start)();
    V c = VOP(set1)(0);
    int64_t i = 0;
    /* whole steps spelt out: with the bound nj below, GCC kept the terms
     * and two of the accumulators on the stack */
    for (; i + FSS_EXP_STEP <= n; i += FSS_EXP_STEP) {
        V e0[FSS_EXP_STEP];
        for (int j = 0; j < FSS_EXP_STEP; ++j)
            e0[j] = VOP(loadu)(buf[i + j]);
        FSS_FN(short_terms)(e0, e0, FSS_EXP_STEP, p, how);
        for (int j = 0; store && j < FSS_EXP_STEP; ++j)
            VOP(storeu)(buf[i + j], e0[j]);
        for (int j = 0; j < FSS_EXP_STEP; ++j)
            FSS_FN(lane_sum_add)(&acc[j % FSS_SHORT_SUMS], FSS_FN(count_top)(e0[j], p->top, &c));
    }
    for (; i < n; i += FSS_EXP_STEP) {
        const int nj = n - i < FSS_EXP_STEP ? (int)(n - i) : FSS_EXP_STEP;
        V x0[FSS_EXP_STEP], e0[FSS_EXP_STEP];
        for (int j = 0; j < FSS_EXP_STEP; ++j)
            x0[j] = j < nj ? VOP(loadu)(buf[i + j]) : p->vm;
        /* a last one or two as a pair: four measured 10% slower on 9 */
        if (nj > 2)
            FSS_FN(short_terms)(x0, e0, FSS_EXP_STEP, p, how);
        else
            FSS_FN(short_terms)(x0, e0, 2, p, how);
        for (int j = 0; store && j < nj; ++j)
            VOP(storeu)(buf[i + j], e0[j]);
        for (int j = 0; j < nj; ++j)
            FSS_FN(lane_sum_add)(&acc[j % FSS_SHORT_SUMS], FSS_FN(count_top)(e0[j], p->top, &c));
    }
    FSS_FN(short_sums_store)(rest, acc);
    ACC(store)(cnt, ACC(add)(ACC(zero)(), c));
}

/* The shifted plan of the lanes' maxima vm (vnm = -vm) */
static inline FSS_FN(term_plan) FSS_FN(short_shifted_plan)(V vm, V vnm)
{
    FSS_FN(term_plan) p = FSS_FN(shifted_plan)(0);
    p.vm = vm, p.vnm = vnm;
    return p;
}

/* Rows of at least this many elements take unshifted terms in the lane
 * kernel where their maximum allows (short_sums_c); shorter ones the
 * compensated exp(x - m): the plan's own steps (K, the unit exp(d) in
 * double, the division by it) cost a block more than the compensation
 * saves below 24-28 elements (Zen 5; at 16, AVX-512 logsumexp 8.8 -> 9.3 ns
 * a row, AVX2 13.1 -> 13.8). A causal prefix decides by its whole row's
 * length (row_short's n_plan), as the row padded with -inf does. */
#define FSS_SHORT_UNSHIFTED_MIN 32

/* The lanes whose rows take unshifted terms (|m| <= FSS_UNSHIFTED_M_MAX),
 * a bit each, and far: the others */
static FSS_INLINE int FSS_FN(short_unshifted_lanes)(V vm, VM *far)
{
    *far = VOP(lt)(VOP(set1)((T)FSS_UNSHIFTED_M_MAX), VOP(abs)(vm));
    int uns = (1 << W) - 1;
    if (FSS_CAT(VM, _any)(*far)) {
        T fv[W];
        VOP(storeu)(fv, VOP(one_where)(*far));
        for (int j = 0; j < W; ++j)
            uns &= fv[j] != 0 ? ~(1 << j) : ~0;
    }
    return uns;
}

#if FSS_EXP_UNSHIFTED
/* short_sums_c's unshifted pass (unshifted_plan's steps, lane by lane) for
 * every lane; the far lanes compute on m = K = 0, off the exponential's
 * wide path, and are discarded. unit[j]: lane j's factor exp(m - K ln2),
 * divided out of rest[j] (and left in the stored terms). */
static FSS_INLINE void FSS_FN(short_sums_unshifted)(T buf[][W], int64_t n, V vm, V vnm, VM far, const int store,
                                                    double *rest, double *cnt, double *unit)
{
    const V vK = VOP(zero_where)(far, VOP(round)(VOP(mul)(vm, VOP(set1)(1.44269504088896341f))));
    const V m0 = VOP(zero_where)(far, vm);
    FSS_FN(term_plan) p = FSS_FN(short_shifted_plan)(vm, vnm);
    p.K = vK;
    p.magic = vf_exp_magic_v(vK);
    /* the far lanes' thr: -FLT_MAX, below every x but -inf */
    p.thr = VOP(select)(far, VOP(set1)(-3.40282347e+38f),
                        VOP(mul)(VOP(sub)(vK, VOP(set1)(124.0f)), VOP(set1)(0.693147182f)));
    V em = m0;
    vf_exp_biased_n(&em, 1, p.magic);
    /* the float below em, as unshifted_plan_of (em is normal, in [0.7, 1.42]) */
    p.top = VOP(mul)(em, VOP(set1)(1.0f - 5.9604644775390625e-08f));
    double md[W], kd[W];
    ACC(store)(md, ACC(add)(ACC(zero)(), m0));
    ACC(store)(kd, ACC(add)(ACC(zero)(), vK));
    for (int j = 0; j < W; j += VD_W) { /* unit = exp(unshifted_d) */
        const vd d = vd_sub(vd_loadu(md + j), vd_mul(vd_loadu(kd + j), vd_set1(0.6931471805599453)));
        vd_storeu(unit + j, vd_add(vd_set1(1.0), vd_expm1_reduced(d)));
    }
    FSS_FN(short_sum_pass)(buf, n, &p, FSS_SUB_NONE, store, rest, cnt);
    for (int j = 0; j < W; j += VD_W)
        vd_storeu(rest + j, vd_div(vd_loadu(rest + j), vd_loadu(unit + j)));
}
#endif

/* The sums of log_softmax's, logsumexp's and cross-entropy's terms, a lane
 * a row, formed as the general path forms them (row_sumexp_c): a float row
 * whose maximum allows (FSS_SHORT_UNSHIFTED_MIN, unshifted_k) takes
 * unshifted terms with its own K, divided by its own unit; the others the
 * compensated exp(x - m), unit 1. A block whose rows differ takes both
 * passes and each lane the one its row takes, so a row gets the same bits
 * whatever its neighbours (the second pass is rare: logits up to 64 in
 * magnitude are the common case); where the terms are stored (store), the
 * second pass reads a copy of the block the first has not overwritten. The
 * unshifted terms save the compensation's five operations a term: in the
 * same loop, log_softmax of rows of 64 floats measured 25.5 -> 24 ns a row,
 * of 128 46 -> 43.5 (Zen 5, AVX-512), logsumexp 20.7 -> 19.5 and 36.5 ->
 * 33; with the loop's whole steps spelt out (short_sum_pass), log_softmax
 * of 128 went 48 -> 39.6 and logsumexp 36.7 -> 29.5 in all. */
static FSS_INLINE void FSS_FN(short_sums_c)(T buf[][W], int64_t n, V vm, V vnm, int ok, const int store,
                                           double *rest, double *cnt, double *unit)
{
    int uns = 0;
    for (int j = 0; j < W; ++j)
        unit[j] = 1.0;
#if FSS_EXP_UNSHIFTED
    T keep[FSS_SHORT_MAX_LSE(W)][W]; /* used where store is set */
    if (n >= FSS_SHORT_UNSHIFTED_MIN) {
        VM far;
        uns = FSS_FN(short_unshifted_lanes)(vm, &far) & ok;
        if (store && uns && (ok & ~uns))
            memcpy(keep, buf, (size_t)n * sizeof buf[0]);
        if (uns)
            FSS_FN(short_sums_unshifted)(buf, n, vm, vnm, far, store, rest, cnt, unit);
    }
#endif
    if (!(ok & ~uns))
        return;
    /* straight into rest and cnt where no lane took the unshifted pass */
    const FSS_FN(term_plan) p = FSS_FN(short_shifted_plan)(vm, vnm);
    if (!uns) {
        FSS_FN(short_sum_pass)(buf, n, &p, FSS_SUB_ORDERED, store, rest, cnt);
        return;
    }
#if FSS_EXP_UNSHIFTED
    double rest_s[W], cnt_s[W];
    T(*src)[W] = store ? keep : buf;
    FSS_FN(short_sum_pass)(src, n, &p, FSS_SUB_ORDERED, store, rest_s, cnt_s);
    for (int j = 0; j < W; ++j) {
        if (uns & (1 << j))
            continue;
        rest[j] = rest_s[j], cnt[j] = cnt_s[j], unit[j] = 1.0;
        for (int64_t i = 0; store && i < n; ++i)
            buf[i][j] = src[i][j];
    }
#endif
}

#if FSS_SHORT_WIDE_LSE
/* logsumexp of the block's rows that cancel (|m + log1p(r)| small next to
 * log1p(r), so the float terms' own rounding would show: see DFN(lse_of)
 * in the driver), every lane summed again wider: the terms exp(x - m) in
 * double (x - m exact but where the term is too small to matter), those
 * of exactly 1 counted, the others summed by position in compensated
 * double accumulators (lane_sum's Fast2Sum, from 1); log1p lane by lane.
 * The general path's wide_lse, lane by lane: the same accuracy. Declined
 * to the general path instead, logsumexp of rows of 4 normal floats (half
 * of which cancel) took 47 ns a row, log_softmax 8 (Zen 5). */
static FSS_OUTLINE void FSS_FN(short_wide_lse)(T buf[][W], int64_t n, const T *mv, double *lse)
{
    double bd[FSS_SHORT_MAX_LSE(W)][W], md[W], r[W], l1p[W];
    for (int64_t i = 0; i < n; ++i)
        ACC(store)(bd[i], ACC(add)(ACC(zero)(), VOP(loadu)(buf[i])));
    for (int j = 0; j < W; ++j)
        md[j] = (double)mv[j];
    const vd top = vd_set1(1.0 - 1.1102230246251565e-16);
    for (int j0 = 0; j0 < W; j0 += VD_W) {
        const vd vm = vd_loadu(md + j0);
        vd a[FSS_SHORT_SUMS], comp[FSS_SHORT_SUMS], cnt = vd_set1(0);
        for (int q = 0; q < FSS_SHORT_SUMS; ++q)
            a[q] = vd_set1(1), comp[q] = vd_set1(0);
        /* whole rounds of the accumulators, their exponentials interleaved */
        for (int64_t i0 = 0; i0 < n; i0 += FSS_SHORT_SUMS) {
            vd e[FSS_SHORT_SUMS];
            for (int q = 0; q < FSS_SHORT_SUMS; ++q) /* past n: the maximum, term 1, not added */
                e[q] = vd_sub(i0 + q < n ? vd_loadu(bd[i0 + q] + j0) : vm, vm);
            vd_exp_nonpos_n(e, FSS_SHORT_SUMS, 1);
            for (int q = 0; q < FSS_SHORT_SUMS; ++q) {
                if (i0 + q >= n)
                    break;
                const vdm one = vd_lt(top, e[q]);
                cnt = vd_add(cnt, vd_one_where(one));
                const vd eq = vd_zero_where(one, e[q]);
                const vd t = vd_add(a[q], eq);
                comp[q] = vd_add(comp[q], vd_sub(eq, vd_sub(t, a[q])));
                a[q] = t;
            }
        }
        double av[FSS_SHORT_SUMS][VD_W], cv[FSS_SHORT_SUMS][VD_W], nv[VD_W];
        for (int q = 0; q < FSS_SHORT_SUMS; ++q) {
            vd_storeu(av[q], vd_sub(a[q], vd_set1(1)));
            vd_storeu(cv[q], comp[q]);
        }
        vd_storeu(nv, cnt);
        for (int j = 0; j < VD_W; ++j) {
            double v[FSS_SHORT_SUMS], c[FSS_SHORT_SUMS];
            for (int q = 0; q < FSS_SHORT_SUMS; ++q)
                v[q] = av[q][j], c[q] = cv[q][j];
            r[j0 + j] = fss_short_combine_comp(v, c) + (nv[j] - 1.0);
        }
    }
    FSS_FN(log1p_lanes)(r, l1p);
    for (int j = 0; j < W; ++j)
        lse[j] = md[j] + l1p[j];
}
#endif

/* mv[j] = the maximum of lane j's row (buf as short_gather leaves it), and
 * nmv[j] = -mv[j]; returns a bit per finite row j < k. A row that is not
 * finite takes the general path; its lane computes on a stand-in maximum of
 * 0 and is discarded. Four chains of maxima, not one (a NaN may or may not
 * show in the maximum either way; it shows in the sum, and the row is
 * declined). */
static inline int FSS_FN(short_block_max)(T buf[][W], int64_t n, int k, T *mv, T *nmv)
{
    V m4[4];
    for (int q = 0; q < 4; ++q)
        m4[q] = VOP(set1)(-(T)INFINITY);
    int64_t i4 = 0;
    for (; i4 + 4 <= n; i4 += 4)
        for (int q = 0; q < 4; ++q)
            m4[q] = VOP(max)(m4[q], VOP(loadu)(buf[i4 + q]));
    for (; i4 < n; ++i4)
        m4[0] = VOP(max)(m4[0], VOP(loadu)(buf[i4]));
    VOP(storeu)(mv, VOP(max)(VOP(max)(m4[0], m4[1]), VOP(max)(m4[2], m4[3])));
    int ok = 0;
    for (int j = 0; j < W; ++j) {
        if (j < k && isfinite(mv[j]))
            ok |= 1 << j;
        else if (!isfinite(mv[j]))
            mv[j] = 0;
        nmv[j] = -mv[j];
    }
    return ok;
}

/* k <= W rows x[j] -> y[j] of n <= FSS_SHORT_MAX_LSE(W) elements each (op as
 * fss_op; y[j] may be x[j]). Returns a bit per row written (1 << j); a row whose bit is clear
 * is untouched. */
static int FSS_FN(rows_short)(int op, const T *const *xr, T *const *yr, int64_t n, int k)
{
    T buf[FSS_SHORT_MAX_LSE(W)][W], mv[W], hi[W] = { 0 }, lo[W] = { 0 }; /* (set: GCC cannot see every lane written) */
    double rest[W] = { 0 }, cnt[W] = { 0 };
    /* lanes past k hold zeros: finite, and their results are never stored */
    FSS_FN(short_gather)(buf, xr, n, k);
    T nmv[W];
    int ok = FSS_FN(short_block_max)(buf, n, k, mv, nmv);
    const V vm = VOP(loadu)(mv), vnm = VOP(loadu)(nmv);
    if (op == 0) {
        const FSS_FN(term_plan) p = FSS_FN(short_shifted_plan)(vm, vnm);
        FSS_FN(short_sum_pass)(buf, n, &p, FSS_SHORT_PLAIN, 1, rest, cnt);
    } else {
        double unit[W];
        FSS_FN(short_sums_c)(buf, n, vm, vnm, ok, 0, rest, cnt, unit);
    }
    double r[W], l1p[W];
    int cancel = 0;
    for (int j = 0; j < W; ++j)
        r[j] = rest[j] + (cnt[j] - 1.0);
    if (op != 0) {
        FSS_FN(log1p_lanes)(r, l1p);
    } else {
        /* fss_recip_split_TS of 1 + r, its divisions VD_W lanes at a time
         * (the same operations; one lane's division after another took a
         * tenth of softmax's time on rows of 4). The residual's fma stays
         * scalar: the scalar layer's vd_fmadd rounds twice. */
        double inv[W];
        for (int j = 0; j < W; j += VD_W)
            vd_storeu(inv + j, vd_div(vd_set1(1.0), vd_add(vd_set1(1.0), vd_loadu(r + j))));
        for (int j = 0; j < W; ++j) {
            const double res = fma(-(1.0 + r[j]), inv[j], 1.0) * inv[j];
            hi[j] = (T)inv[j];
            lo[j] = sizeof(T) == sizeof(double) ? (T)res : (T)((inv[j] - (double)hi[j]) + res);
        }
    }
    for (int j = 0; j < k; ++j) {
        if (!(ok & (1 << j)))
            continue;
        if (isnan(rest[j])) {
            ok &= ~(1 << j);
            continue;
        }
        if (op == 0) {
            continue;
        } else if (op == 1) {
            hi[j] = (T)l1p[j];
        } else {
            const double lse = (double)mv[j] + l1p[j];
            if (fabs(lse) <= 2.5 * r[j] / (1.0 + r[j]))
                cancel |= 1 << j; /* summed again wider (short_wide_lse) */
            else
                *yr[j] = (T)lse;
        }
    }
    if (op == 2) {
        if (cancel) {
#if FSS_SHORT_WIDE_LSE
            double lse[W];
            FSS_FN(short_wide_lse)(buf, n, mv, lse);
            for (int j = 0; j < k; ++j)
                if (cancel & (1 << j))
                    *yr[j] = (T)lse[j];
#else
            ok &= ~cancel; /* the general path sums them again wider */
#endif
        }
        return ok;
    }
    for (int j = k; j < W; ++j)
        hi[j] = lo[j] = 0;
    if (op == 0) {
        const V vh = VOP(loadu)(hi), vl = VOP(loadu)(lo);
        for (int64_t i = 0; i < n; ++i) {
            const V e = VOP(loadu)(buf[i]);
            VOP(storeu)(buf[i], VOP(fmadd)(e, vh, VOP(mul)(e, vl)));
        }
    } else {
        /* (x - m) - L, in that order (see row_logsub) */
        const V vL = VOP(loadu)(hi);
        for (int64_t i = 0; i < n; ++i)
            VOP(storeu)(buf[i], FSS_FN(logsub_v)(VOP(loadu)(buf[i]), vm, vL));
    }
    FSS_FN(short_scatter)(buf, yr, n, k, ok);
    return ok;
}

/* One row (see rows_short): 1 if written, 0 if the general path must take
 * it. Its elements sit in vectors of their own rather than a block's lanes,
 * with the same exponentials (lane-wise, the same on either exp path) and the
 * same sums by element position, so the same bits as rows_short. n_plan:
 * the length of the rows it stands for (n, or a causal prefix's whole row),
 * which picks the plan of its terms as rows_short's n does. */
static int FSS_FN(row_short)(int op, const T *x, int64_t n, int64_t n_plan, T *y)
{
    T e[FSS_SHORT_MAX_LSE(W)];
    const T ninf = -(T)INFINITY;
    V vmax = VOP(set1)(ninf);
    for (int64_t i = 0; i < n; i += W)
        vmax = VOP(max)(vmax, n - i >= W ? VOP(loadu)(x + i) : VOP(load_part)(x + i, n - i, ninf));
    const T m = VOP(hmax)(vmax);
    if (!isfinite(m))
        return 0;
    const V vm = VOP(set1)(m);
    /* the lane kernel's plan for this row (short_sums_c) */
    FSS_FN(term_plan) p = FSS_FN(shifted_plan)(m);
    double unit = 1.0;
    int how = op == 0 ? FSS_SHORT_PLAIN : FSS_SUB_ORDERED;
#if FSS_EXP_UNSHIFTED
    if (op != 0 && n_plan >= FSS_SHORT_UNSHIFTED_MIN && FSS_FN(unshifted_plan)(m, &p, &unit))
        how = FSS_SUB_NONE;
#else
    (void)n_plan;
#endif
    /* padding lanes are never summed or stored: padded with m, which keeps
     * the exponential on its common path */
    for (int64_t i = 0; i < n; i += W) {
        const V xi = n - i >= W ? VOP(loadu)(x + i) : VOP(load_part)(x + i, n - i, m);
        V ei;
        if (how == FSS_SHORT_PLAIN)
            FSS_FN(short_terms)(&xi, &ei, 1, &p, FSS_SHORT_PLAIN);
        else if (how == FSS_SUB_NONE)
            FSS_FN(short_terms)(&xi, &ei, 1, &p, FSS_SUB_NONE);
        else
            FSS_FN(short_terms)(&xi, &ei, 1, &p, FSS_SUB_ORDERED);
        VOP(storeu)(e + i, ei);
    }
    const T top = VOP(hmax)(p.top);
    /* the lane kernel's sums, one lane (lane_sum in xent_kernels.h) */
    double v[FSS_SHORT_SUMS], comp[FSS_SHORT_SUMS], count = 0.0;
    for (int q = 0; q < FSS_SHORT_SUMS; ++q)
        v[q] = FSS_SUM_PAIRS ? 0.0 : 1.0, comp[q] = 0.0;
    /* whole rounds of the accumulators, so each stays in a register */
    for (int64_t i0 = 0; i0 < n; i0 += FSS_SHORT_SUMS)
        for (int q = 0; q < FSS_SHORT_SUMS; ++q) {
            const int64_t i = i0 + q;
            if (i >= n)
                break;
            if (e[i] > top) { /* count_top */
                count += 1.0;
                continue;
            }
#if FSS_SUM_PAIRS
            v[q] += (double)e[i];
#else
            const double t = v[q] + (double)e[i];
            comp[q] += (double)e[i] - (t - v[q]);
            v[q] = t;
#endif
        }
#if !FSS_SUM_PAIRS
    for (int q = 0; q < FSS_SHORT_SUMS; ++q)
        v[q] -= 1.0;
#endif
    const double rest = FSS_FN(short_combine)(v, comp) / unit;
    if (isnan(rest))
        return 0;
    /* r and its log1p in lane 0 (the same function as log1p_lanes) */
    double r[VD_W], l1p[VD_W];
    r[0] = rest + (count - 1.0);
    if (op != 0)
        vd_storeu(l1p, vd_log1p_nonneg(vd_set1(r[0])));
    if (op == 2) {
        const double lse = (double)m + l1p[0];
        if (fabs(lse) <= 2.5 * r[0] / (1.0 + r[0])) {
#if FSS_SHORT_WIDE_LSE
            /* as in a block: the row in lane 0 (the lanes are independent) */
            T wb[FSS_SHORT_MAX_LSE(W)][W], wm[W];
            for (int64_t i = 0; i < n; ++i)
                for (int j = 0; j < W; ++j)
                    wb[i][j] = j == 0 ? x[i] : (T)0;
            for (int j = 0; j < W; ++j)
                wm[j] = j == 0 ? m : (T)0;
            double wl[W];
            FSS_FN(short_wide_lse)(wb, n, wm, wl);
            *y = (T)wl[0];
            return 1;
#else
            return 0;
#endif
        }
        *y = (T)lse;
        return 1;
    }
    T hi, lo = 0;
    if (op == 0)
        FSS_CAT(fss_recip_split_, TS)(1.0 + r[0], &hi, &lo);
    else
        hi = (T)l1p[0];
    const V vh = VOP(set1)(hi), vl = VOP(set1)(lo);
    for (int64_t i = 0; i < n; i += W) {
        V v;
        if (op == 0) {
            const V ei = VOP(loadu)(e + i);
            v = VOP(fmadd)(ei, vh, VOP(mul)(ei, vl));
        } else {
            v = FSS_FN(logsub_v)(n - i >= W ? VOP(loadu)(x + i) : VOP(load_part)(x + i, n - i, 0), vm, vh);
        }
        if (n - i >= W)
            VOP(storeu)(y + i, v);
        else
            VOP(store_part)(y + i, v, n - i);
    }
    return 1;
}

#undef FSS_FN
