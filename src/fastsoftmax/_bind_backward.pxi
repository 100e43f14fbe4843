# Binding for the backward passes (softmax_backward, log_softmax_backward) and
# the softmax focal loss. Included at the end of _core.pyx; the Python side
# (_backward.py, _focal.py) checks every argument first.

cdef extern from "fastsoftmax.h" nogil:
    ctypedef enum fss_bwd_op:
        FSS_SOFTMAX_BACKWARD
        FSS_LOG_SOFTMAX_BACKWARD
    int fss_softmax_backward(fss_bwd_op op, fss_dtype dtype, fss_shape3 shape, fss_view3 grad_output,
                             fss_view3 output, fss_view3 grad_input, int num_threads)
    ctypedef struct fss_focal_args:
        fss_dtype dtype
        int64_t n_rows
        int64_t n_classes
        const void *logits
        int64_t x_row_stride
        const int64_t *target
        const double *alpha
        double alpha_scalar
        const double *weight
        int64_t ignore_index
        double gamma
        double grad_scale
        void *loss_rows
        void *grad
        int64_t grad_row_stride
    int fss_softmax_focal_loss(const fss_focal_args *args, double *loss_sum, int num_threads)


OP_SOFTMAX_BACKWARD = FSS_SOFTMAX_BACKWARD
OP_LOG_SOFTMAX_BACKWARD = FSS_LOG_SOFTMAX_BACKWARD


def softmax_backward(int op, cnp.ndarray g, cnp.ndarray y, cnp.ndarray out, tuple shape,
                     tuple gs, tuple ys, tuple os, int num_threads):
    """One backward kernel over collapsed 3-D views of g, y and out.

    shape = (outer, inner, reduced); gs, ys, os = strides in elements, same
    order. The three arrays share one float32 / float64 dtype (checked by the
    caller, which also built the views).
    """
    cdef fss_shape3 sh
    cdef fss_view3 gv, yv, ov
    cdef fss_dtype dt
    cdef int rc
    if g.dtype.num == cnp.NPY_FLOAT32:
        dt = FSS_FLOAT32
    elif g.dtype.num == cnp.NPY_FLOAT64:
        dt = FSS_FLOAT64
    else:
        raise TypeError(f"internal: unsupported kernel dtype {g.dtype}")
    if y.dtype.num != g.dtype.num or out.dtype.num != g.dtype.num:
        raise TypeError("internal: g, y and out dtypes differ")
    sh.n_outer, sh.n_inner, sh.n_red = shape
    gv.data = cnp.PyArray_DATA(g)
    gv.s_outer, gv.s_inner, gv.s_red = gs
    yv.data = cnp.PyArray_DATA(y)
    yv.s_outer, yv.s_inner, yv.s_red = ys
    ov.data = cnp.PyArray_DATA(out)
    ov.s_outer, ov.s_inner, ov.s_red = os
    with nogil:
        rc = fss_softmax_backward(<fss_bwd_op>op, dt, sh, gv, yv, ov, num_threads)
    _check_rc(rc)


def backward_fast_call(int op, object g, object y, object axis, object num_threads, object out):
    """The common backward call with no Python-level work, or None.

    Covers two C-contiguous, aligned, non-empty ndarrays of one native
    float32/float64 dtype and shape, ``axis`` the int -1 or ndim - 1,
    ``num_threads`` None or a positive int, and ``out`` None or a C-contiguous
    ndarray of their shape and dtype that is one of them or clear of both.
    Anything else returns None, having written nothing: the general path in
    _backward.py makes the same kernel call (and raises the errors)."""
    if type(g) is not cnp.ndarray or type(y) is not cnp.ndarray:
        return None
    cdef cnp.ndarray ga = <cnp.ndarray>g, ya = <cnp.ndarray>y, res
    cdef int num = cnp.PyArray_TYPE(ga), nd = cnp.PyArray_NDIM(ga), d, threads = 0, rc
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(ga)
    cdef fss_shape3 sh
    cdef fss_view3 gv, yv, ov
    if (num != cnp.NPY_FLOAT32 and num != cnp.NPY_FLOAT64) or cnp.PyArray_TYPE(ya) != num:
        return None
    if nd == 0 or cnp.PyArray_NDIM(ya) != nd or cnp.PyArray_SIZE(ga) == 0:
        return None
    if not cnp.PyArray_ISCARRAY_RO(ga) or not cnp.PyArray_ISCARRAY_RO(ya):
        return None
    for d in range(nd):
        if cnp.PyArray_DIMS(ya)[d] != shape[d]:
            return None
    if type(axis) is not int or (axis != -1 and axis != nd - 1):
        return None
    if not _fast_threads(num_threads, &threads):
        return None
    if out is None:
        res = cnp.PyArray_EMPTY(nd, shape, num, 0)
    else:
        if type(out) is not cnp.ndarray:
            return None
        res = <cnp.ndarray>out
        if not _usable_out(res, ga, nd, shape, ya) or not cnp.PyArray_ISCARRAY(res):
            return None
    sh.n_red = shape[nd - 1]
    sh.n_outer, sh.n_inner = 1, cnp.PyArray_SIZE(ga) // sh.n_red
    gv.data, yv.data, ov.data = cnp.PyArray_DATA(ga), cnp.PyArray_DATA(ya), cnp.PyArray_DATA(res)
    gv.s_outer = yv.s_outer = ov.s_outer = 0
    gv.s_inner = yv.s_inner = ov.s_inner = sh.n_red
    gv.s_red = yv.s_red = ov.s_red = 1
    with nogil:
        rc = fss_softmax_backward(<fss_bwd_op>op, <fss_dtype>(FSS_FLOAT32 if num == cnp.NPY_FLOAT32 else FSS_FLOAT64),
                                  sh, gv, yv, ov, threads)
    _check_rc(rc)
    return res


def softmax_focal_loss(cnp.ndarray x, cnp.ndarray target, cnp.ndarray alpha, double alpha_scalar,
                       cnp.ndarray weight, long long ignore_index, double gamma, double grad_scale,
                       cnp.ndarray loss_rows, cnp.ndarray grad, int num_threads):
    """Row-wise softmax focal loss over x (N, C) with contiguous classes.

    target: contiguous int64 (N,); alpha, weight: contiguous float64 (C,) or
    None; loss_rows (N,) and grad ((N, C), may be x) of x's dtype, or None.
    Everything is checked by the caller (_focal.py); returns the sum of the
    row losses (float64).
    """
    cdef fss_focal_args a
    cdef double total = 0.0
    cdef int rc
    cdef int num = x.dtype.num
    if num == cnp.NPY_FLOAT32:
        a.dtype = FSS_FLOAT32
    elif num == cnp.NPY_FLOAT64:
        a.dtype = FSS_FLOAT64
    else:
        raise TypeError(f"internal: unsupported kernel dtype {x.dtype}")
    for arr in (loss_rows, grad):
        if arr is not None and arr.dtype.num != num:
            raise TypeError("internal: focal-loss outputs must share x's dtype")
    a.n_rows = x.shape[0]
    a.n_classes = x.shape[1]
    a.logits = cnp.PyArray_DATA(x)
    a.x_row_stride = _row_stride(x, "x")
    if target.dtype.num != cnp.NPY_INT64 or not target.flags.c_contiguous or target.shape[0] != a.n_rows:
        raise TypeError("internal: target must be a contiguous int64 (N,) array")
    a.target = <const int64_t *>cnp.PyArray_DATA(target)
    a.alpha = NULL
    a.weight = NULL
    for arr in (alpha, weight):
        if arr is not None and (arr.dtype.num != cnp.NPY_FLOAT64 or not arr.flags.c_contiguous
                                or arr.ndim != 1 or arr.shape[0] != a.n_classes):
            raise TypeError("internal: alpha and weight must be contiguous float64 (C,)")
    if alpha is not None:
        a.alpha = <const double *>cnp.PyArray_DATA(alpha)
    if weight is not None:
        a.weight = <const double *>cnp.PyArray_DATA(weight)
    a.alpha_scalar = alpha_scalar
    a.ignore_index = ignore_index
    a.gamma = gamma
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
        rc = fss_softmax_focal_loss(&a, &total, num_threads)
    _check_rc(rc)
    return total
