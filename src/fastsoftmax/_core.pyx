# cython: language_level=3, boundscheck=False, wraparound=False
"""Binding to the C kernels: thin, typed, and GIL-free around every kernel.

Argument checking and normalisation happen in Python (_api.py); this module
only turns checked arrays and collapsed 3-D views into C calls."""

cimport cython
from libc.math cimport INFINITY
from libc.stdint cimport int64_t
cimport numpy as cnp

cnp.import_array()
fss_runtime_init()


cdef extern from "fastsoftmax.h" nogil:
    ctypedef enum fss_op:
        FSS_SOFTMAX
        FSS_LOG_SOFTMAX
        FSS_LOGSUMEXP
    ctypedef enum fss_dtype:
        FSS_FLOAT32
        FSS_FLOAT64
        FSS_FLOAT16
    ctypedef struct fss_shape3:
        int64_t n_outer
        int64_t n_inner
        int64_t n_red
    ctypedef struct fss_view3:
        void *data
        int64_t s_outer
        int64_t s_inner
        int64_t s_red
    int FSS_OK
    int FSS_ERR_NOMEM
    int fss_softmax_family(fss_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 x, fss_view3 y,
                           double temperature, int num_threads)
    int fss_softmax_family_causal(fss_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 x,
                                  fss_view3 y, double temperature, int64_t causal_L,
                                  int num_threads)
    int fss_exp_nonpos(fss_dtype dtype, const void *x, int64_t n, void *y)
    int fss_half_convert(int to_half, const void *src, int64_t n, void *dst)
    void fss_runtime_init()
    int fss_in_forked_child()
    const char *fss_isa_current()
    int fss_isa_compiled(const char **names, int capacity)
    int fss_isa_supported(const char *name)
    int fss_isa_select(const char *name)
    int fss_openmp_enabled()
    const char *fss_openmp_description()
    int fss_default_threads()


OP_SOFTMAX = FSS_SOFTMAX
OP_LOG_SOFTMAX = FSS_LOG_SOFTMAX
OP_LOGSUMEXP = FSS_LOGSUMEXP


# ---- strided 3-D views ------------------------------------------------------

cdef bint _views(int k, cnp.PyArrayObject **arrs, bint *keeps, int axis,
                 fss_shape3 *sh, fss_view3 *views, bint keep_order=False) noexcept:
    """Describe k arrays reduced over ``axis`` as (outer, inner, reduced) views.

    arrs[0] gives the shape; an array with keeps[j] has that shape, one
    without has it minus ``axis`` (a logsumexp result). The kernels see
    (outer x inner) independent rows and one reduced axis. Any two
    non-reduced axes fit that form without copying; more collapse when their
    strides chain in every array (always for C- or F-contiguous arrays).
    Returns False when the layout needs a copy (more than two non-mergeable
    axes, unaligned data, strides that are not whole elements).
    keep_order: merge the non-reduced axes in their own order, without
    sorting them by stride first, so that the rows, numbered
    outer * n_inner + inner, come in C order of those axes (the causal mask
    finds each row's query index from that number).
    """
    cdef cnp.ndarray first = <cnp.ndarray>arrs[0], arr
    cdef int nd = cnp.PyArray_NDIM(first), d, a, j, q, nm = 0
    cdef int64_t isz = cnp.PyArray_ITEMSIZE(first)
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(first)
    cdef cnp.npy_intp *st
    cdef bint chain
    cdef int64_t dn[64]
    cdef int64_t ds[3][64]
    cdef int64_t tn, absj, absq
    cdef int64_t ts[3]
    if k < 1 or k > 3:
        return False
    for a in range(k):
        arr = <cnp.ndarray>arrs[a]
        if not cnp.PyArray_ISALIGNED(arr):
            return False
        st = cnp.PyArray_STRIDES(arr)
        for d in range(cnp.PyArray_NDIM(arr)):
            if st[d] % isz:
                return False
    for d in range(nd):
        if d == axis or shape[d] == 1:
            continue
        dn[nm] = shape[d]
        for a in range(k):
            st = cnp.PyArray_STRIDES(<cnp.ndarray>arrs[a])
            ds[a][nm] = st[d if (keeps[a] or d < axis) else d - 1] // isz
        nm += 1
    # Largest stride of arrs[0] first (a stable insertion sort), then merge
    # neighbours whose strides chain in every array.
    for q in range(1, nm if not keep_order else 0):
        tn = dn[q]
        for a in range(k):
            ts[a] = ds[a][q]
        j = q - 1
        absq = ts[0] if ts[0] >= 0 else -ts[0]
        while j >= 0:
            absj = ds[0][j] if ds[0][j] >= 0 else -ds[0][j]
            if absj >= absq:
                break
            dn[j + 1] = dn[j]
            for a in range(k):
                ds[a][j + 1] = ds[a][j]
            j -= 1
        dn[j + 1] = tn
        for a in range(k):
            ds[a][j + 1] = ts[a]
    j = 0
    for q in range(nm):
        chain = q > 0
        if chain:
            for a in range(k):
                if ds[a][j - 1] != dn[q] * ds[a][q]:
                    chain = False
                    break
        if chain:
            dn[j - 1] *= dn[q]
            for a in range(k):
                ds[a][j - 1] = ds[a][q]
        else:
            dn[j] = dn[q]
            for a in range(k):
                ds[a][j] = ds[a][q]
            j += 1
    if j > 2:
        return False
    while j < 2:
        dn[1] = dn[0]
        dn[0] = 1
        for a in range(k):
            ds[a][1] = ds[a][0]
            ds[a][0] = 0
        j += 1
    sh.n_outer, sh.n_inner, sh.n_red = dn[0], dn[1], shape[axis]
    for a in range(k):
        arr = <cnp.ndarray>arrs[a]
        views[a].data = cnp.PyArray_DATA(arr)
        views[a].s_outer, views[a].s_inner = ds[a][0], ds[a][1]
        views[a].s_red = cnp.PyArray_STRIDES(arr)[axis] // isz if keeps[a] else 0
    return True


cdef inline bint _view3(cnp.ndarray x, cnp.ndarray y, int axis, bint y_keeps_axis,
                        fss_shape3 *sh, fss_view3 *xv, fss_view3 *yv,
                        bint keep_order=False) noexcept:
    """x and y (x's shape, or without ``axis`` when not y_keeps_axis) as views."""
    cdef cnp.PyArrayObject *arrs[2]
    cdef bint keeps[2]
    cdef fss_view3 views[2]
    arrs[0], arrs[1] = <cnp.PyArrayObject *>x, <cnp.PyArrayObject *>y
    keeps[0], keeps[1] = True, y_keeps_axis
    if not _views(2, arrs, keeps, axis, sh, views, keep_order):
        return False
    xv[0], yv[0] = views[0], views[1]
    return True


def strided_views(list arrays, int axis):
    """Same-shaped arrays (1 to 3, one itemsize) reduced over ``axis`` as
    strided 3-D views: ((outer, inner, reduced), [(s_outer, s_inner, s_red),
    ...]) in elements, or None when the layout needs a copy."""
    cdef cnp.PyArrayObject *arrs[3]
    cdef bint keeps[3]
    cdef fss_view3 views[3]
    cdef fss_shape3 sh
    cdef int k = len(arrays), a
    if k < 1 or k > 3:
        raise ValueError("internal: strided_views takes 1 to 3 arrays")
    for a in range(k):
        if not isinstance(arrays[a], cnp.ndarray):
            raise TypeError("internal: strided_views takes ndarrays")
        arrs[a] = <cnp.PyArrayObject *>arrays[a]  # borrowed: the list holds them
        keeps[a] = True
    if not _views(k, arrs, keeps, axis, &sh, views):
        return None
    return (sh.n_outer, sh.n_inner, sh.n_red), [
        (views[a].s_outer, views[a].s_inner, views[a].s_red) for a in range(k)
    ]


cdef int _check_rc(int rc) except -1:
    """A kernel's return code as Python sees it: MemoryError for a buffer it
    could not allocate, RuntimeError for anything else that is not FSS_OK."""
    if rc == FSS_ERR_NOMEM:
        raise MemoryError("fastsoftmax: could not allocate a row buffer")
    if rc != FSS_OK:
        raise RuntimeError(f"fastsoftmax: kernel error {rc}")
    return 0


cdef int _run(int op, fss_dtype dt, fss_shape3 sh, fss_view3 xv, fss_view3 yv,
              double temperature, int num_threads, int64_t causal_L=0) except -1:
    cdef int rc
    with nogil:
        rc = fss_softmax_family_causal(<fss_op>op, dt, sh, xv, yv, temperature, causal_L,
                                       num_threads)
    _check_rc(rc)
    return 0


cdef inline int _kernel_dtype(cnp.ndarray x) noexcept:
    """FSS_FLOAT32 / FSS_FLOAT64 / FSS_FLOAT16 for a native-order float array, else -1
    (float16 runs through the float32 kernels, converted row by row)."""
    cdef int num = cnp.PyArray_TYPE(x)
    if not cnp.PyArray_ISNOTSWAPPED(x):
        return -1
    if num == cnp.NPY_FLOAT32:
        return FSS_FLOAT32
    if num == cnp.NPY_FLOAT64:
        return FSS_FLOAT64
    if num == cnp.NPY_FLOAT16:
        return FSS_FLOAT16
    return -1


def softmax_family(int op, cnp.ndarray x, cnp.ndarray y, int axis, int num_threads,
                   double temperature=1.0, bint causal=False) -> bool:
    """Run one softmax-family kernel of x / temperature over ``axis`` into y.

    x and y share a float32/float64/float16 dtype (checked by the caller); y has x's
    shape (softmax, log_softmax) or x's shape without ``axis`` (logsumexp);
    temperature is finite and > 0 (checked by the caller). causal: ``axis``
    is the last of x's ndim >= 2 axes (checked by the caller) and element
    (..., i, j) takes part only where j <= i. Returns False, having done
    nothing, when the layout needs a copy first.
    """
    cdef fss_shape3 sh
    cdef fss_view3 xv, yv
    cdef int dt = _kernel_dtype(x)
    cdef int64_t causal_L = 0
    if dt < 0 or cnp.PyArray_TYPE(y) != cnp.PyArray_TYPE(x):
        raise TypeError(f"internal: unsupported kernel dtypes {x.dtype}, {y.dtype}")
    if causal:
        if x.ndim < 2 or axis != x.ndim - 1:
            raise ValueError("internal: causal needs the last axis of an ndim >= 2 array")
        causal_L = x.shape[x.ndim - 2]
        if causal_L == 0:
            return True  # no rows
    if not _view3(x, y, axis, op != FSS_LOGSUMEXP, &sh, &xv, &yv, causal):
        return False
    _run(op, <fss_dtype>dt, sh, xv, yv, temperature, num_threads, causal_L)
    return True


cdef bint _overlap(cnp.ndarray a, cnp.ndarray b) noexcept:
    """Whether the byte ranges a and b span intersect (np.may_share_memory's
    bounds test: False proves them apart, True may be a false alarm)."""
    cdef char *lo[2]
    cdef char *hi[2]
    cdef cnp.ndarray arr
    cdef int j, d
    cdef cnp.npy_intp span
    for j in range(2):
        arr = a if j == 0 else b
        if cnp.PyArray_SIZE(arr) == 0:
            return False
        lo[j] = hi[j] = <char *>cnp.PyArray_DATA(arr)
        for d in range(cnp.PyArray_NDIM(arr)):
            span = cnp.PyArray_STRIDES(arr)[d] * (cnp.PyArray_DIMS(arr)[d] - 1)
            if span > 0:
                hi[j] += span
            else:
                lo[j] += span
        hi[j] += cnp.PyArray_ITEMSIZE(arr)
    return lo[0] < hi[1] and lo[1] < hi[0]


cdef bint _usable_out(cnp.ndarray out, cnp.ndarray x, int nd, cnp.npy_intp *shape,
                      object x2=None) noexcept:
    """out fits as a fast path's output for input x (and x2, if given): x's
    dtype in native order, writeable, the given shape, and each input either
    out itself or clear of it (a partial overlap is left to the general path,
    which copies)."""
    cdef int d
    if cnp.PyArray_TYPE(out) != cnp.PyArray_TYPE(x) or not cnp.PyArray_ISNOTSWAPPED(out):
        return False
    if not cnp.PyArray_ISWRITEABLE(out) or cnp.PyArray_NDIM(out) != nd:
        return False
    for d in range(nd):
        if cnp.PyArray_DIMS(out)[d] != shape[d]:
            return False
    if out is not x and _overlap(out, x):
        return False
    return x2 is None or out is x2 or not _overlap(out, <cnp.ndarray>x2)


cdef bint _fast_threads(object num_threads, int *threads) noexcept:
    """num_threads as the fast paths take it (None: 0, the OpenMP default; a
    positive int, capped); False for anything else (the general path checks it)."""
    threads[0] = 0
    if num_threads is None:
        return True
    if type(num_threads) is not int or num_threads < 1:
        return False
    threads[0] = num_threads if num_threads < 65536 else 65536
    return True


def fast_call(int op, object x, object axis, object num_threads=None, object out=None,
              object temperature=1.0):
    """The common call done with no Python-level work, or None.

    Covers an aligned, native-order float16/float32/float64 ndarray with ``axis`` None
    or an int, ``num_threads`` None or a positive int, ``temperature`` a
    finite float > 0 (softmax, log_softmax), ``out`` None or an ndarray of
    the result's shape and dtype that is x itself or clear of it, and every
    other option at its default, whose layout needs no copy.
    Anything else returns None, having written nothing, and takes the
    general path in _api.py, which gives the same results (and the errors).
    With ``out``, returns out."""
    if type(x) is not cnp.ndarray:
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x, y
    cdef int dt = _kernel_dtype(a)
    cdef int nd = cnp.PyArray_NDIM(a), ax, d, ynd
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp rdims[64]
    cdef cnp.npy_intp *yshape = shape
    cdef fss_shape3 sh
    cdef fss_view3 xv, yv
    cdef int threads = 0
    cdef double temp = 1.0
    if dt < 0 or nd == 0 or cnp.PyArray_SIZE(a) == 0 or not _fast_threads(num_threads, &threads):
        return None
    if type(temperature) is not float:
        return None
    temp = temperature
    if not (0.0 < temp < INFINITY):
        return None
    if out is not None and type(out) is not cnp.ndarray:
        return None
    cdef int fortran = cnp.PyArray_IS_F_CONTIGUOUS(a) and not cnp.PyArray_IS_C_CONTIGUOUS(a)
    if axis is None and nd > 1:
        # The whole array as one row: only when it is one contiguous run.
        if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a):
            return None
        ynd = nd if op != FSS_LOGSUMEXP else 0
        if out is None:
            y = cnp.PyArray_EMPTY(ynd, shape, cnp.PyArray_TYPE(a), 0)
        else:
            y = <cnp.ndarray>out
            if not _usable_out(y, a, ynd, shape) or not cnp.PyArray_ISCARRAY(y):
                return None
        sh.n_outer, sh.n_inner, sh.n_red = 1, 1, cnp.PyArray_SIZE(a)
        xv.data, xv.s_outer, xv.s_inner, xv.s_red = cnp.PyArray_DATA(a), 0, 0, 1
        yv.data, yv.s_outer, yv.s_inner, yv.s_red = cnp.PyArray_DATA(y), 0, 0, 1
    else:
        if axis is None:
            ax = 0
        elif type(axis) is int and -nd <= axis < nd:
            ax = axis + nd if axis < 0 else axis
        else:
            return None
        ynd = nd
        if op == FSS_LOGSUMEXP:
            for d in range(nd - 1):
                rdims[d] = shape[d if d < ax else d + 1]
            ynd, yshape = nd - 1, rdims
        if out is None:
            y = cnp.PyArray_EMPTY(ynd, yshape, cnp.PyArray_TYPE(a), fortran)
        else:
            y = <cnp.ndarray>out
            if not _usable_out(y, a, ynd, yshape):
                return None
        if not _view3(a, y, ax, op != FSS_LOGSUMEXP, &sh, &xv, &yv):
            return None
    _run(op, <fss_dtype>dt, sh, xv, yv, temp, threads)
    if out is not None:
        return out
    # (not PyArray_Return: it steals a reference the declaration does not show)
    return y[()] if cnp.PyArray_NDIM(y) == 0 else y


def exp_nonpos(cnp.ndarray x, cnp.ndarray y):
    """exp(x) for x <= 0 through the active kernel set's polynomial (tests).

    x and y: contiguous 1-D float32 or float64 arrays of one dtype and length."""
    cdef fss_dtype dt = FSS_FLOAT32 if x.dtype.num == cnp.NPY_FLOAT32 else FSS_FLOAT64
    if x.dtype.num not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64) or y.dtype.num != x.dtype.num:
        raise TypeError("x and y: float32 or float64, one dtype")
    if x.ndim != 1 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError("x and y: 1-D, one length")
    if not (x.flags.c_contiguous and y.flags.c_contiguous):
        raise ValueError("x and y: contiguous")
    cdef int64_t n = x.shape[0]
    cdef void *xp = cnp.PyArray_DATA(x)
    cdef void *yp = cnp.PyArray_DATA(y)
    with nogil:
        fss_exp_nonpos(dt, xp, n, yp)


def half_convert(cnp.ndarray src, cnp.ndarray dst):
    """float16 -> float32 or float32 -> float16 (by src's dtype) through the
    active kernel set's conversion (tests). Contiguous 1-D, one length."""
    cdef int to_half
    if src.dtype.num == cnp.NPY_FLOAT16 and dst.dtype.num == cnp.NPY_FLOAT32:
        to_half = 0
    elif src.dtype.num == cnp.NPY_FLOAT32 and dst.dtype.num == cnp.NPY_FLOAT16:
        to_half = 1
    else:
        raise TypeError("src and dst: float16 and float32, one each")
    if src.ndim != 1 or dst.ndim != 1 or src.shape[0] != dst.shape[0]:
        raise ValueError("src and dst: 1-D, one length")
    if not (src.flags.c_contiguous and dst.flags.c_contiguous):
        raise ValueError("src and dst: contiguous")
    cdef int64_t n = src.shape[0]
    with nogil:
        fss_half_convert(to_half, cnp.PyArray_DATA(src), n, cnp.PyArray_DATA(dst))


def get_isa() -> str:
    """Name of the kernel set in use."""
    return fss_isa_current().decode()


def compiled_isas() -> list:
    """Kernel sets compiled into this build, lowest first."""
    cdef const char *names[16]
    cdef int n = fss_isa_compiled(names, 16)
    return [names[i].decode() for i in range(min(n, 16))]


def isa_supported(str name) -> bool:
    """Whether this CPU and OS can run the named kernel set."""
    return bool(fss_isa_supported(name.encode()))


def set_isa(str name) -> None:
    """Switch the kernel set ("" for the best supported one)."""
    cdef int rc = fss_isa_select(name.encode())
    if rc == -1:
        raise ValueError(f"unknown ISA {name!r}; compiled: {', '.join(compiled_isas())}")
    if rc == -2:
        supported = [n for n in compiled_isas() if isa_supported(n)]
        raise ValueError(
            f"ISA {name!r} is compiled in but this CPU/OS cannot run it; "
            f"supported here: {', '.join(supported)}"
        )


def openmp_enabled() -> bool:
    return bool(fss_openmp_enabled())


def openmp_description() -> str:
    return fss_openmp_description().decode()


def default_threads() -> int:
    return fss_default_threads()


include "_bind_xent.pxi"
include "_bind_sigmoid.pxi"
include "_bind_backward.pxi"
