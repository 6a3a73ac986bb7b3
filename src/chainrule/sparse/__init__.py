"""Sparse derivatives and scipy.sparse constants.

* ``sparse_jacobian`` / ``sparse_hessian``: a Jacobian or Hessian with a
  known nonzero pattern, as a ``scipy.sparse.csr_array``, for the cost of one
  JVP, VJP or Hessian-vector product per colour of the pattern's colouring
  (``chainrule.sparse.coloring``); ``SparsityPattern`` keeps the colouring for reuse.
* ``jacobian_sparsity`` / ``hessian_sparsity``: the nonzero pattern found by
  tracing (``chainrule.sparse.detect``).
* ``matmul(L, x)`` and ``spsolve(A, b)``: a constant ``scipy.sparse`` matrix
  applied to a traced vector (plain ``L @ x`` and ``L.dot(x)`` inside a
  differentiated function come to ``matmul``).

Importing this module imports SciPy; ``import chainrule`` does not.
"""

from .detect import hessian_sparsity, jacobian_sparsity
from .jacobian import REVERSE_COST, SparsityPattern, sparse_hessian, sparse_jacobian
from .linear import matmul, spsolve

__all__ = [
    "jacobian_sparsity",
    "hessian_sparsity",
    "SparsityPattern",
    "sparse_jacobian",
    "sparse_hessian",
    "matmul",
    "spsolve",
    "REVERSE_COST",
]
