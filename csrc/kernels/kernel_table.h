/* The per-ISA kernel table: every ISA translation unit (kernels_<isa>.c)
 * fills one fss_isa_kernels with its own compilation of the kernel bodies;
 * dispatch/ picks one at import. The drivers only ever call through this. */
#ifndef FSS_KERNEL_TABLE_H
#define FSS_KERNEL_TABLE_H

#include <stdint.h>

/* Column kernels handle panels of up to 4 KiB per row (1024 floats, 512
 * doubles; a whole number of vectors on every flavour): every row of a panel
 * is on its own page, so a wider panel walks the pages of the strided axis
 * fewer times. One thread on Zen 1, thread CPU time, (1000, 4096) float32
 * axis 0: 16 columns 27 ms, 64 columns 22 ms, 256 columns 16 ms (loaded
 * machine, an earlier build); then, side by side, 256 -> 1024 columns:
 * softmax 11.8 -> 10.9 ms, log_softmax 12.4 -> 11.6 ms, and (5000, 512),
 * now one panel: 9.2 -> 6.0 ms float32, 18.5 -> 13.2 ms float64. Doubles
 * keep 4 KiB too: (1000, 4096) float64 log_softmax measured no faster with
 * 1024 columns (8 MiB panels). On Zen 5 (AVX-512, 2 MiB L2) 1 KiB panels
 * measured no better: softmax of (1000, 4096) float32 axis 0 13% faster,
 * (5000, 512) 1.8x slower, the others 2-3% slower. */
#define FSS_COL_BYTES 4096
#define FSS_COL_MAX(type) (FSS_COL_BYTES / (int64_t)sizeof(type))

/* The most rows any flavour's short-row kernel takes at once (its vector
 * width: 16 floats on AVX-512) */
#define FSS_SHORT_ROWS_MAX 16

/* The most rows the cross-entropy short-row kernels take at once */
#define FSS_XENT_ROWS 8

/* The most rows rows_spec_end takes at once */
#define FSS_SPEC_ROWS 8

/* Elements of the block buffer the cross-entropy lane kernels take from
 * their caller: a block of short_rows rows of up to short_max[1] elements
 * (AVX-512: 16 rows of 128 floats) */
#define FSS_XENT_LANE_BUF 2048

#define FSS_DECLARE_KERNEL_SET(T, TS)                                                        \
    /* a row's output to write during another row's pass: log_softmax's y = (x - m) - L \
     * (row_sums_and_logsub), or with scale set softmax's y = x m + x L, x its terms and  \
     * m + L the reciprocal of their sum (row_softmax_terms_with) */                      \
    typedef struct {                                                                         \
        const T *x;                                                                          \
        T *y;                                                                                \
        T m, L;                                                                              \
        int stream; /* non-temporal stores (row_logsub_stream's; stream_fence after) */        \
        int scale;  /* softmax's scaling (streamed, or in place: x is y) */                \
    } fss_logsub_row_##TS;                                                                   \
    /* a row's one pass, its end still to come (row_spec_start, rows_spec_end) */          \
    typedef struct {                                                                         \
        double S;   /* the sum of its terms 2^-K exp(x) */                                    \
        T mx, mn, K;                                                                         \
        int taken;  /* 0: the pass declined the row (K from x[0]); S, mx, mn unset */         \
    } fss_spec_row_##TS;                                                                     \
    typedef struct {                                                                         \
        /* max over a contiguous row (a NaN may or may not win: callers check the sum) */   \
        T (*row_max)(const T *x, int64_t n);                                                 \
        /* row_max, and the row's minimum in *lo (anything if the row holds a NaN) */         \
        T (*row_maxmin)(const T *x, int64_t n, T *lo);                                       \
        /* sum of exp(x - m) over all elements, each stored to e_out (may alias x);        \
         * lo: a lower bound of the elements (row_maxmin's) or -inf, which lets the loop     \
         * skip its range tests where it can (the same bits either way); pa, pb (may be     \
         * NULL): rows of n elements prefetched meanwhile (the next row's input and output  \
         * in a loop over rows) */                                                           \
        double (*row_expsum)(const T *x, int64_t n, T m, T lo, T *e_out, const T *pa,         \
                             const T *pb);                                                    \
        void (*row_scale)(T *y, int64_t n, T s, T s_lo);  /* y *= s + s_lo */              \
        void (*row_expscale)(const T *x, int64_t n, T m, T s, T *y); /* y = exp(x-m)*s */   \
        void (*row_logsub)(const T *x, int64_t n, T m, T L, T *y);   /* y = (x-m) - L */    \
        /* row_logsub's bits, non-temporal stores where the ISA has them; stream_fence after  \
         * the last row */                                                                   \
        void (*row_logsub_stream)(const T *x, int64_t n, T m, T L, T *y);                    \
        /* y = x s + x s_lo (row_scale's bits, x not y), non-temporal stores where the ISA     \
         * has them; stream_fence after the last row */                                      \
        void (*row_scaleto_stream)(const T *x, int64_t n, T s, T s_lo, T *y);                \
        void (*stream_fence)(void);                                                          \
        /* softmax of a row into y (may be x), its pass plan by length (one_pass 0: the  \
         * three passes); 0: not finite (y then NaN throughout is the caller's); pa:      \
         * prefetched meanwhile */                                                          \
        int (*row_softmax)(const T *x, int64_t n, T *y, const T *pa, int one_pass);         \
        /* row_softmax's terms (each *unit exp(x - *m)) to y and their sum: NaN where the  \
         * row is not finite, *m then row_max's; exact: no rounding of x - m in any term */ \
        double (*row_softmax_terms)(const T *x, int64_t n, T *y, const T *pa, int one_pass,  \
                                    int exact, T *m, double *unit);                         \
        /* row_softmax_terms (one_pass 1, exact 0) into y, not x, while o (streamed, scale:  \
         * another row's softmax output) is written in the same steps; NULL for double */    \
        double (*row_softmax_terms_with)(const T *x, int64_t n, T *y, const T *pa, T *m,     \
                                         double *unit, const fss_logsub_row_##TS *o);        \
        /* Up to col_width adjacent columns of a strided reduced axis (row stride rs,        \
         * elements of a row contiguous): per-column max, rest and count, exps to e_out; \
         * comp: exponentials compensated for the rounding of x - m (as row_sumexp_c); unit  \
         * (may be NULL): the float columns' one pass allowed (col_kernels.h, col_spec),      \
         * returning 1 where taken, its terms unit exp(x - m): to e_out (must not overlap x) \
         * where K is NULL, else none stored but each column's K (col_expscale's) */          \
        int (*col_stats)(const T *x, int64_t n, int64_t rs, int64_t w, T *m, double *rest,  \
                         double *count, T *e_out, int64_t es, int comp, double *unit, T *K);  \
        void (*col_scale)(T *y, int64_t n, int64_t ys, int64_t w, const T *s, const T *s_lo); \
        /* y = 2^-K exp(x) (s + s_lo), a K a column; NULL for double (no one pass) */        \
        void (*col_expscale)(const T *x, int64_t n, int64_t rs, int64_t w, const T *K,       \
                             const T *s, const T *s_lo, T *y, int64_t ys);                   \
        void (*col_logsub)(const T *x, int64_t n, int64_t rs, int64_t w, const T *m,        \
                           const T *L, T *y, int64_t ys);                                   \
        int64_t col_width;                                                                   \
        /* ---- cross-entropy (kernels/xent_kernels.h) ---- */                              \
        /* sum of exp(x - m) over the elements != m, free of the rounding of x - m;       \
         * *count += how many equal m; e_out (may be NULL, may alias x) receives the       \
         * exponentials times *unit (xent_kernels.h, term_plan); lo, pa, pb: as for         \
         * row_expsum */                                                                     \
        double (*row_sumexp_c)(const T *x, int64_t n, T m, T lo, T *e_out, double *count,   \
                               const T *pa, const T *pb, double *unit);                      \
        /* row_maxmin (*m, *lo) then row_sumexp_c (lo and pb aside), in one pass where the    \
         * row allows; t: the row's class target, or -1 (xent_kernels.h) */                     \
        double (*row_xent_terms)(const T *x, int64_t n, int64_t t, T *e_out, T *m, T *lo,      \
                                 double *count, const T *pa, const T *pb, double *unit);       \
        /* row_xent_terms of a row (t -1, no e_out) while o, another row of n elements, gets  \
         * its log_softmax output (row_logsub's bits) */                                      \
        double (*row_sums_and_logsub)(const T *x, int64_t n, T *m, T *lo, double *count,        \
                                      const T *pa, const T *pb, double *unit,                   \
                                      const fss_logsub_row_##TS *o);                            \
        /* row_sums_and_logsub in halves, for a group of rows: the row's pass, o (may be     \
         * NULL) written, and the ends of k <= FSS_SPEC_ROWS such rows, m[r], count[r] and   \
         * rest[r] as row_sums_and_logsub would give them (lse: but for logsumexp's result  \
         * alone) (float only; NULL for double) (xent_kernels.h) */                          \
        void (*row_spec_start)(const T *x, int64_t n, const T *pa, const T *pb,                \
                               const fss_logsub_row_##TS *o, fss_spec_row_##TS *st);          \
        void (*rows_spec_end)(int k, const T *const *x, int64_t n, const fss_spec_row_##TS *st, \
                              int lse, T *m, double *count, double *rest);                     \
        /* sum u*v*(m - x) (returned) and sum u*v (*uv_sum); u, v may be NULL (ones) */      \
        double (*row_gapdot)(const T *x, int64_t n, T m, const T *u, const T *v,             \
                             double *uv_sum);                                                \
        /* y = y*a - b*u*v; u, v may be NULL (ones) */                                       \
        void (*row_scalesub)(T *y, int64_t n, T a, T b, const T *u, const T *v);             \
        void (*row_multo)(const T *x, int64_t n, T s, T *y); /* y = x*s (y may be x) */      \
        /* k <= FSS_XENT_ROWS rows x[r] of n <= 2 * short_rows elements: row_max and          \
         * row_sumexp_c of each, bit for bit (kernels/xent_short_kernels.h) */                 \
        void (*rows_max)(int k, const T *const *x, int64_t n, T *m);                          \
        void (*rows_sumexp_c)(int k, const T *const *x, int64_t n, const T *m,                \
                              T *const *e_out, double *rest, double *count, double *unit);     \
        /* k <= short_rows rows x[j] of n <= short_max[1] elements, a lane each, through      \
         * block (FSS_XENT_LANE_BUF elements): m, rest, L = log1p(rest), unit and the target \
         * t[j]'s term et of each row; returns a bit per row taken (finite, sum not NaN)     \
         * (kernels/xent_lane_kernels.h) */                                                   \
        int (*rows_xent_sums)(const T *const *x, int64_t n, int k, const int64_t *t, T *block, \
                              T *m, double *rest, double *L, double *unit, double *et);      \
        /* y[j] = the terms left in block times s[j], for the rows whose bit is set in ok */  \
        void (*rows_xent_scale)(T *block, T *const *y, int64_t n, int k, int ok, const double *s); \
        /* ---- short rows (kernels/short_row_kernels.h) ---- */                            \
        /* a whole finite row of n <= short_max[op] elements, no block loops: op as fss_op;   \
         * returns 0, having written nothing, when the general path must take the row */     \
        int (*row_short)(int op, const T *x, int64_t n, int64_t n_plan, T *y);              \
        /* k <= short_rows such rows at once, one per lane (rows x[j] -> y[j]); the         \
         * same results as row_short row by row; returns a bit per row written (1 << j) */ \
        int (*rows_short)(int op, const T *const *x, T *const *y, int64_t n, int k);         \
        int64_t short_max[3]; /* the longest row for the short kernels, by fss_op */        \
        int short_rows;                                                                      \
        /* out[i] = log1p(y[i]), i < n, y >= 0 (NaN gives NaN): the log1p(rest) of a group   \
         * of rows at once (instantiate.h) */                                                \
        void (*log1p_rows)(const double *y, int n, double *out);                             \
    } fss_kernels_##TS;

FSS_DECLARE_KERNEL_SET(float, f32)
FSS_DECLARE_KERNEL_SET(double, f64)

typedef struct {
    const char *name;
    fss_kernels_f32 f32;
    fss_kernels_f64 f64;
    /* float16 rows to float and back, contiguous (kernels/half_kernels.h) */
    void (*half_to_float)(const uint16_t *h, int64_t n, float *f);
    void (*float_to_half)(const float *f, int64_t n, uint16_t *h);
} fss_isa_kernels;

extern const fss_isa_kernels fss_kernels_scalar;
#if defined(FSS_HAVE_AVX2)
extern const fss_isa_kernels fss_kernels_avx2;
#endif
#if defined(FSS_HAVE_AVX512)
extern const fss_isa_kernels fss_kernels_avx512;
#endif
#if defined(FSS_HAVE_NEON)
extern const fss_isa_kernels fss_kernels_neon;
#endif

#endif
