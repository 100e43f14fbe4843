# Binding for cross_entropy (driver/xent_driver.c) and the label and weight
# checks it shares with the softmax focal loss (driver/xent_checks.c).
# Included by _core.pyx before _bind_backward.pxi (which uses _row_stride).
# _xent.py and _focal.py check every argument first except the labels'
# values, which are read here, in C, before any kernel writes; the checks
# here only guard the C layer against misuse. Array properties are read
# through the C API: on a 10-class batch each Python-level attribute
# (dtype, flags) costs about as much as a row of the kernel.

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
    ctypedef struct fss_label_args:
        const int64_t *target
        int64_t n
        int64_t n_classes
        int target_unsigned
        int64_t ignore_index
        fss_dtype weight_dtype
        const void *weight
        const double *sample_weight
    ctypedef struct fss_label_stats:
        int64_t first_bad
        int64_t n_ignored
        double weight_total
    int fss_check_labels(const fss_label_args *args, fss_label_stats *out)
    int64_t fss_first_bad_weight(const double *v, int64_t n)

from libc.math cimport INFINITY

cdef extern from "numpy/arrayobject.h":
    # (commented out in NumPy's .pxd): a NumPy scalar of descr from the C value at data
    object PyArray_Scalar(void *data, cnp.dtype descr, object base)


class BadLabel(ValueError):
    """internal: the label at flat index ``index`` is neither in [0, C) nor
    ignore_index. The caller words the error (it knows the target's shape)."""

    def __init__(self, index):
        super().__init__(index)
        self.index = index


cdef int64_t _row_stride(cnp.ndarray a, str name) except? -1:
    """Row stride in elements of a 2-D array whose last axis is contiguous."""
    cdef int64_t isz = cnp.PyArray_ITEMSIZE(a)
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(a)
    if cnp.PyArray_NDIM(a) != 2 or (shape[1] > 1 and strides[1] != isz) or strides[0] % isz:
        raise ValueError(f"internal: {name} is not a row-contiguous 2-D array")
    return strides[0] // isz if shape[0] > 1 else shape[1]


cdef int _set_labels(fss_label_args *la, cnp.ndarray target, bint target_unsigned,
                     int64_t n) except -1:
    """Point la at target: n contiguous, aligned, native int64 (uint64 values
    viewed as int64 with target_unsigned), or NULL for None."""
    la.target = NULL
    la.target_unsigned = target_unsigned
    la.n = n
    if target is None:
        return 0
    if (cnp.PyArray_TYPE(target) != cnp.NPY_INT64 or not cnp.PyArray_ISCARRAY_RO(target)
            or cnp.PyArray_SIZE(target) != n):
        raise TypeError("internal: target must be a contiguous native int64 array of N labels")
    la.target = <const int64_t *>cnp.PyArray_DATA(target)
    return 0


cdef int _vector_arg(const void **p, cnp.ndarray a, int typenum, int64_t n, str name) except -1:
    """*p = a's data (NULL for None): n contiguous, aligned elements of typenum."""
    p[0] = NULL
    if a is None:
        return 0
    if (cnp.PyArray_TYPE(a) != typenum or not cnp.PyArray_ISCARRAY_RO(a)
            or cnp.PyArray_SIZE(a) != n):
        raise TypeError(f"internal: {name} must be {n} contiguous elements of the kernel dtype")
    p[0] = cnp.PyArray_DATA(a)
    return 0


def first_bad_weight(cnp.ndarray v):
    """Flat index of the first NaN, infinite or negative value of a contiguous
    float64 array, or -1."""
    if cnp.PyArray_TYPE(v) != cnp.NPY_FLOAT64 or not cnp.PyArray_ISCARRAY_RO(v):
        raise TypeError("internal: weights must be a contiguous native float64 array")
    return fss_first_bad_weight(<const double *>cnp.PyArray_DATA(v), cnp.PyArray_SIZE(v))


def check_labels(cnp.ndarray target, bint target_unsigned, int64_t n_classes,
                 long long ignore_index, cnp.ndarray weight):
    """fss_check_labels over a contiguous int64 target (see _set_labels) with
    float64 class weights (or None): (n_ignored, weight_total); a bad label
    raises BadLabel with its flat index."""
    cdef fss_label_args la
    cdef fss_label_stats st
    cdef int rc
    _set_labels(&la, target, target_unsigned, cnp.PyArray_SIZE(target))
    la.n_classes = n_classes
    la.ignore_index = ignore_index
    la.weight_dtype = FSS_FLOAT64
    _vector_arg(&la.weight, weight, cnp.NPY_FLOAT64, n_classes, "weight")
    la.sample_weight = NULL
    with nogil:
        rc = fss_check_labels(&la, &st)
    if rc != FSS_OK:
        raise RuntimeError(f"fastsoftmax: label check error {rc}")
    if st.first_bad >= 0:
        raise BadLabel(st.first_bad)
    return st.n_ignored, st.weight_total


@cython.cdivision(True)
cdef int _xent_run(fss_xent_args *a, fss_label_args *la, bint mean, int num_threads,
                   double *total, fss_label_stats *st) except -1:
    """The label check, then (labels good) the kernel, in one release of the GIL.
    la: its target set (_set_labels); the rest comes from a. Returns 1 for a bad
    label (st.first_bad; nothing written), 0 when done."""
    cdef int rc
    la.n_classes = a.n_classes
    la.ignore_index = a.ignore_index
    la.weight_dtype = a.dtype
    la.weight = a.weight
    la.sample_weight = a.sample_weight
    with nogil:
        rc = fss_check_labels(la, st)
        if rc == FSS_OK and st.first_bad < 0:
            a.grad_scale = (1.0 / st.weight_total if st.weight_total > 0 else 0.0) if mean else 1.0
            rc = fss_cross_entropy(a, total, num_threads)
    _check_rc(rc)
    return 1 if st.first_bad >= 0 else 0


def cross_entropy(cnp.ndarray x, cnp.ndarray target, bint target_unsigned,
                  cnp.ndarray soft_target, cnp.ndarray weight, double weight_sum,
                  cnp.ndarray sample_weight, long long ignore_index, double label_smoothing,
                  double temperature, bint mean, cnp.ndarray loss_rows, cnp.ndarray grad,
                  int num_threads):
    """Row-wise cross-entropy over x (N, C) with contiguous classes.

    Exactly one of target (N labels, see _set_labels) and soft_target (x's
    dtype, (N, C)) is given; weight (C,) of x's dtype, sample_weight (N,)
    float64, loss_rows (N,) of x's dtype and grad ((N, C), x's dtype; may be
    x) are optional (None). The labels are checked first (a bad one raises
    BadLabel with its flat index, and nothing is written); the gradient is
    scaled by 1 / the mean denominator when ``mean``. Returns (sum of the row
    losses, the mean denominator), both float64.
    """
    cdef fss_xent_args a
    cdef fss_label_args la
    cdef fss_label_stats st
    cdef double total = 0.0
    cdef int rc
    cdef int num = cnp.PyArray_TYPE(x)
    if num == cnp.NPY_FLOAT32:
        a.dtype = FSS_FLOAT32
    elif num == cnp.NPY_FLOAT64:
        a.dtype = FSS_FLOAT64
    else:
        raise TypeError(f"internal: unsupported kernel dtype {x.dtype}")
    if not cnp.PyArray_ISALIGNED(x) or not cnp.PyArray_ISNOTSWAPPED(x):
        raise TypeError("internal: x must be aligned and in native byte order")
    a.x_row_stride = _row_stride(x, "x")
    a.n_rows = cnp.PyArray_DIMS(x)[0]
    a.n_classes = cnp.PyArray_DIMS(x)[1]
    a.logits = cnp.PyArray_DATA(x)
    _set_labels(&la, target, target_unsigned, a.n_rows)
    a.target = la.target
    a.soft_target = NULL
    a.q_row_stride = 0
    if soft_target is not None:
        if (cnp.PyArray_TYPE(soft_target) != num or not cnp.PyArray_ISALIGNED(soft_target)
                or not cnp.PyArray_ISNOTSWAPPED(soft_target)
                or cnp.PyArray_DIMS(soft_target)[0] != a.n_rows
                or cnp.PyArray_DIMS(soft_target)[1] != a.n_classes):
            raise TypeError("internal: soft_target must be an aligned (N, C) array of x's dtype")
        a.soft_target = cnp.PyArray_DATA(soft_target)
        a.q_row_stride = _row_stride(soft_target, "soft_target")
    _vector_arg(&a.weight, weight, num, a.n_classes, "weight")
    a.weight_sum = weight_sum
    _vector_arg(<const void **>&a.sample_weight, sample_weight, cnp.NPY_FLOAT64, a.n_rows,
                "sample_weight")
    a.ignore_index = ignore_index
    a.label_smoothing = label_smoothing
    a.temperature = temperature
    _vector_arg(<const void **>&a.loss_rows, loss_rows, num, a.n_rows, "loss_rows")
    a.grad = NULL
    a.grad_row_stride = 0
    if grad is not None:
        if (cnp.PyArray_TYPE(grad) != num or not cnp.PyArray_ISWRITEABLE(grad)
                or not cnp.PyArray_ISALIGNED(grad) or not cnp.PyArray_ISNOTSWAPPED(grad)
                or cnp.PyArray_DIMS(grad)[0] != a.n_rows
                or cnp.PyArray_DIMS(grad)[1] != a.n_classes):
            raise TypeError("internal: grad must be a writeable aligned (N, C) array of x's dtype")
        a.grad = cnp.PyArray_DATA(grad)
        a.grad_row_stride = _row_stride(grad, "grad")
    if loss_rows is not None and not cnp.PyArray_ISWRITEABLE(loss_rows):
        raise TypeError("internal: loss_rows must be writeable")
    if _xent_run(&a, &la, mean, num_threads, &total, &st):
        raise BadLabel(st.first_bad)
    return total, st.weight_total


@cython.cdivision(True)
def xent_fast_call(object logits, object target, object axis, object ignore_index,
                   object reduction, object label_smoothing, object temperature,
                   object return_grad, object num_threads, object grad_out=None):
    """The common cross_entropy call done with no Python-level work, or None.

    Covers class-index labels without weights (the caller checks those): a
    C-contiguous, aligned, native-order float32/float64 ndarray
    with the class axis last (``axis`` the int -1 or ndim - 1) and at least
    one row, a C-contiguous native int64 ndarray target of the batch shape,
    ``ignore_index`` an int in the int64 range, ``reduction`` one of the
    three strings, ``label_smoothing`` a float in [0, 1], ``temperature`` a
    finite float > 0, ``return_grad`` True or False, ``num_threads`` None or
    a positive int, ``grad_out`` None or a C-contiguous, aligned, writeable
    ndarray of the logits' shape and dtype that is the logits themselves or
    clear of them and of the target. Anything else, and a label out of range,
    returns None
    (nothing written): the general path in _xent.py makes the same kernel
    call, so gives the same results, and the errors."""
    if type(logits) is not cnp.ndarray or type(target) is not cnp.ndarray:
        return None
    cdef cnp.ndarray x = <cnp.ndarray>logits, t = <cnp.ndarray>target, rows = None, grad = None
    cdef int num = cnp.PyArray_TYPE(x), nd = cnp.PyArray_NDIM(x), d, threads = 0
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(x)
    cdef fss_xent_args a
    cdef fss_label_args la
    cdef fss_label_stats st
    cdef double total = 0.0, value, eps, temp
    cdef float value32
    cdef bint mean = False, want_grad
    if (num != cnp.NPY_FLOAT32 and num != cnp.NPY_FLOAT64) or nd == 0 or not cnp.PyArray_ISCARRAY_RO(x):
        return None
    if type(axis) is not int or (axis != -1 and axis != nd - 1):
        return None
    if type(ignore_index) is not int or not (-(2**63) <= ignore_index < 2**63):
        return None
    if type(reduction) is not str:
        return None
    if reduction == "mean":
        mean = True
    elif reduction != "sum" and reduction != "none":
        return None
    if type(label_smoothing) is not float or type(temperature) is not float:
        return None
    eps, temp = label_smoothing, temperature
    if not (0.0 <= eps <= 1.0) or not (0.0 < temp < INFINITY):
        return None
    if return_grad is True or return_grad is False:
        want_grad = return_grad
    else:
        return None
    if not _fast_threads(num_threads, &threads):
        return None
    a.n_classes = shape[nd - 1]
    a.n_rows = cnp.PyArray_SIZE(x) // a.n_classes if a.n_classes > 0 else 0
    if a.n_rows == 0 or cnp.PyArray_TYPE(t) != cnp.NPY_INT64 or not cnp.PyArray_ISCARRAY_RO(t):
        return None
    if cnp.PyArray_NDIM(t) != nd - 1:
        return None
    for d in range(nd - 1):
        if cnp.PyArray_DIMS(t)[d] != shape[d]:
            return None
    if grad_out is not None:
        if type(grad_out) is not cnp.ndarray:
            return None
        grad = <cnp.ndarray>grad_out
        if cnp.PyArray_TYPE(grad) != num or not cnp.PyArray_ISCARRAY(grad) or cnp.PyArray_NDIM(grad) != nd:
            return None
        for d in range(nd):
            if cnp.PyArray_DIMS(grad)[d] != shape[d]:
                return None
        if (grad is not x and _overlap(grad, x)) or _overlap(grad, t):
            return None
        want_grad = True
    a.dtype = FSS_FLOAT32 if num == cnp.NPY_FLOAT32 else FSS_FLOAT64
    a.logits = cnp.PyArray_DATA(x)
    a.x_row_stride = a.n_classes
    a.target = <const int64_t *>cnp.PyArray_DATA(t)
    a.soft_target = NULL
    a.q_row_stride = 0
    a.weight = NULL
    a.weight_sum = <double>a.n_classes
    a.sample_weight = NULL
    a.ignore_index = ignore_index
    a.label_smoothing = eps
    a.temperature = temp
    a.loss_rows = NULL
    a.grad = NULL
    a.grad_row_stride = a.n_classes
    if reduction == "none":
        rows = cnp.PyArray_EMPTY(nd - 1, shape, num, 0)
        a.loss_rows = cnp.PyArray_DATA(rows)
    if want_grad:
        if grad is None:
            grad = cnp.PyArray_EMPTY(nd, shape, num, 0)
        a.grad = cnp.PyArray_DATA(grad)
    la.target = a.target
    la.n = a.n_rows
    la.target_unsigned = 0
    if _xent_run(&a, &la, mean, threads, &total, &st):
        return None
    cdef object loss = rows
    if rows is None:
        value = total / st.weight_total if mean else total
        if num == cnp.NPY_FLOAT32:
            value32 = <float>value
            loss = PyArray_Scalar(&value32, x.descr, None)
        else:
            loss = PyArray_Scalar(&value, x.descr, None)
    return (loss, grad) if want_grad else loss
