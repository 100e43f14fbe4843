/* The per-ISA table of the backward-pass kernels (kernels/backward_kernels.h):
 * every ISA translation unit (kernels_<isa>.c) fills one through
 * kernels/backward_instantiate.h; dispatch/backward_select.c hands the drivers
 * the one whose ISA matches the active softmax kernel set. */
#ifndef FSS_BACKWARD_KERNEL_TABLE_H
#define FSS_BACKWARD_KERNEL_TABLE_H

#include <stdint.h>

#define FSS_DECLARE_BWD_SET(T, TS)                                                            \
    typedef struct {                                                                          \
        /* sum g*y (y non-NULL) or sum g (y NULL), compensated, in double */                 \
        double (*dot)(const T *g, const T *y, int64_t n);                                     \
        void (*softmax_row)(const T *g, const T *y, int64_t n, T s, T *out); /* y*(g-s) */   \
        /* sum g (returned, double) and *ymax = max y, for logsoftmax_row */                  \
        double (*sum_max)(const T *g, const T *y, int64_t n, T *ymax);                        \
        void (*logsoftmax_row)(const T *g, const T *y, int64_t n, T s, T ymax, T *out);       \
        /* pipelined rows: this row's elementwise pass and the next row's (gn, yn;   */       \
        /* NULL: none) reduction in one loop; stream: non-temporal stores */                 \
        double (*softmax_row_next)(const T *g, const T *y, int64_t n, T s, T *out,            \
                                   const T *gn, const T *yn, int stream);                    \
        double (*logsoftmax_row_next)(const T *g, const T *y, int64_t n, T s, T ymax, T *out, \
                                      const T *gn, const T *yn, T *ymax_next, int stream);   \
        /* up to col_width adjacent columns of a strided reduced axis */                     \
        void (*col_dot)(const T *g, int64_t gs, const T *y, int64_t ys, int64_t n, int64_t w, \
                        double *s);                                                           \
        void (*col_apply)(int log_softmax, const T *g, int64_t gs, const T *y, int64_t ys,    \
                          int64_t n, int64_t w, const T *s, T *out, int64_t os);              \
        int64_t col_width;                                                                    \
        void (*stream_fence)(void); /* after stream stores */                                 \
        int has_stream;             /* whether stream stores are non-temporal here */         \
    } fss_bwd_kernels_##TS;

FSS_DECLARE_BWD_SET(float, f32)
FSS_DECLARE_BWD_SET(double, f64)

/* Column kernels handle this many adjacent columns at most. */
#define FSS_BWD_COL_MAX 32

typedef struct {
    const char *name;
    fss_bwd_kernels_f32 f32;
    fss_bwd_kernels_f64 f64;
} fss_bwd_isa_kernels;

extern const fss_bwd_isa_kernels fss_bwd_kernels_scalar;
#if defined(FSS_HAVE_AVX2)
extern const fss_bwd_isa_kernels fss_bwd_kernels_avx2;
#endif
#if defined(FSS_HAVE_AVX512)
extern const fss_bwd_isa_kernels fss_bwd_kernels_avx512;
#endif
#if defined(FSS_HAVE_NEON)
extern const fss_bwd_isa_kernels fss_bwd_kernels_neon;
#endif

#endif
