# Binding for the sigmoid family (driver/sigmoid_driver.c). Included by
# _core.pyx. Every array arrives flat (1-D, contiguous) and already checked by
# _sigmoid.py; the checks here only guard the C layer against misuse.

cdef extern from "fastsoftmax.h" nogil:
    ctypedef enum fss_sig_op:
        FSS_SIGMOID
        FSS_LOG_SIGMOID
    ctypedef struct fss_bce_args:
        fss_dtype dtype
        int64_t n
        int64_t n_last
        const void *logits
        const void *target
        const void *weight
        int weight_per_row
        const void *pos_weight
        double label_smoothing
        double alpha
        double gamma
        double grad_scale
        void *loss
        void *grad
    int fss_sigmoid_map(fss_sig_op op, fss_dtype dtype, const void *x, int64_t n, void *y,
                        int num_threads)
    int fss_bce_with_logits(const fss_bce_args *args, double *loss_sum, int num_threads)
    int fss_sigmoid_focal(const fss_bce_args *args, double *loss_sum, int num_threads)


cdef fss_dtype _flat_dtype(cnp.ndarray a, str name) except *:
    if a.ndim != 1 or not a.flags.c_contiguous:
        raise ValueError(f"internal: {name} must be a contiguous 1-D array")
    if a.dtype.num == cnp.NPY_FLOAT32:
        return FSS_FLOAT32
    if a.dtype.num == cnp.NPY_FLOAT64:
        return FSS_FLOAT64
    raise TypeError(f"internal: {name} has unsupported kernel dtype {a.dtype}")


cdef const void *_flat_in(cnp.ndarray a, str name, int num, int64_t n) except? NULL:
    if a is None:
        return NULL
    _flat_dtype(a, name)
    if a.dtype.num != num or a.shape[0] != n:
        raise ValueError(f"internal: {name} must have the logits' dtype and {n} elements")
    return cnp.PyArray_DATA(a)


def sigmoid_map(bint log, cnp.ndarray x, cnp.ndarray y, int num_threads):
    """y = sigmoid(x) (log=False) or log_sigmoid(x) over flat contiguous arrays.

    y may be x."""
    cdef fss_dtype dt = _flat_dtype(x, "x")
    _flat_dtype(y, "y")
    if y.dtype.num != x.dtype.num or y.shape[0] != x.shape[0]:
        raise ValueError("internal: x and y must share dtype and length")
    if not y.flags.writeable:
        raise ValueError("internal: y is read-only")
    cdef int64_t n = x.shape[0]
    cdef const void *xp = cnp.PyArray_DATA(x)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef fss_sig_op op = FSS_LOG_SIGMOID if log else FSS_SIGMOID
    cdef int rc
    with nogil:
        rc = fss_sigmoid_map(op, dt, xp, n, yp, num_threads)
    _check_rc(rc)


def sigmoid_fast_call(bint log, object x, object out, object num_threads):
    """sigmoid (log=False) or log_sigmoid of x with no Python-level work, or None.

    Covers an aligned, native-order, non-empty float32/float64 ndarray of at
    least one dimension, C- or Fortran-contiguous, with ``out`` None or an
    ndarray of x's shape, dtype and memory order that is x itself or clear of
    it, and ``num_threads`` None or a positive int. Anything else returns
    None, having written nothing: the general path in _sigmoid.py makes the
    same kernel call (and raises the errors). With ``out``, returns out."""
    if type(x) is not cnp.ndarray:
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x, y
    cdef int num = cnp.PyArray_TYPE(a), nd = cnp.PyArray_NDIM(a), threads = 0, rc
    cdef fss_dtype dt = FSS_FLOAT32 if num == cnp.NPY_FLOAT32 else FSS_FLOAT64
    if (num != cnp.NPY_FLOAT32 and num != cnp.NPY_FLOAT64) or nd == 0 or cnp.PyArray_SIZE(a) == 0:
        return None
    if not cnp.PyArray_ISNOTSWAPPED(a) or not cnp.PyArray_ISALIGNED(a):
        return None
    cdef bint c_order = cnp.PyArray_IS_C_CONTIGUOUS(a)
    if not c_order and not cnp.PyArray_IS_F_CONTIGUOUS(a):
        return None
    if not _fast_threads(num_threads, &threads):
        return None
    if out is None:
        y = cnp.PyArray_EMPTY(nd, cnp.PyArray_DIMS(a), num, not c_order)
    else:
        if type(out) is not cnp.ndarray:
            return None
        y = <cnp.ndarray>out
        if not _usable_out(y, a, nd, cnp.PyArray_DIMS(a)) or not cnp.PyArray_ISALIGNED(y):
            return None
        if not (cnp.PyArray_IS_C_CONTIGUOUS(y) if c_order else cnp.PyArray_IS_F_CONTIGUOUS(y)):
            return None
    cdef int64_t n = cnp.PyArray_SIZE(a)
    cdef const void *xp = cnp.PyArray_DATA(a)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef fss_sig_op op = FSS_LOG_SIGMOID if log else FSS_SIGMOID
    with nogil:
        rc = fss_sigmoid_map(op, dt, xp, n, yp, threads)
    _check_rc(rc)
    return y


def binary_loss(bint focal, cnp.ndarray x, cnp.ndarray target, cnp.ndarray weight,
                bint weight_per_row, cnp.ndarray pos_weight, long long n_last,
                double label_smoothing, double alpha, double gamma, double grad_scale,
                cnp.ndarray loss, cnp.ndarray grad, int num_threads):
    """Binary cross-entropy with logits (focal=False) or sigmoid focal loss.

    Flat contiguous arrays of x's dtype: target (n), weight (n, or n_last with
    weight_per_row), pos_weight (n_last), loss (n) and grad (n, may be x);
    None where absent. Returns the sum of the elementwise losses (float64)."""
    cdef fss_bce_args a
    cdef double total = 0.0
    cdef int rc
    a.dtype = _flat_dtype(x, "x")
    cdef int num = x.dtype.num
    cdef int64_t n = x.shape[0]
    a.n = n
    a.n_last = n_last
    a.logits = cnp.PyArray_DATA(x)
    a.target = _flat_in(target, "target", num, n)
    a.weight = _flat_in(weight, "weight", num, n_last if weight_per_row else n)
    a.weight_per_row = weight_per_row
    a.pos_weight = _flat_in(pos_weight, "pos_weight", num, n_last)
    a.label_smoothing = label_smoothing
    a.alpha = alpha
    a.gamma = gamma
    a.grad_scale = grad_scale
    a.loss = <void *>_flat_in(loss, "loss", num, n)
    a.grad = <void *>_flat_in(grad, "grad", num, n)
    for arr in (loss, grad):
        if arr is not None and not arr.flags.writeable:
            raise ValueError("internal: output array is read-only")
    with nogil:
        if focal:
            rc = fss_sigmoid_focal(&a, &total, num_threads)
        else:
            rc = fss_bce_with_logits(&a, &total, num_threads)
    _check_rc(rc)
    return total
