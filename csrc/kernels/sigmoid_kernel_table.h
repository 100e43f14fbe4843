/* The per-ISA sigmoid-family kernel table: every kernels_<isa>.c fills one
 * fss_sig_isa_kernels (sigmoid_instantiate.h); driver/sigmoid_driver.c picks
 * the one matching the active softmax kernel set. */
#ifndef FSS_SIGMOID_KERNEL_TABLE_H
#define FSS_SIGMOID_KERNEL_TABLE_H

#include <stdint.h>

#define FSS_DECLARE_SIG_KERNEL_SET(T, TS)                                                    \
    typedef struct {                                                                         \
        void (*sigmoid)(const T *x, int64_t n, T *y);     /* y may be x */                   \
        void (*log_sigmoid)(const T *x, int64_t n, T *y); /* y may be x */                   \
        /* BCE with logits over n elements: returns the loss sum; w, pw, loss, grad may be   \
         * NULL; grad may be x */                                                            \
        double (*bce)(const T *x, const T *t, int64_t n, const T *w, const T *pw, T ls,      \
                      T scale, T *loss, T *grad);                                            \
        double (*focal)(const T *x, const T *t, int64_t n, T alpha, T gamma, T scale,        \
                        T *loss, T *grad);                                                   \
    } fss_sig_kernels_##TS;

FSS_DECLARE_SIG_KERNEL_SET(float, f32)
FSS_DECLARE_SIG_KERNEL_SET(double, f64)

typedef struct {
    fss_sig_kernels_f32 f32;
    fss_sig_kernels_f64 f64;
} fss_sig_isa_kernels;

extern const fss_sig_isa_kernels fss_sig_kernels_scalar;
#if defined(FSS_HAVE_AVX2)
extern const fss_sig_isa_kernels fss_sig_kernels_avx2;
#endif
#if defined(FSS_HAVE_AVX512)
extern const fss_sig_isa_kernels fss_sig_kernels_avx512;
#endif
#if defined(FSS_HAVE_NEON)
extern const fss_sig_isa_kernels fss_sig_kernels_neon;
#endif

#endif
