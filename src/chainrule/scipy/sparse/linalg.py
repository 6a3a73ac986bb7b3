"""``scipy.sparse.linalg`` functions differentiable in their dense operand."""

from ...sparse.linear import spsolve

__all__ = ["spsolve"]
