/* Loss totals with the same bits for any thread count.
 *
 * A call's units (rows, or elements) are cut into blocks whose length depends
 * on the number of units alone, at most FSS_LOSS_BLOCKS of them. A block's
 * terms are added in unit order by the one thread that holds it, and the
 * block sums are added in block order, compensated (fss_ksum). Threads take
 * whole blocks, so neither the size of the team nor its schedule moves a
 * rounding: num_threads=1 and num_threads=16 give the same total, and so do
 * two runs of one call. The per-thread sums added in thread order that this
 * replaced changed in the last bits with the size of the team, and OpenMP's
 * reduction clause (the softmax focal loss) with the schedule too. */
#ifndef FSS_LOSS_TOTAL_H
#define FSS_LOSS_TOTAL_H

#include <math.h>
#include <stdint.h>

#include "../kernels/ksum.h"

/* At most this many blocks: a stack array of their sums, and enough blocks
 * for a team of any size this library starts to share them evenly. */
#define FSS_LOSS_BLOCKS 256

/* Elements a block holds at least (rounded to whole rows): less work than
 * this per block is not worth a thread (threads.h asks 32768 each), and a
 * block costs a kernel call or a compensated add. */
#define FSS_LOSS_MIN_BLOCK 4096

typedef struct {
    int64_t units; /* rows or elements in all */
    int64_t len;   /* units per block, a multiple of the alignment (the last block may be shorter) */
    int64_t count; /* blocks */
} fss_loss_blocks;

/* Blocks of at least min_len units, a multiple of align (elementwise
 * kernels read whole vectors from a block's start, and a call per block of
 * a few elements would cost more than the block's work). */
static inline fss_loss_blocks fss_loss_blocks_for(int64_t units, int64_t align, int64_t min_len)
{
    int64_t len = (units + FSS_LOSS_BLOCKS - 1) / FSS_LOSS_BLOCKS;
    len = len < min_len ? min_len : len;
    len = (len + align - 1) / align * align;
    const fss_loss_blocks b = { units, len, units > 0 ? (units + len - 1) / len : 0 };
    return b;
}

/* Units [*lo, *hi) of member t of a team of `team`: whole blocks. */
static inline void fss_loss_blocks_share(fss_loss_blocks b, int64_t t, int64_t team, int64_t *lo, int64_t *hi)
{
    const int64_t e0 = b.count * t / team * b.len, e1 = b.count * (t + 1) / team * b.len;
    *lo = e0 < b.units ? e0 : b.units;
    *hi = e1 < b.units ? e1 : b.units;
}

/* Whether unit u (counted from 0) ends its block. */
static inline int fss_loss_block_ends(fss_loss_blocks b, int64_t u) { return (u + 1) % b.len == 0 || u + 1 == b.units; }

/* The block sums added in block order. A non-finite sum (an infinite or NaN
 * loss) is returned as the plain sum gives it: the compensation of an
 * infinity is NaN. */
static inline double fss_loss_blocks_total(const double *sums, int64_t count)
{
    fss_ksum k = { 0.0, 0.0 };
    double plain = 0.0;
    for (int64_t i = 0; i < count; ++i) {
        fss_ksum_add(&k, sums[i]);
        plain += sums[i];
    }
    return isfinite(plain) ? fss_ksum_value(&k) : plain;
}

#endif
