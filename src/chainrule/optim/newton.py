"""``root``: Newton's method for a square system f(x) = 0, Jacobian by forward mode.

Each iteration solves ``J(x) dx = -f(x)`` with ``J`` from ``jacfwd``, then
backtracks along ``dx`` until the squared residual ``|f|^2`` falls enough
(Armijo's rule), so that starting points far from a root still make
progress. Near a root with an invertible Jacobian the full step is taken and
convergence is quadratic.

>>> import numpy as np
>>> res = root(lambda x: x ** 2 - 2.0, 1.0)
>>> res.success, round(res.x, 10)
(True, 1.4142135624)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..transforms import jacfwd
from .implicit import ArgSplit, implicit_solution, is_plain, plain_start
from .ravel import FlatView, ravel_output

__all__ = ["root", "RootResult", "NewtonConvergenceError"]


class RootResult(dict):
    """The outcome of :func:`root`, a dict whose keys are also attributes (like SciPy's
    ``OptimizeResult``).

    ``x``: the solution, in the structure of ``x0``; ``fun``: ``f(x)`` as ``f``
    returned it; ``success``, ``status`` (0 converged), ``message``; ``nit``:
    Newton steps taken; ``nfev``, ``njev``: evaluations of ``f`` and its
    Jacobian; ``history``: the residual norm ``|f(x_k)|`` at every iterate,
    the starting point first.

    >>> r = RootResult(x=1.0, nit=3)
    >>> r.x, r["nit"]
    (1.0, 3)
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __repr__(self) -> str:
        keys = ("success", "message", "x", "fun", "nit", "nfev", "njev")
        return "\n".join(f"{k:>8}: {self[k]!r}" for k in keys if k in self)


class NewtonConvergenceError(RuntimeError):
    """Newton's method did not reach a root. ``result`` holds the last iterate (a
    :class:`RootResult`); ``residual_norm`` and ``nit`` say how far it got.

    >>> issubclass(NewtonConvergenceError, RuntimeError)
    True
    """

    def __init__(self, message: str, result: RootResult) -> None:
        super().__init__(message)
        self.result = result
        self.residual_norm = result.history[-1]
        self.nit = result.nit


def _newton_step(jac: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """Solve ``jac @ dx = -residual``; least squares (minimum norm) if ``jac`` is singular."""
    try:
        step = np.linalg.solve(jac, -residual)
        if np.all(np.isfinite(step)):
            return step
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(jac, -residual, rcond=None)[0]


def root(
    fun: Callable,
    x0: Any,
    *,
    args: tuple = (),
    tol: float = 1e-10,
    maxiter: int = 50,
    line_search: bool = True,
    callback: Callable | None = None,
    linear_solver: str | None = None,
) -> RootResult:
    """Solve ``fun(x, *args) = 0`` by Newton's method with a backtracking line search.

    ``x0`` is a pytree of real numbers and arrays; ``fun`` maps it to as many
    equations as there are unknowns, returned as an array, a number or any
    pytree of them. The Jacobian is computed by ``jacfwd``. The iteration stops
    when the residual norm ``|f(x)|`` is at most ``tol``. ``callback(x)`` is
    called with each new iterate, in the structure of ``x0``.

    Returns a :class:`RootResult` (``x`` in the structure of ``x0``, ``fun``,
    ``nit``, ``success``, ``history`` of residual norms). Raises
    :class:`NewtonConvergenceError` (a ``RuntimeError``) naming the residual norm
    and the iteration count when ``maxiter`` steps do not reach ``tol``, when
    the line search cannot reduce the residual (typically a singular Jacobian,
    or no root nearby), or when ``fun`` returns a non-finite value; the
    exception's ``result`` holds the last iterate.

    **Derivatives of the root.** ``args`` is a tuple of pytrees; when its float
    leaves are traced (``root`` called inside ``cr.grad``, ``cr.jacfwd``,
    ``cr.hessian``...), ``x`` is traced too and its derivative is given by the
    implicit function theorem at the root, ``dx = -(df/dx)^-1 (df/dargs) dargs``
    (see :mod:`chainrule.optim.implicit`), to any order; Newton's iterations
    themselves are not differentiated. ``linear_solver`` picks how those linear
    systems are solved: ``"dense"``, ``"gmres"`` (matrix-free) or ``None``
    (dense up to 500 unknowns).

    >>> import chainrule as cr
    >>> sqrt = lambda a: root(lambda x, a: x ** 2 - a, 1.0, args=(a,)).x
    >>> round(float(cr.grad(sqrt)(2.0)), 12) == round(0.5 / 2.0 ** 0.5, 12)
    True

    >>> import numpy as np
    >>> circles = lambda p: (p[0] ** 2 + p[1] ** 2 - 4.0, (p[0] - 1.0) ** 2 + p[1] ** 2 - 4.0)
    >>> res = root(circles, np.array([1.0, 1.0]))
    >>> np.round(res.x, 10), res.nit
    (array([0.5       , 1.93649167]), 5)
    >>> root(lambda x: x ** 2 + 1.0, 1.0)
    Traceback (most recent call last):
    ...
    chainrule.optim.newton.NewtonConvergenceError: root: ... residual norm 1.000e+00 after 1 ...
    """
    if maxiter < 0:
        raise ValueError(f"root: maxiter must be >= 0, got {maxiter!r}")
    view = FlatView(plain_start(x0))
    split = ArgSplit(args)
    found: dict = {}

    def solve(values: list) -> tuple[np.ndarray, None]:
        found["result"] = _newton(
            fun, view, split.build(values), tol, maxiter, line_search, callback
        )
        return view.flatten_like(found["result"].x, "root"), None

    def residual(z: Any, values: list) -> Any:
        return ravel_output(fun(view.unflatten(z), *split.build(values)))

    z = implicit_solution(solve, residual, split.theta, n=view.size, linear_solver=linear_solver)
    result = found["result"]
    if not is_plain(z):
        result.x = view.unflatten(z)
    return result


def _newton(
    fun: Callable,
    view: FlatView,
    args: tuple,
    tol: float,
    maxiter: int,
    line_search: bool,
    callback: Callable | None,
) -> RootResult:
    """Newton's method on plain values (see :func:`root`)."""
    n = view.size
    args = tuple(args)

    def evaluate(z: Any) -> tuple[Any, Any]:
        raw = fun(view.unflatten(z), *args)
        return ravel_output(raw), raw

    def flat_fun(z: Any) -> Any:
        return evaluate(z)[0]

    jacobian = jacfwd(flat_fun)
    z = view.flat.copy()
    residual, raw = evaluate(z)
    residual = np.asarray(residual, dtype=np.float64)
    if residual.size != n:
        raise ValueError(
            f"root: fun must return as many equations as there are unknowns; it returned "
            f"{residual.size} values for {n} unknowns (use minimize for least squares)"
        )
    norm = float(np.linalg.norm(residual))
    result = RootResult(nfev=1, njev=0, nit=0, history=[norm])

    def finish(success: bool, message: str) -> RootResult:
        result.update(
            x=view.restore(z), fun=raw, success=success, message=message, status=0 if success else 1
        )
        if not success:
            raise NewtonConvergenceError(
                f"root: Newton's method did not converge: residual norm {norm:.3e} after "
                f"{result.nit} iterations (tol {tol:.1e}); {message}",
                result,
            )
        return result

    if not np.isfinite(norm):
        return finish(False, "fun returned a non-finite value at x0")
    while norm > tol:
        if result.nit >= maxiter:
            return finish(False, f"maxiter={maxiter} reached")
        jac = np.asarray(jacobian(z), dtype=np.float64).reshape(n, n)
        result.njev += 1
        step = _newton_step(jac, residual)
        alpha, merit = 1.0, norm**2
        while True:  # backtrack until |f|^2 decreases by Armijo's rule
            z_new = z + alpha * step
            new_residual, new_raw = evaluate(z_new)
            new_residual = np.asarray(new_residual, dtype=np.float64)
            result.nfev += 1
            new_norm = float(np.linalg.norm(new_residual))
            if not line_search or new_norm**2 <= (1.0 - 2e-4 * alpha) * merit:
                break
            alpha *= 0.5
            if alpha < 1e-10:
                return finish(
                    False,
                    "the line search could not reduce the residual (the "
                    "Jacobian may be singular, or there is no root nearby)",
                )
        z, residual, raw, norm = z_new, new_residual, new_raw, new_norm
        result.nit += 1
        result.history.append(norm)
        if not np.isfinite(norm):
            return finish(False, "fun returned a non-finite value")
        if callback is not None:
            callback(view.restore(z))
    return finish(True, "converged: residual norm within tol")
