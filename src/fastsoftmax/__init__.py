"""fastsoftmax: fast and accurate softmax, log_softmax and logsumexp for NumPy.

SIMD C kernels (scalar, AVX2, AVX-512, NEON; the best one is chosen at import)
with OpenMP, drop-in compatible with :mod:`scipy.special`.

Examples
--------
>>> import numpy as np
>>> import fastsoftmax as fs
>>> fs.softmax(np.array([[1.0, 2.0], [3.0, 3.0]]), axis=1)
array([[0.26894142, 0.73105858],
       [0.5       , 0.5       ]])
"""

__version__ = "0.1.0"

from . import _core  # noqa: F401  (fastsoftmax._core.set_isa / get_isa for tests)
from ._api import log_softmax, logsumexp, softmax
from ._backward import log_softmax_backward, softmax_backward
from ._focal import softmax_focal_loss
from ._runtime import runtime, select_isa_from_environment, show_runtime
from ._sigmoid import binary_cross_entropy_with_logits, log_sigmoid, sigmoid, sigmoid_focal_loss
from ._xent import cross_entropy

select_isa_from_environment()
del select_isa_from_environment

__all__ = [
    "softmax", "log_softmax", "logsumexp", "cross_entropy", "runtime", "show_runtime",
    "sigmoid", "log_sigmoid", "binary_cross_entropy_with_logits", "sigmoid_focal_loss",
    "softmax_backward", "log_softmax_backward", "softmax_focal_loss",
    "__version__",
]
