"""``curve_fit``: SciPy's ``curve_fit`` with the exact Jacobian, differentiable.

The fit minimises the weighted residuals ``r = W (f(xdata, *p) - ydata)``
(``W = 1/sigma`` for a 1-d ``sigma``, ``L^-1`` with ``sigma = L L^T`` for a
2-d covariance) with :func:`~chainrule.optim.least_squares`, whose Jacobian
comes from chainrule instead of finite differences. ``pcov`` is SciPy's
definition: ``(J^T J)^-1`` at the optimum (a pseudo-inverse discarding singular
values below ``eps * max(J.shape) * s_max``, as SciPy does), times the residual
variance ``sum(r^2) / (m - n)`` unless ``absolute_sigma``.

``popt`` is differentiable in ``ydata``, ``xdata`` and ``sigma`` when they are
traced (the implicit function theorem, through ``least_squares``), and so is
``pcov`` when ``J`` has full rank.

>>> import numpy as np, chainrule as cr
>>> x = np.linspace(0.0, 4.0, 30)
>>> y = 2.5 * np.exp(-1.3 * x) + 0.01 * np.cos(7 * x)
>>> popt, pcov = curve_fit(lambda x, a, k: a * np.exp(-k * x), x, y, p0=[1.0, 1.0])
>>> np.round(popt, 3), pcov.shape
(array([2.505, 1.303]), (2, 2))
>>> cr.jacrev(lambda y: curve_fit(lambda x, a, k: a * np.exp(-k * x), x, y, [1.0, 1.0])[0])(y).shape
(2, 30)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..transforms import jacfwd
from ._scipy import scipy_optimize
from .implicit import is_plain, plain_start
from .solvers import least_squares

__all__ = ["curve_fit"]


def _weighted(f: Callable, sigma_kind: str) -> Callable:
    def residuals(p: Any, xdata: Any, ydata: Any, sigma: Any) -> Any:
        diff = np.ravel(f(xdata, *p) - ydata)
        if sigma_kind == "none":
            return diff
        if sigma_kind == "1d":
            return diff / np.ravel(sigma)
        # r = L^-1 diff with sigma = L L^T, so that |r|^2 = diff^T sigma^-1 diff
        return np.linalg.solve(np.linalg.cholesky(sigma), diff)

    return residuals


def curve_fit(
    f: Callable,
    xdata: Any,
    ydata: Any,
    p0: Any,
    sigma: Any = None,
    absolute_sigma: bool = False,
    *,
    bounds: Any = (-np.inf, np.inf),
    method: str | None = None,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """Fit ``f(xdata, *params)`` to ``ydata``; returns ``(popt, pcov)`` as SciPy's
    ``curve_fit`` defines them, the Jacobian exact (from chainrule).

    ``p0`` (required: it fixes the number of parameters) is a sequence of
    starting values. ``sigma``: ``None``, a 1-d array of standard deviations of
    ``ydata``, or a 2-d covariance matrix of ``ydata``. ``absolute_sigma=False``
    scales ``pcov`` by the reduced chi-square ``sum(r^2) / (m - n)``; ``True``
    takes ``sigma`` as absolute. ``method`` (``"lm"`` without bounds by default,
    ``"trf"`` with them, or ``"dogbox"``), ``bounds`` and other keywords
    (``ftol``, ``xtol``, ``gtol``, ``max_nfev``, ``loss``...) go to
    :func:`~chainrule.optim.least_squares`.

    Raises ``RuntimeError`` ("Optimal parameters not found: ...", SciPy's words)
    when the fit fails, ``ValueError`` for a ``sigma`` of the wrong shape or
    ``m < n``. ``pcov`` is filled with ``inf`` (with SciPy's ``OptimizeWarning``)
    when it cannot be estimated (``m == n`` without ``absolute_sigma``).

    >>> import numpy as np
    >>> x = np.arange(5.0)
    >>> popt, pcov = curve_fit(lambda x, a, b: a + b * x, x, 1.0 + 2.0 * x + [0, .1, 0, -.1, 0],
    ...                        p0=[0.0, 0.0])
    >>> np.round(popt, 6), np.round(np.sqrt(np.diag(pcov)), 6)
    (array([1.04, 1.98]), array([0.056569, 0.023094]))
    """
    optimize = scipy_optimize()
    if p0 is None:
        raise ValueError("curve_fit: p0 is required (it fixes the number of parameters)")
    p0 = np.atleast_1d(np.asarray(plain_start(p0), dtype=np.float64))
    if p0.ndim != 1:
        raise ValueError(f"curve_fit: p0 must be a 1-d sequence, got shape {p0.shape}")
    n = p0.size
    m = int(np.size(ydata))
    if m < n:
        raise ValueError(f"curve_fit: {m} data points cannot fix {n} parameters (need m >= n)")
    if sigma is None:
        kind = "none"
    elif np.ndim(sigma) == 1 and np.shape(sigma) == (m,):
        kind = "1d"
    elif np.ndim(sigma) == 2 and np.shape(sigma) == (m, m):
        kind = "2d"
    else:
        raise ValueError(
            f"curve_fit: sigma must be None, a 1-d array of {m} standard deviations or an "
            f"({m}, {m}) covariance matrix of ydata, got shape {np.shape(sigma)}"
        )
    if method is None:
        bounded = bool(np.any(np.isfinite(np.asarray(bounds[0], dtype=float)))) or bool(
            np.any(np.isfinite(np.asarray(bounds[1], dtype=float)))
        )
        method = "trf" if bounded else "lm"
    residuals = _weighted(f, kind)
    args = (xdata, ydata, sigma)
    try:
        res = least_squares(residuals, p0, args=args, bounds=bounds, method=method, **kwargs)
    except np.linalg.LinAlgError as err:
        raise ValueError(
            f"curve_fit: sigma must be a symmetric positive definite covariance ({err})"
        ) from err
    if res.status <= 0:
        raise RuntimeError("Optimal parameters not found: " + str(res.message))
    popt = res.x

    # SciPy's pcov: the pseudo-inverse of J^T J through J's singular values
    jac = np.asarray(res.jac, dtype=np.float64)
    _, s, vt = np.linalg.svd(jac, full_matrices=False)
    keep = s > np.finfo(float).eps * max(jac.shape) * s[0]
    if not is_plain(popt):
        # same matrix, but recomputed from the traced optimum so that it carries a derivative
        J = jacfwd(residuals)(popt, *args)
        pcov = np.linalg.inv(J.T @ J) if np.all(keep) else (vt[keep].T / s[keep] ** 2) @ vt[keep]
        r = residuals(popt, *args)
    else:
        pcov = (vt[keep].T / s[keep] ** 2) @ vt[keep]
        r = np.asarray(res.fun, dtype=np.float64)
    if not absolute_sigma:
        if m > n:
            pcov = pcov * (np.sum(r**2) / (m - n))
        else:
            pcov = np.full((n, n), np.inf)
            warnings.warn(
                "Covariance of the parameters could not be estimated",
                optimize.OptimizeWarning,
                stacklevel=2,
            )
    return popt, pcov
