/* Vector layer, scalar flavour: a "vector" of width 1.  The kernel bodies in
 * ../row_kernels.h and ../col_kernels.h are written against the operations
 * below; each ISA header provides the same names for its own registers.
 *
 * This flavour is compiled with the baseline flags only, and with
 * -ffp-contract=off, so it stays scalar and unfused: it is the reference
 * variant every other one is checked against. */
#ifndef FSS_VEC_SCALAR_H
#define FSS_VEC_SCALAR_H

#include <stdint.h>
#include <string.h>

#include "../half_convert.h"

#define FSS_ISA_SUFFIX scalar

/* ---- float ------------------------------------------------------------ */
typedef float vf;
typedef int vfm; /* mask: 0 or 1 */
#define VF_W 1
static inline vf vf_set1(float a) { return a; }
static inline vf vf_loadu(const float *p) { return *p; }
static inline void vf_storeu(float *p, vf v) { *p = v; }
static inline vf vf_load_part(const float *p, int64_t n, float fill) { return n > 0 ? *p : fill; }
static inline void vf_store_part(float *p, vf v, int64_t n) { if (n > 0) *p = v; }
static inline vf vf_load_half(const uint16_t *p) { return fss_half_to_float(*p); }
static inline void vf_store_half(uint16_t *p, vf v) { *p = fss_float_to_half(v); }
static inline vf vf_add(vf a, vf b) { return a + b; }
static inline vf vf_sub(vf a, vf b) { return a - b; }
static inline vf vf_mul(vf a, vf b) { return a * b; }
static inline vf vf_fmadd(vf a, vf b, vf c) { return a * b + c; }
/* max that ignores nothing: a NaN in b is returned (mirrors x86 maxps(a, b)). */
static inline vf vf_max(vf a, vf b) { return a > b ? a : b; }
static inline vf vf_min(vf a, vf b) { return a < b ? a : b; }
static inline float vf_hmax(vf a) { return a; }
static inline vfm vf_eq(vf a, vf b) { return a == b; }
static inline vfm vf_lt(vf a, vf b) { return a < b; }
static inline int vfm_any(vfm m) { return m; }
static inline vf vf_zero_where(vfm m, vf v) { return m ? 0.0f : v; }
static inline vf vf_one_where(vfm m) { return m ? 1.0f : 0.0f; }
/* Round to nearest even by the 1.5*2^23 magic number: exact for |a| < 2^22,
 * which covers every k the exp reduction produces, and needs no SSE4.1. */
static inline vf vf_round(vf a) { return (a + 12582912.0f) - 12582912.0f; }
/* 2^k for integral k in [-126, 127], as a float. */
/* t = 1.5*2^23 + 127 + k -> 2^k (for -126 <= k <= 0): the exponent field
 * from the low mantissa bits of a magic-biased value */
static inline vf vf_pow2_biased(vf t)
{
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits <<= 23;
    memcpy(&t, &bits, sizeof t);
    return t;
}

static inline vf vf_pow2i(vf k)
{
    if (k != k) return k; /* converting NaN to int is undefined in C */
    uint32_t bits = (uint32_t)((int32_t)k + 127) << 23;
    float r;
    memcpy(&r, &bits, sizeof r);
    return r;
}

/* ---- double ----------------------------------------------------------- */
typedef double vd;
typedef int vdm;
#define VD_W 1
static inline vd vd_set1(double a) { return a; }
static inline vd vd_loadu(const double *p) { return *p; }
static inline void vd_storeu(double *p, vd v) { *p = v; }
static inline vd vd_load_part(const double *p, int64_t n, double fill) { return n > 0 ? *p : fill; }
static inline void vd_store_part(double *p, vd v, int64_t n) { if (n > 0) *p = v; }
static inline vd vd_add(vd a, vd b) { return a + b; }
static inline vd vd_sub(vd a, vd b) { return a - b; }
static inline vd vd_mul(vd a, vd b) { return a * b; }
static inline vd vd_fmadd(vd a, vd b, vd c) { return a * b + c; }
static inline vd vd_max(vd a, vd b) { return a > b ? a : b; }
static inline vd vd_min(vd a, vd b) { return a < b ? a : b; }
static inline double vd_hmax(vd a) { return a; }
static inline double vd_hsum(vd a) { return a; }
static inline vdm vd_eq(vd a, vd b) { return a == b; }
static inline vdm vd_lt(vd a, vd b) { return a < b; }
static inline int vdm_any(vdm m) { return m; }
static inline vd vd_zero_where(vdm m, vd v) { return m ? 0.0 : v; }
static inline vd vd_one_where(vdm m) { return m ? 1.0 : 0.0; }
static inline vd vd_round(vd a) { return (a + 6755399441055744.0) - 6755399441055744.0; }
/* t = 1.5*2^52 + 1023 + k -> 2^k (for -1022 <= k <= 0) */
static inline vd vd_pow2_biased(vd t)
{
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits <<= 52;
    memcpy(&t, &bits, sizeof t);
    return t;
}

static inline vd vd_pow2i(vd k)
{
    if (k != k) return k;
    uint64_t bits = (uint64_t)((int64_t)k + 1023) << 52;
    double r;
    memcpy(&r, &bits, sizeof r);
    return r;
}

/* ---- float -> double accumulation (float kernels sum in double) -------- */
typedef double vfacc;
static inline vfacc vfacc_zero(void) { return 0.0; }
static inline vfacc vfacc_add(vfacc acc, vf v) { return acc + (double)v; }
static inline vfacc vfacc_merge(vfacc a, vfacc b) { return a + b; }
static inline double vfacc_hsum(vfacc a) { return a; }

static inline void vfacc_store(double *p, vfacc a) { *p = a; }

#endif
