# cython: language_level=3, boundscheck=False, wraparound=False
"""Binding to the C kernels: thin, typed, and GIL-free around every kernel.

Argument checking and normalisation happen in Python (_api.py); this module
only turns checked arrays and collapsed 3-D views into C calls."""

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
                           int num_threads)
    int fss_exp_nonpos(fss_dtype dtype, const void *x, int64_t n, void *y)
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


def softmax_family(int op, cnp.ndarray x, cnp.ndarray y, tuple shape, tuple xs, tuple ys,
                   int num_threads):
    """Run one softmax-family kernel over collapsed 3-D views of x and y.

    shape = (outer, inner, reduced); xs, ys = strides in elements, same order.
    x and y are float32 or float64 arrays of the same dtype (checked by the caller).
    """
    cdef fss_shape3 sh
    cdef fss_view3 xv, yv
    cdef fss_dtype dt
    cdef int rc
    if x.dtype.num == cnp.NPY_FLOAT32:
        dt = FSS_FLOAT32
    elif x.dtype.num == cnp.NPY_FLOAT64:
        dt = FSS_FLOAT64
    else:
        raise TypeError(f"internal: unsupported kernel dtype {x.dtype}")
    if y.dtype.num != x.dtype.num:
        raise TypeError("internal: x and y dtypes differ")
    sh.n_outer, sh.n_inner, sh.n_red = shape
    xv.data = cnp.PyArray_DATA(x)
    xv.s_outer, xv.s_inner, xv.s_red = xs
    yv.data = cnp.PyArray_DATA(y)
    yv.s_outer, yv.s_inner, yv.s_red = ys
    with nogil:
        rc = fss_softmax_family(<fss_op>op, dt, sh, xv, yv, num_threads)
    if rc == FSS_ERR_NOMEM:
        raise MemoryError("fastsoftmax: could not allocate a row buffer")
    if rc != FSS_OK:
        raise RuntimeError(f"fastsoftmax: kernel error {rc}")


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


# ---- cross-entropy --------------------------------------------------------

cdef extern from "fastsoftmax.h" nogil:
    ctypedef struct fss_xent_args:
        fss_dtype dtype
        int64_t n_rows
        int64_t n_classes
        const void *logits
        int64_t x_row_stride
        const int64_t *target
        const void *soft_target
        int64_t q_row_stride
        const void *weight
        double weight_sum
        const double *sample_weight
        int64_t ignore_index
        double label_smoothing
        double temperature
        double grad_scale
        void *loss_rows
        void *grad
        int64_t grad_row_stride
    int fss_cross_entropy(const fss_xent_args *args, double *loss_sum, int num_threads)


cdef int64_t _row_stride(cnp.ndarray a, str name) except -1:
    """Row stride in elements of a 2-D array whose last axis is contiguous."""
    if a.ndim != 2 or (a.shape[1] > 1 and a.strides[1] != a.itemsize) or a.strides[0] % a.itemsize:
        raise ValueError(f"internal: {name} is not a row-contiguous 2-D array")
    return a.strides[0] // a.itemsize if a.shape[0] > 1 else a.shape[1]


def cross_entropy(cnp.ndarray x, cnp.ndarray target, cnp.ndarray soft_target, cnp.ndarray weight,
                  double weight_sum, cnp.ndarray sample_weight, long long ignore_index,
                  double label_smoothing, double temperature, double grad_scale,
                  cnp.ndarray loss_rows, cnp.ndarray grad, int num_threads):
    """Row-wise cross-entropy over x (N, C) with contiguous classes.

    Exactly one of target (int64, N) and soft_target (x's dtype, (N, C)) is
    given; weight (C,) of x's dtype, sample_weight (N,) float64, loss_rows (N,)
    of x's dtype and grad ((N, C), x's dtype; may be x) are optional (None).
    Everything is checked by the caller (_xent.py); returns the sum of the row
    losses (float64).
    """
    cdef fss_xent_args a
    cdef double total = 0.0
    cdef int rc
    cdef int num = x.dtype.num
    if num == cnp.NPY_FLOAT32:
        a.dtype = FSS_FLOAT32
    elif num == cnp.NPY_FLOAT64:
        a.dtype = FSS_FLOAT64
    else:
        raise TypeError(f"internal: unsupported kernel dtype {x.dtype}")
    for arr in (soft_target, weight, loss_rows, grad):
        if arr is not None and arr.dtype.num != num:
            raise TypeError("internal: cross_entropy arrays must share x's dtype")
    a.n_rows = x.shape[0]
    a.n_classes = x.shape[1]
    a.logits = cnp.PyArray_DATA(x)
    a.x_row_stride = _row_stride(x, "x")
    a.target = NULL
    a.soft_target = NULL
    a.q_row_stride = 0
    if target is not None:
        if target.dtype.num != cnp.NPY_INT64 or not target.flags.c_contiguous or target.shape[0] != a.n_rows:
            raise TypeError("internal: target must be a contiguous int64 (N,) array")
        a.target = <const int64_t *>cnp.PyArray_DATA(target)
    if soft_target is not None:
        a.soft_target = cnp.PyArray_DATA(soft_target)
        a.q_row_stride = _row_stride(soft_target, "soft_target")
    a.weight = NULL
    if weight is not None:
        if not weight.flags.c_contiguous or weight.shape[0] != a.n_classes:
            raise ValueError("internal: weight must be contiguous (C,)")
        a.weight = cnp.PyArray_DATA(weight)
    a.weight_sum = weight_sum
    a.sample_weight = NULL
    if sample_weight is not None:
        if sample_weight.dtype.num != cnp.NPY_FLOAT64 or not sample_weight.flags.c_contiguous:
            raise TypeError("internal: sample_weight must be contiguous float64")
        a.sample_weight = <const double *>cnp.PyArray_DATA(sample_weight)
    a.ignore_index = ignore_index
    a.label_smoothing = label_smoothing
    a.temperature = temperature
    a.grad_scale = grad_scale
    a.loss_rows = NULL
    if loss_rows is not None:
        if not loss_rows.flags.c_contiguous or loss_rows.shape[0] != a.n_rows:
            raise ValueError("internal: loss_rows must be contiguous (N,)")
        a.loss_rows = cnp.PyArray_DATA(loss_rows)
    a.grad = NULL
    a.grad_row_stride = 0
    if grad is not None:
        a.grad = cnp.PyArray_DATA(grad)
        a.grad_row_stride = _row_stride(grad, "grad")
    with nogil:
        rc = fss_cross_entropy(&a, &total, num_threads)
    if rc == FSS_ERR_NOMEM:
        raise MemoryError("fastsoftmax: could not allocate a row buffer")
    if rc != FSS_OK:
        raise RuntimeError(f"fastsoftmax: kernel error {rc}")
    return total

include "_bind_backward.pxi"
