/* Compiles the kernel bodies for the ISA whose vector layer the including
 * file has already included, and defines that ISA's kernel table.
 * Usage (one translation unit per ISA, compiled with that ISA's flags):
 *     #include "isa/vec_avx2.h"
 *     #include "isa/vec_extra_avx2.h"
 *     #include "instantiate.h"            -> defines fss_kernels_avx2 */
#include <math.h>
#include <string.h>
#include "vec_common.h"
#include "exp_poly.h"
#include "log1p_poly.h"
#include "kernel_table.h"
#include "half_kernels.h"

#define T float
#define TS f32
#define V vf
#define VM vfm
#define W VF_W
#define VOP(op) vf_##op
#define ACCT vfacc
#define ACC(op) vfacc_##op
/* float terms are summed in double: the block only bounds the vector
 * accumulators' own growth */
#define FSS_SUM_BLOCK 4096
#define FSS_EXPSUM_BLOCK 4096
#define FSS_SUM_PAIRS 1
/* vectors whose exponentials the loops interleave (exp_poly.h, FSS_EXP_MAXN) */
#define FSS_EXP_STEP FSS_EXP_MAXN
/* row_maxmin finds the minimum (the float loops use it, see vf_exp_row_normal) */
#define FSS_ROW_MIN 1
/* the cross-entropy loops take unshifted terms where the row allows
 * (xent_kernels.h, term_plan) */
#define FSS_EXP_UNSHIFTED 1
/* the lane kernel sums logsumexp rows that cancel again in double itself
 * (short_row_kernels.h, short_wide_lse); double rows go to the general path */
#define FSS_SHORT_WIDE_LSE 1
#ifdef VF_TRANSPOSE
#define FSS_TRANSPOSE 1
#else
#define FSS_TRANSPOSE 0
#endif
#include "softmax_kernels.h"
#include "xent_kernels.h"
#include "softmax_row_kernels.h"
#include "xent_short_kernels.h"
#include "col_kernels.h"
#include "short_row_kernels.h"
#include "xent_lane_kernels.h"
#undef T
#undef TS
#undef V
#undef VM
#undef W
#undef VOP
#undef ACCT
#undef ACC
#undef FSS_SUM_BLOCK
#undef FSS_EXPSUM_BLOCK
#undef FSS_SUM_PAIRS
#undef FSS_ROW_MIN
#undef FSS_EXP_UNSHIFTED
#undef FSS_SHORT_WIDE_LSE
#undef FSS_TRANSPOSE
#undef FSS_EXP_STEP

#define T double
#define TS f64
#define V vd
#define VM vdm
#define W VD_W
#define VOP(op) vd_##op
#define ACCT vdacc
#define ACC(op) vdacc_##op
/* double terms are summed in double: small blocks keep each lane's partial
 * sum short (16 terms per accumulator lane), the compensated sum across
 * blocks does the rest */
#define FSS_SUM_BLOCK (32 * VD_W)
/* row_expsum compensates every lane itself: its blocks only bound the
 * lanes' growth */
#define FSS_EXPSUM_BLOCK (128 * VD_W)
#define FSS_SUM_PAIRS 0
/* four double exponentials interleaved everywhere: eight (AVX-512's float
 * step) made the compensated double loop 4% slower on Zen 5 (its degree-10
 * polynomial's chains fill the registers) */
#define FSS_EXP_STEP 4
/* the double loops keep their range test (see vd_exp_row_normal) */
#define FSS_ROW_MIN 0
#define FSS_EXP_UNSHIFTED 0
#define FSS_SHORT_WIDE_LSE 0
#ifdef VD_TRANSPOSE
#define FSS_TRANSPOSE 1
#else
#define FSS_TRANSPOSE 0
#endif
#include "softmax_kernels.h"
#include "xent_kernels.h"
#include "softmax_row_kernels.h"
#include "xent_short_kernels.h"
#include "col_kernels.h"
#include "short_row_kernels.h"
#include "xent_lane_kernels.h"
#undef T
#undef TS
#undef V
#undef VM
#undef W
#undef VOP
#undef ACCT
#undef ACC
#undef FSS_SUM_BLOCK
#undef FSS_EXPSUM_BLOCK
#undef FSS_SUM_PAIRS
#undef FSS_ROW_MIN
#undef FSS_EXP_UNSHIFTED
#undef FSS_SHORT_WIDE_LSE
#undef FSS_TRANSPOSE
#undef FSS_EXP_STEP

#define FSS_FN_OF(name, ts) FSS_CAT(FSS_CAT(fss_##name##_, ts), FSS_CAT(_, FSS_ISA_SUFFIX))
/* the column one pass's second half: float only (col_kernels.h) */
#define FSS_COL_EXPSCALE_f32 FSS_FN_OF(col_expscale, f32)
#define FSS_COL_EXPSCALE_f64 NULL
#define FSS_ROW_SOFTMAX_TERMS_WITH_f32 FSS_FN_OF(row_softmax_terms_with, f32)
#define FSS_ROW_SOFTMAX_TERMS_WITH_f64 NULL
#define FSS_SPEC_HALVES_f32 FSS_FN_OF(row_spec_start, f32), FSS_FN_OF(rows_spec_end, f32)
#define FSS_SPEC_HALVES_f64 NULL, NULL
#define FSS_SET_INIT(ts, type, width)                                                      \
    {                                                                                      \
        FSS_FN_OF(row_max, ts), FSS_FN_OF(row_maxmin, ts), FSS_FN_OF(row_expsum, ts),     \
            FSS_FN_OF(row_scale, ts), FSS_FN_OF(row_expscale, ts), FSS_FN_OF(row_logsub, ts), \
            FSS_FN_OF(row_logsub_stream, ts), FSS_FN_OF(row_scaleto_stream, ts),           \
            FSS_FN_OF(stream_fence, ts), FSS_FN_OF(row_softmax, ts),                       \
            FSS_FN_OF(row_softmax_terms, ts), FSS_ROW_SOFTMAX_TERMS_WITH_##ts,             \
            FSS_FN_OF(col_stats, ts), FSS_FN_OF(col_scale, ts), FSS_COL_EXPSCALE_##ts,        \
            FSS_FN_OF(col_logsub, ts),                                                     \
            FSS_COL_MAX(type),                                                             \
            FSS_FN_OF(row_sumexp_c, ts), FSS_FN_OF(row_xent_terms, ts), FSS_FN_OF(row_sums_and_logsub, ts), FSS_SPEC_HALVES_##ts, FSS_FN_OF(row_gapdot, ts),                        \
            FSS_FN_OF(row_scalesub, ts), FSS_FN_OF(row_multo, ts),                         \
            FSS_FN_OF(rows_max, ts), FSS_FN_OF(rows_sumexp_c, ts),                         \
            FSS_FN_OF(rows_xent_sums, ts), FSS_FN_OF(rows_xent_scale, ts),                 \
            FSS_FN_OF(row_short, ts), FSS_FN_OF(rows_short, ts),                          \
            { FSS_SHORT_MAX(width), FSS_SHORT_MAX_LSM(width), FSS_SHORT_MAX_LSE(width) }, (width), \
            FSS_FN_OF(log1p_rows, ts)                                                      \
    }

/* The drivers' log1p(rest), a group of rows at a time. Float rows: a
 * vector of rows at once (vd_log1p_nonneg, max 0.88 ULP of double, far
 * below a float's); libm's log1p, one call a row, was 10% of logsumexp of
 * (1024, 1000) float32 and 8% of its cross-entropy loss and gradient on Zen
 * 5. Double rows keep libm's log1p: their results need its last bits. */
static void FSS_CAT(fss_log1p_rows_f32_, FSS_ISA_SUFFIX)(const double *y, int n, double *out)
{
    for (int i = 0; i < n; i += VD_W)
        vd_store_part(out + i, vd_log1p_nonneg(vd_load_part(y + i, n - i, 0.0)), n - i);
}

static void FSS_CAT(fss_log1p_rows_f64_, FSS_ISA_SUFFIX)(const double *y, int n, double *out)
{
    for (int i = 0; i < n; ++i)
        out[i] = log1p(y[i]);
}

const fss_isa_kernels FSS_CAT(fss_kernels_, FSS_ISA_SUFFIX) = {
    FSS_CAT_STR(FSS_ISA_SUFFIX),
    FSS_SET_INIT(f32, float, VF_W),
    FSS_SET_INIT(f64, double, VD_W),
    FSS_CAT(fss_half_to_float_, FSS_ISA_SUFFIX),
    FSS_CAT(fss_float_to_half_, FSS_ISA_SUFFIX),
};
