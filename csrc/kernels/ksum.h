/* Neumaier's compensated sum, shared by the kernels (block sums) and the
 * drivers (chunk sums): no vector types, so any translation unit can use it. */
#ifndef FSS_KSUM_H
#define FSS_KSUM_H

#include <math.h>

typedef struct { double sum, comp; } fss_ksum;
static inline void fss_ksum_add(fss_ksum *k, double v)
{
    const double t = k->sum + v;
    if (fabs(k->sum) >= fabs(v))
        k->comp += (k->sum - t) + v;
    else
        k->comp += (v - t) + k->sum;
    k->sum = t;
}
static inline double fss_ksum_value(const fss_ksum *k) { return k->sum + k->comp; }

/* 1/s as hi + lo (lo from the exact residual 1 - s*hi): scaling by both,
 * y*hi + y*lo with one rounding, multiplies by 1/s within half an ULP of
 * the result, where y*(1/s rounded) can be off by a whole ULP. */
static inline void fss_recip_split(double s, double *hi, double *lo)
{
    const double inv = 1.0 / s;
    *hi = inv;
    *lo = fma(-s, inv, 1.0) * inv;
}
/* The same as a pair of the element type (TS = f32, f64) */
static inline void fss_recip_split_f64(double s, double *hi, double *lo) { fss_recip_split(s, hi, lo); }
static inline void fss_recip_split_f32(double s, float *hi, float *lo)
{
    double h, l;
    fss_recip_split(s, &h, &l);
    *hi = (float)h;
    *lo = (float)((h - (double)*hi) + l);
}

#endif
