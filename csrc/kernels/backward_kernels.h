/* Backward-pass (vector-Jacobian product) kernel bodies, written once against
 * the vector layer:
 *   softmax:      gx = y * (g - sum_j g_j y_j)
 *   log_softmax:  gx = g - exp(y) * sum_j g_j
 * One reduction pass and one elementwise pass per row (or per tile of
 * adjacent columns when the reduced axis is strided).
 *
 * Included by kernels/backward_instantiate.h once per element type, with the
 * T / TS / V / VM / W / VOP bindings of instantiate.h plus BACCT / BACC(op):
 * a signed accumulator that sums in double (float terms) or with a per-lane
 * TwoSum and FMA TwoProduct (double terms), so the sums do not drift with
 * the row length. Nothing here knows which ISA it is compiled for. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

/* sum_j g_j * y_j, or sum_j g_j when y is NULL. */
static double FSS_FN(bwd_dot)(const T *g, const T *y, int64_t n)
{
    BACCT a0 = BACC(zero)(), a1 = BACC(zero)();
    int64_t i = 0;
#if defined(BWD_PRODUCT_BLOCK)
    /* float: BWD_PRODUCT_BLOCK products per lane summed by FMA in float, then
     * the block sum in double (the widening costs more than the FMA) */
    if (y) {
        for (; i + 2 * W * BWD_PRODUCT_BLOCK <= n;) {
            V f0 = VOP(mul)(VOP(loadu)(g + i), VOP(loadu)(y + i));
            V f1 = VOP(mul)(VOP(loadu)(g + i + W), VOP(loadu)(y + i + W));
            i += 2 * W;
            for (int b = 1; b < BWD_PRODUCT_BLOCK; ++b, i += 2 * W) {
                f0 = VOP(fmadd)(VOP(loadu)(g + i), VOP(loadu)(y + i), f0);
                f1 = VOP(fmadd)(VOP(loadu)(g + i + W), VOP(loadu)(y + i + W), f1);
            }
            a0 = BACC(add)(a0, f0);
            a1 = BACC(add)(a1, f1);
        }
    } else {
        for (; i + 2 * W * BWD_PRODUCT_BLOCK <= n;) {
            V f0 = VOP(loadu)(g + i), f1 = VOP(loadu)(g + i + W);
            i += 2 * W;
            for (int b = 1; b < BWD_PRODUCT_BLOCK; ++b, i += 2 * W) {
                f0 = VOP(add)(f0, VOP(loadu)(g + i));
                f1 = VOP(add)(f1, VOP(loadu)(g + i + W));
            }
            a0 = BACC(add)(a0, f0);
            a1 = BACC(add)(a1, f1);
        }
    }
#endif
    if (y) {
        for (; i + 2 * W <= n; i += 2 * W) {
            a0 = BACC(addprod)(a0, VOP(loadu)(g + i), VOP(loadu)(y + i));
            a1 = BACC(addprod)(a1, VOP(loadu)(g + i + W), VOP(loadu)(y + i + W));
        }
        for (; i < n; i += W)
            a0 = BACC(addprod)(a0, VOP(load_part)(g + i, n - i, 0), VOP(load_part)(y + i, n - i, 0));
    } else {
        for (; i + 2 * W <= n; i += 2 * W) {
            a0 = BACC(add)(a0, VOP(loadu)(g + i));
            a1 = BACC(add)(a1, VOP(loadu)(g + i + W));
        }
        for (; i < n; i += W)
            a0 = BACC(add)(a0, VOP(load_part)(g + i, n - i, 0));
    }
    return BACC(value)(a0, a1);
}

/* exp(y) for log-probabilities y <= 0; y is clamped at BWD_EXP_MAX (where
 * exp overflows anyway) so that a positive input gives +inf, never a wrapped
 * exponent. A NaN stays NaN (the comparison is false). */
static inline V FSS_FN(bwd_exp)(V y)
{
    const V c = VOP(set1)(BWD_EXP_MAX);
    const VM big = VOP(lt)(c, y);
    return VOP(exp_nonpos)(VOP(add)(VOP(zero_where)(big, y), VOP(mul)(VOP(one_where)(big), c)));
}

/* out = y * (g - s); out may be g or y. */
static void FSS_FN(bwd_softmax_row)(const T *g, const T *y, int64_t n, T s, T *out)
{
    const V vs = VOP(set1)(s);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V r0 = VOP(mul)(VOP(loadu)(y + i), VOP(sub)(VOP(loadu)(g + i), vs));
        const V r1 = VOP(mul)(VOP(loadu)(y + i + W), VOP(sub)(VOP(loadu)(g + i + W), vs));
        VOP(storeu)(out + i, r0);
        VOP(storeu)(out + i + W, r1);
    }
    for (; i < n; i += W) {
        const V r0 = VOP(mul)(VOP(load_part)(y + i, n - i, 0), VOP(sub)(VOP(load_part)(g + i, n - i, 0), vs));
        VOP(store_part)(out + i, r0, n - i);
    }
}

/* sum_j g_j (returned, in double) and *ymax = max_j y_j: the row
 * maximum of y lets the elementwise pass skip the overflow clamp. */
static double FSS_FN(bwd_sum_max)(const T *g, const T *y, int64_t n, T *ymax)
{
    BACCT a0 = BACC(zero)(), a1 = BACC(zero)();
    const V ninf = VOP(set1)(-(T)INFINITY);
    V m0 = ninf, m1 = ninf;
    int64_t i = 0;
#if defined(BWD_PRODUCT_BLOCK)
    for (; i + 2 * W * BWD_PRODUCT_BLOCK <= n;) {
        V f0 = VOP(set1)(0), f1 = VOP(set1)(0);
        for (int b = 0; b < BWD_PRODUCT_BLOCK; ++b, i += 2 * W) {
            f0 = VOP(add)(f0, VOP(loadu)(g + i));
            f1 = VOP(add)(f1, VOP(loadu)(g + i + W));
            m0 = VOP(max)(m0, VOP(loadu)(y + i));
            m1 = VOP(max)(m1, VOP(loadu)(y + i + W));
        }
        a0 = BACC(add)(a0, f0);
        a1 = BACC(add)(a1, f1);
    }
#endif
    for (; i + 2 * W <= n; i += 2 * W) {
        a0 = BACC(add)(a0, VOP(loadu)(g + i));
        a1 = BACC(add)(a1, VOP(loadu)(g + i + W));
        m0 = VOP(max)(m0, VOP(loadu)(y + i));
        m1 = VOP(max)(m1, VOP(loadu)(y + i + W));
    }
    for (; i < n; i += W) {
        a0 = BACC(add)(a0, VOP(load_part)(g + i, n - i, 0));
        m0 = VOP(max)(m0, VOP(load_part)(y + i, n - i, -(T)INFINITY));
    }
    *ymax = VOP(hmax)(VOP(max)(m0, m1));
    return BACC(value)(a0, a1);
}

/* out = g - exp(y) * s, one rounding for the product and the difference
 * where the ISA has FMA; out may be g or y. `clamp` (a constant at each
 * call) guards exp against y > BWD_EXP_MAX: only rows that reach it pay. */
static inline void FSS_FN(bwd_lsm_loop)(const T *g, const T *y, int64_t n, T s, T *out, int clamp)
{
    const V vns = VOP(set1)(-s);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V y0 = VOP(loadu)(y + i), y1 = VOP(loadu)(y + i + W);
        const V e0 = clamp ? FSS_FN(bwd_exp)(y0) : VOP(exp_nonpos)(y0);
        const V e1 = clamp ? FSS_FN(bwd_exp)(y1) : VOP(exp_nonpos)(y1);
        const V r0 = VOP(fmadd)(e0, vns, VOP(loadu)(g + i));
        const V r1 = VOP(fmadd)(e1, vns, VOP(loadu)(g + i + W));
        VOP(storeu)(out + i, r0);
        VOP(storeu)(out + i + W, r1);
    }
    for (; i < n; i += W) {
        const V y0 = VOP(load_part)(y + i, n - i, -(T)INFINITY);
        const V e0 = clamp ? FSS_FN(bwd_exp)(y0) : VOP(exp_nonpos)(y0);
        VOP(store_part)(out + i, VOP(fmadd)(e0, vns, VOP(load_part)(g + i, n - i, 0)), n - i);
    }
}

/* ymax: the row maximum of y (bwd_sum_max); NaN takes the clamped loop. */
static void FSS_FN(bwd_logsoftmax_row)(const T *g, const T *y, int64_t n, T s, T ymax, T *out)
{
    if (ymax <= (T)0.5 * BWD_EXP_MAX)
        FSS_FN(bwd_lsm_loop)(g, y, n, s, out, 0);
    else
        FSS_FN(bwd_lsm_loop)(g, y, n, s, out, 1);
}

/* ---- pipelined rows: the elementwise pass of one row and the reduction of
 * the next in one loop, so the next row streams in from memory while this
 * row's result is written (two half-idle passes become one). The reduction
 * takes exactly bwd_dot's / bwd_sum_max's steps, and the elementwise pass
 * exactly bwd_softmax_row's / bwd_lsm_loop's, so a row's result does not
 * depend on whether it came through here. `stream` (a constant at each call):
 * full vectors of out go out with non-temporal stores (out aligned to the
 * vector size); the caller fences. gn == NULL: no next row. ---- */

/* How far ahead (bytes) the next row is prefetched while it is reduced: the
 * hardware prefetcher restarts at every page, and a row of a few thousand
 * elements is a page or two. */
#ifndef FSS_BWD_PREFETCH_BYTES
#define FSS_BWD_PREFETCH_BYTES 512
#endif

/* Prefetch the lines ahead of the 2W elements of gn and yn at i. */
static inline void FSS_FN(bwd_prefetch)(const T *gn, const T *yn, int64_t i)
{
    const int64_t off = i * (int64_t)sizeof(T) + FSS_BWD_PREFETCH_BYTES, step = 2 * W * (int64_t)sizeof(T);
    fss_prefetch_step(gn, off, step);
    fss_prefetch_step(yn, off, step);
}

static inline void FSS_FN(bwd_put)(T *out, V v, int stream)
{
    if (stream)
        VOP(stream)(out, v);
    else
        VOP(storeu)(out, v);
}

/* out[i..i+2W) = y * (g - s) */
static inline void FSS_FN(bwd_sm_step)(const T *g, const T *y, int64_t i, V vs, T *out, int stream)
{
    const V r0 = VOP(mul)(VOP(loadu)(y + i), VOP(sub)(VOP(loadu)(g + i), vs));
    const V r1 = VOP(mul)(VOP(loadu)(y + i + W), VOP(sub)(VOP(loadu)(g + i + W), vs));
    FSS_FN(bwd_put)(out + i, r0, stream);
    FSS_FN(bwd_put)(out + i + W, r1, stream);
}

static inline double FSS_FN(bwd_softmax_next_body)(const T *g, const T *y, int64_t n, T s, T *out,
                                                   const T *gn, const T *yn, int stream)
{
    const V vs = VOP(set1)(s);
    BACCT a0 = BACC(zero)(), a1 = BACC(zero)();
    int64_t i = 0;
#if defined(BWD_PRODUCT_BLOCK)
    for (; i + 2 * W * BWD_PRODUCT_BLOCK <= n;) {
        V f0 = VOP(mul)(VOP(loadu)(gn + i), VOP(loadu)(yn + i));
        V f1 = VOP(mul)(VOP(loadu)(gn + i + W), VOP(loadu)(yn + i + W));
        FSS_FN(bwd_sm_step)(g, y, i, vs, out, stream);
        FSS_FN(bwd_prefetch)(gn, yn, i);
        i += 2 * W;
        for (int b = 1; b < BWD_PRODUCT_BLOCK; ++b, i += 2 * W) {
            FSS_FN(bwd_prefetch)(gn, yn, i);
            f0 = VOP(fmadd)(VOP(loadu)(gn + i), VOP(loadu)(yn + i), f0);
            f1 = VOP(fmadd)(VOP(loadu)(gn + i + W), VOP(loadu)(yn + i + W), f1);
            FSS_FN(bwd_sm_step)(g, y, i, vs, out, stream);
        }
        a0 = BACC(add)(a0, f0);
        a1 = BACC(add)(a1, f1);
    }
#endif
    for (; i + 2 * W <= n; i += 2 * W) {
        a0 = BACC(addprod)(a0, VOP(loadu)(gn + i), VOP(loadu)(yn + i));
        a1 = BACC(addprod)(a1, VOP(loadu)(gn + i + W), VOP(loadu)(yn + i + W));
        FSS_FN(bwd_prefetch)(gn, yn, i);
        FSS_FN(bwd_sm_step)(g, y, i, vs, out, stream);
    }
    for (; i < n; i += W) {
        a0 = BACC(addprod)(a0, VOP(load_part)(gn + i, n - i, 0), VOP(load_part)(yn + i, n - i, 0));
        const V r0 = VOP(mul)(VOP(load_part)(y + i, n - i, 0), VOP(sub)(VOP(load_part)(g + i, n - i, 0), vs));
        VOP(store_part)(out + i, r0, n - i);
    }
    return BACC(value)(a0, a1);
}

/* out = y * (g - s) for this row; returns sum gn * yn of the next row (0
 * when gn is NULL). */
static double FSS_FN(bwd_softmax_row_next)(const T *g, const T *y, int64_t n, T s, T *out, const T *gn,
                                           const T *yn, int stream)
{
    if (gn == NULL) {
        FSS_FN(bwd_softmax_row)(g, y, n, s, out);
        return 0.0;
    }
    if (stream && ((uintptr_t)out % (W * sizeof(T))) == 0)
        return FSS_FN(bwd_softmax_next_body)(g, y, n, s, out, gn, yn, 1);
    return FSS_FN(bwd_softmax_next_body)(g, y, n, s, out, gn, yn, 0);
}

/* out[i..i+2W) = g - exp(y) * s */
static inline void FSS_FN(bwd_lsm_step)(const T *g, const T *y, int64_t i, V vns, T *out, int clamp,
                                        int stream)
{
    const V y0 = VOP(loadu)(y + i), y1 = VOP(loadu)(y + i + W);
    const V e0 = clamp ? FSS_FN(bwd_exp)(y0) : VOP(exp_nonpos)(y0);
    const V e1 = clamp ? FSS_FN(bwd_exp)(y1) : VOP(exp_nonpos)(y1);
    const V r0 = VOP(fmadd)(e0, vns, VOP(loadu)(g + i));
    const V r1 = VOP(fmadd)(e1, vns, VOP(loadu)(g + i + W));
    FSS_FN(bwd_put)(out + i, r0, stream);
    FSS_FN(bwd_put)(out + i + W, r1, stream);
}

static FSS_INLINE double FSS_FN(bwd_lsm_next_body)(const T *g, const T *y, int64_t n, T s, T *out, const T *gn,
                                               const T *yn, T *ymax_next, int clamp, int stream)
{
    const V vns = VOP(set1)(-s);
    BACCT a0 = BACC(zero)(), a1 = BACC(zero)();
    const V ninf = VOP(set1)(-(T)INFINITY);
    V m0 = ninf, m1 = ninf;
    int64_t i = 0;
#if defined(BWD_PRODUCT_BLOCK)
    for (; i + 2 * W * BWD_PRODUCT_BLOCK <= n;) {
        V f0 = VOP(set1)(0), f1 = VOP(set1)(0);
        for (int b = 0; b < BWD_PRODUCT_BLOCK; ++b, i += 2 * W) {
            FSS_FN(bwd_prefetch)(gn, yn, i);
            f0 = VOP(add)(f0, VOP(loadu)(gn + i));
            f1 = VOP(add)(f1, VOP(loadu)(gn + i + W));
            m0 = VOP(max)(m0, VOP(loadu)(yn + i));
            m1 = VOP(max)(m1, VOP(loadu)(yn + i + W));
            FSS_FN(bwd_lsm_step)(g, y, i, vns, out, clamp, stream);
        }
        a0 = BACC(add)(a0, f0);
        a1 = BACC(add)(a1, f1);
    }
#endif
    for (; i + 2 * W <= n; i += 2 * W) {
        a0 = BACC(add)(a0, VOP(loadu)(gn + i));
        a1 = BACC(add)(a1, VOP(loadu)(gn + i + W));
        m0 = VOP(max)(m0, VOP(loadu)(yn + i));
        m1 = VOP(max)(m1, VOP(loadu)(yn + i + W));
        FSS_FN(bwd_prefetch)(gn, yn, i);
        FSS_FN(bwd_lsm_step)(g, y, i, vns, out, clamp, stream);
    }
    for (; i < n; i += W) {
        a0 = BACC(add)(a0, VOP(load_part)(gn + i, n - i, 0));
        m0 = VOP(max)(m0, VOP(load_part)(yn + i, n - i, -(T)INFINITY));
        const V y0 = VOP(load_part)(y + i, n - i, -(T)INFINITY);
        const V e0 = clamp ? FSS_FN(bwd_exp)(y0) : VOP(exp_nonpos)(y0);
        VOP(store_part)(out + i, VOP(fmadd)(e0, vns, VOP(load_part)(g + i, n - i, 0)), n - i);
    }
    *ymax_next = VOP(hmax)(VOP(max)(m0, m1));
    return BACC(value)(a0, a1);
}

/* out = g - exp(y) * s for this row (ymax: its maximum, as for
 * bwd_logsoftmax_row); returns sum gn of the next row and *ymax_next = max
 * yn (0 and untouched when gn is NULL). */
static double FSS_FN(bwd_logsoftmax_row_next)(const T *g, const T *y, int64_t n, T s, T ymax, T *out,
                                              const T *gn, const T *yn, T *ymax_next, int stream)
{
    if (gn == NULL) {
        FSS_FN(bwd_logsoftmax_row)(g, y, n, s, ymax, out);
        return 0.0;
    }
    const int clamp = !(ymax <= (T)0.5 * BWD_EXP_MAX);
    if (stream && ((uintptr_t)out % (W * sizeof(T))) == 0)
        return clamp ? FSS_FN(bwd_lsm_next_body)(g, y, n, s, out, gn, yn, ymax_next, 1, 1)
                     : FSS_FN(bwd_lsm_next_body)(g, y, n, s, out, gn, yn, ymax_next, 0, 1);
    return clamp ? FSS_FN(bwd_lsm_next_body)(g, y, n, s, out, gn, yn, ymax_next, 1, 0)
                 : FSS_FN(bwd_lsm_next_body)(g, y, n, s, out, gn, yn, ymax_next, 0, 0);
}

static void FSS_FN(bwd_stream_fence)(void) { fss_stream_fence(); }

/* ---- column kernels: the reduced axis is strided (gs, ys, os), up to 2*W
 * adjacent columns are contiguous; vectors run across the columns. ---- */

/* (col_load / col_store: kernels/col_kernels.h, compiled earlier in the
 * same translation unit) */

/* Per column j < w: s[j] = sum_i g[i*gs + j] * y[i*ys + j] (or of g alone
 * when y is NULL). s has room for 2*W values. */
static void FSS_FN(bwd_col_dot)(const T *g, int64_t gs, const T *y, int64_t ys, int64_t n, int64_t w,
                                double *restrict s)
{
    BACCT a0 = BACC(zero)(), a1 = BACC(zero)();
    const int64_t w1 = w - W;
    for (int64_t i = 0; i < n; ++i) {
        const T *gr = g + i * gs;
        if (y) {
            const T *yr = y + i * ys;
            a0 = BACC(addprod)(a0, FSS_FN(col_load)(gr, w, 0), FSS_FN(col_load)(yr, w, 0));
            if (w1 > 0)
                a1 = BACC(addprod)(a1, FSS_FN(col_load)(gr + W, w1, 0), FSS_FN(col_load)(yr + W, w1, 0));
        } else {
            a0 = BACC(add)(a0, FSS_FN(col_load)(gr, w, 0));
            if (w1 > 0)
                a1 = BACC(add)(a1, FSS_FN(col_load)(gr + W, w1, 0));
        }
    }
    BACC(store)(s, a0);
    BACC(store)(s + W, a1);
}

/* out[i, j] = y * (g - s[j]) (softmax) or g - exp(y) * s[j] (log_softmax). */
static void FSS_FN(bwd_col_apply)(int log_softmax, const T *g, int64_t gs, const T *y, int64_t ys, int64_t n,
                                  int64_t w, const T *restrict s, T *out, int64_t os)
{
    const int64_t w1 = w - W;
    const V s0 = VOP(loadu)(s), s1 = VOP(loadu)(s + W);
    const V ns0 = VOP(sub)(VOP(set1)(0), s0), ns1 = VOP(sub)(VOP(set1)(0), s1);
    for (int64_t i = 0; i < n; ++i) {
        const T *gr = g + i * gs, *yr = y + i * ys;
        T *orow = out + i * os;
        const V g0 = FSS_FN(col_load)(gr, w, 0);
        const V y0 = FSS_FN(col_load)(yr, w, 0);
        V r0, r1 = g0;
        if (log_softmax)
            r0 = VOP(fmadd)(FSS_FN(bwd_exp)(y0), ns0, g0);
        else
            r0 = VOP(mul)(y0, VOP(sub)(g0, s0));
        if (w1 > 0) {
            const V g1 = FSS_FN(col_load)(gr + W, w1, 0);
            const V y1 = FSS_FN(col_load)(yr + W, w1, 0);
            if (log_softmax)
                r1 = VOP(fmadd)(FSS_FN(bwd_exp)(y1), ns1, g1);
            else
                r1 = VOP(mul)(y1, VOP(sub)(g1, s1));
        }
        /* stores after both loads: out may be g or y */
        FSS_FN(col_store)(orow, r0, w);
        if (w1 > 0)
            FSS_FN(col_store)(orow + W, r1, w1);
    }
}

#undef FSS_FN
