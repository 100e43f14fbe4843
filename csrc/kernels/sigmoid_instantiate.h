/* Compiles the sigmoid-family kernel bodies for the ISA whose vector layer
 * (isa/vec_<isa>.h and isa/vec_extra_<isa>.h) the including file has already
 * included, after instantiate.h, and defines that ISA's sigmoid kernel table. */
#include "log1p_poly.h"
#include "sigmoid_kernel_table.h"

/* Whether any lane holds a target other than exactly 0 or 1 (t (1 - t) != 0):
 * only those lanes need the general log. */
static inline int vf_m_any_soft(vf t, vf tn)
{
    return vfm_any(vf_lt(vf_set1(0.0f), vf_abs(vf_mul(t, tn))));
}
static inline int vd_m_any_soft(vd t, vd tn)
{
    return vdm_any(vd_lt(vd_set1(0.0), vd_abs(vd_mul(t, tn))));
}

/* Whether any lane is +-inf (only those vectors need the 0 * inf guard). */
static inline int vf_m_any_inf(vf x) { return vfm_any(vf_eq(vf_abs(x), vf_set1(INFINITY))); }
static inline int vd_m_any_inf(vd x) { return vdm_any(vd_eq(vd_abs(x), vd_set1(INFINITY))); }

#define T float
#define TS f32
#define V vf
#define VM vfm
#define W VF_W
#define VOP(op) vf_##op
#define ACCT vfacc
#define ACC(op) vfacc_##op
#include "sigmoid_kernels.h"
#undef T
#undef TS
#undef V
#undef VM
#undef W
#undef VOP
#undef ACCT
#undef ACC

#define T double
#define TS f64
#define V vd
#define VM vdm
#define W VD_W
#define VOP(op) vd_##op
#define ACCT vdacc
#define ACC(op) vdacc_##op
#include "sigmoid_kernels.h"
#undef T
#undef TS
#undef V
#undef VM
#undef W
#undef VOP
#undef ACCT
#undef ACC

#define FSS_SIG_FN_OF(name, ts) FSS_CAT(FSS_CAT(fss_##name##_, ts), FSS_CAT(_, FSS_ISA_SUFFIX))
#define FSS_SIG_SET_INIT(ts)                                                                 \
    {                                                                                        \
        FSS_SIG_FN_OF(row_sigmoid, ts), FSS_SIG_FN_OF(row_log_sigmoid, ts),                  \
            FSS_SIG_FN_OF(row_bce, ts), FSS_SIG_FN_OF(row_focal, ts)                         \
    }

const fss_sig_isa_kernels FSS_CAT(fss_sig_kernels_, FSS_ISA_SUFFIX) = {
    FSS_SIG_SET_INIT(f32),
    FSS_SIG_SET_INIT(f64),
};
