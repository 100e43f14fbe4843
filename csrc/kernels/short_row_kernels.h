/* Rows of at most two vectors (2*W elements): the whole softmax-family row in
 * registers, one call per row. For short rows (10-class classifiers, small
 * attention heads) the general path's three kernel calls, block loops and
 * compensated block sums cost more than the arithmetic.
 *
 * Same arithmetic as the general path in driver/softmax_driver_body.h: the
 * maximum's own terms are counted, not summed; softmax scales plain
 * exponentials, log_softmax and logsumexp use the compensated ones and
 * log1p(rest). Rows that are not finite, and logsumexp rows whose result
 * cancels (they need the wider re-sum), are left to the general path.
 *
 * Included by kernels/instantiate.h after xent_kernels.h. */

#define FSS_FN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

static int FSS_FN(row_short)(int op, const T *x, int64_t n, T *y)
{
    const T ninf = -(T)INFINITY;
    const V x0 = n >= W ? VOP(loadu)(x) : VOP(load_part)(x, n, ninf);
    const V x1 = n > W ? VOP(load_part)(x + W, n - W, ninf) : VOP(set1)(ninf);
    const T m = VOP(hmax)(VOP(max)(x0, x1));
    if (!isfinite(m))
        return 0;
    const V vm = VOP(set1)(m), vninf = VOP(set1)(ninf);
    const VM q0 = VOP(eq)(x0, vm), q1 = VOP(eq)(x1, vm);
    /* The exponentials are taken of x padded with m (exp(0): the common
     * path) and the -inf lanes zeroed after: padding with -inf would send
     * every short row down the exponential's wide path (a quarter of the
     * time of a (32, 10) softmax). A real -inf element's term is 0 either way. */
    const V xm0 = n >= W ? x0 : VOP(load_part)(x, n, m);
    const V xm1 = n > W ? VOP(load_part)(x + W, n - W, m) : vm;
    V e0, e1;
    if (op == 0) {
        e0 = VOP(exp_nonpos)(VOP(sub)(xm0, vm));
        e1 = VOP(exp_nonpos)(VOP(sub)(xm1, vm));
    } else {
        const V vnm = VOP(set1)(-m);
        e0 = FSS_FN(xent_expc)(xm0, vm, vnm);
        e1 = FSS_FN(xent_expc)(xm1, vm, vnm);
    }
    e0 = VOP(zero_where)(VOP(eq)(x0, vninf), e0);
    e1 = VOP(zero_where)(VOP(eq)(x1, vninf), e1);
    const double rest = ACC(hsum)(ACC(add)(ACC(add)(ACC(zero)(), VOP(zero_where)(q0, e0)), VOP(zero_where)(q1, e1)));
    const double count = ACC(hsum)(ACC(add)(ACC(zero)(), VOP(add)(VOP(one_where)(q0), VOP(one_where)(q1))));
    if (isnan(rest))
        return 0;
    const double r = rest + (count - 1.0);
    if (op == 0) {
        T hi, lo;
        FSS_CAT(fss_recip_split_, TS)(1.0 + r, &hi, &lo);
        const V s = VOP(set1)(hi), sl = VOP(set1)(lo);
        const V y0 = VOP(fmadd)(e0, s, VOP(mul)(e0, sl)), y1 = VOP(fmadd)(e1, s, VOP(mul)(e1, sl));
        if (n >= W)
            VOP(storeu)(y, y0);
        else
            VOP(store_part)(y, y0, n);
        if (n > W)
            VOP(store_part)(y + W, y1, n - W);
    } else if (op == 1) {
        const V L = VOP(set1)((T)log1p(r));
        const V y0 = VOP(sub)(VOP(sub)(x0, vm), L), y1 = VOP(sub)(VOP(sub)(x1, vm), L);
        if (n >= W)
            VOP(storeu)(y, y0);
        else
            VOP(store_part)(y, y0, n);
        if (n > W)
            VOP(store_part)(y + W, y1, n - W);
    } else {
        const double lse = (double)m + log1p(r);
        if (fabs(lse) <= 2.5 * r / (1.0 + r))
            return 0;
        *y = (T)lse;
    }
    return 1;
}

#undef FSS_FN
