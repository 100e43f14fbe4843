/* Softmax of one contiguous row through the general kernels: the pass plan
 * by row length, out of place and in place with the same bits.
 *
 * Included by kernels/instantiate.h after xent_kernels.h (spec_loop) with the
 * same T / TS / V / VOP bindings. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))
#define LOGSUB_ROW FSS_CAT(fss_logsub_row_, TS)

#if FSS_EXP_UNSHIFTED
/* Float rows of at least this many elements take their maximum and sum in
 * one pass (spec_loop); shorter ones keep the max pass. Zen 5, one thread,
 * 4 N(0, 1) float32, cycles a float, three passes (row_max, row_expsum,
 * row_scale) -> one pass:
 *   AVX2:    rows of 60 3.71 -> 3.52, 120 2.30 -> 1.96, 200 1.70 -> 1.52,
 *            400 1.48 -> 1.31, 1000 1.33 -> 1.14, 1500 1.31 -> 1.14;
 *   AVX-512: 120 1.35 -> 1.36, 150 1.62 -> 1.55, 256 1.05 -> 0.97,
 *            1000 0.79 -> 0.73, 1500 0.68 -> 0.65;
 *   scalar:  60 the same, 150 7.36 -> 5.84, 400 5.93 -> 5.46.
 * In place (the max and min first, to check the range) 1-4% slower on
 * AVX-512 at rows of 200-1500, the same on AVX2; it must give the out of
 * place bits, so it goes along. (An earlier build measured the one pass 11%
 * slower at 500 and even at 1000, and kept three passes below 2048.) Rows
 * shorter than this take the short kernels on AVX2 and AVX-512 (up to 63 and
 * 64 floats); on NEON and the scalar kernels those stop at 32. */
#define FSS_SOFTMAX_ONE_PASS_MIN 64
#endif

/* Softmax's terms of the row x (or of a chunk of one) into y (may be x):
 * returns their sum, each term being *unit exp(x - *m), *m the row's
 * maximum; NaN where the row is not finite (a NaN, a +inf, or every element
 * -inf: *m then says which, as row_max gives it). pa (may be NULL): the
 * next row's input, prefetched meanwhile. one_pass 0: the three passes'
 * terms whatever the length (a causal row's prefix, whose bits must be
 * those of its row padded with -inf, which the one pass declines). exact:
 * terms without the rounding of x - m where the one pass declines too
 * (row_maxmin, row_sumexp_c): what chunks of a row need, whose maxima are
 * not the row's.
 *
 * Long float rows: spec_loop forms every term 2^-K exp(x) (K from x[0]), the
 * max and min alongside, where the row then proves in range for that K: the
 * max pass is gone, and no term carries a rounding of x - m. In place the
 * terms overwrite x, and a row out of range would have to be read again:
 * there the max pass stays, to check the range first (row_maxmin: the same
 * max and min, so the same decision), then the same loop, so the same bits
 * as out of place. Making the terms again in the scaling pass instead (no
 * max pass, no stores in the sum pass) measured 23-25% slower than three
 * passes at rows of 8000-65536.
 *
 * Otherwise (and not exact) row_max, then row_expsum's terms exp(x - m)
 * (*unit 1), the rounding of x - m in each.
 *
 * (Tried for outputs beyond the cache, Zen 5, one thread: the sum without
 * storing the terms, then the terms again, scaled and streamed out, 3-6%
 * slower at (256, 32000) float32 than three passes, no faster at two
 * threads; the one pass's terms into a scratch row that stays in L2, then
 * scaled into y, 15-19% slower than the one pass into y at rows of 32000 and
 * 65536, and 9-25% slower with the scaled terms streamed out.) */
static double FSS_FN(row_softmax_terms)(const T *x, int64_t n, T *y, const T *pa, int one_pass, int exact, T *m,
                                        double *unit)
{
#if FSS_EXP_UNSHIFTED
    T K;
    if (one_pass && n >= FSS_SOFTMAX_ONE_PASS_MIN && FSS_FN(unshifted_k)(x[0], &K)) {
        const V magic = VOP(set1)(FSS_FN(unshifted_magic)(K));
        const int in_place = x == y;
        T mx = 0, mn = 0, Km;
        if (in_place)
            mx = FSS_FN(row_maxmin)(x, n, &mn);
        if (!in_place || FSS_FN(spec_in_range)(K, mx, mn, &Km)) {
            const double S = FSS_FN(spec_loop)(x, n, magic, y, &mx, &mn, pa, NULL);
            if (FSS_FN(spec_in_range)(K, mx, mn, &Km) && S == S) {
                *m = mx;
                *unit = FSS_FN(unshifted_unit)(mx, Km, K);
                return S;
            }
            if (in_place) { /* in range, so a NaN: x is overwritten, but the row is NaN throughout */
                *m = (T)NAN;
                return NAN;
            }
        }
    }
#else
    (void)one_pass;
#endif
    *unit = 1.0;
    if (exact) {
        T lo;
        double count = 0.0;
        *m = FSS_FN(row_maxmin)(x, n, &lo);
        if (!isfinite(*m))
            return NAN;
        const double s = FSS_FN(row_sumexp_c)(x, n, *m, lo, y, &count, pa, NULL, unit);
        return (s + count) * *unit;
    }
    *m = FSS_FN(row_max)(x, n);
    return isfinite(*m) ? FSS_FN(row_expsum)(x, n, *m, -(T)INFINITY, y, pa, NULL) : NAN;
}

#if FSS_EXP_UNSHIFTED
/* row_softmax_terms (one_pass 1, exact 0) of x into y, which is not x,
 * while o (may be NULL; o->scale set), the previous row's terms, goes out
 * scaled to its row in the same steps (spec_loop_other): the rows' softmax
 * one row behind (driver/softmax_driver_body.h, rows_range). With
 * o->stream, for outputs that stream, with non-temporal stores from terms
 * in a scratch row that stays in L2; without, in place (o->x is o->y), for
 * rows in cache. Where the one pass declines x (or the ISA has no
 * streaming store), o is written on its own first. The bits of
 * row_softmax's terms and of row_scale's scaling. */
static double FSS_FN(row_softmax_terms_with)(const T *x, int64_t n, T *y, const T *pa, T *m, double *unit,
                                             const LOGSUB_ROW *o)
{
    T K;
    int tried = 0;
    if (o && (!o->stream || (FSS_HAVE_STREAM && (uintptr_t)o->y % sizeof(T) == 0)) &&
        n >= FSS_SOFTMAX_ONE_PASS_MIN && FSS_FN(unshifted_k)(x[0], &K)) {
        const V magic = VOP(set1)(FSS_FN(unshifted_magic)(K));
        T mx, mn, Km;
        const double S = o->stream ? FSS_FN(spec_loop_other)(x, n, magic, y, &mx, &mn, pa, NULL, o)
                                   : FSS_FN(spec_loop_scaling)(x, n, magic, y, &mx, &mn, pa, o);
        if (FSS_FN(spec_in_range)(K, mx, mn, &Km) && S == S) {
            *m = mx;
            *unit = FSS_FN(unshifted_unit)(mx, Km, K);
            return S;
        }
        o = NULL, tried = 1; /* o written; the one pass declines x */
    }
    if (o && o->stream)
        FSS_FN(row_scaleto_stream)(o->x, n, o->m, o->L, o->y);
    else if (o)
        FSS_FN(row_scale)(o->y, n, o->m, o->L);
    return FSS_FN(row_softmax_terms)(x, n, y, pa, !tried, 0, m, unit);
}
#endif

/* Softmax of the row x into y (y may be x): row_softmax_terms's terms
 * divided by their sum (1/sum split in two floats). 0 where the row is not
 * finite (y then holds anything: the caller writes NaN throughout, as scipy
 * does). */
static int FSS_FN(row_softmax)(const T *x, int64_t n, T *y, const T *pa, int one_pass)
{
    T m, hi, lo;
    double unit;
    const double sum = FSS_FN(row_softmax_terms)(x, n, y, pa, one_pass, 0, &m, &unit);
    if (isnan(sum))
        return 0;
    FSS_CAT(fss_recip_split_, TS)(sum, &hi, &lo);
    FSS_FN(row_scale)(y, n, hi, lo);
    return 1;
}

#undef FSS_FN
#undef LOGSUB_ROW
