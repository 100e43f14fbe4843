/* The cross-entropy driver for one element type, included by xent_driver.c
 * with T / TS / KSET bound to float or double.
 *
 * Per row (classes contiguous), through the kernel table:
 *   z = x / T             (only for T != 1: into the gradient row, or a
 *                          per-thread scratch row when no gradient is asked)
 *   m = max z;  gap = sum_j u_j w_j (m - z_j)   (label smoothing, soft targets;
 *                          smoothed soft targets as two such sums, no temporary)
 *   rest = sum of exp(z_j - m) over the non-maximal elements, the
 *          exponentials written into the gradient row
 *   lse - z_j = (m - z_j) + log1p(rest): every piece >= 0, so a confident
 *          prediction's tiny loss keeps its relative precision
 *   grad = e * a - b * u * w, then the target element recomputed in double
 *          from rest (p_t - 1 = -rest / (1 + rest) when z_t is the maximum). */

#define XFN(name) FSS_DCAT(FSS_DCAT(fss_xent_, name), FSS_DCAT(_, TS))

static void XFN(fill)(T *y, int64_t n, T v)
{
    for (int64_t j = 0; j < n; ++j)
        y[j] = v;
}

/* One row; returns its loss (sample weight included). y: gradient row or
 * NULL (may be x); scratch: n elements, used for T != 1 without y. */
static double XFN(row)(const KSET *k, const fss_xent_args *a, int64_t i, T *scratch)
{
    const int64_t n = a->n_classes;
    const T *x = (const T *)a->logits + i * a->x_row_stride;
    T *y = a->grad ? (T *)a->grad + i * a->grad_row_stride : NULL;
    const T *w = (const T *)a->weight;
    const T *q = a->soft_target ? (const T *)a->soft_target + i * a->q_row_stride : NULL;
    const double sw = a->sample_weight ? a->sample_weight[i] : 1.0;
    const double eps = a->label_smoothing;
    int64_t t = -1;
    if (a->target) {
        t = a->target[i];
        if (t == a->ignore_index) {
            if (y)
                XFN(fill)(y, n, 0);
            return 0.0;
        }
    }
    const T *z = x;
    if (a->temperature != 1.0) {
        T *buf = y ? y : scratch;
        k->row_multo(x, n, (T)(1.0 / a->temperature), buf);
        z = buf;
    }
    const T m = k->row_max(z, n);
    if (!isfinite(m)) {
        if (y)
            XFN(fill)(y, n, (T)NAN);
        return NAN;
    }
    const double zt = t >= 0 ? (double)z[t] : 0.0;
    /* gap = sum_j u_j w_j (m - z_j), uw = sum_j u_j w_j, u the target
     * distribution: q for soft targets (smoothed below), else the smoothing's
     * uniform part (the one-hot part is (m - z_t) * w_t). Soft targets with
     * smoothing use (1 - eps) q + eps / C without forming it: two sums. */
    double gap = 0.0, uw = 0.0, gap1 = 0.0, uw1 = 0.0;
    if (q)
        gap = k->row_gapdot(z, n, m, q, w, &uw);
    if (eps > 0.0)
        gap1 = k->row_gapdot(z, n, m, NULL, w, &uw1);
    if (q && eps > 0.0) {
        gap = (1.0 - eps) * gap + eps / (double)n * gap1;
        uw = (1.0 - eps) * uw + eps / (double)n * uw1;
    } else if (!q) {
        gap = gap1;
        uw = uw1;
    }
    /* the next row's logits and gradient are prefetched during the exponentials */
    const int last = i + 1 >= a->n_rows;
    double count = 0.0;
    double rest = k->row_sumexp_c(z, n, m, y, &count, last ? NULL : x + a->x_row_stride,
                                  last || !y ? NULL : y + a->grad_row_stride);
    if (isnan(rest)) {
        if (y)
            XFN(fill)(y, n, (T)NAN);
        return NAN;
    }
    rest += count - 1.0; /* other elements equal to the max each add exactly 1 */
    const double L = log1p(rest), S = 1.0 + rest;
    double loss;
    if (q) {
        loss = gap + uw * L;
    } else {
        const double wt = w ? (double)w[t] : 1.0;
        loss = (1.0 - eps) * wt * (((double)m - zt) + L);
        if (eps > 0.0)
            loss += eps / (double)n * (gap + a->weight_sum * L);
    }
    if (y) {
        const double r = sw * a->grad_scale / a->temperature;
        if (q) {
            k->row_scalesub(y, n, (T)(r * uw / S), (T)(r * (1.0 - eps)), q, w);
            if (eps > 0.0)
                k->row_scalesub(y, n, (T)1, (T)(r * eps / (double)n), NULL, w);
        } else {
            const double wt = w ? (double)w[t] : 1.0;
            const double coef = (1.0 - eps) * wt + eps * a->weight_sum / (double)n;
            const double et = (double)y[t];
            if (eps > 0.0)
                k->row_scalesub(y, n, (T)(r * coef / S), (T)(r * eps / (double)n), NULL, w);
            else
                k->row_scale(y, n, (T)(r * coef / S), 0);
            double gt;
            if (zt == (double)m) /* p_t - 1 = -rest / S, without cancellation */
                gt = eps / (double)n * (a->weight_sum - wt) - coef * rest / S;
            else
                gt = coef * et / S - (1.0 - eps) * wt - eps / (double)n * wt;
            y[t] = (T)(r * gt);
        }
    }
    return sw * loss;
}

static int XFN(run)(const KSET *k, const fss_xent_args *a, double *loss_sum, int num_threads)
{
    const int64_t rows = a->n_rows, n = a->n_classes;
    if (loss_sum)
        *loss_sum = 0.0;
    if (rows == 0)
        return FSS_OK;
    const int nt = fss_threads_for(rows * (n > 0 ? n : 1), rows, num_threads);
    T *scratch = NULL;
    if (a->temperature != 1.0 && a->grad == NULL) {
        scratch = (T *)malloc((size_t)(n > 0 ? n : 1) * sizeof(T) * (size_t)nt);
        if (scratch == NULL)
            return FSS_ERR_NOMEM;
    }
    T *loss_rows = (T *)a->loss_rows;
    double total = 0.0;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
#if defined(_OPENMP)
        T *buf = scratch ? scratch + (size_t)n * (size_t)omp_get_thread_num() : NULL;
#pragma omp for schedule(static) reduction(+ : total)
#else
        T *buf = scratch;
#endif
        for (int64_t i = 0; i < rows; ++i) {
            const double l = XFN(row)(k, a, i, buf);
            if (loss_rows)
                loss_rows[i] = (T)l;
            total += l;
        }
    }
    free(scratch);
    if (loss_sum)
        *loss_sum = total;
    return FSS_OK;
}

#undef XFN
