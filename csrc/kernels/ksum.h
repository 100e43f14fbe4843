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

#endif
