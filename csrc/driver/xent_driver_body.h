/* The cross-entropy driver for one element type, included by xent_driver.c
 * with T / TS / KSET bound to float or double.
 *
 * Per row (classes contiguous), through the kernel table:
 *   z = x / T             (only for T != 1: into the gradient row, or a
 *                          per-thread scratch row, z_in_scratch)
 *   m = max z, and with it (row_xent_terms, one pass where it can)
 *   rest = sum of exp(z_j - m) over the non-maximal elements, the
 *          exponentials written into the gradient row
 *   gap = sum_j u_j w_j (m - z_j)   (label smoothing, soft targets;
 *                          smoothed soft targets as two such sums, no temporary)
 *   lse - z_j = (m - z_j) + log1p(rest): every piece >= 0, so a confident
 *          prediction's tiny loss keeps its relative precision
 *   grad = e * a - b * u * w, then the target element recomputed in double
 *          from rest (p_t - 1 = -rest / (1 + rest) when z_t is the maximum). */

#define XFN(name) FSS_DCAT(FSS_DCAT(fss_xent_, name), FSS_DCAT(_, TS))

#include "lane_block.h"

static void XFN(fill)(T *y, int64_t n, T v)
{
    for (int64_t j = 0; j < n; ++j)
        y[j] = v;
}

/* Rows per group (see rows_range): rows up to FSS_XENT_GROUP_BYTES go in
 * groups, small enough to stay in cache between the stages: the short rows
 * (short_rows) as many as their group kernels take, the others
 * FSS_XENT_LONG_GROUP. */
static int64_t XFN(group_rows)(const KSET *k, int64_t n)
{
    if (n * (int64_t)sizeof(T) > FSS_XENT_GROUP_BYTES)
        return 1;
    return n <= 2 * (int64_t)k->short_rows ? FSS_XENT_ROWS : FSS_XENT_LONG_GROUP;
}

/* A row's state between the stages below. */
typedef struct {
    const T *x, *z, *q; /* logits, scaled logits (x for T == 1), soft target or NULL */
    T *y;               /* gradient row or NULL */
    int64_t i, t;       /* row; label (-1 for soft targets) */
    T m, lo;            /* row max; a lower bound of its elements (-inf: none known) */
    double zt, gap, uw, rest, count, sw;
    double unit;        /* the factor of the stored exponentials (row_sumexp_c) */
    int summed;         /* rest, count and unit set with m (row_xent_terms) */
    double L;           /* log1p(rest) (group_log1p) */
    int done;           /* loss final (ignored or non-finite row) */
    double loss;
} XFN(state);

/* Marks a row done with this loss, its gradient row (if any) filled with g. */
static void XFN(finish_early)(XFN(state) *s, int64_t n, double loss, T g)
{
    if (s->y)
        XFN(fill)(s->y, n, g);
    s->done = 1, s->loss = loss;
}

/* Whether the rows take the lane kernels (lanes_range): class-index targets
 * without label smoothing, whose gradient is a per-row factor times p -
 * onehot(t), of up to the lane kernel's length */
static int XFN(lanes)(const KSET *k, const fss_xent_args *a)
{
    return a->target && a->label_smoothing == 0.0 && LBN(takes)(k, a->n_classes);
}

/* Whether the rows' z go to the scratch rows: for T != 1, and in place
 * (gradient = logits) for a copy, so that z outlives the terms written
 * over the gradient row: row_xent_terms reads the whole row before it
 * knows whether its one pass holds, and falls back to z; the gap sums read
 * z after it. The lane kernels keep z in the gradient row (their terms go
 * to a block buffer first), so they need scratch only without one. */
static int XFN(z_in_scratch)(const KSET *k, const fss_xent_args *a)
{
    if (XFN(lanes)(k, a))
        return a->temperature != 1.0 && a->grad == NULL;
    return a->temperature != 1.0 || (a->grad != NULL && a->grad == a->logits);
}

/* Stage 1: pointers, label, scaled logits. scratch: n elements (used where
 * z_in_scratch). */
static void XFN(stage_prep)(const KSET *k, const fss_xent_args *a, int64_t i, T *scratch, XFN(state) *s)
{
    const int64_t n = a->n_classes;
    s->i = i;
    s->x = (const T *)a->logits + i * a->x_row_stride;
    s->y = a->grad ? (T *)a->grad + i * a->grad_row_stride : NULL;
    s->q = a->soft_target ? (const T *)a->soft_target + i * a->q_row_stride : NULL;
    s->sw = a->sample_weight ? a->sample_weight[i] : 1.0;
    s->unit = 1.0;
    s->done = 0;
    s->summed = 0;
    s->count = 0.0;
    s->lo = -(T)INFINITY;
    s->t = -1;
    if (a->target) {
        s->t = a->target[i];
        if (s->t == a->ignore_index) {
            XFN(finish_early)(s, n, 0.0, 0);
            return;
        }
    }
    s->z = s->x;
    if (XFN(z_in_scratch)(k, a)) {
        k->row_multo(s->x, n, (T)(1.0 / a->temperature), scratch); /* at T = 1 a copy */
        s->z = scratch;
    }
    s->zt = s->t >= 0 ? (double)s->z[s->t] : 0.0;
}

/* Stage 2 (s->m set): a row that is not finite is done; the gap sums. */
static void XFN(stage_gaps)(const KSET *k, const fss_xent_args *a, XFN(state) *s)
{
    const int64_t n = a->n_classes;
    if (!isfinite(s->m)) {
        XFN(finish_early)(s, n, NAN, (T)NAN);
        return;
    }
    const T *w = (const T *)a->weight;
    const double eps = a->label_smoothing;
    /* gap = sum_j u_j w_j (m - z_j), uw = sum_j u_j w_j, u the target
     * distribution: q for soft targets (smoothed below), else the smoothing's
     * uniform part (the one-hot part is (m - z_t) * w_t). Soft targets with
     * smoothing use (1 - eps) q + eps / C without forming it: two sums. */
    double gap = 0.0, uw = 0.0, gap1 = 0.0, uw1 = 0.0;
    if (s->q)
        gap = k->row_gapdot(s->z, n, s->m, s->q, w, &uw);
    if (eps > 0.0)
        gap1 = k->row_gapdot(s->z, n, s->m, NULL, w, &uw1);
    if (s->q && eps > 0.0) {
        gap = (1.0 - eps) * gap + eps / (double)n * gap1;
        uw = (1.0 - eps) * uw + eps / (double)n * uw1;
    } else if (!s->q) {
        gap = gap1;
        uw = uw1;
    }
    s->gap = gap, s->uw = uw;
}

/* Stage 3 (s->rest, s->count set by row_sumexp_c): a NaN sum makes the row
 * done; otherwise the counted terms of exactly 1 other than the max's own
 * each add 1. */
static void XFN(stage_rest)(const fss_xent_args *a, XFN(state) *s)
{
    if (isnan(s->rest))
        XFN(finish_early)(s, a->n_classes, NAN, (T)NAN);
    else
        s->rest += s->count - 1.0;
}

/* Stage 4: the row's loss (sample weight included, returned) and gradient. */
static double XFN(stage_finish)(const KSET *k, const fss_xent_args *a, const XFN(state) *s)
{
    const int64_t n = a->n_classes, t = s->t;
    const T *w = (const T *)a->weight;
    const T *q = s->q;
    T *y = s->y;
    const double eps = a->label_smoothing, rest = s->rest, zt = s->zt, gap = s->gap, uw = s->uw;
    const T m = s->m;
    const double L = s->L, S = 1.0 + rest;
    /* the stored exponentials are exp(x - m) * unit: Su scales them */
    const double Su = S * s->unit;
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
        const double r = s->sw * (a->grad_scale / a->temperature);
        if (q) {
            k->row_scalesub(y, n, (T)(r * uw / Su), (T)(r * (1.0 - eps)), q, w);
            if (eps > 0.0)
                k->row_scalesub(y, n, (T)1, (T)(r * eps / (double)n), NULL, w);
        } else if (eps == 0.0) {
            /* w_t (p - onehot(t)): the lane path's factors (LBN(grad_factors),
             * as the focal loss's rows take them) */
            const LBN(row) lr = { m, rest, L, s->unit, 0.0, zt };
            LBN(row_grad)(k, y, n, t, lr, r, w ? (double)w[t] : 1.0);
        } else {
            const double wt = w ? (double)w[t] : 1.0;
            const double coef = (1.0 - eps) * wt + eps * a->weight_sum / (double)n;
            const double et = (double)y[t] / s->unit;
            k->row_scalesub(y, n, (T)(r * coef / Su), (T)(r * eps / (double)n), NULL, w);
            double gt;
            if (zt == (double)m) /* p_t - 1 = -rest / S, without cancellation */
                gt = eps / (double)n * (a->weight_sum - wt) - coef * rest / S;
            else
                gt = coef * et / S - (1.0 - eps) * wt - eps / (double)n * wt;
            y[t] = (T)(r * gt);
        }
    }
    return s->sw * loss;
}

/* Keeps in live[0..nl) the rows that are not done, in order; returns how many. */
static int XFN(still_live)(const XFN(state) *st, int *live, int nl)
{
    int kept = 0;
    for (int j = 0; j < nl; ++j)
        if (!st[live[j]].done)
            live[kept++] = live[j];
    return kept;
}

/* s->m for the group's live rows: the group kernel for short rows. Longer
 * ones take their sums with it (row_xent_terms: one pass where it can). */
static void XFN(group_max)(const KSET *k, const fss_xent_args *a, int short_rows, XFN(state) *st, const int *live,
                           int nl)
{
    const int64_t n = a->n_classes, group = XFN(group_rows)(k, n);
    if (!short_rows) {
        for (int j = 0; j < nl; ++j) {
            XFN(state) *s = &st[live[j]];
            /* the same row of the next group prefetched (see group_sums) */
            const int last = s->i + group >= a->n_rows;
            /* the class target where rest's precision matters only if it is the
             * max (without smoothing: see row_xent_terms) */
            const int64_t t = a->label_smoothing == 0.0 ? s->t : -1;
            s->rest = k->row_xent_terms(s->z, n, t, s->y, &s->m, &s->lo, &s->count,
                                        last ? NULL : s->x + group * a->x_row_stride, NULL, &s->unit);
            s->summed = 1;
        }
        return;
    }
    const T *zs[FSS_XENT_ROWS];
    T ms[FSS_XENT_ROWS];
    for (int j = 0; j < nl; ++j)
        zs[j] = st[live[j]].z;
    k->rows_max(nl, zs, n, ms);
    for (int j = 0; j < nl; ++j)
        st[live[j]].m = ms[j];
}

/* s->rest and s->count (row_sumexp_c) for the group's live rows, the
 * exponentials into their gradient rows: the group kernel for short rows;
 * longer ones prefetch the next row's logits meanwhile (not its gradient:
 * see prefetch_rows). */
static void XFN(group_sums)(const KSET *k, const fss_xent_args *a, int short_rows, XFN(state) *st, const int *live,
                            int nl)
{
    const int64_t n = a->n_classes, group = XFN(group_rows)(k, n);
    if (!short_rows) {
        /* the same row of the next group prefetched: its maximum comes
         * first there, before any exponentials could hide its loads (Zen 5,
         * (1024, 1000) float32: row_maxmin 5% -> 13% of the time with the
         * next row's prefetch instead) */
        for (int j = 0; j < nl; ++j) {
            XFN(state) *s = &st[live[j]];
            if (s->summed)
                continue;
            const int last = s->i + group >= a->n_rows;
            s->rest = k->row_sumexp_c(s->z, n, s->m, s->lo, s->y, &s->count,
                                      last ? NULL : s->x + group * a->x_row_stride, NULL, &s->unit);
        }
        return;
    }
    const T *zs[FSS_XENT_ROWS];
    T *ys[FSS_XENT_ROWS];
    T ms[FSS_XENT_ROWS];
    double rests[FSS_XENT_ROWS], counts[FSS_XENT_ROWS], units[FSS_XENT_ROWS];
    for (int j = 0; j < nl; ++j) {
        zs[j] = st[live[j]].z, ys[j] = st[live[j]].y, ms[j] = st[live[j]].m;
        counts[j] = 0.0;
    }
    k->rows_sumexp_c(nl, zs, n, ms, ys, rests, counts, units);
    for (int j = 0; j < nl; ++j)
        st[live[j]].rest = rests[j], st[live[j]].count = counts[j], st[live[j]].unit = units[j];
}

/* s->L = log1p(s->rest) for the group's live rows, at once (log1p_rows) */
static void XFN(group_log1p)(const KSET *k, XFN(state) *st, const int *live, int nl)
{
    double rests[FSS_XENT_LONG_GROUP], logs[FSS_XENT_LONG_GROUP];
    for (int j = 0; j < nl; ++j)
        rests[j] = st[live[j]].rest;
    k->log1p_rows(rests, nl, logs);
    for (int j = 0; j < nl; ++j)
        st[live[j]].L = logs[j];
}

/* Rows [r0, r1), whole blocks of b: their losses into loss_rows (if any),
 * each block's sum (added in row order) into sums. A short row is one chain
 * of dependent steps (maximum, exponentials, their sum, log1p, scale) with
 * little work in each, so rows of up to FSS_XENT_GROUP_BYTES go in groups,
 * each stage for every row of the group before the next stage: the rows'
 * independent chains then overlap in the core. Rows of at most 2W elements
 * take the maximum and the exponentials through the group kernels
 * (rows_max, rows_sumexp_c), the same bits as the row kernels. Every row
 * takes the same steps with the same operands as alone, so the same bits.
 * scratch: group_rows(k, n) rows of n elements (used where z_in_scratch). */
static void XFN(rows_range)(const KSET *k, const fss_xent_args *a, int64_t r0, int64_t r1, T *scratch,
                            fss_loss_blocks b, double *sums)
{
    const int64_t n = a->n_classes, group = XFN(group_rows)(k, n);
    const int short_rows = n <= 2 * (int64_t)k->short_rows;
    T *loss_rows = (T *)a->loss_rows;
    double acc = 0.0;
    XFN(state) st[FSS_XENT_LONG_GROUP];
    int live[FSS_XENT_LONG_GROUP];
    for (int64_t i0 = r0; i0 < r1; i0 += group) {
        const int g = (int)(r1 - i0 < group ? r1 - i0 : group);
        for (int j = 0; j < g; ++j) {
            XFN(stage_prep)(k, a, i0 + j, scratch ? scratch + j * n : NULL, &st[j]);
            live[j] = j;
        }
        int nl = XFN(still_live)(st, live, g);
        XFN(group_max)(k, a, short_rows, st, live, nl);
        for (int j = 0; j < nl; ++j)
            XFN(stage_gaps)(k, a, &st[live[j]]);
        nl = XFN(still_live)(st, live, nl);
        XFN(group_sums)(k, a, short_rows, st, live, nl);
        for (int j = 0; j < nl; ++j)
            XFN(stage_rest)(a, &st[live[j]]);
        nl = XFN(still_live)(st, live, nl);
        XFN(group_log1p)(k, st, live, nl);
        for (int j = 0; j < g; ++j) {
            const double l = st[j].done ? st[j].loss : XFN(stage_finish)(k, a, &st[j]);
            if (loss_rows)
                loss_rows[i0 + j] = (T)l;
            acc += l;
            if (fss_loss_block_ends(b, i0 + j)) {
                sums[(i0 + j) / b.len] = acc;
                acc = 0.0;
            }
        }
    }
}

/* Scratch rows per thread (z_in_scratch): a group's, or a
 * lane block's where the rows take the lane kernels */
static int64_t XFN(scratch_rows)(const KSET *k, const fss_xent_args *a)
{
    const int64_t g = XFN(group_rows)(k, a->n_classes);
    return XFN(lanes)(k, a) && k->short_rows > g ? k->short_rows : g;
}

/* rows_range for rows that take the lane kernels: blocks of short_rows
 * consecutive rows, the ignored ones left out of the block (the lanes are
 * independent: every row gets the bits it gets alone). Per row: loss =
 * w_t ((m - z_t) + log1p(rest)), gradient r w_t (p - onehot(t)). Its own
 * lean per-row steps rather than the stages': at 16 classes the driver's
 * share of a row is as large as the kernels'. */
static void XFN(lanes_range)(const KSET *k, const fss_xent_args *a, int64_t r0, int64_t r1, T *scratch,
                             fss_loss_blocks b, double *sums)
{
    const int64_t n = a->n_classes;
    const int per = k->short_rows;
    const T *w = (const T *)a->weight;
    T *loss_rows = (T *)a->loss_rows;
    const double r_row = a->grad_scale / a->temperature; /* the gradient's factor, sample weight aside */
    double acc = 0.0;
    /* the row after the next loss block's last (a running bound: a 64-bit
     * division a row showed in the profile) */
    int64_t block_end = (r0 / b.len + 1) * b.len;
    if (block_end > b.units)
        block_end = b.units;
    T block[FSS_XENT_LANE_BUF];
    for (int64_t i0 = r0; i0 < r1; i0 += per) {
        const int g = (int)(r1 - i0 < per ? r1 - i0 : per);
        const T *zr[FSS_SHORT_ROWS_MAX];
        T *yr[FSS_SHORT_ROWS_MAX], gt[FSS_SHORT_ROWS_MAX];
        int64_t tr[FSS_SHORT_ROWS_MAX];
        int live[FSS_SHORT_ROWS_MAX], nl = 0;
        double loss[FSS_SHORT_ROWS_MAX];
        for (int j = 0; j < g; ++j) {
            const int64_t i = i0 + j, t = a->target[i];
            const T *x = (const T *)a->logits + i * a->x_row_stride;
            T *y = a->grad ? (T *)a->grad + i * a->grad_row_stride : NULL;
            loss[j] = 0.0;
            if (t == a->ignore_index) {
                if (y)
                    XFN(fill)(y, n, 0);
                continue;
            }
            if (a->temperature != 1.0) {
                T *buf = y ? y : scratch + j * n;
                k->row_multo(x, n, (T)(1.0 / a->temperature), buf);
                x = buf;
            }
            zr[nl] = x, yr[nl] = y, tr[nl] = t, live[nl++] = j;
        }
        if (nl > 0) {
            LBN(row) rows[FSS_SHORT_ROWS_MAX];
            double s[FSS_SHORT_ROWS_MAX];
            const int ok = LBN(sums)(k, zr, tr, n, nl, block, rows);
            for (int j = 0; j < nl; ++j) {
                if (!(ok & (1 << j))) { /* NaN, as the stages give such a row */
                    loss[live[j]] = NAN;
                    if (yr[j])
                        XFN(fill)(yr[j], n, (T)NAN);
                    continue;
                }
                const double sw = a->sample_weight ? a->sample_weight[i0 + live[j]] : 1.0;
                const double wt = w ? (double)w[tr[j]] : 1.0;
                loss[live[j]] = sw * (wt * LBN(nll)(&rows[j]));
                if (yr[j])
                    LBN(grad_factors)(&rows[j], sw * r_row, wt, &s[j], &gt[j]);
            }
            if (a->grad && ok)
                LBN(write)(k, block, yr, tr, n, nl, ok, s, gt);
        }
        for (int j = 0; j < g; ++j) {
            if (loss_rows)
                loss_rows[i0 + j] = (T)loss[j];
            acc += loss[j];
            if (i0 + j + 1 == block_end) {
                sums[(block_end - 1) / b.len] = acc;
                acc = 0.0;
                block_end = block_end + b.len < b.units ? block_end + b.len : b.units;
            }
        }
    }
}

/* One thread runs the rows without entering the OpenMP runtime (its team
 * setup, even for a team of one, is a good part of a small call). A team
 * gives each thread a contiguous range of whole blocks of rows; the total
 * has the same bits either way (loss_total.h). */
static int XFN(run)(const KSET *k, const fss_xent_args *a, double *loss_sum, int num_threads)
{
    const int64_t rows = a->n_rows, n = a->n_classes;
    if (loss_sum)
        *loss_sum = 0.0;
    if (rows == 0)
        return FSS_OK;
    const fss_loss_blocks blocks = fss_loss_blocks_for(rows, 1, FSS_LOSS_MIN_BLOCK / (n > 0 ? n : 1) + 1);
    const int nt = fss_threads_for(rows * (n > 0 ? n : 1), blocks.count, num_threads);
    const int lanes = XFN(lanes)(k, a);
    T *scratch = NULL;
    if (XFN(z_in_scratch)(k, a)) {
        scratch = (T *)malloc((size_t)(n > 0 ? n : 1) * sizeof(T) * (size_t)XFN(scratch_rows)(k, a) * (size_t)nt);
        if (scratch == NULL)
            return FSS_ERR_NOMEM;
    }
    double sums[FSS_LOSS_BLOCKS];
#if defined(_OPENMP)
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        {
            const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
            int64_t r0, r1;
            fss_loss_blocks_share(blocks, t, team, &r0, &r1);
            T *buf = scratch ? scratch + (size_t)n * (size_t)XFN(scratch_rows)(k, a) * (size_t)t : NULL;
            if (lanes)
                XFN(lanes_range)(k, a, r0, r1, buf, blocks, sums);
            else
                XFN(rows_range)(k, a, r0, r1, buf, blocks, sums);
        }
    } else
#endif
    {
        (void)nt;
        if (lanes)
            XFN(lanes_range)(k, a, 0, rows, scratch, blocks, sums);
        else
            XFN(rows_range)(k, a, 0, rows, scratch, blocks, sums);
    }
    free(scratch);
    if (loss_sum)
        *loss_sum = fss_loss_blocks_total(sums, blocks.count);
    return FSS_OK;
}

#undef XFN
