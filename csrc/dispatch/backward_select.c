/* The backward-pass kernel table follows the softmax one: whichever ISA
 * isa_select.c made active (at import, or forced by FASTSOFTMAX_ISA) picks
 * the backward set compiled for the same ISA, matched by name. */
#include <string.h>

#include "backward_select.h"
#include "isa_select.h"

static const fss_bwd_isa_kernels *const fss_bwd_sets[] = {
    &fss_bwd_kernels_scalar,
#if defined(FSS_HAVE_NEON)
    &fss_bwd_kernels_neon,
#endif
#if defined(FSS_HAVE_AVX2)
    &fss_bwd_kernels_avx2,
#endif
#if defined(FSS_HAVE_AVX512)
    &fss_bwd_kernels_avx512,
#endif
};

const fss_bwd_isa_kernels *fss_bwd_active_kernels(void)
{
    const char *name = fss_active_kernels()->name;
    for (size_t i = 0; i < sizeof fss_bwd_sets / sizeof fss_bwd_sets[0]; ++i)
        if (strcmp(fss_bwd_sets[i]->name, name) == 0)
            return fss_bwd_sets[i];
    return &fss_bwd_kernels_scalar;
}
