/* float16 rows in and out of float, for the drivers that compute float16 in
 * float32 (converted on load, rounded once on store: the same values as
 * NumPy's astype on both sides, without array-sized temporaries). Written
 * once against the vector layer's vf_load_half / vf_store_half (F16C on x86,
 * the conversion instructions on NEON, exact C in the scalar flavour); the
 * tails use the C conversion, which rounds the same way. */
#include "half_convert.h"

#define FSS_HFN(name) FSS_CAT(FSS_CAT(fss_, name), FSS_CAT(_, FSS_ISA_SUFFIX))

static void FSS_HFN(half_to_float)(const uint16_t *restrict h, int64_t n, float *restrict f)
{
    int64_t i = 0;
    for (; i + VF_W <= n; i += VF_W)
        vf_storeu(f + i, vf_load_half(h + i));
    for (; i < n; ++i)
        f[i] = fss_half_to_float(h[i]);
}

static void FSS_HFN(float_to_half)(const float *restrict f, int64_t n, uint16_t *restrict h)
{
    int64_t i = 0;
    for (; i + VF_W <= n; i += VF_W)
        vf_store_half(h + i, vf_loadu(f + i));
    for (; i < n; ++i)
        h[i] = fss_float_to_half(f[i]);
}

#undef FSS_HFN
