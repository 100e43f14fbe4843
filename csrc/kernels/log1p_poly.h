/* log1p(y) for y in [0, 1], and log(x) for x >= 0, written once against the
 * vector layer (plus isa/vec_extra_<isa>.h).
 *
 * The sigmoid family only ever needs log1p(exp(-|x|)), whose argument lies in
 * [0, 1]; the short-row softmax kernels need log1p of a row sum (any y >= 0,
 * vd_log1p_nonneg below). Algorithm (the fdlibm log kernel):
 *   u = 1 + y, with its rounding error c = (1 - u) + y recovered exactly;
 *   if u > sqrt(2): f = u/2 - 1 (exact), k = 1, and c/u is added back;
 *   else            f = y (exact), k = 0;
 *   s = f / (2 + f);  log1p(f) = f - (f^2/2 - s (f^2/2 + R(s^2)))
 * with R the fdlibm minimax polynomial (Lg1..Lg7, odd part of 2 atanh(s)),
 * |s| <= 0.1716, and k ln2 added as a two-constant split.
 * log(x) reduces x = m 2^k with m in [sqrt(2)/2, sqrt(2)) and uses the same
 * kernel on f = m - 1 (exact).
 *
 * Measured accuracy of log1p against a longdouble reference, in ULPs of the
 * result (tests/test_sigmoid.py::test_log1p_accuracy: the argument is
 * exp(-x) for 3.2 * 10^6 x in [0, 103] (float) / [0, 744] (double), read back
 * through log_sigmoid(x) = -log1p(exp(-x))): max 0.79 ULP (float), 0.81 ULP
 * (double), scalar and AVX2 alike. log() is checked through the soft-target
 * focal loss tests.
 */
#ifndef FSS_LOG1P_POLY_H
#define FSS_LOG1P_POLY_H

/* k ln2 + log1p(f) + c for f in [sqrt(2)/2 - 1, sqrt(2) - 1], |c| tiny */
static inline vf vf_log1p_kernel(vf f, vf c, vf k)
{
    const vf s = vf_div(f, vf_add(vf_set1(2.0f), f));
    const vf z = vf_mul(s, s);
    const vf w = vf_mul(z, z);
    const vf t1 = vf_mul(w, vf_fmadd(w, vf_fmadd(w, vf_set1(1.5313838422e-01f), vf_set1(2.2222198546e-01f)),
                                     vf_set1(4.0000000596e-01f)));
    const vf t2 = vf_mul(z, vf_fmadd(w, vf_fmadd(w, vf_fmadd(w, vf_set1(1.4798198640e-01f),
                                                               vf_set1(1.8183572590e-01f)),
                                                   vf_set1(2.8571429849e-01f)),
                                     vf_set1(6.6666668653e-01f)));
    const vf R = vf_add(t1, t2);
    const vf hfsq = vf_mul(vf_set1(0.5f), vf_mul(f, f));
    /* ln2 = 0.693359375 - 2.12194440e-4: k * hi is exact for |k| < 2^15 */
    const vf lo = vf_fmadd(k, vf_set1(-2.12194440e-4f), c);
    const vf inner = vf_sub(vf_sub(hfsq, vf_fmadd(s, vf_add(hfsq, R), lo)), f);
    return vf_sub(vf_mul(k, vf_set1(0.693359375f)), inner);
}

/* log1p(y) for y in [0, 1], given u = 1 + y (rounded) and r = 1 / u: callers
 * that need the sigmoid have both already, so no second division. */
static inline vf vf_log1p_unit_ur(vf y, vf u, vf r)
{
    const vf one = vf_set1(1.0f);
    const vfm big = vf_lt(vf_set1(1.41421356f), u);
    const vf c = vf_select(big, vf_mul(vf_add(vf_sub(one, u), y), r), vf_set1(0.0f));
    const vf f = vf_select(big, vf_sub(vf_mul(u, vf_set1(0.5f)), one), y);
    return vf_log1p_kernel(f, c, vf_one_where(big));
}

static inline vf vf_log1p_unit(vf y)
{
    const vf u = vf_add(vf_set1(1.0f), y);
    return vf_log1p_unit_ur(y, u, vf_div(vf_set1(1.0f), u));
}

/* log1p(y) for y in [0, 1] without a division, for the binary losses (whose
 * bound is a few eps of the sum of their terms, tests/test_bce.py):
 * y + y^2 P(y), P of degree 8 fitted (iteratively reweighted least squares)
 * for the relative error of log1p over [0, 1], coefficients rounded to float
 * one at a time from the lowest and the rest refitted (fit error 5e-9
 * relative). y enters exactly, so tiny y keep full relative precision.
 * Measured on the test_log1p_accuracy sample: max 0.76 ULP (scalar and
 * AVX2; the division-based kernel: 0.79), but its errors fall differently:
 * log_sigmoid(x) = min(x, 0) - log1p(e) with it reached 1.77 ULP on the
 * scalar flavour, over log_sigmoid's 1.75 ULP bound, so log_sigmoid keeps
 * vf_log1p_unit. One division and about nine operations fewer than
 * vf_log1p_unit_ur: binary_cross_entropy_with_logits with its gradient
 * takes about 30% less time on AVX2 (Zen 1). u and r are
 * unused (the double flavour takes them). */
static inline vf vf_log1p_unit_fast(vf y, vf u, vf r)
{
    (void)u;
    (void)r;
    vf p = vf_set1(-3.310810542e-03f);
    p = vf_fmadd(p, y, vf_set1(2.016904764e-02f));
    p = vf_fmadd(p, y, vf_set1(-5.759544671e-02f));
    p = vf_fmadd(p, y, vf_set1(1.067329124e-01f));
    p = vf_fmadd(p, y, vf_set1(-1.535090953e-01f));
    p = vf_fmadd(p, y, vf_set1(1.969376057e-01f));
    p = vf_fmadd(p, y, vf_set1(-2.495824844e-01f));
    p = vf_fmadd(p, y, vf_set1(3.333047628e-01f));
    p = vf_fmadd(p, y, vf_set1(-4.999993145e-01f));
    return vf_fmadd(vf_mul(y, y), p, y);
}

/* log(x): -inf at 0, NaN below 0 and for NaN; finite x only (+inf is not
 * needed by the callers and gives a wrong finite value). */
static inline vf vf_log_pos(vf x)
{
    const vfm tiny = vf_lt(x, vf_set1(1.17549435e-38f));
    const vf xs = vf_select(tiny, vf_mul(x, vf_set1(16777216.0f)), x);
    vf k;
    vf m = vf_frexp1(xs, &k);
    const vfm big = vf_lt(vf_set1(1.41421356f), m);
    m = vf_select(big, vf_mul(m, vf_set1(0.5f)), m);
    k = vf_add(vf_add(k, vf_one_where(big)), vf_select(tiny, vf_set1(-24.0f), vf_set1(0.0f)));
    vf r = vf_log1p_kernel(vf_sub(m, vf_set1(1.0f)), vf_set1(0.0f), k);
    r = vf_select(vf_eq(x, vf_set1(0.0f)), vf_set1(-INFINITY), r);
    r = vf_select(vf_lt(x, vf_set1(0.0f)), vf_set1(NAN), r);
    return vf_select(vf_eq(x, x), r, x);
}

static inline vd vd_log1p_kernel(vd f, vd c, vd k)
{
    const vd s = vd_div(f, vd_add(vd_set1(2.0), f));
    const vd z = vd_mul(s, s);
    const vd w = vd_mul(z, z);
    const vd t1 = vd_mul(w, vd_fmadd(w, vd_fmadd(w, vd_set1(1.531383769920937332e-01),
                                                 vd_set1(2.222219843214978396e-01)),
                                     vd_set1(3.999999999940941908e-01)));
    const vd t2 = vd_mul(z, vd_fmadd(w, vd_fmadd(w, vd_fmadd(w, vd_set1(1.479819860511658591e-01),
                                                               vd_set1(1.818357216161805012e-01)),
                                                   vd_set1(2.857142874366239149e-01)),
                                     vd_set1(6.666666666666735130e-01)));
    const vd R = vd_add(t1, t2);
    const vd hfsq = vd_mul(vd_set1(0.5), vd_mul(f, f));
    /* fdlibm's ln2 split: k * hi is exact for |k| < 2^11 */
    const vd lo = vd_fmadd(k, vd_set1(1.90821492927058770002e-10), c);
    const vd inner = vd_sub(vd_sub(hfsq, vd_fmadd(s, vd_add(hfsq, R), lo)), f);
    return vd_sub(vd_mul(k, vd_set1(6.93147180369123816490e-01)), inner);
}

/* log1p(y) for y in [0, 1], given u = 1 + y (rounded) and r = 1 / u: callers
 * that need the sigmoid have both already, so no second division. */
static inline vd vd_log1p_unit_ur(vd y, vd u, vd r)
{
    const vd one = vd_set1(1.0);
    const vdm big = vd_lt(vd_set1(1.4142135623730951), u);
    const vd c = vd_select(big, vd_mul(vd_add(vd_sub(one, u), y), r), vd_set1(0.0));
    const vd f = vd_select(big, vd_sub(vd_mul(u, vd_set1(0.5)), one), y);
    return vd_log1p_kernel(f, c, vd_one_where(big));
}

/* log1p(y) for finite y >= 0, double, for the lane kernel of short rows
 * (short_row_kernels.h), which takes the log of W row sums at once where a
 * libm call per row was a fifth of log_softmax of 16-element rows. fdlibm's
 * reduction: u = 1 + y and its rounding error c, exactly (u - 1 is exact for
 * u < 2, u - y for u >= 2); u = m 2^k with m in [sqrt(2)/2, sqrt(2));
 * log1p(y) = k ln2 + log1p(m - 1) + c/u. Measured against longdouble log1p
 * on 4*10^7 y (uniform in [0, 64] and [0, 1], 2^-60..1 log-spread, and
 * around sqrt(2) - 1): max 0.86 ULP (AVX2), 0.88 ULP (scalar); the tests
 * check it through logsumexp of rows whose other terms sum to y
 * (tests/test_short_rows.py::test_vector_log1p_accuracy). A NaN y gives a
 * NaN; +inf is not needed by the caller. */
static inline vd vd_log1p_nonneg(vd y)
{
    const vd one = vd_set1(1.0);
    const vd u = vd_add(one, y);
    const vdm below_two = vd_lt(u, vd_set1(2.0));
    const vd c = vd_div(vd_select(below_two, vd_sub(y, vd_sub(u, one)), vd_sub(one, vd_sub(u, y))), u);
    vd k;
    vd m = vd_frexp1(u, &k);
    const vdm big = vd_lt(vd_set1(1.4142135623730951), m);
    m = vd_select(big, vd_mul(m, vd_set1(0.5)), m);
    return vd_log1p_kernel(vd_sub(m, one), c, vd_add(k, vd_one_where(big)));
}

/* double: the division-based kernel (a division-free polynomial over [0, 1]
 * would need about twice the degree). */
static inline vd vd_log1p_unit_fast(vd y, vd u, vd r) { return vd_log1p_unit_ur(y, u, r); }

static inline vd vd_log1p_unit(vd y)
{
    const vd u = vd_add(vd_set1(1.0), y);
    return vd_log1p_unit_ur(y, u, vd_div(vd_set1(1.0), u));
}

static inline vd vd_log_pos(vd x)
{
    const vdm tiny = vd_lt(x, vd_set1(2.2250738585072014e-308));
    const vd xs = vd_select(tiny, vd_mul(x, vd_set1(18014398509481984.0)), x); /* 2^54 */
    vd k;
    vd m = vd_frexp1(xs, &k);
    const vdm big = vd_lt(vd_set1(1.4142135623730951), m);
    m = vd_select(big, vd_mul(m, vd_set1(0.5)), m);
    k = vd_add(vd_add(k, vd_one_where(big)), vd_select(tiny, vd_set1(-54.0), vd_set1(0.0)));
    vd r = vd_log1p_kernel(vd_sub(m, vd_set1(1.0)), vd_set1(0.0), k);
    r = vd_select(vd_eq(x, vd_set1(0.0)), vd_set1(-INFINITY), r);
    r = vd_select(vd_lt(x, vd_set1(0.0)), vd_set1(NAN), r);
    return vd_select(vd_eq(x, x), r, x);
}

#endif
