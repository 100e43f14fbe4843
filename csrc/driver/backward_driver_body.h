/* The backward-pass driver for one element type, included by
 * backward_driver.c with T / TS / KSET bound to float or double.
 *
 * g (grad_output), y (the forward output) and out are strided 3-D views of
 * one shape (outer x inner rows, reduced axis); out may be g or y. Walkers:
 *   rows     the reduced axis is contiguous in all three: row kernels;
 *   columns  it is strided but the inner axis is contiguous in all three:
 *            column kernels over tiles of adjacent columns (no transposing
 *            copy);
 *   gather   neither: each row is copied into per-thread buffers, computed
 *            there and scattered back.
 * Each row: s = sum g*y (softmax) or sum g (log_softmax) in double, then one
 * elementwise pass. */

#define BFN(name) FSS_DCAT(FSS_DCAT(fss_bwd_drv_, name), FSS_DCAT(_, TS))

static void BFN(row)(const KSET *k, int log_sm, const T *g, const T *y, int64_t n, T *out)
{
    if (log_sm) {
        T ymax;
        const double s = k->sum_max(g, y, n, &ymax);
        k->logsoftmax_row(g, y, n, (T)s, ymax, out);
    } else {
        k->softmax_row(g, y, n, (T)k->dot(g, y, n), out);
    }
}

/* Rows [r0, r1) in order, pipelined: each kernel call writes one row and
 * reduces the next (row_next kernels), so every row is read from memory once
 * while the previous result goes out. */
static void BFN(row_range)(const KSET *k, int log_sm, fss_shape3 sh, fss_view3 G, fss_view3 Y, fss_view3 O,
                           int64_t r0, int64_t r1, int stream)
{
    const T *gb = (const T *)G.data, *yb = (const T *)Y.data;
    T *ob = (T *)O.data;
    const int64_t n = sh.n_red;
#define FSS_BWD_ROW_AT(base, V, r) ((base) + ((r) / sh.n_inner) * (V).s_outer + ((r) % sh.n_inner) * (V).s_inner)
    const T *g = FSS_BWD_ROW_AT(gb, G, r0), *y = FSS_BWD_ROW_AT(yb, Y, r0);
    if (log_sm) {
        T ymax;
        double s = k->sum_max(g, y, n, &ymax);
        for (int64_t r = r0; r < r1; ++r) {
            const int last = r + 1 == r1;
            const T *gn = last ? NULL : FSS_BWD_ROW_AT(gb, G, r + 1);
            const T *yn = last ? NULL : FSS_BWD_ROW_AT(yb, Y, r + 1);
            T ymax_next = ymax;
            s = k->logsoftmax_row_next(g, y, n, (T)s, ymax, FSS_BWD_ROW_AT(ob, O, r), gn, yn, &ymax_next, stream);
            g = gn, y = yn, ymax = ymax_next;
        }
    } else {
        double s = k->dot(g, y, n);
        for (int64_t r = r0; r < r1; ++r) {
            const int last = r + 1 == r1;
            const T *gn = last ? NULL : FSS_BWD_ROW_AT(gb, G, r + 1);
            const T *yn = last ? NULL : FSS_BWD_ROW_AT(yb, Y, r + 1);
            s = k->softmax_row_next(g, y, n, (T)s, FSS_BWD_ROW_AT(ob, O, r), gn, yn, stream);
            g = gn, y = yn;
        }
    }
#undef FSS_BWD_ROW_AT
    if (stream)
        k->stream_fence();
}

/* Outputs at least this large (bytes) are written with non-temporal stores
 * where the ISA has them: they would not stay in the cache anyway, and
 * streaming them saves reading each output line before writing it. */
#ifndef FSS_BWD_STREAM_BYTES
#define FSS_BWD_STREAM_BYTES ((int64_t)4 << 20)
#endif

static void BFN(rows)(const KSET *k, int log_sm, fss_shape3 sh, fss_view3 G, fss_view3 Y, fss_view3 O, int nt)
{
    const int64_t rows = sh.n_outer * sh.n_inner;
    const int stream = k->has_stream && rows * sh.n_red * (int64_t)sizeof(T) >= FSS_BWD_STREAM_BYTES;
    if (nt <= 1) {
        BFN(row_range)(k, log_sm, sh, G, Y, O, 0, rows, stream);
        return;
    }
    const int64_t chunk = (rows + nt - 1) / nt;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int c = 0; c < nt; ++c) {
        const int64_t lo = (int64_t)c * chunk, hi = lo + chunk < rows ? lo + chunk : rows;
        if (lo < hi)
            BFN(row_range)(k, log_sm, sh, G, Y, O, lo, hi, stream);
    }
}

/* Columns in super-tiles of up to FSS_BWD_SUPER adjacent columns, walked
 * in blocks of FSS_BWD_ROW_BLOCK reduced positions: within a block every row
 * segment is read front to back, tile after tile. (A tile of 2*W columns
 * walked down the whole reduced axis touches one page per position and
 * thrashes the TLB.) Block sums are combined with a compensated sum per
 * column, so a long strided axis sums as accurately as a row. */
#ifndef FSS_BWD_SUPER
#define FSS_BWD_SUPER 512
#define FSS_BWD_ROW_BLOCK 64
#endif

static void BFN(super_tile)(const KSET *k, int log_sm, int64_t n, int64_t width, const T *g, int64_t gs,
                            const T *y, int64_t ys, T *out, int64_t os)
{
    const int64_t cw = k->col_width;
    fss_ksum acc[FSS_BWD_SUPER];
    T st[FSS_BWD_SUPER + FSS_BWD_COL_MAX];
    double part[FSS_BWD_COL_MAX];
    for (int64_t j = 0; j < width; ++j)
        acc[j].sum = acc[j].comp = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += FSS_BWD_ROW_BLOCK) {
        const int64_t rows = n - i0 < FSS_BWD_ROW_BLOCK ? n - i0 : FSS_BWD_ROW_BLOCK;
        for (int64_t j0 = 0; j0 < width; j0 += cw) {
            const int64_t w = width - j0 < cw ? width - j0 : cw;
            k->col_dot(g + i0 * gs + j0, gs, log_sm ? NULL : y + i0 * ys + j0, ys, rows, w, part);
            for (int64_t j = 0; j < w; ++j)
                fss_ksum_add(&acc[j0 + j], part[j]);
        }
    }
    for (int64_t j = 0; j < width; ++j) {
        /* an infinite term turns the compensation into NaN: keep the inf */
        const double v = fss_ksum_value(&acc[j]);
        st[j] = (T)(isnan(v) ? acc[j].sum : v);
    }
    for (int64_t j = width; j < width + FSS_BWD_COL_MAX; ++j)
        st[j] = 0;
    for (int64_t i0 = 0; i0 < n; i0 += FSS_BWD_ROW_BLOCK) {
        const int64_t rows = n - i0 < FSS_BWD_ROW_BLOCK ? n - i0 : FSS_BWD_ROW_BLOCK;
        for (int64_t j0 = 0; j0 < width; j0 += cw) {
            const int64_t w = width - j0 < cw ? width - j0 : cw;
            k->col_apply(log_sm, g + i0 * gs + j0, gs, y + i0 * ys + j0, ys, rows, w, st + j0,
                         out + i0 * os + j0, os);
        }
    }
}

static void BFN(columns)(const KSET *k, int log_sm, fss_shape3 sh, fss_view3 G, fss_view3 Y, fss_view3 O, int nt)
{
    const int64_t cw = k->col_width;
    /* super-tiles narrow enough to give every thread work */
    int64_t sw = (sh.n_outer >= nt) ? FSS_BWD_SUPER : (sh.n_inner + nt - 1) / nt;
    sw = (sw + cw - 1) / cw * cw;
    if (sw > FSS_BWD_SUPER)
        sw = FSS_BWD_SUPER;
    const int64_t supers = (sh.n_inner + sw - 1) / sw;
    const int64_t tasks = sh.n_outer * supers;
    const T *gb = (const T *)G.data, *yb = (const T *)Y.data;
    T *ob = (T *)O.data;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t t = 0; t < tasks; ++t) {
        const int64_t o = t / supers, j0 = (t % supers) * sw;
        const int64_t width = sh.n_inner - j0 < sw ? sh.n_inner - j0 : sw;
        BFN(super_tile)(k, log_sm, sh.n_red, width, gb + o * G.s_outer + j0, G.s_red, yb + o * Y.s_outer + j0,
                        Y.s_red, ob + o * O.s_outer + j0, O.s_red);
    }
    (void)nt;
}

static int BFN(gather)(const KSET *k, int log_sm, fss_shape3 sh, fss_view3 G, fss_view3 Y, fss_view3 O, int nt)
{
    const int64_t rows = sh.n_outer * sh.n_inner, n = sh.n_red;
    const size_t per_thread = 2 * (size_t)(n > 0 ? n : 1);
    T *buffers = (T *)malloc(per_thread * sizeof(T) * (size_t)nt);
    if (buffers == NULL)
        return FSS_ERR_NOMEM;
    const T *gb = (const T *)G.data, *yb = (const T *)Y.data;
    T *ob = (T *)O.data;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
#if defined(_OPENMP)
        T *gbuf = buffers + per_thread * (size_t)omp_get_thread_num();
#pragma omp for schedule(static)
#else
        T *gbuf = buffers;
#endif
        for (int64_t r = 0; r < rows; ++r) {
            T *ybuf = gbuf + n;
            const int64_t o = r / sh.n_inner, i = r % sh.n_inner;
            const T *g = gb + o * G.s_outer + i * G.s_inner, *y = yb + o * Y.s_outer + i * Y.s_inner;
            T *out = ob + o * O.s_outer + i * O.s_inner;
            for (int64_t j = 0; j < n; ++j) {
                gbuf[j] = g[j * G.s_red];
                ybuf[j] = y[j * Y.s_red];
            }
            BFN(row)(k, log_sm, gbuf, ybuf, n, gbuf);
            for (int64_t j = 0; j < n; ++j)
                out[j * O.s_red] = gbuf[j];
        }
    }
    free(buffers);
    (void)nt;
    return FSS_OK;
}

static int BFN(run)(const KSET *k, int log_sm, fss_shape3 sh, fss_view3 G, fss_view3 Y, fss_view3 O, int num_threads)
{
    const int64_t rows = sh.n_outer * sh.n_inner;
    if (rows == 0 || sh.n_red == 0)
        return FSS_OK;
    if (sh.n_red == 1)
        G.s_red = Y.s_red = O.s_red = 1;
    if (sh.n_inner == 1)
        G.s_inner = Y.s_inner = O.s_inner = 1;
    const int64_t work = rows * sh.n_red;
    if (G.s_red == 1 && Y.s_red == 1 && O.s_red == 1) {
        BFN(rows)(k, log_sm, sh, G, Y, O, fss_threads_for(work, rows, num_threads));
        return FSS_OK;
    }
    if (G.s_inner == 1 && Y.s_inner == 1 && O.s_inner == 1 && sh.n_inner > 1) {
        const int64_t tasks = sh.n_outer * ((sh.n_inner + k->col_width - 1) / k->col_width);
        BFN(columns)(k, log_sm, sh, G, Y, O, fss_threads_for(work, tasks, num_threads));
        return FSS_OK;
    }
    return BFN(gather)(k, log_sm, sh, G, Y, O, fss_threads_for(work, rows, num_threads));
}

#undef BFN
