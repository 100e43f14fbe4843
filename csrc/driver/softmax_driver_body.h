/* The softmax-family driver for one element type, included by
 * softmax_driver.c with T / TS / KSET bound to float or double.
 *
 * It walks a strided 3-D view (outer x inner rows, reduced axis) and picks,
 * per call, one of three walkers:
 *   rows     the reduced axis is contiguous: row kernels, rows across threads;
 *   columns  the reduced axis is strided but the inner axis is contiguous:
 *            column kernels over tiles of adjacent columns (no transposing copy);
 *   gather   neither: each row is copied into a per-thread buffer, computed
 *            there, and scattered back. */

#define DFN(name) FSS_DCAT(FSS_DCAT(fss_drv_, name), FSS_DCAT(_, TS))

/* Non-finite rows follow scipy.special: any NaN gives NaN; a +inf maximum gives
 * NaN softmax, log_softmax NaN at +inf and -inf elsewhere, logsumexp +inf; an
 * all -inf row gives NaN softmax and log_softmax and logsumexp -inf. Returns
 * the maximum to use for those rules: NaN when the row holds a NaN. */
static T DFN(special_max)(const T *x, int64_t n, int64_t stride, T m)
{
    if (m != m)
        return m;
    for (int64_t i = 0; i < n; ++i)
        if (x[i * stride] != x[i * stride])
            return x[i * stride];
    return m;
}

static void DFN(fill)(T *y, int64_t n, int64_t stride, T v)
{
    for (int64_t i = 0; i < n; ++i)
        y[i * stride] = v;
}

/* logsumexp of a row whose result cancels (it is small next to its terms,
 * so the exponentials' own rounding would show), summed again wider: a float
 * row from exponentials taken in double (the f64 kernels, chunk by chunk
 * through a stack buffer; x - m is exact there, the compensation a no-op), a double row in long double with libm's expl
 * (80-bit on x86, 11 more bits; no gain where long double is double). Slow,
 * and only taken for the rows that cancel. stride: between elements. */
static double DFN(wide_lse)(const fss_isa_kernels *isa, const T *x, int64_t n, int64_t stride, T m)
{
#if FSS_DRIVER_F32
    double buf[1024], count = 0.0;
    fss_ksum total = { 0.0, 0.0 };
    for (int64_t i = 0; i < n; i += 1024) {
        const int64_t len = n - i < 1024 ? n - i : 1024;
        for (int64_t j = 0; j < len; ++j)
            buf[j] = (double)x[(i + j) * stride];
        double unit;
        fss_ksum_add(&total, isa->f64.row_sumexp_c(buf, len, (double)m, -INFINITY, NULL, &count, NULL, NULL, &unit));
    }
    return (double)m + log1p(fss_ksum_value(&total) + (count - 1.0));
#else
    long double total = 0.0L, count = 0.0L;
    (void)isa;
    for (int64_t i = 0; i < n; ++i) {
        const double xi = x[i * stride];
        if (xi == m)
            count += 1.0L;
        else
            total += expl((long double)xi - (long double)m);
    }
    return (double)((long double)m + log1pl(total + (count - 1.0L)));
#endif
}

/* log1p(rest) of one row, as log1p_rows takes a group's (the same bits) */
static double DFN(log1p_rest)(const fss_isa_kernels *isa, double rest)
{
    double L;
    isa->TS.log1p_rows(&rest, 1, &L);
    return L;
}

/* The logsumexp of a finite row from its maximum, rest (sum of the other
 * terms' exp(x - m), the max-equal ones included as 1 each) and L =
 * log1p(rest) (DFN(log1p_rest)). The
 * exponentials carry < 1 ULP each, so log1p(rest) is within
 * ~2 ULP * rest / (1 + rest) of exact: below the result's own ULP unless m
 * and log1p(rest) cancel; those rows are summed again wider. */
static T DFN(lse_of)(const fss_isa_kernels *isa, const T *x, int64_t n, int64_t stride, T m, double rest, double L)
{
    const double lse = (double)m + L;
    if (fabs(lse) <= 2.5 * rest / (1.0 + rest))
        return (T)DFN(wide_lse)(isa, x, n, stride, m);
    return (T)lse;
}

/* One contiguous row (x and y may be the same memory).
 * softmax divides by the plain sum of all exponentials (its bound allows the
 * rounding of x - m); log_softmax and logsumexp sum the compensated ones over
 * the elements below the maximum and count the rest, so log1p(rest) keeps
 * the relative precision an output near 0 needs. */
static void DFN(row_as)(const fss_isa_kernels *isa, fss_op op, const T *x, int64_t n, int64_t n_plan, T *y);
static void DFN(row)(const fss_isa_kernels *isa, fss_op op, const T *x, int64_t n, T *y)
{
    DFN(row_as)(isa, op, x, n, n, y);
}

/* y, the output row log_softmax writes after its exponentials, prefetched
 * during them: its pages mapped first by writing one element of each (it is
 * about to be overwritten whole), unless it is the input row (see
 * prefetch_rows). */
static const T *DFN(map_pages)(const T *x, T *y, int64_t n)
{
    if (y != x && n > 0) {
        for (int64_t i = 0; i < n; i += 4096 / (int64_t)sizeof(T))
            y[i] = 0;
        y[n - 1] = 0;
    }
    return y;
}

#ifndef FSS_LONG_ROW
/* Rows of at least this many elements and their outputs do not both stay in
 * L2: softmax takes float ones in chunks (softmax_chunked), log_softmax
 * writes its output with non-temporal stores and does not prefetch it
 * (row_sums, row_result) */
#define FSS_LONG_ROW ((int64_t)131072)
/* log_softmax streams its output too where the whole output is at least
 * this large (bytes), so could not stay in cache anyway: Zen 5, kernel
 * harness, (256, 32000) float32 2.04 -> 1.65 ms; at (1024, 1000), 4 MiB,
 * streaming measured the same as prefetching the output. Rows that go in
 * groups (FSS_ROWS_GROUP_BYTES) never stream (see rows_range). */
#define FSS_STREAM_BYTES ((int64_t)8 << 20)
#endif

#if FSS_DRIVER_F32
/* Softmax of a float row of at least FSS_LONG_ROW elements, in chunks of
 * FSS_CHUNK: each chunk's maximum m_c, then its exponentials exp(x - m_c)
 * and their sum s_c while the chunk is still in cache (the next chunk
 * prefetched meanwhile), then every chunk scaled by exp(m_c - M) / S, S the
 * sum of s_c exp(m_c - M), as hi + lo with one rounding. The three passes
 * over a whole row each went out to L3 once the row outgrew L2; here the
 * input comes from there once and the output goes out and back once. Zen 5,
 * one thread (kernel harness): (16, 262144) float32 1.10 -> 0.89 ms,
 * (32, 131072) 9% faster, (64, 65536) 20% slower, hence the threshold.
 * The terms carry no rounding of x - m_c (chunks_expsum) and the factors
 * are double, so each output keeps one rounding of its own. split_rows
 * takes the same chunks, a run of them per thread, so the same bits at any
 * thread count. A non-finite row gets the general path's softmax (NaN
 * throughout) without reading x again, so y may be x. Float only: a double
 * row's factor would carry exp's own rounding into every output. */
#define FSS_CHUNK 8192
#define FSS_CHUNKS_MAX 4096

/* Whether softmax takes a row of n elements in chunks */
static int DFN(chunked)(fss_op op, int64_t n)
{
    return op == FSS_SOFTMAX && n >= FSS_LONG_ROW && (n + FSS_CHUNK - 1) / FSS_CHUNK <= FSS_CHUNKS_MAX;
}

static int64_t DFN(chunk_len)(int64_t n, int64_t c) { return n - c * FSS_CHUNK < FSS_CHUNK ? n - c * FSS_CHUNK : FSS_CHUNK; }

/* The first step for chunks c0..c1-1 of the row: mc[c]; sc[c], the sum of
 * exp(x - m_c) over the chunk; y, its terms times uc[c] (row_softmax_terms's,
 * which carry no rounding of x - m_c: no shift allowance; a chunk in range
 * takes them in one pass). Returns 0 at a chunk that is not finite but for
 * -inf throughout (then the row is NaN throughout). xn: prefetched with the
 * last. */
static int DFN(chunks_expsum)(const KSET *k, const T *x, int64_t n, T *y, int64_t c0, int64_t c1, T *mc, double *sc,
                              double *uc, const T *xn)
{
    for (int64_t c = c0; c < c1; ++c) {
        const int64_t b = c * FSS_CHUNK, len = DFN(chunk_len)(n, c);
        const double s = k->row_softmax_terms(x + b, len, y + b, c + 1 < c1 ? x + b + len : xn, 1, 1, &mc[c],
                                                  &uc[c]);
        sc[c] = 0.0;
        if (s == s) {
            sc[c] = s / uc[c];
        } else if (mc[c] == -(T)INFINITY && DFN(special_max)(x + b, len, 1, mc[c]) == mc[c]) {
            /* every term 0 (row_max can miss a NaN beside -inf: looked for) */
            uc[c] = 1.0;
            DFN(fill)(y + b, len, 1, 0);
        } else {
            return 0;
        }
    }
    return 1;
}

/* The row's maximum and sum from its nc chunks; 0 where the row is not
 * finite (a NaN sum, or every element -inf) */
static int DFN(chunks_total)(int64_t nc, const T *mc, const double *sc, T *M, double *S)
{
    T m = -(T)INFINITY;
    for (int64_t c = 0; c < nc; ++c)
        m = mc[c] > m ? mc[c] : m;
    fss_ksum total = { 0.0, 0.0 };
    for (int64_t c = 0; c < nc; ++c)
        fss_ksum_add(&total, sc[c] * exp((double)mc[c] - (double)m));
    *M = m;
    *S = fss_ksum_value(&total);
    return *S >= 1.0 && *S <= DBL_MAX;
}

/* The last step for chunks c0..c1-1: y *= exp(m_c - M) / (u_c S), the
 * factor as two floats hi + lo. Below 2^-100 lo would lose bits below the
 * normal range while the outputs need not be that small: a chunk far below
 * the row's maximum whose one-pass terms are large (its first element's K
 * well below its maximum's: u_c up to 2^92). Those chunks, rare, are
 * scaled one element at a time in double. Last chunk first: the chunks
 * written last are the ones still in L2 (Zen 5, one thread, (16, 262144)
 * float32 into the same output: 1.6-2.6% faster than first chunk first). */
static void DFN(chunks_scale)(const KSET *k, T *y, int64_t n, int64_t c0, int64_t c1, const T *mc, const double *uc,
                              T M, double S)
{
    for (int64_t c = c1 - 1; c >= c0; --c) {
        const double f = exp((double)mc[c] - (double)M) / (uc[c] * S);
        T *yc = y + c * FSS_CHUNK;
        const int64_t len = DFN(chunk_len)(n, c);
        if (f < 0x1p-100) {
            for (int64_t i = 0; i < len; ++i)
                yc[i] = (T)((double)yc[i] * f);
            continue;
        }
        const T hi = (T)f, lo = (T)(f - (double)hi);
        k->row_scale(yc, len, hi, lo);
    }
}

/* The whole row (DFN(chunked) rows only) */
static void DFN(softmax_chunked)(const fss_isa_kernels *isa, const T *x, int64_t n, T *y, const T *xn)
{
    const KSET *k = &isa->TS;
    const int64_t nc = (n + FSS_CHUNK - 1) / FSS_CHUNK;
    T mc[FSS_CHUNKS_MAX], M;
    double sc[FSS_CHUNKS_MAX], uc[FSS_CHUNKS_MAX], S;
    if (DFN(chunks_expsum)(k, x, n, y, 0, nc, mc, sc, uc, xn) && DFN(chunks_total)(nc, mc, sc, &M, &S))
        DFN(chunks_scale)(k, y, n, 0, nc, mc, uc, M, S);
    else
        DFN(fill)(y, n, 1, (T)NAN);
}
#endif

/* A log_softmax or logsumexp row's state between its sums and its result */
typedef struct {
    T m;         /* the maximum (NaN once the row is found not finite) */
    double rest; /* the sum of the terms beside the maximum's own */
    int finite;
} DFN(sums);

/* A row's state from its maximum m and the sum rest its kernel returned
 * with count, the terms it counted (row_sums_and_logsub's contract) */
static DFN(sums) DFN(sums_of)(T m, double rest, double count)
{
    DFN(sums) s;
    s.m = m;
    s.rest = rest;
    s.finite = isfinite(s.m);
    if (!s.finite)
        s.rest = 0.0;
    else if (isnan(s.rest))
        s.finite = 0, s.m = (T)NAN;
    else
        s.rest += count - 1.0; /* the counted terms of exactly 1 but the max's own */
    return s;
}

/* The first half of a log_softmax or logsumexp row: the maximum, and the
 * terms' sum with the maximum's own counted, not summed, so log1p(rest)
 * keeps the relative precision an output near 0 needs. xn: as below;
 * stream: log_softmax's output goes out with non-temporal stores
 * (row_result), so it is not prefetched here (FSS_LONG_ROW); one_pass: 0
 * for a causal row's prefix (see DFN(causal_row)); o (may be NULL):
 * another row of n elements whose log_softmax output is written meanwhile
 * (row_sums_and_logsub). */
static DFN(sums) DFN(row_sums_with)(const KSET *k, fss_op op, const T *x, int64_t n, T *y, const T *xn, int stream,
                                    int one_pass, const LOGSUB_ROW *o)
{
    T lo = -(T)INFINITY, m;
    double rest, count = 0.0, unit;
    const T *yp = op == FSS_LOG_SOFTMAX && !stream ? DFN(map_pages)(x, y, n) : NULL;
    if (one_pass && n > k->short_max[op]) {
        /* the maximum and the sum in one pass where the row allows
         * (row_xent_terms; no class target: rest exact wherever it is
         * small). Rows the short-row kernel could take keep the two
         * passes, its bits. */
        rest = o ? k->row_sums_and_logsub(x, n, &m, &lo, &count, xn, yp, &unit, o)
                 : k->row_xent_terms(x, n, -1, NULL, &m, &lo, &count, xn, yp, &unit);
    } else {
        if (o)
            (o->stream ? k->row_logsub_stream : k->row_logsub)(o->x, n, o->m, o->L, o->y);
        m = k->row_maxmin(x, n, &lo);
        rest = isfinite(m) ? k->row_sumexp_c(x, n, m, lo, NULL, &count, xn, yp, &unit) : 0.0;
    }
    return DFN(sums_of)(m, rest, count);
}

static DFN(sums) DFN(row_sums)(const KSET *k, fss_op op, const T *x, int64_t n, T *y, const T *xn, int stream,
                               int one_pass)
{
    return DFN(row_sums_with)(k, op, x, n, y, xn, stream, one_pass, NULL);
}

/* The second half, L = log1p(s->rest) for a finite row */
static void DFN(row_result)(const fss_isa_kernels *isa, fss_op op, const T *x, int64_t n, T *y, const DFN(sums) *s,
                            double L, int stream)
{
    const KSET *k = &isa->TS;
    if (!s->finite) {
        const T me = DFN(special_max)(x, n, 1, s->m);
        if (op == FSS_LOG_SOFTMAX)
            k->row_logsub(x, n, me, 0, y);
        else
            *y = me;
    } else if (op == FSS_LOG_SOFTMAX) {
        (stream ? k->row_logsub_stream : k->row_logsub)(x, n, s->m, (T)L, y);
    } else {
        *y = DFN(lse_of)(isa, x, n, 1, s->m, s->rest, L);
    }
}

/* A row through the general kernels (any length). xn (may be NULL): the
 * next row's input in a loop over rows, prefetched during this row's
 * exponentials (not the next row's output: see prefetch_rows). */
static void DFN(row_general)(const fss_isa_kernels *isa, fss_op op, const T *x, int64_t n, T *y, const T *xn,
                             int stream, int one_pass)
{
    const KSET *k = &isa->TS;
    if (op != FSS_SOFTMAX) {
        const DFN(sums) s = DFN(row_sums)(k, op, x, n, y, xn, stream, one_pass);
        DFN(row_result)(isa, op, x, n, y, &s, s.finite ? DFN(log1p_rest)(isa, s.rest) : 0.0, stream);
        return;
    }
#if FSS_DRIVER_F32
    if (DFN(chunked)(op, n)) {
        DFN(softmax_chunked)(isa, x, n, y, xn);
        return;
    }
#endif
    if (!k->row_softmax(x, n, y, xn, one_pass)) /* scipy: NaN for every non-finite row */
        DFN(fill)(y, n, 1, (T)NAN);
}

/* DFN(row) with the kernel plan (the short-row kernel or the general one) chosen for a row of n_plan >= n elements: a causal row's
 * prefix is computed as its whole row would be (see DFN(causal)). */
static void DFN(row_as)(const fss_isa_kernels *isa, fss_op op, const T *x, int64_t n, int64_t n_plan, T *y)
{
    const KSET *k = &isa->TS;
    if (n_plan <= k->short_max[op] && k->row_short(op, x, n, n_plan, y))
        return;
    DFN(row_general)(isa, op, x, n, y, NULL, n >= FSS_LONG_ROW, n == n_plan);
    if (n >= FSS_LONG_ROW)
        k->stream_fence();
}

/* Whether a group of nb short rows takes them one by one (row_short, the
 * same bits) rather than in lanes: a block costs about the same whatever
 * lanes it fills. Zen 5, AVX-512, log_softmax of k rows: one by one ahead up
 * to 5-8 float rows (16 lanes) of 16-128 elements and 3-4 double rows (8
 * lanes) of 16-96; a 1-D row of 64 floats 680 -> 290 ns a call. */
static int DFN(short_alone)(int nb, int lanes) { return 2 * nb <= lanes; }

/* nb (at most short_rows) short rows of n elements through the short-row
 * kernel, one row per lane; a row it declines goes to the general kernels
 * (as DFN(row) would) */
static void DFN(short_group)(const fss_isa_kernels *k, fss_op op, const T *const *xr, T *const *yr, int64_t n,
                             int nb)
{
    if (DFN(short_alone)(nb, k->TS.short_rows)) {
        for (int j = 0; j < nb; ++j)
            DFN(row)(k, op, xr[j], n, yr[j]);
        return;
    }
    const int done = k->TS.rows_short(op, xr, yr, n, nb);
    for (int j = 0; j < nb; ++j)
        if (!(done & (1 << j)))
            DFN(row_general)(k, op, xr[j], n, yr[j], NULL, n >= FSS_LONG_ROW, 1);
}

/* The outputs still owed of a group of log_softmax rows (n elements each;
 * entries without x are not owed) */
static void DFN(logsub_rows)(const KSET *k, const LOGSUB_ROW *out, int count, int64_t n)
{
    for (int j = 0; j < count; ++j)
        if (out[j].x)
            k->row_logsub(out[j].x, n, out[j].m, out[j].L, out[j].y);
}

/* A walk over the (outer x inner) rows from a row on: each step gives that
 * row's input and output and the next row's input (NULL after the last
 * row), and moves on */
typedef struct {
    int64_t o, i;
} DFN(walk);

static inline void DFN(walk_step)(DFN(walk) *w, fss_view3 X, fss_view3 Y, int64_t ni, int last, const T **x, T **y,
                                  const T **xn)
{
    *x = (const T *)X.data + w->o * X.s_outer + w->i * X.s_inner;
    *y = (T *)Y.data + w->o * Y.s_outer + w->i * Y.s_inner;
    if (++w->i == ni)
        w->i = 0, ++w->o;
    *xn = last ? NULL : (const T *)X.data + w->o * X.s_outer + w->i * X.s_inner;
}

#if FSS_DRIVER_F32
/* The shortest softmax rows for softmax_behind. Shorter ones (the one pass
 * takes them too, from FSS_SOFTMAX_ONE_PASS_MIN in
 * kernels/softmax_row_kernels.h) measured slower so on Zen 5, out= reused,
 * cycles a float, AVX-512 and AVX2: (4096, 1000) 0.77 -> 0.99 and 1.14 ->
 * 1.07, (2048, 1500) 0.67 -> 0.81 and 1.15 -> 1.28, (8192, 500) 0.95 -> 2.1
 * and 1.37 -> 2.43 (rows not a cache line long: each one's stores start and
 * end inside a line). */
#define FSS_SOFTMAX_BEHIND_MIN ((int64_t)2048)

/* The shortest softmax rows for softmax_rows_behind in cache (the longest: those
 * of the row groups, FSS_ROWS_GROUP_BYTES). Zen 5, one thread, float32,
 * out= reused, cycles a float, row by row -> one row behind, AVX-512 and
 * AVX2: (8192, 100) 1.42-1.44 -> 1.42 and 2.28-2.33 -> 2.36-2.37, (8192,
 * 128) 1.33-1.37 -> 1.36-1.38 and 1.70 -> 1.73-1.76, (6144, 160) the same,
 * (4096, 200) 1.36-1.39 -> 1.29-1.32 and 1.52-1.53 -> 1.49-1.50, (4096,
 * 250) 1.18 -> 1.11 and 1.66-1.70 -> 1.61-1.63, (2048, 500) 0.90 -> 0.80
 * and 1.36 -> 1.30, (1024, 1000) 0.71 -> 0.64 and 1.12-1.14 -> 1.07. */
#define FSS_SOFTMAX_CACHED_BEHIND_MIN ((int64_t)160)

/* Softmax rows r0..r1 one row behind: each row's terms, the previous row
 * scaled during this row's pass (row_softmax_terms_with), the last after
 * the loop; a row has no scaling pass of its own, with its start, tail and
 * the wait on its sum's reciprocal before it. The bits of row_softmax.
 * scratch NULL, for outputs that stay in cache: the terms go to the output
 * and are scaled there in place, plain stores (X and Y must not overlap).
 * scratch (2 n elements), for outputs that stream: the terms go to a
 * scratch row (two, alternating, each staying in L2) and out to the output
 * with non-temporal stores, so the output is written once and never read,
 * where terms stored to it and scaled there read every line of it from
 * memory first. */
static void DFN(softmax_rows_behind)(const fss_isa_kernels *k, fss_shape3 sh, fss_view3 X, fss_view3 Y, int64_t r0,
                                     int64_t r1, T *scratch)
{
    const int64_t n = sh.n_red, rows = sh.n_outer * sh.n_inner, ni = sh.n_inner;
    const int stream = scratch != NULL;
    DFN(walk) wk = { r0 / ni, r0 % ni };
    LOGSUB_ROW owed = { NULL, NULL, 0, 0, stream, 1 };
    for (int64_t r = r0; r < r1; ++r) {
        const T *x, *xn;
        T *y, m, hi, lo;
        double unit;
        DFN(walk_step)(&wk, X, Y, ni, r + 1 == rows, &x, &y, &xn);
        T *terms = stream ? scratch + (r & 1) * n : y;
        const double S = k->TS.row_softmax_terms_with(x, n, terms, xn, &m, &unit, owed.x ? &owed : NULL);
        owed.x = NULL;
        if (isnan(S)) { /* scipy: NaN for every non-finite row */
            DFN(fill)(y, n, 1, (T)NAN);
            continue;
        }
        FSS_DCAT(fss_recip_split_, TS)(S, &hi, &lo);
        const LOGSUB_ROW due = { terms, y, hi, lo, stream, 1 };
        owed = due;
    }
    if (owed.x && stream)
        k->TS.row_scaleto_stream(owed.x, n, owed.m, owed.L, owed.y);
    else if (owed.x)
        k->TS.row_scale(owed.y, n, owed.m, owed.L);
    if (stream)
        k->TS.stream_fence();
}

/* softmax_rows_behind for outputs that stream, its scratch allocated here.
 * Returns 0, having done nothing, where the scratch cannot be had. */
static int DFN(softmax_behind)(const fss_isa_kernels *k, fss_shape3 sh, fss_view3 X, fss_view3 Y, int64_t r0,
                               int64_t r1)
{
    T *scratch = (T *)malloc(2 * (size_t)sh.n_red * sizeof(T));
    if (scratch == NULL)
        return 0;
    DFN(softmax_rows_behind)(k, sh, X, Y, r0, r1, scratch);
    free(scratch);
    return 1;
}
#endif

/* Rows r0..r1 of the (outer x inner) rows, walked with a running
 * (outer, inner) position: a 64-bit division per row costs as much as a
 * whole short row's arithmetic. */
static void DFN(rows_range)(const fss_isa_kernels *k, fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y,
                            int64_t r0, int64_t r1)
{
    const int64_t rows = sh.n_outer * sh.n_inner, ni = sh.n_inner;
    const T *xb = (const T *)X.data;
    T *yb = (T *)Y.data;
    int64_t o = r0 / ni, i = r0 % ni;
    const int stream = sh.n_red >= FSS_LONG_ROW || rows * sh.n_red * (int64_t)sizeof(T) >= FSS_STREAM_BYTES;
    if (sh.n_red <= k->TS.short_max[op]) {
        /* short rows, a vector's width of rows at a time; a row the short
         * kernel declines goes to the general kernels (as DFN(row) would) */
        const T *xr[FSS_SHORT_ROWS_MAX];
        T *yr[FSS_SHORT_ROWS_MAX];
        const int per = k->TS.short_rows;
        for (int64_t r = r0; r < r1;) {
            int nb = 0;
            for (; nb < per && r < r1; ++nb, ++r) {
                xr[nb] = xb + o * X.s_outer + i * X.s_inner;
                yr[nb] = yb + o * Y.s_outer + i * Y.s_inner;
                if (++i == ni)
                    i = 0, ++o;
            }
            DFN(short_group)(k, op, xr, yr, sh.n_red, nb);
        }
        return;
    }
#if FSS_DRIVER_F32
    /* softmax rows in cache, one row behind (not in place: a row's terms
     * go to its output before its input is read again where the one pass
     * declines it) */
    if (op == FSS_SOFTMAX && !stream && X.data != Y.data && sh.n_red >= FSS_SOFTMAX_CACHED_BEHIND_MIN &&
        sh.n_red * (int64_t)sizeof(T) <= FSS_ROWS_GROUP_BYTES) {
        DFN(softmax_rows_behind)(k, sh, X, Y, r0, r1, NULL);
        return;
    }
#endif
    if (op != FSS_SOFTMAX && sh.n_red * (int64_t)sizeof(T) <= FSS_ROWS_GROUP_BYTES) {
        /* log_softmax and logsumexp rows in groups: the sums of each, then
         * log1p of the group's rests in one call (log1p_rows), then the
         * results: the same steps as row_general's, so the same bits.
         * A finite log_softmax row's output is written during the sums of
         * the row at its place in the next group (row_sums_and_logsub),
         * the last group's after the loop (Zen 5, AVX-512, float32, one
         * thread: (1024, 1000) 216 -> 198 us, (2048, 512) 267 -> 234 us).
         * Plain stores: these rows are short, and streamed ones (whole
         * outputs from FSS_STREAM_BYTES) measured slower: (4096, 1000)
         * 1.08 against 0.96 ms, with the fence once a call.
         * Float rows take their sums in halves (row_spec_start, then
         * rows_spec_end for the group: see xent_kernels.h), the same bits. */
        const int halves = k->TS.rows_spec_end != NULL;
        LOGSUB_ROW out[FSS_ROWS_GROUP];
        int owed = 0; /* out[j] for j < owed, where out[j].x is set */
        for (int64_t r = r0; r < r1;) {
            const T *xg[FSS_ROWS_GROUP];
            T *yg[FSS_ROWS_GROUP];
            DFN(sums) sg[FSS_ROWS_GROUP];
            FSS_DCAT(fss_spec_row_, TS) st[FSS_ROWS_GROUP];
            double rests[FSS_ROWS_GROUP], logs[FSS_ROWS_GROUP];
            int g = 0;
            for (; g < FSS_ROWS_GROUP && r < r1; ++g, ++r) {
                xg[g] = xb + o * X.s_outer + i * X.s_inner;
                yg[g] = yb + o * Y.s_outer + i * Y.s_inner;
                if (++i == ni)
                    i = 0, ++o;
                const T *xn = r + 1 == rows ? NULL : xb + o * X.s_outer + i * X.s_inner;
                const LOGSUB_ROW *due = g < owed && out[g].x ? &out[g] : NULL;
                if (halves)
                    k->TS.row_spec_start(xg[g], sh.n_red, xn,
                                         op == FSS_LOG_SOFTMAX ? DFN(map_pages)(xg[g], yg[g], sh.n_red) : NULL, due,
                                         &st[g]);
                else
                    sg[g] = DFN(row_sums_with)(&k->TS, op, xg[g], sh.n_red, yg[g], xn, 0, 1, due);
            }
            if (halves) {
                T m[FSS_ROWS_GROUP];
                double count[FSS_ROWS_GROUP], rest[FSS_ROWS_GROUP];
                k->TS.rows_spec_end(g, xg, sh.n_red, st, op == FSS_LOGSUMEXP, m, count, rest);
                for (int j = 0; j < g; ++j)
                    sg[j] = DFN(sums_of)(m[j], rest[j], count[j]);
            }
            for (int j = 0; j < g; ++j)
                rests[j] = sg[j].finite ? sg[j].rest : 0.0;
            DFN(logsub_rows)(&k->TS, out + g, owed - g, sh.n_red);
            k->TS.log1p_rows(rests, g, logs);
            for (int j = 0; j < g; ++j) {
                out[j].x = NULL;
                if (op == FSS_LOG_SOFTMAX && sg[j].finite) {
                    const LOGSUB_ROW due = { xg[j], yg[j], sg[j].m, (T)logs[j], 0, 0 };
                    out[j] = due;
                } else {
                    DFN(row_result)(k, op, xg[j], sh.n_red, yg[j], &sg[j], logs[j], 0);
                }
            }
            owed = g;
        }
        DFN(logsub_rows)(&k->TS, out, owed, sh.n_red);
        return;
    }
#if FSS_DRIVER_F32
    /* softmax rows the one pass takes whose output streams: one row behind */
    if (op == FSS_SOFTMAX && stream && sh.n_red >= FSS_SOFTMAX_BEHIND_MIN && !DFN(chunked)(op, sh.n_red) &&
        DFN(softmax_behind)(k, sh, X, Y, r0, r1))
        return;
#endif
    /* a log_softmax row whose output streams (these rows are past the
     * groups' 8 KiB): that output written during the next row's pass
     * (row_sums_and_logsub, its non-temporal stores aligned whatever the
     * row's offset), the last after the loop. Zen 5, AVX-512, float32, one
     * thread, in the comparison, against two passes: (256, 32000) 1.57-1.59
     * -> 1.18-1.19 ms, (64, 65536) 0.88 -> 0.71-0.73 ms, (1024, 16384) 6.1 ->
     * 5.1 ms, (2048, 4000) 1.58 -> 1.29-1.51 ms, (8192, 2500) 7.8 -> 6.7 ms;
     * rows of 131072+ (which took this path already, its stores plain where
     * the row was not 64-byte aligned) the same. With plain stores (an
     * output that stays in cache) such rows measured 8-13% slower so. */
    LOGSUB_ROW owed = { NULL, NULL, 0, 0, 1, 0 };
    DFN(walk) wk = { o, i };
    for (int64_t r = r0; r < r1; ++r) {
        const T *x, *xn;
        T *y;
        DFN(walk_step)(&wk, X, Y, ni, r + 1 == rows, &x, &y, &xn);
        if (op != FSS_LOG_SOFTMAX || !stream) {
            DFN(row_general)(k, op, x, sh.n_red, y, xn, stream, 1);
            continue;
        }
        const DFN(sums) s = DFN(row_sums_with)(&k->TS, op, x, sh.n_red, y, xn, stream, 1, owed.x ? &owed : NULL);
        const double L = s.finite ? DFN(log1p_rest)(k, s.rest) : 0.0;
        owed.x = NULL;
        if (s.finite) {
            const LOGSUB_ROW due = { x, y, s.m, (T)L, 1, 0 };
            owed = due;
        } else {
            DFN(row_result)(k, op, x, sh.n_red, y, &s, L, stream);
        }
    }
    if (owed.x)
        k->TS.row_logsub_stream(owed.x, sh.n_red, owed.m, owed.L, owed.y);
    if (stream)
        k->TS.stream_fence();
}

/* Rows across threads, a contiguous block each; one thread runs without
 * entering the OpenMP runtime at all (its team setup is a good part of a
 * small call). */
static void DFN(rows)(const fss_isa_kernels *k, fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y, int nt)
{
    const int64_t rows = sh.n_outer * sh.n_inner;
#if defined(_OPENMP)
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        {
            const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
            const int64_t r0 = rows / team * t + (t < rows % team ? t : rows % team);
            DFN(rows_range)(k, op, sh, X, Y, r0, r0 + rows / team + (t < rows % team));
        }
        return;
    }
#endif
    (void)nt;
    DFN(rows_range)(k, op, sh, X, Y, 0, rows);
}

#if FSS_DRIVER_F32
/* split_rows for softmax rows taken in chunks: a run of whole chunks per
 * thread, each step as DFN(softmax_chunked) takes it, so the same bits */
static void DFN(split_chunked)(const fss_isa_kernels *isa, fss_shape3 sh, fss_view3 X, fss_view3 Y, int nt)
{
    const KSET *k = &isa->TS;
    const int64_t rows = sh.n_outer * sh.n_inner, n = sh.n_red, nc = (n + FSS_CHUNK - 1) / FSS_CHUNK;
    T mc[FSS_CHUNKS_MAX];
    double sc[FSS_CHUNKS_MAX], uc[FSS_CHUNKS_MAX];
    int ok[FSS_SPLIT_MAX];
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
    {
#if defined(_OPENMP)
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
#else
        const int t = 0, team = 1;
#endif
        const int64_t per = (nc + team - 1) / team;
        const int64_t c0 = t * per < nc ? t * per : nc, c1 = c0 + per < nc ? c0 + per : nc;
        for (int64_t r = 0; r < rows; ++r) {
            const T *x = (const T *)X.data + (r / sh.n_inner) * X.s_outer + (r % sh.n_inner) * X.s_inner;
            T *y = (T *)Y.data + (r / sh.n_inner) * Y.s_outer + (r % sh.n_inner) * Y.s_inner;
            ok[t] = DFN(chunks_expsum)(k, x, n, y, c0, c1, mc, sc, uc, NULL);
#if defined(_OPENMP)
#pragma omp barrier
#endif
            int fine = 1;
            for (int j = 0; j < team; ++j)
                fine &= ok[j];
            T M;
            double S;
            if (fine && DFN(chunks_total)(nc, mc, sc, &M, &S))
                DFN(chunks_scale)(k, y, n, c0, c1, mc, uc, M, S);
            else if (c1 > c0)
                DFN(fill)(y + c0 * FSS_CHUNK, (c1 - 1) * FSS_CHUNK + DFN(chunk_len)(n, c1 - 1) - c0 * FSS_CHUNK, 1,
                          (T)NAN);
#if defined(_OPENMP)
#pragma omp barrier /* mc, sc and ok are reused by the next row */
#endif
        }
    }
}
#endif

/* Fewer rows than threads, and long ones: each row is split across the team.
 * Pass 1 takes the chunk maxima; pass 2 the chunk sums of exp(x - M) against
 * the row's maximum M (rather than (max, sum) pairs taken against each
 * chunk's own maximum and rescaled when merged: rescaling would lose the
 * exactness of counting the maximum's own terms); pass 3 writes each chunk.
 * Chunk sums are combined in thread order, so the result does not depend on
 * scheduling. Rows that are not finite go to the serial row walker. */
static void DFN(split_rows)(const fss_isa_kernels *isa, fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y,
                            int nt)
{
    const KSET *k = &isa->TS;
    const int64_t rows = sh.n_outer * sh.n_inner, n = sh.n_red;
    T maxes[FSS_SPLIT_MAX];
    double rests[FSS_SPLIT_MAX], counts[FSS_SPLIT_MAX];
    if (nt > FSS_SPLIT_MAX)
        nt = FSS_SPLIT_MAX;
#if FSS_DRIVER_F32
    if (DFN(chunked)(op, n)) {
        DFN(split_chunked)(isa, sh, X, Y, nt);
        return;
    }
#endif
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
    {
#if defined(_OPENMP)
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
#else
        const int t = 0, team = 1;
#endif
        /* chunks of whole cache lines */
        const int64_t per = ((n + team - 1) / team + 63) / 64 * 64;
        const int64_t b = (int64_t)t * per < n ? (int64_t)t * per : n;
        const int64_t len = n - b < per ? n - b : per;
        for (int64_t r = 0; r < rows; ++r) {
            const T *x = (const T *)X.data + (r / sh.n_inner) * X.s_outer + (r % sh.n_inner) * X.s_inner;
            T *y = (T *)Y.data + (r / sh.n_inner) * Y.s_outer + (r % sh.n_inner) * Y.s_inner;
            T lo = -(T)INFINITY; /* this thread's chunk's minimum (as in row_general) */
            maxes[t] = len <= 0              ? -(T)INFINITY
                       : op == FSS_SOFTMAX ? k->row_max(x + b, len)
                                           : k->row_maxmin(x + b, len, &lo);
#if defined(_OPENMP)
#pragma omp barrier
#endif
            T m = maxes[0];
            for (int j = 1; j < team; ++j)
                m = maxes[j] > m || maxes[j] != maxes[j] ? maxes[j] : m;
            int finite = isfinite(m);
            if (finite) {
                double c = 0.0, unit;
                rests[t] = len <= 0 ? 0.0
                           : op == FSS_SOFTMAX ? k->row_expsum(x + b, len, m, lo, y + b, NULL, NULL)
                                               : k->row_sumexp_c(x + b, len, m, lo, NULL, &c, NULL, NULL, &unit);
                counts[t] = c;
            }
#if defined(_OPENMP)
#pragma omp barrier
#endif
            double rest = 0.0;
            if (finite) {
                fss_ksum total = { 0.0, 0.0 };
                double count = 0.0;
                for (int j = 0; j < team; ++j) {
                    fss_ksum_add(&total, rests[j]);
                    count += counts[j];
                }
                /* softmax: the whole sum; else the rest beside the maximum */
                rest = fss_ksum_value(&total) + (op == FSS_SOFTMAX ? 0.0 : count - 1.0);
                finite = !isnan(rest);
            }
            if (!finite && op == FSS_SOFTMAX) {
                DFN(fill)(y + b, len, 1, (T)NAN); /* scipy: NaN for every non-finite row */
            } else if (!finite) {
                if (t == 0)
                    DFN(row)(isa, op, x, n, y);
            } else if (op == FSS_SOFTMAX) {
                T hi, lo;
                FSS_DCAT(fss_recip_split_, TS)(rest, &hi, &lo);
                if (len > 0)
                    k->row_scale(y + b, len, hi, lo);
            } else if (op == FSS_LOG_SOFTMAX) {
                if (len > 0)
                    (n < FSS_LONG_ROW ? k->row_logsub : k->row_logsub_stream)(
                        x + b, len, m, (T)DFN(log1p_rest)(isa, rest), y + b);
            } else if (t == 0) {
                *y = DFN(lse_of)(isa, x, n, 1, m, rest, DFN(log1p_rest)(isa, rest));
            }
#if defined(_OPENMP)
#pragma omp barrier /* maxes and rests are reused by the next row */
#endif
        }
        if (op == FSS_LOG_SOFTMAX && n >= FSS_LONG_ROW)
            k->stream_fence();
    }
}

/* Whether the panels of n rows of w elements at a (row stride as) and b
 * (bs) may share memory: their address ranges overlap */
static int DFN(panels_overlap)(const T *a, int64_t n, int64_t as, int64_t w, const T *b, int64_t bs)
{
    const intptr_t a_end = (intptr_t)(n - 1) * (intptr_t)as, b_end = (intptr_t)(n - 1) * (intptr_t)bs;
    const uintptr_t a0 = (uintptr_t)a + (uintptr_t)(a_end < 0 ? a_end : 0) * sizeof(T);
    const uintptr_t a1 = (uintptr_t)a + (uintptr_t)((a_end > 0 ? a_end : 0) + w) * sizeof(T);
    const uintptr_t b0 = (uintptr_t)b + (uintptr_t)(b_end < 0 ? b_end : 0) * sizeof(T);
    const uintptr_t b1 = (uintptr_t)b + (uintptr_t)((b_end > 0 ? b_end : 0) + w) * sizeof(T);
    return a0 < b1 && b0 < a1;
}

/* Up to k->col_width adjacent columns starting at x (and y). */
static void DFN(col_tile)(const fss_isa_kernels *isa, fss_op op, const T *x, int64_t n, int64_t xs, int64_t w, T *y,
                          int64_t ys, int64_t y_col_stride)
{
    T m[FSS_COL_MAX(T)], aux[FSS_COL_MAX(T)], aux_lo[FSS_COL_MAX(T)];
    double rest[FSS_COL_MAX(T)], count[FSS_COL_MAX(T)], r[FSS_COL_MAX(T)], L[FSS_COL_MAX(T)];
    double unit[FSS_COL_MAX(T)];
    T K[FSS_COL_MAX(T)];
    int ok[FSS_COL_MAX(T)];
    const KSET *k = &isa->TS;
    /* softmax's terms: the two passes store them to y; the one pass (float)
     * too where the panel is whole rows (xs == w), read back at the speed of
     * one stream, but where it is a slice of each row (a page each, the
     * hardware prefetchers starting over on every one) its second pass forms
     * them again from x (col_expscale), and in place (out=x) always, as a
     * declined panel reads x again. Zen 5, AVX-512, one thread, float32 over
     * axis 0, terms stored against formed again: (1000, 4096) 2.15 / 1.83
     * ms, (5000, 512) 0.58 / 0.79 ms. */
    const int store = op == FSS_SOFTMAX && xs == w && !DFN(panels_overlap)(x, n, xs, w, y, ys);
    const int one_pass = k->col_stats(x, n, xs, w, m, rest, count, op == FSS_SOFTMAX ? y : NULL, ys,
                                      op != FSS_SOFTMAX, unit, op == FSS_SOFTMAX && !store ? K : NULL);
    for (int64_t j = 0; j < w; ++j) {
        ok[j] = isfinite(m[j]) && !isnan(rest[j]);
        r[j] = ok[j] ? rest[j] + (count[j] - 1.0) : 0.0; /* count - 1 first: exact, and rest stays small */
    }
    /* the tile's log1p at once (one column at a time, this vector call was
     * 43% of log_softmax of (64, 64, 64) over axis 1 on Zen 5) */
    if (op != FSS_SOFTMAX)
        k->log1p_rows(r, (int)w, L);
    for (int64_t j = 0; j < w; ++j) {
        if (!ok[j])
            m[j] = DFN(special_max)(x + j, n, xs, isnan(rest[j]) ? (T)NAN : m[j]);
        if (op == FSS_SOFTMAX && ok[j])
            FSS_DCAT(fss_recip_split_, TS)(one_pass ? (1.0 + r[j]) * unit[j] : 1.0 + r[j], &aux[j], &aux_lo[j]);
        else if (op == FSS_SOFTMAX)
            aux[j] = (T)NAN, aux_lo[j] = 0;
        else if (op == FSS_LOG_SOFTMAX)
            aux[j] = ok[j] ? (T)L[j] : 0;
        else
            y[j * y_col_stride] = ok[j] ? DFN(lse_of)(isa, x + j, n, xs, m[j], r[j], L[j]) : m[j];
    }
    if (op == FSS_SOFTMAX && one_pass && !store)
        k->col_expscale(x, n, xs, w, K, aux, aux_lo, y, ys);
    else if (op == FSS_SOFTMAX)
        k->col_scale(y, n, ys, w, aux, aux_lo);
    else if (op == FSS_LOG_SOFTMAX)
        k->col_logsub(x, n, xs, w, m, aux, y, ys);
}

static void DFN(columns)(const fss_isa_kernels *isa, fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y, int64_t cw,
                         int nt)
{
    const int64_t tiles_per_outer = (sh.n_inner + cw - 1) / cw;
    const int64_t tasks = sh.n_outer * tiles_per_outer;
    const T *xb = (const T *)X.data;
    T *yb = (T *)Y.data;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int64_t t = 0; t < tasks; ++t) {
        const int64_t o = t / tiles_per_outer, j0 = (t % tiles_per_outer) * cw;
        const int64_t w = sh.n_inner - j0 < cw ? sh.n_inner - j0 : cw;
        DFN(col_tile)(isa, op, xb + o * X.s_outer + j0, sh.n_red, X.s_red, w,
                      yb + o * Y.s_outer + j0 * Y.s_inner, Y.s_red, Y.s_inner);
    }
    (void)nt;
}

/* w[j] = x[j * xs] / t for j < n (w may be x), rounded as the division rounds. Where t is
 * a power of two whose reciprocal is finite, by that reciprocal: the product
 * is then the exact quotient before its one rounding, so the same value, and
 * a multiply costs a fraction of a divide (Zen 1 divides a vector in about
 * ten cycles: softmax of (1024, 1000) float32 takes 35% longer with T = 3,
 * 12% with T = 2). */
static void DFN(divide_row)(const T *x, int64_t xs, int64_t n, T t, T *w)
{
    int e;
    const T r = (T)1 / t;
    const int by_recip = frexp((double)t, &e) == 0.5 && isfinite(r);
    if (xs == 1 && by_recip) { /* (the contiguous loops written apart, so that they vectorise) */
        for (int64_t j = 0; j < n; ++j)
            w[j] = x[j] * r;
    } else if (xs == 1) {
        for (int64_t j = 0; j < n; ++j)
            w[j] = x[j] / t;
    } else if (by_recip) {
        for (int64_t j = 0; j < n; ++j)
            w[j] = x[j * xs] * r;
    } else {
        for (int64_t j = 0; j < n; ++j)
            w[j] = x[j * xs] / t;
    }
}

/* Rows copied into a per-thread buffer first: rows whose reduced axis is
 * strided (and whose columns are not contiguous either), and every call with
 * a temperature, whose rows are divided by it on the way in (x / T rounded as
 * NumPy rounds it, so the result equals that of the call on x / T, without
 * an array-sized temporary). A contiguous output row is written directly.
 * Short rows (the short-row kernel's lengths) go a vector's width of rows at
 * a time through that kernel, as DFN(rows_range) takes contiguous ones, so
 * the same bits: one by one, softmax of 4096 x 10 floats with a temperature
 * took 2.5 times as long as without. */
static int DFN(gather)(const fss_isa_kernels *k, fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y, T temperature,
                       int nt)
{
    const int64_t rows = sh.n_outer * sh.n_inner, n = sh.n_red, ni = sh.n_inner;
    const int64_t per = n <= k->TS.short_max[op] ? k->TS.short_rows : 1;
    /* per thread: per rows of input, and for groups as many of output (one
     * row alone is computed in place) */
    const size_t each = (size_t)(n > 0 ? n : 1) * (size_t)per * (per > 1 ? 2 : 1);
    T *buffers = (T *)malloc(each * sizeof(T) * (size_t)nt);
    if (buffers == NULL)
        return FSS_ERR_NOMEM;
    const T *xb = (const T *)X.data;
    T *yb = (T *)Y.data;
    const int scaled = temperature != (T)1;
    const int y_direct = op == FSS_LOGSUMEXP || Y.s_red == 1;
    const int64_t groups = (rows + per - 1) / per;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
#if defined(_OPENMP)
        T *buf = buffers + each * (size_t)omp_get_thread_num();
#pragma omp for schedule(static)
#else
        T *buf = buffers;
#endif
        for (int64_t gi = 0; gi < groups; ++gi) {
            const int64_t r0 = gi * per, r1 = r0 + per < rows ? r0 + per : rows;
            const T *xr[FSS_SHORT_ROWS_MAX];
            T *yr[FSS_SHORT_ROWS_MAX], *yout[FSS_SHORT_ROWS_MAX];
            const int nb = (int)(r1 - r0);
            for (int j = 0; j < nb; ++j) {
                const int64_t o = (r0 + j) / ni, i = (r0 + j) % ni;
                const T *x = xb + o * X.s_outer + i * X.s_inner;
                T *w = buf + (size_t)j * (size_t)n;
                if (scaled)
                    DFN(divide_row)(x, X.s_red, n, temperature, w);
                else
                    for (int64_t c = 0; c < n; ++c)
                        w[c] = x[c * X.s_red];
                xr[j] = w;
                yout[j] = yb + o * Y.s_outer + i * Y.s_inner;
                /* a strided output row: computed in the buffer's second half, in place when alone */
                yr[j] = y_direct ? yout[j] : per == 1 ? w : buf + (size_t)(per + j) * (size_t)n;
            }
            if (per > 1) {
                DFN(short_group)(k, op, xr, yr, n, nb);
            } else if (n <= k->TS.short_max[op]) { /* one row per group (the scalar set) */
                DFN(row)(k, op, xr[0], n, yr[0]);
            } else {
                /* a contiguous next input row is prefetched meanwhile, as DFN(rows_range) does */
                const int64_t o = (r0 + 1) / ni, i = (r0 + 1) % ni;
                const T *xn = X.s_red == 1 && r0 + 1 < rows ? xb + o * X.s_outer + i * X.s_inner : NULL;
                DFN(row_general)(k, op, xr[0], n, yr[0], xn, n >= FSS_LONG_ROW, 1);
                if (n >= FSS_LONG_ROW) /* rows this long: a fence each costs nothing */
                    k->TS.stream_fence();
            }
            for (int j = 0; !y_direct && j < nb; ++j)
                for (int64_t c = 0; c < n; ++c)
                    yout[j][c * Y.s_red] = yr[j][c];
        }
    }
    free(buffers);
    (void)nt;
    return FSS_OK;
}

/* One causal row: x has n elements (stride xs), of which the first nk take
 * part; y gets n outputs (stride ys; one value for logsumexp), the last
 * n - nk of them 0 (softmax) or -inf (log_softmax).
 *
 * Bit for bit the result of the whole row with elements nk.. set to -inf
 * (what where= computes). The row kernels fix the association of their sums
 * by position: pairs of vectors (2W = 2 * k->short_rows elements) within blocks
 * of whole pairs, then a tail of single vectors. A pair or block of -inf
 * adds exact zeros, so the masked row's sums are those of its prefix padded
 * with -inf to np = nk rounded up to a whole pair (at most n). That padding
 * changes nothing when the prefix ends in the first vector of its last pair
 * (nk mod 2W in 1..W: the padded pair adds a zero vector where the unpadded
 * tail adds nothing) and nothing when it ends on a pair boundary: those
 * contiguous rows are read straight from x. Otherwise the padded prefix is
 * built in a working copy: the output row when it is contiguous (its tail
 * is overwritten afterwards; it may be x itself, in place), else buf (n
 * elements). The kernel plan (short-row kernel or not) is that of a row of
 * n elements; the short-row kernel sums by position (short_combine), so
 * its prefix needs no padding at all. A prefix shorter than its row takes
 * the two passes (row_as: one_pass only for n == n_plan): the masked row's
 * -inf elements keep it out of row_xent_terms's one pass.
 * tests/test_causal.py checks the equality under every ISA. */
static void DFN(causal_row)(const fss_isa_kernels *isa, fss_op op, const T *x, int64_t xs, int64_t n, int64_t nk,
                            T temperature, T *y, int64_t ys, T *buf)
{
    const int64_t pair = 2 * (int64_t)isa->TS.short_rows, rem = nk % pair;
    const int short_row = n <= isa->TS.short_max[op];
    int64_t np = nk;
    const T *src = x;
    if (xs != 1 || temperature != (T)1 || (!short_row && rem > pair / 2)) {
        T *w = op != FSS_LOGSUMEXP && ys == 1 ? y : buf;
        if (temperature != (T)1) {
            DFN(divide_row)(x, xs, nk, temperature, w);
        } else if (xs == 1) {
            if (w != x)
                memcpy(w, x, (size_t)nk * sizeof(T));
        } else {
            for (int64_t j = 0; j < nk; ++j)
                w[j] = x[j * xs];
        }
        np = rem == 0 || short_row ? nk : nk - rem + pair;
        if (np > n)
            np = n;
        for (int64_t j = nk; j < np; ++j)
            w[j] = -(T)INFINITY;
        src = w;
    }
    if (op == FSS_LOGSUMEXP) {
        DFN(row_as)(isa, op, src, np, n, y);
        return;
    }
    if (ys == 1) {
        DFN(row_as)(isa, op, src, np, n, y);
    } else {
        DFN(row_as)(isa, op, src, np, n, buf);
        for (int64_t j = 0; j < nk; ++j)
            y[j * ys] = buf[j];
    }
    DFN(fill)(y + nk * ys, n - nk, ys, op == FSS_SOFTMAX ? (T)0 : -(T)INFINITY);
}

/* Causal rows: row r of the (outer x inner) rows, numbered row-major, is
 * query i = r mod L and uses its first min(i + 1, n) elements. Every layout
 * and the temperature go through DFN(causal_row); no column kernels (their
 * columns would have different lengths) and no split of long rows (that
 * needs fewer rows than threads, and then every prefix is shorter than
 * L <= rows < 256 elements). Rows are dealt to threads round-robin in small
 * chunks, since a row's cost grows with i. */
static int DFN(causal)(const fss_isa_kernels *isa, fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y, T temperature,
                       int64_t L, int num_threads)
{
    const int64_t rows = sh.n_outer * sh.n_inner, n = sh.n_red;
    /* elements that take part: per block of L rows, sum over i of min(i + 1, n) */
    const int64_t per_block = L <= n ? L * (L + 1) / 2 : n * (n + 1) / 2 + (L - n) * n;
    const int64_t work = rows / L * per_block;
    const int nt = fss_threads_for(work > rows ? work : rows, rows, num_threads);
    /* a working row for outputs that are not contiguous rows of y */
    const int need_buf = op == FSS_LOGSUMEXP || Y.s_red != 1;
    T *buffers = NULL;
    if (need_buf) {
        buffers = (T *)malloc((size_t)(n > 0 ? n : 1) * sizeof(T) * (size_t)nt);
        if (buffers == NULL)
            return FSS_ERR_NOMEM;
    }
    /* chunks of at least 64 elements' worth of rows (no false sharing of y) */
    const int64_t chunk = n >= 64 ? 1 : (64 + n - 1) / (n > 0 ? n : 1);
    const T *xb = (const T *)X.data;
    T *yb = (T *)Y.data;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
#if defined(_OPENMP)
        T *buf = buffers ? buffers + (size_t)n * (size_t)omp_get_thread_num() : NULL;
#pragma omp for schedule(static, chunk)
#else
        T *buf = buffers;
#endif
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t o = r / sh.n_inner, i = r % sh.n_inner, q = r % L;
            DFN(causal_row)(isa, op, xb + o * X.s_outer + i * X.s_inner, X.s_red, n, q < n ? q + 1 : n,
                            temperature, yb + o * Y.s_outer + i * Y.s_inner, Y.s_red, buf);
        }
    }
    free(buffers);
    (void)chunk;
    return FSS_OK;
}

static int DFN(run)(const fss_isa_kernels *isa, fss_op op, fss_shape3 sh, fss_view3 X, fss_view3 Y, double temperature,
                    int64_t causal_L, int num_threads)
{
    const KSET *k = &isa->TS;
    const int64_t rows = sh.n_outer * sh.n_inner;
    if (rows == 0)
        return FSS_OK;
    if (sh.n_red <= 1)
        X.s_red = Y.s_red = 1;
    if (sh.n_inner <= 1)
        X.s_inner = Y.s_inner = 1;
    if (causal_L > 0)
        return DFN(causal)(isa, op, sh, X, Y, (T)temperature, causal_L, num_threads);
    const int64_t work = rows * (sh.n_red > 0 ? sh.n_red : 1);
    const int y_rows_contig = op == FSS_LOGSUMEXP || Y.s_red == 1;
    const int y_cols_contig = op == FSS_LOGSUMEXP || Y.s_inner == 1;
    if ((T)temperature != (T)1)
        return DFN(gather)(isa, op, sh, X, Y, (T)temperature, fss_threads_for(work, rows, num_threads));
    if (X.s_red == 1 && y_rows_contig) {
        const int nt = fss_threads_for(work, rows, num_threads);
        const int nt_split = fss_threads_for(work, work / FSS_SPLIT_MIN_CHUNK, num_threads);
        if (nt_split > rows && nt_split > nt)
            DFN(split_rows)(isa, op, sh, X, Y, nt_split);
        else
            DFN(rows)(isa, op, sh, X, Y, nt);
        return FSS_OK;
    }
    if (X.s_inner == 1 && y_cols_contig && sh.n_inner > 1) {
        /* Wide panels walk the strided axis fewer times; narrower ones when
         * the threads the work allows would otherwise lack panels. */
        const int nt_max = fss_threads_for(work, work, num_threads);
        int64_t cw = k->col_width;
        while (cw > 16 && sh.n_outer * ((sh.n_inner + cw - 1) / cw) < nt_max)
            cw /= 2;
        const int64_t tasks = sh.n_outer * ((sh.n_inner + cw - 1) / cw);
        DFN(columns)(isa, op, sh, X, Y, cw, fss_threads_for(work, tasks, num_threads));
        return FSS_OK;
    }
    return DFN(gather)(isa, op, sh, X, Y, (T)1, fss_threads_for(work, rows, num_threads));
}

#undef DFN
