/* Extra vector operations (the sigmoid family, the short-row log1p), NEON flavour (see
 * vec_extra_avx2.h for what each one means). */
#ifndef FSS_VEC_EXTRA_NEON_H
#define FSS_VEC_EXTRA_NEON_H

#include <arm_neon.h>

static inline vf vf_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf vf_abs(vf a) { return vabsq_f32(a); }
static inline vf vf_select(vfm m, vf a, vf b) { return vbslq_f32(m, a, b); }
static inline vf vf_frexp1(vf x, vf *k)
{
    const uint32x4_t b = vreinterpretq_u32_f32(x);
    *k = vcvtq_f32_s32(vsubq_s32(vreinterpretq_s32_u32(vshrq_n_u32(b, 23)), vdupq_n_s32(127)));
    return vreinterpretq_f32_u32(vorrq_u32(vandq_u32(b, vdupq_n_u32(0x007fffffu)), vdupq_n_u32(0x3f800000u)));
}

static inline vd vd_div(vd a, vd b) { return vdivq_f64(a, b); }
static inline vd vd_abs(vd a) { return vabsq_f64(a); }
static inline vd vd_select(vdm m, vd a, vd b) { return vbslq_f64(m, a, b); }
static inline vd vd_frexp1(vd x, vd *k)
{
    const uint64x2_t b = vreinterpretq_u64_f64(x);
    *k = vcvtq_f64_s64(vsubq_s64(vreinterpretq_s64_u64(vshrq_n_u64(b, 52)), vdupq_n_s64(1023)));
    return vreinterpretq_f64_u64(
        vorrq_u64(vandq_u64(b, vdupq_n_u64(0x000fffffffffffffull)), vdupq_n_u64(0x3ff0000000000000ull)));
}

/* No streaming store here: plain stores (FSS_HAVE_STREAM stays 0). */
#define FSS_HAVE_STREAM 0
static inline void vf_stream(float *p, vf v) { vst1q_f32(p, v); }
static inline void vd_stream(double *p, vd v) { vst1q_f64(p, v); }
static inline void fss_stream_fence(void) {}

#endif
