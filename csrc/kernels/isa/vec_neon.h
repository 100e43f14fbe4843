/* Vector layer, NEON (AArch64 Advanced SIMD) flavour: 4 floats / 2 doubles per
 * register. NEON is part of the AArch64 baseline, so this needs no target flag. */
#ifndef FSS_VEC_NEON_H
#define FSS_VEC_NEON_H

#include <arm_neon.h>
#include <stdint.h>

#define FSS_ISA_SUFFIX neon

/* ---- float ------------------------------------------------------------ */
typedef float32x4_t vf;
typedef uint32x4_t vfm;
#define VF_W 4
static inline vf vf_set1(float a) { return vdupq_n_f32(a); }
static inline vf vf_loadu(const float *p) { return vld1q_f32(p); }
static inline void vf_storeu(float *p, vf v) { vst1q_f32(p, v); }
static inline vf vf_load_part(const float *p, int64_t n, float fill)
{
    float buf[4] = { fill, fill, fill, fill };
    for (int64_t i = 0; i < n && i < 4; ++i) buf[i] = p[i];
    return vld1q_f32(buf);
}
static inline void vf_store_part(float *p, vf v, int64_t n)
{
    float buf[4];
    vst1q_f32(buf, v);
    for (int64_t i = 0; i < n && i < 4; ++i) p[i] = buf[i];
}
static inline vf vf_load_half(const uint16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
static inline void vf_store_half(uint16_t *p, vf v) { vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(v))); }
static inline vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vf_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
/* NaN in b must win, as the x86 flavours do: select on a > b. */
static inline vf vf_max(vf a, vf b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
static inline vf vf_min(vf a, vf b) { return vminq_f32(a, b); }
static inline float vf_hmax(vf a) { return vmaxvq_f32(a); }
static inline vfm vf_eq(vf a, vf b) { return vceqq_f32(a, b); }
static inline vfm vf_lt(vf a, vf b) { return vcltq_f32(a, b); }
static inline int vfm_any(vfm m) { return vmaxvq_u32(m) != 0; }
static inline vf vf_zero_where(vfm m, vf v) { return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(v), m)); }
static inline vf vf_one_where(vfm m) { return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(vdupq_n_f32(1.0f)))); }
static inline vf vf_round(vf a) { return vrndnq_f32(a); }
static inline vf vf_pow2i(vf k)
{
    int32x4_t e = vaddq_s32(vcvtnq_s32_f32(k), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
}

/* t = 1.5*2^23 + 127 + k -> 2^k (for -126 <= k <= 0): see vec_avx2.h */
static inline vf vf_pow2_biased(vf t) { return vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(t), 23)); }

/* ---- double ----------------------------------------------------------- */
typedef float64x2_t vd;
typedef uint64x2_t vdm;
#define VD_W 2
static inline vd vd_set1(double a) { return vdupq_n_f64(a); }
static inline vd vd_loadu(const double *p) { return vld1q_f64(p); }
static inline void vd_storeu(double *p, vd v) { vst1q_f64(p, v); }
static inline vd vd_load_part(const double *p, int64_t n, double fill)
{
    double buf[2] = { fill, fill };
    for (int64_t i = 0; i < n && i < 2; ++i) buf[i] = p[i];
    return vld1q_f64(buf);
}
static inline void vd_store_part(double *p, vd v, int64_t n)
{
    double buf[2];
    vst1q_f64(buf, v);
    for (int64_t i = 0; i < n && i < 2; ++i) p[i] = buf[i];
}
static inline vd vd_add(vd a, vd b) { return vaddq_f64(a, b); }
static inline vd vd_sub(vd a, vd b) { return vsubq_f64(a, b); }
static inline vd vd_mul(vd a, vd b) { return vmulq_f64(a, b); }
static inline vd vd_fmadd(vd a, vd b, vd c) { return vfmaq_f64(c, a, b); }
static inline vd vd_max(vd a, vd b) { return vbslq_f64(vcgtq_f64(a, b), a, b); }
static inline vd vd_min(vd a, vd b) { return vminq_f64(a, b); }
static inline double vd_hmax(vd a) { return vmaxvq_f64(a); }
static inline double vd_hsum(vd a) { return vaddvq_f64(a); }
static inline vdm vd_eq(vd a, vd b) { return vceqq_f64(a, b); }
static inline vdm vd_lt(vd a, vd b) { return vcltq_f64(a, b); }
static inline int vdm_any(vdm m) { return (vgetq_lane_u64(m, 0) | vgetq_lane_u64(m, 1)) != 0; }
static inline vd vd_zero_where(vdm m, vd v) { return vreinterpretq_f64_u64(vbicq_u64(vreinterpretq_u64_f64(v), m)); }
static inline vd vd_one_where(vdm m) { return vreinterpretq_f64_u64(vandq_u64(m, vreinterpretq_u64_f64(vdupq_n_f64(1.0)))); }
static inline vd vd_round(vd a) { return vrndnq_f64(a); }
static inline vd vd_pow2i(vd k)
{
    int64x2_t e = vaddq_s64(vcvtnq_s64_f64(k), vdupq_n_s64(1023));
    return vreinterpretq_f64_s64(vshlq_n_s64(e, 52));
}

/* t = 1.5*2^52 + 1023 + k -> 2^k (for -1022 <= k <= 0) */
static inline vd vd_pow2_biased(vd t) { return vreinterpretq_f64_s64(vshlq_n_s64(vreinterpretq_s64_f64(t), 52)); }

/* ---- float -> double accumulation -------------------------------------- */
typedef struct { float64x2_t lo, hi; } vfacc;
static inline vfacc vfacc_zero(void) { vfacc a = { vdupq_n_f64(0.0), vdupq_n_f64(0.0) }; return a; }
static inline vfacc vfacc_add(vfacc acc, vf v)
{
    acc.lo = vaddq_f64(acc.lo, vcvt_f64_f32(vget_low_f32(v)));
    acc.hi = vaddq_f64(acc.hi, vcvt_high_f64_f32(v));
    return acc;
}
static inline vfacc vfacc_merge(vfacc a, vfacc b)
{
    a.lo = vaddq_f64(a.lo, b.lo);
    a.hi = vaddq_f64(a.hi, b.hi);
    return a;
}
static inline double vfacc_hsum(vfacc a) { return vaddvq_f64(vaddq_f64(a.lo, a.hi)); }

static inline void vfacc_store(double *p, vfacc a) { vst1q_f64(p, a.lo); vst1q_f64(p + 2, a.hi); }

#endif
