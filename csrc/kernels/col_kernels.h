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

/* The passes over a panel read one row's slice (up to 4 KiB) after
 * another, each on its own page, where the hardware's prefetchers start
 * over: the slice this many rows ahead is asked for meanwhile. Zen 5,
 * AVX-512, one thread, float32 (1000, 4096) over axis 0, its input out of
 * the cache (the peer comparison, after SciPy's temporaries): logsumexp
 * 1.63-1.69 -> 0.62-0.63 ms, log_softmax 2.02-2.25 -> 1.25-1.32 ms,
 * softmax 2.46-2.57 -> 2.05-2.1 ms; 1, 2, 4 and 8 rows ahead the same. */
#ifndef FSS_COL_AHEAD
#define FSS_COL_AHEAD 4
#endif

/* Panels smaller than this stay in L2 from pass to pass, and their
 * prefetches cost more than they bring: softmax of (100, 10, 1000) over
 * axis 1 (panels of 10 rows) and (64, 1024) over axis 0 took 7-13% longer
 * with them */
#define FSS_COL_PREFETCH_BYTES ((int64_t)512 << 10)

/* n, or 0 where a panel of n rows of w elements is small enough to stay in
 * cache (col_ahead then gives NULL throughout) */
static inline int64_t FSS_FN(col_prefetch_rows)(int64_t n, int64_t w)
{
    return n * w * (int64_t)sizeof(T) >= FSS_COL_PREFETCH_BYTES ? n : 0;
}

/* Row i's slice FSS_COL_AHEAD rows on (row stride rs) at p, the panel's
 * row i, or NULL past the panel's first np rows (col_prefetch_rows) */
static inline const T *FSS_FN(col_ahead)(const T *p, int64_t i, int64_t np, int64_t rs)
{
    return i + FSS_COL_AHEAD < np ? p + FSS_COL_AHEAD * rs : NULL;
}

/* The lines of vectors [v, v + nv) of that slice */
static FSS_INLINE void FSS_FN(col_prefetch)(const T *ahead, int64_t v, int64_t nv)
{
    if (ahead)
        fss_prefetch_step(ahead, v * W * (int64_t)sizeof(T), nv * W * (int64_t)sizeof(T));
}

#if FSS_EXP_UNSHIFTED
/* The fewest rows (the reduced axis' length) for col_spec: its per-column
 * checks and unit are paid once a panel, against what the one pass saves a
 * row: the max pass, and for log_softmax and logsumexp (comp) the
 * compensated exponential, which softmax's two passes do not take. Zen 5,
 * AVX-512, one thread, float32, times of the one pass over the two's:
 * softmax / log_softmax / logsumexp over axis 0 of (8, 4096) 1.00 / 1.13 /
 * 1.13, (16, 1024) 1.00 / 0.99 / 1.00, (32, 1024) 1.01 / 0.90 / 0.89,
 * (64, 1024) 0.96 / 0.86 / 0.84, (96, 512) 0.91, (128, 256) 0.84 / 0.73 /
 * 0.72, (1000, 4096) 0.60 / 0.63 / 0.41; over axis 1 of (256, 32, 256)
 * 0.99 / 0.82 / 0.81, (100, 10, 1000) 0.99 / 1.08 / 1.09. */
#ifndef FSS_COL_ONE_PASS_MIN
#define FSS_COL_ONE_PASS_MIN 64
#endif
#ifndef FSS_COL_ONE_PASS_MIN_COMP
#define FSS_COL_ONE_PASS_MIN_COMP 32
#endif

/* col_stats in one pass where the panel allows, as the float rows take
 * theirs (spec_loop, xent_terms_with): each column's terms 2^-K exp(x) of
 * the K of its first element, its max and min alongside; then each column
 * must prove in range for its K (spec_in_range) with a sum not NaN and a
 * rest of at least n 2^-31 (below that the double sums' own rounding would
 * show, as in xent_terms_with), or the panel declines (returns 0, outputs
 * anything) and takes the max pass and the compensated one. Where it
 * takes: *m_out the max, rest_out (S - e_m) / unit (the max's own term
 * counted: count_out 1, as the rows count it), unit_out S / (1 + rest), so
 * that the terms sum to (rest + count) unit; the terms to e_out (may be
 * NULL; must not overlap x, which a declined panel reads again), and where
 * K_out is set each column's K, of which col_expscale forms the same terms
 * again. No term carries a rounding of x - m, and the max pass is gone: a
 * third of the panel's reads (its 1000 rows of 4 KiB do not stay in L2).
 * Out of line: its arrays in col_stats' frame cost the small panels, which
 * never take it, 2-4%. */
static FSS_OUTLINE int FSS_FN(col_spec)(const T *x, int64_t n, int64_t rs, int64_t w, T *restrict m_out,
                            double *restrict rest_out, double *restrict count_out, T *e_out, int64_t es,
                            double *restrict unit_out, T *restrict K_out)
{
    const int64_t np = FSS_FN(col_prefetch_rows)(n, w);
    const int64_t nv = (w + W - 1) / W;
    T Ks[FSS_COL_MAX(T)];
    V hi[FSS_COL_VECS], lw[FSS_COL_VECS], magic[FSS_COL_VECS];
    ACCT acc[FSS_COL_VECS], S[FSS_COL_VECS], C[FSS_COL_VECS];
    /* unshifted_k of each first element, a vector at a time (the pad lanes
     * load 0: K 0, their terms ignored); a NaN passes here, its column's sum
     * then NaN, which declines below */
    const V lim = VOP(set1)((T)FSS_UNSHIFTED_M_MAX), nlim = VOP(set1)(-(T)FSS_UNSHIFTED_M_MAX);
    for (int64_t v = 0; v < nv; ++v) {
        const V x0 = FSS_FN(col_load)(x + v * W, w - v * W, 0);
        if (FSS_CAT(VM, _any)(VOP(lt)(lim, x0)) || FSS_CAT(VM, _any)(VOP(lt)(x0, nlim)))
            return 0;
        const V K = VOP(round)(VOP(mul)(x0, VOP(set1)(1.44269504088896341f)));
        VOP(storeu)(Ks + v * W, K);
        magic[v] = vf_exp_magic_v(K);
        hi[v] = VOP(set1)(-(T)INFINITY), lw[v] = VOP(set1)((T)INFINITY);
        acc[v] = S[v] = C[v] = ACC(zero)();
    }
    const int64_t nv_full = w / W - (w / W) % FSS_EXP_STEP;
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs;
        int64_t v = 0;
        const T *ahead = FSS_FN(col_ahead)(row, i, np, rs);
        for (; v < nv_full; v += FSS_EXP_STEP) {
            V e[FSS_EXP_STEP];
            FSS_FN(col_prefetch)(ahead, v, FSS_EXP_STEP);
            for (int j = 0; j < FSS_EXP_STEP; ++j) {
                e[j] = VOP(loadu)(row + (v + j) * W);
                hi[v + j] = VOP(max)(hi[v + j], e[j]), lw[v + j] = VOP(min)(lw[v + j], e[j]);
            }
            vf_exp_biased_each_n(e, FSS_EXP_STEP, magic + v, 1);
            for (int j = 0; j < FSS_EXP_STEP; ++j) {
                acc[v + j] = ACC(add)(acc[v + j], e[j]);
                if (e_out)
                    VOP(storeu)(e_out + i * es + (v + j) * W, e[j]);
            }
        }
        for (; v < nv; ++v) {
            V e = FSS_FN(col_load)(row + v * W, w - v * W, 0);
            hi[v] = VOP(max)(hi[v], e), lw[v] = VOP(min)(lw[v], e);
            vf_exp_biased_each_n(&e, 1, magic + v, 0);
            acc[v] = ACC(add)(acc[v], e);
            if (e_out)
                FSS_FN(col_store)(e_out + i * es + v * W, e, w - v * W);
        }
        if ((i + 1) % FSS_COL_BLOCK == 0)
            for (int64_t u = 0; u < nv; ++u) {
                ACC(kadd)(&S[u], &C[u], acc[u]);
                acc[u] = ACC(zero)();
            }
    }
    /* each column's checks (spec_in_range's, a vector of columns at a
     * time), then its unit (unshifted_unit's steps) and rest a vector of
     * doubles at a time: one column at a time, the checks, the exponential
     * of a broadcast and the two divisions took a panel of 32 rows of 256
     * floats longer than its pass. The floats go to doubles through an
     * accumulator from 0 (exact). */
    T mx[FSS_COL_MAX(T)];
    double sum[FSS_COL_MAX(T)], mxd[FSS_COL_MAX(T)], Kd[FSS_COL_MAX(T)], Kmd[FSS_COL_MAX(T)], emd[FSS_COL_MAX(T)];
    const V ln2 = VOP(set1)(0.693147182f);
    for (int64_t v = 0; v < nv; ++v) {
        const V K = VOP(loadu)(Ks + v * W), m = hi[v];
        /* no element above K ln2 + 64 (taken in float 2^-10 inside, far
         * more than the float products' rounding), none below (K - 124)
         * ln2, |m| within the plan's limit; a NaN column passes here, its
         * sum NaN below */
        if (FSS_CAT(VM, _any)(VOP(lt)(lim, m)) || FSS_CAT(VM, _any)(VOP(lt)(m, nlim)) ||
            FSS_CAT(VM, _any)(VOP(lt)(VOP(fmadd)(K, ln2, VOP(set1)(64.0f - 0x1p-10f)), m)) ||
            FSS_CAT(VM, _any)(VOP(lt)(lw[v], VOP(mul)(VOP(sub)(K, VOP(set1)(124.0f)), ln2))))
            return 0;
        V e = m; /* the max's own term, as the pass formed it */
        vf_exp_biased_each_n(&e, 1, magic + v, 0);
        const V Km = VOP(round)(VOP(mul)(m, VOP(set1)(1.44269504088896341f))); /* unshifted_k(m) */
        VOP(storeu)(mx + v * W, m);
        ACC(store)(mxd + v * W, ACC(add)(ACC(zero)(), m));
        ACC(store)(Kd + v * W, ACC(add)(ACC(zero)(), K));
        ACC(store)(Kmd + v * W, ACC(add)(ACC(zero)(), Km));
        ACC(store)(emd + v * W, ACC(add)(ACC(zero)(), e));
        ACC(kadd)(&S[v], &C[v], acc[v]);
        ACC(store)(sum + v * W, ACC(merge)(S[v], C[v]));
    }
    for (int64_t j = 0; j < w; ++j)
        if (sum[j] != sum[j])
            return 0;
    const vd one = vd_set1(1.0), low = vd_set1((double)n * 0x1p-31);
    for (int64_t j = 0; j < w; j += VD_W) {
        const int64_t k = w - j; /* the pad lanes: a rest of 1 */
        const vd Kmj = vd_load_part(Kmd + j, k, 0.0);
        const vd d = vd_sub(vd_load_part(mxd + j, k, 0.0), vd_mul(Kmj, vd_set1(0.6931471805599453))); /* unshifted_d */
        const vd scale = vd_pow2i(vd_sub(Kmj, vd_load_part(Kd + j, k, 0.0)));            /* unshifted_scale */
        const vd u = vd_mul(vd_add(one, vd_expm1_reduced(d)), scale);
        const vd s = vd_load_part(sum + j, k, 1.0);
        const vd rest = vd_div(vd_sub(s, vd_load_part(emd + j, k, 0.0)), u);
        if (vdm_any(vd_lt(rest, low)))
            return 0;
        vd_store_part(rest_out + j, rest, k);
        vd_store_part(unit_out + j, vd_div(s, vd_add(one, rest)), k);
    }
    for (int64_t j = 0; j < w; ++j) {
        m_out[j] = mx[j];
        count_out[j] = 1.0;
        if (K_out)
            K_out[j] = Ks[j];
    }
    return 1;
}

/* y = 2^-K exp(x) (col_spec's terms, K a column) times s + s_lo, one
 * rounding (as col_scale): softmax's second pass over a panel the one pass
 * took, its terms formed again from x rather than stored and read back
 * (the panel's 4 MiB of terms do not stay in L2 either). y may be x. */
static void FSS_FN(col_expscale)(const T *x, int64_t n, int64_t rs, int64_t w, const T *restrict K,
                                 const T *restrict s, const T *restrict s_lo, T *y, int64_t ys)
{
    const int64_t np = FSS_FN(col_prefetch_rows)(n, w);
    const int64_t nv = (w + W - 1) / W;
    V magic[FSS_COL_VECS], sv[FSS_COL_VECS], lv[FSS_COL_VECS];
    for (int64_t v = 0; v < nv; ++v) {
        magic[v] = vf_exp_magic_v(FSS_FN(col_load)(K + v * W, w - v * W, 0));
        sv[v] = FSS_FN(col_load)(s + v * W, w - v * W, 0);
        lv[v] = FSS_FN(col_load)(s_lo + v * W, w - v * W, 0);
    }
    const int64_t nv_full = w / W - (w / W) % FSS_EXP_STEP;
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs, *ahead = FSS_FN(col_ahead)(row, i, np, rs);
        T *out = y + i * ys;
        int64_t v = 0;
        for (; v < nv_full; v += FSS_EXP_STEP) {
            V e[FSS_EXP_STEP];
            FSS_FN(col_prefetch)(ahead, v, FSS_EXP_STEP);
            for (int j = 0; j < FSS_EXP_STEP; ++j)
                e[j] = VOP(loadu)(row + (v + j) * W);
            vf_exp_biased_each_n(e, FSS_EXP_STEP, magic + v, 1);
            for (int j = 0; j < FSS_EXP_STEP; ++j)
                VOP(storeu)(out + (v + j) * W, VOP(fmadd)(e[j], sv[v + j], VOP(mul)(e[j], lv[v + j])));
        }
        for (; v < nv; ++v) {
            V e = FSS_FN(col_load)(row + v * W, w - v * W, 0);
            vf_exp_biased_each_n(&e, 1, magic + v, 0);
            FSS_FN(col_store)(out + v * W, VOP(fmadd)(e, sv[v], VOP(mul)(e, lv[v])), w - v * W);
        }
    }
}
#endif

/* The per-column max, rest and count (as the rows' sums: rest + count is
 * the sum of exp(x - m)), the terms exp(x - m) to e_out (may be NULL).
 * comp: the rounding of x - m folded back into each term. unit_out (may be
 * NULL): the float panels' one pass allowed (col_spec), returning 1 where
 * taken; its terms then go to e_out where K_out is NULL, and where it is
 * set not at all (e_out untouched), each column's K to K_out instead. */
static int FSS_FN(col_stats)(const T *x, int64_t n, int64_t rs, int64_t w, T *restrict m_out,
                             double *restrict rest_out, double *restrict count_out, T *e_out, int64_t es,
                             int comp, double *restrict unit_out, T *restrict K_out)
{
    const int64_t np = FSS_FN(col_prefetch_rows)(n, w);
#if FSS_EXP_UNSHIFTED
    if (unit_out && n >= (comp ? FSS_COL_ONE_PASS_MIN_COMP : FSS_COL_ONE_PASS_MIN) &&
        FSS_FN(col_spec)(x, n, rs, w, m_out, rest_out, count_out, K_out ? NULL : e_out, es, unit_out, K_out))
        return 1;
#else
    (void)unit_out, (void)K_out;
#endif
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
        const T *row = x + i * rs, *ahead = FSS_FN(col_ahead)(row, i, np, rs);
        for (int64_t v = 0; v < nv; ++v) {
            FSS_FN(col_prefetch)(ahead, v, 1);
            m[v] = VOP(max)(m[v], FSS_FN(col_load)(row + v * W, w - v * W, ninf));
        }
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
        const T *row = x + i * rs, *ahead = FSS_FN(col_ahead)(row, i, np, rs);
        int64_t v = 0;
        for (; v < nv_full; v += FSS_EXP_STEP) {
            V x0[FSS_EXP_STEP], e0[FSS_EXP_STEP];
            FSS_FN(col_prefetch)(ahead, v, FSS_EXP_STEP);
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
    return 0;
}

/* y *= s + s_lo per column, one rounding (as row_scale) */
static void FSS_FN(col_scale)(T *y, int64_t n, int64_t ys, int64_t w, const T *restrict s, const T *restrict s_lo)
{
    const int64_t np = FSS_FN(col_prefetch_rows)(n, w);
    const int64_t nv = (w + W - 1) / W;
    V sv[FSS_COL_VECS], lv[FSS_COL_VECS];
    for (int64_t v = 0; v < nv; ++v) {
        sv[v] = VOP(loadu)(s + v * W);
        lv[v] = VOP(loadu)(s_lo + v * W);
    }
    for (int64_t i = 0; i < n; ++i) {
        T *row = y + i * ys;
        const T *ahead = FSS_FN(col_ahead)(row, i, np, ys); /* the terms, written: mapped */
        for (int64_t v = 0; v < nv; ++v) {
            FSS_FN(col_prefetch)(ahead, v, 1);
            const V e = FSS_FN(col_load)(row + v * W, w - v * W, 0);
            FSS_FN(col_store)(row + v * W, VOP(fmadd)(e, sv[v], VOP(mul)(e, lv[v])), w - v * W);
        }
    }
}

static void FSS_FN(col_logsub)(const T *x, int64_t n, int64_t rs, int64_t w, const T *restrict m,
                               const T *restrict L, T *y, int64_t ys)
{
    const int64_t np = FSS_FN(col_prefetch_rows)(n, w);
    const int64_t nv = (w + W - 1) / W;
    V mv[FSS_COL_VECS], lv[FSS_COL_VECS];
    for (int64_t v = 0; v < nv; ++v) {
        mv[v] = VOP(loadu)(m + v * W);
        lv[v] = VOP(loadu)(L + v * W);
    }
    for (int64_t i = 0; i < n; ++i) {
        const T *row = x + i * rs, *ahead = FSS_FN(col_ahead)(row, i, np, rs); /* (not y: maybe unmapped) */
        T *out = y + i * ys;
        for (int64_t v = 0; v < nv; ++v) {
            FSS_FN(col_prefetch)(ahead, v, 1);
            FSS_FN(col_store)(out + v * W,
                              FSS_FN(logsub_v)(FSS_FN(col_load)(row + v * W, w - v * W, 0), mv[v], lv[v]),
                              w - v * W);
        }
    }
}

#undef FSS_COL_VECS
#undef FSS_FN
