"""``hessp``: a Hessian-vector product in the shape SciPy's optimisers call it.

``scipy.optimize.minimize`` (methods Newton-CG, trust-ncg, trust-krylov,
trust-constr) takes ``hessp(x, p, *args) -> H(x) @ p``. ``cr.optim.hessp(f)``
builds that function from the objective ``f(x, *args)`` by forward over
reverse (``cr.hvp``): the Hessian is never formed, and each product costs a
small multiple of one gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..transforms import hvp


def hessp(fun: Callable) -> Callable:
    """SciPy's ``hessp`` for the scalar objective ``fun(x, *args)``.

    Args:
        fun: the objective, a scalar function of the vector ``x`` (and of SciPy's
            ``args``, which are not differentiated).

    Returns:
        ``fun_hessp(x, p, *args)``, the Hessian of ``fun`` at ``x`` times the
        vector ``p``, as a float64 array shaped like ``x``; pass it as
        ``hessp=`` to ``scipy.optimize.minimize`` (and ``cr.grad(fun)`` as ``jac=``).
        ``cr.optim.minimize`` supplies both by itself; this is for calling SciPy
        directly.

    >>> import chainrule as cr, numpy as np
    >>> from scipy.optimize import minimize
    >>> rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> res = minimize(rosen, np.array([-1.2, 1.0]), method="trust-ncg",
    ...                jac=cr.grad(rosen), hessp=cr.optim.hessp(rosen))
    >>> res.success, np.round(res.x, 4)
    (True, array([1., 1.]))
    >>> cr.optim.hessp(lambda x, a: a * np.sum(x ** 3))(np.array([1.0, 2.0]), np.ones(2), 2.0)
    array([12., 24.])
    """
    if not callable(fun):
        raise TypeError(f"hessp expects the objective function, got {fun!r}")

    def fun_hessp(x: Any, p: Any, *args: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        if p.size != x.size:
            raise ValueError(
                f"hessp: the vector p has shape {p.shape}, but x has shape {x.shape}; "
                "p must have as many elements as x"
            )
        _, product = hvp(lambda z: fun(z, *args), (x,), (p.reshape(x.shape),))
        return np.asarray(product, dtype=np.float64)

    return fun_hessp


__all__ = ["hessp"]
