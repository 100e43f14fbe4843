"""fastsoftmax on dask arrays: softmax, log_softmax, logsumexp and cross_entropy.

The same functions as :mod:`fastsoftmax`, taking and returning
:class:`dask.array.Array` (``pip install "fastsoftmax[dask]"``). Each chunk runs
the NumPy function; when a reduced axis (the class axis) spans several chunks,
per-chunk (max, log-sum) pairs are merged in dask's reduction tree and a second
pass over the chunks finishes softmax, log_softmax or the gradient. Runs on any
dask scheduler, dask.distributed included. ``import fastsoftmax`` does not
import dask; importing this module does.

Examples
--------
>>> import dask.array as da
>>> import fastsoftmax.dask as fsd
>>> x = da.from_array([[0.0, 1.0, 2.0, 3.0]], chunks=(1, 2))
>>> fsd.logsumexp(x, axis=1).compute().round(6)
array([3.44019])
"""

try:
    import dask.array  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'fastsoftmax.dask needs dask[array]: pip install "fastsoftmax[dask]"'
    ) from exc

from ._softmax import log_softmax, logsumexp, softmax
from ._xent import cross_entropy

__all__ = ["softmax", "log_softmax", "logsumexp", "cross_entropy"]
