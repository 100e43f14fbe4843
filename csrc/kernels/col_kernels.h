/* Column kernels for a strided reduced axis (row stride rs) whose columns
 * are contiguous: vectors run across up to 2*W adjacent columns, so a
 * reduction over a non-last axis needs no transposing copy.
 *
 * Included by kernels/instantiate.h after xent_kernels.h (for the
 * compensated exponential), with the same T / V / VOP / ACC bindings. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

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

/* exp(x - m), with the rounding of x - m folded back in when comp is set
 * (log_softmax and logsumexp: see xent_expc). */
static inline V FSS_FN(col_exp)(V x, V m, V nm, V lim, int comp)
{
    return comp ? FSS_FN(xent_expc)(x, m, nm, lim) : VOP(exp_nonpos)(VOP(sub)(x, m));
}

static void FSS_FN(col_stats)(const T *x, int64_t n, int64_t rs, int64_t w, T *restrict m_out,
                              double *restrict rest_out, double *restrict count_out, T *e_out, int64_t es,
                              int comp)
{
    const T ninf = -(T)INFINITY;
    const V zero = VOP(set1)(0), lim = VOP(set1)(-(T)1000);
    V m0 = VOP(set1)(ninf), m1 = m0;
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        m0 = VOP(max)(m0, FSS_FN(col_load)(row, w, ninf));
        if (w > W)
            m1 = VOP(max)(m1, FSS_FN(col_load)(row + W, w - W, ninf));
    }
    const V nm0 = VOP(sub)(zero, m0), nm1 = VOP(sub)(zero, m1);
    ACCT s0 = ACC(zero)(), s1 = ACC(zero)(), c0 = ACC(zero)(), c1 = ACC(zero)();
    ACCT S0 = ACC(zero)(), S1 = ACC(zero)(), K0 = ACC(zero)(), K1 = ACC(zero)();
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        const V x0 = FSS_FN(col_load)(row, w, ninf);
        const VM q0 = VOP(eq)(x0, m0);
        const V e0 = FSS_FN(col_exp)(x0, m0, nm0, lim, comp);
        s0 = ACC(add)(s0, VOP(zero_where)(q0, e0));
        c0 = ACC(add)(c0, VOP(one_where)(q0));
        if (e_out)
            FSS_FN(col_store)(e_out + i * es, e0, w);
        if (w > W) {
            const V x1 = FSS_FN(col_load)(row + W, w - W, ninf);
            const VM q1 = VOP(eq)(x1, m1);
            const V e1 = FSS_FN(col_exp)(x1, m1, nm1, lim, comp);
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
