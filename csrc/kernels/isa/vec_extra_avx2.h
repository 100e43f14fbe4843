/* Extra vector operations (the sigmoid family, the short-row log1p), AVX2 + FMA flavour. Kept
 * apart from vec_avx2.h so the softmax layer stays as it is.
 *   div, abs          lane-wise (min is in the main layer)
 *   select(m, a, b)   a where the mask is set, else b
 *   frexp1(x, &k)     for positive normal finite x: m in [1, 2) and the
 *                     integral k (as a floating value) with x = m * 2^k */
#ifndef FSS_VEC_EXTRA_AVX2_H
#define FSS_VEC_EXTRA_AVX2_H

#include <immintrin.h>

static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline vf vf_select(vfm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
static inline vf vf_frexp1(vf x, vf *k)
{
    const __m256i b = _mm256_castps_si256(x);
    *k = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b, 23), _mm256_set1_epi32(127)));
    const __m256i m = _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(0x007fffff)),
                                      _mm256_set1_epi32(0x3f800000));
    return _mm256_castsi256_ps(m);
}

static inline vd vd_div(vd a, vd b) { return _mm256_div_pd(a, b); }
static inline vd vd_abs(vd a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
static inline vd vd_select(vdm m, vd a, vd b) { return _mm256_blendv_pd(b, a, m); }
/* The biased exponent (< 2^11) is placed in the mantissa of 2^52 and the
 * bias removed in floating point: AVX2 has no int64 -> double conversion. */
static inline vd vd_frexp1(vd x, vd *k)
{
    const __m256i b = _mm256_castpd_si256(x);
    const __m256i e = _mm256_or_si256(_mm256_srli_epi64(b, 52), _mm256_set1_epi64x(0x4330000000000000LL));
    *k = _mm256_sub_pd(_mm256_castsi256_pd(e), _mm256_set1_pd(4503599627370496.0 + 1023.0));
    const __m256i m = _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                                      _mm256_set1_epi64x(0x3ff0000000000000LL));
    return _mm256_castsi256_pd(m);
}

/* Non-temporal (streaming) stores for outputs larger than the cache: p must
 * be aligned to the vector size (VF_W / VD_W elements); fss_stream_fence()
 * orders them before the caller returns. */
#define FSS_HAVE_STREAM 1
static inline void vf_stream(float *p, vf v) { _mm256_stream_ps(p, v); }
static inline void vd_stream(double *p, vd v) { _mm256_stream_pd(p, v); }
static inline void fss_stream_fence(void) { _mm_sfence(); }

#endif
