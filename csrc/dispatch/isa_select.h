#ifndef FSS_ISA_SELECT_H
#define FSS_ISA_SELECT_H
#include "../kernels/kernel_table.h"
/* The kernel set in use (never NULL). */
const fss_isa_kernels *fss_active_kernels(void);
#endif
