/* Vector layer, AVX2 + FMA flavour: 8 floats / 4 doubles per register.
 * Only the translation unit kernels_avx2.c includes this, and only that file
 * is compiled with -mavx2 -mfma; the dispatcher calls it after CPUID and XGETBV
 * have confirmed the CPU and the OS support it. */
#ifndef FSS_VEC_AVX2_H
#define FSS_VEC_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#define FSS_ISA_SUFFIX avx2

/* Lane masks for partial loads: row i of this table enables the first i lanes. */
static inline __m256i fss_avx2_lane_mask32(int64_t n)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int32_t k = n >= 8 ? 8 : (int32_t)(n < 0 ? 0 : n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), idx);
}
static inline __m256i fss_avx2_lane_mask64(int64_t n)
{
    const __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
    int64_t k = n >= 4 ? 4 : (n < 0 ? 0 : n);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), idx);
}

/* ---- float ------------------------------------------------------------ */
typedef __m256 vf;
typedef __m256 vfm;
#define VF_W 8
static inline vf vf_set1(float a) { return _mm256_set1_ps(a); }
static inline vf vf_loadu(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_storeu(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vf_load_part(const float *p, int64_t n, float fill)
{
    __m256i m = fss_avx2_lane_mask32(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline void vf_store_part(float *p, vf v, int64_t n) { _mm256_maskstore_ps(p, fss_avx2_lane_mask32(n), v); }
/* float16 <-> float, F16C (the dispatcher requires it with AVX2) */
static inline vf vf_load_half(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline void vf_store_half(uint16_t *p, vf v)
{
    _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline float vf_hmax(vf a)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
static inline vfm vf_eq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline vfm vf_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline int vfm_any(vfm m) { return _mm256_movemask_ps(m) != 0; }
static inline vf vf_zero_where(vfm m, vf v) { return _mm256_andnot_ps(m, v); }
static inline vf vf_one_where(vfm m) { return _mm256_and_ps(m, _mm256_set1_ps(1.0f)); }
static inline vf vf_round(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vf_pow2i(vf k)
{
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}

/* The exponential's table flavour (exp_poly.h): the lanes of an 8-entry
 * table picked by the low three bits of each lane of t (one vpermps), and
 * 2^(N >> 3) T_j as bits[j] + (t << 20) in integers */
#define VF_EXP_TABLE_BITS 3
static inline vf vf_lookup_table(vf t, const float *table)
{
    return _mm256_permutevar8x32_ps(_mm256_loadu_ps(table), _mm256_castps_si256(t));
}
static inline vf vf_pow2_table(vf t, const uint32_t *bits)
{
    const __m256i ti = _mm256_castps_si256(t);
    return _mm256_castsi256_ps(_mm256_add_epi32(
        _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)bits), ti), _mm256_slli_epi32(ti, 20)));
}

/* Exponent field from a magic-biased value: t = 1.5*2^23 + 127 + k holds
 * 127 + k in its low mantissa bits; shifted into the exponent field that is
 * 2^k (for -126 <= k <= 0). */
static inline vf vf_pow2_biased(vf t) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)); }

/* v[0..8) as the rows of an 8x8 block, transposed in place (the short-row
 * kernel's rows-to-lanes step: 24 shuffles instead of 64 scalar moves) */
#define VF_TRANSPOSE 1
static inline void vf_transpose(vf *v)
{
    const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    const __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
    const __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    v[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    v[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    v[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    v[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    v[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    v[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    v[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    v[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* ---- double ----------------------------------------------------------- */
typedef __m256d vd;
typedef __m256d vdm;
#define VD_W 4
static inline vd vd_set1(double a) { return _mm256_set1_pd(a); }
static inline vd vd_loadu(const double *p) { return _mm256_loadu_pd(p); }
static inline void vd_storeu(double *p, vd v) { _mm256_storeu_pd(p, v); }
static inline vd vd_load_part(const double *p, int64_t n, double fill)
{
    __m256i m = fss_avx2_lane_mask64(n);
    return _mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m));
}
static inline void vd_store_part(double *p, vd v, int64_t n) { _mm256_maskstore_pd(p, fss_avx2_lane_mask64(n), v); }
static inline vd vd_add(vd a, vd b) { return _mm256_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
static inline vd vd_fmadd(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
static inline vd vd_max(vd a, vd b) { return _mm256_max_pd(a, b); }
static inline vd vd_min(vd a, vd b) { return _mm256_min_pd(a, b); }
static inline double vd_hmax(vd a)
{
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    m = _mm_max_sd(m, _mm_unpackhi_pd(m, m));
    return _mm_cvtsd_f64(m);
}
static inline double vd_hsum(vd a)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}
static inline vdm vd_eq(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
static inline vdm vd_lt(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
static inline int vdm_any(vdm m) { return _mm256_movemask_pd(m) != 0; }
static inline vd vd_zero_where(vdm m, vd v) { return _mm256_andnot_pd(m, v); }
static inline vd vd_one_where(vdm m) { return _mm256_and_pd(m, _mm256_set1_pd(1.0)); }
static inline vd vd_round(vd a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* 2^k for integral k in [-1022, 1023]: AVX2 has no double->int64 conversion,
 * so k goes through the magic-bias trick: k + 2^52 + 1023 puts the biased
 * exponent in the low mantissa bits. */
static inline vd vd_pow2i(vd k)
{
    const vd bias = _mm256_set1_pd(4503599627370496.0 + 1023.0);
    __m256i e = _mm256_castpd_si256(_mm256_add_pd(k, bias));
    return _mm256_castsi256_pd(_mm256_slli_epi64(e, 52));
}

/* t = 1.5*2^52 + 1023 + k -> 2^k (for -1022 <= k <= 0) */
static inline vd vd_pow2_biased(vd t) { return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52)); }

/* v[0..4) as a 4x4 block, transposed in place (see vf_transpose) */
#define VD_TRANSPOSE 1
static inline void vd_transpose(vd *v)
{
    const __m256d t0 = _mm256_unpacklo_pd(v[0], v[1]), t1 = _mm256_unpackhi_pd(v[0], v[1]);
    const __m256d t2 = _mm256_unpacklo_pd(v[2], v[3]), t3 = _mm256_unpackhi_pd(v[2], v[3]);
    v[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    v[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    v[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    v[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* ---- float -> double accumulation -------------------------------------- */
typedef struct { __m256d lo, hi; } vfacc;
static inline vfacc vfacc_zero(void) { vfacc a = { _mm256_setzero_pd(), _mm256_setzero_pd() }; return a; }
static inline vfacc vfacc_add(vfacc acc, vf v)
{
    acc.lo = _mm256_add_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc.hi = _mm256_add_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    return acc;
}
static inline vfacc vfacc_merge(vfacc a, vfacc b)
{
    a.lo = _mm256_add_pd(a.lo, b.lo);
    a.hi = _mm256_add_pd(a.hi, b.hi);
    return a;
}
static inline double vfacc_hsum(vfacc a) { return vd_hsum(_mm256_add_pd(a.lo, a.hi)); }

static inline void vfacc_store(double *p, vfacc a) { _mm256_storeu_pd(p, a.lo); _mm256_storeu_pd(p + 4, a.hi); }

#endif
