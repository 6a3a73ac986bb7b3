"""``numpy.i0``, the modified Bessel function of the first kind, order 0.

Its derivative is ``I1``, whose derivative is ``I0(x) - I1(x) / x`` (a power
series for |x| < 1, where that difference cancels), so two primitives whose
rules call each other give every order. NumPy has no ``I1``: it comes from
``scipy.special.i1`` when SciPy is installed, else from the trapezoidal rule
on ``(1/pi) int_0^pi exp(x cos t) cos t dt``, which converges geometrically
for this periodic, analytic integrand (the node count grows like
``sqrt(|x|)``), and from its power series for |x| < 1.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from ..core.primitive import Primitive
from ..core.registry import implements
from ..core.trace import is_traced, strip
from .shape import where


def _i1_quadrature(x: Any) -> Any:
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    big = float(np.max(ax[np.isfinite(ax)], initial=0.0))
    nodes = 24 + int(math.ceil(math.sqrt(100.0 * big)))
    theta = np.linspace(0.0, np.pi, nodes + 1)
    weights = np.full(nodes + 1, 1.0 / nodes)
    weights[[0, -1]] *= 0.5
    total = np.zeros_like(ax)
    with np.errstate(over="ignore", invalid="ignore"):
        for t, w in zip(theta, weights):  # scaled by exp(-|x|) against overflow
            total += w * np.exp(ax * (np.cos(t) - 1.0)) * np.cos(t)
        out = np.asarray(np.sign(x) * total * np.exp(ax))
    # Near 0 the nodes' cos t nearly cancel: the power series is exact there.
    small = ax < 1
    h2 = (x[small] / 2) ** 2
    series = np.zeros_like(h2)
    for k in range(11, -1, -1):
        series = series * h2 + 1.0 / (math.factorial(k) * math.factorial(k + 1))
    out[small] = series * x[small] / 2
    return out[()]


def _i1_impl(x: Any) -> Any:
    try:
        special = importlib.import_module("scipy.special")
    except ImportError:  # SciPy is optional
        return _i1_quadrature(x)
    return special.i1(x)


i0_p = Primitive("i0", lambda x: np.i0(x))
i1_p = Primitive("i1", _i1_impl)


# I1'(x) = sum_k c_k x^(2k) with c_k = (2k + 1) / (2 4^k k! (k + 1)!): for |x| < 1
# ten terms are exact to rounding, and the polynomial's own derivatives are too.
_DI1_SERIES = [
    (2 * k + 1) / (2 * 4**k * math.factorial(k) * math.factorial(k + 1)) for k in range(10)
]


def _di1(x: Any) -> Any:
    """``I1'(x) = I0(x) - I1(x) / x``; for |x| < 1, where that difference
    loses digits (and its derivatives more, down to 0/0 at 0), the series."""
    small = np.abs(strip(x)) < 1
    if not np.any(small):
        return i0_p(x) - i1_p(x) / x
    x2 = x * x
    series = _DI1_SERIES[-1]
    for c in _DI1_SERIES[-2::-1]:
        series = series * x2 + c
    if np.all(small):
        return series
    safe = where(small, 1.0, x)
    return where(small, series, i0_p(safe) - i1_p(safe) / safe)


i0_p.defvjp(lambda ans, x: lambda g: g * i1_p(x))
i0_p.defjvp(lambda t, ans, x: t * i1_p(x))
i1_p.defvjp(lambda ans, x: lambda g: g * _di1(x))
i1_p.defjvp(lambda t, ans, x: t * _di1(x))


@implements(np.i0)
def i0(x: Any) -> Any:
    """Differentiable ``numpy.i0`` (real input, as NumPy's): the derivative is
    the order-1 function ``I1``, to any order.

    >>> import chainrule as cr, numpy as np
    >>> round(float(cr.grad(np.i0)(1.0)), 12)
    0.565159103992
    """
    if not is_traced(x):
        return np.i0(x)
    if np.iscomplexobj(strip(x)):
        raise TypeError("i0 not supported for complex values")
    if strip(x).dtype != np.float64:
        x = x.astype(np.float64)
    return i0_p(x)
