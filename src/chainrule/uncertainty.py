"""``propagate``: first-order (delta-method) propagation of a covariance.

For ``y = fun(x)`` with ``x`` uncertain (covariance ``cov``), the linearisation
``y ~ fun(x0) + J (x - x0)`` gives ``cov_y = J cov J^T``, exact for linear
``fun`` and the leading term otherwise (the error is of the order of the
curvature of ``fun`` times the variance). The Jacobian ``J`` is computed by the
cheaper mode: forward (one JVP per input) when ``x`` has at most as many
elements as ``y``, else reverse (one VJP per output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import tree
from .transforms import jacfwd, jacrev

__all__ = ["propagate"]


def propagate(fun: Callable, x: Any, cov: Any) -> tuple[Any, Any]:
    """``(y, cov_y)``: ``y = fun(x)`` and its covariance ``J cov J^T`` to first order.

    ``x`` is an array, a number or a pytree of them; ``cov`` is the covariance of
    its ``N`` elements (flattened in ``cr.tree.ravel``'s order), an ``(N, N)``
    matrix (for a scalar ``x``, a variance, shape ``()`` or ``(1, 1)``).
    ``fun`` may return an array, a number or a pytree; ``y`` is what it returns,
    ``cov_y`` the ``(M, M)`` covariance of its ``M`` elements (flattened the same
    way), or a variance of shape ``()`` when ``y`` is a scalar. Differentiable
    itself (``cov_y`` in ``x`` and ``cov``), as it is made of chainrule operations.

    Raises ``ValueError`` when ``cov``'s shape does not match ``x``'s size.

    >>> import numpy as np
    >>> y, var = propagate(lambda p: p[0] * p[1], np.array([2.0, 3.0]), np.diag([0.01, 0.04]))
    >>> float(y), round(float(var), 12)  # 3^2 0.01 + 2^2 0.04
    (6.0, 0.25)
    """
    flat, unravel = tree.ravel(x)
    size = int(np.size(flat))
    cov_shape = np.shape(cov)
    if size == 1 and cov_shape in ((), (1,), (1, 1)):
        cov = np.reshape(cov, (1, 1))
    elif cov_shape != (size, size):
        raise ValueError(
            f"propagate: cov must be the ({size}, {size}) covariance of x's {size} elements "
            f"(flattened as cr.tree.ravel does), got shape {cov_shape}"
        )

    def flat_fun(z: Any) -> Any:
        leaves = tree.leaves(fun(unravel(z)))
        if not leaves:
            raise ValueError("propagate: fun returned no arrays")
        parts = [np.ravel(leaf) for leaf in leaves]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    y = fun(x)
    out_size = int(sum(np.size(leaf) for leaf in tree.leaves(y)))
    jacobian = jacfwd(flat_fun) if size <= out_size else jacrev(flat_fun)
    J = np.reshape(jacobian(flat), (out_size, size))
    cov_y = J @ cov @ J.T
    if np.ndim(y) == 0 and len(tree.leaves(y)) == 1:
        cov_y = cov_y[0, 0]
    return y, cov_y
