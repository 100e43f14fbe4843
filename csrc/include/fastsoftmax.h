/* fastsoftmax C API: what the Python binding calls. C only, no Python headers.
 *
 * Arrays are described as strided 3-D views: (outer, inner) index the
 * independent rows, "red" is the reduced axis. Strides are in elements and may
 * be negative; sizes and strides are int64_t, so views over 2^31 elements work. */
#ifndef FASTSOFTMAX_H
#define FASTSOFTMAX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FSS_SOFTMAX = 0, FSS_LOG_SOFTMAX = 1, FSS_LOGSUMEXP = 2 } fss_op;
/* FSS_FLOAT16: IEEE binary16 as uint16_t, softmax family only (computed in float32) */
typedef enum { FSS_FLOAT32 = 0, FSS_FLOAT64 = 1, FSS_FLOAT16 = 2 } fss_dtype;

typedef struct {
    int64_t n_outer, n_inner, n_red;
} fss_shape3;

typedef struct {
    void *data;                        /* address of element (0, 0, 0) */
    int64_t s_outer, s_inner, s_red;   /* strides in elements */
} fss_view3;

enum { FSS_OK = 0, FSS_ERR_NOMEM = -1, FSS_ERR_ARG = -2 };

/* softmax / log_softmax write y with x's shape; logsumexp writes y of shape
 * (outer, inner) and ignores y.s_red. y may be x (in place). temperature
 * (finite, > 0; 1 for none): the result is that of x / temperature, each
 * element divided in x's precision, with no array-sized temporary. num_threads <= 0
 * means the OpenMP default (OMP_NUM_THREADS, threadpoolctl). Returns FSS_OK or
 * an FSS_ERR_* code. Safe to call without the GIL, from several threads. */
int fss_softmax_family(fss_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 x, fss_view3 y,
                       double temperature, int num_threads);

/* fss_softmax_family with a causal mask, as torch.tril / PyTorch's
 * scaled_dot_product_attention(is_causal=True): the (outer x inner) rows,
 * numbered row-major (r = outer * n_inner + inner), are query rows of blocks
 * of causal_L; row r is query i = r mod causal_L and takes part only with its
 * first min(i + 1, n_red) elements. The others get 0 (softmax) or -inf
 * (log_softmax) and stay out of the sum; the result is bit for bit that of
 * the same call on x with those elements set to -inf. causal_L = 0: no mask
 * (fss_softmax_family); otherwise n_outer * n_inner must be a multiple of
 * causal_L (else FSS_ERR_ARG). */
int fss_softmax_family_causal(fss_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 x, fss_view3 y,
                              double temperature, int64_t causal_L, int num_threads);

/* exp(x) for x <= 0 with the active kernel set's polynomial (for accuracy
 * tests of the exp itself). */
int fss_exp_nonpos(fss_dtype dtype, const void *x, int64_t n, void *y);

/* n contiguous float16 values (as uint16_t) to float, or float to float16
 * (to_half != 0), with the active kernel set's conversion (for tests). */
int fss_half_convert(int to_half, const void *src, int64_t n, void *dst);

/* ---- runtime ---------------------------------------------------------- */
/* fss_runtime_init: call once at load (registers the fork handler that makes
 * a forked child run serially; see driver/threads.c). */
void fss_runtime_init(void);
int fss_in_forked_child(void);
/* Name of the kernel set in use ("scalar", "avx2", "avx512", "neon"). */
const char *fss_isa_current(void);
/* Kernel sets compiled into this build, best last; returns how many. */
int fss_isa_compiled(const char **names, int capacity);
/* 1 when this CPU and OS can run the named kernel set. */
int fss_isa_supported(const char *name);
/* Switch to the named kernel set, or the best supported one for NULL or "".
 * Returns 0, -1 for an unknown name, -2 for one this CPU cannot run. */
int fss_isa_select(const char *name);

int fss_openmp_enabled(void);
/* e.g. "libgomp (OpenMP 201511)"; "none" without OpenMP. */
const char *fss_openmp_description(void);
/* Threads a call with num_threads=None would be allowed to use. */
int fss_default_threads(void);

/* ---- cross-entropy (driver/xent_driver.c) ---------------------------- */
/* One call computes, for n_rows rows of n_classes logits (classes contiguous,
 * rows x_row_stride elements apart), PyTorch's cross-entropy of softmax(x / T)
 * and optionally its gradient with respect to x. Pointers marked "or NULL"
 * are optional. All float arrays have the dtype `dtype`, except
 * sample_weight (double).
 *   hard targets: target (int64, n_rows), soft_target NULL; a row whose label
 *                 equals ignore_index gets loss 0 and gradient 0. Labels must
 *                 already be checked to lie in [0, n_classes) or be ignore_index.
 *   soft targets: soft_target (n_rows x n_classes, row stride q_row_stride),
 *                 target NULL; label smoothing turns q into (1 - eps) q + eps/C.
 * Row loss  l_i = sample_weight_i * ((1 - eps) w_t (lse - z_t) + eps/C sum_j w_j (lse - z_j))
 *           (hard) or sample_weight_i * sum_j q_j w_j (lse - z_j) (soft, q smoothed), with
 *           z = x / T, lse computed as m + log1p(rest) so small losses keep
 *           their relative precision.
 * loss_rows (or NULL) receives l_i; *loss_sum (or NULL) receives sum_i l_i
 * (accumulated in double). grad (or NULL; may be logits itself) receives
 * grad_scale * d l_i / d x. Returns FSS_OK or an FSS_ERR_* code. */
typedef struct {
    fss_dtype dtype;
    int64_t n_rows, n_classes;
    const void *logits;
    int64_t x_row_stride;
    const int64_t *target;        /* or NULL */
    const void *soft_target;      /* or NULL */
    int64_t q_row_stride;
    const void *weight;           /* n_classes class weights, or NULL */
    double weight_sum;            /* sum of weight (n_classes when weight is NULL) */
    const double *sample_weight;  /* n_rows, or NULL */
    int64_t ignore_index;
    double label_smoothing;       /* eps in [0, 1] */
    double temperature;           /* > 0 */
    double grad_scale;
    void *loss_rows;              /* n_rows, or NULL */
    void *grad;                   /* or NULL; may be logits */
    int64_t grad_row_stride;
} fss_xent_args;

int fss_cross_entropy(const fss_xent_args *args, double *loss_sum, int num_threads);

/* ---- checks on targets and weights (driver/xent_checks.c) ------------ */
/* The check fss_cross_entropy and fss_softmax_focal_loss need done first:
 * every label in [0, n_classes) or equal to ignore_index. Reads the labels
 * and weights only, writes nothing but *out:
 *   first_bad:    index of the first label that is neither (the scan stops
 *                 there; the other fields are then 0), or -1;
 *   n_ignored:    labels equal to ignore_index;
 *   weight_total: the "mean" denominator: the sum over the other rows of
 *                 weight[label] * sample_weight[i] (either 1 where NULL),
 *                 compensated, in double; n - n_ignored without weights.
 * target_unsigned: target holds uint64 values (a value from 2^63 up is out
 * of range, never ignore_index). target NULL (soft targets): no labels to
 * check, weight_total = the sum of sample_weight (n without it). */
typedef struct {
    const int64_t *target;        /* n labels, or NULL */
    int64_t n, n_classes;
    int target_unsigned;
    int64_t ignore_index;
    fss_dtype weight_dtype;       /* FSS_FLOAT32 or FSS_FLOAT64 */
    const void *weight;           /* n_classes class weights, or NULL */
    const double *sample_weight;  /* n, or NULL */
} fss_label_args;

typedef struct {
    int64_t first_bad, n_ignored;
    double weight_total;
} fss_label_stats;

int fss_check_labels(const fss_label_args *args, fss_label_stats *out);

/* Index of the first of n values that is NaN, infinite or negative, or -1
 * (class and sample weights must be finite and non-negative). */
int64_t fss_first_bad_weight(const double *v, int64_t n);

/* ---- sigmoid family (driver/sigmoid_driver.c) ------------------------ */
typedef enum { FSS_SIGMOID = 0, FSS_LOG_SIGMOID = 1 } fss_sig_op;

/* y = sigmoid(x) or log_sigmoid(x) over n contiguous elements; y may be x. */
int fss_sigmoid_map(fss_sig_op op, fss_dtype dtype, const void *x, int64_t n, void *y,
                    int num_threads);

/* Binary cross-entropy with logits (PyTorch's definition) and torchvision's
 * sigmoid focal loss, elementwise over n contiguous elements viewed as rows of
 * n_last (n % n_last == 0). All float arrays have the dtype `dtype`.
 *   weight:     n elements (weight_per_row 0) or n_last repeated per row
 *               (weight_per_row 1), or NULL; BCE only.
 *   pos_weight: n_last elements repeated per row, or NULL; BCE only.
 *   label_smoothing in [0, 1]: the target becomes t (1 - ls) + ls / 2; BCE only.
 *   alpha, gamma (>= 0): focal only (alpha < 0: no alpha weighting).
 * loss (or NULL) receives the elementwise losses, *loss_sum (or NULL) their
 * sum (accumulated in double), grad (or NULL; may be logits) grad_scale times
 * d loss / d logits. */
typedef struct {
    fss_dtype dtype;
    int64_t n, n_last;
    const void *logits;
    const void *target;
    const void *weight;           /* or NULL */
    int weight_per_row;
    const void *pos_weight;       /* or NULL */
    double label_smoothing;
    double alpha, gamma;
    double grad_scale;
    void *loss;                   /* or NULL */
    void *grad;                   /* or NULL; may be logits */
} fss_bce_args;

int fss_bce_with_logits(const fss_bce_args *args, double *loss_sum, int num_threads);
int fss_sigmoid_focal(const fss_bce_args *args, double *loss_sum, int num_threads);
/* ---- backward passes (driver/backward_driver.c) ---------------------- */
/* Vector-Jacobian products of softmax and log_softmax along the reduced axis:
 *   FSS_SOFTMAX_BACKWARD:      grad_input = y * (g - sum(g * y))
 *   FSS_LOG_SOFTMAX_BACKWARD:  grad_input = g - exp(y) * sum(g)
 * with g = grad_output and y = the forward output (probabilities, or
 * log-probabilities). The three views share `shape`; grad_input may be
 * grad_output or output (same view). The sums are taken in double (float)
 * or compensated (double). Returns FSS_OK or an FSS_ERR_* code. */
typedef enum { FSS_SOFTMAX_BACKWARD = 0, FSS_LOG_SOFTMAX_BACKWARD = 1 } fss_bwd_op;
int fss_softmax_backward(fss_bwd_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 grad_output,
                         fss_view3 output, fss_view3 grad_input, int num_threads);

/* ---- softmax focal loss (driver/focal_driver.c) ---------------------- */
/* Per row of n_classes logits (classes contiguous, rows x_row_stride apart)
 * with class target t (int64, already checked to lie in [0, n_classes) or
 * equal ignore_index):
 *   l_i = weight_t * alpha_t * (1 - p_t)^gamma * (-log p_t),  p = softmax(row)
 * alpha_t = alpha[t] (alpha non-NULL) or alpha_scalar; weight NULL means 1.
 * Ignored rows give loss 0 and gradient 0. loss_rows (or NULL) receives l_i,
 * *loss_sum (or NULL) sum_i l_i; grad (or NULL; may be logits) receives
 * grad_scale * d l_i / d logits. gamma must be finite and >= 0. */
typedef struct {
    fss_dtype dtype;
    int64_t n_rows, n_classes;
    const void *logits;
    int64_t x_row_stride;
    const int64_t *target;
    const double *alpha;          /* n_classes, or NULL (alpha_scalar) */
    double alpha_scalar;
    const double *weight;         /* n_classes, or NULL */
    int64_t ignore_index;
    double gamma;
    double grad_scale;
    void *loss_rows;              /* n_rows, or NULL */
    void *grad;                   /* or NULL; may be logits */
    int64_t grad_row_stride;
} fss_focal_args;

int fss_softmax_focal_loss(const fss_focal_args *args, double *loss_sum, int num_threads);

#ifdef __cplusplus
}
#endif

#endif
