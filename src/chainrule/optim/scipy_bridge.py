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

from ..transforms import grad, hessian, hvp, vjp
from ._scipy import scipy_optimize
from .constraints import to_bounds, to_constraints
from .implicit import ArgSplit, implicit_solution, is_plain, plain_start
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


def _stationary(result: Any) -> bool:
    """Whether SciPy's point has a vanishing gradient although SciPy reports failure
    (BFGS's "precision loss" when ``tol`` asks for more than rounding allows)."""
    g = result.get("jac")
    if not isinstance(g, np.ndarray) or not np.all(np.isfinite(g)):
        return False
    scale = max(1.0, abs(float(result.get("fun", 0.0))))
    return bool(np.max(np.abs(g), initial=0.0) <= 1e-8 * scale)


def _at_a_bound(x: np.ndarray, bounds: Any) -> bool:
    """Whether any coordinate of ``x`` sits on (within 1e-8 relative of) a finite bound."""
    lb, ub = (np.asarray(b, dtype=np.float64) for b in (bounds.lb, bounds.ub))
    scale = 1e-8 * (1.0 + np.abs(x))
    return bool(np.any(np.abs(x - lb) <= scale) or np.any(np.abs(ub - x) <= scale))


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
    linear_solver: str | None = None,
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

    **Derivatives of the minimiser.** ``args`` is a tuple of pytrees; when its
    float leaves are traced (``minimize`` inside ``cr.grad``, ``cr.jacfwd``,
    ``cr.hessian``...), ``x`` is traced and differentiable by the implicit
    function theorem at the minimum, where the gradient vanishes:
    ``dx = -H^-1 (d grad/d args) dargs`` with the Hessian ``H`` (formed up to
    500 unknowns, else Hessian-vector products and CG; ``linear_solver``:
    ``"dense"``, ``"cg"``, ``"gmres"``), to any order. If SciPy reports no
    success (and the gradient there is not within ``1e-8 max(1, |f|)`` of zero,
    as after BFGS's "precision loss" at a tight ``tol``), differentiating raises
    :class:`~chainrule.optim.implicit.ImplicitDifferentiationError` naming
    SciPy's message; so does a bound or a constraint active at the minimum
    (the gradient need not vanish there).

    Raises ``ValueError`` for an unknown method (or bounds and constraints the
    method ignores), ``TypeError`` when ``fun`` is not scalar-valued, and
    ``ImportError`` when SciPy is missing (``pip install "chainrule[scipy]"``).

    >>> import numpy as np
    >>> rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> res = minimize(rosen, np.array([-1.2, 1.0]), method="trust-ncg")
    >>> res.success, np.round(res.x, 4)
    (True, array([1., 1.]))

    The minimiser of ``(x - a)^2 + x^4`` as a function of ``a``:

    >>> import chainrule as cr
    >>> argmin = lambda a: minimize(lambda x, a: (x - a) ** 2 + x ** 4, 0.0, args=(a,),
    ...                             method="BFGS", tol=1e-12).x
    >>> x = argmin(1.0)
    >>> bool(np.isclose(cr.grad(argmin)(1.0), 2 / (2 + 12 * x ** 2)))
    True
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

    view = FlatView(plain_start(x0))
    split = ArgSplit(args)
    needs = METHODS[meth]
    if bounds is not None:
        kwargs["bounds"] = to_bounds(bounds, view)
    if constraints:
        kwargs["constraints"] = to_constraints(constraints, view, meth)
    found: dict = {}

    def solve(values: list) -> tuple[np.ndarray, str | None]:
        objective = Objective(fun, view, split.build(values))
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
        result = optimize.minimize(
            scipy_fun,
            view.flat.copy(),
            method=method,
            callback=_wrap_callback(callback, view),
            **derivatives,
            **kwargs,
        )
        found["result"] = result
        failure = None
        if not result.success and not _stationary(result):
            failure = f"minimize (method {method}) did not converge: {result.message}"
        elif constraints:
            failure = (
                "minimize with constraints: the implicit derivative of a constrained "
                "minimum is not implemented (its gradient need not vanish)"
            )
        elif bounds is not None and _at_a_bound(result.x, kwargs["bounds"]):
            failure = (
                "minimize: a bound is active at the minimum, where the gradient need not "
                "vanish; the implicit derivative there is not implemented"
            )
        return result.x, failure

    def residual(z: Any, values: list) -> Any:
        return grad(Objective(fun, view, split.build(values)).flat)(z)

    z = implicit_solution(
        solve, residual, split.theta, n=view.size, symmetric=True, linear_solver=linear_solver
    )
    result = found["result"]
    result.x = view.restore(result.x) if is_plain(z) else view.unflatten(z)
    for key in ("jac", "grad"):
        value = result.get(key)
        if isinstance(value, np.ndarray) and value.shape == (view.size,):
            result[key] = view.restore(value)
    return result
