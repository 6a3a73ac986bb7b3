"""``least_squares`` and ``fixed_point``: SciPy's solvers with chainrule's Jacobians,
their solutions differentiable in ``args`` by the implicit function theorem.

* :func:`least_squares` wraps ``scipy.optimize.least_squares`` (same keywords,
  same ``OptimizeResult``), the Jacobian of the residuals from chainrule
  (forward mode when there are fewer unknowns than residuals, else reverse).
  The solution is stationary for the cost ``C = 1/2 sum rho(r_i^2)``; its
  derivative solves with the exact Hessian of ``C`` (not Gauss-Newton's
  ``J^T J``, which is exact only for a zero residual).
* :func:`fixed_point` wraps ``scipy.optimize.fixed_point``; the solution of
  ``x = g(x, theta)`` has ``dx = (I - dg/dx)^-1 (dg/dtheta) dtheta``.

>>> import numpy as np, chainrule as cr
>>> t = np.linspace(0.0, 1.0, 5)
>>> fit = lambda y: least_squares(lambda p, y: p[0] + p[1] * t - y, np.zeros(2), args=(y,)).x
>>> design = np.stack([np.ones(5), t], axis=1)  # linear least squares: the pseudo-inverse
>>> np.allclose(cr.jacfwd(fit)(2.0 * t + 1.0), np.linalg.pinv(design))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..transforms import grad, jacfwd, jacrev
from ._scipy import scipy_optimize
from .implicit import ArgSplit, implicit_solution, is_plain, plain_start
from .ravel import FlatView, ravel_output

__all__ = ["least_squares", "fixed_point"]

_LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


def _rho(z: Any, loss: str) -> Any:
    """SciPy's robust loss ``rho(z)`` of the squared residual ``z``, in NumPy operations."""
    if loss == "linear":
        return z
    if loss == "soft_l1":
        return 2.0 * (np.sqrt(1.0 + z) - 1.0)
    if loss == "huber":
        # the square root's branch only sees z >= 1, so its derivative stays finite
        return np.where(z <= 1.0, z, 2.0 * np.sqrt(np.maximum(z, 1.0)) - 1.0)
    if loss == "cauchy":
        return np.log1p(z)
    return np.arctan(z)


#: Refine SciPy's point by Newton's method (dense Hessian) up to this many unknowns.
POLISH_MAX = 200


def _polish(stationarity: Callable, z: np.ndarray, values: list, n: int) -> np.ndarray:
    """Newton steps on the cost's stationarity from SciPy's point, while they reduce
    the gradient. SciPy's stopping tests compare changes of the cost, which stall
    about 1e-9 (relative) from the minimum whatever the tolerances; the implicit
    derivative, taken at the point, would be off by as much, and its second order
    by more. The exact Hessian makes each step quadratically convergent."""
    if n > POLISH_MAX:
        return z
    hessian = jacfwd(stationarity)
    g = np.asarray(stationarity(z, values), dtype=np.float64)
    size = float(np.linalg.norm(g))
    for _ in range(4):
        if size == 0.0:
            break
        try:
            step = np.linalg.solve(np.asarray(hessian(z, values)).reshape(n, n), g)
        except np.linalg.LinAlgError:
            break
        trial = z - step
        g_trial = np.asarray(stationarity(trial, values), dtype=np.float64)
        if not float(np.linalg.norm(g_trial)) < size:
            break
        z, g, size = trial, g_trial, float(np.linalg.norm(g_trial))
    return z


def least_squares(
    fun: Callable,
    x0: Any,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    loss: str = "linear",
    f_scale: float = 1.0,
    bounds: Any = (-np.inf, np.inf),
    linear_solver: str | None = None,
    **options: Any,
) -> Any:
    """Solve the nonlinear least-squares problem ``min 1/2 sum rho(r_i(x)^2)`` with
    ``scipy.optimize.least_squares``, the Jacobian of the residuals from chainrule.

    ``fun(x, *args, **kwargs)`` returns the residuals (an array, or any pytree of
    arrays); ``x0`` is a pytree of real arrays and numbers. ``loss`` (SciPy's
    names: ``"linear"``, ``"soft_l1"``, ``"huber"``, ``"cauchy"``, ``"arctan"``),
    ``f_scale``, ``bounds`` (SciPy's ``(lb, ub)`` over the flattened ``x0``) and
    every other keyword of SciPy (``method``, ``ftol``, ``xtol``, ``gtol``,
    ``x_scale``, ``max_nfev``...) mean what they mean there; ``jac`` is computed
    here. Returns SciPy's ``OptimizeResult``; ``x`` is in the structure of ``x0``.

    When float leaves of ``args`` are traced, ``x`` is differentiable in them (to
    any order) by the implicit function theorem on the stationarity of the cost
    (its exact Hessian; see the module docstring). SciPy's point is then refined
    by a few Newton steps on that stationarity (without bounds, up to
    ``POLISH_MAX`` unknowns): SciPy stops ~1e-9 short of the minimum whatever its
    tolerances, and the derivative is the solution's, not the stopping point's.
    Differentiating raises
    :class:`~chainrule.optim.implicit.ImplicitDifferentiationError` when SciPy
    reports failure (``status <= 0``) or a bound is active at the solution.

    >>> import numpy as np, chainrule as cr
    >>> t = np.linspace(0.0, 2.0, 20)
    >>> y = 3.0 * np.exp(-1.5 * t)
    >>> res = least_squares(lambda p, y: p[0] * np.exp(-p[1] * t) - y, np.ones(2), args=(y,))
    >>> np.round(res.x, 8), res.status > 0
    (array([3. , 1.5]), True)
    """
    optimize = scipy_optimize()
    if "jac" in options:
        raise TypeError("least_squares: do not pass jac=; chainrule computes it")
    if callable(loss) or loss not in _LOSSES:
        raise ValueError(
            f"least_squares: loss must be one of {', '.join(_LOSSES)} (a callable loss "
            f"cannot be differentiated here), got {loss!r}"
        )
    kwargs = dict(kwargs or {})
    view = FlatView(plain_start(x0))
    split = ArgSplit(args)
    n = view.size
    found: dict = {}
    differentiating = not all(is_plain(v) for v in split.theta)
    if hasattr(bounds, "lb"):  # scipy.optimize.Bounds
        lb, ub = bounds.lb, bounds.ub
    else:
        lb, ub = bounds
    unbounded = bool(np.all(np.isinf(np.asarray(lb, dtype=float))))
    unbounded = unbounded and bool(np.all(np.isinf(np.asarray(ub, dtype=float))))

    def residuals(z: Any, values: Any) -> Any:
        return ravel_output(fun(view.unflatten(z), *split.build(values), **kwargs))

    def stationarity(z: Any, values: list) -> Any:
        def cost(w: Any) -> Any:
            r = residuals(w, values)
            return 0.5 * f_scale**2 * np.sum(_rho((r / f_scale) ** 2, loss))

        return grad(cost)(z)

    def solve(values: list) -> tuple[np.ndarray, str | None]:
        def plain(z: np.ndarray) -> np.ndarray:
            return np.asarray(residuals(z, values), dtype=np.float64)

        m = plain(view.flat.copy()).size
        jacobian = jacfwd(residuals) if n <= m else jacrev(residuals)

        def jac(z: np.ndarray) -> np.ndarray:
            return np.asarray(jacobian(z, values), dtype=np.float64).reshape(m, n)

        result = optimize.least_squares(
            plain, view.flat.copy(), jac=jac, bounds=bounds, loss=loss, f_scale=f_scale, **options
        )
        found["result"] = result
        failure = None
        if result.status <= 0:
            failure = f"least_squares did not converge: {result.message}"
        elif np.any(result.active_mask != 0):
            failure = (
                "least_squares: a bound is active at the solution, where the gradient of "
                "the cost need not vanish; the implicit derivative there is not implemented"
            )
        if failure is None and differentiating and unbounded:
            result.x = _polish(stationarity, result.x, values, n)
        return result.x, failure

    z = implicit_solution(
        solve, stationarity, split.theta, n=n, symmetric=True, linear_solver=linear_solver
    )
    result = found["result"]
    result.x = view.restore(result.x) if is_plain(z) else view.unflatten(z)
    return result


def fixed_point(
    fun: Callable,
    x0: Any,
    args: tuple = (),
    *,
    xtol: float = 1e-8,
    maxiter: int = 500,
    method: str = "del2",
    linear_solver: str | None = None,
) -> Any:
    """A fixed point ``x = fun(x, *args)`` by ``scipy.optimize.fixed_point`` (Steffensen's
    ``del2`` acceleration or plain ``iteration``), over pytrees.

    Returns the fixed point in the structure of ``x0`` (SciPy returns the bare
    array too). When float leaves of ``args`` are traced the fixed point is
    differentiable in them, to any order, by the implicit function theorem:
    ``dx = (I - dg/dx)^-1 (dg/dargs) dargs``. Raises ``RuntimeError`` naming
    SciPy's message when the iteration does not converge in ``maxiter`` steps.

    >>> import numpy as np, chainrule as cr
    >>> root = lambda a: fixed_point(lambda x, a: 0.5 * (x + a / x), 1.0, args=(a,), xtol=1e-14)
    >>> round(float(root(2.0)), 12), round(float(cr.grad(root)(2.0)), 12)
    (1.414213562373, 0.353553390593)
    """
    optimize = scipy_optimize()
    view = FlatView(plain_start(x0))
    split = ArgSplit(args)

    def mapping(z: Any, values: Any) -> Any:
        return ravel_output(fun(view.unflatten(z), *split.build(values)))

    def solve(values: list) -> tuple[np.ndarray, None]:
        def plain(z: np.ndarray) -> np.ndarray:
            return np.asarray(mapping(np.ravel(z), values), dtype=np.float64)

        try:
            x = optimize.fixed_point(
                plain, view.flat.copy(), xtol=xtol, maxiter=maxiter, method=method
            )
        except RuntimeError as err:
            raise RuntimeError(f"fixed_point: SciPy's fixed_point did not converge: {err}") from err
        return np.ravel(x), None

    z = implicit_solution(
        solve,
        lambda z, values: mapping(z, values) - z,
        split.theta,
        n=view.size,
        linear_solver=linear_solver,
    )
    return view.restore(z) if is_plain(z) else view.unflatten(z)
