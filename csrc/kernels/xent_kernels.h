/* The cross-entropy kernel bodies, written once against the vector layer.
 *
 * Included by kernels/instantiate.h right after softmax_kernels.h, with the
 * same T / TS / V / VOP / ACC bindings (once for float, once for double).
 * The cross-entropy driver (driver/xent_driver_body.h) combines them with the
 * softmax row kernels through the kernel table. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))
#define LOGSUB_ROW FSS_CAT(fss_logsub_row_, TS)

/* exp(x - m) with the rounding error of the subtraction folded back in:
 * d = x - m is split exactly as hi + lo (Fast2Sum, see xent_sub_err), and
 * exp(d) = exp(hi) * (1 + lo) to first order. Without this a term with
 * |x - m| ~ 70 carries ~70 ULP of error, which is the whole loss of a
 * confident prediction. On the wide path (a lane below the normal range) lo
 * is zeroed where hi < -1000 (exp is 0 there anyway; for x = -inf lo would
 * be NaN); a NaN x still gives NaN. The common path needs no such guard.
 * Folding lo into the exponential's argument reduction instead (one add for
 * the FMA) is as accurate and shorter on paper, but measured 4% slower on
 * Zen 1: these loops are bound by the add pipes, not the FMA ones. */
static FSS_COLD V FSS_FN(xent_expc_wide)(V s, V lo)
{
    lo = VOP(zero_where)(VOP(lt)(s, VOP(set1)(-(T)1000)), lo);
    const V e = VOP(exp_nonpos_wide)(s);
    return VOP(fmadd)(e, lo, e);
}

#ifndef FSS_SUB_ORDERED
/* How xent_sub_err finds the rounding error of x - m: by Fast2Sum, exact
 * when the operand larger in magnitude comes first. Every x <= m, so that
 * operand is min(x, -m): for m < 0 it is x, and for m >= 0, |x| >= m exactly
 * where x <= -m. Ordering lane by lane takes four operations (TwoSum, which
 * needs no order, five); where the row's range fixes the order, two. All
 * give the same error, so the same bits: row_sumexp_c picks the cheapest
 * the row allows. Counted with the terms of 1 (sumexp_c_loop), the float
 * loop went from 11.0 to 8.9 ns per 8 on Zen 1 (9.55 lane by lane). */
#define FSS_SUB_ORDERED 0 /* any x <= m */
#define FSS_SUB_M_LARGER 1 /* |m| >= |x| for every x of the row */
#define FSS_SUB_X_LARGER 2 /* |x| >= |m| for every x: m <= 0 */
#define FSS_SUB_NONE 3 /* no subtraction: unshifted terms (term_plan) */
#define FSS_SUB_TERMS 4 /* no exponential: x holds the terms already (row_xent_terms) */
#endif

/* the rounding error of s = x - m (vnm = -m), exactly; how: FSS_SUB_*.
 * x = -inf or m = +inf makes it NaN (the wide path zeroes it there, see
 * xent_expc_wide); a NaN x or m makes s NaN. */
static FSS_INLINE V FSS_FN(xent_sub_err)(V x, V s, V vnm, const int how)
{
    if (how == FSS_SUB_M_LARGER)
        return VOP(sub)(x, VOP(sub)(s, vnm));
    if (how == FSS_SUB_X_LARGER)
        return VOP(sub)(vnm, VOP(sub)(s, x));
    const V a = VOP(min)(x, vnm), b = VOP(max)(x, vnm);
    return VOP(sub)(b, VOP(sub)(s, a));
}

/* The compensated exp(x[j] - m[j]) of nv vectors (1 to FSS_EXP_STEP) in
 * place (nm[j] = -m[j]), the exponentials interleaved where all take the
 * common path: a lane gets the same bits whatever nv and whichever path.
 * check 0: every lane is known to be in the common range
 * (vf_exp_row_normal). */
static FSS_INLINE void FSS_FN(xent_expc_nm)(V *x, int nv, const V *m, const V *nm, const int check, const int how)
{
    V s[FSS_EXP_STEP], lo[FSS_EXP_STEP];
    int wide = 0;
    for (int j = 0; j < nv; ++j)
        s[j] = VOP(sub)(x[j], m[j]);
    for (int j = 0; j < nv; ++j)
        lo[j] = FSS_FN(xent_sub_err)(x[j], s[j], nm[j], how);
    for (int j = 0; check && j < nv; ++j)
        wide |= VOP(exp_needs_wide)(s[j]);
    if (wide) {
        for (int j = 0; j < nv; ++j)
            x[j] = FSS_FN(xent_expc_wide)(s[j], lo[j]);
        return;
    }
    VOP(exp_nonpos_normal_n)(s, nv);
    for (int j = 0; j < nv; ++j)
        x[j] = VOP(fmadd)(s[j], lo[j], s[j]);
}

/* xent_expc_nm with one m for every vector */
static FSS_INLINE void FSS_FN(xent_expc_n)(V *x, int nv, V vm, V vnm, const int check, const int how)
{
    V m[FSS_EXP_STEP], nm[FSS_EXP_STEP];
    for (int j = 0; j < FSS_EXP_STEP; ++j)
        m[j] = vm, nm[j] = vnm;
    FSS_FN(xent_expc_nm)(x, nv, m, nm, check, how);
}

static FSS_INLINE V FSS_FN(xent_expc)(V x, V vm, V vnm)
{
    FSS_FN(xent_expc_n)(&x, 1, vm, vnm, 1, FSS_SUB_ORDERED);
    return x;
}


/* The lane sums of exponential terms (each in [0, 1]) in the compensated
 * loops. Float terms are summed in double (29 spare bits: a plain add).
 * Double terms are summed in double lanes, each add compensated by Fast2Sum,
 * whose error term is exact when the lane's exponent is at least the
 * term's: a lane starts at 1 and every term is <= 1 (a pair of terms, as
 * the loops add them by pairs, is < 2 unless both round to 1, where the error
 * term may miss one rounding: no worse than a plain add); the 1 comes off
 * exactly at the end. A plain double lane sum of 24-32 terms
 * measured 6-11 ULP in log_softmax (bound 5) and 65 in softmax's smallest
 * outputs (tests/test_accuracy.py, test_double_sums_stay_within_bounds). */
typedef struct {
    ACCT a;
    V c;
} FSS_FN(lane_sum);

static FSS_INLINE FSS_FN(lane_sum) FSS_FN(lane_sum_start)(void)
{
#if FSS_SUM_PAIRS
    FSS_FN(lane_sum) s = { ACC(zero)(), VOP(set1)(0) };
#else
    FSS_FN(lane_sum) s = { VOP(set1)(1), VOP(set1)(0) };
#endif
    return s;
}

static FSS_INLINE void FSS_FN(lane_sum_add)(FSS_FN(lane_sum) *s, V e)
{
#if FSS_SUM_PAIRS
    s->a = ACC(add)(s->a, e);
#else
    const V t = VOP(add)(s->a, e);
    s->c = VOP(add)(s->c, VOP(sub)(e, VOP(sub)(t, s->a)));
    s->a = t;
#endif
}

/* each lane's sum, (a - 1) + c for double */
static FSS_INLINE void FSS_FN(lane_sum_store)(double *out, FSS_FN(lane_sum) s)
{
#if FSS_SUM_PAIRS
    ACC(store)(out, s.a);
#else
    VOP(storeu)(out, VOP(add)(VOP(sub)(s.a, VOP(set1)(1)), s.c));
#endif
}

/* the lanes' total, added to *total */
static FSS_INLINE void FSS_FN(lane_sum_flush)(fss_ksum *total, FSS_FN(lane_sum) s)
{
#if FSS_SUM_PAIRS
    fss_ksum_add(total, ACC(hsum)(s.a));
#else
    fss_ksum_add(total, VOP(hsum)(VOP(sub)(s.a, VOP(set1)(1))));
    fss_ksum_add(total, VOP(hsum)(s.c));
#endif
}

/* How a row's terms are formed. Shifted: exp(x - m), compensated for the
 * rounding of x - m (xent_expc_n), the max's own term 1. Unshifted (float
 * rows with |m| <= FSS_UNSHIFTED_M_MAX): 2^-K exp(x), K = round(m / ln2), by
 * the exponential's magic-bias scale alone: no subtraction, so nothing to
 * compensate; the terms are those of x - m times unit = 2^-K exp(m) (in
 * [0.7, 1.42]), a factor the callers divide out in double. The loop loses
 * the subtraction, its error and the compensating FMA: row_sumexp_c went
 * from 8.7 to 8.0-8.25 ns per 8 floats on Zen 1 (kernel harness), and
 * log_softmax, logsumexp and cross_entropy 9-13% faster on rows of 1000
 * and more; and the terms lose the rounding of x - m, which the
 * compensation only corrected to first order. The exponential's argument
 * reduction is the same for x > 0 (|k| <= 93 here, below the 126 of the
 * swept range, tests/test_exp_accuracy.py).
 * top: the largest term below the max's own (1, or the unshifted
 * exponential of m, one float down); terms above it are counted. */
typedef struct {
    V vm, vnm; /* m, -m */
    V top;
#if FSS_EXP_UNSHIFTED
    V magic; /* vf_exp_magic(K) (vf_exp_biased_n) */
    V thr;   /* the lowest x whose term is surely normal: (K - 124) ln2 */
    V K;     /* a lane each: the lane kernel's rows (short_row_kernels.h) take their own */
    T thr_s;
#endif
} FSS_FN(term_plan);

#define FSS_UNSHIFTED_M_MAX 64

static inline FSS_FN(term_plan) FSS_FN(shifted_plan)(T m)
{
    FSS_FN(term_plan) p;
    p.vm = VOP(set1)(m), p.vnm = VOP(set1)(-m);
    p.top = VOP(set1)((T)1 - (sizeof(T) == 4 ? (T)5.9604644775390625e-08 : (T)1.1102230246251565e-16));
#if FSS_EXP_UNSHIFTED
    p.magic = p.thr = p.K = p.vm, p.thr_s = 0;
#endif
    return p;
}

#if FSS_EXP_UNSHIFTED
/* Whether a row whose maximum is m takes the unshifted plan (|m| <=
 * FSS_UNSHIFTED_M_MAX; not NaN or inf), and its K. A decision by m alone, so
 * a row's prefix (causal) and the row padded with -inf (where=) take the
 * same plan. */
static inline int FSS_FN(unshifted_k)(T m, T *K)
{
    if (!(fabsf(m) <= (T)FSS_UNSHIFTED_M_MAX))
        return 0;
    *K = nearbyintf(m * 1.44269504088896341f);
    return 1;
}

static inline T FSS_FN(unshifted_magic)(T K) { return vf_exp_magic(K); }

/* d = m - K ln2 (|d| <= 0.35), in double within 2^-46 of exact */
static inline double FSS_FN(unshifted_d)(T m, T K) { return (double)m - (double)K * 0.6931471805599453; }

/* The unshifted plan from m, K and em, the row's term of x = m (positive,
 * normal); the callers find em and unit = exp(d) a lane each: for one row
 * (unshifted_plan) or for a group at once (rows_sumexp_c) */
static inline FSS_FN(term_plan) FSS_FN(unshifted_plan_of)(T m, T K, T em)
{
    FSS_FN(term_plan) p = FSS_FN(shifted_plan)(m);
    p.K = VOP(set1)(K);
    p.magic = VOP(set1)(FSS_FN(unshifted_magic)(K));
    p.thr_s = (K - 124.0f) * 0.693147182f;
    p.thr = VOP(set1)(p.thr_s);
    uint32_t bits; /* top: the float below em */
    memcpy(&bits, &em, sizeof bits);
    bits -= 1;
    T top;
    memcpy(&top, &bits, sizeof top);
    p.top = VOP(set1)(top);
    return p;
}

/* The unshifted plan of a row whose maximum is m, if it takes one: 1, and
 * *unit = 2^-K exp(m) = exp(d) in double, by the double exponential's
 * polynomial (a libm call per row cost rows of 100 floats 5%). rows_sumexp_c
 * takes these steps lane-wise for a group; the same steps through arrays
 * here (one helper for both) cost cross_entropy of (4096, 30) 6%. */
static int FSS_FN(unshifted_plan)(T m, FSS_FN(term_plan) *p, double *unit)
{
    T K;
    if (!FSS_FN(unshifted_k)(m, &K))
        return 0;
    V e = VOP(set1)(m);
    vf_exp_biased_n(&e, 1, VOP(set1)(FSS_FN(unshifted_magic)(K)));
    *p = FSS_FN(unshifted_plan_of)(m, K, VOP(hmax)(e));
    *unit = 1.0 + vd_hmax(vd_expm1_reduced(vd_set1(FSS_FN(unshifted_d)(m, K))));
    return 1;
}

/* unshifted_plan's exponentials for k rows at once, a lane a row (the
 * same bits): em[r] <- 2^-K exp(em[r]), mg[r] the magic of row r's K, and
 * d[r] <- expm1(d[r]). The arrays have room for whole vectors past k. */
static void FSS_FN(lanes_unshifted)(int k, T *em, const T *mg, double *d)
{
    for (int r = 0; r < k; r += W) {
        V e = VOP(loadu)(em + r);
        vf_exp_biased_n(&e, 1, VOP(loadu)(mg + r));
        VOP(storeu)(em + r, e);
    }
    for (int r = 0; r < k; r += VD_W)
        vd_storeu(d + r, vd_expm1_reduced(vd_loadu(d + r)));
}
#endif

/* The terms of nv vectors (1 to FSS_EXP_STEP) of x in place, by plan p;
 * how: FSS_SUB_* (FSS_SUB_NONE: unshifted), check: as for xent_expc_nm. */
static FSS_INLINE void FSS_FN(term_exps)(V *x, int nv, const FSS_FN(term_plan) *p, const int check, const int how)
{
    if (how == FSS_SUB_TERMS)
        return;
#if FSS_EXP_UNSHIFTED
    if (how == FSS_SUB_NONE) {
        int wide = 0;
        for (int j = 0; check && j < nv; ++j)
            wide |= FSS_CAT(VM, _any)(VOP(lt)(x[j], p->thr));
        if (wide) {
            for (int j = 0; j < nv; ++j)
                x[j] = vf_exp_wide_k(x[j], p->K);
            return;
        }
        vf_exp_biased_n(x, nv, p->magic);
        return;
    }
#endif
    FSS_FN(xent_expc_n)(x, nv, p->vm, p->vnm, check, how);
}

/* Whether a lane of e is above top (a term counted, not summed). No term
 * is above the max's own, so one test of the maximum of several vectors
 * covers them all (a NaN may hide one from vmaxps, but then the sum is NaN
 * whatever the count). */
static FSS_INLINE int FSS_FN(any_top)(V e, V top) { return FSS_CAT(VM, _any)(VOP(lt)(top, e)); }

/* e with its lanes above top zeroed, those lanes added to the count c */
static FSS_INLINE V FSS_FN(count_top)(V e, V top, V *c)
{
    const VM q = VOP(lt)(top, e);
    *c = VOP(add)(*c, VOP(one_where)(q));
    return VOP(zero_where)(q, e);
}

/* count_top for shifted terms: the lanes of exactly 1 */
static FSS_INLINE V FSS_FN(count_ones)(V e, V *c)
{
    const FSS_FN(term_plan) p = FSS_FN(shifted_plan)(0);
    return FSS_FN(count_top)(e, p.top, c);
}

#if FSS_MASKED_TAIL
/* The last `left` elements of a block (1 to FSS_EXP_STEP * W) as one more
 * step of sumexp_c_loop, of nv (a constant: 1, 2, 4 or FSS_EXP_STEP) vectors,
 * masked (as in expsum_loop): the lanes past the block load m and their
 * terms are zeroed, so none is counted and the pairs add what the loop adds
 * of a row padded with -inf (a lone vector: what a pair with a zero one
 * adds). rows_sumexp_c takes the same step for its rows. */
static FSS_INLINE void FSS_FN(sumexp_masked_step)(const T *x, int64_t left, T m, const FSS_FN(term_plan) *p,
                                                    T *e_out, FSS_FN(lane_sum) *a0, V *c, const int check,
                                                    const int how, const int nv)
{
    V e[FSS_EXP_STEP];
    FSS_FN(load_masked)(x, left, m, e, nv);
    FSS_FN(term_exps)(e, nv, p, check, how);
    FSS_FN(store_masked)(e_out, left, e, nv);
    if (nv == 1) {
        FSS_FN(lane_sum_add)(a0, FSS_FN(count_top)(e[0], p->top, c));
        return;
    }
    for (int j = 0; j < nv; j += 2)
        FSS_FN(lane_sum_add)(a0, VOP(add)(FSS_FN(count_top)(e[j], p->top, c),
                                          FSS_FN(count_top)(e[j + 1], p->top, c)));
}
#endif

/* Sum of the terms of plan p (exp(x - m) compensated, or unshifted: see
 * term_plan) below the maximum's own; the terms above p->top (the maximum's
 * own, and any of an x within rounding of it) are counted in *count
 * instead, so that the rest of a confident row (down to 1e-30) is not lost
 * beside them. Counting by the term rather than
 * by x == m keeps the x out of the registers across the exponentials and
 * takes one test per four vectors: the loop measured 13% faster in float,
 * 10% in double (Zen 1). e_out (may be NULL, may alias x) receives the
 * terms. pa, pb: rows of n elements to prefetch (see
 * prefetch_rows). how: FSS_SUB_*, valid for every x of the row.
 * The last partial vector is padded with m, not -inf: a -inf lane sent every
 * short row's tail down the exponential's wide path (a third of the time of
 * a 10-class row). The pad lanes' terms are the maximum's own, so they are
 * counted like it and taken back out of the count; the other lanes get the
 * same bits on either path. */
static FSS_INLINE double FSS_FN(sumexp_c_loop)(const T *x, int64_t n, T m, const FSS_FN(term_plan) *plan,
                                                 T *e_out, double *restrict count, const T *pa, const T *pb,
                                                 const int check, const int how)
{
    /* a local copy: the stores to e_out may alias *plan as far as the
     * compiler knows (vector types alias anything), so it could not keep
     * the plan's vectors in registers across them */
    const FSS_FN(term_plan) pl = *plan, *p = &pl;
    fss_ksum total = { 0.0, 0.0 };
    double cnt = 0.0;
    int64_t i = 0;
    while (i < n) {
        const int64_t block_end = n - i > FSS_SUM_BLOCK ? i + FSS_SUM_BLOCK : n;
        FSS_FN(lane_sum) a0 = FSS_FN(lane_sum_start)();
        V c = VOP(set1)(0);
        /* four vectors a step (FSS_EXP_STEP), the terms added by pairs as
         * the block's last step below adds them, so the same bits. Written
         * out for four: GCC's register allocation of this loop on AVX2's 16
         * registers is that sensitive (other orders of the same operations
         * measured 8-20% slower on Zen 1; this one 6% faster than a loop of
         * pairs in float, 11% in double) */
        for (; FSS_EXP_STEP == 4 && i + 4 * W <= block_end; i += 4 * W) {
            FSS_FN(prefetch_rows)(pa, pb, i);
            FSS_FN(prefetch_rows)(pa, pb, i + 2 * W);
            V e[4];
            for (int j = 0; j < 4; ++j)
                e[j] = VOP(loadu)(x + i + j * W);
            FSS_FN(term_exps)(e, 4, p, check, how);
            for (int j = 0; e_out && j < 4; ++j)
                VOP(storeu)(e_out + i + j * W, e[j]);
            if (FSS_FN(any_top)(VOP(max)(VOP(max)(e[0], e[1]), VOP(max)(e[2], e[3])), p->top))
                for (int j = 0; j < 4; ++j)
                    e[j] = FSS_FN(count_top)(e[j], p->top, &c);
            FSS_FN(lane_sum_add)(&a0, VOP(add)(e[0], e[1]));
            FSS_FN(lane_sum_add)(&a0, VOP(add)(e[2], e[3]));
        }
        /* the same for a wider FSS_EXP_STEP (AVX-512), the pairs in the same
         * order, so the same bits */
        for (; FSS_EXP_STEP > 4 && i + FSS_EXP_STEP * W <= block_end; i += FSS_EXP_STEP * W) {
            for (int j = 0; j < FSS_EXP_STEP; j += 2)
                FSS_FN(prefetch_rows)(pa, pb, i + j * W);
            V e[FSS_EXP_STEP];
            for (int j = 0; j < FSS_EXP_STEP; ++j)
                e[j] = VOP(loadu)(x + i + j * W);
            FSS_FN(term_exps)(e, FSS_EXP_STEP, p, check, how);
            for (int j = 0; e_out && j < FSS_EXP_STEP; ++j)
                VOP(storeu)(e_out + i + j * W, e[j]);
            V hi = e[0];
            for (int j = 1; j < FSS_EXP_STEP; ++j)
                hi = VOP(max)(hi, e[j]);
            if (FSS_FN(any_top)(hi, p->top))
                for (int j = 0; j < FSS_EXP_STEP; ++j)
                    e[j] = FSS_FN(count_top)(e[j], p->top, &c);
            for (int j = 0; j < FSS_EXP_STEP; j += 2)
                FSS_FN(lane_sum_add)(&a0, VOP(add)(e[j], e[j + 1]));
        }
#if FSS_MASKED_TAIL
        if (i < block_end) {
            const int64_t left = block_end - i;
            FSS_FN(prefetch_rows)(pa, pb, i);
            if (left > 2 * W)
                FSS_FN(prefetch_rows)(pa, pb, i + 2 * W);
            T *eo = e_out ? e_out + i : NULL;
            if (left <= W)
                FSS_FN(sumexp_masked_step)(x + i, left, m, p, eo, &a0, &c, check, how, 1);
            else if (left <= 2 * W)
                FSS_FN(sumexp_masked_step)(x + i, left, m, p, eo, &a0, &c, check, how, 2);
            else if (FSS_EXP_STEP > 4 && left <= 4 * W)
                FSS_FN(sumexp_masked_step)(x + i, left, m, p, eo, &a0, &c, check, how, 4);
            else
                FSS_FN(sumexp_masked_step)(x + i, left, m, p, eo, &a0, &c, check, how, FSS_EXP_STEP);
            i = block_end;
        }
#else
        if (i < block_end) {
            /* the block's last one to four vectors (the last may be partial),
             * their exponentials interleaved too: one after another, the 26
             * elements left of a 250-element row took a fifth of its time.
             * Summed as before: a pair of whole vectors, then one by one. */
            const int64_t left = block_end - i;
            FSS_FN(prefetch_rows)(pa, pb, i);
            if (left > 2 * W)
                FSS_FN(prefetch_rows)(pa, pb, i + 2 * W);
            V e[FSS_EXP_STEP];
            const int nv = FSS_FN(load_last)(x + i, left, m, e);
            FSS_FN(term_exps)(e, nv, p, check, how);
            if (e_out)
                FSS_FN(store_last)(e_out + i, left, e);
            int j = 0;
            if (left >= 2 * W) {
                FSS_FN(lane_sum_add)(&a0, VOP(add)(FSS_FN(count_top)(e[0], p->top, &c),
                                                   FSS_FN(count_top)(e[1], p->top, &c)));
                j = 2;
            }
            for (; j < nv; ++j)
                FSS_FN(lane_sum_add)(&a0, FSS_FN(count_top)(e[j], p->top, &c));
            if (left % W != 0 && m == m) /* a NaN m counts no lane */
                cnt -= (double)(W - left % W);
            i = block_end;
        }
#endif
        FSS_FN(lane_sum_flush)(&total, a0);
        cnt += ACC(hsum)(ACC(add)(ACC(zero)(), c));
    }
    *count += cnt;
    return fss_ksum_value(&total);
}

/* lo: as for row_expsum (the row's minimum, or -inf where unknown); it and
 * m pick the loop's way to the subtraction's error (FSS_SUB_*), or the
 * unshifted terms (term_plan). *unit: the factor of e_out's terms (1 for
 * shifted ones); the returned sum is of exp(x - m), unit divided out. */
static double FSS_FN(row_sumexp_c)(const T *x, int64_t n, T m, T lo, T *e_out, double *restrict count, const T *pa,
                                   const T *pb, double *unit)
{
    FSS_FN(term_plan) p;
#if FSS_EXP_UNSHIFTED
    if (FSS_FN(unshifted_plan)(m, &p, unit)) {
        const double s = lo >= p.thr_s
                             ? FSS_FN(sumexp_c_loop)(x, n, m, &p, e_out, count, pa, pb, 0, FSS_SUB_NONE)
                             : FSS_FN(sumexp_c_loop)(x, n, m, &p, e_out, count, pa, pb, 1, FSS_SUB_NONE);
        return s / *unit;
    }
#endif
    *unit = 1.0;
    p = FSS_FN(shifted_plan)(m);
    if (VOP(exp_row_normal)(lo, m)) {
        if (m >= 0 && lo >= -m)
            return FSS_FN(sumexp_c_loop)(x, n, m, &p, e_out, count, pa, pb, 0, FSS_SUB_M_LARGER);
        if (m <= 0)
            return FSS_FN(sumexp_c_loop)(x, n, m, &p, e_out, count, pa, pb, 0, FSS_SUB_X_LARGER);
        return FSS_FN(sumexp_c_loop)(x, n, m, &p, e_out, count, pa, pb, 0, FSS_SUB_ORDERED);
    }
    if (m <= 0)
        return FSS_FN(sumexp_c_loop)(x, n, m, &p, e_out, count, pa, pb, 1, FSS_SUB_X_LARGER);
    return FSS_FN(sumexp_c_loop)(x, n, m, &p, e_out, count, pa, pb, 1, FSS_SUB_ORDERED);
}

#if FSS_EXP_UNSHIFTED
/* nv vectors of terms (1 or an even count) into the lanes, by pairs added
 * in float (spec_partner undoes the max's pair) */
static FSS_INLINE void FSS_FN(spec_add)(FSS_FN(lane_sum) *a0, const V *e, const int nv)
{
    if (nv == 1) {
        FSS_FN(lane_sum_add)(a0, e[0]);
        return;
    }
    for (int j = 0; j < nv; j += 2)
        FSS_FN(lane_sum_add)(a0, VOP(add)(e[j], e[j + 1]));
}

/* The other row's output of spec_loop_with from its input v: log_softmax's
 * (v - m) - L, or with so softmax's scaling v m + v L (m + L the
 * reciprocal of its terms' sum, v a term: row_scale's arithmetic) */
static FSS_INLINE V FSS_FN(other_v)(V v, V vm, V vL, const int so)
{
    return so ? VOP(fmadd)(v, vm, VOP(mul)(v, vL)) : FSS_FN(logsub_v)(v, vm, vL);
}

/* The last `left` elements of a block as nv vectors of terms, their max
 * and min folded into *hi, *lw, their terms stored to e_out and summed
 * (spec_loop), the lanes past the block zeroed before the sum. The pad
 * lanes load fill, an element of the row: harmless to the max and min, and
 * in range for the exponential. */
static FSS_INLINE void FSS_FN(spec_last)(const T *x, int64_t left, T fill, V magic, T *e_out, V *hi, V *lw,
                                         FSS_FN(lane_sum) *a0, const int nv, const T *xo, T *yo, V vmo, V vLo,
                                         const int so)
{
    for (int j = 0; xo && j < nv; ++j) { /* spec_loop_with's other row */
        const int64_t lj = left - j * W;
        if (lj > 0)
            VOP(store_part)(yo + j * W, FSS_FN(other_v)(VOP(load_part)(xo + j * W, lj, 0), vmo, vLo, so), lj);
    }
    V e[FSS_EXP_STEP];
#if FSS_MASKED_TAIL
    FSS_FN(load_masked)(x, left, fill, e, nv);
#else
    for (int j = FSS_FN(load_last)(x, left, fill, e); j < nv; ++j)
        e[j] = VOP(set1)(fill);
#endif
    for (int j = 0; j < nv; ++j)
        *hi = VOP(max)(*hi, e[j]), *lw = VOP(min)(*lw, e[j]);
    vf_exp_biased_n(e, nv, magic);
#if FSS_MASKED_TAIL
    FSS_FN(store_masked)(e_out, left, e, nv);
#else
    if (e_out)
        FSS_FN(store_last)(e_out, left, e);
    for (int j = 0; j < nv; ++j) { /* the pad lanes out of the sum */
        const int64_t lj = left - j * W;
        if (lj <= 0) {
            e[j] = VOP(set1)(0);
        } else if (lj < W) {
            T keep[W];
            VOP(storeu)(keep, e[j]);
            for (int64_t l = lj; l < W; ++l)
                keep[l] = 0;
            e[j] = VOP(loadu)(keep);
        }
    }
#endif
    FSS_FN(spec_add)(a0, e, nv);
}

/* The one pass of row_xent_terms: every term 2^-K exp(x) of the magic of
 * a K the caller chose before seeing the row, stored to e_out (may be
 * NULL, may alias x) and summed, all of them; the row's max to *m and min
 * to *lo. Unchecked: the terms are right only where every element lies in
 * the plan's range, which the caller checks afterwards from *m and *lo.
 * o (may be NULL): another row of n elements whose output is written in
 * the same steps: log_softmax's (row_sums_and_logsub), or softmax's
 * scaled terms (so: row_softmax_terms_with), streamed (nt) or in place. */
static FSS_INLINE double FSS_FN(spec_loop_with)(const T *x, int64_t n, V magic, T *e_out, T *m, T *lo,
                                                const T *pa, const T *pb, const LOGSUB_ROW *o, const int nt,
                                                const int so)
{
    const T *xo = o ? o->x : NULL;
    T *yo = o ? o->y : NULL;
    const V vmo = VOP(set1)(o ? o->m : 0), vLo = VOP(set1)(o ? o->L : 0);
    /* streamed (nt), the other row's steps run sh elements ahead of this
     * row's, sh the elements before yo's first vector boundary, so that
     * each non-temporal store is aligned whatever yo's offset (NumPy's rows
     * start 16 or 48 bytes off); its first sh elements and those past the
     * last whole step go after the loop (row_logsub_stream or
     * row_scaleto_stream, the same bits) */
    const int64_t sh = nt ? FSS_FN(align_head)(yo, n) : 0;
    int64_t o_done = sh;
    const T fill = x[0];
    V hi = VOP(set1)(-(T)INFINITY), lw = VOP(set1)((T)INFINITY);
    fss_ksum total = { 0.0, 0.0 };
    int64_t i = 0;
    while (i < n) {
        const int64_t block_end = n - i > FSS_SUM_BLOCK ? i + FSS_SUM_BLOCK : n;
        FSS_FN(lane_sum) a0 = FSS_FN(lane_sum_start)();
        for (; i + FSS_EXP_STEP * W <= block_end; i += FSS_EXP_STEP * W) {
            for (int j = 0; j < FSS_EXP_STEP; j += 2)
                FSS_FN(prefetch_rows)(pa, pb, i + j * W);
            V e[FSS_EXP_STEP];
            for (int j = 0; j < FSS_EXP_STEP; ++j)
                e[j] = VOP(loadu)(x + i + j * W);
            if (xo && nt && i + sh + FSS_EXP_STEP * W <= n) {
                for (int j = 0; j < FSS_EXP_STEP; ++j)
                    VOP(stream)(yo + i + sh + j * W, FSS_FN(other_v)(VOP(loadu)(xo + i + sh + j * W), vmo, vLo, so));
                o_done = i + sh + FSS_EXP_STEP * W;
            }
            for (int j = 0; xo && !nt && j < FSS_EXP_STEP; ++j)
                VOP(storeu)(yo + i + j * W, FSS_FN(other_v)(VOP(loadu)(xo + i + j * W), vmo, vLo, so));
            V h = e[0], l = e[0];
            for (int j = 1; j < FSS_EXP_STEP; ++j)
                h = VOP(max)(h, e[j]), l = VOP(min)(l, e[j]);
            hi = VOP(max)(hi, h), lw = VOP(min)(lw, l);
            vf_exp_biased_n(e, FSS_EXP_STEP, magic);
            for (int j = 0; e_out && j < FSS_EXP_STEP; ++j)
                VOP(storeu)(e_out + i + j * W, e[j]);
            FSS_FN(spec_add)(&a0, e, FSS_EXP_STEP);
        }
        if (i < block_end) {
            const int64_t left = block_end - i;
            T *eo = e_out ? e_out + i : NULL;
            FSS_FN(prefetch_rows)(pa, pb, i);
            const T *xoi = xo && !nt ? xo + i : NULL; /* (streamed: after the loop) */
            T *yoi = xo && !nt ? yo + i : NULL;
            if (left <= W)
                FSS_FN(spec_last)(x + i, left, fill, magic, eo, &hi, &lw, &a0, 1, xoi, yoi, vmo, vLo, so);
            else if (left <= 2 * W)
                FSS_FN(spec_last)(x + i, left, fill, magic, eo, &hi, &lw, &a0, 2, xoi, yoi, vmo, vLo, so);
            else if (FSS_EXP_STEP > 4 && left <= 4 * W)
                FSS_FN(spec_last)(x + i, left, fill, magic, eo, &hi, &lw, &a0, 4, xoi, yoi, vmo, vLo, so);
            else
                FSS_FN(spec_last)(x + i, left, fill, magic, eo, &hi, &lw, &a0, FSS_EXP_STEP, xoi, yoi, vmo, vLo, so);
            i = block_end;
        }
        FSS_FN(lane_sum_flush)(&total, a0);
    }
    if (xo && nt && so) {
        FSS_FN(row_scaleto_stream)(xo, sh, o->m, o->L, yo);
        FSS_FN(row_scaleto_stream)(xo + o_done, n - o_done, o->m, o->L, yo + o_done);
    } else if (xo && nt) {
        FSS_FN(row_logsub_stream)(xo, sh, o->m, o->L, yo);
        FSS_FN(row_logsub_stream)(xo + o_done, n - o_done, o->m, o->L, yo + o_done);
    }
    *m = VOP(hmax)(hi);
    *lo = -VOP(hmax)(VOP(sub)(VOP(set1)(0), lw));
    return fss_ksum_value(&total);
}

static double FSS_FN(spec_loop)(const T *x, int64_t n, V magic, T *e_out, T *m, T *lo, const T *pa,
                                const T *pb)
{
    return FSS_FN(spec_loop_with)(x, n, magic, e_out, m, lo, pa, pb, NULL, 0, 0);
}

/* spec_loop with another row's output o written alongside: log_softmax's
 * (row_sums_and_logsub), or softmax's scaled terms (o->scale, streamed
 * only: row_softmax_terms_with) */
static double FSS_FN(spec_loop_other)(const T *x, int64_t n, V magic, T *e_out, T *m, T *lo, const T *pa,
                                       const T *pb, const LOGSUB_ROW *o)
{
    if (o->stream && FSS_HAVE_STREAM && (uintptr_t)o->y % sizeof(T) == 0)
        return o->scale ? FSS_FN(spec_loop_with)(x, n, magic, e_out, m, lo, pa, pb, o, 1, 1)
                        : FSS_FN(spec_loop_with)(x, n, magic, e_out, m, lo, pa, pb, o, 1, 0);
    return FSS_FN(spec_loop_with)(x, n, magic, e_out, m, lo, pa, pb, o, 0, 0);
}

/* spec_loop with softmax's scaling of another row o written alongside,
 * plain stores (row_softmax_terms_with). A function of its own: as a
 * fourth case of spec_loop_other it made the streamed softmax rows of
 * (256, 32000) float32 12-15% slower on Zen 5 (AVX-512). */
static double FSS_FN(spec_loop_scaling)(const T *x, int64_t n, V magic, T *e_out, T *m, T *lo, const T *pa,
                                        const LOGSUB_ROW *o)
{
    return FSS_FN(spec_loop_with)(x, n, magic, e_out, m, lo, pa, NULL, o, 0, 1);
}

/* Whether spec_loop's terms of the magic of K are right for the row it
 * found (max mx, min mn): no element above K ln2 + 64 (the terms and their
 * sums stay finite), none below K's normal range (every term keeps its
 * precision), and mx within the unshifted plan's own limit (its K to *Km).
 * A NaN mx or mn fails. */
static inline int FSS_FN(spec_in_range)(T K, T mx, T mn, T *Km)
{
    return (double)mx - (double)K * 0.6931471805599453 <= 64.0 && mn >= (K - 124.0f) * 0.693147182f &&
           FSS_FN(unshifted_k)(mx, Km);
}

/* 2^-K exp(mx) in double, for a row in range for K (spec_in_range, whose
 * *Km = K(mx) this takes): the unit of spec_loop's terms against the max,
 * 2^(Km - K) exp(mx - Km ln2), the power of two exact (unshifted_scale) */
static inline double FSS_FN(unshifted_scale)(T Km, T K)
{
    const uint64_t bits = (uint64_t)(1023 + (int)(Km - K)) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return scale;
}

/* the unit from em1 = expm1(unshifted_d(mx, Km)) (one row's, or a lane's
 * of a group: rows_spec_end) */
static inline double FSS_FN(unit_of)(double em1, T Km, T K) { return (1.0 + em1) * FSS_FN(unshifted_scale)(Km, K); }

static inline double FSS_FN(unshifted_unit)(T mx, T Km, T K)
{
    return FSS_FN(unit_of)(vd_hmax(vd_expm1_reduced(vd_set1(FSS_FN(unshifted_d)(mx, Km)))), Km, K);
}

/* The first element of x equal to m (every element <= m), or -1. Inlined
 * into both row_xent_terms and row_sums_and_logsub: called, it cost
 * logsumexp of (1024, 1000) float32 3% on Zen 5. */
static FSS_INLINE int64_t FSS_FN(find_max)(const T *x, int64_t n, T m)
{
    const V vm = VOP(set1)(m);
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        const V h = VOP(max)(VOP(max)(VOP(loadu)(x + i), VOP(loadu)(x + i + W)),
                             VOP(max)(VOP(loadu)(x + i + 2 * W), VOP(loadu)(x + i + 3 * W)));
        if (FSS_CAT(VM, _any)(VOP(eq)(h, vm)))
            break;
    }
    for (; i + W <= n && !FSS_CAT(VM, _any)(VOP(eq)(VOP(loadu)(x + i), vm)); i += W)
        ;
    for (; i < n; ++i)
        if (x[i] == m)
            return i;
    return -1;
}

/* The element whose term spec_loop added to element p's in float (the
 * pair of vectors p's lies in), or -1 where p's vector went in alone or
 * its partner lies past the block (a zero term) */
static int64_t FSS_FN(spec_partner)(int64_t n, int64_t p)
{
    const int64_t b0 = p - p % FSS_SUM_BLOCK, block_end = n - b0 > FSS_SUM_BLOCK ? b0 + FSS_SUM_BLOCK : n;
    const int64_t step = FSS_EXP_STEP * W, steps_end = b0 + (block_end - b0) / step * step;
    int64_t s = steps_end, nv = FSS_EXP_STEP;
    if (p < steps_end) {
        s = p - (p - b0) % step;
    } else {
        const int64_t left = block_end - s; /* spec_loop's choice for the block's last vectors */
        nv = left <= W ? 1 : left <= 2 * W ? 2 : FSS_EXP_STEP > 4 && left <= 4 * W ? 4 : FSS_EXP_STEP;
    }
    const int64_t j = (p - s) / W;
    if (nv == 1 || (nv % 2 == 1 && j == nv - 1))
        return -1;
    const int64_t q = j % 2 ? p - W : p + W;
    return q < block_end ? q : -1;
}

/* a's unshifted term of the magic's K, as spec_loop forms it */
static T FSS_FN(spec_term)(T a, V magic)
{
    V e = VOP(set1)(a);
    vf_exp_biased_n(&e, 1, magic);
    return VOP(hmax)(e);
}
#endif

#if FSS_EXP_UNSHIFTED
/* The rest of a row in range (xent_terms_with below) with the rounding of
 * the max's pair taken out: p the max's element (x[t], or the first one
 * find_max finds), S the loop's sum, u and em the unit and the max's own
 * term, magic the loop's and K its exponent; summed again where rest is too
 * small for the double lanes. */
static FSS_INLINE double FSS_FN(spec_rest_exact)(const T *x, int64_t n, int64_t t, T mx, T K, V magic, double S,
                                                 double u, T em, const T *e_out, double *count, const T *pa)
{
    const int64_t p = t >= 0 ? t : FSS_FN(find_max)(x, n, mx);
    if (p >= 0) {
        const int64_t q = FSS_FN(spec_partner)(n, p);
        const T eq = q >= 0 ? FSS_FN(spec_term)(x[q], magic) : 0;
        const T pair = em + eq; /* as the loop added them */
        /* S - pair is exact where rest is small (Sterbenz) */
        const double rest = ((S - (double)pair) + (double)eq) / u;
        if (rest >= (double)n * 0x1p-31) {
            *count += 1.0; /* the max's own term */
            return rest;
        }
    }
    const FSS_FN(term_plan) pl = FSS_FN(unshifted_plan_of)(mx, K, em);
    if (e_out)
        return FSS_FN(sumexp_c_loop)(e_out, n, em, &pl, NULL, count, NULL, NULL, 0, FSS_SUB_TERMS) / u;
    return FSS_FN(sumexp_c_loop)(x, n, mx, &pl, NULL, count, pa, NULL, 0, FSS_SUB_NONE) / u;
}
#endif

/* row_maxmin then row_sumexp_c, the same contract (*m, *lo, the sum, *count,
 * *unit), in one pass over the row where it can: float rows whose first
 * element allows an unshifted plan (term_plan) take
 * that plan's K from it rather than from the maximum, form every term, the
 * max's own among them, and find the max and min alongside (spec_loop).
 * The max pass, a fifth of cross_entropy's time at (1024, 1000), is gone
 * where the row then proves in range for that K: no element above K ln2 +
 * 64 (the terms and their sums stay finite) or below the K's normal range
 * (every term keeps its precision), |m| <= FSS_UNSHIFTED_M_MAX (the plan's
 * own limit). Terms of another K differ from those of K(m) by a power of
 * two, exactly, so from here on the row is the unshifted plan's.
 *
 * The sum S then holds the max's own term e_m, added in float to its
 * partner's (the loops sum pairs of vectors in float, then in double), so
 * rest = (S - e_m) / unit carries that pair's rounding, at most half an ulp
 * of the pair, under an ulp of e_m. Where the caller's loss and gradient
 * need only that rest to an ulp of 1 + rest, it is taken as it is:
 *   t >= 0 (a class target) with x[t] below the max: then p_t <= 1/2 and
 *     the loss -log p_t >= log 2, neither near a cancellation (every other
 *     probability takes rest through 1 + rest). The check is one load and
 *     compare, where the max's search below cost (1024, 1000) float32 a
 *     tenth of its time on Zen 5 (N(0, 16) logits: 58% of rows below 2).
 *   t < 0 (no class target: soft targets, label smoothing) and rest >= 2:
 *     the rounding is then under a third of an ulp of 1 + rest.
 * Otherwise (a confident row: the target is the max, or rest < 2) the max's
 * element (x[t], or the first one find_max finds) has the rounding of its
 * pair taken back out exactly (the error of a float add of two floats, in
 * double). A tie at the max leaves its other pair's rounding in, but a tie
 * puts rest at 1 or more, so that is again under half an ulp of 1 + rest
 * (the tests' ties stay within the gradient's bound with or without the
 * correction). Where rest < n 2^-31 (the double lanes' own rounding, ~2^-53
 * of e_m per add, would show in the last bits of a float) the row sums
 * again without the max's terms, as row_sumexp_c does: its stored terms
 * (FSS_SUB_TERMS: the same loop, the same bits) or, without, its terms
 * formed again.
 * A row out of range, or with a NaN, takes row_maxmin and row_sumexp_c (a
 * row whose max is not finite only the former: its sum is NaN). e_out must
 * not alias x (the fallbacks read x after the terms are stored). pa, pb: as
 * for row_sumexp_c. */
#define FSS_SPEC_REST_FAST 2.0

static FSS_INLINE double FSS_FN(xent_terms_with)(const T *x, int64_t n, int64_t t, T *e_out, T *m, T *lo,
                                                 double *count, const T *pa, const T *pb, double *unit,
                                                 const LOGSUB_ROW *o)
{
    (void)t; /* (the shifted rows' sums need no correction) */
#if FSS_EXP_UNSHIFTED
    T K;
    if (n > 0 && FSS_FN(unshifted_k)(x[0], &K)) {
        const V magic = VOP(set1)(FSS_FN(unshifted_magic)(K));
        T mx, mn, Km;
        const double S = o ? FSS_FN(spec_loop_other)(x, n, magic, NULL, &mx, &mn, pa, pb, o)
                           : FSS_FN(spec_loop)(x, n, magic, e_out, &mx, &mn, pa, pb);
        o = NULL; /* written */
        if (FSS_FN(spec_in_range)(K, mx, mn, &Km) && S == S) {
            const double u = FSS_FN(unshifted_unit)(mx, Km, K);
            *m = mx, *lo = mn, *unit = u;
            const T em = FSS_FN(spec_term)(mx, magic);
            const double rest = (S - (double)em) / u;
            if (t >= 0 ? x[t] != mx : rest >= FSS_SPEC_REST_FAST) {
                *count += 1.0; /* the max's own term */
                return rest;
            }
            return FSS_FN(spec_rest_exact)(x, n, t, mx, K, magic, S, u, em, e_out, count, pa);
        }
    }
#endif
    if (o)
        (o->stream ? FSS_FN(row_logsub_stream) : FSS_FN(row_logsub))(o->x, n, o->m, o->L, o->y);
    *m = FSS_FN(row_maxmin)(x, n, lo);
    if (!isfinite(*m)) /* the callers' NaN row; nothing stored */
        return NAN;
    return FSS_FN(row_sumexp_c)(x, n, *m, *lo, e_out, count, pa, pb, unit);
}

static double FSS_FN(row_xent_terms)(const T *x, int64_t n, int64_t t, T *e_out, T *m, T *lo, double *count,
                                     const T *pa, const T *pb, double *unit)
{
    return FSS_FN(xent_terms_with)(x, n, t, e_out, m, lo, count, pa, pb, unit, NULL);
}

/* row_xent_terms of a log_softmax row (t -1, no e_out) while another row
 * of n elements gets its output, o->y = (o->x - o->m) - o->L (row_logsub's
 * bits), in the same loop: a row's output pass is then no loop of its own,
 * with its start, tail and call. For rows in groups (driver/
 * softmax_driver_body.h, rows_range), whose output pass read its input
 * from L1 and cost a sixth of the row: Zen 5, AVX-512, log_softmax float32,
 * one thread, (1024, 1000) 216 -> 198 us. Longer rows, one at a time,
 * take it where their outputs stream (o->stream: non-temporal stores, the
 * other row's steps shifted to yo's vector boundary, see spec_loop_with):
 * (256, 32000) 1.58 -> 1.18 ms, (16, 262144) 0.85 -> 0.64-0.79 ms; with
 * plain stores rows of 4096 to 32000 measured 8-13% slower this way (the
 * loop's own throughput, not its overhead, sets their time), and keep
 * their two passes where the output stays in cache. Where the unshifted
 * plan declines x, o is written first, on its own. */
static double FSS_FN(row_sums_and_logsub)(const T *x, int64_t n, T *m, T *lo, double *count, const T *pa,
                                          const T *pb, double *unit, const LOGSUB_ROW *o)
{
    return FSS_FN(xent_terms_with)(x, n, -1, NULL, m, lo, count, pa, pb, unit, o);
}

#if FSS_EXP_UNSHIFTED
/* row_sums_and_logsub in two halves, for a group of rows (driver/
 * softmax_driver_body.h, rows_range): this one the row's pass (o, which
 * may be NULL, written in it or before it), its end to *st; rows_spec_end
 * the rest of the group's rows at once. A row's end (its max's term and
 * unit, exponentials in float and double, a division, and for three rows
 * in five of 4 N(0, 1) the correction, chosen by a branch no predictor
 * learns) waits on the whole pass, and row by row kept the next row's pass
 * out of the core's window. Zen 5, one thread, float32, cycles a float,
 * logsumexp and log_softmax, row by row -> in halves (logsumexp then
 * -> with FSS_LSE_PAIR_KEPT):
 *   4 N(0, 1), AVX-512: (1024, 1000) 0.68 -> 0.61 -> 0.58, 0.81 -> 0.78;
 *                       (4096, 250) 1.49 -> 1.19 -> 1.06, 1.65 -> 1.36;
 *              AVX2:    (1024, 1000) 1.14 -> 1.02 -> 0.98, 1.20 -> 1.14;
 *                       (4096, 250) 1.95 -> 1.59 -> 1.48, 2.06 -> 1.82;
 *   N(0, 1) (no correction), AVX-512: (1024, 1000) 0.60 -> 0.54,
 *                       0.77 -> 0.73; (4096, 250) 1.15 -> 0.98,
 *                       1.39 -> 1.16. */
static void FSS_FN(row_spec_start)(const T *x, int64_t n, const T *pa, const T *pb, const LOGSUB_ROW *o,
                                   FSS_CAT(fss_spec_row_, TS) *st)
{
    T K;
    st->taken = n > 0 && FSS_FN(unshifted_k)(x[0], &K);
    if (st->taken) {
        const V magic = VOP(set1)(FSS_FN(unshifted_magic)(K));
        st->K = K;
        st->S = o ? FSS_FN(spec_loop_other)(x, n, magic, NULL, &st->mx, &st->mn, pa, pb, o)
                  : FSS_FN(spec_loop)(x, n, magic, NULL, &st->mx, &st->mn, pa, pb);
    } else if (o) {
        (o->stream ? FSS_FN(row_logsub_stream) : FSS_FN(row_logsub))(o->x, n, o->m, o->L, o->y);
    }
}

/* A logsumexp row whose max mx puts its result mx + log1p(rest) at 8 or
 * more in magnitude (rest < 2 here, so log1p(rest) < 1.1) keeps the
 * rounding of its max's pair: at most 2^-23 in rest (the pair's half ulp,
 * em the unit), so in log1p(rest), an eighth of the result's ulp, where
 * the float result's bound is 1 ULP and its rounding takes half. */
#define FSS_LSE_PAIR_KEPT(mx) ((mx) >= 8.0f || (mx) <= -10.0f)

/* The ends of k <= FSS_SPEC_ROWS rows of n elements row_spec_start began:
 * m[r], count[r] (from 0) and the returned value of each as
 * row_sums_and_logsub gives them (the same bits), into rest[r]; lse: the
 * rows are logsumexp's, whose rest (not the same bits then) needs the
 * max's pair taken out only where FSS_LSE_PAIR_KEPT says no. Their
 * exponentials a lane a row (lanes_unshifted). */
static void FSS_FN(rows_spec_end)(int k, const T *const *x, int64_t n, const FSS_CAT(fss_spec_row_, TS) *st,
                                  int lse, T *m, double *count, double *rest)
{
    int in[FSS_SPEC_ROWS];
    T Km[FSS_SPEC_ROWS], em[FSS_SPEC_ROWS + 16], mg[FSS_SPEC_ROWS + 16];
    double d[FSS_SPEC_ROWS + 8];
    for (int r = 0; r < FSS_SPEC_ROWS + 16; ++r) /* lanes past k, and rows out of range: exp(0) */
        em[r] = 0, mg[r] = FSS_FN(unshifted_magic)(0);
    for (int r = 0; r < FSS_SPEC_ROWS + 8; ++r)
        d[r] = 0;
    for (int r = 0; r < k; ++r) {
        in[r] = st[r].taken && FSS_FN(spec_in_range)(st[r].K, st[r].mx, st[r].mn, &Km[r]) && st[r].S == st[r].S;
        if (in[r]) {
            em[r] = st[r].mx, mg[r] = FSS_FN(unshifted_magic)(st[r].K);
            d[r] = FSS_FN(unshifted_d)(st[r].mx, Km[r]);
        }
    }
    FSS_FN(lanes_unshifted)(k, em, mg, d);
    for (int r = 0; r < k; ++r) {
        count[r] = 0.0;
        if (!in[r]) { /* xent_terms_with's way for rows out of range */
            T lo;
            double unit;
            m[r] = FSS_FN(row_maxmin)(x[r], n, &lo);
            rest[r] = isfinite(m[r]) ? FSS_FN(row_sumexp_c)(x[r], n, m[r], lo, NULL, &count[r], NULL, NULL, &unit)
                                     : NAN;
            continue;
        }
        const double u = FSS_FN(unit_of)(d[r], Km[r], st[r].K);
        m[r] = st[r].mx;
        rest[r] = (st[r].S - (double)em[r]) / u;
        if (rest[r] >= FSS_SPEC_REST_FAST || (lse && FSS_LSE_PAIR_KEPT(st[r].mx)))
            count[r] = 1.0;
        else
            rest[r] = FSS_FN(spec_rest_exact)(x[r], n, -1, st[r].mx, st[r].K, VOP(set1)(mg[r]), st[r].S, u, em[r],
                                              NULL, &count[r], NULL);
    }
}
#endif

/* sum_j u_j v_j (m - x_j) in double, and *uv_sum = sum_j u_j v_j; u and v
 * may each be NULL (all ones). Every term of the first sum is >= 0 for
 * non-negative u, v, so nothing cancels. Blocks of vector accumulators,
 * compensated sums across blocks, a scalar tail. */
static double FSS_FN(row_gapdot)(const T *x, int64_t n, T m, const T *u, const T *v, double *uv_sum)
{
    const V vm = VOP(set1)(m), one = VOP(set1)(1);
    fss_ksum gt = { 0.0, 0.0 }, st = { 0.0, 0.0 };
    const int64_t nv = n - n % (2 * W);
    int64_t i = 0;
    while (i < nv) {
        const int64_t block_end = nv - i > FSS_SUM_BLOCK ? i + FSS_SUM_BLOCK : nv;
        ACCT g0 = ACC(zero)(), g1 = ACC(zero)(), s0 = ACC(zero)(), s1 = ACC(zero)();
        for (; i < block_end; i += 2 * W) {
            V w0 = u ? VOP(loadu)(u + i) : one, w1 = u ? VOP(loadu)(u + i + W) : one;
            if (v) {
                w0 = VOP(mul)(w0, VOP(loadu)(v + i));
                w1 = VOP(mul)(w1, VOP(loadu)(v + i + W));
            }
            g0 = ACC(add)(g0, VOP(mul)(w0, VOP(sub)(vm, VOP(loadu)(x + i))));
            g1 = ACC(add)(g1, VOP(mul)(w1, VOP(sub)(vm, VOP(loadu)(x + i + W))));
            s0 = ACC(add)(s0, w0);
            s1 = ACC(add)(s1, w1);
        }
        fss_ksum_add(&gt, ACC(hsum)(ACC(merge)(g0, g1)));
        fss_ksum_add(&st, ACC(hsum)(ACC(merge)(s0, s1)));
    }
    for (; i < n; ++i) {
        T w = u ? u[i] : (T)1;
        if (v)
            w = w * v[i];
        fss_ksum_add(&gt, (double)(w * (m - x[i])));
        fss_ksum_add(&st, (double)w);
    }
    /* an infinite term turns Neumaier's compensation into NaN: keep the inf */
    const double g = fss_ksum_value(&gt), us = fss_ksum_value(&st);
    *uv_sum = isnan(us) ? st.sum : us;
    return isnan(g) ? gt.sum : g;
}

/* y = y * a - b * u * v (u, v may each be NULL: all ones). */
static void FSS_FN(row_scalesub)(T *restrict y, int64_t n, T a, T b, const T *u, const T *v)
{
    const V va = VOP(set1)(a), vb = VOP(set1)(b);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        V t = vb;
        if (u)
            t = VOP(mul)(t, VOP(loadu)(u + i));
        if (v)
            t = VOP(mul)(t, VOP(loadu)(v + i));
        VOP(storeu)(y + i, VOP(sub)(VOP(mul)(VOP(loadu)(y + i), va), t));
    }
    if (i < n) {
        const int64_t left = n - i;
        V t = vb;
        if (u)
            t = VOP(mul)(t, VOP(load_part)(u + i, left, 0));
        if (v)
            t = VOP(mul)(t, VOP(load_part)(v + i, left, 0));
        VOP(store_part)(y + i, VOP(sub)(VOP(mul)(VOP(load_part)(y + i, left, 0), va), t), left);
    }
}

/* y = x * s (y may be x). */
static void FSS_FN(row_multo)(const T *x, int64_t n, T s, T *y)
{
    const V vs = VOP(set1)(s);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V x0 = VOP(loadu)(x + i), x1 = VOP(loadu)(x + i + W);
        VOP(storeu)(y + i, VOP(mul)(x0, vs));
        VOP(storeu)(y + i + W, VOP(mul)(x1, vs));
    }
    for (; i < n; i += W)
        VOP(store_part)(y + i, VOP(mul)(VOP(load_part)(x + i, n - i, 0), vs), n - i);
}

#undef FSS_FN
#undef LOGSUB_ROW
