/* float16 rows through the float32 driver, one row at a time from a
 * per-thread float buffer: no array-sized temporaries, and the results are
 * those of NumPy's astype(float32), the float32 call, then astype(float16)
 * (both conversions round to nearest-even; the float32 row is computed by the
 * same row kernels, and x / temperature is divided in float as there). */
#include <stdlib.h>
#include <stdint.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../dispatch/isa_select.h"
#include "../kernels/half_convert.h"
#include "half_driver.h"
#include "threads.h"

static void load_row(const fss_isa_kernels *k, const uint16_t *x, int64_t n, int64_t s, float temperature,
                     float *restrict buf)
{
    if (s == 1)
        k->half_to_float(x, n, buf);
    else
        for (int64_t j = 0; j < n; ++j)
            buf[j] = fss_half_to_float(x[j * s]);
    if (temperature != 1.0f)
        for (int64_t j = 0; j < n; ++j)
            buf[j] = buf[j] / temperature;
}

/* One row: converted into buf, computed there in place, rounded back. */
static int half_row(const fss_isa_kernels *k, fss_op op, const uint16_t *x, int64_t xs, uint16_t *y, int64_t ys,
                    int64_t n, float temperature, float *buf, int nt)
{
    load_row(k, x, n, xs, temperature, buf);
    float lse = 0.0f;
    const fss_shape3 sh = { 1, 1, n };
    const fss_view3 xv = { buf, n, n, 1 };
    const fss_view3 yv = { op == FSS_LOGSUMEXP ? (void *)&lse : (void *)buf, n, n, 1 };
    const int rc = fss_softmax_family(op, FSS_FLOAT32, sh, xv, yv, 1.0, nt);
    if (rc != FSS_OK)
        return rc;
    if (op == FSS_LOGSUMEXP)
        *y = fss_float_to_half(lse);
    else if (ys == 1)
        k->float_to_half(buf, n, y);
    else
        for (int64_t j = 0; j < n; ++j)
            y[j * ys] = fss_float_to_half(buf[j]);
    return FSS_OK;
}

int fss_drv_half(fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y, double temperature, int num_threads)
{
    const fss_isa_kernels *k = fss_active_kernels();
    const int64_t rows = sh.n_outer * sh.n_inner, n = sh.n_red;
    if (rows == 0)
        return FSS_OK;
    const float temp = (float)temperature;
    const int64_t work = rows * (n > 0 ? n : 1);
    const int nt_rows = fss_threads_for(work, rows, num_threads);
    const int nt_split = fss_threads_for(work, work / FSS_SPLIT_MIN_CHUNK, num_threads);
    const int split = nt_split > rows && nt_split > nt_rows;
    const int nt = split ? 1 : nt_rows;
    float *buffers = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float) * (size_t)nt);
    if (buffers == NULL)
        return FSS_ERR_NOMEM;
    const uint16_t *xb = (const uint16_t *)X.data;
    uint16_t *yb = (uint16_t *)Y.data;
    int status = FSS_OK;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
#if defined(_OPENMP)
        float *buf = buffers + (size_t)(n > 0 ? n : 1) * (size_t)omp_get_thread_num();
#pragma omp for schedule(static)
#else
        float *buf = buffers;
#endif
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t o = r / sh.n_inner, i = r % sh.n_inner;
            const int rc = half_row(k, op, xb + o * X.s_outer + i * X.s_inner, X.s_red,
                                    yb + o * Y.s_outer + i * Y.s_inner, Y.s_red, n, temp, buf,
                                    split ? nt_split : 1);
            if (rc != FSS_OK) {
#if defined(_OPENMP)
#pragma omp atomic write
#endif
                status = rc;
            }
        }
    }
    free(buffers);
    return status;
}

int fss_half_convert(int to_half, const void *src, int64_t n, void *dst)
{
    const fss_isa_kernels *k = fss_active_kernels();
    if (n < 0)
        return FSS_ERR_ARG;
    if (to_half)
        k->float_to_half((const float *)src, n, (uint16_t *)dst);
    else
        k->half_to_float((const uint16_t *)src, n, (float *)dst);
    return FSS_OK;
}
