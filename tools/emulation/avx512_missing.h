/* Test-only (tools/emulate_isa.py): the AVX-512 intrinsics the kernels use and
 * SIMDe lacks, written lane by lane, so that the AVX-512 kernels run (emulated
 * on AVX2) on a CPU without AVX-512. The masked loads and stores touch only
 * their mask's lanes and the streaming stores check their alignment, as the
 * instructions do. Never part of a build that ships. */
#ifndef FSS_AVX512_MISSING_H
#define FSS_AVX512_MISSING_H
#include <simde/x86/avx512.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define EMU_MANT_NORM_1_2 0
#define EMU_MANT_SIGN_zero 0

static inline simde__m512d emu_mm512_cvtps_pd(simde__m256 a)
{
    float f[8]; double d[8];
    simde_mm256_storeu_ps(f, a);
    for (int i = 0; i < 8; ++i) d[i] = (double)f[i];
    return simde_mm512_loadu_pd(d);
}
/* getexp: floor(log2|x|); 0 -> -inf, inf -> inf, NaN -> NaN. Exact for a
 * float argument too (widened, and the result is an integer). */
static inline double emu_getexp(double x)
{
    if (isnan(x)) return x;
    if (x == 0) return -INFINITY;
    if (isinf(x)) return INFINITY;
    int e; frexp(x, &e); return (double)(e - 1);
}
/* getmant, interval [1, 2), sign cleared: 0 -> 0, inf -> 1, NaN -> NaN
 * (exact for a float argument too) */
static inline double emu_getmant(double x)
{
    if (isnan(x)) return x;
    if (x == 0) return 0.0;
    if (isinf(x)) return 1.0;
    int e; return 2.0 * fabs(frexp(x, &e));
}

/* The lane-by-lane intrinsics for one element type: sfx ps / pd, vector VT
 * of N elements ET, mask MT. The masked loads and stores touch only the
 * lanes of the mask (as the hardware: no read or write past the end of a
 * row); the streaming store checks the alignment the instruction faults on. */
#define EMU_LANEWISE(sfx, VT, ET, N, MT)                                                  \
    static inline VT emu_mm512_getexp_##sfx(VT a)                                         \
    {                                                                                     \
        ET f[N]; simde_mm512_storeu_##sfx(f, a);                                          \
        for (int i = 0; i < N; ++i) f[i] = (ET)emu_getexp(f[i]);                           \
        return simde_mm512_loadu_##sfx(f);                                                \
    }                                                                                     \
    static inline VT emu_mm512_getmant_##sfx(VT a, int norm, int sign)                    \
    {                                                                                     \
        (void)norm; (void)sign;                                                           \
        ET f[N]; simde_mm512_storeu_##sfx(f, a);                                          \
        for (int i = 0; i < N; ++i) f[i] = (ET)emu_getmant(f[i]);                          \
        return simde_mm512_loadu_##sfx(f);                                                \
    }                                                                                     \
    static inline void emu_mm512_stream_##sfx(ET *p, VT v)                                \
    {                                                                                     \
        if ((uintptr_t)p & 63) abort();                                                  \
        simde_mm512_storeu_##sfx(p, v);                                                   \
    }                                                                                     \
    static inline VT emu_mm512_mask_loadu_##sfx(VT src, MT k, const void *p)             \
    {                                                                                     \
        ET f[N]; simde_mm512_storeu_##sfx(f, src);                                        \
        for (int i = 0; i < N; ++i) if (k >> i & 1) f[i] = ((const ET *)p)[i];            \
        return simde_mm512_loadu_##sfx(f);                                                \
    }                                                                                     \
    static inline void emu_mm512_mask_storeu_##sfx(void *p, MT k, VT v)                   \
    {                                                                                     \
        ET f[N]; simde_mm512_storeu_##sfx(f, v);                                          \
        for (int i = 0; i < N; ++i) if (k >> i & 1) ((ET *)p)[i] = f[i];                  \
    }
EMU_LANEWISE(ps, simde__m512, float, 16, simde__mmask16)
EMU_LANEWISE(pd, simde__m512d, double, 8, simde__mmask8)

static inline simde__m256i emu_mm512_cvtps_ph(simde__m512 v, int imm)
{
    if (imm != (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)) abort();
    float f[16]; simde_mm512_storeu_ps(f, v);
    __m128i lo = _mm256_cvtps_ph(_mm256_loadu_ps(f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m128i hi = _mm256_cvtps_ph(_mm256_loadu_ps(f + 8), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    uint16_t h[16];
    _mm_storeu_si128((__m128i *)h, lo);
    _mm_storeu_si128((__m128i *)(h + 8), hi);
    return simde_mm256_loadu_si256((const void *)h);
}
/* in the order GCC's _mm512_reduce_add_pd adds: halves, then quarters, then the pair */
static inline double emu_mm512_reduce_add_pd(simde__m512d a)
{
    double f[8];
    simde_mm512_storeu_pd(f, a);
    const double b0 = f[0] + f[4], b1 = f[1] + f[5], b2 = f[2] + f[6], b3 = f[3] + f[7];
    return (b0 + b2) + (b1 + b3);
}
#endif
