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

/* exp(x - m), with the rounding of x - m folded back in when comp is set
 * (log_softmax and logsumexp: see xent_expc). */
static inline V FSS_FN(col_exp)(V x, V m, V nm, int comp)
{
    return comp ? FSS_FN(xent_expc)(x, m, nm) : VOP(exp_nonpos)(VOP(sub)(x, m));
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
#if FSS_SUM_PAIRS
    ACCT s[FSS_COL_VECS], S[FSS_COL_VECS], K[FSS_COL_VECS];
#else
    /* double terms: each one compensated (lane_sum, xent_kernels.h; plain
     * 32-row block sums measured 6 ULP in log_softmax, over its bound) */
    FSS_FN(lane_sum) L[FSS_COL_VECS];
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
        s[v] = S[v] = K[v] = ACC(zero)();
#else
        L[v] = FSS_FN(lane_sum_start)();
#endif
    }
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        for (int64_t v = 0; v < nv; ++v) {
            const V x0 = FSS_FN(col_load)(row + v * W, w - v * W, ninf);
            const VM q0 = VOP(eq)(x0, m[v]);
            const V e0 = FSS_FN(col_exp)(x0, m[v], nm[v], comp);
#if FSS_SUM_PAIRS
            s[v] = ACC(add)(s[v], VOP(zero_where)(q0, e0));
#else
            FSS_FN(lane_sum_add)(&L[v], VOP(zero_where)(q0, e0));
#endif
            c[v] = VOP(add)(c[v], VOP(one_where)(q0));
            if (e_out)
                FSS_FN(col_store)(e_out + i * es + v * W, e0, w - v * W);
        }
#if FSS_SUM_PAIRS
        if ((i + 1) % FSS_COL_BLOCK == 0)
            for (int64_t v = 0; v < nv; ++v) {
                ACC(kadd)(&S[v], &K[v], s[v]);
                s[v] = ACC(zero)();
            }
#endif
    }
    for (int64_t v = 0; v < nv; ++v) {
        VOP(storeu)(m_out + v * W, m[v]);
#if FSS_SUM_PAIRS
        ACC(kadd)(&S[v], &K[v], s[v]);
        ACC(store)(rest_out + v * W, ACC(merge)(S[v], K[v]));
#else
        FSS_FN(lane_sum_store)(rest_out + v * W, L[v]);
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
                              VOP(sub)(VOP(sub)(FSS_FN(col_load)(row + v * W, w - v * W, 0), mv[v]), lv[v]),
                              w - v * W);
    }
}

#undef FSS_COL_VECS
#undef FSS_FN
