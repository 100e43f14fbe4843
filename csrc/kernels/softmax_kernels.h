/* The softmax-family kernel bodies, written once against the vector layer.
 *
 * Included by kernels/instantiate.h twice per ISA: once with the float binding
 * (T = float, VOP(x) = vf_x, ACC(x) = vfacc_x) and once with the double one.
 * Nothing here knows which ISA it is compiled for. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

#if defined(FSS_CHEAP_MASKS)
#define FSS_MASKED_TAIL 1
/* The last `left` (1 to FSS_EXP_STEP * W) elements of a block at x as nv
 * (a constant: 1 to FSS_EXP_STEP) vectors, lanes past the block filled with
 * fill; a vector wholly past it reads no memory (its address is the
 * block's own). */
static FSS_INLINE void FSS_FN(load_masked)(const T *x, int64_t left, T fill, V *e, const int nv)
{
    for (int j = 0; j < nv; ++j)
        e[j] = VOP(load_part)(x + (left > j * W ? j * W : 0), left - j * W, fill);
}

/* load_masked's counterpart: the first `left` elements of the vectors e
 * to y; then the lanes past them zeroed in e (their terms leave the sums) */
static FSS_INLINE void FSS_FN(store_masked)(T *y, int64_t left, V *e, const int nv)
{
    for (int j = 0; y && j < nv; ++j)
        VOP(store_part)(y + (left > j * W ? j * W : 0), e[j], left - j * W);
    for (int j = 0; j < nv; ++j)
        e[j] = VOP(keep_part)(e[j], left - j * W);
}

#else
#define FSS_MASKED_TAIL 0
#endif

/* How many of a row's first n elements at p come before the first one on
 * a vector-sized boundary. Where masks are cheap (FSS_MASKED_TAIL) the light
 * passes (max, scale, the log_softmax output) take them as one masked
 * vector first, so that their loop's loads and stores each stay within one
 * cache line: at (1024, 1000) float32 from 16-byte aligned rows (NumPy's),
 * softmax's max and scale passes measured ~20 ns a row slower than from
 * aligned ones on Zen 5. Only elementwise work and the max take this: a
 * sum's lanes must not depend on where the row lies. (spec_loop_with's
 * streamed other row runs this many elements ahead, on every flavour.) */
static FSS_INLINE int64_t FSS_FN(align_head)(const T *p, int64_t n)
{
    const uintptr_t a = (uintptr_t)p, vb = (uintptr_t)(W * sizeof(T));
    if (a % sizeof(T) != 0)
        return 0;
    const int64_t h = (int64_t)(((vb - a % vb) % vb) / sizeof(T));
    return h < n ? h : n;
}

/* The last partial vector of a row of n for its max or min: the row's last
 * W elements again where there are W (the max and min do not mind; masked
 * loads cost Zen 1 more), else its n elements padded with fill. */
static FSS_INLINE V FSS_FN(load_tail)(const T *x, int64_t n, T fill)
{
    return n >= W ? VOP(loadu)(x + n - W) : VOP(load_part)(x, n, fill);
}

static T FSS_FN(row_max)(const T *restrict x, int64_t n)
{
    const V ninf = VOP(set1)(-(T)INFINITY);
    V m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    int64_t i = 0;
#if FSS_MASKED_TAIL
    if ((i = FSS_FN(align_head)(x, n)) > 0)
        m2 = VOP(load_part)(x, i, -(T)INFINITY);
#endif
    for (; i + 4 * W <= n; i += 4 * W) {
        m0 = VOP(max)(m0, VOP(loadu)(x + i));
        m1 = VOP(max)(m1, VOP(loadu)(x + i + W));
        m2 = VOP(max)(m2, VOP(loadu)(x + i + 2 * W));
        m3 = VOP(max)(m3, VOP(loadu)(x + i + 3 * W));
    }
    for (; i + W <= n; i += W)
        m0 = VOP(max)(m0, VOP(loadu)(x + i));
    if (i < n)
        m1 = VOP(max)(m1, FSS_FN(load_tail)(x, n, -(T)INFINITY));
    return VOP(hmax)(VOP(max)(VOP(max)(m0, m1), VOP(max)(m2, m3)));
}

/* row_max, and the row's minimum in *lo: the compensated exponential loops
 * use it to skip their per-vector range test (see vf_exp_row_normal). On Zen
 * 1 the min doubles the cost of the max pass (0.4 -> 0.76 ns per 8 floats):
 * less than it saves in row_sumexp_c (~1 ns; ~1.5 ns where it stores), about
 * what it saves in row_expsum, so softmax keeps row_max. NaN: as row_max (the
 * callers check the sum); *lo may then be anything, which only decides
 * whether the range test is skipped. Without FSS_ROW_MIN (double, whose
 * loops keep the test) *lo is -inf, a bound that skips nothing, at row_max's
 * cost. */
static T FSS_FN(row_maxmin)(const T *restrict x, int64_t n, T *lo)
{
#if !FSS_ROW_MIN
    *lo = -(T)INFINITY;
    return FSS_FN(row_max)(x, n);
#endif
    const V ninf = VOP(set1)(-(T)INFINITY), pinf = VOP(set1)((T)INFINITY);
    V m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf, l0 = pinf, l1 = pinf, l2 = pinf, l3 = pinf;
    int64_t i = 0;
#if FSS_MASKED_TAIL
    if ((i = FSS_FN(align_head)(x, n)) > 0) {
        m2 = VOP(load_part)(x, i, -(T)INFINITY);
        l2 = VOP(load_part)(x, i, (T)INFINITY);
    }
#endif
    for (; i + 4 * W <= n; i += 4 * W) {
        const V x0 = VOP(loadu)(x + i), x1 = VOP(loadu)(x + i + W);
        const V x2 = VOP(loadu)(x + i + 2 * W), x3 = VOP(loadu)(x + i + 3 * W);
        m0 = VOP(max)(m0, x0);
        m1 = VOP(max)(m1, x1);
        m2 = VOP(max)(m2, x2);
        m3 = VOP(max)(m3, x3);
        l0 = VOP(min)(l0, x0);
        l1 = VOP(min)(l1, x1);
        l2 = VOP(min)(l2, x2);
        l3 = VOP(min)(l3, x3);
    }
    for (; i + W <= n; i += W) {
        const V x0 = VOP(loadu)(x + i);
        m0 = VOP(max)(m0, x0);
        l0 = VOP(min)(l0, x0);
    }
    if (i < n) {
        m1 = VOP(max)(m1, FSS_FN(load_tail)(x, n, -(T)INFINITY));
        l1 = VOP(min)(l1, FSS_FN(load_tail)(x, n, (T)INFINITY));
    }
    /* (the layers have hmax only: min = -max(-v), exactly) */
    *lo = -VOP(hmax)(VOP(sub)(VOP(set1)(0), VOP(min)(VOP(min)(l0, l1), VOP(min)(l2, l3))));
    return VOP(hmax)(VOP(max)(VOP(max)(m0, m1), VOP(max)(m2, m3)));
}

/* Rows pa and pb (either may be NULL) brought into the cache alongside the
 * 2W elements at i of the row being computed: a loop over rows passes its
 * next input row, whose loads would otherwise start only after this row is
 * done (softmax of (256, 32000) float32 on Zen 1: 10% faster); log_softmax
 * passes the row it writes next (15% at that shape).
 * Only memory whose pages are mapped is worth prefetching: in an output the
 * program has not written yet (a fresh np.empty) every prefetch costs a page
 * walk that finds nothing and is dropped, and the next one walks again. The
 * next row's output, once prefetched too, made the loss and gradient of
 * (512, 128000) float32 into a fresh gradient 199 ms against 124 ms without;
 * log_softmax writes one element per page of its output row first
 * (driver/softmax_driver_body.h, map_pages). */
static FSS_INLINE void FSS_FN(prefetch_rows)(const T *pa, const T *pb, int64_t i)
{
    const int64_t off = i * (int64_t)sizeof(T), step = 2 * W * (int64_t)sizeof(T);
    if (pa)
        fss_prefetch_step(pa, off, step);
    if (pb)
        fss_prefetch_step(pb, off, step);
}

/* The last `left` (1 to FSS_EXP_STEP * W) elements of a block at x as
 * vectors, the last partial one filled with fill; returns how many. */
static FSS_INLINE int FSS_FN(load_last)(const T *x, int64_t left, T fill, V *e)
{
    const int nv = (int)((left + W - 1) / W);
    for (int j = 0; j < nv; ++j) {
        const int64_t lj = left - j * W;
        e[j] = lj >= W ? VOP(loadu)(x + j * W) : VOP(load_part)(x + j * W, lj, fill);
    }
    return nv;
}

/* load_last's counterpart: the vectors e back to the `left` elements at y */
static FSS_INLINE void FSS_FN(store_last)(T *y, int64_t left, const V *e)
{
    for (int j = 0; j * W < left; ++j) {
        const int64_t lj = left - j * W;
        if (lj >= W)
            VOP(storeu)(y + j * W, e[j]);
        else
            VOP(store_part)(y + j * W, e[j], lj);
    }
}

/* two vectors of terms into expsum_loop's accumulators */
#if FSS_SUM_PAIRS
#define EXPSUM_ADD_PAIR(e0, e1) (a0 = ACC(add)(a0, VOP(add)((e0), (e1))))
#else
#define EXPSUM_ADD_PAIR(e0, e1)                                                  \
    do {                                                                         \
        const V t0_ = VOP(add)(a0, (e0)), t1_ = VOP(add)(a1, (e1));              \
        c0 = VOP(add)(c0, VOP(sub)((e0), VOP(sub)(t0_, a0)));                    \
        c1 = VOP(add)(c1, VOP(sub)((e1), VOP(sub)(t1_, a1)));                    \
        a0 = t0_, a1 = t1_;                                                      \
    } while (0)
#endif

/* Sum of exp(x - m) over the whole row, exponentials stored to e_out (may
 * alias x): what softmax needs, which divides by the sum and so has no use
 * for row_sumexp_c's exact counting of the maximum's terms (xent_kernels.h).
 * Float: terms summed in double (29 spare bits), pairs added in float first
 * (halves the widening work, 12% of this loop on Zen 1; at most one rounding
 * of a float relative to the row sum). Fours added in float as a tree were
 * 3% faster still (this loop and row_sumexp_c's) but doubled that rounding:
 * 4x as many softmax outputs 2 ULP past the shift allowance (one at 3, of
 * 10^6 random ones), log_softmax to 2 ULP on confident rows, where pairs
 * stay at 1; pairs stay. Double: two accumulators, each lane
 * compensated by Fast2Sum, which needs the accumulator at least as large as
 * the term: lanes start at 1 (every term is <= 1) and the 1 comes off
 * exactly at the end. Plain double lane sums measured up to ~3 ULP of error
 * in the sum, a whole softmax bound's worth (tests/test_accuracy.py,
 * test_every_row_length_to_80); this costs ~4% of the loop on Zen 1.
 * pa, pb: rows of n elements to prefetch (see prefetch_rows). */
static FSS_INLINE double FSS_FN(expsum_loop)(const T *x, int64_t n, T m, T *e_out, const T *pa, const T *pb,
                                               const int check)
{
    const V vm = VOP(set1)(m);
    fss_ksum total = { 0.0, 0.0 };
    int64_t i = 0;
    while (i < n) {
        const int64_t block_end = n - i > FSS_EXPSUM_BLOCK ? i + FSS_EXPSUM_BLOCK : n;
#if FSS_SUM_PAIRS
        ACCT a0 = ACC(zero)();
#else
        const V one = VOP(set1)(1), zero = VOP(set1)(0);
        V a0 = one, a1 = one, c0 = zero, c1 = zero;
#endif
        for (; i + FSS_EXP_STEP * W <= block_end; i += FSS_EXP_STEP * W) {
            V e[FSS_EXP_STEP];
            for (int j = 0; j < FSS_EXP_STEP; ++j)
                e[j] = VOP(sub)(VOP(loadu)(x + i + j * W), vm);
            for (int j = 0; j < FSS_EXP_STEP; j += 2)
                FSS_FN(prefetch_rows)(pa, pb, i + j * W);
            VOP(exp_nonpos_n)(e, FSS_EXP_STEP, check);
            for (int j = 0; j < FSS_EXP_STEP; ++j)
                VOP(storeu)(e_out + i + j * W, e[j]);
            /* by pairs, as the block's last step below: the same bits */
            for (int j = 0; j < FSS_EXP_STEP; j += 2)
                EXPSUM_ADD_PAIR(e[j], e[j + 1]);
        }
        int64_t pad = 0;
#if FSS_MASKED_TAIL
        /* the block's last elements as one more step of the loop above, of
         * two, four or FSS_EXP_STEP vectors, masked: past the block the loads
         * take m (the exponential's common path) and the terms are zeroed, so
         * the pairs add what the loop would add of a row padded with -inf. A
         * tail of three vectors through the code below cost a row of 1072
         * floats 20% of row_expsum's time on Zen 5 (AVX-512), this way 4%.
         * Each branch written out with its count a constant: one helper for
         * the three, its count a variable, made rows of 100 floats 20 -> 24
         * ns (kernel harness). */
        if (i < block_end) {
            const int64_t left = block_end - i;
            FSS_FN(prefetch_rows)(pa, pb, i);
            V e[FSS_EXP_STEP];
            if (left <= 2 * W) {
                FSS_FN(load_masked)(x + i, left, m, e, 2);
                e[0] = VOP(sub)(e[0], vm), e[1] = VOP(sub)(e[1], vm);
                VOP(exp_nonpos_n)(e, 2, check);
                FSS_FN(store_masked)(e_out + i, left, e, 2);
                EXPSUM_ADD_PAIR(e[0], e[1]);
            } else if (FSS_EXP_STEP > 4 && left <= 4 * W) {
                FSS_FN(prefetch_rows)(pa, pb, i + 2 * W);
                FSS_FN(load_masked)(x + i, left, m, e, 4);
                for (int j = 0; j < 4; ++j)
                    e[j] = VOP(sub)(e[j], vm);
                VOP(exp_nonpos_n)(e, 4, check);
                FSS_FN(store_masked)(e_out + i, left, e, 4);
                for (int j = 0; j < 4; j += 2)
                    EXPSUM_ADD_PAIR(e[j], e[j + 1]);
            } else {
                for (int j = 2; j < FSS_EXP_STEP; j += 2)
                    FSS_FN(prefetch_rows)(pa, pb, i + j * W);
                FSS_FN(load_masked)(x + i, left, m, e, FSS_EXP_STEP);
                for (int j = 0; j < FSS_EXP_STEP; ++j)
                    e[j] = VOP(sub)(e[j], vm);
                VOP(exp_nonpos_n)(e, FSS_EXP_STEP, check);
                FSS_FN(store_masked)(e_out + i, left, e, FSS_EXP_STEP);
                for (int j = 0; j < FSS_EXP_STEP; j += 2)
                    EXPSUM_ADD_PAIR(e[j], e[j + 1]);
            }
            i = block_end;
        }
#else
        const T pad_value = FSS_SUM_PAIRS ? m : -(T)INFINITY;
        if (i < block_end) {
            /* the block's last one to four vectors, their exponentials
             * interleaved (as in sumexp_c_loop); a pair of whole vectors
             * summed as above, then one by one. Float pads the last partial
             * vector with m, not -inf: a -inf lane sent it down the
             * exponential's wide path (softmax of 57-63 floats: 213 -> 173
             * ns a row); its pad terms are exactly 1 and come off the total,
             * where the double lanes have precision to spare. Double keeps
             * -inf (zero terms): its lanes would carry the pad ones into a
             * rounded combine, measured 17 ULP in softmax of 33 elements. */
            const int64_t left = block_end - i;
            FSS_FN(prefetch_rows)(pa, pb, i);
            if (left > 2 * W)
                FSS_FN(prefetch_rows)(pa, pb, i + 2 * W);
            V e[FSS_EXP_STEP];
            const int nv = FSS_FN(load_last)(x + i, left, pad_value, e);
            for (int j = 0; j < nv; ++j)
                e[j] = VOP(sub)(e[j], vm);
            VOP(exp_nonpos_n)(e, nv, check);
            FSS_FN(store_last)(e_out + i, left, e);
            int j = 0;
            if (left >= 2 * W) {
                EXPSUM_ADD_PAIR(e[0], e[1]);
                j = 2;
            }
            for (; j < nv; ++j) {
#if FSS_SUM_PAIRS
                a0 = ACC(add)(a0, e[j]);
#else
                const V t0 = VOP(add)(a0, e[j]);
                c0 = VOP(add)(c0, VOP(sub)(e[j], VOP(sub)(t0, a0)));
                a0 = t0;
#endif
            }
            pad = FSS_SUM_PAIRS && left % W != 0 ? W - left % W : 0;
            i = block_end;
        }
#endif
#if FSS_SUM_PAIRS
        fss_ksum_add(&total, ACC(hsum)(a0));
#else
        fss_ksum_add(&total, VOP(hsum)(VOP(add)(VOP(sub)(a0, one), VOP(sub)(a1, one))));
        fss_ksum_add(&total, VOP(hsum)(VOP(add)(c0, c1)));
#endif
        if (pad)
            fss_ksum_add(&total, -(double)pad);
    }
    return fss_ksum_value(&total);
}
#undef EXPSUM_ADD_PAIR

/* lo: a lower bound of the row's elements (its minimum, row_maxmin), or
 * -inf: where every x - m is in the exponential's common range, the loop
 * without the per-vector range test; the same bits either way. */
static double FSS_FN(row_expsum)(const T *x, int64_t n, T m, T lo, T *e_out, const T *pa, const T *pb)
{
    if (VOP(exp_row_normal)(lo, m))
        return FSS_FN(expsum_loop)(x, n, m, e_out, pa, pb, 0);
    return FSS_FN(expsum_loop)(x, n, m, e_out, pa, pb, 1);
}

/* y *= s + s_lo, one rounding per element (s_lo: the part of the scale s
 * cannot hold, see fss_recip_split; 0 for a plain scale) */
static void FSS_FN(row_scale)(T *restrict y, int64_t n, T s, T s_lo)
{
    const V vs = VOP(set1)(s), vl = VOP(set1)(s_lo);
    int64_t i = 0;
#if FSS_MASKED_TAIL
    if ((i = FSS_FN(align_head)(y, n)) > 0) {
        const V y0 = VOP(load_part)(y, i, 0);
        VOP(store_part)(y, VOP(fmadd)(y0, vs, VOP(mul)(y0, vl)), i);
    }
#endif
    for (; i + 2 * W <= n; i += 2 * W) {
        const V y0 = VOP(loadu)(y + i), y1 = VOP(loadu)(y + i + W);
        VOP(storeu)(y + i, VOP(fmadd)(y0, vs, VOP(mul)(y0, vl)));
        VOP(storeu)(y + i + W, VOP(fmadd)(y1, vs, VOP(mul)(y1, vl)));
    }
    for (; i < n; i += W) {
        /* whole vectors whole: a masked store is slow (microcoded on Zen 1) */
        if (n - i >= W) {
            const V y0 = VOP(loadu)(y + i);
            VOP(storeu)(y + i, VOP(fmadd)(y0, vs, VOP(mul)(y0, vl)));
        } else {
            const V y0 = VOP(load_part)(y + i, n - i, 0);
            VOP(store_part)(y + i, VOP(fmadd)(y0, vs, VOP(mul)(y0, vl)), n - i);
        }
    }
}

static void FSS_FN(row_expscale)(const T *x, int64_t n, T m, T s, T *y)
{
    const V vm = VOP(set1)(m), vs = VOP(set1)(s);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        V e[2] = { VOP(sub)(VOP(loadu)(x + i), vm), VOP(sub)(VOP(loadu)(x + i + W), vm) };
        VOP(exp_nonpos_n)(e, 2, 1);
        VOP(storeu)(y + i, VOP(mul)(e[0], vs));
        VOP(storeu)(y + i + W, VOP(mul)(e[1], vs));
    }
    for (; i < n; i += W) {
        const V e0 = VOP(exp_nonpos)(VOP(sub)(VOP(load_part)(x + i, n - i, m), vm));
        VOP(store_part)(y + i, VOP(mul)(e0, vs), n - i);
    }
}

/* A log_softmax output, (x - m) - L, in that order: both terms are <= 0,
 * so nothing cancels and an output near 0 keeps its relative precision;
 * the same order everywhere (row, column, short-row and fused loops), so
 * every path gives the same bits */
static FSS_INLINE V FSS_FN(logsub_v)(V x, V m, V L) { return VOP(sub)(VOP(sub)(x, m), L); }

static void FSS_FN(row_logsub)(const T *x, int64_t n, T m, T L, T *y)
{
    const V vm = VOP(set1)(m), vl = VOP(set1)(L);
    int64_t i = 0;
#if FSS_MASKED_TAIL
    if ((i = FSS_FN(align_head)(y, n)) > 0)
        VOP(store_part)(y, FSS_FN(logsub_v)(VOP(load_part)(x, i, m), vm, vl), i);
#endif
    for (; i + 2 * W <= n; i += 2 * W) {
        VOP(storeu)(y + i, FSS_FN(logsub_v)(VOP(loadu)(x + i), vm, vl));
        VOP(storeu)(y + i + W, FSS_FN(logsub_v)(VOP(loadu)(x + i + W), vm, vl));
    }
    for (; i < n; i += W)
        VOP(store_part)(y + i, FSS_FN(logsub_v)(VOP(load_part)(x + i, n - i, m), vm, vl), n - i);
}

/* row_logsub with non-temporal stores where the ISA has them (plain ones
 * elsewhere), the same bits: for rows too long for their output to stay in
 * the cache, whose stores then skip reading each output line first (the
 * elements before y's first vector boundary go one by one). Zen 5,
 * log_softmax of (16, 262144) float32 (kernel harness): 1.32-1.42 ms ->
 * 1.23 ms; on rows of 32000 no faster (the plain loop's output row is
 * prefetched during the sums, see row_sums). No fence: the caller calls
 * stream_fence once after its last row, not once a row (a fence waits for
 * every pending line to reach memory: one a row made log_softmax of
 * (1024, 4096) float32 1.03 ms against 0.79 ms without). */
static void FSS_FN(row_logsub_stream)(const T *x, int64_t n, T m, T L, T *y)
{
    const uintptr_t vb = (uintptr_t)(W * sizeof(T));
    if (!FSS_HAVE_STREAM || (uintptr_t)y % sizeof(T) != 0) {
        FSS_FN(row_logsub)(x, n, m, L, y);
        return;
    }
    const V vm = VOP(set1)(m), vl = VOP(set1)(L);
    int64_t i = 0;
    for (; i < n && (uintptr_t)(y + i) % vb != 0; ++i)
        y[i] = (x[i] - m) - L;
    for (; i + W <= n; i += W)
        VOP(stream)(y + i, FSS_FN(logsub_v)(VOP(loadu)(x + i), vm, vl));
    if (i < n)
        VOP(store_part)(y + i, FSS_FN(logsub_v)(VOP(load_part)(x + i, n - i, m), vm, vl), n - i);
}

/* y = x s + x s_lo, row_scale's arithmetic from x into y: the elements
 * before y's first vector boundary as one partial vector, whole vectors
 * with non-temporal stores where the ISA has them, the tail as one partial
 * vector (the same operations throughout, so row_scale's bits). No fence
 * (stream_fence). */
static void FSS_FN(row_scaleto_stream)(const T *x, int64_t n, T s, T s_lo, T *y)
{
    const V vs = VOP(set1)(s), vl = VOP(set1)(s_lo);
    int64_t i = FSS_FN(align_head)(y, n);
    if ((uintptr_t)y % sizeof(T) != 0) { /* no element boundary to align to: plain stores */
        for (; i < n; i += W) {
            const V x0 = VOP(load_part)(x + i, n - i, 0);
            VOP(store_part)(y + i, VOP(fmadd)(x0, vs, VOP(mul)(x0, vl)), n - i);
        }
        return;
    }
    if (i > 0) {
        const V x0 = VOP(load_part)(x, i, 0);
        VOP(store_part)(y, VOP(fmadd)(x0, vs, VOP(mul)(x0, vl)), i);
    }
    for (; i + W <= n; i += W) {
        const V x0 = VOP(loadu)(x + i);
        VOP(stream)(y + i, VOP(fmadd)(x0, vs, VOP(mul)(x0, vl)));
    }
    if (i < n) {
        const V x0 = VOP(load_part)(x + i, n - i, 0);
        VOP(store_part)(y + i, VOP(fmadd)(x0, vs, VOP(mul)(x0, vl)), n - i);
    }
}

/* Orders the non-temporal stores before it ahead of any later store (the
 * callers' results complete before they return) */
static void FSS_FN(stream_fence)(void) { fss_stream_fence(); }

#undef FSS_FN
