"""``chainrule.scipy.integrate``: integration with SciPy's signatures,
differentiable in the data.

* Sampled data: ``trapezoid`` and ``simpson``, differentiable in ``y`` and in
  the sample points ``x`` (SciPy's current rules, values equal to SciPy's).
* Functions: ``solve_ivp`` and ``odeint`` (forward sensitivities or the adjoint
  method, in ``_ode``) and ``quad`` (the Leibniz rule, in ``_quad``),
  differentiable in initial states, ``args``, times and limits.

Plain ``scipy.integrate`` calls convert their inputs with ``np.asarray`` and so
refuse traced values: use these instead. Other names fall through to
``scipy.integrate``. (Solvers of functions, ``quad``/``solve_ivp``, belong in
their own section of this module or a module beside it; ``DIFFERENTIABLE``
lists what is defined here.)

>>> import chainrule as cr, chainrule.scipy.integrate as csi, numpy as np
>>> cr.grad(lambda y: csi.simpson(y, dx=0.5))(np.ones(3))
array([0.16666667, 0.66666667, 0.16666667])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.integrate as _si

from ..core.registry import export as _export
from ..core.trace import is_traced
from ..rules._util import ndim_of, shape_of
from ._special_rules import as_float

_NS = "scipy.integrate"

#: The names this module defines itself (as opposed to falling through to SciPy).
DIFFERENTIABLE: list[str] = []


def _defines(name: str):
    def register(fn: Any) -> Any:
        DIFFERENTIABLE.append(name)
        DIFFERENTIABLE.sort()
        return _export(name, _NS)(fn)

    return register


# --- quadrature of sampled data ---------------------------------------------------------
def _along_last(y: Any, x: Any, axis: int, name: str) -> tuple[Any, Any]:
    """``y`` with ``axis`` moved last, and ``x`` (1-d, or shaped like ``y``) to match."""
    y = np.moveaxis(as_float(y), axis, -1)
    if x is None:
        return y, None
    x = as_float(x)
    n = shape_of(y)[-1]
    if ndim_of(x) == 1:
        if shape_of(x)[0] != n:
            raise ValueError(
                f"{name}: x has {shape_of(x)[0]} samples but y has {n} along axis {axis}"
            )
        return y, x
    if ndim_of(x) != ndim_of(y) + 0:
        raise ValueError(f"{name}: x must be 1-d or have y's shape, got {shape_of(x)}")
    x = np.moveaxis(x, axis, -1)
    if shape_of(x)[-1] != n:
        raise ValueError(f"{name}: x has {shape_of(x)[-1]} samples but y has {n} along axis")
    return y, x


@_defines("trapezoid")
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """``scipy.integrate.trapezoid``: the composite trapezoidal rule along ``axis``,
    with sample points ``x`` (1-d or shaped like ``y``) or spacing ``dx``;
    differentiable in ``y``, ``x`` and ``dx``.

    >>> import chainrule as cr, chainrule.scipy.integrate as csi, numpy as np
    >>> cr.grad(lambda x: csi.trapezoid(np.array([1.0, 3.0]), x))(np.array([0.0, 1.0]))
    array([-2.,  2.])
    """
    if not any(is_traced(v) for v in (y, x, dx)):
        return _si.trapezoid(y, x, dx, axis)
    y, x = _along_last(y, x, axis, "trapezoid")
    h = dx if x is None else np.diff(x, axis=-1)
    return np.sum(h * (y[..., 1:] + y[..., :-1]), axis=-1) / 2.0


def _pairs(y: Any, h0: Any, h1: Any) -> Any:
    """Simpson's rule over consecutive pairs of intervals of lengths ``h0``, ``h1``
    (the parabola through the three samples, integrated): summed over pairs."""
    y0, y1, y2 = y[..., 0:-2:2], y[..., 1:-1:2], y[..., 2::2]
    s = h0 + h1
    terms = y0 * (2.0 - h1 / h0) + y1 * (s * s / (h0 * h1)) + y2 * (2.0 - h0 / h1)
    return np.sum(s / 6.0 * terms, axis=-1)


@_defines("simpson")
def simpson(y: Any, x: Any = None, *, dx: float = 1.0, axis: int = -1) -> Any:
    """``scipy.integrate.simpson``: Simpson's rule along ``axis``, SciPy's current
    rule for an even number of samples included (Simpson's rule on the first
    ``N - 1`` samples plus Cartwright's parabola for the last interval; the
    trapezoid for 2 samples). Differentiable in ``y``, ``x`` and ``dx``.

    >>> import chainrule as cr, chainrule.scipy.integrate as csi, numpy as np
    >>> x = np.linspace(0.0, 1.0, 4)
    >>> float(cr.grad(lambda y: csi.simpson(y, x=x))(x ** 2).sum())  # integral of 1
    1.0
    """
    if not any(is_traced(v) for v in (y, x, dx)):
        return _si.simpson(y, x=x, dx=dx, axis=axis)
    y, x = _along_last(y, x, axis, "simpson")
    n = shape_of(y)[-1]
    if n < 2:
        return np.sum(y[..., :0], axis=-1) * dx  # SciPy's empty sum: 0
    if x is None:
        h = None
    else:
        h = np.diff(x, axis=-1)
    if n == 2:
        step = dx if h is None else h[..., 0]
        return 0.5 * step * (y[..., 0] + y[..., 1])
    odd = n % 2 == 1
    body = y if odd else y[..., :-1]
    if h is None:
        y0, y1, y2 = body[..., 0:-2:2], body[..., 1:-1:2], body[..., 2::2]
        result = np.sum(y0 + 4.0 * y1 + y2, axis=-1) * (dx / 3.0)
    else:
        hb = h if odd else h[..., :-1]
        result = _pairs(body, hb[..., 0::2], hb[..., 1::2])
    if odd:
        return result
    # Cartwright's correction: the parabola through the last three samples,
    # integrated over the last interval only.
    h0, h1 = (dx, dx) if h is None else (h[..., -2], h[..., -1])
    alpha = (2.0 * h1**2 + 3.0 * h0 * h1) / (6.0 * (h0 + h1))
    beta = (h1**2 + 3.0 * h0 * h1) / (6.0 * h0)
    eta = h1**3 / (6.0 * h0 * (h0 + h1))
    return result + alpha * y[..., -1] + beta * y[..., -2] - eta * y[..., -3]


# --- solvers of functions: ODEs and quadrature ------------------------------------------
from . import _ode, _quad  # noqa: E402

solve_ivp = _defines("solve_ivp")(_ode.solve_ivp)
odeint = _defines("odeint")(_ode.odeint)
quad = _defines("quad")(_quad.quad)
OdeResult = _ode.OdeResult


def __getattr__(name: str) -> Any:
    try:
        return getattr(_si, name)
    except AttributeError:
        raise AttributeError(
            f"module 'chainrule.scipy.integrate' has no attribute {name!r}"
        ) from None
