/* IEEE binary16 <-> binary32 conversion in plain C, exact and rounding to
 * nearest-even like F16C and NumPy's astype: the scalar flavour's vector
 * layer and every flavour's row tails use it. */
#ifndef FSS_HALF_CONVERT_H
#define FSS_HALF_CONVERT_H

#include <stdint.h>
#include <string.h>

static inline float fss_half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1fu) {
        bits = sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0u); /* NaN made quiet, as F16C */
    } else if (exp == 0) {
        /* zero or subnormal: mant * 2^-24 is exact in float */
        float f = (float)mant * 5.9604644775390625e-8f;
        memcpy(&bits, &f, sizeof bits);
        bits |= sign;
    } else {
        bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t fss_float_to_half(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t a = bits & 0x7fffffffu;
    if (a >= 0x7f800000u) /* inf, or NaN kept quiet with its top payload bits */
        return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x0200u | ((a >> 13) & 0x3ffu) : 0u));
    if (a >= 0x477ff000u) /* 65520 and up round to infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) {
        /* below the smallest normal half (2^-14): adding 0.5 rounds |f| to a
         * multiple of 2^-24 (the ulp of [0.5, 1)) to nearest-even; the
         * mantissa bits above 0.5's are the subnormal half's */
        float af, t;
        memcpy(&af, &a, sizeof af);
        t = af + 0.5f;
        uint32_t tb;
        memcpy(&tb, &t, sizeof tb);
        return (uint16_t)(sign | (tb - 0x3f000000u));
    }
    /* normal: rebias the exponent and round the 13 dropped bits to nearest-even */
    a += ((uint32_t)(15 - 127) << 23) + 0xfffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | (a >> 13));
}

#endif
