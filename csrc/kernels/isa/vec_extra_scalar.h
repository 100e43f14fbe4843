/* Extra vector operations (the sigmoid family, the short-row log1p), scalar flavour (see
 * vec_extra_avx2.h for what each one means). Kept apart from vec_scalar.h so
 * the softmax layer stays as it is. */
#ifndef FSS_VEC_EXTRA_SCALAR_H
#define FSS_VEC_EXTRA_SCALAR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline vf vf_div(vf a, vf b) { return a / b; }
static inline vf vf_abs(vf a) { return fabsf(a); }
static inline vf vf_select(vfm m, vf a, vf b) { return m ? a : b; }
static inline vf vf_frexp1(vf x, vf *k)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    *k = (float)((int32_t)(b >> 23) - 127);
    b = (b & 0x007fffffu) | 0x3f800000u;
    float m;
    memcpy(&m, &b, sizeof m);
    return m;
}

static inline vd vd_div(vd a, vd b) { return a / b; }
static inline vd vd_abs(vd a) { return fabs(a); }
static inline vd vd_select(vdm m, vd a, vd b) { return m ? a : b; }
static inline vd vd_frexp1(vd x, vd *k)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    *k = (double)((int64_t)(b >> 52) - 1023);
    b = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &b, sizeof m);
    return m;
}

/* No streaming store here: plain stores (FSS_HAVE_STREAM stays 0). */
#define FSS_HAVE_STREAM 0
static inline void vf_stream(float *p, vf v) { *p = v; }
static inline void vd_stream(double *p, vd v) { *p = v; }
static inline void fss_stream_fence(void) {}

#endif
