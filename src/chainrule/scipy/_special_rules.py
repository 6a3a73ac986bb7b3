"""Derivative rules for ``scipy.special``.

Every function is an elementwise primitive whose derivative is written with
differentiable calls (often another primitive of this module: ``gammaln`` ->
``digamma`` -> ``polygamma(1)`` -> ``polygamma(2)`` ...), so every order works.
Importing this module (``import chainrule.scipy`` does) also registers the
primitives under SciPy's ufunc objects, so that plain ``scipy.special.erf(x)``
on a traced ``x`` reaches them through ``__array_ufunc__``.

Formulas: ``gamma' = gamma digamma``, ``digamma' = polygamma(1, .)``,
``polygamma(n, .)' = polygamma(n + 1, .)``, ``erf' = 2/sqrt(pi) exp(-x^2)``,
``erfinv' = sqrt(pi)/2 exp(erfinv^2)``, ``erfcx' = 2 x erfcx - 2/sqrt(pi)``,
``ndtr' = phi``, ``log_ndtr' = exp(log phi - log_ndtr)``, ``ndtri' = 1/phi(ndtri)``,
``i0e' = i1e - sign i0e``, ``i1e' = i0e - i1e (sign + 1/x)`` (1/2 at 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

from ..core.primitive import Primitive
from ..core.registry import UFUNCS
from ..core.trace import is_traced, strip
from ..rules._util import mul0
from ..rules.elementwise import binary_primitive, unary_primitive
from ..rules.stable import sigmoid_p, xlogy_p

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def as_float(x: Any) -> Any:
    """A non-traced argument as a floating array (lists and Python numbers allowed)."""
    if is_traced(x):
        return x
    x = np.asarray(x)
    return x if x.dtype.kind in "fc" else x.astype(np.float64)


# --- the gamma family -------------------------------------------------------------------
# polygamma_p(n, x): n is an order (no derivative); d/dx polygamma(n, x) = polygamma(n + 1, x).
polygamma_p: Primitive = binary_primitive(
    "polygamma", sc.polygamma, None, lambda x, y: polygamma_p(np.add(strip(x), 1), y)
)
# The gamma family has poles at 0, -1, -2, ...: infinite derivatives there (zero_safe).
digamma_p = unary_primitive("digamma", sc.digamma, lambda x: polygamma_p(1, x), zero_safe=True)
gammaln_p = unary_primitive("gammaln", sc.gammaln, lambda x: digamma_p(x), zero_safe=True)
gamma_p = unary_primitive("gamma", sc.gamma, lambda ans, x: ans * digamma_p(x), zero_safe=True)
# betaln(a, b) = gammaln(a) + gammaln(b) - gammaln(a + b), computed by SciPy to full accuracy.
betaln_p = binary_primitive(
    "betaln",
    sc.betaln,
    lambda x, y: digamma_p(x) - digamma_p(x + y),
    lambda x, y: digamma_p(y) - digamma_p(x + y),
)

# --- error functions --------------------------------------------------------------------
erf_p = unary_primitive("erf", sc.erf, lambda x: _TWO_OVER_SQRT_PI * np.exp(-x * x))
erfc_p = unary_primitive("erfc", sc.erfc, lambda x: -_TWO_OVER_SQRT_PI * np.exp(-x * x))
# Infinite at x = +-1, where erfinv is +-inf.
erfinv_p = unary_primitive(
    "erfinv", sc.erfinv, lambda ans: _SQRT_PI_OVER_TWO * np.exp(ans * ans), zero_safe=True
)
# erfcx overflows for large negative x, and so does its derivative.
erfcx_p = unary_primitive(
    "erfcx", sc.erfcx, lambda ans, x: 2.0 * x * ans - _TWO_OVER_SQRT_PI, zero_safe=True
)

# --- the normal distribution ------------------------------------------------------------
ndtr_p = unary_primitive("ndtr", sc.ndtr, lambda x: np.exp(-0.5 * x * x - _LOG_SQRT_2PI))
# exp(log phi(x) - log Phi(x)): finite far into both tails (about -x for x << 0).
log_ndtr_p = unary_primitive(
    "log_ndtr",
    sc.log_ndtr,
    lambda ans, x: np.exp(-0.5 * x * x - _LOG_SQRT_2PI - ans),
    zero_safe=True,
)
# 1 / phi(ndtri(p)): infinite at p = 0 and 1.
ndtri_p = unary_primitive(
    "ndtri", sc.ndtri, lambda ans: _SQRT_2PI * np.exp(0.5 * ans * ans), zero_safe=True
)


# --- exponentially scaled Bessel functions ----------------------------------------------
def _sign(x: Any) -> Any:
    """sign(x), locally constant: it carries no derivative."""
    return np.sign(strip(x))


def _i1e_over_x(x: Any) -> Any:
    """``i1e(x) / x``, with its limit 1/2 at 0."""
    zero = strip(x) == 0
    if not np.any(zero):
        return i1e_p(x) / x
    xs = np.where(zero, 1.0, x)
    return np.where(zero, 0.5, i1e_p(xs) / xs)


# i0e(x) = exp(-|x|) I0(x) has a kink at 0; sign(0) = 0 takes the mean of the slopes, 0.
i0e_p = unary_primitive("i0e", sc.i0e, lambda ans, x: i1e_p(x) - _sign(x) * ans)
i1e_p: Primitive = unary_primitive(
    "i1e", sc.i1e, lambda ans, x: i0e_p(x) - _sign(x) * ans - _i1e_over_x(x)
)


# --- logistic and x log y ---------------------------------------------------------------
def _logit_deriv(x: Any) -> Any:
    """``1 / (x (1 - x))``: infinite at 0 and 1."""
    with np.errstate(divide="ignore"):
        return 1.0 / (x * (1.0 - x))


logit_p = unary_primitive("logit", sc.logit, lambda x: _logit_deriv(x), zero_safe=True)


def _xlog1py_dy(x: Any, y: Any) -> Any:
    """``x / (1 + y)``, but 0 where ``x`` is 0 even if ``y`` is -1."""
    with np.errstate(divide="ignore"):
        return mul0(x, 1.0 / (1.0 + y))


xlog1py_p = binary_primitive(
    "xlog1py", sc.xlog1py, lambda y: np.log1p(y), _xlog1py_dy, zero_safe=True
)

#: SciPy ufunc -> primitive; installed into the tracer's ufunc table by ``register``.
SCIPY_UFUNCS = {
    sc.gammaln: gammaln_p,
    sc.gamma: gamma_p,
    sc.digamma: digamma_p,
    sc.psi: digamma_p,
    sc.betaln: betaln_p,
    sc.erf: erf_p,
    sc.erfc: erfc_p,
    sc.erfinv: erfinv_p,
    sc.erfcx: erfcx_p,
    sc.expit: sigmoid_p,
    sc.logit: logit_p,
    sc.xlogy: xlogy_p,
    sc.xlog1py: xlog1py_p,
    sc.ndtr: ndtr_p,
    sc.log_ndtr: log_ndtr_p,
    sc.ndtri: ndtri_p,
    sc.i0e: i0e_p,
    sc.i1e: i1e_p,
}


def register() -> None:
    """Let plain ``scipy.special`` ufunc calls on traced values reach our rules."""
    for ufunc, prim in SCIPY_UFUNCS.items():
        UFUNCS.setdefault(ufunc, prim)
