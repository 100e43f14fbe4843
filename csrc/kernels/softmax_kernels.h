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

/* Sums in blocks: inside a block, vector accumulators; between blocks, a
 * compensated scalar sum. The max-equal elements are left out of the sum and
 * counted instead, so callers get the "rest" that log1p needs at full
 * precision even when it is far below 1. */
static double FSS_FN(row_sumexp)(const T *x, int64_t n, T m, T *e_out, double *restrict count)
{
    const V vm = VOP(set1)(m);
    fss_ksum total = { 0.0, 0.0 };
    double cnt = 0.0;
    int64_t i = 0;
    while (i < n) {
        const int64_t block_end = n - i > FSS_SUM_BLOCK ? i + FSS_SUM_BLOCK : n;
        ACCT a0 = ACC(zero)(), a1 = ACC(zero)();
        V c = VOP(set1)(0);
        for (; i + 2 * W <= block_end; i += 2 * W) {
            const V x0 = VOP(loadu)(x + i), x1 = VOP(loadu)(x + i + W);
            const VM q0 = VOP(eq)(x0, vm), q1 = VOP(eq)(x1, vm);
            const V e0 = VOP(exp_nonpos)(VOP(sub)(x0, vm));
            const V e1 = VOP(exp_nonpos)(VOP(sub)(x1, vm));
            if (e_out) {
                VOP(storeu)(e_out + i, e0);
                VOP(storeu)(e_out + i + W, e1);
            }
            a0 = ACC(add)(a0, VOP(zero_where)(q0, e0));
            a1 = ACC(add)(a1, VOP(zero_where)(q1, e1));
            c = VOP(add)(c, VOP(add)(VOP(one_where)(q0), VOP(one_where)(q1)));
        }
        for (; i < block_end; i += W) {
            const int64_t left = block_end - i;
            const V x0 = VOP(load_part)(x + i, left, -(T)INFINITY);
            const VM q0 = VOP(eq)(x0, vm);
            const V e0 = VOP(exp_nonpos)(VOP(sub)(x0, vm));
            if (e_out)
                VOP(store_part)(e_out + i, e0, left);
            a0 = ACC(add)(a0, VOP(zero_where)(q0, e0));
            c = VOP(add)(c, VOP(one_where)(q0));
        }
        fss_ksum_add(&total, ACC(hsum)(ACC(merge)(a0, a1)));
        cnt += ACC(hsum)(ACC(add)(ACC(zero)(), c));
    }
    *count += cnt;
    return fss_ksum_value(&total);
}

static void FSS_FN(row_scale)(T *restrict y, int64_t n, T s)
{
    const V vs = VOP(set1)(s);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        VOP(storeu)(y + i, VOP(mul)(VOP(loadu)(y + i), vs));
        VOP(storeu)(y + i + W, VOP(mul)(VOP(loadu)(y + i + W), vs));
    }
    for (; i < n; i += W)
        VOP(store_part)(y + i, VOP(mul)(VOP(load_part)(y + i, n - i, 0), vs), n - i);
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

/* ---- column kernels: the reduced axis is strided (rs), the columns of one
 * reduced position are contiguous; vectors run across up to 2*W columns. ---- */

/* Rows summed per lane before a compensated add (see vdacc_kadd). */
#ifndef FSS_COL_BLOCK
#define FSS_COL_BLOCK 32
#endif

static inline V FSS_FN(col_load)(const T *p, int64_t w, T fill)
{
    return w >= W ? VOP(loadu)(p) : VOP(load_part)(p, w, fill);
}
static inline void FSS_FN(col_store)(T *p, V v, int64_t w)
{
    if (w >= W)
        VOP(storeu)(p, v);
    else
        VOP(store_part)(p, v, w);
}

static void FSS_FN(col_stats)(const T *x, int64_t n, int64_t rs, int64_t w, T *restrict m_out,
                              double *restrict rest_out, double *restrict count_out, T *e_out, int64_t es)
{
    const T ninf = -(T)INFINITY;
    V m0 = VOP(set1)(ninf), m1 = m0;
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        m0 = VOP(max)(m0, FSS_FN(col_load)(row, w, ninf));
        if (w > W)
            m1 = VOP(max)(m1, FSS_FN(col_load)(row + W, w - W, ninf));
    }
    ACCT s0 = ACC(zero)(), s1 = ACC(zero)(), c0 = ACC(zero)(), c1 = ACC(zero)();
    ACCT S0 = ACC(zero)(), S1 = ACC(zero)(), K0 = ACC(zero)(), K1 = ACC(zero)();
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        const V x0 = FSS_FN(col_load)(row, w, ninf);
        const VM q0 = VOP(eq)(x0, m0);
        const V e0 = VOP(exp_nonpos)(VOP(sub)(x0, m0));
        s0 = ACC(add)(s0, VOP(zero_where)(q0, e0));
        c0 = ACC(add)(c0, VOP(one_where)(q0));
        if (e_out)
            FSS_FN(col_store)(e_out + i * es, e0, w);
        if (w > W) {
            const V x1 = FSS_FN(col_load)(row + W, w - W, ninf);
            const VM q1 = VOP(eq)(x1, m1);
            const V e1 = VOP(exp_nonpos)(VOP(sub)(x1, m1));
            s1 = ACC(add)(s1, VOP(zero_where)(q1, e1));
            c1 = ACC(add)(c1, VOP(one_where)(q1));
            if (e_out)
                FSS_FN(col_store)(e_out + i * es + W, e1, w - W);
        }
        if ((i + 1) % FSS_COL_BLOCK == 0) {
            ACC(kadd)(&S0, &K0, s0);
            ACC(kadd)(&S1, &K1, s1);
            s0 = s1 = ACC(zero)();
        }
    }
    ACC(kadd)(&S0, &K0, s0);
    ACC(kadd)(&S1, &K1, s1);
    s0 = ACC(merge)(S0, K0);
    s1 = ACC(merge)(S1, K1);
    VOP(storeu)(m_out, m0);
    VOP(storeu)(m_out + W, m1);
    ACC(store)(rest_out, s0);
    ACC(store)(rest_out + W, s1);
    ACC(store)(count_out, c0);
    ACC(store)(count_out + W, c1);
}

static void FSS_FN(col_scale)(T *y, int64_t n, int64_t ys, int64_t w, const T *restrict s)
{
    const V s0 = VOP(loadu)(s), s1 = VOP(loadu)(s + W);
    for (int64_t i = 0; i < n; ++i) {
        T *row = y + i * ys;
        FSS_FN(col_store)(row, VOP(mul)(FSS_FN(col_load)(row, w, 0), s0), w);
        if (w > W)
            FSS_FN(col_store)(row + W, VOP(mul)(FSS_FN(col_load)(row + W, w - W, 0), s1), w - W);
    }
}

static void FSS_FN(col_logsub)(const T *x, int64_t n, int64_t rs, int64_t w, const T *restrict m,
                               const T *restrict L, T *y, int64_t ys)
{
    const V m0 = VOP(loadu)(m), m1 = VOP(loadu)(m + W);
    const V l0 = VOP(loadu)(L), l1 = VOP(loadu)(L + W);
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        T *out = y + i * ys;
        FSS_FN(col_store)(out, VOP(sub)(VOP(sub)(FSS_FN(col_load)(row, w, 0), m0), l0), w);
        if (w > W)
            FSS_FN(col_store)(out + W, VOP(sub)(VOP(sub)(FSS_FN(col_load)(row + W, w - W, 0), m1), l1), w - W);
    }
}

#undef FSS_FN
