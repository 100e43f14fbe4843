/* exp(x) for x <= 0 (and NaN), written once against the vector layer.
 *
 * Every exponential in the softmax family is taken of (x - max) <= 0, so
 * these functions need no overflow branch. Algorithm:
 *   k = round(x / ln2);  r = x - k*ln2  (Cody-Waite: ln2 split in two
 *   constants, each product folded with an FMA), |r| <= ln2/2;
 *   expm1(r) = r + r^2 * P(r);   exp(x) = 2^k + 2^k * expm1(r).
 * Common path (every lane x >= -87 for float, >= -708 for double, so
 * 2^k is normal): k comes from one FMA with a magic bias, t = x/ln2 +
 * (1.5*2^23 + 127), whose low mantissa bits then hold the biased exponent of
 * 2^k (one shift builds it) — no round, no conversion, no clamp.
 * Wide path (any lane below): k = round(x/ln2) by the same magic-bias FMA
 * (so a lane with a normal result gets the same bits on either path, and a
 * result does not depend on which elements share its vector), 2^k from pow2i; when k is below the normal range the scale is applied in two
 * halves so the result rounds once into the subnormal range instead of
 * flushing to zero; below the cut-off (exp(x) < half the smallest subnormal)
 * the result is exactly 0. NaN takes the common path (compares are false) and
 * propagates through the arithmetic; on the wide path max(cutoff, x) returns
 * x when x is NaN on every flavour.
 *
 * Reconstruction: exp(x) = s + s * expm1(r) with s = 2^k, one FMA and one
 * rounding (the product of a normal s is exact), instead of (1 + expm1(r))
 * rounded and then scaled.
 *
 * Estrin's scheme for P was tried: ~5% faster in float, but 1.03 ULP in
 * float (at x ~ -5.84) and double, so Horner stays. A 4-entry table of
 * 2^(j/4) (hi + lo, in-lane permutes) with a degree-2 P measured 0.72 ULP
 * but 10% slower on Zen 1 (AVX2): the float loops there are bound by the two
 * FMA pipes, and the permutes and integer scaling overload the other two.
 * The float flavours with a one-permute table (AVX-512: 16 entries, AVX2:
 * 8, the lane-crossing vpermps that Zen 1 splits) take the table flavour
 * below instead; this polynomial stays the scalar and NEON float one.
 *
 * Measured accuracy, as error against the exact value in ULPs of the result
 * (tests/test_exp_accuracy.py: every 97th float in [-104, 0], and 4*10^5
 * random doubles in [-745, 0], against a longdouble exp; the float
 * polynomial was also checked on every float in [-87, 0]):
 *   float:  P of degree 4 (fitted here, see vf_expm1_reduced), max 0.990 ULP
 *           (the degree-5 Cephes P it replaced: 0.997 ULP, one FMA more; a
 *           plain minimax fit of degree 4 gave 1.006 ULP)
 *   double: P of degree 10 (see vd_expm1_reduced), max 0.965 ULP on 2*10^7
 *           random doubles in [-708, 0] (the Taylor P of degree 11 it
 *           replaced: 0.988 there, 0.972 on the test's sample)
 * so every result is one of the two floats around the exact value.
 * The scalar flavour, without FMA, stays within the same bounds.
 *
 * The common-path functions are always inlined (FSS_INLINE): left to its
 * heuristics gcc called some out of line (every vector register is
 * caller-saved, so a loop spills around each call); forced inline, the lane
 * kernel for rows of 16-32 elements measured 20-25% faster and float
 * log_softmax_backward 20% (Zen 1), at 0.2% more code. The wide path stays
 * out of line (FSS_COLD). */
#ifndef FSS_EXP_POLY_H
#define FSS_EXP_POLY_H

/* most vectors whose exponentials are interleaved (vf_exp_nonpos_normal_n).
 * Four spill on AVX2's 16 registers (constants and a few temporaries go to
 * the stack), yet measured faster than two on Zen 1: its FP scheduler holds
 * too few 256-bit operations to overlap one loop iteration's chains with the
 * next's, so the chains must stand side by side in the code (softmax's exp
 * loop 7.5 -> 6.5 ns per 8 floats, the compensated one 10.0 -> 9.4). A
 * vector layer with registers to spare may ask for more (VF_EXP_MAXN: 8 on
 * AVX-512). The loops add the terms by pairs of vectors in order whatever
 * the count, so the same bits. */
#if defined(VF_EXP_MAXN)
#define FSS_EXP_MAXN VF_EXP_MAXN
#else
#define FSS_EXP_MAXN 4
#endif

/* exp(r) - 1 for |r| <= ln2/2 (plus rounding), the polynomial shared by
 * both paths: r + r^2 * P(r), P of degree 4. The coefficients minimise the
 * polynomial's error measured against what the rounding of r, of the result
 * and of the final reconstruction leave of a 1-ULP budget at each r (the
 * budget is smallest near r = -ln2/2, where the result lies just above 1/2);
 * they are rounded to float and checked over every float in [-87, 0]. */
static FSS_INLINE void vf_expm1_reduced_n(vf *r, int nv)
{
    vf p[FSS_EXP_MAXN];
    for (int j = 0; j < nv; ++j)
        p[j] = vf_fmadd(vf_set1(1.3615979114547372e-3f), r[j], vf_set1(8.371042087674141e-3f));
    for (int j = 0; j < nv; ++j)
        p[j] = vf_fmadd(p[j], r[j], vf_set1(4.167217016220093e-2f));
    for (int j = 0; j < nv; ++j)
        p[j] = vf_fmadd(p[j], r[j], vf_set1(1.666649580001831e-1f));
    for (int j = 0; j < nv; ++j)
        p[j] = vf_fmadd(p[j], r[j], vf_set1(4.999997615814209e-1f));
    for (int j = 0; j < nv; ++j) /* r^2 taken last: a register less through the chain */
        r[j] = vf_fmadd(p[j], vf_mul(r[j], r[j]), r[j]);
}

static inline vf vf_expm1_reduced(vf r)
{
    vf_expm1_reduced_n(&r, 1);
    return r;
}

/* exp(r) * s for a power of two s whose product stays normal: s + s * expm1(r),
 * one rounding */
static inline vf vf_exp_reduced_scaled(vf r, vf s) { return vf_fmadd(vf_expm1_reduced(r), s, s); }

/* exp(r) - 1 for |r| <= ln2/2: r + r^2 * P(r), P of degree 10, a Chebyshev
 * fit of (exp(r) - 1 - r) / r^2 (error 1.4e-18, 0.002 ULP of the result);
 * one FMA less than the Taylor series to r^13/13! it replaced, and more
 * accurate (0.965 against 0.988 ULP on the same 2*10^7 random doubles).
 * The double loops are bound by this chain's latency, so the terms from r^4
 * up go by Estrin (their rounding is scaled by r^4 < 0.015) and the last four
 * by Horner, where the rounding matters: 7-8% faster than Horner throughout,
 * the same errors (Estrin throughout measured 1.03 ULP). */
static FSS_INLINE void vd_expm1_reduced_n(vd *r, int nv)
{
    vd r2[FSS_EXP_MAXN], h[FSS_EXP_MAXN];
    for (int j = 0; j < nv; ++j) {
        r2[j] = vd_mul(r[j], r[j]);
        const vd r4 = vd_mul(r2[j], r2[j]);
        const vd e01 = vd_fmadd(vd_set1(1.9841269875017713e-04), r[j], vd_set1(1.3888888888883707e-03));
        const vd e23 = vd_fmadd(vd_set1(2.7557255150461456e-06), r[j], vd_set1(2.4801587325688482e-05));
        const vd e45 = vd_fmadd(vd_set1(2.510532084665871e-08), r[j], vd_set1(2.7557273464765313e-07));
        const vd e456 = vd_fmadd(vd_set1(2.0914761122323104e-09), r2[j], e45);
        h[j] = vd_fmadd(e456, r4, vd_fmadd(e23, r2[j], e01));
    }
    for (int j = 0; j < nv; ++j)
        h[j] = vd_fmadd(h[j], r[j], vd_set1(8.333333333326079e-03));
    for (int j = 0; j < nv; ++j)
        h[j] = vd_fmadd(h[j], r[j], vd_set1(4.166666666666667e-02));
    for (int j = 0; j < nv; ++j)
        h[j] = vd_fmadd(h[j], r[j], vd_set1(1.666666666666667e-01));
    for (int j = 0; j < nv; ++j)
        h[j] = vd_fmadd(h[j], r[j], vd_set1(0.5));
    for (int j = 0; j < nv; ++j)
        r[j] = vd_fmadd(h[j], r2[j], r[j]);
}

static inline vd vd_expm1_reduced(vd r)
{
    vd_expm1_reduced_n(&r, 1);
    return r;
}

static inline vd vd_exp_reduced_scaled(vd r, vd s) { return vd_fmadd(vd_expm1_reduced(r), s, s); }

#if defined(VF_EXP_TABLE_BITS)
/* The table flavour (a vector layer whose one permute looks up a table of
 * 2^b floats held in a register: AVX-512, b = 4; AVX2, b = 3).
 * exp(x) = 2^(N/2^b) exp(r), N = round(2^b x / ln2), r = x - N ln2/2^b
 * (|r| <= ln2/2^(b+1), Cody-Waite as above); 2^(N/2^b) = 2^(N >> b)
 * 2^(j/2^b), j = N mod 2^b, from the table; exp(r) - 1 = r + r^2 P(r), a
 * minimax fit on that |r| (fitted here against the relative error of
 * exp(r); the float coefficients then chosen among their neighbours); the
 * table entry's rounding to float, as the ratio (2^(j/2^b) - T_j) / T_j,
 * added to that; then T_j 2^(N >> b) (1 + e) with one FMA.
 *   b = 4: P = c2 + c3 r (fit error 0.013 ULP). Measured on every float in
 *          [-87, 0] against a longdouble exp: max 0.557 ULP (the polynomial
 *          flavour: 0.990), and 15% faster in softmax's exp loop on Zen 5
 *          (1.23 against 1.45 ns per 16 floats, kernel harness): seven
 *          operations on the FMA pipes where the polynomial takes ten, the
 *          lookups, the shift and the integer add on the others.
 *   b = 3: |r| twice as wide, so P = c2 + c3 r + c4 r^2 (fit error 0.002
 *          ULP; c2 + c3 r alone: 0.22, too much of the 1-ULP budget).
 *          Every float in [-87, 0]: max 0.580 ULP (the polynomial flavour
 *          it replaced on AVX2: 0.990); eight FMA-pipe operations where
 *          the polynomial takes ten, two more in all: on Zen 5 running the
 *          AVX2 kernels (FASTSOFTMAX_ISA=avx2, one thread, in cache)
 *          logsumexp's loop 0.90 -> 0.88 cycles a float, softmax of rows of
 *          250 1.84 -> 1.78, rows of 1000 the same within 2%. */
#if VF_EXP_TABLE_BITS == 4
/* the bits of 2^(j/16) rounded to float, less j << 19: adding the bits of
 * t << 19 (t as in vf_exp_biased_n) puts N >> 4 into the exponent and takes
 * the j out again */
static const uint32_t fss_exp2_table_bits[16] = {
    0x3f800000u, 0x3f7daac3u, 0x3f7b95c2u, 0x3f79c3d3u, 0x3f7837f0u, 0x3f76f532u, 0x3f75fed7u, 0x3f75583fu,
    0x3f7504f3u, 0x3f7508a4u, 0x3f75672au, 0x3f76248cu, 0x3f7744fdu, 0x3f78ccdfu, 0x3f7ac0c7u, 0x3f7d257du,
};
/* (2^(j/16) - T_j) / T_j, T_j = 2^(j/16) rounded to float */
static const float fss_exp2_table_rel[16] = {
    0.000000000e+00f,  4.628547146e-08f, -1.199215749e-08f, 4.729782432e-08f,
    3.193418152e-08f,  3.621057232e-08f, -3.099071932e-08f, -7.475213337e-09f,
    1.711427089e-08f,  -3.047683350e-08f, 5.233334210e-09f, 6.107591766e-09f,
    -1.471960509e-08f, -5.258795177e-09f, -6.128259677e-09f, 5.140609272e-09f,
};
#define FSS_EXPT_SCALE 23.0831203f        /* 16 / ln2 */
#define FSS_EXPT_LN2_HI -0.0433349609375f /* ln2/16 to 11 bits (N * it exact) */
#define FSS_EXPT_LN2_LO 1.32621525e-05f   /* its excess over ln2/16 */
#elif VF_EXP_TABLE_BITS == 3
/* the even entries of the 16-entry tables above (2^(2j/16) = 2^(j/8)),
 * less j << 20 */
static const uint32_t fss_exp2_table_bits[8] = {
    0x3f800000u, 0x3f7b95c2u, 0x3f7837f0u, 0x3f75fed7u, 0x3f7504f3u, 0x3f75672au, 0x3f7744fdu, 0x3f7ac0c7u,
};
static const float fss_exp2_table_rel[8] = {
    0.000000000e+00f, -1.199215749e-08f, 3.193418152e-08f, -3.099071932e-08f,
    1.711427089e-08f, 5.233334210e-09f,  -1.471960509e-08f, -6.128259677e-09f,
};
#define FSS_EXPT_SCALE 11.5415602f        /* 8 / ln2 */
#define FSS_EXPT_LN2_HI -0.086669921875f  /* twice the b = 4 split: exact */
#define FSS_EXPT_LN2_LO 2.6524305e-05f
#else
#error "exp_poly.h: a table of 2^VF_EXP_TABLE_BITS entries with no constants here"
#endif
#define FSS_EXPT_N (1 << VF_EXP_TABLE_BITS)

/* t = 2^b x / ln2 + magic, rounded to an integer (magic = 1.5*2^23 - 2^b K);
 * r[j] = x - N ln2/2^b, N = t - magic; vector j's magic is magic[j * step]
 * (step 0: one for all) */
static FSS_INLINE void vf_expt_reduce_n(const vf *x, vf *t, vf *r, int nv, const vf *magic, const int step)
{
    for (int j = 0; j < nv; ++j)
        t[j] = vf_fmadd(x[j], vf_set1(FSS_EXPT_SCALE), magic[j * step]);
    for (int j = 0; j < nv; ++j) {
        const vf n = vf_sub(t[j], magic[j * step]);
        r[j] = vf_fmadd(n, vf_set1(FSS_EXPT_LN2_HI), x[j]);
        r[j] = vf_fmadd(n, vf_set1(FSS_EXPT_LN2_LO), r[j]);
    }
}

/* exp(r) - 1 plus the table entry's correction: what multiplies
 * T_j 2^(N >> b) in the FMA that finishes the exponential */
static FSS_INLINE void vf_expt_poly_n(vf *r, const vf *t, int nv)
{
    for (int j = 0; j < nv; ++j) {
#if VF_EXP_TABLE_BITS == 4
        const vf p = vf_fmadd(vf_set1(0.16667057573795319f), r[j], vf_set1(0.5000162124633789f));
#else
        vf p = vf_fmadd(vf_set1(0.041660431772470474f), r[j], vf_set1(0.16668030619621277f));
        p = vf_fmadd(p, r[j], vf_set1(0.5f));
#endif
        r[j] = vf_add(vf_fmadd(p, vf_mul(r[j], r[j]), r[j]), vf_lookup_table(t[j], fss_exp2_table_rel));
    }
}
#endif

/* 2^-K exp(x) for x <= K ln2 (integer K, lane by lane; 0: exp(x) of x <= 0), any lane
 * (below the cut-off, where the result is under half the smallest
 * subnormal: exactly 0). The unshifted softmax loops (xent_kernels.h) call
 * it with their row's K; k is reduced from x itself, so a lane whose result
 * is normal gets the common path's bits. */
static FSS_COLD vf vf_exp_wide_k(vf x, vf K)
{
    const vf cutoff = vf_sub(vf_mul(K, vf_set1(0.693147182f)), vf_set1(103.972084f));
    const vfm under = vf_lt(x, cutoff);
    x = vf_max(cutoff, x);
#if defined(VF_EXP_TABLE_BITS)
    /* N from the common path's rounding (its magic less the 2^b K, which
     * keeps a tie's parity), T_j alone (t less 2^b (N >> b): the bits of
     * 1.5*2^23 + j), the scale 2^(N >> b - K) as below */
    const vf kb = vf_set1(12582912.0f);
    vf t, r;
    vf_expt_reduce_n(&x, &t, &r, 1, &kb, 0);
    vf_expt_poly_n(&r, &t, 1);
    const vf nh = vf_round(vf_mul(vf_sub(vf_sub(t, kb), vf_set1((FSS_EXPT_N - 1) * 0.5f)),
                                  vf_set1(1.0f / FSS_EXPT_N))); /* N >> b */
    const vf tj = vf_pow2_table(vf_sub(t, vf_mul(nh, vf_set1((float)FSS_EXPT_N))), fss_exp2_table_bits);
    const vf ks = vf_sub(nh, K);
    vf y;
    const vfm sub_k = vf_lt(ks, vf_set1(-126.0f));
    if (vfm_any(sub_k)) {
        const vf d = vf_sub(ks, vf_round(vf_mul(ks, vf_set1(0.5f))));
        const vf k1 = vf_sub(ks, vf_sub(d, vf_zero_where(sub_k, d)));
        const vf s = vf_mul(tj, vf_pow2i(k1));
        y = vf_mul(vf_fmadd(r, s, s), vf_pow2i(vf_sub(ks, k1)));
    } else {
        const vf s = vf_mul(tj, vf_pow2i(ks));
        y = vf_fmadd(r, s, s);
    }
    return vf_zero_where(under, y);
#else
    /* k rounded from the same single rounding as the common path's (magic
     * bias without the exponent bias), so a lane whose result is normal gets
     * the common path's bits whichever path its vector takes */
    const vf kb = vf_set1(12582912.0f);
    const vf k = vf_sub(vf_fmadd(x, vf_set1(1.44269504088896341f), kb), kb);
    vf r = vf_fmadd(k, vf_set1(-0.693359375f), x);
    r = vf_fmadd(k, vf_set1(2.12194440e-4f), r);
    const vf ks = vf_sub(k, K); /* the scale's exponent */
    vf y;
    const vfm sub_k = vf_lt(ks, vf_set1(-126.0f));
    if (vfm_any(sub_k)) {
        /* only the lanes below the normal range scale in two halves (the
         * others keep k1 = ks, a second factor of 1), so a lane's result does
         * not depend on its neighbours */
        const vf d = vf_sub(ks, vf_round(vf_mul(ks, vf_set1(0.5f))));
        const vf k1 = vf_sub(ks, vf_sub(d, vf_zero_where(sub_k, d)));
        y = vf_mul(vf_exp_reduced_scaled(r, vf_pow2i(k1)), vf_pow2i(vf_sub(ks, k1)));
    } else {
        y = vf_exp_reduced_scaled(r, vf_pow2i(ks));
    }
    return vf_zero_where(under, y);
#endif
}

static FSS_COLD vf vf_exp_nonpos_wide(vf x) { return vf_exp_wide_k(x, vf_set1(0.0f)); }

static FSS_COLD vd vd_exp_nonpos_wide(vd x)
{
    const vd cutoff = vd_set1(-745.13321910194122);
    const vdm under = vd_lt(x, cutoff);
    x = vd_max(cutoff, x);
    const vd kb = vd_set1(6755399441055744.0); /* as in vf_exp_nonpos_wide */
    const vd k = vd_sub(vd_fmadd(x, vd_set1(1.4426950408889634), kb), kb);
    vd r = vd_fmadd(k, vd_set1(-6.93147180369123816490e-01), x);
    r = vd_fmadd(k, vd_set1(-1.90821492927058770002e-10), r);
    vd y;
    const vdm sub_k = vd_lt(k, vd_set1(-1022.0));
    if (vdm_any(sub_k)) {
        const vd d = vd_sub(k, vd_round(vd_mul(k, vd_set1(0.5)))); /* as in vf_exp_nonpos_wide */
        const vd k1 = vd_sub(k, vd_sub(d, vd_zero_where(sub_k, d)));
        y = vd_mul(vd_exp_reduced_scaled(r, vd_pow2i(k1)), vd_pow2i(vd_sub(k, k1)));
    } else {
        y = vd_exp_reduced_scaled(r, vd_pow2i(k));
    }
    return vd_zero_where(under, y);
}

/* The common path's lower limit: below it 2^k may leave the normal range */
#define FSS_EXPF_NORMAL_MIN (-87.0f)

/* Whether any lane of x needs the wide path (2^k below the normal range) */
static inline int vf_exp_needs_wide(vf x) { return vfm_any(vf_lt(x, vf_set1(FSS_EXPF_NORMAL_MIN))); }

/* Whether every exp(x - m) of a row whose elements are >= lo (its minimum)
 * takes the common path: rounding is monotonic, so fl(x - m) >= fl(lo - m)
 * for every x of the row. The row loops then skip the per-vector range test
 * (a compare and a mask test per vector: on Zen 1, 8% of softmax's exp loop,
 * 9% of the compensated one, 13% of the compensated one that stores). A NaN
 * lo answers no. */
static inline int vf_exp_row_normal(float lo, float m) { return lo - m >= FSS_EXPF_NORMAL_MIN; }

/* The common path for nv (1 to FSS_EXP_MAXN) vectors at once, every lane
 * >= the wide-path limit (or NaN), each step done for all of them before
 * the next: one exponential is a chain of ~12 dependent FMAs, and Zen 1's
 * FP scheduler, which holds each 256-bit operation as two, sees too few
 * instructions ahead to overlap two chains written one after the other.
 * Interleaving two measured 13% faster for softmax's loop than one, four
 * another 13%. A lane's steps are the same whatever nv, so the same bits.
 * magic = 1.5*2^23 + 127 - K (integer K) gives 2^-K exp(x): the low bits of
 * t hold the biased exponent of the scale (K = 0 below; the unshifted loops
 * of xent_kernels.h take their row's K), for lanes whose result is normal. */
#if defined(VF_EXP_TABLE_BITS)
/* The table flavour: magic = 1.5*2^23 - 2^b K (vf_exp_magic); vector j's
 * is magic[j * step] (step 0: one for all; 1: a K a vector, as the column
 * kernels' lanes take their own) */
static FSS_INLINE void vf_exp_biased_each_n(vf *x, int nv, const vf *magic, const int step)
{
    vf t[FSS_EXP_MAXN], r[FSS_EXP_MAXN];
    vf_expt_reduce_n(x, t, r, nv, magic, step);
    vf_expt_poly_n(r, t, nv);
    for (int j = 0; j < nv; ++j) {
        const vf s = vf_pow2_table(t[j], fss_exp2_table_bits);
        x[j] = vf_fmadd(r[j], s, s);
    }
}

static inline float vf_exp_magic(float K) { return 12582912.0f - (float)FSS_EXPT_N * K; }
static inline vf vf_exp_magic_v(vf K) { return vf_sub(vf_set1(12582912.0f), vf_mul(vf_set1((float)FSS_EXPT_N), K)); }
#else
static inline float vf_exp_magic(float K) { return 12582912.0f + 127.0f - K; }
static inline vf vf_exp_magic_v(vf K) { return vf_sub(vf_set1(12582912.0f + 127.0f), K); }

static FSS_INLINE void vf_exp_biased_each_n(vf *x, int nv, const vf *magic, const int step)
{
    vf t[FSS_EXP_MAXN], r[FSS_EXP_MAXN];
    for (int j = 0; j < nv; ++j)
        t[j] = vf_fmadd(x[j], vf_set1(1.44269504088896341f), magic[j * step]);
    vf k[FSS_EXP_MAXN];
    for (int j = 0; j < nv; ++j)
        k[j] = vf_sub(t[j], magic[j * step]);
    for (int j = 0; j < nv; ++j)
        r[j] = vf_fmadd(k[j], vf_set1(-0.693359375f), x[j]);
    for (int j = 0; j < nv; ++j)
        r[j] = vf_fmadd(k[j], vf_set1(2.12194440e-4f), r[j]);
    vf_expm1_reduced_n(r, nv);
    for (int j = 0; j < nv; ++j) {
        const vf s = vf_pow2_biased(t[j]);
        x[j] = vf_fmadd(r[j], s, s);
    }
}
#endif

/* vf_exp_biased_each_n with one magic for all nv vectors */
static FSS_INLINE void vf_exp_biased_n(vf *x, int nv, vf magic) { vf_exp_biased_each_n(x, nv, &magic, 0); }

static FSS_INLINE void vf_exp_nonpos_normal_n(vf *x, int nv) { vf_exp_biased_n(x, nv, vf_set1(vf_exp_magic(0.0f))); }

static FSS_INLINE vf vf_exp_nonpos_normal(vf x)
{
    vf_exp_nonpos_normal_n(&x, 1);
    return x;
}

static FSS_INLINE vf vf_exp_nonpos(vf x)
{
    return vf_exp_needs_wide(x) ? vf_exp_nonpos_wide(x) : vf_exp_nonpos_normal(x);
}

/* exp of nv vectors (1 to FSS_EXP_MAXN) in place, interleaved where all
 * take the common path (the wide path gives a normal lane the same bits, so
 * all may take it). check 0: the caller knows every lane is in the common
 * range (vf_exp_row_normal). */
static FSS_INLINE void vf_exp_nonpos_n(vf *x, int nv, const int check)
{
    int wide = 0;
    for (int j = 0; check && j < nv; ++j)
        wide |= vf_exp_needs_wide(x[j]);
    if (wide) {
        for (int j = 0; j < nv; ++j)
            x[j] = vf_exp_nonpos_wide(x[j]);
        return;
    }
    vf_exp_nonpos_normal_n(x, nv);
}

#define FSS_EXPD_NORMAL_MIN (-708.0)

/* As vf_exp_needs_wide */
static inline int vd_exp_needs_wide(vd x) { return vdm_any(vd_lt(x, vd_set1(FSS_EXPD_NORMAL_MIN))); }

/* As vf_exp_row_normal. The double max pass gives no bound (row_maxmin
 * without FSS_ROW_MIN: lo = -inf), so this answers no and the double loops
 * keep their range test: without it they measured 15% slower on Zen 1
 * (log_softmax and logsumexp of (1024, 1000) and (256, 32000) float64; GCC
 * schedules the untested double loop worse), while the test costs little
 * beside the degree-10 polynomial. */
static inline int vd_exp_row_normal(double lo, double m) { return lo - m >= FSS_EXPD_NORMAL_MIN; }

/* As vf_exp_nonpos_normal_n */
static FSS_INLINE void vd_exp_nonpos_normal_n(vd *x, int nv)
{
    const vd magic = vd_set1(6755399441055744.0 + 1023.0); /* 1.5*2^52 + bias */
    vd t[FSS_EXP_MAXN], r[FSS_EXP_MAXN];
    for (int j = 0; j < nv; ++j)
        t[j] = vd_fmadd(x[j], vd_set1(1.4426950408889634), magic);
    vd k[FSS_EXP_MAXN];
    for (int j = 0; j < nv; ++j)
        k[j] = vd_sub(t[j], magic);
    for (int j = 0; j < nv; ++j)
        r[j] = vd_fmadd(k[j], vd_set1(-6.93147180369123816490e-01), x[j]);
    for (int j = 0; j < nv; ++j)
        r[j] = vd_fmadd(k[j], vd_set1(-1.90821492927058770002e-10), r[j]);
    vd_expm1_reduced_n(r, nv);
    for (int j = 0; j < nv; ++j) {
        const vd s = vd_pow2_biased(t[j]);
        x[j] = vd_fmadd(r[j], s, s);
    }
}

static FSS_INLINE vd vd_exp_nonpos_normal(vd x)
{
    vd_exp_nonpos_normal_n(&x, 1);
    return x;
}

static FSS_INLINE vd vd_exp_nonpos(vd x)
{
    return vd_exp_needs_wide(x) ? vd_exp_nonpos_wide(x) : vd_exp_nonpos_normal(x);
}

/* As vf_exp_nonpos_n */
static FSS_INLINE void vd_exp_nonpos_n(vd *x, int nv, const int check)
{
    int wide = 0;
    for (int j = 0; check && j < nv; ++j)
        wide |= vd_exp_needs_wide(x[j]);
    if (wide) {
        for (int j = 0; j < nv; ++j)
            x[j] = vd_exp_nonpos_wide(x[j]);
        return;
    }
    vd_exp_nonpos_normal_n(x, nv);
}

#endif
