#ifndef FSS_BACKWARD_SELECT_H
#define FSS_BACKWARD_SELECT_H
#include "../kernels/backward_kernel_table.h"
/* The backward-pass kernel set of the active ISA (never NULL). */
const fss_bwd_isa_kernels *fss_bwd_active_kernels(void);
#endif
