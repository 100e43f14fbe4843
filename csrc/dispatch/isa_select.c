/* The dispatch table: which compiled kernel set runs. Chosen once at import
 * (the best the CPU and OS support, or the one FASTSOFTMAX_ISA names, which the
 * Python layer passes to fss_isa_select); the drivers read it per call. */
#include <stddef.h>
#include <string.h>

#include "../include/fastsoftmax.h"
#include "../kernels/kernel_table.h"
#include "cpu_features.h"
#include "isa_select.h"

typedef struct {
    const fss_isa_kernels *kernels;
    unsigned required; /* fss_cpu_features() bits it needs */
} fss_isa_entry;

/* Lowest first: the last supported entry is the best. */
static const fss_isa_entry fss_isa_ladder[] = {
    { &fss_kernels_scalar, 0 },
#if defined(FSS_HAVE_NEON)
    { &fss_kernels_neon, FSS_CPU_NEON },
#endif
#if defined(FSS_HAVE_AVX2)
    { &fss_kernels_avx2, FSS_CPU_AVX2 },
#endif
#if defined(FSS_HAVE_AVX512)
    { &fss_kernels_avx512, FSS_CPU_AVX512 },
#endif
};
enum { FSS_N_ISA = sizeof fss_isa_ladder / sizeof fss_isa_ladder[0] };

static const fss_isa_kernels *volatile fss_active = NULL;

static int entry_supported(const fss_isa_entry *e) { return (fss_cpu_features() & e->required) == e->required; }

static const fss_isa_kernels *best_supported(void)
{
    const fss_isa_kernels *best = fss_isa_ladder[0].kernels;
    for (int i = 0; i < FSS_N_ISA; ++i)
        if (entry_supported(&fss_isa_ladder[i]))
            best = fss_isa_ladder[i].kernels;
    return best;
}

const fss_isa_kernels *fss_active_kernels(void)
{
    const fss_isa_kernels *k = fss_active;
    if (k == NULL) {
        k = best_supported();
        fss_active = k;
    }
    return k;
}

const char *fss_isa_current(void) { return fss_active_kernels()->name; }

int fss_isa_compiled(const char **names, int capacity)
{
    for (int i = 0; i < FSS_N_ISA && i < capacity; ++i)
        names[i] = fss_isa_ladder[i].kernels->name;
    return FSS_N_ISA;
}

int fss_isa_supported(const char *name)
{
    for (int i = 0; i < FSS_N_ISA; ++i)
        if (strcmp(fss_isa_ladder[i].kernels->name, name) == 0)
            return entry_supported(&fss_isa_ladder[i]);
    return 0;
}

int fss_isa_select(const char *name)
{
    if (name == NULL || name[0] == '\0') {
        fss_active = best_supported();
        return 0;
    }
    for (int i = 0; i < FSS_N_ISA; ++i) {
        if (strcmp(fss_isa_ladder[i].kernels->name, name) == 0) {
            if (!entry_supported(&fss_isa_ladder[i]))
                return -2;
            fss_active = fss_isa_ladder[i].kernels;
            return 0;
        }
    }
    return -1;
}
