/* float16 softmax / log_softmax / logsumexp: rows converted to float on load,
 * computed by the float32 driver, rounded once to float16 on store. */
#ifndef FSS_HALF_DRIVER_H
#define FSS_HALF_DRIVER_H
#include "../include/fastsoftmax.h"

int fss_drv_half(fss_op op, fss_shape3 sh, fss_view3 x, fss_view3 y, double temperature, int num_threads);

#endif
