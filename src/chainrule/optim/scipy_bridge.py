"""``minimize``: SciPy's optimisers with chainrule's derivatives, over pytrees.

SciPy asks for the objective's gradient, a Hessian-vector product or the
Hessian, depending on the method; this module supplies exactly what the method
uses, computed by chainrule, on the flat vector SciPy works with:

=======================================================  ===================================
method                                                   derivatives supplied
=======================================================  ===================================
Nelder-Mead, Powell, COBYLA, COBYQA                      none
CG, BFGS, L-BFGS-B, TNC, SLSQP                           value and gradient in one pass
Newton-CG, trust-ncg, trust-krylov, trust-constr         + Hessian-vector products
dogleg, trust-exact                                      + the Hessian
=======================================================  ===================================

The value and the gradient come from one reverse pass (SciPy's ``jac=True``
convention), Hessian-vector products from forward-over-reverse (``cr.hvp``),
and the Hessian from ``cr.hessian``.

>>> import numpy as np
>>> res = minimize(lambda p: (p["x"] - 1.0) ** 2 + np.sum((p["y"] + 2.0) ** 2),
...                {"x": 0.0, "y": np.zeros(2)}, method="BFGS")
>>> round(res.x["x"], 6), np.round(res.x["y"], 6)
(1.0, array([-2., -2.]))
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..transforms import hessian, hvp, vjp
from ._scipy import scipy_optimize
from .constraints import to_bounds, to_constraints
from .ravel import FlatView

_NONE, _GRAD, _HESSP, _HESS = "none", "gradient", "hessp", "hessian"

#: What each SciPy method uses, by lower-case name.
METHODS = {
    "nelder-mead": _NONE,
    "powell": _NONE,
    "cobyla": _NONE,
    "cobyqa": _NONE,
    "cg": _GRAD,
    "bfgs": _GRAD,
    "l-bfgs-b": _GRAD,
    "tnc": _GRAD,
    "slsqp": _GRAD,
    "newton-cg": _HESSP,
    "trust-ncg": _HESSP,
    "trust-krylov": _HESSP,
    "trust-constr": _HESSP,
    "dogleg": _HESS,
    "trust-exact": _HESS,
}
_TAKE_BOUNDS = {
    "nelder-mead",
    "powell",
    "l-bfgs-b",
    "tnc",
    "slsqp",
    "trust-constr",
    "cobyla",
    "cobyqa",
}
_TAKE_CONSTRAINTS = {"cobyla", "cobyqa", "slsqp", "trust-constr"}


class Objective:
    """The scalar objective ``fun(x, *args)`` as a function of SciPy's flat vector,
    with its derivatives.

    >>> import numpy as np
    >>> obj = Objective(lambda x: np.sum(x ** 3), FlatView(np.zeros(2)))
    >>> obj.value_and_grad(np.array([1.0, 2.0]))
    (9.0, array([ 3., 12.]))
    >>> obj.hessp(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """

    def __init__(self, fun: Callable, view: FlatView, args: tuple = ()) -> None:
        self.fun, self.view, self.args = fun, view, tuple(args)

    def flat(self, z: Any) -> Any:
        """The objective at the flat vector ``z`` (traced or not), checked to be a scalar."""
        out = self.fun(self.view.unflatten(z), *self.args)
        if np.ndim(out) != 0:
            raise TypeError(
                f"minimize: the objective must return a scalar, but it returned a value of "
                f"shape {np.shape(out)}; reduce it (e.g. with np.sum) or, for a system of "
                "equations, use chainrule.optim.root"
            )
        return out

    def value(self, z: np.ndarray) -> float:
        """The objective's value as a Python float."""
        return float(self.flat(np.asarray(z, dtype=np.float64)))

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient from one reverse pass."""
        out, pull_back = vjp(self.flat, np.asarray(z, dtype=np.float64))
        (grad,) = pull_back(np.ones_like(out))
        return float(out), np.asarray(grad, dtype=np.float64)

    def hessp(self, z: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Hessian times ``p`` by forward-over-reverse; the Hessian is never formed."""
        z = np.asarray(z, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64).reshape(z.shape)
        return np.asarray(hvp(self.flat, (z,), (p,))[1], dtype=np.float64)

    def hess(self, z: np.ndarray) -> np.ndarray:
        """The dense Hessian (for the methods that factorise it)."""
        h = hessian(self.flat)(np.asarray(z, dtype=np.float64))
        return np.asarray(h, dtype=np.float64).reshape(self.view.size, self.view.size)


def _wrap_callback(callback: Callable | None, view: FlatView) -> Callable | None:
    """``callback`` called with ``x`` in the structure of ``x0``."""
    if callback is None:
        return None
    try:
        names = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        names = set()
    if names == {"intermediate_result"}:  # SciPy's new-style callback

        def wrapped_result(intermediate_result: Any) -> Any:
            result = type(intermediate_result)(intermediate_result)
            result.x = view.restore(intermediate_result.x)
            return callback(intermediate_result=result)

        return wrapped_result

    def wrapped(xk: np.ndarray, *rest: Any) -> Any:
        return callback(view.restore(xk), *rest)

    return wrapped


def _check_method(method: Any) -> str:
    if not isinstance(method, str):
        raise TypeError(f"minimize: method must be a string naming a SciPy method, got {method!r}")
    meth = method.lower()
    if meth not in METHODS:
        names = ", ".join(
            sorted(
                {
                    "Nelder-Mead",
                    "Powell",
                    "CG",
                    "BFGS",
                    "Newton-CG",
                    "L-BFGS-B",
                    "TNC",
                    "COBYLA",
                    "COBYQA",
                    "SLSQP",
                    "trust-constr",
                    "dogleg",
                    "trust-ncg",
                    "trust-exact",
                    "trust-krylov",
                }
            )
        )
        raise ValueError(f"minimize: unknown method {method!r}; choose one of {names}")
    return meth


def minimize(
    fun: Callable,
    x0: Any,
    method: str = "BFGS",
    *,
    args: tuple = (),
    bounds: Any = None,
    constraints: Any = (),
    callback: Callable | None = None,
    **kwargs: Any,
) -> Any:
    """Minimise the scalar ``fun(x, *args)`` from ``x0`` with ``scipy.optimize.minimize``,
    derivatives supplied by chainrule.

    ``x0`` is any pytree of real arrays and numbers; ``fun`` receives ``x`` in that
    structure and is written in NumPy as usual. The result is SciPy's
    ``OptimizeResult``, with ``x`` (and the gradient ``jac``, where the method
    reports one) restored to the structure of ``x0``.

    ``bounds`` (methods that take them, such as L-BFGS-B): SciPy's list of
    ``(lower, upper)`` pairs over the flattened ``x0``, a ``scipy.optimize.Bounds``,
    or a pytree like ``x0`` with a ``(lower, upper)`` pair at each leaf (``None``
    for no bound). ``constraints`` (SLSQP, COBYLA, COBYQA, trust-constr): dicts
    ``{"type": "eq" | "ineq", "fun": c}`` or ``NonlinearConstraint`` objects whose
    functions take ``x`` in the structure of ``x0``; their Jacobians come from
    ``jacrev`` (see :func:`~chainrule.optim.constraints.to_constraints`).
    ``callback`` receives ``x`` in the structure of ``x0``. Other keywords
    (``tol``, ``options``) go to SciPy. ``hess`` may name a quasi-Newton strategy
    (e.g. ``scipy.optimize.BFGS()``) for trust-constr instead of exact products;
    ``jac`` and ``hessp`` are always computed here.

    Raises ``ValueError`` for an unknown method (or bounds and constraints the
    method ignores), ``TypeError`` when ``fun`` is not scalar-valued, and
    ``ImportError`` when SciPy is missing (``pip install "chainrule[scipy]"``).

    >>> import numpy as np
    >>> rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> res = minimize(rosen, np.array([-1.2, 1.0]), method="trust-ncg")
    >>> res.success, np.round(res.x, 4)
    (True, array([1., 1.]))
    """
    optimize = scipy_optimize()
    for name in ("jac", "hessp"):
        if name in kwargs:
            raise TypeError(f"minimize: do not pass {name}=; chainrule computes it")
    user_hess = kwargs.pop("hess", None)
    if user_hess is not None and not isinstance(user_hess, (str, optimize.HessianUpdateStrategy)):
        raise TypeError(
            "minimize: hess= may only name a quasi-Newton strategy (such as "
            "scipy.optimize.BFGS()); exact Hessians are computed by chainrule"
        )
    meth = _check_method(method)
    if bounds is not None and meth not in _TAKE_BOUNDS:
        raise ValueError(
            f"minimize: method {method!r} does not take bounds; use L-BFGS-B, TNC, "
            "SLSQP or trust-constr"
        )
    if constraints and meth not in _TAKE_CONSTRAINTS:
        raise ValueError(
            f"minimize: method {method!r} does not take constraints; use SLSQP, "
            "COBYLA, COBYQA or trust-constr"
        )

    view = FlatView(x0)
    objective = Objective(fun, view, args)
    needs = METHODS[meth]
    derivatives: dict[str, Any] = {}
    if needs == _NONE:
        scipy_fun: Callable = objective.value
    else:
        scipy_fun = objective.value_and_grad
        derivatives["jac"] = True
    if user_hess is not None:
        derivatives["hess"] = user_hess
    elif needs == _HESSP:
        derivatives["hessp"] = objective.hessp
    elif needs == _HESS:
        derivatives["hess"] = objective.hess

    if bounds is not None:
        kwargs["bounds"] = to_bounds(bounds, view)
    if constraints:
        kwargs["constraints"] = to_constraints(constraints, view, meth)
    result = optimize.minimize(
        scipy_fun,
        view.flat.copy(),
        method=method,
        callback=_wrap_callback(callback, view),
        **derivatives,
        **kwargs,
    )
    result.x = view.restore(result.x)
    for key in ("jac", "grad"):
        value = result.get(key)
        if isinstance(value, np.ndarray) and value.shape == (view.size,):
            result[key] = view.restore(value)
    return result
