/* Compiles the backward-pass kernel bodies for the ISA of the including
 * translation unit and defines that ISA's fss_bwd_kernels_<isa> table.
 * Included from kernels_<isa>.c after instantiate.h (which brought in the
 * vector layer, vec_common.h and exp_poly.h). */
#include "backward_kernel_table.h"

/* ---- signed accumulators (the terms of a VJP sum have either sign) ---- */

/* float terms: summed in double, in blocks of BWD_PRODUCT_BLOCK terms per
 * lane first summed (FMA) in float: each block carries at most a few
 * float roundings of its own terms, and the double sum of the blocks adds
 * < 2^-40 relative even for 10^9 terms, so nothing grows with the length. */
typedef struct { vfacc a; } fss_bwdacc_f32;
static inline fss_bwdacc_f32 fss_bwdacc_f32_zero(void) { fss_bwdacc_f32 r = { vfacc_zero() }; return r; }
static inline fss_bwdacc_f32 fss_bwdacc_f32_add(fss_bwdacc_f32 r, vf v) { r.a = vfacc_add(r.a, v); return r; }
static inline fss_bwdacc_f32 fss_bwdacc_f32_addprod(fss_bwdacc_f32 r, vf g, vf y)
{
    r.a = vfacc_add(r.a, vf_mul(g, y));
    return r;
}
static inline double fss_bwdacc_f32_value(fss_bwdacc_f32 a, fss_bwdacc_f32 b) { return vfacc_hsum(vfacc_merge(a.a, b.a)); }
static inline void fss_bwdacc_f32_store(double *p, fss_bwdacc_f32 a) { vfacc_store(p, a.a); }

/* double terms: per-lane TwoSum (Knuth, any signs) into (s, c); products
 * split exactly as p + e with an FMA where the ISA has one (the scalar
 * flavour's unfused fmadd gives e = 0: compensation of the sum only). */
typedef struct { vd s, c; } fss_bwdacc_f64;
static inline fss_bwdacc_f64 fss_bwdacc_f64_zero(void) { fss_bwdacc_f64 r = { vd_set1(0.0), vd_set1(0.0) }; return r; }
static inline fss_bwdacc_f64 fss_bwdacc_f64_add(fss_bwdacc_f64 r, vd v)
{
    const vd t = vd_add(r.s, v);
    const vd bp = vd_sub(t, r.s);
    r.c = vd_add(r.c, vd_add(vd_sub(r.s, vd_sub(t, bp)), vd_sub(v, bp)));
    r.s = t;
    return r;
}
static inline fss_bwdacc_f64 fss_bwdacc_f64_addprod(fss_bwdacc_f64 r, vd g, vd y)
{
    const vd p = vd_mul(g, y);
    const vd e = vd_fmadd(g, y, vd_sub(vd_set1(0.0), p));
    r = fss_bwdacc_f64_add(r, p);
    r.c = vd_add(r.c, e);
    return r;
}
/* An infinite term turns the compensation into NaN: then the plain sum
 * (inf, or NaN for a genuine NaN) is the answer. */
static inline double fss_bwdacc_f64_fix(double s, double c)
{
    const double v = s + c;
    return isnan(v) ? s : v;
}
static inline void fss_bwdacc_f64_store(double *p, fss_bwdacc_f64 a)
{
    double s[VD_W], c[VD_W];
    vd_storeu(s, a.s);
    vd_storeu(c, a.c);
    for (int j = 0; j < VD_W; ++j)
        p[j] = fss_bwdacc_f64_fix(s[j], c[j]);
}
static inline double fss_bwdacc_f64_value(fss_bwdacc_f64 a, fss_bwdacc_f64 b)
{
    double s[2 * VD_W], c[2 * VD_W];
    vd_storeu(s, a.s);
    vd_storeu(s + VD_W, b.s);
    vd_storeu(c, a.c);
    vd_storeu(c + VD_W, b.c);
    fss_ksum k = { 0.0, 0.0 };
    double plain = 0.0, comp = 0.0;
    for (int j = 0; j < 2 * VD_W; ++j) {
        fss_ksum_add(&k, s[j]);
        plain += s[j];
        comp += c[j];
    }
    const double v = fss_ksum_value(&k) + comp;
    return isnan(v) ? plain : v;
}

#define T float
#define TS f32
#define V vf
#define VM vfm
#define W VF_W
#define VOP(op) vf_##op
#define BACCT fss_bwdacc_f32
#define BACC(op) fss_bwdacc_f32_##op
/* exp overflows float beyond ~88.72 */
#define BWD_EXP_MAX 89.0f
#define BWD_PRODUCT_BLOCK 4
#include "backward_kernels.h"
#undef BWD_PRODUCT_BLOCK
#undef T
#undef TS
#undef V
#undef VM
#undef W
#undef VOP
#undef BACCT
#undef BACC
#undef BWD_EXP_MAX

#define T double
#define TS f64
#define V vd
#define VM vdm
#define W VD_W
#define VOP(op) vd_##op
#define BACCT fss_bwdacc_f64
#define BACC(op) fss_bwdacc_f64_##op
#define BWD_EXP_MAX 710.0
#include "backward_kernels.h"
#undef T
#undef TS
#undef V
#undef VM
#undef W
#undef VOP
#undef BACCT
#undef BACC
#undef BWD_EXP_MAX

#define FSS_BWD_FN_OF(name, ts) FSS_CAT(FSS_CAT(fss_##name##_, ts), FSS_CAT(_, FSS_ISA_SUFFIX))
#define FSS_BWD_SET_INIT(ts, width)                                                           \
    {                                                                                         \
        FSS_BWD_FN_OF(bwd_dot, ts), FSS_BWD_FN_OF(bwd_softmax_row, ts),                       \
            FSS_BWD_FN_OF(bwd_sum_max, ts), FSS_BWD_FN_OF(bwd_logsoftmax_row, ts),            \
            FSS_BWD_FN_OF(bwd_softmax_row_next, ts), FSS_BWD_FN_OF(bwd_logsoftmax_row_next, ts), \
            FSS_BWD_FN_OF(bwd_col_dot, ts), FSS_BWD_FN_OF(bwd_col_apply, ts), 2 * (width),     \
            FSS_BWD_FN_OF(bwd_stream_fence, ts), FSS_HAVE_STREAM                               \
    }

const fss_bwd_isa_kernels FSS_CAT(fss_bwd_kernels_, FSS_ISA_SUFFIX) = {
    FSS_CAT_STR(FSS_ISA_SUFFIX),
    FSS_BWD_SET_INIT(f32, VF_W),
    FSS_BWD_SET_INIT(f64, VD_W),
};
