/* The sigmoid-family kernel bodies (sigmoid, log_sigmoid, binary
 * cross-entropy with logits, sigmoid focal loss), written once against the
 * vector layer. Included by sigmoid_instantiate.h twice per ISA, with the same
 * float / double bindings (T, TS, V, VM, W, VOP, ACCT, ACC) as the softmax
 * kernels.
 *
 * Everything is built from e = exp(-|x|) in (0, 1], which never overflows:
 *   sigma(|x|) = 1 / (1 + e),  sigma(-|x|) = e / (1 + e),
 *   log sigma(x) = min(x, 0) - log1p(e),  log sigma(-x) = min(-x, 0) - log1p(e).
 * Both logs are sums of two non-positive terms, so they keep full relative
 * precision in both tails (log sigma(x) ~ -e for large x), and losses built
 * from them as sums of non-negative terms do too. */

#define FSS_SFN(name) FSS_CAT(FSS_CAT(fss_##name##_, TS), FSS_CAT(_, FSS_ISA_SUFFIX))

/* The shared per-element pieces of a vector of logits. */
typedef struct {
    V sp, sn;   /* sigma(x), sigma(-x) */
    V lsp, lsn; /* log sigma(x), log sigma(-x) */
} FSS_SFN(sig_parts);

static inline FSS_SFN(sig_parts) FSS_SFN(sig_parts_of)(V x)
{
    FSS_SFN(sig_parts) p;
    const V zero = VOP(set1)((T)0);
    const V one = VOP(set1)((T)1);
    const V e = VOP(exp_nonpos)(VOP(sub)(zero, VOP(abs)(x)));
    const V u = VOP(add)(one, e);
    const V r = VOP(div)(one, u);
    const V L = VOP(log1p_unit_fast)(e, u, r);
    const V er = VOP(mul)(e, r);
    const VM neg = VOP(lt)(x, zero);
    p.sp = VOP(select)(neg, er, r);
    p.sn = VOP(select)(neg, r, er);
    p.lsp = VOP(sub)(VOP(min)(x, zero), L);
    p.lsn = VOP(sub)(VOP(min)(VOP(sub)(zero, x), zero), L);
    return p;
}

/* 1 / (1 + e) for x >= 0, e / (1 + e) below, one division either way: e
 * times the reciprocal rounded twice, which with the polynomial exponential
 * (0.99 ULP: the scalar and NEON kernels) reached 2.754 ULP at x =
 * -2.726607, over the 2.75 bound (tests/test_sigmoid.py) */
static inline V FSS_SFN(sigmoid_vec)(V x)
{
    const V zero = VOP(set1)((T)0);
    const V one = VOP(set1)((T)1);
    const V e = VOP(exp_nonpos)(VOP(sub)(zero, VOP(abs)(x)));
    return VOP(div)(VOP(select)(VOP(lt)(x, zero), e, one), VOP(add)(one, e));
}

static inline V FSS_SFN(log_sigmoid_vec)(V x)
{
    const V zero = VOP(set1)((T)0);
    const V e = VOP(exp_nonpos)(VOP(sub)(zero, VOP(abs)(x)));
    return VOP(sub)(VOP(min)(x, zero), VOP(log1p_unit)(e));
}

/* c * l with the limit 0 * (-inf) = 0: a term whose coefficient is zero does
 * not contribute, so an infinite logit on the right side of a hard target
 * gives loss 0 instead of NaN. */
static inline V FSS_SFN(coef_mul)(V c, V l)
{
    return VOP(zero_where)(VOP(eq)(c, VOP(set1)((T)0)), VOP(mul)(c, l));
}

static void FSS_SFN(row_sigmoid)(const T *x, int64_t n, T *y)
{
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V a = FSS_SFN(sigmoid_vec)(VOP(loadu)(x + i));
        const V b = FSS_SFN(sigmoid_vec)(VOP(loadu)(x + i + W));
        VOP(storeu)(y + i, a);
        VOP(storeu)(y + i + W, b);
    }
    for (; i < n; i += W)
        VOP(store_part)(y + i, FSS_SFN(sigmoid_vec)(VOP(load_part)(x + i, n - i, (T)0)), n - i);
}

static void FSS_SFN(row_log_sigmoid)(const T *x, int64_t n, T *y)
{
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const V a = FSS_SFN(log_sigmoid_vec)(VOP(loadu)(x + i));
        const V b = FSS_SFN(log_sigmoid_vec)(VOP(loadu)(x + i + W));
        VOP(storeu)(y + i, a);
        VOP(storeu)(y + i + W, b);
    }
    for (; i < n; i += W)
        VOP(store_part)(y + i, FSS_SFN(log_sigmoid_vec)(VOP(load_part)(x + i, n - i, (T)0)), n - i);
}

/* One vector of binary cross-entropy with logits (PyTorch's definition):
 *   loss = -w (p t log sigma(x) + (1 - t) log sigma(-x))
 *   grad = w (( 1 - t) sigma(x) - p t sigma(-x))
 * t already label-smoothed; p = pos_weight, w = weight (both ignored, i.e. 1,
 * unless `weighted`: callers pass a constant, so inlining drops the unused
 * arithmetic). The 0 * (-inf) guard only runs for vectors holding an infinite
 * logit. */
static inline void FSS_SFN(bce_vec)(V x, V t, V w, V pw, int weighted, V *loss, V *grad)
{
    const FSS_SFN(sig_parts) s = FSS_SFN(sig_parts_of)(x);
    const V zero = VOP(set1)((T)0);
    const V tn = VOP(sub)(VOP(set1)((T)1), t);
    const V tp = weighted ? VOP(mul)(pw, t) : t;
    V l;
    if (VOP(m_any_inf)(x))
        l = VOP(add)(FSS_SFN(coef_mul)(tp, s.lsp), FSS_SFN(coef_mul)(tn, s.lsn));
    else
        l = VOP(fmadd)(tp, s.lsp, VOP(mul)(tn, s.lsn));
    const V g = VOP(sub)(VOP(mul)(tn, s.sp), VOP(mul)(tp, s.sn));
    *loss = weighted ? VOP(mul)(VOP(sub)(zero, w), l) : VOP(sub)(zero, l);
    *grad = weighted ? VOP(mul)(w, g) : g;
}

/* Sum of the losses (double); loss (or NULL) gets them, grad (or NULL, may be
 * x) gets scale * d loss / d x. w, pw (or NULL): per-element weight and
 * pos_weight, n each. Without weights, two vectors per step: the chain
 * exp -> log1p is long, and two independent ones keep the FP units busier.
 * The tail goes through zero-padded stack buffers and only its real lanes are
 * summed. */
static double FSS_SFN(row_bce)(const T *x, const T *t, int64_t n, const T *w, const T *pw, T ls,
                               T scale, T *loss, T *grad)
{
    const V keep = VOP(set1)((T)1 - ls), half_ls = VOP(set1)((T)0.5 * ls);
    const V one = VOP(set1)((T)1), vscale = VOP(set1)(scale);
    ACCT acc = ACC(zero)();
    int64_t i = 0;
    if (w == NULL && pw == NULL) {
        for (; i + 2 * W <= n; i += 2 * W) {
            V t0 = VOP(loadu)(t + i), t1 = VOP(loadu)(t + i + W);
            if (ls != (T)0) {
                t0 = VOP(fmadd)(t0, keep, half_ls);
                t1 = VOP(fmadd)(t1, keep, half_ls);
            }
            V l0, g0, l1, g1;
            FSS_SFN(bce_vec)(VOP(loadu)(x + i), t0, one, one, 0, &l0, &g0);
            FSS_SFN(bce_vec)(VOP(loadu)(x + i + W), t1, one, one, 0, &l1, &g1);
            /* one widening per pair: the two losses summed in float first
             * (terms of one sign for targets in [0, 1]: one more rounding
             * of at most u relative; the widening costs more than the add) */
            acc = ACC(add)(acc, VOP(add)(l0, l1));
            if (loss != NULL) {
                VOP(storeu)(loss + i, l0);
                VOP(storeu)(loss + i + W, l1);
            }
            if (grad != NULL) {
                VOP(storeu)(grad + i, VOP(mul)(g0, vscale));
                VOP(storeu)(grad + i + W, VOP(mul)(g1, vscale));
            }
        }
    }
    for (; i + W <= n; i += W) {
        V tv = VOP(loadu)(t + i);
        if (ls != (T)0)
            tv = VOP(fmadd)(tv, keep, half_ls);
        V lv, gv;
        FSS_SFN(bce_vec)(VOP(loadu)(x + i), tv, w == NULL ? one : VOP(loadu)(w + i),
                         pw == NULL ? one : VOP(loadu)(pw + i), 1, &lv, &gv);
        acc = ACC(add)(acc, lv);
        if (loss != NULL)
            VOP(storeu)(loss + i, lv);
        if (grad != NULL)
            VOP(storeu)(grad + i, VOP(mul)(gv, vscale));
    }
    double tail = 0.0;
    if (i < n) {
        const int64_t m = n - i;
        T bx[W], bt[W], bw[W], bp[W], bl[W], bg[W];
        for (int64_t j = 0; j < W; ++j) {
            const int in = j < m;
            bx[j] = in ? x[i + j] : (T)0;
            bt[j] = in ? t[i + j] : (T)0;
            bw[j] = in && w != NULL ? w[i + j] : (T)1;
            bp[j] = in && pw != NULL ? pw[i + j] : (T)1;
        }
        V tv = VOP(loadu)(bt);
        if (ls != (T)0)
            tv = VOP(fmadd)(tv, keep, half_ls);
        V lv, gv;
        FSS_SFN(bce_vec)(VOP(loadu)(bx), tv, VOP(loadu)(bw), VOP(loadu)(bp), 1, &lv, &gv);
        VOP(storeu)(bl, lv);
        VOP(storeu)(bg, VOP(mul)(gv, vscale));
        for (int64_t j = 0; j < m; ++j) {
            tail += (double)bl[j];
            if (loss != NULL)
                loss[i + j] = bl[j];
            if (grad != NULL)
                grad[i + j] = bg[j];
        }
    }
    return ACC(hsum)(acc) + tail;
}

/* One vector of torchvision's sigmoid focal loss, in log space:
 *   q = 1 - p_t = t sigma(-x) + (1 - t) sigma(x),  log q = logaddexp(log t +
 *   log sigma(-x), log(1 - t) + log sigma(x)) (a select when every lane is a
 *   hard 0 / 1 target), ce = -(t log sigma(x) + (1 - t) log sigma(-x)),
 *   loss = a_t ce q^gamma,
 *   grad = a_t q^gamma (sigma(x) - t + gamma ce d log q / dx),
 *   d log q / dx = (1 - 2t) sigma(x) sigma(-x) / q
 *                = (1 - 2t) exp(log sigma(x) + log sigma(-x) - log q),
 * so q^gamma and its derivative stay finite where q underflows (torchvision's
 * (1 - p_t)^gamma has an infinite derivative there for gamma < 1).
 * alpha < 0 means no alpha weighting (a_t = 1), as torchvision. */
static FSS_INLINE void FSS_SFN(focal_vec)(V x, V t, T alpha, T gamma, V *loss, V *grad)
{
    const V zero = VOP(set1)((T)0), one = VOP(set1)((T)1);
    const FSS_SFN(sig_parts) s = FSS_SFN(sig_parts_of)(x);
    const V tn = VOP(sub)(one, t);
    const V ce = VOP(sub)(zero, VOP(add)(FSS_SFN(coef_mul)(t, s.lsp), FSS_SFN(coef_mul)(tn, s.lsn)));
    const V dce = VOP(sub)(VOP(mul)(tn, s.sp), VOP(mul)(t, s.sn));
    V logq, dlogq;
    if (!VOP(m_any_soft)(t, tn)) {
        const VM pos = VOP(eq)(t, one);
        logq = VOP(select)(pos, s.lsn, s.lsp);
        dlogq = VOP(select)(pos, VOP(sub)(zero, s.sp), s.sn);
    } else {
        const V a = VOP(add)(VOP(log_pos)(t), s.lsn);
        const V b = VOP(add)(VOP(log_pos)(tn), s.lsp);
        const V hi = VOP(max)(a, b), lo = VOP(min)(a, b);
        logq = VOP(add)(hi, VOP(log1p_unit)(VOP(exp_nonpos)(VOP(sub)(lo, hi))));
        logq = VOP(select)(VOP(eq)(a, a), VOP(select)(VOP(eq)(b, b), logq, b), a);
        const V g = VOP(exp_nonpos)(VOP(min)(VOP(sub)(VOP(add)(s.lsp, s.lsn), logq), zero));
        dlogq = VOP(mul)(VOP(sub)(one, VOP(add)(t, t)), g);
    }
    const V mod = gamma == (T)0 ? one : VOP(exp_nonpos)(VOP(mul)(VOP(set1)(gamma), logq));
    const V at = alpha < (T)0 ? one : VOP(fmadd)(VOP(set1)(alpha), t, VOP(mul)(VOP(set1)((T)1 - alpha), tn));
    const V amod = VOP(mul)(at, mod);
    *loss = VOP(mul)(amod, ce);
    /* ce * dlogq first: ce may be near overflow where dlogq is 0 */
    const V gl = gamma == (T)0 ? dce : VOP(fmadd)(VOP(set1)(gamma), VOP(mul)(ce, dlogq), dce);
    *grad = VOP(mul)(amod, gl);
}

static double FSS_SFN(row_focal)(const T *x, const T *t, int64_t n, T alpha, T gamma, T scale,
                                 T *loss, T *grad)
{
    const V vscale = VOP(set1)(scale);
    ACCT acc = ACC(zero)();
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        V lv, gv;
        FSS_SFN(focal_vec)(VOP(loadu)(x + i), VOP(loadu)(t + i), alpha, gamma, &lv, &gv);
        acc = ACC(add)(acc, lv);
        if (loss != NULL)
            VOP(storeu)(loss + i, lv);
        if (grad != NULL)
            VOP(storeu)(grad + i, VOP(mul)(gv, vscale));
    }
    double tail = 0.0;
    if (i < n) {
        const int64_t m = n - i;
        T bx[W], bt[W], bl[W], bg[W];
        for (int64_t j = 0; j < W; ++j) {
            bx[j] = j < m ? x[i + j] : (T)0;
            bt[j] = j < m ? t[i + j] : (T)0;
        }
        V lv, gv;
        FSS_SFN(focal_vec)(VOP(loadu)(bx), VOP(loadu)(bt), alpha, gamma, &lv, &gv);
        VOP(storeu)(bl, lv);
        VOP(storeu)(bg, VOP(mul)(gv, vscale));
        for (int64_t j = 0; j < m; ++j) {
            tail += (double)bl[j];
            if (loss != NULL)
                loss[i + j] = bl[j];
            if (grad != NULL)
                grad[i + j] = bg[j];
        }
    }
    return ACC(hsum)(acc) + tail;
}

#undef FSS_SFN
