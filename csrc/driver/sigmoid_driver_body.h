/* The per-type sigmoid-family drivers, included twice by sigmoid_driver.c
 * (T = float / double, TS = f32 / f64, KSET = fss_sig_kernels_<TS>).
 *
 * Elementwise work over contiguous arrays: OpenMP gives each thread one
 * contiguous range. When weight or pos_weight repeat along the last axis the
 * ranges are whole rows of that axis, so each row sees its weights from the
 * start; otherwise the ranges are cut at multiples of 64 elements (a loss
 * total's ranges are whole blocks, see fss_bin_run). */

static void FSS_DCAT(fss_sig_map_, TS)(const KSET *k, fss_sig_op op, const T *x, int64_t n, T *y,
                                       int num_threads)
{
    void (*fn)(const T *, int64_t, T *) = op == FSS_LOG_SIGMOID ? k->log_sigmoid : k->sigmoid;
    const int nt = fss_threads_for(n, (n + 63) / 64, num_threads);
    if (nt <= 1) {
        fn(x, n, y);
        return;
    }
    const int64_t chunk = ((n + nt - 1) / nt + 63) / 64 * 64;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int c = 0; c < nt; ++c) {
        const int64_t lo = (int64_t)c * chunk;
        const int64_t hi = lo + chunk < n ? lo + chunk : n;
        if (lo < hi)
            fn(x + lo, hi - lo, y + lo);
    }
}

/* Rows [r0, r1) of a periodic problem, or elements [r0, r1) of a flat one. */
static double FSS_DCAT(fss_bin_range_, TS)(const KSET *k, const fss_bce_args *a, int focal,
                                           int64_t r0, int64_t r1)
{
    const T *x = (const T *)a->logits;
    const T *t = (const T *)a->target;
    const T *w = (const T *)a->weight;
    const T *pw = (const T *)a->pos_weight;
    T *loss = (T *)a->loss;
    T *grad = (T *)a->grad;
    const T ls = (T)a->label_smoothing, scale = (T)a->grad_scale;
    const int64_t C = a->n_last;
    const int periodic = !focal && (pw != NULL || (w != NULL && a->weight_per_row));
    if (!periodic) {
        const int64_t lo = r0, m = r1 - r0;
        if (focal)
            return k->focal(x + lo, t + lo, m, (T)a->alpha, (T)a->gamma, scale,
                            loss ? loss + lo : NULL, grad ? grad + lo : NULL);
        return k->bce(x + lo, t + lo, m, w ? w + lo : NULL, NULL, ls, scale, loss ? loss + lo : NULL,
                      grad ? grad + lo : NULL);
    }
    double s = 0.0;
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t lo = r * C;
        const T *wr = w == NULL ? NULL : a->weight_per_row ? w : w + lo;
        s += k->bce(x + lo, t + lo, C, wr, pw, ls, scale, loss ? loss + lo : NULL,
                    grad ? grad + lo : NULL);
    }
    return s;
}

/* Block bi of b through fss_bin_range */
static double FSS_DCAT(fss_bin_block_, TS)(const KSET *k, const fss_bce_args *a, int focal, fss_loss_blocks b,
                                           int64_t bi)
{
    const int64_t lo = bi * b.len;
    return FSS_DCAT(fss_bin_range_, TS)(k, a, focal, lo, lo + b.len < b.units ? lo + b.len : b.units);
}

/* Blocks of units (rows of a periodic problem, else elements in multiples
 * of 64), each through the kernel in one call, whole blocks per thread: the
 * total has the same bits for any thread count (loss_total.h). */
static int FSS_DCAT(fss_bin_run_, TS)(const KSET *k, const fss_bce_args *a, int focal,
                                      double *loss_sum, int num_threads)
{
    const int periodic = !focal && (a->pos_weight != NULL || (a->weight != NULL && a->weight_per_row));
    const int64_t units = periodic ? a->n / a->n_last : a->n;
    const int64_t min_len = periodic ? FSS_LOSS_MIN_BLOCK / a->n_last + 1 : FSS_LOSS_MIN_BLOCK;
    const fss_loss_blocks blocks = fss_loss_blocks_for(units, periodic ? 1 : 64, min_len);
    const int nt = fss_threads_for(a->n, blocks.count, num_threads);
    double sums[FSS_LOSS_BLOCKS];
    /* one thread stays out of the OpenMP runtime (a team of one costs a
     * small call more than its work) */
#if defined(_OPENMP)
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t bi = 0; bi < blocks.count; ++bi)
            sums[bi] = FSS_DCAT(fss_bin_block_, TS)(k, a, focal, blocks, bi);
    } else
#endif
    {
        (void)nt;
        for (int64_t bi = 0; bi < blocks.count; ++bi)
            sums[bi] = FSS_DCAT(fss_bin_block_, TS)(k, a, focal, blocks, bi);
    }
    if (loss_sum != NULL)
        *loss_sum = fss_loss_blocks_total(sums, blocks.count);
    return FSS_OK;
}
