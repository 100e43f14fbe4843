/* Pieces shared by every vector flavour, defined on top of the ISA layer that
 * the including translation unit chose (kernels/isa/vec_*.h). */
#ifndef FSS_VEC_COMMON_H
#define FSS_VEC_COMMON_H

#include <math.h>
#include <stdint.h>

#define FSS_CAT_(a, b) a##b
#define FSS_CAT(a, b) FSS_CAT_(a, b)
#define FSS_STR_(a) #a
#define FSS_CAT_STR(a) FSS_STR_(a)

/* For the rare paths of hot loops (an exp lane below the normal range): kept
 * out of line so their constants do not take registers from the loop. */
#if defined(__GNUC__)
#define FSS_COLD __attribute__((noinline, cold))
#elif defined(_MSC_VER)
#define FSS_COLD __declspec(noinline)
#else
#define FSS_COLD
#endif

/* For a path a kernel takes now and then (the lane kernel's cancelling
 * logsumexp rows): out of line like FSS_COLD, but compiled for speed; GCC
 * compiles a cold function for size, which kept that path's accumulators
 * in memory and made it take twice as long. */
#if defined(__GNUC__)
#define FSS_OUTLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define FSS_OUTLINE __declspec(noinline)
#else
#define FSS_OUTLINE
#endif

/* For a loop body written once and called with a constant flag (a check the
 * caller has shown unneeded): inlined at each call so the flag folds away. */
#if defined(__GNUC__)
#define FSS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FSS_INLINE __forceinline
#else
#define FSS_INLINE inline
#endif

/* Software prefetch of the cache line holding p into every level (a hint:
 * it never faults, so p may lie past the end of an array). These and their
 * callers are always inlined: GCC counts a function whose only effect is a
 * prefetch as free of side effects and deletes the calls to it, which it
 * did to every prefetch of row_sumexp_c once that function grew past its
 * early-inlining limit. */
#if defined(__GNUC__) || defined(__clang__)
static FSS_INLINE void fss_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
#else
static FSS_INLINE void fss_prefetch(const void *p) { (void)p; }
#endif

/* For a loop that steps `span` bytes at a time: prefetch the lines of bytes
 * [off, off + span) of p. A step shorter than a line issues one only when it
 * starts a line (counted from p), so each line is asked for once. */
static FSS_INLINE void fss_prefetch_step(const void *p, int64_t off, int64_t span)
{
    if (span < 64) {
        if ((off & 63) < span)
            fss_prefetch((const char *)p + off);
        return;
    }
    for (int64_t b = 0; b < span; b += 64)
        fss_prefetch((const char *)p + off + b);
}

/* Double kernels accumulate in their own type; float kernels widen to double
 * (vfacc, per ISA). Both expose the same accumulator interface. */
typedef vd vdacc;
static inline vdacc vdacc_zero(void) { return vd_set1(0.0); }
static inline vdacc vdacc_add(vdacc acc, vd v) { return vd_add(acc, v); }
static inline vdacc vdacc_merge(vdacc a, vdacc b) { return vd_add(a, b); }
static inline double vdacc_hsum(vdacc a) { return vd_hsum(a); }
static inline void vdacc_store(double *p, vdacc a) { vd_storeu(p, a); }
/* Lane-wise compensated add of a non-negative block sum v into (*s, *c):
 * Fast2Sum on (max, min), so no branch. Column kernels use it between blocks
 * so a long strided column sums as accurately as a contiguous row. */
static inline void vdacc_kadd(vdacc *s, vdacc *c, vdacc v)
{
    const vd t = vd_add(*s, v);
    *c = vd_add(*c, vd_add(vd_sub(vd_max(*s, v), t), vd_min(*s, v)));
    *s = t;
}
/* Float terms summed in double already carry 29 spare bits: a plain add. */
static inline void vfacc_kadd(vfacc *s, vfacc *c, vfacc v)
{
    (void)c;
    *s = vfacc_merge(*s, v);
}

#include "ksum.h"

#endif
