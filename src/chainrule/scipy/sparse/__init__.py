"""``scipy.sparse`` with traced values: see ``chainrule.scipy.sparse.linalg``
and ``chainrule.sparse`` (sparse Jacobians, ``matmul``)."""

from ...sparse.linear import matmul
from . import linalg

__all__ = ["linalg", "matmul"]
