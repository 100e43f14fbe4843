/* Column kernels for a strided reduced axis (row stride rs) whose columns
 * are contiguous: vectors run across up to FSS_COL_MAX(T) adjacent columns, so
 * a reduction over a non-last axis needs no transposing copy.
 *
 * Included by kernels/instantiate.h after xent_kernels.h (for the
 * compensated exponential), with the same T / V / VOP / ACC bindings. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

/* Float rows summed per lane (in double) before a compensated add (see
 * vfacc_kadd); double terms are compensated one by one (lane_sum). */
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

/* exp(x[j] - m[j]) of nv vectors in place (nm = -m), with the rounding of
 * x - m folded back in when comp is set (log_softmax and logsumexp: see
 * xent_expc_nm); the exponentials interleaved, the same bits whatever nv. */
static FSS_INLINE void FSS_FN(col_exp_n)(V *x, int nv, const V *m, const V *nm, int comp)
{
    if (comp) {
        FSS_FN(xent_expc_nm)(x, nv, m, nm, 1, FSS_SUB_ORDERED);
        return;
    }
    for (int j = 0; j < nv; ++j)
        x[j] = VOP(sub)(x[j], m[j]);
    VOP(exp_nonpos_n)(x, nv, 1);
}

/* a column vector's term e0 (of x0) into its sums: the max-equal lanes
 * counted in *c, the others added to *acc. By x == m, not by e0 == 1 as the
 * row loops count (sumexp_c_loop): a panel's columns share the arithmetic,
 * and a column whose maximum is +inf must count its inf lanes (their terms
 * are NaN) for log_softmax's -inf elsewhere. */
#if FSS_SUM_PAIRS
typedef ACCT FSS_FN(col_acc);
#else
typedef FSS_FN(lane_sum) FSS_FN(col_acc);
#endif
static FSS_INLINE void FSS_FN(col_take)(FSS_FN(col_acc) *acc, V *c, V x0, V e0, V m)
{
    const VM q0 = VOP(eq)(x0, m);
#if FSS_SUM_PAIRS
    *acc = ACC(add)(*acc, VOP(zero_where)(q0, e0));
#else
    FSS_FN(lane_sum_add)(acc, VOP(zero_where)(q0, e0));
#endif
    *c = VOP(add)(*c, VOP(one_where)(q0));
}

/* Column panels are FSS_COL_MAX(T) elements wide (several vectors): a narrow
 * tile walks the whole reduced axis, one page per row when rows are long,
 * twice; a panel of 256 bytes or more does that walk once for several
 * vectors' worth of columns (measured 2x faster on (1000, 4096) float32,
 * axis 0; see FSS_COL_BYTES for the width). The per-vector accumulators
 * live in stack arrays (under 40 KiB). */
#define FSS_COL_VECS (FSS_COL_MAX(T) / W)

static void FSS_FN(col_stats)(const T *x, int64_t n, int64_t rs, int64_t w, T *restrict m_out,
                              double *restrict rest_out, double *restrict count_out, T *e_out, int64_t es,
                              int comp)
{
    const T ninf = -(T)INFINITY;
    const V zero = VOP(set1)(0);
    const int64_t nv = (w + W - 1) / W;
    V m[FSS_COL_VECS], nm[FSS_COL_VECS], c[FSS_COL_VECS];
    /* float: lane sums in double; double: each term compensated (lane_sum,
     * xent_kernels.h; plain 32-row block sums measured 6 ULP in
     * log_softmax, over its bound) */
    FSS_FN(col_acc) acc[FSS_COL_VECS];
#if FSS_SUM_PAIRS
    ACCT S[FSS_COL_VECS], K[FSS_COL_VECS];
#endif
    for (int64_t v = 0; v < nv; ++v)
        m[v] = VOP(set1)(ninf);
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        for (int64_t v = 0; v < nv; ++v)
            m[v] = VOP(max)(m[v], FSS_FN(col_load)(row + v * W, w - v * W, ninf));
    }
    for (int64_t v = 0; v < nv; ++v) {
        nm[v] = VOP(sub)(zero, m[v]);
        c[v] = zero;
#if FSS_SUM_PAIRS
        acc[v] = S[v] = K[v] = ACC(zero)();
#else
        acc[v] = FSS_FN(lane_sum_start)();
#endif
    }
    /* whole vectors FSS_EXP_STEP at a time (the exponential is a chain of
     * dependent FMAs: one at a time, the loop waits on it; (1000, 4096)
     * log_softmax over axis 0 measured 7% faster in float32, 10-15% in
     * double; (5000, 512) 12-15%) */
    const int64_t nv_full = w / W - (w / W) % FSS_EXP_STEP;
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        int64_t v = 0;
        for (; v < nv_full; v += FSS_EXP_STEP) {
            V x0[FSS_EXP_STEP], e0[FSS_EXP_STEP];
            for (int j = 0; j < FSS_EXP_STEP; ++j)
                x0[j] = e0[j] = VOP(loadu)(row + (v + j) * W);
            FSS_FN(col_exp_n)(e0, FSS_EXP_STEP, m + v, nm + v, comp);
            for (int j = 0; j < FSS_EXP_STEP; ++j) {
                FSS_FN(col_take)(&acc[v + j], &c[v + j], x0[j], e0[j], m[v + j]);
                if (e_out)
                    VOP(storeu)(e_out + i * es + (v + j) * W, e0[j]);
            }
        }
        for (; v < nv; ++v) {
            const V x0 = FSS_FN(col_load)(row + v * W, w - v * W, ninf);
            V e0 = x0;
            FSS_FN(col_exp_n)(&e0, 1, m + v, nm + v, comp);
            FSS_FN(col_take)(&acc[v], &c[v], x0, e0, m[v]);
            if (e_out)
                FSS_FN(col_store)(e_out + i * es + v * W, e0, w - v * W);
        }
#if FSS_SUM_PAIRS
        if ((i + 1) % FSS_COL_BLOCK == 0)
            for (int64_t v = 0; v < nv; ++v) {
                ACC(kadd)(&S[v], &K[v], acc[v]);
                acc[v] = ACC(zero)();
            }
#endif
    }
    for (int64_t v = 0; v < nv; ++v) {
        VOP(storeu)(m_out + v * W, m[v]);
#if FSS_SUM_PAIRS
        ACC(kadd)(&S[v], &K[v], acc[v]);
        ACC(store)(rest_out + v * W, ACC(merge)(S[v], K[v]));
#else
        FSS_FN(lane_sum_store)(rest_out + v * W, acc[v]);
#endif
        ACC(store)(count_out + v * W, ACC(add)(ACC(zero)(), c[v]));
    }
}

/* y *= s + s_lo per column, one rounding (as row_scale) */
static void FSS_FN(col_scale)(T *y, int64_t n, int64_t ys, int64_t w, const T *restrict s, const T *restrict s_lo)
{
    const int64_t nv = (w + W - 1) / W;
    V sv[FSS_COL_VECS], lv[FSS_COL_VECS];
    for (int64_t v = 0; v < nv; ++v) {
        sv[v] = VOP(loadu)(s + v * W);
        lv[v] = VOP(loadu)(s_lo + v * W);
    }
    for (int64_t i = 0; i < n; ++i) {
        T *row = y + i * ys;
        for (int64_t v = 0; v < nv; ++v) {
            const V e = FSS_FN(col_load)(row + v * W, w - v * W, 0);
            FSS_FN(col_store)(row + v * W, VOP(fmadd)(e, sv[v], VOP(mul)(e, lv[v])), w - v * W);
        }
    }
}

static void FSS_FN(col_logsub)(const T *x, int64_t n, int64_t rs, int64_t w, const T *restrict m,
                               const T *restrict L, T *y, int64_t ys)
{
    const int64_t nv = (w + W - 1) / W;
    V mv[FSS_COL_VECS], lv[FSS_COL_VECS];
    for (int64_t v = 0; v < nv; ++v) {
        mv[v] = VOP(loadu)(m + v * W);
        lv[v] = VOP(loadu)(L + v * W);
    }
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        T *out = y + i * ys;
        for (int64_t v = 0; v < nv; ++v)
            FSS_FN(col_store)(out + v * W,
                              FSS_FN(logsub_v)(FSS_FN(col_load)(row + v * W, w - v * W, 0), mv[v], lv[v]),
                              w - v * W);
    }
}

#undef FSS_COL_VECS
#undef FSS_FN
