/* Extra vector operations (the sigmoid family, the short-row log1p), AVX-512 flavour (see
 * vec_extra_avx2.h for what each one means). */
#ifndef FSS_VEC_EXTRA_AVX512_H
#define FSS_VEC_EXTRA_AVX512_H

#include <immintrin.h>

static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_abs(vf a) { return _mm512_abs_ps(a); }
static inline vf vf_select(vfm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
static inline vf vf_frexp1(vf x, vf *k)
{
    *k = _mm512_getexp_ps(x);
    return _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
}

static inline vd vd_div(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd vd_abs(vd a) { return _mm512_abs_pd(a); }
static inline vd vd_select(vdm m, vd a, vd b) { return _mm512_mask_blend_pd(m, b, a); }
static inline vd vd_frexp1(vd x, vd *k)
{
    *k = _mm512_getexp_pd(x);
    return _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
}

/* Non-temporal stores (p aligned to the vector size); see vec_extra_avx2.h. */
#define FSS_HAVE_STREAM 1
static inline void vf_stream(float *p, vf v) { _mm512_stream_ps(p, v); }
static inline void vd_stream(double *p, vd v) { _mm512_stream_pd(p, v); }
static inline void fss_stream_fence(void) { _mm_sfence(); }

#endif
