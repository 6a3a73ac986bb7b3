"""Derivative rules for ``scipy.special``'s distribution functions, written
through the incomplete gamma and beta functions (``_special_incomplete``):

* ``chdtr(v, x) = P(v/2, x/2)``, ``chdtrc = Q``;
* ``gdtr(a, b, x) = P(b, a x)``, ``gdtrc = Q`` (``a`` the rate, ``b`` the shape);
* ``pdtr(k, m) = Q(floor(k) + 1, m)``, ``pdtrc = P``: differentiable in ``m``,
  piecewise constant in ``k`` (SciPy floors it);
* ``stdtr(df, t) = 1 - I_z(df/2, 1/2)/2`` for ``t > 0`` (``I_z/2`` for ``t < 0``),
  ``z = df/(df + t**2)``;
* ``fdtr(dfn, dfd, x) = I_w(dfn/2, dfd/2)``, ``w = dfn x/(dfd + dfn x)``, and ``fdtrc``;
* ``bdtr(k, n, p) = I_{1-p}(n - k, k + 1)`` and ``bdtrc``: differentiable in ``p``
  (SciPy floors ``k`` and ``n``).

Every argument that is a real number in SciPy's definition is differentiated,
to any order (the partials are written with differentiable primitives).
Values are SciPy's own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sc

from ..core.primitive import Primitive
from ..core.registry import UFUNCS, export
from ..core.trace import strip
from ..rules.elementwise import binary_primitive
from ._special_incomplete import (
    _beta_density,
    _gamma_density,
    betainc_d,
    gammainc_da,
    ternary_primitive,
)
from ._special_rules import as_float, gammaln_p

_NS = "scipy.special"


# Every rule here is zero-safe: a zero cotangent or tangent stays 0 against a
# derivative that is infinite or NaN (a pole, a point outside the domain), as
# docs/conventions.md requires of every rule.
def _binary(*args: Any, **kwargs: Any) -> Primitive:
    return binary_primitive(*args, zero_safe=True, **kwargs)


# --- chi-square and gamma --------------------------------------------------------------------
chdtr_p = _binary(
    "chdtr",
    sc.chdtr,
    lambda x, y: 0.5 * gammainc_da(1)(0.5 * x, 0.5 * y),
    lambda x, y: 0.5 * _gamma_density(0.5 * x, 0.5 * y),
)
chdtrc_p = _binary(
    "chdtrc",
    sc.chdtrc,
    lambda x, y: -0.5 * gammainc_da(1)(0.5 * x, 0.5 * y),
    lambda x, y: -0.5 * _gamma_density(0.5 * x, 0.5 * y),
)


def _gdtr_partials(sign: float) -> tuple[Any, Any, Any]:
    return (
        lambda a, b, x: sign * x * _gamma_density(b, a * x),
        lambda a, b, x: sign * gammainc_da(1)(b, a * x),
        lambda a, b, x: sign * a * _gamma_density(b, a * x),
    )


gdtr_p = ternary_primitive("gdtr", sc.gdtr, *_gdtr_partials(1.0))
gdtrc_p = ternary_primitive("gdtrc", sc.gdtrc, *_gdtr_partials(-1.0))


# --- Poisson: k is floored by SciPy, so only m moves the value ---------------------------------
def _floor1(k: Any) -> Any:
    return np.floor(strip(k)) + 1.0


pdtr_p = _binary("pdtr", sc.pdtr, None, lambda x, y: -_gamma_density(_floor1(x), y))
pdtrc_p = _binary("pdtrc", sc.pdtrc, None, lambda x, y: _gamma_density(_floor1(x), y))


# --- Student's t ---------------------------------------------------------------------------
def _t_density(df: Any, t: Any) -> Any:
    return np.exp(
        gammaln_p(0.5 * (df + 1.0))
        - gammaln_p(0.5 * df)
        - 0.5 * np.log(df * math.pi)
        - 0.5 * (df + 1.0) * np.log1p(t * t / df)
    )


def _stdtr_ddf(df: Any, t: Any) -> Any:
    # F = c - sign(t) I_z(df/2, 1/2)/2 with z = df/(df + t^2): by the chain rule,
    # dF/ddf = -sign(t)/2 (I_a/2 + I_x t^2/(df + t^2)^2); 0 at t = 0 by symmetry
    # (where I_x is infinite at z = 1 and the formula would give 0 * inf).
    centre = strip(t) == 0
    if np.any(centre):
        return np.where(centre, 0.0, _stdtr_ddf(df, np.where(centre, 1.0, t)))
    s = np.sign(strip(t))
    t2 = t * t
    z = df / (df + t2)
    half = 0.5 * np.ones_like(strip(df))
    return (
        -0.5
        * s
        * (
            0.5 * betainc_d(1, 0)(0.5 * df, half, z)
            + _beta_density(0.5 * df, half, z) * t2 / ((df + t2) * (df + t2))
        )
    )


stdtr_p = _binary("stdtr", sc.stdtr, lambda x, y: _stdtr_ddf(x, y), lambda x, y: _t_density(x, y))


# --- F -------------------------------------------------------------------------------------
def _fdtr_partials(sign: float) -> tuple[Any, Any, Any]:
    def parts(n: Any, d: Any, x: Any) -> tuple[Any, Any, Any, Any]:
        den = d + n * x
        w = n * x / den
        return 0.5 * n, 0.5 * d, w, den * den

    def dn(n: Any, d: Any, x: Any) -> Any:
        a, b, w, den2 = parts(n, d, x)
        return sign * (0.5 * betainc_d(1, 0)(a, b, w) + _beta_density(a, b, w) * x * d / den2)

    def dd(n: Any, d: Any, x: Any) -> Any:
        a, b, w, den2 = parts(n, d, x)
        return sign * (0.5 * betainc_d(0, 1)(a, b, w) - _beta_density(a, b, w) * n * x / den2)

    def dx(n: Any, d: Any, x: Any) -> Any:
        a, b, w, den2 = parts(n, d, x)
        return sign * _beta_density(a, b, w) * n * d / den2

    return dn, dd, dx


fdtr_p = ternary_primitive("fdtr", sc.fdtr, *_fdtr_partials(1.0))
fdtrc_p = ternary_primitive("fdtrc", sc.fdtrc, *_fdtr_partials(-1.0))


# --- binomial: SciPy floors k and n, so only p moves the value ---------------------------------
def _bdtr_dp(k: Any, n: Any, p: Any) -> Any:
    kf, nf = np.floor(strip(k)), np.floor(strip(n))
    return -_beta_density(nf - kf, kf + 1.0, 1.0 - p)


def _bdtrc_dp(k: Any, n: Any, p: Any) -> Any:
    kf, nf = np.floor(strip(k)), np.floor(strip(n))
    return _beta_density(kf + 1.0, nf - kf, p)


bdtr_p = ternary_primitive("bdtr", sc.bdtr, None, None, _bdtr_dp)
bdtrc_p = ternary_primitive("bdtrc", sc.bdtrc, None, None, _bdtrc_dp)

#: SciPy ufunc -> primitive (installed by ``register``).
SCIPY_UFUNCS = {
    sc.chdtr: chdtr_p,
    sc.chdtrc: chdtrc_p,
    sc.gdtr: gdtr_p,
    sc.gdtrc: gdtrc_p,
    sc.pdtr: pdtr_p,
    sc.pdtrc: pdtrc_p,
    sc.stdtr: stdtr_p,
    sc.fdtr: fdtr_p,
    sc.fdtrc: fdtrc_p,
    sc.bdtr: bdtr_p,
    sc.bdtrc: bdtrc_p,
}


def register() -> None:
    """Let plain ``scipy.special`` calls of these ufuncs on traced values reach our rules."""
    for ufunc, prim in SCIPY_UFUNCS.items():
        UFUNCS.setdefault(ufunc, prim)


def _export(name: str, prim: Any, params: str, doc: str, counts: bool = False) -> None:
    nargs = len(params.split(", "))

    def fn(*args: Any) -> Any:
        if len(args) != nargs:
            raise TypeError(f"{name}() takes {nargs} arguments ({params}), got {len(args)}")
        if counts:  # SciPy's integer counts stay as given (floats warn in bdtr)
            return prim(*args[:-1], as_float(args[-1]))
        return prim(*(as_float(a) for a in args))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``scipy.special.{name}({params})``: {doc}"
    export(name, _NS)(fn)


_export("chdtr", chdtr_p, "v, x", "the chi-square CDF, differentiable in ``v`` and ``x``.")
_export("chdtrc", chdtrc_p, "v, x", "the chi-square survival function, in ``v`` and ``x``.")
_export("gdtr", gdtr_p, "a, b, x", "the gamma CDF (rate ``a``, shape ``b``), in all three.")
_export("gdtrc", gdtrc_p, "a, b, x", "the gamma survival function, in all three.")
_export("pdtr", pdtr_p, "k, m", "the Poisson CDF, differentiable in ``m``.", counts=True)
_export(
    "pdtrc", pdtrc_p, "k, m", "the Poisson survival function, differentiable in ``m``.", counts=True
)
_export("stdtr", stdtr_p, "df, t", "Student's t CDF, differentiable in ``df`` and ``t``.")
_export("fdtr", fdtr_p, "dfn, dfd, x", "the F CDF, differentiable in all three.")
_export("fdtrc", fdtrc_p, "dfn, dfd, x", "the F survival function, in all three.")
_export("bdtr", bdtr_p, "k, n, p", "the binomial CDF, differentiable in ``p``.", counts=True)
_export("bdtrc", bdtrc_p, "k, n, p", "the binomial survival function, in ``p``.", counts=True)
