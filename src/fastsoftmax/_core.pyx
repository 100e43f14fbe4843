# cython: language_level=3, boundscheck=False, wraparound=False
"""Binding to the C kernels: thin, typed, and GIL-free around every kernel.

Argument checking and normalisation happen in Python (_api.py); this module
only turns checked arrays and collapsed 3-D views into C calls."""

from libc.stdint cimport int64_t
cimport numpy as cnp

cnp.import_array()


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
