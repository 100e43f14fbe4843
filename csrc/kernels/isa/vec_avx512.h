/* Vector layer, AVX-512 (F + DQ + VL) flavour: 16 floats / 8 doubles per
 * register, native lane masks for tails, scalef for 2^k. Only kernels_avx512.c
 * includes this and only that file gets the AVX-512 target flags. */
#ifndef FSS_VEC_AVX512_H
#define FSS_VEC_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#define FSS_ISA_SUFFIX avx512

/* Masked loads and stores cost about what plain ones do (and fault on no
 * lane they leave out), so a row's last partial block of vectors takes the
 * loops' whole step, masked (softmax_kernels.h, FSS_MASKED_TAIL), instead
 * of the short tail code the other flavours need. */
#define FSS_CHEAP_MASKS 1

/* Exponentials of eight vectors interleaved step by step (exp_poly.h,
 * FSS_EXP_MAXN): 32 registers hold them, and on Zen 5 the table
 * exponential's loop measured 1.19 -> 1.04 ns per 16 floats against four
 * (1.10 with two groups of four one after the other; kernel harness). */
#define VF_EXP_MAXN 8

/* The longest rows for the short-row lane kernels (short_row_kernels.h,
 * where the other flavours' limits and their reasons are). With the rows
 * moved into lanes by vf_transpose / vd_transpose, the lane kernel beats
 * the general path further than on AVX2. Zen 5, ns a row, lane kernel
 * against the general path. Float: softmax 48 / 50 at 128 elements, 62 / 60
 * at 160; log_softmax 53 / 56 at 128, 66 / 68 at 160; logsumexp 60 / 66 at
 * 192, 78 / 74 at 256. Double: softmax 57 / 58 at 64, 84 / 73 at 96;
 * log_softmax 89 / 98 at 96, 114 / 114 at 128; logsumexp 84 / 104 at 128. */
#define FSS_SHORT_MAX(w) (8 * (w))
#define FSS_SHORT_MAX_LSM(w) ((w) == 16 ? 8 * (w) : 12 * (w))
#define FSS_SHORT_MAX_LSE(w) ((w) == 16 ? 12 * (w) : 16 * (w))

static inline __mmask16 fss_avx512_mask16(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n < 0 ? 0 : n)) - 1u); }
static inline __mmask8 fss_avx512_mask8(int64_t n) { return n >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n < 0 ? 0 : n)) - 1u); }

/* ---- float ------------------------------------------------------------ */
typedef __m512 vf;
typedef __mmask16 vfm;
#define VF_W 16
static inline vf vf_set1(float a) { return _mm512_set1_ps(a); }
static inline vf vf_loadu(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_storeu(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vf_load_part(const float *p, int64_t n, float fill)
{
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), fss_avx512_mask16(n), p);
}
static inline void vf_store_part(float *p, vf v, int64_t n) { _mm512_mask_storeu_ps(p, fss_avx512_mask16(n), v); }
/* v with its lanes from n on zeroed (n <= 0: all) */
static inline vf vf_keep_part(vf v, int64_t n) { return _mm512_maskz_mov_ps(fss_avx512_mask16(n), v); }
static inline vf vf_load_half(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline void vf_store_half(uint16_t *p, vf v)
{
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline float vf_hmax(vf a) { return _mm512_reduce_max_ps(a); }
static inline vfm vf_eq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vfm vf_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline int vfm_any(vfm m) { return m != 0; }
static inline vf vf_zero_where(vfm m, vf v) { return _mm512_maskz_mov_ps((__mmask16)~m, v); }
static inline vf vf_one_where(vfm m) { return _mm512_maskz_mov_ps(m, _mm512_set1_ps(1.0f)); }
static inline vf vf_round(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vf_pow2i(vf k) { return _mm512_scalef_ps(_mm512_set1_ps(1.0f), k); }

/* The exponential's table flavour (exp_poly.h): the lanes of a 16-entry
 * table picked by the low four bits of each lane of t, and 2^(N >> 4) T_j
 * as bits[j] + (t << 19) in integers */
#define VF_EXP_TABLE_BITS 4
static inline vf vf_lookup_table(vf t, const float *table)
{
    return _mm512_permutexvar_ps(_mm512_castps_si512(t), _mm512_loadu_ps(table));
}
static inline vf vf_pow2_table(vf t, const uint32_t *bits)
{
    const __m512i ti = _mm512_castps_si512(t);
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_permutexvar_epi32(ti, _mm512_loadu_si512(bits)),
                                                _mm512_slli_epi32(ti, 19)));
}

/* t = 1.5*2^23 + 127 + k -> 2^k (for -126 <= k <= 0): see vec_avx2.h */
static inline vf vf_pow2_biased(vf t) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(t), 23)); }

/* v[0..16) as the rows of a 16x16 block, transposed in place (the
 * short-row kernel's rows-to-lanes step: 64 shuffles instead of 256 scalar
 * moves, which were a third of log_softmax's time on rows of 32): pairs
 * within 128-bit lanes, then quads, then the 128-bit lanes across vectors */
#define VF_TRANSPOSE 1
static inline void vf_transpose(vf *v)
{
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    /* u[4q + j]: rows 4q..4q+3, element j + 4l in 128-bit lane l */
    for (int q = 0; q < 4; ++q) {
        const __m512d a = _mm512_castps_pd(t[4 * q]), b = _mm512_castps_pd(t[4 * q + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * q + 2]), d = _mm512_castps_pd(t[4 * q + 3]);
        u[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int j = 0; j < 4; ++j) {
        const __m512 s0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44), s1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xee);
        const __m512 s2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
        const __m512 s3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xee);
        v[j] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        v[4 + j] = _mm512_shuffle_f32x4(s0, s2, 0xdd);
        v[8 + j] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        v[12 + j] = _mm512_shuffle_f32x4(s1, s3, 0xdd);
    }
}

/* ---- double ----------------------------------------------------------- */
typedef __m512d vd;
typedef __mmask8 vdm;
#define VD_W 8
static inline vd vd_set1(double a) { return _mm512_set1_pd(a); }
static inline vd vd_loadu(const double *p) { return _mm512_loadu_pd(p); }
static inline void vd_storeu(double *p, vd v) { _mm512_storeu_pd(p, v); }
static inline vd vd_load_part(const double *p, int64_t n, double fill)
{
    return _mm512_mask_loadu_pd(_mm512_set1_pd(fill), fss_avx512_mask8(n), p);
}
static inline void vd_store_part(double *p, vd v, int64_t n) { _mm512_mask_storeu_pd(p, fss_avx512_mask8(n), v); }
static inline vd vd_keep_part(vd v, int64_t n) { return _mm512_maskz_mov_pd(fss_avx512_mask8(n), v); }
static inline vd vd_add(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd vd_fmadd(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
static inline vd vd_max(vd a, vd b) { return _mm512_max_pd(a, b); }
static inline vd vd_min(vd a, vd b) { return _mm512_min_pd(a, b); }
static inline double vd_hmax(vd a) { return _mm512_reduce_max_pd(a); }
static inline double vd_hsum(vd a) { return _mm512_reduce_add_pd(a); }
static inline vdm vd_eq(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
static inline vdm vd_lt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline int vdm_any(vdm m) { return m != 0; }
static inline vd vd_zero_where(vdm m, vd v) { return _mm512_maskz_mov_pd((__mmask8)~m, v); }
static inline vd vd_one_where(vdm m) { return _mm512_maskz_mov_pd(m, _mm512_set1_pd(1.0)); }
static inline vd vd_round(vd a) { return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vd vd_pow2i(vd k) { return _mm512_scalef_pd(_mm512_set1_pd(1.0), k); }

/* t = 1.5*2^52 + 1023 + k -> 2^k (for -1022 <= k <= 0) */
static inline vd vd_pow2_biased(vd t) { return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(t), 52)); }

/* v[0..8) as an 8x8 block, transposed in place (see vf_transpose) */
#define VD_TRANSPOSE 1
static inline void vd_transpose(vd *v)
{
    __m512d t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_pd(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(v[i], v[i + 1]);
    }
    /* t[2p + h]: rows 2p, 2p+1, elements 2l + h in 128-bit lane l */
    for (int h = 0; h < 2; ++h) {
        const __m512d s0 = _mm512_shuffle_f64x2(t[h], t[2 + h], 0x44), s1 = _mm512_shuffle_f64x2(t[h], t[2 + h], 0xee);
        const __m512d s2 = _mm512_shuffle_f64x2(t[4 + h], t[6 + h], 0x44);
        const __m512d s3 = _mm512_shuffle_f64x2(t[4 + h], t[6 + h], 0xee);
        v[h] = _mm512_shuffle_f64x2(s0, s2, 0x88);
        v[2 + h] = _mm512_shuffle_f64x2(s0, s2, 0xdd);
        v[4 + h] = _mm512_shuffle_f64x2(s1, s3, 0x88);
        v[6 + h] = _mm512_shuffle_f64x2(s1, s3, 0xdd);
    }
}

/* ---- float -> double accumulation -------------------------------------- */
typedef struct { __m512d lo, hi; } vfacc;
static inline vfacc vfacc_zero(void) { vfacc a = { _mm512_setzero_pd(), _mm512_setzero_pd() }; return a; }
static inline vfacc vfacc_add(vfacc acc, vf v)
{
    acc.lo = _mm512_add_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    acc.hi = _mm512_add_pd(acc.hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
    return acc;
}
static inline vfacc vfacc_merge(vfacc a, vfacc b)
{
    a.lo = _mm512_add_pd(a.lo, b.lo);
    a.hi = _mm512_add_pd(a.hi, b.hi);
    return a;
}
static inline double vfacc_hsum(vfacc a) { return _mm512_reduce_add_pd(_mm512_add_pd(a.lo, a.hi)); }

static inline void vfacc_store(double *p, vfacc a) { _mm512_storeu_pd(p, a.lo); _mm512_storeu_pd(p + 8, a.hi); }

#endif
